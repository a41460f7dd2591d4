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

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_stays_under_3_kb_with_twenty_providers() {
        let providers: Vec<String> = (0..20).map(|i| format!("203.0.113.{i}:4800")).collect();
        let p = super::page("SPoHD27KWl3D-3Uy4jQJyj8LEtw", "SPoHD27KWl3D-3Uy4jQJyj8LEtw", &providers, "198.51.100.7");
        assert!(p.len() < 3072, "{} bytes", p.len());
        assert!(p.contains("\"203.0.113.19:4800\"") && !p.contains("__"));
    }
}
