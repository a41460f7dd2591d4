//! Writing API values as hprose 2.0. No references are emitted (clients accept fully expanded
//! data), strings use the UTF-16 length, and a one-unit string is a `u` char.

use serde_json::Value;

pub fn write(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(b'n'),
        Value::Bool(true) => out.push(b't'),
        Value::Bool(false) => out.push(b'f'),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                if (0..=9).contains(&i) {
                    out.push(b'0' + i as u8);
                } else if i32::try_from(i).is_ok() {
                    out.extend_from_slice(format!("i{i};").as_bytes());
                } else {
                    out.extend_from_slice(format!("l{i};").as_bytes());
                }
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(format!("l{u};").as_bytes());
            } else if let Some(f) = n.as_f64() {
                out.extend_from_slice(format!("d{f};").as_bytes());
            }
        }
        Value::String(s) => write_str(out, s),
        Value::Array(a) => {
            out.push(b'a');
            if !a.is_empty() {
                out.extend_from_slice(a.len().to_string().as_bytes());
            }
            out.push(b'{');
            for x in a {
                write(out, x);
            }
            out.push(b'}');
        }
        Value::Object(m) => {
            out.push(b'm');
            if !m.is_empty() {
                out.extend_from_slice(m.len().to_string().as_bytes());
            }
            out.push(b'{');
            for (k, x) in m {
                write_str(out, k);
                write(out, x);
            }
            out.push(b'}');
        }
    }
}

pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let units: usize = s.chars().map(char::len_utf16).sum();
    if units == 0 {
        out.push(b'e');
    } else if units == 1 {
        out.push(b'u');
        out.extend_from_slice(s.as_bytes());
    } else {
        out.push(b's');
        out.extend_from_slice(units.to_string().as_bytes());
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}
