//! The MiMei file API's temp files carry a file of 1 GiB in chunks: written with `MFSetData`,
//! turned into content with `MFTemp2Ipfs` (the CID real kubo gives the same bytes) and read back
//! with `MFGetData` in pieces, while the node's memory stays far below the file's size.

use crate::harness::{api, sha256_hex, Node};
use crate::ipfs_peers::{KuboOpts, KuboPeer};
use std::io::Write;

const CHUNK: usize = 512 << 10;
const CHUNKS: usize = 2048;

/// Chunk `i`: printable bytes (they travel as JSON strings), different in every chunk.
fn chunk(i: usize) -> Vec<u8> {
    (0..CHUNK).map(|j| b'a' + ((i * 31 + j * 7 + j / 4096) % 26) as u8).collect()
}

fn result(r: (u16, String)) -> serde_json::Value {
    assert_eq!(r.0, 200, "{}", r.1);
    serde_json::from_str::<serde_json::Value>(&r.1).unwrap()["result"].clone()
}

#[test]
fn a_1_gib_temp_file_goes_through_in_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::start();
    let token = n.token();
    let call = |m: &str, args: String| result(api(&n.addr(), m, &args, Some(&token)));
    // The same bytes on disk, for kubo.
    let path = dir.path().join("big");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let fsid = call("MFOpenTempFile", "[]".into());
    let fsid = fsid.as_str().unwrap().to_string();
    let mut peak = 0;
    for i in 0..CHUNKS {
        let c = chunk(i);
        f.write_all(&c).unwrap();
        let text = String::from_utf8(c).unwrap();
        let n_written = call("MFSetData", format!(r#"["{fsid}", "{text}", -1]"#));
        assert_eq!(n_written, CHUNK as u64);
        peak = peak.max(n.rss_anon_kib());
    }
    f.flush().unwrap();
    drop(f);
    assert_eq!(call("MFGetSize", format!(r#"["{fsid}"]"#)), (CHUNK * CHUNKS) as u64);
    let cid = call("MFTemp2Ipfs", format!(r#"["{fsid}", ""]"#)).as_str().unwrap().to_string();
    peak = peak.max(n.rss_anon_kib());
    let k = KuboPeer::start(&dir.path().join("kubo"), KuboOpts::default());
    assert_eq!(cid, k.add(&path).unwrap(), "the CID kubo gives the same bytes");
    // Read back in 64 MiB pieces through an fsid on the content.
    let open = call("MMOpenUrl", format!(r#"["ipfs://{cid}"]"#)).as_str().unwrap().to_string();
    let piece = 64u64 << 20;
    let mut whole = sha2_state();
    for p in 0..(CHUNK * CHUNKS) as u64 / piece {
        let v = call("MFGetData", format!(r#"["{open}", {}, {piece}]"#, p * piece));
        let bytes = v.as_str().unwrap().as_bytes();
        assert_eq!(bytes.len() as u64, piece);
        whole.extend_from_slice(&sha_of(bytes));
        peak = peak.max(n.rss_anon_kib());
    }
    let mut want = Vec::new();
    let mut file = std::fs::File::open(&path).unwrap();
    let mut buf = vec![0u8; piece as usize];
    while let Ok(()) = std::io::Read::read_exact(&mut file, &mut buf) {
        want.extend_from_slice(&sha_of(&buf));
    }
    assert!(whole == want, "every piece reads back byte-identical");
    let (status, body) = api(&n.addr(), "MFGetData", &format!(r#"["{open}", 0, -1]"#), Some(&token));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("returns at most 67108864 bytes at once"), "{body}");
    // The node held pieces, never the file: its heap stayed well under a quarter of it.
    assert!(peak < 256 * 1024, "peak heap {peak} KiB for a 1 GiB file");
}

fn sha2_state() -> Vec<u8> {
    Vec::new()
}

fn sha_of(b: &[u8]) -> Vec<u8> {
    sha256_hex(b).into_bytes()
}
