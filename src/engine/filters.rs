//! Checks a candidate secret must pass after its regex matched: entropy, format validators,
//! and placeholder lists. Pure functions on bytes, so they are cheap to test and to fuzz.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::rules::FormatCheck;

/// Shannon entropy in bits per byte.
pub fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let len = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

pub fn check_format(check: FormatCheck, secret: &[u8]) -> bool {
    match check {
        FormatCheck::Crc32Base62 => crc32_base62(secret),
        FormatCheck::Jwt => jwt(secret),
        FormatCheck::Base64 => decode_base64_loose(secret).is_some_and(|d| !d.is_empty()),
        FormatCheck::Pem => pem(secret),
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// GitHub and npm tokens end in 6 base62 digits of the CRC32 of the random part between the
/// `prefix_` and the checksum. Decoding and comparing integers (not strings) keeps leading
/// zeros from mattering.
fn crc32_base62(secret: &[u8]) -> bool {
    let Some(underscore) = secret.iter().position(|&b| b == b'_') else {
        return false;
    };
    let rest = &secret[underscore + 1..];
    if rest.len() < 7 {
        return false;
    }
    let (body, check) = rest.split_at(rest.len() - 6);
    let mut value: u64 = 0;
    for &c in check {
        let Some(digit) = BASE62.iter().position(|&d| d == c) else {
            return false;
        };
        value = value * 62 + digit as u64;
    }
    value == u64::from(crc32fast::hash(body))
}

fn lenient(alphabet: &base64::alphabet::Alphabet) -> GeneralPurpose {
    GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    )
}

/// Decodes standard or URL-safe base64, padded or not, ignoring whitespace and the two-byte
/// escapes `\n` and `\r` that JSON strings put inside PEM bodies.
pub fn decode_base64_loose(text: &[u8]) -> Option<Vec<u8>> {
    let mut clean = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if b == b'\\' && matches!(text.get(i + 1), Some(b'n' | b'r')) {
            i += 2;
            continue;
        }
        if !b.is_ascii_whitespace() {
            clean.push(b);
        }
        i += 1;
    }
    if clean.is_empty() {
        return None;
    }
    lenient(&base64::alphabet::STANDARD)
        .decode(&clean)
        .or_else(|_| lenient(&base64::alphabet::URL_SAFE).decode(&clean))
        .ok()
}

fn jwt(secret: &[u8]) -> bool {
    let mut parts = secret.split(|&b| b == b'.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
        return false;
    };
    let object = |part: &[u8]| -> Option<serde_json::Map<String, serde_json::Value>> {
        let bytes = lenient(&base64::alphabet::URL_SAFE).decode(part).ok()?;
        match serde_json::from_slice(&bytes).ok()? {
            serde_json::Value::Object(map) => Some(map),
            _ => None,
        }
    };
    matches!(object(header), Some(h) if h.contains_key("alg")) && object(payload).is_some()
}

/// Bytes of key material a PEM body must decode to; documentation snippets with `...` or a
/// short line of base64 do not reach it.
const PEM_MIN_DECODED: usize = 64;

fn pem(secret: &[u8]) -> bool {
    // Lines may be real newlines or `\n` escapes inside a JSON/YAML string, or the whole
    // block may sit on one line (an environment variable): cut the armour lines out by their
    // dashes, not by line.
    let text = String::from_utf8_lossy(secret)
        .replace("\\r", "")
        .replace("\\n", "\n");
    let Some(begin) = text.find("-----BEGIN") else {
        return false;
    };
    let after_begin = &text[begin + "-----BEGIN".len()..];
    let Some(label_end) = after_begin.find("-----") else {
        return false;
    };
    let body = &after_begin[label_end + "-----".len()..];
    let body = body.find("-----END").map_or(body, |end| &body[..end]);
    let mut base64 = String::new();
    for line in body.lines().map(str::trim) {
        // RFC 1421 headers (Proc-Type, DEK-Info, Version) and the PGP CRC line.
        if line.contains(':') || line.starts_with('=') {
            continue;
        }
        base64.push_str(line);
    }
    decode_base64_loose(base64.as_bytes()).is_some_and(|d| d.len() >= PEM_MIN_DECODED)
}

/// Substrings (compared in ASCII lowercase) that mark a value as a stand-in, not a credential.
/// A random 20+ character token contains none of them by chance.
const PLACEHOLDER_MARKERS: &[&str] = &[
    "example",
    "xxxxx",
    "placeholder",
    "dummy",
    "sample",
    "redacted",
    "changeme",
    "change_me",
    "change-me",
    "your_",
    "your-",
    "yourapikey",
    "yourtoken",
    "yoursecret",
    "insert_",
    "insert-",
    "replace_me",
    "replaceme",
    "*****",
    ".....",
    "${",
    "{{",
    "%(",
    "$(",
];

/// True when the secret is evidently not a real credential.
pub fn is_placeholder(secret: &[u8]) -> bool {
    placeholder_marker(secret).is_some()
}

/// What marks the secret as a stand-in (`example`, `${`, `<…>`, one repeated byte), looked
/// for in its own material only: the armour and header lines of a key file (a PuTTY key's
/// `Comment: dummy-key`) say nothing about the key.
pub fn placeholder_marker(secret: &[u8]) -> Option<&'static str> {
    let material = key_material(secret);
    let lower = material.to_ascii_lowercase();
    if let Some(marker) = PLACEHOLDER_MARKERS
        .iter()
        .find(|m| memchr::memmem::find(&lower, m.as_bytes()).is_some())
    {
        return Some(marker);
    }
    // `<token>`, `<your key here>`
    if lower.first() == Some(&b'<') && lower.last() == Some(&b'>') {
        return Some("<…>");
    }
    // One repeated byte (`aaaaaaaa`, `00000000`).
    lower
        .windows(2)
        .all(|w| w[0] == w[1])
        .then_some("one repeated character")
}

/// What marks a value in a credential field of a known file format as not a credential
/// of its own: a reference to another value (`${DB_PASS}`, `{{ vault.pw }}`, `%(pw)s`,
/// `<password>`) or a mask (`*****`, `xxxxx`, `your_password`). Unlike
/// [`placeholder_marker`], words such as `example` or `changeme` do not count: in `.netrc`
/// or `.pgpass` they are the password, and a weak one.
pub fn reference_marker(secret: &[u8]) -> Option<&'static str> {
    const MARKERS: &[&str] = &[
        "${",
        "{{",
        "%(",
        "$(",
        "*****",
        ".....",
        "xxxxx",
        "your_",
        "your-",
        "redacted",
        "placeholder",
    ];
    let lower = secret.trim_ascii().to_ascii_lowercase();
    if let Some(marker) = MARKERS
        .iter()
        .find(|m| memchr::memmem::find(&lower, m.as_bytes()).is_some())
    {
        return Some(marker);
    }
    if lower.first() == Some(&b'<') && lower.last() == Some(&b'>') {
        return Some("<…>");
    }
    // `$DB_PASSWORD`, `%DB_PASSWORD%`: an environment variable named in its place.
    let is_name = |b: &[u8]| {
        !b.is_empty()
            && b.iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
    };
    match lower.first() {
        Some(b'$') if is_name(&secret.trim_ascii()[1..]) => Some("$VARIABLE"),
        Some(b'%')
            if secret.trim_ascii().len() > 2
                && secret.trim_ascii().ends_with(b"%")
                && is_name(&secret.trim_ascii()[1..secret.trim_ascii().len() - 1]) =>
        {
            Some("%VARIABLE%")
        }
        _ => None,
    }
}

/// The part of a secret that is its material: for a multi-line block (a PEM, OpenSSH or
/// PuTTY key, lines real or `\n`-escaped), the lines without a `:` header or `-----`
/// armour; anything else whole.
pub fn key_material(secret: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let multi_line =
        memchr::memchr(b'\n', secret).is_some() || memchr::memmem::find(secret, b"\\n").is_some();
    if !multi_line {
        return secret.into();
    }
    let text = String::from_utf8_lossy(secret)
        .replace("\\r", "")
        .replace("\\n", "\n");
    let mut material = Vec::with_capacity(text.len());
    for line in text.lines() {
        let line = line.trim();
        if line.contains(':') || line.starts_with("-----") {
            continue;
        }
        material.extend_from_slice(line.as_bytes());
        material.push(b'\n');
    }
    material.into()
}

/// Values that a generic rule (a password or token found by its key name) must not report:
/// references to other values, code, and words. Specific rules do not need this: their
/// format already says "credential".
pub fn is_generic_non_secret(secret: &[u8]) -> bool {
    generic_non_secret(secret).is_some()
}

/// Why a value found by its key name is not a credential, or `None` when it may be one.
pub fn generic_non_secret(secret: &[u8]) -> Option<&'static str> {
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "api_key",
        "null",
        "none",
        "true",
        "false",
        "undefined",
        "required",
        "optional",
        "string",
        "default",
        "bearer",
        "basic",
        "hidden",
        "unknown",
        "invalid",
        "missing",
        "empty",
        "value",
        "public",
        "private",
    ];
    // Words that name the thing instead of being it (`MyTestSecret-a1b2c3`,
    // `SensitiveString2048`, `bad-token-causes-400`) or mark documentation values.
    const MARKERS: &[&str] = &[
        "test",
        "secret",
        "passw",
        "token",
        "string",
        "sensitive",
        "example",
        "sample",
        "dummy",
        "fake",
        "mock",
        "foobar",
        "lorem",
        "...",
        ".*",
        ".+",
        "|",
    ];
    let lower = secret.to_ascii_lowercase();
    if WORDS.iter().any(|w| lower == w.as_bytes()) {
        return Some("a bare word (password, null, true…)");
    }
    if MARKERS
        .iter()
        .any(|m| memchr::memmem::find(&lower, m.as_bytes()).is_some())
    {
        return Some("a name or a documentation value (it says test, token, example…)");
    }
    if is_uuid(secret) {
        return Some("a UUID");
    }
    if is_hash_digest_or_password_hash(&lower) {
        return Some("a digest or a stored password hash");
    }
    if has_repeated_run(&lower) {
        return Some("a run typed twice, by a person");
    }
    if decodes_to_text(secret) {
        return Some("base64 of readable text");
    }
    // Interpolation, calls, indexing, templates, env references.
    if secret.iter().any(|b| {
        matches!(
            b,
            b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'<' | b'>' | b'\\' | b'`'
        )
    }) || matches!(
        secret.first(),
        Some(b'$' | b'%' | b'@' | b'&' | b'*' | b'#' | b'!' | b'.')
    ) {
        return Some("code or a reference to another value");
    }
    let has_digit = secret.iter().any(u8::is_ascii_digit);
    // Bytes of non-ASCII UTF-8 count as letters: `françois` is a word.
    let is_letter = |b: &u8| b.is_ascii_alphabetic() || *b >= 0x80;
    let has_alpha = secret.iter().any(is_letter);
    // Identifiers and words (`nextPageToken`, `SECRET_KEY_NAME`, `my-secret-name`): a credential
    // nearly always mixes letters with digits or symbols.
    let identifier_like = secret
        .iter()
        .all(|b| is_letter(b) || matches!(b, b'_' | b'-' | b'.' | b'/' | b':'));
    if identifier_like || !has_alpha {
        return Some("an identifier, a word or a number");
    }
    // Dotted or slashed paths (`config.db.password`, `/etc/ssl/key.pem`, `a/b/c`).
    let segments = secret
        .split(|&b| b == b'.' || b == b'/')
        .filter(|s| !s.is_empty())
        .count();
    if segments >= 3 || secret.contains(&b'/') && !has_digit {
        return Some("a path");
    }
    // Version strings, dates, hex colours: mostly digits with a few letters.
    let digits = secret.iter().filter(|b| b.is_ascii_digit()).count();
    if digits * 10 > secret.len() * 8 {
        return Some("mostly digits (a version, date or number)");
    }
    None
}

/// `550e8400-e29b-41d4-a716-446655440000`: ids, not credentials, when found by key name.
fn is_uuid(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// SHA-256/512 hex digests and stored password hashes (`pbkdf2_sha256$…`, `$2b$…`,
/// `$argon2id$…`): hashes, not the secret itself.
fn is_hash_digest_or_password_hash(lower: &[u8]) -> bool {
    let hex = lower.iter().all(u8::is_ascii_hexdigit);
    if hex && matches!(lower.len(), 64 | 128) {
        return true;
    }
    const HASH_PREFIXES: &[&str] = &[
        "pbkdf2", "$2a$", "$2b$", "$2y$", "$argon2", "$1$", "$5$", "$6$", "$apr1$", "sha1$",
        "md5$", "bcrypt", "scrypt",
    ];
    HASH_PREFIXES
        .iter()
        .any(|p| lower.starts_with(p.as_bytes()))
}

/// A run of 8 bytes that occurs twice: typed by a person (`1bcdefghij2bcdefghij`), not random.
fn has_repeated_run(s: &[u8]) -> bool {
    const RUN: usize = 8;
    s.len() >= 2 * RUN
        && (0..=s.len() - RUN).any(|i| memchr::memmem::find(&s[i + 1..], &s[i..i + RUN]).is_some())
}

/// Base64 whose bytes are readable text (`YW5vdGhlclRva2VuIQ==` is "anotherToken!"): an
/// encoded word or JSON blob, where a credential would decode to random bytes.
fn decodes_to_text(s: &[u8]) -> bool {
    if s.len() < 12
        || !s
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(b))
    {
        return false;
    }
    let Some(decoded) = decode_base64_loose(s) else {
        return false;
    };
    decoded.len() >= 8
        && decoded
            .iter()
            .all(|&b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github_token(body: &str) -> String {
        let mut crc = u64::from(crc32fast::hash(body.as_bytes()));
        let mut digits = Vec::new();
        for _ in 0..6 {
            digits.push(BASE62[(crc % 62) as usize]);
            crc /= 62;
        }
        digits.reverse();
        format!("ghp_{body}{}", String::from_utf8(digits).unwrap())
    }

    #[test]
    fn crc32_base62_accepts_valid_and_rejects_one_changed_char() {
        let token = github_token("aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1");
        assert!(crc32_base62(token.as_bytes()));
        let mut broken = token.into_bytes();
        broken[10] = if broken[10] == b'x' { b'y' } else { b'x' };
        assert!(!crc32_base62(&broken));
        assert!(!crc32_base62(b"ghp_short"));
        assert!(!crc32_base62(b"no-underscore-at-all"));
    }

    #[test]
    fn entropy_of_uniform_and_constant_input() {
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert_eq!(shannon_entropy(b""), 0.0);
    }

    #[test]
    fn jwt_needs_json_header_with_alg() {
        // {"alg":"HS256","typ":"JWT"} . {"sub":"svc-1"} . signature
        let token = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdmMtMSJ9.c2lnbmF0dXJl";
        assert!(jwt(token));
        assert!(!jwt(b"eyJub3QiOiJqd3QifQ.eyJzdWIiOiJzdmMtMSJ9.c2ln"));
        assert!(!jwt(b"not.a.jwt"));
    }

    #[test]
    fn pem_needs_real_base64_body() {
        let body = "QUJD".repeat(40);
        let good =
            format!("-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----");
        assert!(pem(good.as_bytes()));
        let escaped = good.replace('\n', "\\n");
        assert!(pem(escaped.as_bytes()));
        let one_line = good.replace('\n', " ");
        assert!(pem(one_line.as_bytes()));
        assert!(!pem(
            b"-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----"
        ));
    }

    #[test]
    fn placeholders_are_recognised() {
        for p in [
            "AKIAIOSFODNN7EXAMPLE",
            "${API_TOKEN}",
            "{{ token }}",
            "<token>",
            "YOUR_API_KEY_HERE",
            "changeme",
            "xxxxxxxxxxxx",
            "00000000",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
        assert!(!is_placeholder(b"ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1abcdef"));
    }

    #[test]
    fn placeholder_markers_are_looked_for_in_key_material_only() {
        let body = "AAAAB3NzaC1yc2EAAAADAQABAAABAQC2Hk29KidY8Z1zFlYsJ7k8vEhZ818lvBnH";
        let ppk = format!(
            "PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nComment: dummy-key\n\
             Public-Lines: 1\n{body}\nPrivate-MAC: 660ea11193b674bab2fa0d7a5386b1b3a5f8f708"
        );
        assert_eq!(placeholder_marker(ppk.as_bytes()), None);
        // The same with `\n` escapes, as in a JSON string.
        assert_eq!(
            placeholder_marker(ppk.replace('\n', "\\n").as_bytes()),
            None
        );
        // A placeholder in the material itself still counts.
        let fake = ppk.replace(body, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        assert_eq!(placeholder_marker(fake.as_bytes()), Some("xxxxx"));
        // One-line secrets are looked at whole.
        assert_eq!(placeholder_marker(b"key:EXAMPLE1234"), Some("example"));
    }

    #[test]
    fn generic_values_that_are_code_or_words() {
        for v in [
            "nextPageToken",
            "SECRET_KEY_NAME",
            "os.environ.get",
            "getToken()",
            "process.env.TOKEN",
            "/etc/ssl/private/key.pem",
            "1.2.3-beta4",
            "12345678",
            "password",
            "550e8400-e29b-41d4-a716-446655440003",
            "MyTestDatabaseSecret-a1b2c3",
            "SensitiveString2048",
            "YW5vdGhlclRva2VuIQ==",
            "1bcdefghij2bcdefghij3bcdefghij",
            "pbkdf2_sha256$30000$Vo0VlMnkR4Bk$qEvtdyZRWTcOsCnI",
            "AmazonLookoutMetrics-.+",
            "MGYZLAHX1T5a....",
            "françois",
        ] {
            assert!(is_generic_non_secret(v.as_bytes()), "{v}");
        }
        for v in ["S3cr3tP@ssw0rd!", "q8Zr2LmX9vTn4KpW", "hunter2hunter2x"] {
            assert!(!is_generic_non_secret(v.as_bytes()), "{v}");
        }
    }
}
