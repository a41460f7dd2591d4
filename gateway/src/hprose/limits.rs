//! The budget of one hprose request: how many bytes its decoded values may hold and how deeply
//! they may nest. References (`r<n>;`) copy what they point at, so each counts the full size of
//! its copy: a small body cannot decode into a large tree.

use serde_json::Value;

/// What one value node costs besides its text: about the size of a `serde_json::Value` (and of a
/// map entry's key string) on a 64-bit target.
pub const NODE_COST: usize = 32;

/// Deepest nesting accepted by default.
pub const MAX_DEPTH: usize = 64;

/// Most bytes one request may decode to by default.
pub const MAX_DECODED: usize = 32 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HproseLimits {
    /// Most bytes the decoded values of one request may hold, as [`decoded_size`] counts them
    /// (references count their copies).
    pub max_decoded: usize,
    /// Deepest nesting of lists, maps and objects, references included.
    pub max_depth: usize,
}

impl Default for HproseLimits {
    fn default() -> Self {
        HproseLimits { max_decoded: MAX_DECODED, max_depth: MAX_DEPTH }
    }
}

/// The bytes a decoded value holds, as the budget counts them: [`NODE_COST`] per value and per
/// map key, plus the text of strings and keys. The reader charges at least this much for every
/// value it returns.
pub fn decoded_size(v: &Value) -> usize {
    NODE_COST
        + match v {
            Value::String(s) => s.len(),
            Value::Array(a) => a.iter().map(decoded_size).sum(),
            Value::Object(m) => m.iter().map(|(k, v)| NODE_COST + k.len() + decoded_size(v)).sum(),
            Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        }
}

/// The one-line refusal when a request would cross `max_decoded`.
pub(crate) fn too_big(max_decoded: usize) -> String {
    format!("the request decodes to more than {max_decoded} bytes (hprose references count their copies)")
}

#[cfg(test)]
mod tests {
    use super::super::{parse_request, parse_request_with, Request};
    use super::*;
    use serde_json::json;
    use std::time::{Duration, Instant};

    /// `Cs2"Id"a<N+1>{s<L>"aaa…"r1;r1;…}z`: one string of L bytes and N references to it.
    fn reference_bomb(l: usize, n: usize) -> Vec<u8> {
        let mut b = format!("Cs2\"Id\"a{}{{s{l}\"", n + 1).into_bytes();
        b.resize(b.len() + l, b'a');
        b.push(b'"');
        for _ in 0..n {
            b.extend_from_slice(b"r1;");
        }
        b.extend_from_slice(b"}z");
        b
    }

    fn args(body: &[u8], limits: &HproseLimits) -> Result<Vec<Value>, String> {
        match parse_request_with(body, limits) {
            Ok(Request::Calls(mut c)) => Ok(c.remove(0).args),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e.0),
        }
    }

    #[test]
    fn reference_bombs_are_refused_at_once() {
        let refusal = "the request decodes to more than 33554432 bytes (hprose references count their copies)";
        // 8 MB + 1,000,000 references (issue 15's reproduction: 11 MB that decoded to terabytes).
        for (l, n) in [(8_000_000, 1_000_000), (1_000_000, 300)] {
            let body = reference_bomb(l, n);
            let t = Instant::now();
            let e = parse_request(&body).unwrap_err();
            let took = t.elapsed();
            assert_eq!(e.0, refusal, "L={l} N={n}");
            assert!(took < Duration::from_millis(500), "L={l} N={n} took {took:?}");
        }
    }

    #[test]
    fn references_within_the_budget_decode() {
        // 1 KB copied 100 times: 100 KB, far below 32 MiB.
        let got = args(&reference_bomb(1000, 100), &HproseLimits::default()).unwrap();
        assert_eq!(got.len(), 101);
        assert!(got.iter().all(|v| *v == json!("a".repeat(1000))));
        // The same under a 64 KiB budget: the copies do not fit.
        let small = HproseLimits { max_decoded: 64 << 10, ..Default::default() };
        assert!(args(&reference_bomb(1000, 100), &small).unwrap_err().contains("more than 65536 bytes"));
        // Without references it fits: 101 strings of 100 bytes.
        assert_eq!(args(&reference_bomb(100, 100), &small).unwrap().len(), 101);
    }

    #[test]
    fn one_large_string_counts_once() {
        // A 16 MiB string (the HTTP body cap) is charged once, not once per enclosing slot.
        let l = 16 << 20;
        let mut body = format!("Cs4\"echo\"a1{{a1{{s{l}\"").into_bytes();
        body.resize(body.len() + l, b'x');
        body.extend_from_slice(b"\"}}z");
        let got = args(&body, &HproseLimits::default()).unwrap();
        assert_eq!(got[0][0].as_str().map(str::len), Some(l));
        let tight = HproseLimits { max_decoded: l + 5 * NODE_COST, ..Default::default() };
        assert!(args(&body, &tight).is_ok());
        let tighter = HproseLimits { max_decoded: l, ..Default::default() };
        assert!(args(&body, &tighter).is_err());
    }

    #[test]
    fn bytes_that_become_numbers_count_each_number() {
        // 1 MiB of non-UTF-8 bytes decodes to a list of 1 Mi numbers: 32 MiB of nodes.
        let n = 1 << 20;
        let mut body = format!("Cs4\"echo\"a1{{b{n}\"").into_bytes();
        body.resize(body.len() + n, 0xff);
        body.extend_from_slice(b"\"}z");
        assert!(args(&body, &HproseLimits::default()).unwrap_err().contains("more than"));
        let roomy = HproseLimits { max_decoded: 40 << 20, ..Default::default() };
        assert_eq!(args(&body, &roomy).unwrap()[0].as_array().map(Vec::len), Some(n));
    }

    #[test]
    fn map_keys_and_class_fields_count() {
        // A list used as a map key becomes its JSON text; copying it by reference is charged too.
        let small = HproseLimits { max_decoded: 4096, ..Default::default() };
        let key = format!("a100{{{}}}", "1".repeat(100));
        let body = format!("Cs1\"x\"a2{{{key}m1{{r1;n}}}}z");
        assert!(args(body.as_bytes(), &small).unwrap_err().contains("more than 4096"));
        let roomy = HproseLimits { max_decoded: 16384, ..Default::default() };
        let got = args(body.as_bytes(), &roomy).unwrap();
        let text = format!("[{}]", vec!["1"; 100].join(","));
        assert_eq!(got[1], json!({ text: null }));
        // A class with a 2000-byte field name: every object repeats the key.
        let body = format!("Cs1\"x\"a3{{c1\"P\"1{{s2000\"{}\"}}o0{{1}}o0{{2}}o0{{3}}}}z", "k".repeat(2000));
        assert!(args(body.as_bytes(), &small).unwrap_err().contains("more than 4096"));
        assert_eq!(args(body.as_bytes(), &roomy).unwrap().len(), 3);
    }

    #[test]
    fn depth_counts_through_references() {
        let limits = HproseLimits { max_depth: 3, ..Default::default() };
        assert!(args(b"Cs1\"x\"a1{a1{a1{1}}}z", &limits).is_ok());
        assert_eq!(args(b"Cs1\"x\"a1{a1{a1{a1{1}}}}z", &limits).unwrap_err(), "nested too deeply");
        // Slot 1 is two deep; referenced two levels down it makes four.
        assert_eq!(args(b"Cs1\"x\"a2{a1{a{}}a1{r1;}}z", &limits).unwrap_err(), "nested too deeply");
        assert_eq!(args(b"Cs1\"x\"a2{a1{a{}}r1;}z", &limits).unwrap(), vec![json!([[]]), json!([[]])]);
    }

    #[test]
    fn a_reference_to_an_open_container_is_null() {
        let got = args(b"Cs1\"x\"a2{a2{1r1;}r1;}z", &HproseLimits::default()).unwrap();
        assert_eq!(got, vec![json!([1, null]), json!([1, null])]);
    }

    #[test]
    fn what_is_charged_covers_what_is_returned() {
        let body = b"Cs4\"echo\"a4{s3\"abc\"m2{ukr1;s1\"n\"a2{tD20200102;}}c1\"P\"2{s1\"x\"s1\"y\"}o0{r1;1}r2;}z";
        let mut r = super::super::Reader::new(body);
        assert_eq!(r.byte().unwrap(), b'C');
        let name = r.value().unwrap();
        r.reset();
        let a = r.value().unwrap();
        assert_eq!(
            a,
            json!(["abc", {"k": "abc", "n": [true, "2020-01-02"]}, {"x": "abc", "y": 1},
            {"k": "abc", "n": [true, "2020-01-02"]}])
        );
        assert!(r.decoded() >= decoded_size(&name) + decoded_size(&a), "{} charged", r.decoded());
    }

    #[test]
    fn sizes_count_nodes_and_text() {
        assert_eq!(decoded_size(&json!(null)), 32);
        assert_eq!(decoded_size(&json!("abcd")), 36);
        assert_eq!(decoded_size(&json!([1, "ab"])), 32 + 32 + 34);
        assert_eq!(decoded_size(&json!({"k": [true]})), 32 + (32 + 1) + (32 + 32));
    }
}
