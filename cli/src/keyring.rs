//! The keys of this machine's users (`<repo>/keyring/<id>.key`, mode 0600): `lpki genkey` keeps
//! a copy of every key it makes and `lpki addkey KEY --local` adds one. A command run with
//! `-p PPT` finds the passport holder's key here, so the node's two setup steps for a
//! developer — asking for the `mimei` service and delegating head signing — happen when the node
//! asks for them, and the seed's walkthrough runs as printed (docs/users.md).

use crate::client::CliError;
use proto_core::identity::Identity;
use std::io::Write;
use std::path::{Path, PathBuf};
use storage::repo::Repo;

pub(crate) fn dir(repo: &Repo) -> PathBuf {
    repo.dir.join("keyring")
}

/// Writes a file that holds a private key: mode 0600, never replacing an existing file.
pub(crate) fn write_secret(path: &Path, text: &str) -> Result<(), CliError> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let shown = path.display();
    let mut f = o.open(path).map_err(|e| CliError(format!("cannot create {shown}: {e}")))?;
    f.write_all(text.as_bytes()).map_err(|e| CliError(format!("cannot write {shown}: {e}")))?;
    Ok(())
}

/// Keeps `id`'s key file in the keyring (an existing copy of the same key stays).
pub(crate) fn keep(repo: &Repo, id: &Identity) -> Result<PathBuf, CliError> {
    let d = dir(repo);
    std::fs::create_dir_all(&d).map_err(|e| CliError(format!("cannot create {}: {e}", d.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700));
    }
    let path = d.join(format!("{}.key", id.node_id()));
    if !path.exists() {
        write_secret(&path, &serde_json::to_string_pretty(&proto_core::ppt::key_file(id))?)?;
    }
    Ok(path)
}

/// The kept key of user `uid`, if this machine has it.
pub(crate) fn find(repo: &Repo, uid: &str) -> Option<PathBuf> {
    if uid.len() != 27 || !uid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return None;
    }
    let path = dir(repo).join(format!("{uid}.key"));
    let text = std::fs::read_to_string(&path).ok()?;
    // Only a key that really is the user's.
    let id = proto_core::ppt::read_key(&text).ok()?;
    (id.node_id().to_string() == uid).then_some(path)
}
