//! Reading hprose 2.0 values into the API's neutral value type (serde_json::Value), with the
//! reference rules: one slot counter per scope, containers take their slot before their children,
//! `r<idx>;` points back to a slot (hprose-2.0.md §1).

use serde_json::{Map, Number, Value};
use std::fmt;

/// Deepest nesting accepted, and most values in one message.
pub const MAX_DEPTH: usize = 64;
pub const MAX_VALUES: usize = 1_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HproseError(pub String);

impl fmt::Display for HproseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hprose: {}", self.0)
    }
}

fn err<T>(m: impl Into<String>) -> Result<T, HproseError> {
    Err(HproseError(m.into()))
}

pub struct Reader<'a> {
    buf: &'a [u8],
    pub pos: usize,
    refs: Vec<Value>,
    classes: Vec<(String, Vec<String>)>,
    depth: usize,
    values: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0, refs: Vec::new(), classes: Vec::new(), depth: 0, values: 0 }
    }

    /// Starts a new reference scope (at a method name, an argument list, …).
    pub fn reset(&mut self) {
        self.refs.clear();
        self.classes.clear();
    }

    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub fn byte(&mut self) -> Result<u8, HproseError> {
        let b = self.peek().ok_or_else(|| HproseError("unexpected end of message".into()))?;
        self.pos += 1;
        Ok(b)
    }

    fn expect(&mut self, want: u8) -> Result<(), HproseError> {
        let got = self.byte()?;
        if got != want {
            return err(format!("expected '{}' at byte {}, found '{}'", want as char, self.pos - 1, got as char));
        }
        Ok(())
    }

    /// ASCII up to (not including) `end`, which is consumed.
    fn until(&mut self, end: u8) -> Result<&'a str, HproseError> {
        let rest = &self.buf[self.pos..];
        let n = rest.iter().position(|&b| b == end).ok_or_else(|| HproseError(format!("missing '{}'", end as char)))?;
        let s = std::str::from_utf8(&rest[..n]).map_err(|_| HproseError("number is not ASCII".into()))?;
        self.pos += n + 1;
        Ok(s)
    }

    /// A count before `{` or `"` (absent means 0).
    fn count(&mut self, end: u8) -> Result<usize, HproseError> {
        let s = self.until(end)?;
        if s.is_empty() {
            return Ok(0);
        }
        let n: usize = s.parse().map_err(|_| HproseError(format!("bad count \"{s}\"")))?;
        // Every element takes at least one byte: a count beyond the message is a lie.
        if n > self.buf.len() - self.pos.min(self.buf.len()) + 1 {
            return err(format!("count {n} is larger than the message"));
        }
        Ok(n)
    }

    /// Reads one value.
    pub fn value(&mut self) -> Result<Value, HproseError> {
        self.values += 1;
        if self.values > MAX_VALUES {
            return err("too many values");
        }
        let tag = self.byte()?;
        Ok(match tag {
            b'0'..=b'9' => Value::from(tag - b'0'),
            b'i' => {
                let s = self.until(b';')?;
                Value::from(s.parse::<i64>().map_err(|_| HproseError(format!("bad integer \"{s}\"")))?)
            }
            b'l' => {
                let s = self.until(b';')?;
                if let Ok(v) = s.parse::<i64>() {
                    Value::from(v)
                } else if let Ok(v) = s.parse::<u64>() {
                    Value::from(v)
                } else {
                    // Beyond 64 bits: keep the digits.
                    Value::String(s.to_string())
                }
            }
            b'd' => {
                let s = self.until(b';')?;
                let v: f64 = s.parse().map_err(|_| HproseError(format!("bad double \"{s}\"")))?;
                Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null)
            }
            b'N' => Value::String("NaN".into()),
            b'I' => match self.byte()? {
                b'+' => Value::String("Infinity".into()),
                b'-' => Value::String("-Infinity".into()),
                _ => return err("bad infinity"),
            },
            b't' => Value::Bool(true),
            b'f' => Value::Bool(false),
            b'n' => Value::Null,
            b'e' => Value::String(String::new()),
            b'u' => Value::String(self.char()?),
            b's' => {
                let s = self.string_body()?;
                self.refs.push(Value::String(s.clone()));
                Value::String(s)
            }
            b'b' => {
                let n = self.count(b'"')?;
                let raw =
                    self.buf.get(self.pos..self.pos + n).ok_or_else(|| HproseError("bytes run past the end".into()))?;
                self.pos += n;
                self.expect(b'"')?;
                let v = match std::str::from_utf8(raw) {
                    Ok(s) => Value::String(s.to_string()),
                    Err(_) => Value::Array(raw.iter().map(|&b| Value::from(b)).collect()),
                };
                self.refs.push(v.clone());
                v
            }
            b'D' | b'T' => {
                let v = Value::String(self.datetime(tag)?);
                self.refs.push(v.clone());
                v
            }
            b'g' => {
                self.expect(b'{')?;
                let s = self.until(b'}')?.to_ascii_lowercase();
                let v = Value::String(s);
                self.refs.push(v.clone());
                v
            }
            b'a' => {
                let n = self.count(b'{')?;
                let slot = self.refs.len();
                self.refs.push(Value::Null);
                let items = self.nested(|r| (0..n).map(|_| r.value()).collect::<Result<Vec<_>, _>>())?;
                self.expect(b'}')?;
                let v = Value::Array(items);
                self.refs[slot] = v.clone();
                v
            }
            b'm' => {
                let n = self.count(b'{')?;
                let slot = self.refs.len();
                self.refs.push(Value::Null);
                let map = self.nested(|r| {
                    let mut m = Map::new();
                    for _ in 0..n {
                        let k = r.value()?;
                        let v = r.value()?;
                        let key = match k {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        m.insert(key, v);
                    }
                    Ok(m)
                })?;
                self.expect(b'}')?;
                let v = Value::Object(map);
                self.refs[slot] = v.clone();
                v
            }
            b'c' => {
                let name = self.string_body()?;
                let n = self.count(b'{')?;
                let mut fields = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    match self.value()? {
                        Value::String(s) => fields.push(s),
                        _ => return err("class field names are strings"),
                    }
                }
                self.expect(b'}')?;
                self.classes.push((name, fields));
                // A class definition is always followed by an object.
                return self.value();
            }
            b'o' => {
                let idx: usize = self.until(b'{')?.parse().map_err(|_| HproseError("bad class index".into()))?;
                let fields =
                    self.classes.get(idx).map(|c| c.1.clone()).ok_or_else(|| HproseError(format!("no class {idx}")))?;
                let slot = self.refs.len();
                self.refs.push(Value::Null);
                let map = self.nested(|r| {
                    let mut m = Map::new();
                    for f in &fields {
                        m.insert(f.clone(), r.value()?);
                    }
                    Ok(m)
                })?;
                self.expect(b'}')?;
                let v = Value::Object(map);
                self.refs[slot] = v.clone();
                v
            }
            b'r' => {
                let idx: usize = self.until(b';')?.parse().map_err(|_| HproseError("bad reference".into()))?;
                self.refs.get(idx).cloned().ok_or_else(|| HproseError(format!("reference {idx} to no value")))?
            }
            t => return err(format!("unknown tag '{}' at byte {}", t as char, self.pos - 1)),
        })
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, HproseError>) -> Result<T, HproseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err("nested too deeply");
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// One UTF-8 character after `u` (a 4-byte one is accepted, as old Python clients send it).
    fn char(&mut self) -> Result<String, HproseError> {
        let first = self.peek().ok_or_else(|| HproseError("missing char".into()))?;
        let len = match first {
            0x00..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => return err("bad UTF-8 in char"),
        };
        let bytes =
            self.buf.get(self.pos..self.pos + len).ok_or_else(|| HproseError("char runs past the end".into()))?;
        let s = std::str::from_utf8(bytes).map_err(|_| HproseError("bad UTF-8 in char".into()))?.to_string();
        self.pos += len;
        Ok(s)
    }

    /// `<len>"<utf8>"` where len counts UTF-16 units (code points as a fallback, for old clients).
    fn string_body(&mut self) -> Result<String, HproseError> {
        let units = self.count(b'"')?;
        let start = self.pos;
        let rest = &self.buf[start..];
        for count_units in [true, false] {
            let mut i = 0;
            let mut n = 0;
            while n < units {
                let Some(&b) = rest.get(i) else { break };
                let (w, u) = match b {
                    0x00..=0x7f => (1, 1),
                    0xc0..=0xdf => (2, 1),
                    0xe0..=0xef => (3, 1),
                    0xf0..=0xf7 => (4, if count_units { 2 } else { 1 }),
                    _ => return err("bad UTF-8 in string"),
                };
                i += w;
                n += u;
            }
            if n == units && rest.get(i) == Some(&b'"') {
                let s =
                    std::str::from_utf8(&rest[..i]).map_err(|_| HproseError("bad UTF-8 in string".into()))?.to_string();
                self.pos = start + i + 1;
                return Ok(s);
            }
        }
        err("string length does not match its text")
    }

    fn digits(&mut self, n: usize) -> Result<&'a str, HproseError> {
        let s = self.buf.get(self.pos..self.pos + n).ok_or_else(|| HproseError("date runs past the end".into()))?;
        if !s.iter().all(u8::is_ascii_digit) {
            return err("bad digits in a date or time");
        }
        self.pos += n;
        Ok(std::str::from_utf8(s).expect("digits are ASCII"))
    }

    /// `DYYYYMMDD[Thhmmss[.f…]]` or `Thhmmss[.f…]`, ending `;` (local) or `Z` (UTC): ISO 8601 text.
    fn datetime(&mut self, tag: u8) -> Result<String, HproseError> {
        let mut out = String::new();
        let mut time_tag = tag == b'T';
        if tag == b'D' {
            let (y, m, d) = (self.digits(4)?, self.digits(2)?, self.digits(2)?);
            out = format!("{y}-{m}-{d}");
            if self.peek() == Some(b'T') {
                self.pos += 1;
                time_tag = true;
                out.push('T');
            }
        }
        if time_tag {
            let (h, mi, s) = (self.digits(2)?, self.digits(2)?, self.digits(2)?);
            out.push_str(&format!("{h}:{mi}:{s}"));
            if self.peek() == Some(b'.') {
                self.pos += 1;
                let start = self.pos;
                while self.peek().is_some_and(|b| b.is_ascii_digit()) && self.pos - start < 9 {
                    self.pos += 1;
                }
                out.push('.');
                out.push_str(std::str::from_utf8(&self.buf[start..self.pos]).expect("digits"));
            }
        }
        match self.byte()? {
            b';' => {}
            b'Z' => out.push('Z'),
            _ => return err("a date or time ends with ';' or 'Z'"),
        }
        Ok(out)
    }
}
