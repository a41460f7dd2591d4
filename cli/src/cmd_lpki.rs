//! `lpki genkey | gencert | signppt | verifyppt | show | id FILE`: keys, certificates and
//! passports (docs/passports.md); `reqservice | addkey | delegate`: a user and a node
//! (docs/users.md).

use crate::args::{
    LpkiAddkey, LpkiDelegate, LpkiGencert, LpkiGenkey, LpkiReqservice, LpkiShow, LpkiSignppt, LpkiVerifyppt,
};
use crate::client::{CliError, Client};
use proto_core::identity::Identity;
use proto_core::ppt::{self, parse_pairs, read_key};
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};
use storage::repo::Repo;

fn read(path: &str) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| CliError(format!("cannot read {path}: {e}")))
}

fn json(path: &str) -> Result<Value, CliError> {
    serde_json::from_str(&read(path)?)
        .map_err(|e| CliError(format!("{path} is not a key, certificate or passport: {e}")))
}

fn write_secret(path: &str, text: &str) -> Result<(), CliError> {
    crate::keyring::write_secret(std::path::Path::new(path), text)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// `lpki genkey -o FILE`: a new key pair, written to FILE and kept in this machine's keyring.
pub(crate) fn genkey(repo: &Repo, a: LpkiGenkey) -> Result<(), CliError> {
    let mut seed = [0u8; 32];
    getrandom_fill(&mut seed)?;
    let id = Identity::from_seed(seed);
    let k = ppt::key_file(&id);
    write_secret(&a.output, &serde_json::to_string_pretty(&k)?)?;
    println!("id= {}", k["id"].as_str().unwrap_or_default());
    println!("pk= {}", k["pk"].as_str().unwrap_or_default());
    println!("sk= {}", k["sk"].as_str().unwrap_or_default());
    // The key is written; a keyring that cannot take a copy only costs the automatic steps.
    match crate::keyring::keep(repo, &id) {
        Ok(kept) => eprintln!("kept in {}", kept.display()),
        Err(CliError(e)) => {
            eprintln!("warning: the key is not kept in the keyring ({e}); add it with lpki addkey {} --local", a.output)
        }
    }
    Ok(())
}

fn getrandom_fill(b: &mut [u8; 32]) -> Result<(), CliError> {
    *b = node::start::entropy();
    Ok(())
}

pub(crate) fn gencert(a: LpkiGencert) -> Result<(), CliError> {
    let holder = read_key(&read(&a.key)?).map_err(|e| CliError(format!("{}: {e}", a.key)))?;
    let issuer = match &a.ca {
        Some(ca) => read_key(&read(ca)?).map_err(|e| CliError(format!("{ca}: {e}")))?,
        None => Identity::from_seed(holder.seed()),
    };
    let pairs = parse_pairs(&a.message)?;
    let cert = ppt::make_cert(&holder, &issuer, &pairs)?;
    write_secret(&a.output, &serde_json::to_string_pretty(&cert)?)?;
    println!("cert for {} signed by {}", holder.node_id(), issuer.node_id());
    Ok(())
}

pub(crate) fn signppt(a: LpkiSignppt) -> Result<(), CliError> {
    if a.period == 0 || a.period > 10_080 {
        return Err(CliError(format!("-p is minutes between 1 and 10080 (7 days), not {}", a.period)));
    }
    let cert = json(&a.cert)?;
    let pairs = parse_pairs(&a.message)?;
    let p = ppt::sign_ppt(&cert, &pairs, a.period, now_ms()).map_err(|e| CliError(format!("{}: {e}", a.cert)))?;
    std::fs::write(&a.output, p.to_string()).map_err(|e| CliError(format!("cannot write {}: {e}", a.output)))?;
    println!("ppt signed by {} valid {} minutes: {}", p["SignerID"].as_str().unwrap_or_default(), a.period, a.output);
    Ok(())
}

pub(crate) fn verifyppt(a: LpkiVerifyppt) -> Result<(), CliError> {
    let cert =
        ppt::verify_cert(&ppt::public_cert(&json(&a.cert)?)).map_err(|e| CliError(format!("{}: {e}", a.cert)))?;
    ppt::verify_ppt(&read(&a.input)?, Some(&cert), now_ms()).map_err(|e| CliError(format!("ppt is not valid: {e}")))?;
    println!("ppt is valid");
    Ok(())
}

pub(crate) fn show(a: LpkiShow) -> Result<(), CliError> {
    let v = json(&a.input)?;
    if let Some(data) = v.get("Data").and_then(Value::as_str) {
        println!("SignerID= {}", v.get("SignerID").and_then(Value::as_str).unwrap_or_default());
        println!("KeyType= {}", v.get("KeyType").and_then(Value::as_str).unwrap_or_default());
        for (k, val) in ppt::parse_data(data)? {
            println!("{k}= {val}");
        }
    } else {
        println!("id= {}", v.get("id").and_then(Value::as_str).unwrap_or_default());
        println!("pk= {}", v.get("pk").and_then(Value::as_str).unwrap_or_default());
    }
    Ok(())
}

pub(crate) fn id(path: &str) -> Result<(), CliError> {
    let text = read(path)?;
    let v: Option<Value> = serde_json::from_str(&text).ok();
    let id = match v.as_ref().and_then(|v| v.get("SignerID").or_else(|| v.get("id"))).and_then(Value::as_str) {
        // A certificate names its holder in CertPKID; a passport its signer; a key file itself.
        Some(_) if v.as_ref().and_then(|v| v.get("Key")).is_some() => read_key(&text)?.node_id().to_string(),
        Some(s) => s.to_string(),
        None => read_key(&text)?.node_id().to_string(),
    };
    println!("{id}");
    Ok(())
}

/// How long a delegation lasts unless `-p` says otherwise: 30 days.
pub(crate) const DEFAULT_DELEGATION_MINUTES: u64 = 30 * 24 * 60;

/// `lpki reqservice -c CERT [-m RequestService=mimei] -n URL`: the certificate's holder asks the
/// node for a service, with a short passport signed for the request.
pub(crate) fn reqservice(c: &Client, a: LpkiReqservice) -> Result<(), CliError> {
    let cert = json(&a.cert)?;
    for (svc, granted) in
        request_service(c, &cert, &a.message).map_err(|CliError(e)| CliError(format!("{}: {e}", a.cert)))?
    {
        println!("RequestService {svc} granted= {granted}");
    }
    println!("reqservice ok");
    Ok(())
}

/// Asks for a service (`message`'s `RequestService=`, default mimei) with a short passport the
/// certificate's key signs; the services and what was granted.
fn request_service(c: &Client, cert: &Value, message: &str) -> Result<Vec<(String, String)>, CliError> {
    let mut pairs = parse_pairs(message)?;
    pairs.insert("CertFor".into(), "Self".into());
    pairs.entry("RequestService".into()).or_insert_with(|| "mimei".into());
    let p = ppt::sign_ppt(cert, &pairs, 10, now_ms()).map_err(|e| CliError(e.to_string()))?;
    let r = c.call("RequestService", serde_json::json!([p.to_string()]))?;
    let granted = r.as_object().cloned().unwrap_or_default();
    Ok(granted.into_iter().map(|(s, v)| (s, v["granted"].as_str().unwrap_or_default().to_string())).collect())
}

/// The `mimei` service asked for with the key in `key_file` (a self-signed certificate of it).
pub(crate) fn request_mimei_with_key(c: &Client, key_file: &str) -> Result<(), CliError> {
    let holder = read_key(&read(key_file)?).map_err(|e| CliError(format!("{key_file}: {e}")))?;
    let cert = ppt::make_cert(&holder, &holder, &Default::default()).map_err(|e| CliError(e.to_string()))?;
    request_service(c, &cert, "")?;
    eprintln!("requested the mimei service on {} as {}", c.url, holder.node_id());
    Ok(())
}

/// `lpki addkey KEY`: hands a user's key to the node of this machine (loopback only), which
/// then signs the user's MiMei heads with it; `--local` keeps it in this machine's keyring
/// instead, for the commands run with `-p PPT`.
pub(crate) fn addkey(repo: &Repo, c: &Client, a: LpkiAddkey) -> Result<(), CliError> {
    if a.local {
        let id = read_key(&read(&a.key)?).map_err(|e| CliError(format!("{}: {e}", a.key)))?;
        let kept = crate::keyring::keep(repo, &id)?;
        println!("addkey ok  user= {}  kept in {}", id.node_id(), kept.display());
        return Ok(());
    }
    let uid = c.call("AddKey", serde_json::json!([read(&a.key)?]))?;
    println!("addkey ok  user= {}", uid.as_str().unwrap_or_default());
    Ok(())
}

/// `lpki delegate -k KEY [-p MINUTES] -n URL`: the key's holder lets the node sign their MiMei
/// heads for a while.
pub(crate) fn delegate(c: &Client, a: LpkiDelegate) -> Result<(), CliError> {
    delegate_with(c, &a.key, a.period)
}

pub(crate) fn delegate_with(c: &Client, key_file: &str, minutes: u64) -> Result<(), CliError> {
    if minutes == 0 || minutes > 366 * 24 * 60 {
        return Err(CliError(format!("a delegation lasts 1 minute to a year, not {minutes} minutes")));
    }
    let user = read_key(&read(key_file)?).map_err(|e| CliError(format!("{key_file}: {e}")))?;
    let node_pk = c.call("GetVar", serde_json::json!(["nodepk"]))?;
    let node_pk = node_pk
        .as_str()
        .and_then(proto_core::multibase::base64url_decode)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| CliError("the node did not tell its public key (GetVar nodepk)".into()))?;
    let now = now_ms();
    let d = proto_core::dht::delegation::Delegation::sign(&user, &node_pk, now, now + minutes * 60_000);
    let r = c.call("AddDelegation", serde_json::json!([d.to_text()]))?;
    eprintln!(
        "delegated to node {} until {}",
        proto_core::identity::node_id_of(&node_pk),
        r["until"].as_str().unwrap_or_default()
    );
    Ok(())
}
