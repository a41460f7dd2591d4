//! Content types from the file name, or by sniffing the first bytes.

pub fn from_name(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "pdf" => "application/pdf",
        "wasm" => "application/wasm",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "xml" => "application/xml",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "woff2" => "font/woff2",
        _ => return None,
    })
}

/// Sniffs the first bytes of a file (a small subset of the WHATWG algorithm).
pub fn sniff(head: &[u8]) -> &'static str {
    let magic: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"%PDF-", "application/pdf"),
        (b"\x1f\x8b", "application/gzip"),
        (b"PK\x03\x04", "application/zip"),
        (b"\0asm", "application/wasm"),
    ];
    for (m, t) in magic {
        if head.starts_with(m) {
            return t;
        }
    }
    let trimmed: Vec<u8> =
        head.iter().skip_while(|b| b.is_ascii_whitespace()).take(16).map(u8::to_ascii_lowercase).collect();
    if trimmed.starts_with(b"<!doctype html") || trimmed.starts_with(b"<html") {
        return "text/html; charset=utf-8";
    }
    if trimmed.starts_with(b"<svg") {
        return "image/svg+xml";
    }
    let text = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut at the end of the sniff window is still text.
        Err(e) => e.error_len().is_none(),
    };
    if text && !head.iter().any(|&b| b < 0x09 || (0x0e..0x20).contains(&b) && b != 0x1b) {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_sniffing() {
        assert_eq!(from_name("a/b/index.HTML"), Some("text/html; charset=utf-8"));
        assert_eq!(from_name("noext"), None);
        assert_eq!(sniff(b"hello world\n"), "text/plain; charset=utf-8");
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), "image/png");
        assert_eq!(sniff(&[0, 1, 2, 3]), "application/octet-stream");
        assert_eq!(sniff(b"  <!DOCTYPE html><p>"), "text/html; charset=utf-8");
    }
}
