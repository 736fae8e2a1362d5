//! Just enough RFC 5322 / 2045 reading to check what the transports wrote.

/// A parsed message: unfolded headers and the body decoded per Content-Transfer-Encoding.
pub struct Parsed {
    headers: Vec<(String, String)>,
    pub body: String,
}

impl Parsed {
    pub fn new(raw: &str) -> Self {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").expect("a blank line ends the headers");
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            match (line.starts_with([' ', '\t']), headers.last_mut()) {
                (true, Some((_, value))) => value.push_str(line),
                _ => {
                    let (name, value) = line.split_once(':').expect("a header line");
                    headers.push((name.to_owned(), value.trim().to_owned()));
                }
            }
        }
        let parsed = Self {
            headers,
            body: String::new(),
        };
        let body = match parsed.header("Content-Transfer-Encoding").as_deref() {
            Some("7bit") => body.to_owned(),
            Some("quoted-printable") => decode_quoted_printable(body),
            other => panic!("unexpected transfer encoding {other:?}"),
        };
        Self { body, ..parsed }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

/// RFC 2045 §6.7, enough for ASCII text: soft line breaks and `=XX` escapes.
fn decode_quoted_printable(body: &str) -> String {
    let joined = body.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii escape");
            out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf-8 body")
}
