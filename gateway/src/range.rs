//! The HTTP `Range` header: one `bytes=` range (RFC 9110 §14). Several ranges are answered with
//! the whole body, which the spec allows.

#[derive(Debug, PartialEq, Eq)]
pub enum RangeReq {
    /// No usable range: serve everything.
    Full,
    /// Serve `[start, end)`.
    Part(u64, u64),
    /// Syntactically fine but outside the file: 416.
    Unsatisfiable,
}

pub fn parse(header: Option<&str>, size: u64) -> RangeReq {
    let Some(h) = header else {
        return RangeReq::Full;
    };
    let Some(spec) = h.trim().strip_prefix("bytes=") else {
        return RangeReq::Full;
    };
    if spec.contains(',') {
        return RangeReq::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeReq::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        // Suffix range: the last n bytes.
        let Ok(n) = b.parse::<u64>() else {
            return RangeReq::Full;
        };
        if n == 0 || size == 0 {
            return RangeReq::Unsatisfiable;
        }
        return RangeReq::Part(size.saturating_sub(n), size);
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangeReq::Full;
    };
    let end = if b.is_empty() {
        size
    } else {
        match b.parse::<u64>() {
            Ok(last) if last >= start => last.saturating_add(1).min(size),
            _ => return RangeReq::Full,
        }
    };
    if start >= size {
        return RangeReq::Unsatisfiable;
    }
    RangeReq::Part(start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse(None, 10), RangeReq::Full);
        assert_eq!(parse(Some("bytes=0-0"), 10), RangeReq::Part(0, 1));
        assert_eq!(parse(Some("bytes=2-"), 10), RangeReq::Part(2, 10));
        assert_eq!(parse(Some("bytes=-3"), 10), RangeReq::Part(7, 10));
        assert_eq!(parse(Some("bytes=5-100"), 10), RangeReq::Part(5, 10));
        assert_eq!(parse(Some("bytes=10-"), 10), RangeReq::Unsatisfiable);
        assert_eq!(parse(Some("bytes=0-1,3-4"), 10), RangeReq::Full);
        assert_eq!(parse(Some("items=0-1"), 10), RangeReq::Full);
        assert_eq!(parse(Some("bytes=5-2"), 10), RangeReq::Full);
    }
}
