//! How this node signs MiMei heads for their authors (docs/users.md): with the node's own key for
//! its own MiMeis; with a user's key the node holds (accounts made by `Register`, keys uploaded
//! by `AddKey` over loopback); or with the node's key and the user's delegation naming this node.
//! Keys and delegations are kept in the store under `userkey/<pk hex>` and `delegation/<pk hex>`.

use gateway::api::ApiError;
use proto_core::dht::delegation::Delegation;
use proto_core::identity::{node_id_of, Identity};
use proto_core::mimei::HeadSigner;
use proto_core::store::KvStore;
use std::sync::Arc;

pub type Kv = Arc<dyn KvStore + Send + Sync>;

pub struct Keyring {
    store: Kv,
    node: Arc<Identity>,
}

/// A head signer the keyring made: owns what `HeadSigner` borrows.
pub enum Signing {
    Key(Identity),
    Node(Arc<Identity>),
    Delegated(Arc<Identity>, Delegation),
}

impl Signing {
    pub fn signer(&self) -> HeadSigner<'_> {
        match self {
            Signing::Key(k) => HeadSigner::Author(k),
            Signing::Node(n) => HeadSigner::Author(n),
            Signing::Delegated(n, d) => HeadSigner::Delegate(n, d.clone()),
        }
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// 64 hex characters (surrounding blanks allowed) as 32 bytes.
pub(crate) fn hex32(text: &str) -> Option<[u8; 32]> {
    let t = text.trim();
    if t.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(t.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl Keyring {
    pub fn new(store: Kv, node: Arc<Identity>) -> Keyring {
        Keyring { store, node }
    }

    pub fn node_pk(&self) -> [u8; 32] {
        self.node.public_key()
    }

    /// Keeps a user's private key (from `Register` or `AddKey`).
    pub fn keep_key(&self, seed: [u8; 32]) -> Result<[u8; 32], ApiError> {
        let id = Identity::from_seed(seed);
        let key = format!("userkey/{}", hex(&id.public_key()));
        self.store.kv_put(key.as_bytes(), Some(hex(&seed).as_bytes())).map_err(ApiError::internal)?;
        Ok(id.public_key())
    }

    fn key_of(&self, pk: &[u8; 32]) -> Result<Option<Identity>, ApiError> {
        let key = format!("userkey/{}", hex(pk));
        let got = self.store.kv_get(key.as_bytes()).map_err(ApiError::internal)?;
        Ok(got.and_then(|v| hex32(&String::from_utf8_lossy(&v))).map(Identity::from_seed))
    }

    /// Keeps a user's delegation to this node, after checking it names this node and is valid.
    pub fn keep_delegation(&self, d: &Delegation, now: u64) -> Result<(), ApiError> {
        d.verify_for(&d.user, &self.node_pk(), now).map_err(|e| ApiError {
            status: 403,
            message: format!("delegation of {} refused: {e}", node_id_of(&d.user)),
        })?;
        let key = format!("delegation/{}", hex(&d.user));
        let bytes = minicbor::to_vec(d).map_err(|e| ApiError::internal(e.to_string()))?;
        self.store.kv_put(key.as_bytes(), Some(&bytes)).map_err(ApiError::internal)
    }

    fn delegation_of(&self, pk: &[u8; 32]) -> Result<Option<Delegation>, ApiError> {
        let key = format!("delegation/{}", hex(pk));
        let got = self.store.kv_get(key.as_bytes()).map_err(ApiError::internal)?;
        Ok(got.and_then(|b| minicbor::decode(&b).ok()))
    }

    /// How this node signs a head of `author`'s, or why it cannot.
    pub fn signing_for(&self, author: &[u8; 32], now: u64) -> Result<Signing, ApiError> {
        if *author == self.node_pk() {
            return Ok(Signing::Node(self.node.clone()));
        }
        if let Some(k) = self.key_of(author)? {
            return Ok(Signing::Key(k));
        }
        let user = node_id_of(author);
        let me = node_id_of(&self.node_pk());
        let refused = |why: String| {
            ApiError {
            status: 403,
            message: format!(
                "node {me} cannot sign for user {user}: {why}; give it a delegation (leither lpki delegate -k KEY -n URL) or upload the key on the node's machine (leither lpki addkey KEY)"
            ),
        }
        };
        match self.delegation_of(author)? {
            None => Err(refused("it holds neither the user's key nor a delegation".into())),
            Some(d) => match d.verify_for(author, &self.node_pk(), now) {
                Ok(()) => Ok(Signing::Delegated(self.node.clone(), d)),
                Err(e) => Err(refused(e.to_string())),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_core::store::MemStore;

    #[test]
    fn keys_delegations_and_refusals() {
        let node = Arc::new(Identity::from_seed([1; 32]));
        let ring = Keyring::new(Arc::new(MemStore::default()), node.clone());
        let (alice, bob) = (Identity::from_seed([2; 32]), Identity::from_seed([3; 32]));
        assert!(matches!(ring.signing_for(&node.public_key(), 0), Ok(Signing::Node(_))));
        let e = ring.signing_for(&alice.public_key(), 0).err().unwrap();
        assert!(e.message.contains("holds neither the user's key nor a delegation"), "{}", e.message);
        ring.keep_key([2; 32]).unwrap();
        assert!(
            matches!(ring.signing_for(&alice.public_key(), 0), Ok(Signing::Key(k)) if k.public_key() == alice.public_key())
        );
        // Bob delegates to this node for a while; a delegation for another node is refused.
        let other = Identity::from_seed([4; 32]).public_key();
        let e = ring.keep_delegation(&Delegation::sign(&bob, &other, 0, 10_000), 5).err().unwrap();
        assert!(e.message.contains("names another node"), "{}", e.message);
        ring.keep_delegation(&Delegation::sign(&bob, &node.public_key(), 0, 10_000), 5).unwrap();
        assert!(matches!(ring.signing_for(&bob.public_key(), 5_000), Ok(Signing::Delegated(..))));
        let e = ring.signing_for(&bob.public_key(), 10_000).err().unwrap();
        assert!(e.message.contains("expired"), "{}", e.message);
    }
}
