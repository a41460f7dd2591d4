//! The hprose 2.0 codec of the API: the original system's RPC (hprose-2.0.md). Requests decode
//! into the same argument vectors as the JSON codec and call the same registry, so every method
//! is callable both ways.

mod limits;
mod reader;
mod writer;

pub use limits::{decoded_size, HproseLimits, MAX_DECODED, MAX_DEPTH, NODE_COST};
pub use reader::{HproseError, Reader};
pub use writer::{write, write_str};

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct CallReq {
    pub name: String,
    pub args: Vec<Value>,
    /// The client asked for the arguments back (`t` after the list).
    pub by_ref: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    FunctionList,
    Calls(Vec<CallReq>),
}

/// Most calls one batch may carry.
pub const MAX_CALLS: usize = 1024;

/// Decodes a request within the default limits.
pub fn parse_request(body: &[u8]) -> Result<Request, HproseError> {
    parse_request_with(body, &HproseLimits::default())
}

/// Decodes a request within `limits`: all its calls together decode to at most
/// `limits.max_decoded` bytes as [`decoded_size`] counts them, refused before that is allocated.
pub fn parse_request_with(body: &[u8], limits: &HproseLimits) -> Result<Request, HproseError> {
    let mut r = Reader::with_limits(body, limits);
    match r.peek() {
        Some(b'z') if body.len() == 1 => return Ok(Request::FunctionList),
        Some(b'C') => {}
        None => return Err(HproseError("Wrong Request: empty body".into())),
        Some(t) => return Err(HproseError(format!("Wrong Request: unexpected tag '{}'", t as char))),
    }
    let mut calls = Vec::new();
    loop {
        match r.byte()? {
            b'C' => {}
            b'z' if !calls.is_empty() => return Ok(Request::Calls(calls)),
            t => return Err(HproseError(format!("Wrong Request: unexpected tag '{}'", t as char))),
        }
        if calls.len() >= MAX_CALLS {
            return Err(HproseError("too many calls in one batch".into()));
        }
        r.reset();
        let name = match r.value()? {
            Value::String(s) => s,
            _ => return Err(HproseError("a method name is a string".into())),
        };
        let mut args = Vec::new();
        let mut by_ref = false;
        if r.peek() == Some(b'a') {
            r.reset();
            match r.value()? {
                Value::Array(a) => args = a,
                _ => return Err(HproseError("arguments are a list".into())),
            }
            if r.peek() == Some(b't') {
                r.pos += 1;
                by_ref = true;
            }
        }
        calls.push(CallReq { name, args, by_ref });
    }
}

/// One call's outcome, and its arguments when the client asked for them back.
pub type Outcome = (Result<Value, String>, Option<Vec<Value>>);

/// One reply body: `R<value>[A<args>]` or `E<message>` per call, then `z`.
pub fn reply(results: &[Outcome]) -> Vec<u8> {
    let mut out = Vec::new();
    for (r, args) in results {
        match r {
            Ok(v) => {
                out.push(b'R');
                write(&mut out, v);
                if let Some(a) = args {
                    out.push(b'A');
                    write(&mut out, &Value::Array(a.clone()));
                }
            }
            Err(e) => {
                out.push(b'E');
                write_str(&mut out, e);
            }
        }
    }
    out.push(b'z');
    out
}

pub fn error_reply(message: &str) -> Vec<u8> {
    let mut out = vec![b'E'];
    write_str(&mut out, message);
    out.push(b'z');
    out
}

pub fn function_list<'a>(names: impl Iterator<Item = &'a str>) -> Vec<u8> {
    let list = Value::Array(names.map(|n| Value::String(n.to_string())).collect());
    let mut out = vec![b'F'];
    write(&mut out, &list);
    out.push(b'z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(body: &[u8]) -> CallReq {
        match parse_request(body).unwrap() {
            Request::Calls(mut c) => c.remove(0),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn captured_requests_decode() {
        // Rows of hprose-2.0.md §5.
        assert_eq!(one(b"Cs6\"noargs\"z"), CallReq { name: "noargs".into(), args: vec![], by_ref: false });
        let c = one(b"Cs4\"echo\"a13{09i10;i-1;l2147483648;d1.5;s2\"ab\"uceb2\"\x00\xff\"ntf}z");
        assert_eq!(c.args.len(), 13);
        assert_eq!(
            c.args[..7],
            [json!(0), json!(9), json!(10), json!(-1), json!(2147483648i64), json!(1.5), json!("ab")]
        );
        assert_eq!(c.args[7..], [json!("c"), json!(""), json!([0, 255]), json!(null), json!(true), json!(false)]);
        let c = one(b"Cs4\"echo\"a2{a3{123}m3{ukuvun12s3\"two\"}}z");
        assert_eq!(c.args, vec![json!([1, 2, 3]), json!({"k": "v", "n": 1, "2": "two"})]);
        let c = one(b"Cs4\"echo\"a2{c5\"Point\"2{s1\"x\"s1\"y\"}o0{12}o0{34}}z");
        assert_eq!(c.args, vec![json!({"x": 1, "y": 2}), json!({"x": 3, "y": 4})]);
        let c = one(b"Cs4\"echo\"a3{D20200102T030405.678000;D20200102;T030405Z}z");
        assert_eq!(c.args, vec![json!("2020-01-02T03:04:05.678000"), json!("2020-01-02"), json!("03:04:05Z")]);
        let c = one("Cs4\"echo\"a3{s3\"😀x\"s4\"same\"r2;}z".as_bytes());
        assert_eq!(c.args, vec![json!("😀x"), json!("same"), json!("same")]);
        let c = one(b"Cs6\"sortit\"a1{a3{312}}tz");
        assert!(c.by_ref);
        // References: containers take their slot before their children; the argument list
        // itself is slot 0 of its scope, so the doc's reply example shifts by one here.
        let c = one(b"Cs1\"x\"a1{a4{s4\"same\"r2;a2{12}r3;}}z");
        assert_eq!(c.args, vec![json!(["same", "same", [1, 2], [1, 2]])]);
        assert_eq!(parse_request(b"z").unwrap(), Request::FunctionList);
    }

    #[test]
    fn replies_encode_as_clients_expect() {
        assert_eq!(reply(&[(Ok(json!("Hello world!")), None)]), b"Rs12\"Hello world!\"z");
        assert_eq!(reply(&[(Ok(json!(3)), Some(vec![json!([1, 2, 3])]))]), b"R3Aa1{a3{123}}z");
        assert_eq!(reply(&[(Err("boom".into()), None), (Ok(json!(null)), None)]), b"Es4\"boom\"Rnz");
        let mut out = Vec::new();
        write(&mut out, &json!(["😀x", "é", -128, 2147483648i64, 0.5, {"k": []}]));
        assert_eq!(out, "a6{s3\"😀x\"uéi-128;l2147483648;d0.5;m1{uka{}}}".as_bytes());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for bad in [
            &b""[..],
            b"x",
            b"C",
            b"Cs9\"short\"z",
            b"Cs1\"x\"a99999999{}z",
            b"Cs1\"x\"a1{r5;}z",
            b"Cs1\"x\"a1{o3{}}z",
            b"Cs1\"x\"a1{D2020;}z",
        ] {
            assert!(parse_request(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = format!("Cs1\"x\"{}{}z", "a1{".repeat(100), "}".repeat(100));
        assert!(parse_request(deep.as_bytes()).is_err());
    }
}
