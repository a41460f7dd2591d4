//! `leither lapp …`: apps are file MiMeis holding a directory of web files. With `-p DEV.ppt`
//! the developer acts in their own name: `-a NAME` is the developer's app of that name, the same
//! app id on every node (docs/apps.md).

use crate::args::LappCmd;
use crate::client::{CliError, Client};
use crate::cmd_mimei::s;
use proto_core::mimei::{Info, Kind, Mid};
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// The developer's id and key, from their passport file.
fn developer(ppt: &str) -> Result<(String, [u8; 32], proto_core::ppt::Ppt), CliError> {
    let text = std::fs::read_to_string(ppt).map_err(|e| CliError(format!("cannot read passport {ppt}: {e}")))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let p = proto_core::ppt::verify_ppt(&text, None, now).map_err(|e| CliError(format!("passport {ppt}: {e}")))?;
    Ok((p.signer.to_string(), p.cert.holder_pk, p))
}

/// The id of the developer's app `name` (the same on every node).
fn app_of(developer: &str, pk: &[u8; 32], name: &str) -> String {
    Info { kind: Kind::File, appid: String::new(), ext: "app".into(), mark: format!("app:{developer}:{name}") }
        .mid(pk)
        .to_string()
}

/// `-a`: an app id as it is; a name is the passport holder's app of that name, or (without a
/// passport) the one app of that name this node holds.
fn resolve(c: &Client, ppt: Option<&str>, app: &str) -> Result<String, CliError> {
    if Mid::parse(app).is_ok() {
        return Ok(app.to_string());
    }
    if let Some(p) = ppt {
        let (dev, pk, _) = developer(p)?;
        return Ok(app_of(&dev, &pk, app));
    }
    let apps = c.call("GetVar", json!(["appinfos"]))?;
    let named: Vec<String> = apps
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|a| s(a, "Name") == app)
        .map(|a| s(a, "ID"))
        .collect();
    match named.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(CliError(format!("no app named \"{app}\" on this node (give its id, or -p DEV.ppt)"))),
        _ => Err(CliError(format!("several apps are named \"{app}\" here: give -p DEV.ppt or the app id"))),
    }
}

pub(crate) fn lapp(c: &Client, ppt: Option<&str>, cmd: LappCmd) -> Result<(), CliError> {
    match cmd {
        LappCmd::Upload(a) => {
            let dir = std::path::Path::new(&a.input);
            if !dir.join("index.html").is_file() {
                return Err(CliError(format!("{} has no index.html: an app's entry page", a.input)));
            }
            // The name: -a NAME, else the passport's AppName, else the directory's name.
            let dir_name = dir
                .canonicalize()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_default();
            let app_name = match ppt {
                Some(p) => developer(p)?.2.pairs.get("AppName").cloned(),
                None => None,
            };
            let (name, id) = match a.app {
                Some(x) if Mid::parse(&x).is_ok() => (app_name.unwrap_or(dir_name), x),
                Some(x) => (x, String::new()),
                None => (app_name.unwrap_or(dir_name), String::new()),
            };
            // The tree travels as a tar archive (the node may be on another machine); the node
            // checks every path and link in it.
            let tar = crate::tar_dir::tar_dir(dir)?;
            let len = tar.len() as u64;
            let added = c.call_stream("IpfsAdd", "tar=true", &mut &tar[..], len)?;
            let cid = s(&added, "cid");
            let r = c.call("LappUpload", json!([cid, name, id]))?;
            println!("app id= {}", s(&r, "appid"));
            println!("app name= {}", s(&r, "name"));
            println!("developer= {}", s(&r, "developer"));
            println!("cid= {cid}");
            println!("ver= {}", s(&r, "ver"));
            println!("entry= {}/entry?aid={}&ver=cur", c.base, s(&r, "appid"));
            println!("uploadapp ok");
        }
        LappCmd::Show(a) => {
            let Some(app) = a.app else {
                // Every app this node holds.
                let apps = c.call("GetVar", json!(["appinfos"]))?;
                for x in apps.as_array().cloned().unwrap_or_default() {
                    println!(
                        "{}  {:<20} developer= {}  last= {}  release= {}",
                        s(&x, "ID"),
                        s(&x, "Name"),
                        s(&x, "Author"),
                        x["Last"],
                        x["Release"]
                    );
                }
                return Ok(());
            };
            let app = resolve(c, ppt, &app)?;
            let info = c.call("GetVar", json!(["appinfo", app]))?;
            if info.is_null() || info == "" {
                return Err(CliError(format!("{app} is not an app held by this node")));
            }
            println!("app id= {app}");
            println!("Name    : {}", s(&info, "Name"));
            println!("Author  : {}", s(&info, "Author"));
            let vers = c.call("GetVar", json!(["mmversions", app]))?;
            if let Some(v) = a.ver {
                // One version: its content and the files in it.
                let r = c.call("MMGetCid", json!([app, v]))?;
                let cid = s(&r, "cid");
                println!("ver= {}  cid= {cid}", r["ver"]);
                for f in c.call("IpfsLs", json!([cid]))?.as_array().cloned().unwrap_or_default() {
                    println!("  {:<10} {}", f["size"], s(&f, "name"));
                }
                println!("entry= {}/entry?aid={app}&ver={v}", c.base);
                return Ok(());
            }
            println!("cur      {}", info["Cur"].as_str().unwrap_or("(none)"));
            for v in vers["versions"].as_array().cloned().unwrap_or_default() {
                println!("{:<8} {}", v["ver"], s(&v, "cid"));
            }
            println!("last     {}", vers["last"]);
            println!("release  {}", vers["release"]);
        }
        LappCmd::Backup(a) => {
            let app = resolve(c, ppt, &a.app)?;
            let v = c.call("MMBackup", json!([app, ""]))?;
            println!("backup ver= {v}");
        }
        LappCmd::Restore(a) => {
            let v = c.call("MMRestore", json!([resolve(c, ppt, &a.app)?, a.ver]))?;
            println!("restore ver= {v} into cur");
        }
        LappCmd::Release(a) => {
            let v = c.call("MMRelease", json!([resolve(c, ppt, &a.app)?, a.ver]))?;
            println!("release ver= {v}");
        }
        LappCmd::Setdomain(a) => {
            // A bare app id (or name) opens the app directly.
            let target = if a.app.is_empty() || a.app.contains(',') {
                a.app.clone()
            } else {
                format!(",{}", resolve(c, ppt, &a.app)?)
            };
            c.call("SetDomain", json!([a.domain, target]))?;
            println!("setdomain ok  http://{}/", a.domain);
        }
        LappCmd::Delvers(a) => {
            let mut args = vec![Value::String(resolve(c, ppt, &a.app)?)];
            args.extend(a.vers.split(',').map(|v| Value::String(v.trim().to_string())));
            let v = c.call("MMDelVers", Value::Array(args))?;
            println!("delvers vers= {v}");
        }
    }
    Ok(())
}
