//! The domain node's template page (`/tpt/<mid>,<appid>/`, `/tpt/,<appid>/`): a page under 3 KB
//! that carries every provider's HTTP address and lets the browser pick. Its script probes the
//! providers in parallel (short timeout), takes the fastest that answers, loads that node's
//! `/entry`, and writes the app into the document with a `<base>` pointing at the provider, so
//! every file of the app comes from the provider, none from the domain node; if the chosen node
//! fails, the next one is tried. The chosen node's address is also in `<meta name="leither-node">`, for the
//! app's hprose client (`ws://<node>/ws/`).

use serde_json::Value;

/// The page's script, kept small: the page must stay under 3 KB with its provider list.
const SCRIPT: &str = r#"const P=__P__,A=__A__,M=__M__;
function probe(h){const c=new AbortController(),t=setTimeout(()=>c.abort(),1500),s=performance.now();
return fetch("http://"+h+"/",{signal:c.signal,cache:"no-store"}).then(r=>{clearTimeout(t);if(!r.ok)throw r.status;return[h,performance.now()-s]})}
async function go(){const ok=(await Promise.allSettled(P.map(probe))).filter(x=>x.status=="fulfilled").map(x=>x.value).sort((a,b)=>a[1]-b[1]).map(x=>x[0]);
for(const h of ok){try{const r=await fetch("http://"+h+"/entry?aid="+A+"&ver=last"+(M?"&mid="+M:"")+"&rand="+Math.random());
if(!r.ok)continue;let t=await r.text();const b='<base href="'+r.url+'"><meta name="leither-node" content="'+h+'">';
t=/<head[^>]*>/i.test(t)?t.replace(/<head[^>]*>/i,m=>m+b):b+t;document.open();document.write(t);document.close();return}catch(e){}}
document.getElementById("s").textContent="No provider of this app answered."}
go()"#;

/// The page for app `aid` (opening MiMei `mid`, if any) served by the given providers.
pub fn page(aid: &str, mid: &str, providers: &[String], client: &str) -> String {
    let list = Value::Array(providers.iter().map(|p| Value::String(p.clone())).collect()).to_string();
    let script = SCRIPT
        .replace("__P__", &list)
        .replace("__A__", &Value::String(aid.into()).to_string())
        .replace("__M__", &Value::String(mid.into()).to_string());
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Leither</title></head><body>\
         <p id=\"s\">Finding the nearest node for {client}…</p><script>{script}</script></body></html>"
    )
}

/// At most this many addresses go into a page (it must stay under 3 KB).
pub const MAX_ADDRS: usize = 24;

fn host_of(addr: &str) -> &str {
    match addr.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => addr.rsplit_once(':').map_or(addr, |(h, _)| h),
    }
}

/// Whether an address (`host:port`) is a LAN or loopback one, useless from the internet.
pub fn is_private(addr: &str) -> bool {
    match host_of(addr).parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_private() || ip.is_loopback() || ip.is_link_local(),
        Ok(std::net::IpAddr::V6(ip)) => {
            ip.is_loopback() || (ip.segments()[0] & 0xfe00) == 0xfc00 || (ip.segments()[0] & 0xffc0) == 0xfe80
        }
        Err(_) => false,
    }
}

/// The addresses the page lists for one provider (`all`: every address it answers on): its
/// public ones; its LAN ones first when the client comes from the provider's public IP (behind
/// the same NAT) or from a LAN itself. The browser probes them all and takes the fastest.
pub fn candidates(all: &[String], client_ip: &str) -> Vec<String> {
    let (lan, public): (Vec<&String>, Vec<&String>) = all.iter().partition(|a| is_private(a));
    let client = client_ip.trim_start_matches('[').trim_end_matches(']');
    let same_nat = public.iter().any(|a| host_of(a) == client);
    let client_on_lan =
        is_private(&format!("{client}:0")) || client.contains(':') && is_private(&format!("[{client}]:0"));
    let mut out: Vec<String> = Vec::new();
    if same_nat || client_on_lan || public.is_empty() {
        out.extend(lan.iter().map(|a| a.to_string()));
    }
    out.extend(public.iter().map(|a| a.to_string()));
    out
}

#[cfg(test)]
mod tests {
    use super::candidates;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lan_addresses_only_for_clients_behind_the_same_nat() {
        let all = v(&["192.168.1.7:4800", "203.0.113.5:4800", "[fd00::7]:4800"]);
        // From the internet: the public address only.
        assert_eq!(candidates(&all, "198.51.100.1"), v(&["203.0.113.5:4800"]));
        // From the provider's own public IP (the same NAT): LAN addresses first.
        assert_eq!(candidates(&all, "203.0.113.5"), v(&["192.168.1.7:4800", "[fd00::7]:4800", "203.0.113.5:4800"]));
        // A client on a LAN with the domain node: everything.
        assert_eq!(candidates(&all, "10.0.0.9").len(), 3);
        assert_eq!(candidates(&all, "::1").len(), 3);
        // A provider with LAN addresses only still gets listed.
        assert_eq!(candidates(&v(&["127.0.0.1:5"]), "198.51.100.1"), v(&["127.0.0.1:5"]));
    }

    #[test]
    fn the_page_stays_under_3_kb_with_twenty_providers() {
        let providers: Vec<String> = (0..20).map(|i| format!("203.0.113.{i}:4800")).collect();
        let p = super::page("SPoHD27KWl3D-3Uy4jQJyj8LEtw", "SPoHD27KWl3D-3Uy4jQJyj8LEtw", &providers, "198.51.100.7");
        assert!(p.len() < 3072, "{} bytes", p.len());
        assert!(p.contains("\"203.0.113.19:4800\"") && !p.contains("__"));
        // The most a page lists, at the longest usual length (IPv6 with a port).
        let long: Vec<String> =
            (0..super::MAX_ADDRS).map(|i| format!("[2001:db8:85a3:8d3:1319:8a2e:370:{i:04x}]:48000")).collect();
        let p = super::page("SPoHD27KWl3D-3Uy4jQJyj8LEtw", "SPoHD27KWl3D-3Uy4jQJyj8LEtw", &long, "2001:db8::7");
        assert!(p.len() < 3072, "{} bytes", p.len());
    }
}
