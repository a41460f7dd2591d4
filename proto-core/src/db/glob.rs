//! Glob patterns as Redis's KEYS, SCAN MATCH and friends read them: `*`, `?`, `[abc]`, `[^a-z]`,
//! and `\` to escape.

pub fn matches(pat: &[u8], s: &[u8]) -> bool {
    glob(pat, s, 0)
}

fn glob(mut p: &[u8], mut s: &[u8], depth: u32) -> bool {
    // Bound recursion on hostile patterns like "*a*a*a*…".
    if depth > 1000 {
        return false;
    }
    while let Some(&c) = p.first() {
        match c {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for i in 0..=s.len() {
                    if glob(&p[1..], &s[i..], depth + 1) {
                        return true;
                    }
                }
                return false;
            }
            b'?' => {
                if s.is_empty() {
                    return false;
                }
                s = &s[1..];
            }
            b'[' => {
                let Some(&ch) = s.first() else { return false };
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut hit = false;
                loop {
                    match p.first() {
                        None => break,
                        Some(b']') => break,
                        Some(b'\\') if p.len() >= 2 => {
                            p = &p[1..];
                            hit |= p[0] == ch;
                        }
                        Some(&a) if p.len() >= 3 && p[1] == b'-' => {
                            let (lo, hi) = if a <= p[2] { (a, p[2]) } else { (p[2], a) };
                            hit |= (lo..=hi).contains(&ch);
                            p = &p[2..];
                        }
                        Some(&a) => hit |= a == ch,
                    }
                    p = &p[1..];
                }
                if hit == not {
                    return false;
                }
                s = &s[1..];
                if p.is_empty() {
                    // An unterminated class ends the pattern, as in Redis.
                    return s.is_empty();
                }
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if s.first() != Some(&p[0]) {
                    return false;
                }
                s = &s[1..];
            }
            _ => {
                if s.first() != Some(&c) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
    }
    s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn patterns() {
        let yes: &[(&str, &str)] = &[
            ("*", ""),
            ("*", "abc"),
            ("a?c", "abc"),
            ("h[ae]llo", "hallo"),
            ("h[^e]llo", "hallo"),
            ("h[a-b]llo", "hbllo"),
            ("a\\*", "a*"),
            ("*b*", "abc"),
            ("user:*", "user:1"),
        ];
        let no: &[(&str, &str)] = &[
            ("a?c", "ac"),
            ("h[ae]llo", "hillo"),
            ("h[^e]llo", "hello"),
            ("a\\*", "ab"),
            ("user:*", "use"),
            ("abc", "abcd"),
        ];
        for (p, s) in yes {
            assert!(matches(p.as_bytes(), s.as_bytes()), "{p} {s}");
        }
        for (p, s) in no {
            assert!(!matches(p.as_bytes(), s.as_bytes()), "{p} {s}");
        }
    }
}
