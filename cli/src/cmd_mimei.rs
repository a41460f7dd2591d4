//! `mimei create | setcid | add | get | release | delvers | publish | show | sync | provide |
//! findprovs`, printing the original's lines.

use crate::args::{IpfsAdd, MimeiCmd};
use crate::client::{CliError, Client};
use serde_json::{json, Value};
use std::io::Write;

pub(crate) fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Null) | None => String::new(),
        Some(x) => x.to_string(),
    }
}

fn table(v: &Value) {
    for e in v["versions"].as_array().cloned().unwrap_or_default() {
        println!("{:<8} {}", s(&e, "ver"), s(&e, "cid"));
    }
    println!("{:<8} {}", "last", s(v, "last"));
    if !v["release"].is_null() {
        println!("{:<8} {}", "release", s(v, "release"));
    }
}

const RULE: &str = "-------------------------------------------------------------";

/// A database reply the way redis-cli prints it.
fn print_reply(v: &Value, indent: &str) {
    match v {
        Value::Null => println!("{indent}(nil)"),
        Value::Number(n) => println!("{indent}(integer) {n}"),
        Value::String(t) => println!("{indent}\"{t}\""),
        Value::Object(o) if o.len() == 1 && o.contains_key("status") => println!("{indent}{}", s(v, "status")),
        Value::Object(o) => {
            for (i, (k, val)) in o.iter().enumerate() {
                println!("{indent}{}) \"{k}\"", 2 * i + 1);
                print_reply(val, &format!("{indent}{}) ", 2 * i + 2));
            }
        }
        Value::Array(a) if a.is_empty() => println!("{indent}(empty array)"),
        Value::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                print_reply(item, &format!("{indent}{}) ", i + 1));
            }
        }
        other => println!("{indent}{other}"),
    }
}

/// One value in `mimei grep`'s dump: strings as they are, structures as compact JSON.
fn grep_value(v: &Value) -> String {
    match v {
        Value::String(t) => t.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|i| match i {
                    Value::Object(o) if o.contains_key("field") => {
                        format!("{}: {}", grep_value(&o["field"]), grep_value(&o["value"]))
                    }
                    Value::Object(o) if o.contains_key("member") => {
                        format!("{} ({})", grep_value(&o["member"]), o["score"])
                    }
                    other => grep_value(other),
                })
                .collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    }
}

pub(crate) fn run(c: &Client, cmd: MimeiCmd) -> Result<(), CliError> {
    match cmd {
        MimeiCmd::Create(a) => {
            let mid = c.call("MMCreate", json!([a.appid, a.ext, a.mark, if a.db { 2 } else { 1 }]))?;
            println!("Create MiMei  ok");
            println!("mid= {}", mid.as_str().unwrap_or_default());
        }
        MimeiCmd::Setcid(a) => {
            let r = c.call("MFSetCid", json!([a.mid, a.cid]))?;
            println!("mid= {}", s(&r, "mid"));
            println!("cid= {}", s(&r, "cid"));
            println!("MiMeiSetCid ver= {}", s(&r, "ver"));
        }
        MimeiCmd::Add(a) => {
            // Add the file (prints the ipfs lines), then make it a version.
            let add = IpfsAdd {
                path: a.file.clone(),
                recursive: false,
                hidden: false,
                cid_version: 0,
                only_hash: false,
                to_files: None,
            };
            let cid = crate::cmd_ipfs::add_quiet(c, add)?;
            println!("add /ipfs/{cid} {}", std::fs::metadata(&a.file).map(|m| m.len()).unwrap_or(0));
            let r = c.call("MFSetCid", json!([a.mid, cid]))?;
            println!("MiMeiAdd cid= /ipfs/{}", s(&r, "cid"));
            println!("MiMeiAdd ver= {}", s(&r, "ver"));
        }
        MimeiCmd::Get(a) => {
            let r = c.call("MMGetCid", json!([a.mid, a.ver.unwrap_or_else(|| "last".into())]))?;
            crate::cmd_ipfs::cat(c, &s(&r, "cid"))?;
        }
        MimeiCmd::Db(a) => {
            if a.words.is_empty() {
                return Err(CliError("mimei db needs a command, like: leither mimei db <mid> GET key".into()));
            }
            let r = c.call("MMCommand", json!([a.mid, a.ver, a.words]))?;
            print_reply(&r, "");
        }
        MimeiCmd::Restore(a) => {
            let v = c.call("MMRestore", json!([a.mid, a.ver]))?;
            println!("MMRestore ver= {v} into cur");
        }
        MimeiCmd::Backup(a) => {
            let v = c.call("MMBackup", json!([a.mid, a.memo]))?;
            println!("MMBackup ver= {v}");
        }
        MimeiCmd::Sum(a) => {
            let r = c.call("MMSum", json!([a.mid, a.ver]))?;
            println!("mimei sum {} ver= {}", a.mid, a.ver);
            println!("keys= {} entries= {}", r["keys"], r["entries"]);
            println!("sha256= {}", s(&r, "digest"));
        }
        MimeiCmd::Grep(a) => {
            let r = c.call("MMDump", json!([a.mid, a.ver, a.r#match]))?;
            let items = r.as_array().cloned().unwrap_or_default();
            for ty in ["string", "hash", "list", "set", "zset"] {
                let of: Vec<&Value> = items.iter().filter(|i| i["type"] == ty).collect();
                if of.is_empty() {
                    continue;
                }
                let title = match ty {
                    "string" => "KV",
                    "hash" => "Hash",
                    "list" => "List",
                    "set" => "Set",
                    _ => "ZSet",
                };
                println!("Data Type {title}");
                for i in of {
                    println!("  {} = {}", s(i, "key"), grep_value(&i["value"]));
                }
            }
            println!("mimei grep ok  {} keys", items.len());
        }
        MimeiCmd::Release(a) => {
            let v = c.call("MMRelease", json!([a.mid, a.ver]))?;
            println!("MiMeiRelease ver= {v}");
        }
        MimeiCmd::Delvers(a) => {
            let mut args = vec![Value::String(a.mid)];
            args.extend(a.vers.into_iter().map(Value::String));
            let v = c.call("MMDelVers", Value::Array(args))?;
            println!("MiMeiDelVers vers= {v}");
        }
        MimeiCmd::Publish(a) => {
            let r = c.call("MiMeiPublish", json!(["", a.mid]))?;
            println!("MiMeiPublish mids= [{}] EOL = {}", r["mids"][0].as_str().unwrap_or_default(), s(&r, "eol"));
            println!("MiMeiPublish ok");
        }
        MimeiCmd::Show(a) => {
            let r = c.call("MiMeiShow", json!(["", a.mid]))?;
            println!("MiMeiShow mid= {}", s(&r, "mid"));
            println!("Author  : {}", s(&r, "author"));
            println!("AppType : {}", s(&r, "apptype"));
            println!("Ext     : {}", s(&r, "ext"));
            println!("Mark    : {}", s(&r, "mark"));
            println!("Create  : {}", s(&r, "create"));
            println!("Right   :{}", s(&r, "right"));
            for (title, key) in [("from local", "local"), ("from net", "net")] {
                println!("\n{title}\n{RULE}");
                if r[key].is_null() {
                    println!("none");
                } else {
                    table(&r[key]);
                }
            }
            println!("\nconflict\n{RULE}");
            let conflicts = r["conflicts"].as_array().cloned().unwrap_or_default();
            let kept = r["kept"].as_array().cloned().unwrap_or_default();
            if conflicts.is_empty() && kept.is_empty() {
                println!("no conflict");
            }
            for v in conflicts {
                println!("version {v}: local and net content differ");
            }
            for k in kept {
                for c in k["cids"].as_array().cloned().unwrap_or_default() {
                    println!("version {}: other content {} kept", k["ver"], c.as_str().unwrap_or_default());
                }
            }
            println!("\ncompare version\n{RULE}\n{}\n", s(&r, "compare"));
            println!("mimei show ok");
        }
        MimeiCmd::Addref(a) => {
            println!("MMAddRef {}", c.call("MMAddRef", json!([a.mid, a.ids]))?);
        }
        MimeiCmd::Delref(a) => {
            println!("MMDelRef {}", c.call("MMDelRef", json!([a.mid, a.ids]))?);
        }
        MimeiCmd::Getref(a) => {
            let refs = c.call("MMGetRef", json!([a.mid, a.ver]))?;
            for (id, n) in refs.as_object().into_iter().flatten() {
                println!("{id} {n}");
            }
        }
        MimeiCmd::Unpublish(a) => {
            c.call("MiMeiUnpublish", json!(["", a.mid]))?;
            println!("MiMeiUnpublish mids= [{}]\nMiMeiUnpublish ok", a.mid);
        }
        MimeiCmd::Unprovide(a) => {
            let r = c.call("MiMeiUnprovide", json!(["", a.mid]))?;
            let was = r.get("was").and_then(Value::as_bool).unwrap_or(false);
            println!("MiMeiUnprovide {}", if was { "ok" } else { "ok (it was not provided)" });
        }
        MimeiCmd::Sync(a) => {
            println!("MiMeiSync mid = {}", a.mid);
            let r = c.call("MiMeiSync", json!(["", a.mid]))?;
            println!("versions= {} blocks= {}", s(&r, "versions"), s(&r, "blocks"));
            println!("mimei sync ok");
        }
        MimeiCmd::Provide(a) => {
            let r = c.call("MiMeiProvide", json!(["", a.mid]))?;
            println!("MiMeiProvide mids= [{}] peers= {}", s(&r, "mid"), s(&r, "peers"));
        }
        MimeiCmd::Findprovs(a) => {
            let out = std::io::stdout();
            let mut o = out.lock();
            for p in c.call("MiMeiFindProvs", json!(["", a.mid]))?.as_array().cloned().unwrap_or_default() {
                let addrs: Vec<String> = p["addrs"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect();
                // The original prints each provider with the version it holds.
                let ver = p["ver"].as_u64().map_or("?".to_string(), |v| v.to_string());
                let _ = writeln!(o, "ver= {ver} [{{{} [{}]}}]", s(&p, "id"), addrs.join(" "));
            }
        }
    }
    Ok(())
}
