//! The database through the node's API (the original's method names) and the CLI: MMOpen and
//! the Redis-like methods, optimistic transactions, backups into numbered versions, sum and grep.

use crate::harness::{api, Node};
use serde_json::{json, Value};

fn call(n: &Node, method: &str, args: Value, token: bool) -> Result<Value, (u16, String)> {
    let t = n.token();
    let (status, body) = api(&n.addr(), method, &args.to_string(), token.then_some(t.as_str()));
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if status == 200 {
        Ok(v["result"].clone())
    } else {
        Err((status, v["error"].as_str().unwrap_or(&body).to_string()))
    }
}

fn ok(n: &Node, method: &str, args: Value) -> Value {
    call(n, method, args.clone(), true).unwrap_or_else(|e| panic!("{method}({args}) failed: {e:?}"))
}

fn new_db(n: &Node, mark: &str) -> String {
    // 0x07276705: the right word of the original's scripts (guests may read).
    ok(n, "MMCreate", json!(["", "", mark, 2, 0x0727_6705])).as_str().unwrap().to_string()
}

#[test]
fn methods_read_and_write_a_db_mimei() {
    let n = Node::start();
    let mid = new_db(&n, "api");
    let mm = ok(&n, "MMOpen", json!([mid, "cur"])).as_str().unwrap().to_string();
    assert_eq!(ok(&n, "Set", json!([mm, "name", "ann"])), json!("OK"));
    assert_eq!(ok(&n, "Get", json!([mm, "name"])), json!("ann"));
    assert_eq!(ok(&n, "IncrBy", json!([mm, "n", 5])), json!(5));
    assert_eq!(
        ok(&n, "Hmset", json!([mm, "h", {"Field": "a", "Value": "1"}, {"Field": "b", "Value": 2}])),
        json!("OK")
    );
    assert_eq!(
        ok(&n, "Hgetall", json!([mm, "h"])),
        json!([{"field": "a", "value": "1"}, {"field": "b", "value": "2"}])
    );
    assert_eq!(ok(&n, "Zadd", json!([mm, "z", {"Score": 3, "Member": "c"}, {"Score": 1, "Member": "a"}])), json!(2));
    assert_eq!(
        ok(&n, "Zrange", json!([mm, "z", 0, -1])),
        json!([{"member": "a", "score": 1.0}, {"member": "c", "score": 3.0}])
    );
    assert_eq!(ok(&n, "Zrangebyscore", json!([mm, "z", 2, "+inf", 0, -1])), json!([{"member": "c", "score": 3.0}]));
    assert_eq!(ok(&n, "Rpush", json!([mm, "l", "x", "y"])), json!(2));
    assert_eq!(ok(&n, "Lrange", json!([mm, "l", 0, -1])), json!(["x", "y"]));
    assert_eq!(ok(&n, "Get", json!([mm, "missing"])), Value::Null);
    // Errors are the call's error, with Redis's text; nothing changes.
    let e = call(&n, "Lpush", json!([mm, "name", "v"]), true).unwrap_err();
    assert!(e.1.starts_with("WRONGTYPE"), "{e:?}");
    assert_eq!(ok(&n, "Get", json!([mm, "name"])), json!("ann"));
    // A guest may open and read, not write.
    let guest = call(&n, "MMOpen", json!([mid, "cur"]), false).unwrap().as_str().unwrap().to_string();
    assert_eq!(call(&n, "Get", json!([guest, "name"]), false).unwrap(), json!("ann"));
    let e = call(&n, "Set", json!([guest, "name", "eve"]), false).unwrap_err();
    assert_eq!(e.0, 401, "{e:?}");
    assert!(call(&n, "Get", json!(["0123456789abcdef0123456789abcdef", "k"]), true).unwrap_err().1.contains("mmsid"));
    // A right word without guest bits keeps guests out; the author still opens it.
    ok(&n, "MMSetRight", json!([mid, "", 0x0727_6700]));
    assert_eq!(ok(&n, "MMGetRight", json!([mid, ""])), json!(0x0727_6700));
    let e = call(&n, "MMOpen", json!([mid, "cur"]), false).unwrap_err();
    assert_eq!(e.0, 403, "{e:?}");
    assert!(e.1.contains("does not let guests read"), "{e:?}");
    assert!(call(&n, "MMSetRight", json!([mid, "", 7]), false).is_err(), "only the author sets rights");
    ok(&n, "MMOpen", json!([mid, "cur"]));
    // The same keyspace is what Redis clients see after SELECT <mid>.
    let out = n.ok(&["mimei", "db", &mid, "ZRANGE", "z", "0", "-1", "WITHSCORES"]);
    assert_eq!(out, "1) \"a\"\n2) \"1\"\n3) \"c\"\n4) \"3\"\n");
    n.stop();
}

#[test]
fn transactions_see_their_writes_roll_back_and_detect_conflicts() {
    let n = Node::start();
    let mid = new_db(&n, "tx");
    let a = ok(&n, "MMOpen", json!([mid, "cur"])).as_str().unwrap().to_string();
    let b = ok(&n, "MMOpen", json!([mid, "cur"])).as_str().unwrap().to_string();
    ok(&n, "Set", json!([a, "k", "0"]));
    // Uncommitted writes are visible inside the transaction and vanish on Rollback.
    ok(&n, "Begin", json!([a, 10]));
    ok(&n, "Set", json!([a, "k", "1"]));
    assert_eq!(ok(&n, "Incr", json!([a, "k"])), json!(2));
    assert_eq!(ok(&n, "Get", json!([b, "k"])), json!("0"));
    ok(&n, "Rollback", json!([a]));
    assert_eq!(ok(&n, "Get", json!([a, "k"])), json!("0"));
    // Commit applies them.
    ok(&n, "Begin", json!([a, 10]));
    ok(&n, "Incr", json!([a, "k"]));
    ok(&n, "Rpush", json!([a, "log", "one"]));
    ok(&n, "Commit", json!([a]));
    assert_eq!(ok(&n, "Get", json!([b, "k"])), json!("1"));
    assert_eq!(ok(&n, "Lrange", json!([b, "log", 0, -1])), json!(["one"]));
    // Another writer touching a key the transaction used makes Commit fail; nothing applied.
    ok(&n, "Begin", json!([a, 10]));
    assert_eq!(ok(&n, "Get", json!([a, "k"])), json!("1"));
    ok(&n, "Set", json!([a, "other", "x"]));
    ok(&n, "Set", json!([b, "k", "100"]));
    let e = call(&n, "Commit", json!([a]), true).unwrap_err();
    assert_eq!(e.0, 409, "{e:?}");
    assert_eq!(ok(&n, "Get", json!([b, "other"])), Value::Null);
    assert_eq!(ok(&n, "Get", json!([b, "k"])), json!("100"));
    assert!(call(&n, "Commit", json!([a]), true).unwrap_err().1.contains("no transaction"));
    n.stop();
}

#[test]
fn backups_are_numbered_read_only_versions_with_digests() {
    let n = Node::start();
    let mid = n.ok(&["mimei", "create", "--db", "-m", "bk"]);
    let mid = mid.lines().find_map(|l| l.strip_prefix("mid= ")).unwrap().trim().to_string();
    n.ok(&["mimei", "db", &mid, "SET", "s", "one"]);
    n.ok(&["mimei", "db", &mid, "RPUSH", "l", "a", "-1"]);
    assert_eq!(n.ok(&["mimei", "backup", &mid]), "MMBackup ver= 1\n");
    let sum1 = n.ok(&["mimei", "sum", &mid, "1"]);
    assert_eq!(
        sum1,
        n.ok(&["mimei", "sum", &mid]).replace("ver= cur", "ver= 1"),
        "cur equals version 1 right after the backup"
    );
    n.ok(&["mimei", "db", &mid, "SET", "s", "two"]);
    assert_ne!(n.ok(&["mimei", "sum", &mid, "1"]).lines().last(), n.ok(&["mimei", "sum", &mid]).lines().last());
    assert_eq!(n.ok(&["mimei", "db", "-v", "1", &mid, "GET", "s"]), "\"one\"\n");
    assert_eq!(n.ok(&["mimei", "db", "-v", "last", &mid, "LRANGE", "l", "0", "-1"]), "1) \"a\"\n2) \"-1\"\n");
    assert_eq!(n.ok(&["mimei", "db", &mid, "GET", "s"]), "\"two\"\n");
    let refused = n.cli(&["mimei", "db", "-v", "1", &mid, "SET", "s", "x"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("read-only"));
    let grep = n.ok(&["mimei", "grep", &mid, "1"]);
    assert_eq!(grep, "Data Type KV\n  s = one\nData Type List\n  l = [a, -1]\nmimei grep ok  2 keys\n");
    // The version survives a restart and is part of the MiMei's versions.
    let n = n.restart();
    assert_eq!(n.ok(&["mimei", "db", "-v", "1", &mid, "GET", "s"]), "\"one\"\n");
    assert!(n.ok(&["mimei", "show", &mid]).contains('1'));
    n.stop();
}
