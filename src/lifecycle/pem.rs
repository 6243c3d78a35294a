//! PEM blocks as secrets arrive in text: with real newlines, JSON `\n` or `\\n` escapes,
//! YAML indentation, `\/` escaped slashes, or the whole block base64-encoded once more
//! (`LS0tLS1CRUdJTi…`, Kubernetes `tls.key`, kubeconfig `client-key-data`).

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Padding optional and trailing bits tolerated: hand-wrapped bodies lose their `=` often.
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
pub(super) const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
pub(super) const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// base64("-----BEGIN")
const WRAPPED_PREFIX: &[u8] = b"LS0tLS1CRUdJTi";

/// Secrets larger than this are not decoded (the rules' windows are 16 KiB; this only
/// keeps a user rule that captures a whole file cheap).
const MAX_LEN: usize = 1 << 20;

/// One decoded PEM block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pem {
    /// `CERTIFICATE`, `RSA PRIVATE KEY`, …
    pub label: String,
    /// RFC 1421 / OpenPGP armor headers (`Proc-Type`, `DEK-Info`, `Version`).
    pub headers: Vec<(String, String)>,
    /// The body's base64 with layout removed; kept for formats whose first bytes can be
    /// read even when the rest is damaged (OpenSSH).
    pub body: String,
    /// The decoded body, when it was valid base64.
    pub der: Option<Vec<u8>>,
}

impl Pem {
    pub fn is_certificate(&self) -> bool {
        matches!(
            self.label.as_str(),
            "CERTIFICATE" | "TRUSTED CERTIFICATE" | "X509 CERTIFICATE"
        )
    }

    pub fn is_private_key(&self) -> bool {
        self.label.ends_with("PRIVATE KEY") || self.label == "PGP PRIVATE KEY BLOCK"
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The first PEM block of `text`, unwrapping one layer of base64 first when the text is a
/// base64-encoded PEM. None when there is no `-----BEGIN <label>-----`.
pub(super) fn decode(text: &[u8]) -> Option<Pem> {
    if text.len() > MAX_LEN {
        return None;
    }
    if text.starts_with(WRAPPED_PREFIX) {
        let unwrapped = unwrap_base64(text)?;
        return parse(&unwrapped);
    }
    memchr::memmem::find(text, b"-----BEGIN ")?;
    parse(text)
}

/// Decodes base64 that may be wrapped across lines with newlines, `\n` escapes and
/// indentation, ignoring what follows its last base64 character.
fn unwrap_base64(text: &[u8]) -> Option<Vec<u8>> {
    let flat: Vec<u8> = unescape_layout(text)
        .into_iter()
        .filter(|b| !b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        .collect();
    STANDARD.decode(flat).ok()
}

/// Turns layout escapes into layout: a run of backslashes before `n` or `r` becomes a
/// newline (`\n` in JSON, `\\n` in JSON inside JSON), before `t` a space, before `/` the
/// slash (JSON may escape it); other backslashes are dropped.
pub(super) fn unescape_layout(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        if b != b'\\' {
            out.push(if b == b'\r' { b'\n' } else { b });
            i += 1;
            continue;
        }
        let mut j = i;
        while text.get(j) == Some(&b'\\') {
            j += 1;
        }
        match text.get(j) {
            Some(b'n' | b'r') => {
                out.push(b'\n');
                j += 1;
            }
            Some(b't') => {
                out.push(b' ');
                j += 1;
            }
            Some(b'/') => {
                out.push(b'/');
                j += 1;
            }
            _ => {}
        }
        i = j;
    }
    out
}

fn parse(text: &[u8]) -> Option<Pem> {
    let begin = memchr::memmem::find(text, b"-----BEGIN ")? + b"-----BEGIN ".len();
    let rest = text.get(begin..)?;
    let label_len = memchr::memmem::find(rest.get(..rest.len().min(80))?, b"-----")?;
    let label = std::str::from_utf8(rest.get(..label_len)?).ok()?;
    if label.is_empty()
        || !label
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ')
    {
        return None;
    }
    let after = rest.get(label_len + 5..)?;
    let body = match memchr::memmem::find(after, b"-----END") {
        Some(end) => after.get(..end)?,
        None => after,
    };

    let mut headers = Vec::new();
    let mut base64 = String::new();
    let mut valid = true;
    for line in unescape_layout(body).split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = String::from_utf8_lossy(line.get(..colon).unwrap_or_default());
            let value = String::from_utf8_lossy(line.get(colon + 1..).unwrap_or_default());
            headers.push((name.trim().to_string(), value.trim().to_string()));
            continue;
        }
        // The OpenPGP armor checksum (`=abcd`); base64 never starts a line with `=`.
        if line.first() == Some(&b'=') {
            continue;
        }
        for &b in line {
            if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=') {
                base64.push(char::from(b));
            } else if !b.is_ascii_whitespace() && b != b'"' {
                valid = false;
            }
        }
    }
    let der = if valid && !base64.is_empty() {
        STANDARD.decode(&base64).ok()
    } else {
        None
    };
    Some(Pem {
        label: label.to_string(),
        headers,
        body: base64,
        der,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "-----BEGIN TEST BLOCK-----\nAQIDBAUG\nBwg=\n-----END TEST BLOCK-----\n";

    #[test]
    fn plain_escaped_indented_and_wrapped_blocks_decode_alike() {
        let expected = Some(vec![1, 2, 3, 4, 5, 6, 7, 8]);
        let plain = decode(BODY.as_bytes()).unwrap();
        assert_eq!(plain.label, "TEST BLOCK");
        assert_eq!(plain.der, expected);

        let json = BODY.replace('\n', "\\n");
        assert_eq!(decode(json.as_bytes()).unwrap().der, expected);
        let json_in_json = BODY.replace('\n', "\\\\n");
        assert_eq!(decode(json_in_json.as_bytes()).unwrap().der, expected);
        let crlf = BODY.replace('\n', "\r\n");
        assert_eq!(decode(crlf.as_bytes()).unwrap().der, expected);
        let yaml = BODY.replace('\n', "\n    ");
        assert_eq!(decode(yaml.as_bytes()).unwrap().der, expected);

        let wrapped = STANDARD.encode(BODY);
        assert!(wrapped.starts_with("LS0tLS1CRUdJTi"));
        assert_eq!(decode(wrapped.as_bytes()).unwrap().der, expected);
        let folded: String = wrapped
            .as_bytes()
            .chunks(16)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\\n  ");
        assert_eq!(decode(folded.as_bytes()).unwrap().der, expected);
    }

    #[test]
    fn headers_are_read_and_bad_bodies_leave_der_unset() {
        let text = "-----BEGIN RSA PRIVATE KEY-----\\nProc-Type: 4,ENCRYPTED\\nDEK-Info: AES-128-CBC,00FF\\n\\n<redacted>\\n-----END RSA PRIVATE KEY-----";
        let pem = decode(text.as_bytes()).unwrap();
        assert_eq!(pem.header("proc-type"), Some("4,ENCRYPTED"));
        assert_eq!(pem.header("DEK-Info"), Some("AES-128-CBC,00FF"));
        assert_eq!(pem.der, None);
        assert!(pem.is_private_key());
        assert!(decode(b"no block here").is_none());
        assert!(decode(b"-----BEGIN lower-----").is_none());
    }

    #[test]
    fn escaped_slashes_are_slashes() {
        assert_eq!(unescape_layout(b"a\\/b\\\\nc\\td"), b"a/b\nc d");
    }
}
