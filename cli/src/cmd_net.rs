//! `swarm local | addrs | peers | connect | disconnect` and `dht findpeer | provide | findprovs`.

use crate::args::{DhtCmd, SwarmCmd};
use crate::client::{CliError, Client};
use serde_json::{json, Value};

fn list(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn addrs(v: &Value) -> Vec<String> {
    list(v.get("addrs").unwrap_or(&Value::Null)).iter().filter_map(|a| a.as_str().map(str::to_string)).collect()
}

pub(crate) fn swarm(c: &Client, cmd: SwarmCmd) -> Result<(), CliError> {
    match cmd {
        SwarmCmd::Local(_) => {
            for a in list(&c.call("SwarmLocal", json!([]))?) {
                println!("{}", a.as_str().unwrap_or_default());
            }
        }
        SwarmCmd::Addrs(_) => {
            // As the original prints it: the id with its address count, then one address a line.
            for p in list(&c.call("SwarmAddrs", json!([]))?) {
                let a = addrs(&p);
                println!("{} ({})", text(&p, "id"), a.len());
                for x in a {
                    println!("\t{x}");
                }
            }
        }
        SwarmCmd::Peers(_) => {
            // IPFS peers add the agent that identify reported.
            for p in list(&c.call("SwarmPeers", json!([]))?) {
                let agent = text(&p, "agent");
                let tail = if agent.is_empty() { String::new() } else { format!(" {agent}") };
                println!("{} {}{tail}", text(&p, "id"), addrs(&p).join(" "));
            }
        }
        SwarmCmd::Connect(a) => {
            let p = c.call("SwarmConnect", json!([a.addr]))?;
            println!("connect {} success", text(&p, "id"));
        }
        SwarmCmd::Ping(a) => {
            let r = c.call("SwarmPing", json!([a.id]))?;
            println!("pong from {} in {} ms", a.id, r.get("rtt_ms").and_then(Value::as_u64).unwrap_or(0));
        }
        SwarmCmd::Disconnect(a) => {
            c.call("SwarmDisconnect", json!([a.id]))?;
            println!("disconnect {} success", a.id);
        }
    }
    Ok(())
}

pub(crate) fn dht(c: &Client, cmd: DhtCmd) -> Result<(), CliError> {
    match cmd {
        DhtCmd::Findpeer(a) => {
            for x in addrs(&c.call("DhtFindPeer", json!(["", a.id]))?) {
                println!("{x}");
            }
        }
        DhtCmd::Provide(a) => {
            let r = c.call("DhtProvide", json!(["", a.cid]))?;
            println!("provided {} to {} peers", text(&r, "cid"), r.get("peers").and_then(Value::as_u64).unwrap_or(0));
        }
        DhtCmd::Put(a) => {
            let r = c.call("DhtPutValue", json!(["", a.key, a.value]))?;
            println!("{} (stored on {} peers)", text(&r, "Key"), r.get("peers").and_then(Value::as_u64).unwrap_or(0));
        }
        DhtCmd::Get(a) => {
            let r = c.call("DhtGetValue", json!(["", a.key]))?;
            match r.get("Value") {
                Some(Value::String(v)) => println!("{v}"),
                Some(v) => println!("{v}"),
                None => {}
            }
        }
        DhtCmd::Findprovs(a) => {
            for p in list(&c.call("DhtFindProvs", json!(["", a.cid]))?) {
                println!("{}", text(&p, "id"));
                for x in addrs(&p) {
                    println!("\t{x}");
                }
            }
        }
    }
    Ok(())
}
