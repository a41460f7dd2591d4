//! The HTML listing of a directory without `index.html`. Sizes come from the links' Tsize, so a
//! 10,000-entry listing reads only the directory's own blocks.

use proto_core::cid::Cid;
use proto_core::unixfs::read::Entry;
use std::fmt::Write;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment for an href.
pub fn encode_segment(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

pub fn render(path: &str, dir: &Cid, entries: &[Entry]) -> String {
    let mut html = String::with_capacity(256 + entries.len() * 200);
    let title = escape(path);
    let _ = write!(
        html,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}td{{padding:2px 12px}}.c{{color:#888;font-size:smaller}}</style>\
         </head><body><h1>Index of {title}</h1><p class=\"c\">{dir} — {} entries</p><table>",
        entries.len()
    );
    html.push_str("<tr><td><a href=\"..\">..</a></td><td></td><td></td></tr>");
    for e in entries {
        let name = String::from_utf8_lossy(&e.name);
        let _ = write!(
            html,
            "<tr><td><a href=\"{}\">{}</a></td><td class=\"c\">{}</td><td>{}</td></tr>",
            encode_segment(&e.name),
            escape(&name),
            e.cid,
            human(e.tsize)
        );
    }
    html.push_str("</table></body></html>");
    html
}
