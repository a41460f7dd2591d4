//! Reading hprose 2.0 values into the API's neutral value type (serde_json::Value), with the
//! reference rules: one slot counter per scope, containers take their slot before their children,
//! `r<idx>;` points back to a slot (hprose-2.0.md §1).
//!
//! A slot keeps only where its value lies in the message and what it cost; a reference decodes
//! those bytes again (replays them) after checking the budget, so the reader never holds a copy
//! that the budget did not count, and a refused reference allocates nothing.

use super::limits::{too_big, HproseLimits, NODE_COST};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Most values in one message (references count the values they copy).
pub(super) const MAX_VALUES: usize = 1_000_000;

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

/// A reference slot: the value's bytes and what decoding them cost.
#[derive(Clone, Copy)]
struct Slot {
    /// Offset of the value's tag.
    start: usize,
    /// Offset just past the value; `usize::MAX` while a container is still open (a reference to
    /// it from inside gives null).
    end: usize,
    cost: usize,
}

pub struct Reader<'a> {
    buf: &'a [u8],
    pub pos: usize,
    refs: Vec<Slot>,
    classes: Vec<(String, Vec<String>)>,
    depth: usize,
    values: usize,
    limits: HproseLimits,
    /// Bytes charged so far in this message.
    decoded: usize,
    /// Decoding a referenced value again: slots and classes exist already.
    replay: bool,
}

/// Collects text up to a byte budget, failing beyond it.
struct Capped {
    out: Vec<u8>,
    room: usize,
}

impl std::io::Write for Capped {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.out.len() + b.len() > self.room {
            return Err(std::io::Error::other("over budget"));
        }
        self.out.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self::with_limits(buf, &HproseLimits::default())
    }

    pub fn with_limits(buf: &'a [u8], limits: &HproseLimits) -> Self {
        Reader {
            buf,
            pos: 0,
            refs: Vec::new(),
            classes: Vec::new(),
            depth: 0,
            values: 0,
            limits: limits.clone(),
            decoded: 0,
            replay: false,
        }
    }

    /// Bytes charged to the budget so far (at least the [`super::decoded_size`] of every value
    /// returned).
    pub fn decoded(&self) -> usize {
        self.decoded
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

    /// Counts `n` more decoded bytes, refusing before the total would cross the budget.
    fn charge(&mut self, n: usize) -> Result<(), HproseError> {
        let total = self.decoded.saturating_add(n);
        if total > self.limits.max_decoded {
            return err(too_big(self.limits.max_decoded));
        }
        self.decoded = total;
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

    /// A finished value at `start` takes the next slot (not when replaying: it has one).
    fn add_slot(&mut self, start: usize, before: usize) {
        if !self.replay {
            self.refs.push(Slot { start, end: self.pos, cost: self.decoded - before });
        }
    }

    /// A container at `start` takes its slot before its children.
    fn open_slot(&mut self, start: usize) -> Option<usize> {
        if self.replay {
            return None;
        }
        self.refs.push(Slot { start, end: usize::MAX, cost: 0 });
        Some(self.refs.len() - 1)
    }

    fn close_slot(&mut self, slot: Option<usize>, before: usize) {
        if let Some(i) = slot {
            self.refs[i].end = self.pos;
            self.refs[i].cost = self.decoded - before;
        }
    }

    /// `r<idx>;` at `at`: the slot's value decoded again, once the budget allows its full cost.
    fn reference(&mut self, at: usize) -> Result<Value, HproseError> {
        let idx: usize = self.until(b';')?.parse().map_err(|_| HproseError("bad reference".into()))?;
        let slot = *self.refs.get(idx).ok_or_else(|| HproseError(format!("reference {idx} to no value")))?;
        if slot.end > at {
            // The container is still open here: the reference is to itself or an ancestor.
            return Ok(Value::Null);
        }
        if self.decoded.saturating_add(slot.cost) > self.limits.max_decoded {
            return err(too_big(self.limits.max_decoded));
        }
        let (pos, replay) = (self.pos, self.replay);
        self.pos = slot.start;
        self.replay = true;
        let v = self.value();
        self.pos = pos;
        self.replay = replay;
        v
    }

    /// A map key: strings as they are, other values as their JSON text (within the budget).
    fn key(&mut self, k: Value) -> Result<String, HproseError> {
        match k {
            Value::String(s) => Ok(s),
            other => {
                let room = self.limits.max_decoded - self.decoded;
                let mut w = Capped { out: Vec::new(), room };
                serde_json::to_writer(&mut w, &other).map_err(|_| HproseError(too_big(self.limits.max_decoded)))?;
                self.charge(w.out.len())?;
                Ok(String::from_utf8(w.out).expect("JSON text is UTF-8"))
            }
        }
    }

    /// Reads one value.
    pub fn value(&mut self) -> Result<Value, HproseError> {
        self.values += 1;
        if self.values > MAX_VALUES {
            return err("too many values");
        }
        let before = self.decoded;
        self.charge(NODE_COST)?;
        let start = self.pos;
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
                    self.charge(s.len())?;
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
            b'u' => {
                let (a, b) = self.char_span()?;
                self.charge(b - a)?;
                Value::String(self.text(a, b, "char")?)
            }
            b's' => {
                let (a, b) = self.string_span()?;
                self.charge(b - a)?;
                let v = Value::String(self.text(a, b, "string")?);
                self.add_slot(start, before);
                v
            }
            b'b' => {
                let n = self.count(b'"')?;
                let raw =
                    self.buf.get(self.pos..self.pos + n).ok_or_else(|| HproseError("bytes run past the end".into()))?;
                self.pos += n;
                self.expect(b'"')?;
                let v = match std::str::from_utf8(raw) {
                    Ok(s) => {
                        self.charge(n)?;
                        Value::String(s.to_string())
                    }
                    Err(_) => {
                        // One number node per byte.
                        self.charge(n.saturating_mul(NODE_COST))?;
                        Value::Array(raw.iter().map(|&b| Value::from(b)).collect())
                    }
                };
                self.add_slot(start, before);
                v
            }
            b'D' | b'T' => {
                let s = self.datetime(tag)?;
                self.charge(s.len())?;
                self.add_slot(start, before);
                Value::String(s)
            }
            b'g' => {
                self.expect(b'{')?;
                let s = self.until(b'}')?;
                self.charge(s.len())?;
                let v = Value::String(s.to_ascii_lowercase());
                self.add_slot(start, before);
                v
            }
            b'a' => {
                let n = self.count(b'{')?;
                let slot = self.open_slot(start);
                let items = self.nested(|r| (0..n).map(|_| r.value()).collect::<Result<Vec<_>, _>>())?;
                self.expect(b'}')?;
                self.close_slot(slot, before);
                Value::Array(items)
            }
            b'm' => {
                let n = self.count(b'{')?;
                let slot = self.open_slot(start);
                let map = self.nested(|r| {
                    let mut m = Map::new();
                    for _ in 0..n {
                        let k = r.value()?;
                        let key = r.key(k)?;
                        let v = r.value()?;
                        m.insert(key, v);
                    }
                    Ok(m)
                })?;
                self.expect(b'}')?;
                self.close_slot(slot, before);
                Value::Object(map)
            }
            b'c' => {
                let (a, b) = self.string_span()?;
                let name = self.text(a, b, "string")?;
                let n = self.count(b'{')?;
                let mut fields = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    match self.value()? {
                        Value::String(s) => fields.push(s),
                        _ => return err("class field names are strings"),
                    }
                }
                self.expect(b'}')?;
                if !self.replay {
                    self.classes.push((name, fields));
                }
                // A class definition is always followed by an object.
                return self.value();
            }
            b'o' => {
                let idx: usize = self.until(b'{')?.parse().map_err(|_| HproseError("bad class index".into()))?;
                let n =
                    self.classes.get(idx).map(|c| c.1.len()).ok_or_else(|| HproseError(format!("no class {idx}")))?;
                let slot = self.open_slot(start);
                let map = self.nested(|r| {
                    let mut m = Map::new();
                    for i in 0..n {
                        r.charge(NODE_COST + r.classes[idx].1[i].len())?;
                        let key = r.classes[idx].1[i].clone();
                        m.insert(key, r.value()?);
                    }
                    Ok(m)
                })?;
                self.expect(b'}')?;
                self.close_slot(slot, before);
                Value::Object(map)
            }
            b'r' => self.reference(start)?,
            t => return err(format!("unknown tag '{}' at byte {}", t as char, self.pos - 1)),
        })
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, HproseError>) -> Result<T, HproseError> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return err("nested too deeply");
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// The bytes of one UTF-8 character after `u` (a 4-byte one is accepted, as old Python
    /// clients send it).
    fn char_span(&mut self) -> Result<(usize, usize), HproseError> {
        let first = self.peek().ok_or_else(|| HproseError("missing char".into()))?;
        let len = match first {
            0x00..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => return err("bad UTF-8 in char"),
        };
        if self.pos + len > self.buf.len() {
            return err("char runs past the end");
        }
        self.pos += len;
        Ok((self.pos - len, self.pos))
    }

    /// The UTF-8 text of `buf[a..b]`, allocated once the budget allowed it.
    fn text(&self, a: usize, b: usize, what: &str) -> Result<String, HproseError> {
        std::str::from_utf8(&self.buf[a..b])
            .map(str::to_string)
            .map_err(|_| HproseError(format!("bad UTF-8 in {what}")))
    }

    /// The text bytes of `<len>"<utf8>"` where len counts UTF-16 units (code points as a
    /// fallback, for old clients); the closing quote is consumed.
    fn string_span(&mut self) -> Result<(usize, usize), HproseError> {
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
                self.pos = start + i + 1;
                return Ok((start, start + i));
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
