//! Every method's calling convention, declared once: whether it takes a session id first (as the
//! original's methods do) and the names of its arguments after that, in the original's order
//! (leither-facts §3). `Registry::dispatch` takes the session id off by this table and nothing
//! else, so an empty session id is a guest for every method that has one; handlers read their
//! arguments by these names (`Call::arg`).

/// One method's calling convention.
#[derive(Debug)]
pub struct Signature {
    pub name: &'static str,
    /// The first argument is a session id ("" = a guest, or the token's owner).
    pub sid: bool,
    /// The arguments after the session id, in order; a trailing `...` name takes the rest.
    pub params: &'static [&'static str],
    /// A write method that logged-in users may call too: it changes only what is the caller's
    /// own (the handler checks the MiMei's author), within the node's policy.
    pub users: bool,
}

const fn s(name: &'static str, params: &'static [&'static str]) -> Signature {
    Signature { name, sid: true, params, users: false }
}

/// A session-first method through which users change what is their own.
const fn u(name: &'static str, params: &'static [&'static str]) -> Signature {
    Signature { name, sid: true, params, users: true }
}

/// A method without a session id (logins, and methods on an mmsid or fsid).
const fn n(name: &'static str, params: &'static [&'static str]) -> Signature {
    Signature { name, sid: false, params, users: false }
}

/// The table. Names in the original are kept; methods of ours (marked) follow the same rule.
pub const SIGNATURES: &[Signature] = &[
    // Logins and passports (§3.1).
    n("Login", &["...credentials"]),
    n("LoginWithPPT", &["ppt"]),
    n("Register", &["name", "pass", "email"]),
    s("Logout", &["info"]),
    s("SignPPT", &["info", "period"]),
    s("Sign", &["message"]),
    n("PPTStr2Map", &["ppt"]),
    n("RequestService", &["ppt"]),
    s("AddDelegation", &["delegation"]),
    s("SetUserInfo", &["info"]),
    n("AddKey", &["key"]),
    n("GetLocalPassport", &["period"]),
    // Variables and the node (§3.2; `Id` and `Shutdown` are ours).
    s("GetVar", &["name", "...args"]),
    s("Id", &[]),
    s("Shutdown", &[]),
    s("GetUserMids", &["uid", "start", "count"]),
    // MiMei (§3.3; `MMGetCid`, `MMCommand`, `MMDump` are ours).
    u("MMCreate", &["appid", "ext", "mark", "tp", "right"]),
    s("MMOpen", &["mid", "ver", "...opt"]),
    n("MMClose", &["mmsid"]),
    u("MMSetRight", &["mid", "member", "right"]),
    s("MMGetRight", &["mid", "uid"]),
    u("MMBackup", &["mid", "memo", "...opt"]),
    u("MMRelease", &["mid", "ver"]),
    u("MMRestore", &["mid", "ver"]),
    u("MMDelVers", &["mid", "...vers"]),
    s("MMSum", &["mid", "ver", "tp"]),
    u("MFSetCid", &["mid", "cid"]),
    u("MMAddRef", &["mid", "...fileids"]),
    u("MMDelRef", &["mid", "...fileids"]),
    s("MMGetRef", &["mid", "ver"]),
    s("MMGetRefs", &["mid", "...vers"]),
    s("MMGetCid", &["mid", "ver"]),
    s("MMCommand", &["mid", "ver", "words"]),
    s("MMDump", &["mid", "ver", "match"]),
    // Transactions on an mmsid (§3.5); the Redis-named methods are added by `db_method`.
    n("Begin", &["mmsid", "timeout"]),
    n("Commit", &["mmsid"]),
    n("Rollback", &["mmsid"]),
    // Apps (§3.7; `LappUpload` is the original's UploadApp with a CID, `SetDomain` §3.8).
    u("LappUpload", &["cid", "name", "app"]),
    u("SetDomain", &["domain", "info"]),
    u("DelDomain", &["domain"]),
    s("ShowDomain", &[]),
    // IPFS (§3.8; `IpfsStat`, `IpfsLs`, `Pin*` are ours with kubo's names).
    u("IpfsAdd", &["path", "opts"]),
    s("IpfsStat", &["path"]),
    s("IpfsLs", &["path"]),
    s("PinAdd", &["path"]),
    s("PinRm", &["path"]),
    s("PinLs", &[]),
    s("RepoStat", &[]),
    s("IpfsRefs", &["path", "recursive", "unique"]),
    s("BlockGet", &["cid"]),
    s("BlockStat", &["cid"]),
    s("BlockPut", &["data", "format"]),
    s("DagGet", &["path"]),
    s("DagStat", &["path"]),
    // The node's file system (§3.8; `FilesWrite`, `FilesRead`, `FilesChcid` are ours with
    // kubo's names). Arguments past the original's are optional.
    s("FilesLs", &["path"]),
    s("FilesStat", &["path"]),
    s("FilesMkdir", &["path", "flush", "parents", "cid_version"]),
    s("FilesCopy", &["src", "dst", "flush", "parents"]),
    s("FilesMv", &["src", "dst", "flush"]),
    s("FilesRm", &["path", "recursive", "flush", "force"]),
    s("FilesFlush", &["path"]),
    s("FilesWrite", &["path", "data", "offset", "create", "truncate", "parents", "count"]),
    s("FilesRead", &["path", "offset", "count"]),
    s("FilesChcid", &["path", "cid_version"]),
    // MiMei files (§3.4): opened by a session, then used by their fsid.
    s("MMOpenUrl", &["path"]),
    s("MFOpenByPath", &["mid", "path", "flag"]),
    s("MFOpenTempFile", &[]),
    n("MFSetData", &["fsid", "data", "start"]),
    n("MFGetData", &["fsid", "start", "count"]),
    n("MFTruncate", &["fsid", "size"]),
    n("MFGetSize", &["fsid"]),
    n("MFStat", &["fsid"]),
    n("MFReaddir", &["fsid", "count"]),
    n("MFGetMimeType", &["fsid"]),
    n("MFIsExist", &["fsid", "fileid"]),
    n("MFTemp2Ipfs", &["fsid", "mid"]),
    n("MFTemp2Files", &["fsid", "path"]),
    n("MFTemp2MacFile", &["fsid", "mid"]),
    s("MFOpenMacFile", &["mid", "fileid"]),
    s("RepoGC", &["opt"]),
    s("RepoLs", &[]),
    // The network (§3.8).
    s("SwarmLocal", &[]),
    s("SwarmAddrs", &["...pids"]),
    s("SwarmPeers", &[]),
    s("SwarmPing", &["pid"]),
    s("SwarmConnect", &["addr"]),
    s("SwarmDisconnect", &["addr"]),
    s("DhtFindPeer", &["dhts", "pid"]),
    s("DhtProvide", &["dhts", "cid", "announce"]),
    s("DhtFindProvs", &["dhts", "cid", "n"]),
    s("DhtPutValue", &["dhts", "key", "value"]),
    s("DhtGetValue", &["dhts", "key"]),
    u("MiMeiPublish", &["dhts", "mid"]),
    u("MiMeiUnpublish", &["dhts", "mid"]),
    s("MiMeiUnprovide", &["dhts", "mid"]),
    s("MiMeiProvide", &["dhts", "mid"]),
    s("MiMeiShow", &["dhts", "mid"]),
    s("MiMeiSync", &["dhts", "mid", "param"]),
    s("MiMeiFindProvs", &["dhts", "mid", "count"]),
    // Messages (§3.9).
    s("PullMsg", &["timeout"]),
];

/// The Redis-named methods on an mmsid (`Set(mmsid, …)`, `Hset(mmsid, …)`): no session id.
pub static DB_METHOD: Signature = n("", &["mmsid", "...args"]);

/// A method's signature, by name (case ignored, as hprose does).
pub fn signature(name: &str) -> Option<&'static Signature> {
    SIGNATURES.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

impl Signature {
    /// The position of an argument (after the session id), by name.
    pub fn position(&self, param: &str) -> Option<usize> {
        self.params.iter().position(|p| p.trim_start_matches("...") == param)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_declared_once_and_the_originals_orders_hold() {
        for (i, a) in SIGNATURES.iter().enumerate() {
            assert!(SIGNATURES[i + 1..].iter().all(|b| !b.name.eq_ignore_ascii_case(a.name)), "{} twice", a.name);
            let rest = a.params.iter().position(|p| p.starts_with("..."));
            assert!(rest.is_none_or(|r| r == a.params.len() - 1), "{}: `...` must be last", a.name);
        }
        // leither-facts §3: MMCreate(sid, appid, ext, mark, tp, right); MiMeiPublish(sid, dhts, mid).
        let c = signature("mmcreate").unwrap();
        assert!(c.sid && c.params == ["appid", "ext", "mark", "tp", "right"]);
        assert_eq!(signature("MiMeiPublish").unwrap().position("mid"), Some(1));
        assert_eq!(signature("GetVar").unwrap().position("args"), Some(1));
        assert!(!signature("LoginWithPPT").unwrap().sid && !signature("MMClose").unwrap().sid);
    }
}
