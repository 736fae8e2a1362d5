//! Reading the development outbox the way a mail client would: each `.eml` decoded
//! enough to find the claim link.

use std::path::Path;

/// Every message in the outbox, oldest first, with its body decoded.
pub fn messages(dir: &Path) -> Vec<String> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.expect("dir entry").path()).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|e| e == "eml"));
    paths.sort();
    paths
        .iter()
        .map(|p| decode(&std::fs::read_to_string(p).expect("readable .eml")))
        .collect()
}

/// The claim link in a message.
pub fn claim_link(message: &str) -> String {
    let start = message.find("http").expect("a link in the message");
    message[start..]
        .split_whitespace()
        .next()
        .expect("link text")
        .to_owned()
}

/// Undoes quoted-printable soft breaks and escapes (RFC 2045 §6.7), which leave plain
/// text untouched.
fn decode(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
