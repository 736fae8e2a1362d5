//! The development outbox, read as a mail client would.

use std::path::Path;

/// The claim link of the single message in `dir`.
pub fn only_claim_link(dir: &Path) -> String {
    let mails: Vec<_> = std::fs::read_dir(dir)
        .expect("outbox exists")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(mails.len(), 1, "exactly one mail: {mails:?}");
    let text = unfold_quoted_printable(&std::fs::read_to_string(&mails[0]).expect("readable"));
    let start = text.find("http").expect("a link in the mail");
    text[start..].split_whitespace().next().expect("link").to_owned()
}

/// The sign-in code in the newest message in `dir`.
pub fn latest_sign_in_code(dir: &Path) -> String {
    let mut mails: Vec<_> = std::fs::read_dir(dir)
        .expect("outbox exists")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "eml"))
        .collect();
    mails.sort();
    let text = unfold_quoted_printable(&std::fs::read_to_string(mails.last().expect("a mail")).expect("readable"));
    let after = &text[text.find("is:").expect("the code line")..];
    after
        .split_whitespace()
        .find(|word| word.len() == 6 && word.bytes().all(|b| b.is_ascii_digit()))
        .expect("a 6-digit code")
        .to_owned()
}

/// Undoes quoted-printable soft breaks and `=XX` escapes (RFC 2045 §6.7).
fn unfold_quoted_printable(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let mut out = Vec::with_capacity(joined.len());
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'=')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
