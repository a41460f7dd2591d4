//! Right words: a MiMei's `right` (u64) says what each class of caller may do, one nibble per
//! class, each nibble an rwx triple (4 = read, 2 = write, 1 = run its app), as the original's
//! words do. The original never documented which nibble is which role; this layout keeps its
//! known values meaningful (0x07276705 lets guests read, the CLI default 0x07276704 too):
//!
//! ```text
//! bits  0–3   guests: anyone, with or without a session
//! bits  4–7   users: any logged-in session (they also have the guest bits)
//! bits  8–11  members: users with a word of their own (MMSetRight(mid, uid, word)); the
//!             member nibble of *their* word applies, plus its user and guest bits
//! bits 24–27  the author (informative: the author, and the node's owner, may always do all)
//! ```
//! Other nibbles are kept as given and mean nothing yet.

pub const READ: u64 = 4;
pub const WRITE: u64 = 2;
pub const EXEC: u64 = 1;

/// Who is asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Author,
    /// A user with a word of their own.
    Member,
    User,
    Guest,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Author => "the author",
            Role::Member => "members",
            Role::User => "logged-in users",
            Role::Guest => "guests",
        }
    }
}

/// The rwx bits a role gets from a word.
pub fn bits(word: u64, role: Role) -> u64 {
    let n = |i: u32| (word >> (4 * i)) & 0xf;
    match role {
        Role::Author => 7,
        Role::Member => n(2) | n(1) | n(0),
        Role::User => n(1) | n(0),
        Role::Guest => n(0),
    }
}

pub fn allows(word: u64, role: Role, what: u64) -> bool {
    bits(word, role) & what == what
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_originals_words_mean_what_its_scripts_expect() {
        // Scripts open a 0x07276705 database as a guest and read it.
        assert!(allows(0x0727_6705, Role::Guest, READ));
        assert!(!allows(0x0727_6705, Role::Guest, WRITE));
        // The CLI default lets guests read, members read and write.
        assert!(allows(0x0727_6704, Role::Guest, READ));
        assert!(allows(0x0727_6704, Role::Member, READ | WRITE));
        assert!(!allows(0x0727_6704, Role::User, WRITE));
        // 0: nobody but the author.
        assert!(
            !allows(0, Role::Guest, READ) && !allows(0, Role::Member, READ) && allows(0, Role::Author, READ | WRITE)
        );
        // The webdav root opened to logged-in users.
        assert!(allows(0x0727_6707, Role::User, READ | WRITE));
    }
}
