//! Delegations: a user's signed word that one node may sign records under the user's key for a
//! while. A node that does not hold a user's private key signs the user's MiMei heads with its own
//! key and carries the delegation in the record; every node checks both signatures, that the
//! record's signer is the node the delegation names, and the delegation's window
//! (docs/users.md).

use crate::identity::{self, Identity};
use minicbor::{Decode, Encode};

/// Clock skew allowed before a delegation's start (as for passports).
pub const SKEW_MS: u64 = 5 * 60 * 1000;
/// The longest window a delegation may give: a year.
pub const MAX_WINDOW_MS: u64 = 366 * 24 * 3600 * 1000;

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Delegation {
    /// The user who delegates (the record's author).
    #[cbor(n(0), with = "minicbor::bytes")]
    pub user: [u8; 32],
    /// The node that may sign for the user.
    #[cbor(n(1), with = "minicbor::bytes")]
    pub node: [u8; 32],
    /// Valid from, wall-clock ms.
    #[n(2)]
    pub not_before: u64,
    /// Valid until, wall-clock ms.
    #[n(3)]
    pub not_after: u64,
    /// The user's signature over the fields above.
    #[cbor(n(4), with = "minicbor::bytes")]
    pub sig: [u8; 64],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DelegationError {
    /// The user's signature does not verify: forged or changed.
    Forged,
    /// It names another user than the record's author.
    WrongUser,
    /// It names another node than the record's signer.
    WrongNode,
    NotYet(u64),
    Expired(u64),
    /// The window is empty or longer than `MAX_WINDOW_MS`.
    BadWindow,
}

impl std::fmt::Display for DelegationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = |ms: u64| crate::ppt::rfc3339(ms);
        match self {
            DelegationError::Forged => write!(f, "the delegation's signature does not verify with the user's key"),
            DelegationError::WrongUser => write!(f, "the delegation is another user's"),
            DelegationError::WrongNode => write!(f, "the delegation names another node"),
            DelegationError::NotYet(t) => write!(f, "the delegation is not valid before {}", at(*t)),
            DelegationError::Expired(t) => write!(f, "the delegation expired at {}", at(*t)),
            DelegationError::BadWindow => write!(f, "the delegation's window is empty or longer than a year"),
        }
    }
}

impl Delegation {
    fn signed_bytes(user: &[u8; 32], node: &[u8; 32], not_before: u64, not_after: u64) -> Vec<u8> {
        let mut e = minicbor::Encoder::new(Vec::new());
        // Writing to a Vec cannot fail.
        let _ = e
            .str("leither-delegation-v1")
            .and_then(|e| e.bytes(user))
            .and_then(|e| e.bytes(node))
            .and_then(|e| e.u64(not_before))
            .and_then(|e| e.u64(not_after));
        e.into_writer()
    }

    /// `user` lets `node` sign for it from `not_before` to `not_after` (ms).
    pub fn sign(user: &Identity, node: &[u8; 32], not_before: u64, not_after: u64) -> Delegation {
        let pk = user.public_key();
        let sig = user.sign(&Self::signed_bytes(&pk, node, not_before, not_after));
        Delegation { user: pk, node: *node, not_before, not_after, sig }
    }

    /// Checks the user's signature and the window at `now` (ms): whom it names is the caller's.
    pub fn verify(&self, now: u64) -> Result<(), DelegationError> {
        if self.not_after <= self.not_before || self.not_after - self.not_before > MAX_WINDOW_MS {
            return Err(DelegationError::BadWindow);
        }
        let msg = Self::signed_bytes(&self.user, &self.node, self.not_before, self.not_after);
        if !identity::verify(&self.user, &msg, &self.sig) {
            return Err(DelegationError::Forged);
        }
        if now + SKEW_MS < self.not_before {
            return Err(DelegationError::NotYet(self.not_before));
        }
        if now >= self.not_after {
            return Err(DelegationError::Expired(self.not_after));
        }
        Ok(())
    }

    /// Checks it for a record by `author` signed by `signer`.
    pub fn verify_for(&self, author: &[u8; 32], signer: &[u8; 32], now: u64) -> Result<(), DelegationError> {
        if self.user != *author {
            return Err(DelegationError::WrongUser);
        }
        if self.node != *signer {
            return Err(DelegationError::WrongNode);
        }
        self.verify(now)
    }

    /// The text form users hand around (`lpki delegate`): base64url of the CBOR.
    pub fn to_text(&self) -> String {
        crate::multibase::base64url_encode(&minicbor::to_vec(self).expect("encoding to a Vec cannot fail"))
    }

    pub fn from_text(text: &str) -> Option<Delegation> {
        let bytes = crate::multibase::base64url_decode(text.trim())?;
        minicbor::decode(&bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delegation_names_one_user_one_node_and_a_window() {
        let (u, n, other) = (Identity::from_seed([1; 32]), Identity::from_seed([2; 32]), Identity::from_seed([3; 32]));
        let d = Delegation::sign(&u, &n.public_key(), 1_000_000, 2_000_000);
        assert_eq!(d.verify_for(&u.public_key(), &n.public_key(), 1_500_000), Ok(()));
        assert_eq!(d.verify_for(&u.public_key(), &other.public_key(), 1_500_000), Err(DelegationError::WrongNode));
        assert_eq!(d.verify_for(&other.public_key(), &n.public_key(), 1_500_000), Err(DelegationError::WrongUser));
        assert_eq!(d.verify(2_000_000), Err(DelegationError::Expired(2_000_000)));
        assert_eq!(d.verify(1_000_000 - SKEW_MS - 1), Err(DelegationError::NotYet(1_000_000)));
        // Stretching the window, or claiming another node, breaks the user's signature.
        let longer = Delegation { not_after: 3_000_000, ..d.clone() };
        assert_eq!(longer.verify(1_500_000), Err(DelegationError::Forged));
        let moved = Delegation { node: other.public_key(), ..d.clone() };
        assert_eq!(moved.verify(1_500_000), Err(DelegationError::Forged));
        let backwards = Delegation::sign(&u, &n.public_key(), 5, 5);
        assert_eq!(backwards.verify(5), Err(DelegationError::BadWindow));
        assert_eq!(Delegation::from_text(&d.to_text()), Some(d));
        assert_eq!(Delegation::from_text("not a delegation"), None);
    }
}
