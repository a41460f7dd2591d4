//! Who a caller is to a MiMei (author, member, user, guest) and whether its right word lets
//! them read it: the one rule every way of opening a MiMei goes through.

use gateway::api::{ApiError, Call};
use proto_core::mimei::rights::{allows, Role, READ};
use proto_core::mimei::Mimei;

/// The caller's right word on `m` and role.
pub(crate) fn role(call: &Call<'_>, m: &Mimei) -> (u64, Role) {
    let uid = call.user.clone().unwrap_or_default();
    let (word, member) = m.right_of(&uid);
    let role = if call.may_write || call.user_pk == Some(m.author) {
        Role::Author
    } else if uid.is_empty() {
        Role::Guest
    } else if member {
        Role::Member
    } else {
        Role::User
    };
    (word, role)
}

/// `role`, refused with the reason when the word does not let the caller read.
pub(crate) fn readable(call: &Call<'_>, m: &Mimei) -> Result<(u64, Role), ApiError> {
    let (word, role) = role(call, m);
    if !allows(word, role, READ) {
        return Err(ApiError {
            status: 403,
            message: format!(
                "permission denied: MiMei {} does not let {} read it (right {word:#010x})",
                m.mid(),
                role.name()
            ),
        });
    }
    Ok((word, role))
}
