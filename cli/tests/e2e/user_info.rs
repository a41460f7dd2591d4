//! `SetUserInfo` with the original's keys, against a real node: a password changed only with the
//! old one, a renamed login, a passport holder's own name login, another key's passports that
//! log in as the user and stop doing so, a father who may change a child's info, and the owner's
//! reset with the token.

use crate::harness::*;
use serde_json::{json, Value};

fn call(n: &Node, method: &str, args: Value) -> (u16, Value) {
    let r = http(&n.addr(), "POST", &format!("/api/{method}"), &[], args.to_string().as_bytes());
    let v: Value = serde_json::from_str(&r.text()).unwrap_or(Value::Null);
    (r.status, v)
}

fn ok(n: &Node, method: &str, args: Value) -> Value {
    let (status, v) = call(n, method, args.clone());
    assert_eq!(status, 200, "{method} {args}: {v}");
    v["result"].clone()
}

fn refused(n: &Node, method: &str, args: Value, status: u16, words: &str) {
    let (got, v) = call(n, method, args.clone());
    let e = v["error"].as_str().unwrap_or_default().to_string();
    assert!(got == status && e.contains(words), "{method} {args}: HTTP {got} {v} (wanted {status} \"{words}\")");
}

/// A passport (CertFor=Self plus `extra`) of a fresh key made with `lpki`; (its id, its text).
fn passport(n: &Node, dir: &std::path::Path, who: &str, extra: &str) -> (String, String) {
    let p = |ext: &str| dir.join(format!("{who}.{ext}")).to_str().unwrap().to_string();
    if !std::path::Path::new(&p("key")).exists() {
        n.ok(&["lpki", "genkey", "-o", &p("key")]);
        n.ok(&["lpki", "gencert", "-k", &p("key"), "-o", &p("cert")]);
    }
    let _ = std::fs::remove_file(p("ppt"));
    n.ok(&["lpki", "signppt", "-c", &p("cert"), "-m", &format!("CertFor=Self{extra}"), "-o", &p("ppt")]);
    (n.ok(&["lpki", "id", &p("ppt")]).trim().to_string(), std::fs::read_to_string(p("ppt")).unwrap())
}

fn login_ppt(n: &Node, ppt: &str) -> (String, String) {
    let r = ok(n, "LoginWithPPT", json!([ppt]));
    (r["Sid"].as_str().unwrap().to_string(), r["Uid"].as_str().unwrap().to_string())
}

#[test]
fn set_user_info_changes_logins_links_keys_and_lets_a_father_edit() {
    let n = Node::start();
    let dir = tempfile::tempdir().unwrap();
    // An account: its password changes only with the old one (or a passport of the user).
    let ann = ok(&n, "Register", json!(["ann", "pw-one", "ann@example.org"])).as_str().unwrap().to_string();
    let sid = ok(&n, "Login", json!(["ann", "pw-one"]))["Sid"].as_str().unwrap().to_string();
    refused(&n, "SetUserInfo", json!([sid, {"newpass": "pw-two"}]), 403, "current password");
    refused(&n, "SetUserInfo", json!([sid, {"newpass": "pw-two", "pass": "wrong"}]), 403, "current password");
    refused(&n, "SetUserInfo", json!([sid, {"newpass": "", "pass": "pw-one"}]), 400, "empty password");
    refused(&n, "SetUserInfo", json!([sid, {"nickname": "x"}]), 400, "no key \"nickname\"");
    ok(&n, "SetUserInfo", json!([sid, {"newpass": "pw-two", "pass": "pw-one"}]));
    refused(&n, "Login", json!(["ann", "pw-one"]), 401, "wrong user name or password");
    assert_eq!(ok(&n, "Login", json!(["ann", "pw-two"]))["Uid"], ann.as_str());
    // A new name for the same user.
    ok(&n, "Register", json!(["taken", "pw", ""]));
    refused(&n, "SetUserInfo", json!([sid, {"newname": "taken", "pass": "pw-two"}]), 400, "is taken");
    ok(&n, "SetUserInfo", json!([sid, {"newname": "anna", "pass": "pw-two"}]));
    refused(&n, "Login", json!(["ann", "pw-two"]), 401, "wrong");
    assert_eq!(ok(&n, "Login", json!(["anna", "pw-two"]))["Uid"], ann.as_str());

    // A passport holder makes a name login for themself: it logs in as their key's user.
    let (bob, bob_ppt) = passport(&n, dir.path(), "bob", "");
    let (sid_b, uid) = login_ppt(&n, &bob_ppt);
    assert_eq!(uid, bob);
    refused(&n, "SetUserInfo", json!([sid_b, {"newpass": "pb"}]), 400, "newname and newpass together");
    ok(&n, "SetUserInfo", json!([sid_b, {"newname": "bob", "newpass": "pb"}]));
    let by_name = ok(&n, "Login", json!(["bob", "pb"]));
    assert_eq!(by_name["Uid"], bob.as_str());
    let named_sid = by_name["Sid"].as_str().unwrap();
    assert_eq!(ok(&n, "GetVar", json!([named_sid, "userid"])), bob.as_str());
    // Changing it again needs the password, or a passport of bob's.
    refused(&n, "SetUserInfo", json!([sid_b, {"newpass": "pb2"}]), 403, "current password");
    ok(&n, "SetUserInfo", json!([sid_b, {"newpass": "pb2", "ppt": bob_ppt}]));
    assert_eq!(ok(&n, "Login", json!(["bob", "pb2"]))["Uid"], bob.as_str());

    // Another key of bob's logs in as bob once bob links a passport of it naming him.
    let (phone, unnamed) = passport(&n, dir.path(), "phone", "");
    refused(&n, "SetUserInfo", json!([sid_b, {"newppt": unnamed}]), 400, &format!("Userid={bob}"));
    let (_, named) = passport(&n, dir.path(), "phone", &format!(",Userid={bob}"));
    assert_eq!(login_ppt(&n, &named).1, phone, "not linked yet: the phone's own user");
    // Another user cannot link it to themself: the passport names bob.
    let (carol, carol_ppt) = passport(&n, dir.path(), "carol", "");
    let (sid_c, _) = login_ppt(&n, &carol_ppt);
    refused(&n, "SetUserInfo", json!([sid_c, {"newppt": named}]), 400, &format!("Userid={carol}"));
    ok(&n, "SetUserInfo", json!([sid_b, {"newppt": named}]));
    assert_eq!(login_ppt(&n, &named).1, bob, "the phone's passport logs in as bob");
    refused(&n, "SetUserInfo", json!([sid_c, {"delppt": phone}]), 400, &format!("does not log in as {carol}"));
    ok(&n, "SetUserInfo", json!([sid_b, {"delppt": phone}]));
    assert_eq!(login_ppt(&n, &named).1, phone, "unlinked: the phone is its own user again");

    // A father may change his child's info; nobody else but the owner may.
    let (dave, dave_ppt) = passport(&n, dir.path(), "dave", "");
    let (sid_d, _) = login_ppt(&n, &dave_ppt);
    refused(&n, "SetUserInfo", json!([sid_b, {"userid": carol, "email": "c@example.org"}]), 403, "their father");
    ok(&n, "SetUserInfo", json!([sid_c, {"father": bob}]));
    ok(&n, "SetUserInfo", json!([sid_b, {"userid": carol, "email": "c@example.org"}]));
    let info = ok(&n, "GetVar", json!([sid_c, "userinfo"])).to_string();
    assert!(info.contains("c@example.org") && info.contains(&bob), "{info}");
    refused(&n, "SetUserInfo", json!([sid_d, {"userid": carol, "email": "x@example.org"}]), 403, "their father");
    refused(&n, "SetUserInfo", json!([sid_b, {"userid": carol, "father": dave}]), 403, "set by the user");
    // The owner resets a password with the token, no old password needed.
    let t = n.token();
    let (s, v) = api(&n.addr(), "SetUserInfo", &json!([{"userid": ann, "newpass": "reset"}]).to_string(), Some(&t));
    assert_eq!(s, 200, "{v}");
    assert_eq!(ok(&n, "Login", json!(["anna", "reset"]))["Uid"], ann.as_str());
    // After a restart every change is still there.
    let n = n.restart();
    assert_eq!(ok(&n, "Login", json!(["anna", "reset"]))["Uid"], ann.as_str());
    assert_eq!(ok(&n, "Login", json!(["bob", "pb2"]))["Uid"], bob.as_str());
    assert_eq!(login_ppt(&n, &named).1, phone);
    n.stop();
}
