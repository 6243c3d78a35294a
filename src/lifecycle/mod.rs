//! What a credential's own text says about who it is and how long it lives, read offline:
//! JWT claims, X.509 validity, private-key encryption, AWS key types and accounts, GitHub token
//! types, Azure SAS start and expiry, GCP service-account ids. Never secret material: only
//! identifiers, dates and types leave this module.

mod jwt;
mod keys;
mod pem;
mod tokens;
pub mod weak;
mod x509;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A bound on a credential's life that its type implies although its text carries no date
/// (a GitHub App installation token lives one hour).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeLifetime {
    pub seconds: i64,
    /// Why, for the report: "GitHub App installation token (1 hour)" (owned when read back
    /// from a report by `sprawl merge`).
    pub reason: std::borrow::Cow<'static, str>,
}

/// Facts read from one credential. Times are seconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lifecycle {
    pub issued_at: Option<i64>,
    pub not_before: Option<i64>,
    pub expires_at: Option<i64>,
    /// Short-lived by nature (ASIA keys, `ghs_`/`ghu_` tokens): never reported long-lived.
    pub type_lifetime: Option<TypeLifetime>,
    /// The provider-side identifier when the rule captured none (JWT `iss|sub`, certificate
    /// SHA-256 thumbprint).
    pub key_id: Option<String>,
    /// Other non-secret identifiers an inventory `key_id` may name (certificate serial,
    /// `client_email`, GitHub app id, a paired certificate's thumbprint).
    pub match_ids: Vec<String>,
    /// Type-specific facts for the JSON `metadata`, one object per family (`jwt`, `x509`,
    /// `aws`, `github`, `azure_sas`, `gcp`, `private_key`).
    pub facts: Map<String, Value>,
    /// Public key material (RSA modulus or EC point) to pair keys with certificates; never
    /// reported.
    pub public_key: Option<Vec<u8>>,
    /// A private key's dates are those of the certificate paired with it: the key itself
    /// never expires, but what it proves ends with its certificate.
    pub dated_by_certificate: bool,
    /// `expires_at` is what the provider reported (`--validate`).
    pub expiry_from_provider: bool,
}

impl Lifecycle {
    /// The validity window the credential states: expiry minus its start (not-before, else
    /// issued-at), when both are known.
    pub fn stated_lifetime(&self) -> Option<i64> {
        let start = self.not_before.or(self.issued_at)?;
        self.expires_at?.checked_sub(start)
    }

    /// Adds a match id once.
    pub fn push_match_id(&mut self, id: String) {
        if !id.is_empty() && !self.match_ids.contains(&id) {
            self.match_ids.push(id);
        }
    }
}

/// Reads what the credential itself reveals. `key_id` and `identifiers` are what the rule
/// captured around it (an AWS secret key's companion key id, a SAS URL's `se`).
pub fn inspect(
    rule_id: &str,
    secret: &[u8],
    key_id: Option<&str>,
    identifiers: &BTreeMap<String, String>,
) -> Lifecycle {
    let mut life = Lifecycle::default();
    let text = trim(secret);

    // Dispatch on the text first, so user rules get the same facts as built-in ones; each
    // check is a prefix or one substring search, so a plain API key costs next to nothing.
    if let Some(block) = pem::decode(text) {
        if block.is_certificate() {
            x509::inspect(&block, &mut life);
        } else if block.is_private_key() {
            keys::inspect_pem(&block, &mut life);
        }
    } else if text.starts_with(b"eyJ") || text.starts_with(b"ZXlK") {
        jwt::inspect(text, &mut life);
    } else if text.starts_with(b"PuTTY-User-Key-File-") {
        keys::inspect_putty(text, &mut life);
    }

    tokens::aws(rule_id, text, key_id, &mut life);
    tokens::github(text, identifiers, &mut life);
    tokens::azure_sas(rule_id, identifiers, &mut life);
    tokens::gcp(rule_id, key_id, identifiers, &mut life);
    life
}

/// The secret without surrounding whitespace or quotes (a user rule may capture them).
fn trim(secret: &[u8]) -> &[u8] {
    let junk = |b: &u8| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'`');
    let start = secret.iter().position(|b| !junk(b)).unwrap_or(secret.len());
    let end = secret
        .iter()
        .rposition(|b| !junk(b))
        .map_or(start, |e| e + 1);
    secret.get(start..end).unwrap_or_default()
}

/// Earliest and latest instants a credential may state (years 1 to 9999): a JWT with
/// `exp: 1e300` means "never", and callers subtract these times without overflow checks.
const MIN_TIME: i64 = -62_135_596_800;
const MAX_TIME: i64 = 253_402_300_799;

pub(crate) fn clamp_time(seconds: i64) -> i64 {
    seconds.clamp(MIN_TIME, MAX_TIME)
}

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// SHA-256 as lowercase hex.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex(&sha2::Sha256::digest(bytes))
}

/// Big-endian unsigned integer bytes without leading zeros (DER adds one to keep a
/// modulus positive; certificates and keys must compare equal either way).
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stated_lifetime_never_overflows() {
        let life = Lifecycle {
            not_before: Some(i64::MIN),
            expires_at: Some(i64::MAX),
            ..Lifecycle::default()
        };
        assert_eq!(life.stated_lifetime(), None);
        let life = Lifecycle {
            issued_at: Some(100),
            expires_at: Some(3700),
            ..Lifecycle::default()
        };
        assert_eq!(life.stated_lifetime(), Some(3600));
    }

    #[test]
    fn nothing_applies_to_a_plain_secret() {
        let life = inspect(
            "generic-password",
            b"correct-horse-battery",
            None,
            &BTreeMap::new(),
        );
        assert_eq!(life, Lifecycle::default());
    }

    #[test]
    fn never_panics_on_odd_inputs() {
        let inputs: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"\"".to_vec(),
            b"eyJ".to_vec(),
            b"eyJ..".to_vec(),
            b"eyJhbGciOiJub25lIn0.eyJleHAiOjFlMzA4fQ.".to_vec(),
            b"eyJhbGciOiJub25lIn0.eyJleHAiOi0xZTMwOH0.".to_vec(),
            b"-----BEGIN ".to_vec(),
            b"-----BEGIN CERTIFICATE-----".to_vec(),
            b"-----BEGIN CERTIFICATE-----MIIB-----END CERTIFICATE-----".to_vec(),
            b"-----BEGIN PRIVATE KEY-----\\\\\\-----END PRIVATE KEY-----".to_vec(),
            b"-----BEGIN OPENSSH PRIVATE KEY-----b3BlbnNzaC1rZXktdjEA-----END".to_vec(),
            b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxcA=\n-----END".to_vec(),
            b"LS0tLS1CRUdJTi".to_vec(),
            b"LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUI=".to_vec(),
            b"PuTTY-User-Key-File-3".to_vec(),
            b"AKIA".to_vec(),
            b"ASIA\xff\xfe".to_vec(),
            b"ghs_".to_vec(),
            vec![0xff; 300],
        ];
        let mut ids = BTreeMap::new();
        ids.insert("expiry".to_string(), "9999-99-99T99%3A99Z".to_string());
        ids.insert("start".to_string(), "%3A".to_string());
        for input in &inputs {
            for rule in ["azure-sas-token", "aws-session-token", "x"] {
                let _ = inspect(rule, input, Some("ASIA"), &ids);
                let _ = inspect(rule, input, None, &BTreeMap::new());
            }
        }
        // Every prefix of a real certificate and key must also be harmless.
        let (cert, key) = test_support::ec_certificate_and_key(0, 86_400);
        for text in [&cert, &key] {
            for end in 0..text.len() {
                if text.is_char_boundary(end) {
                    let _ = inspect("x", &text.as_bytes()[..end], None, &BTreeMap::new());
                }
            }
        }
        // And so must every one-byte corruption of their DER.
        use base64::Engine as _;
        for (label, text) in [("CERTIFICATE", &cert), ("PRIVATE KEY", &key)] {
            let der = pem::decode(text.as_bytes()).unwrap().der.unwrap();
            for i in 0..der.len() {
                for flip in [0x01, 0x80, 0xff] {
                    let mut bad = der.clone();
                    bad[i] ^= flip;
                    let body = pem::STANDARD.encode(&bad);
                    let text = format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----");
                    let _ = inspect("x", text.as_bytes(), None, &BTreeMap::new());
                }
            }
        }
    }
}

/// Fake credentials generated at test time (rcgen, ring), shared by the parsers' tests.
#[cfg(test)]
pub(crate) mod test_support {
    use rcgen::{
        CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, SerialNumber,
    };

    fn params(common_name: &str, not_before: i64, lifetime: i64) -> CertificateParams {
        let mut params = CertificateParams::default();
        let start = rcgen::date_time_ymd(1970, 1, 1);
        params.not_before = start + std::time::Duration::from_secs(not_before as u64);
        params.not_after = start + std::time::Duration::from_secs((not_before + lifetime) as u64);
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, common_name);
        params.distinguished_name = name;
        params
    }

    /// A CA-signed EC leaf certificate (PEM) valid from `not_before` for `lifetime`
    /// seconds, and its PKCS#8 private key (PEM).
    pub fn ec_certificate_and_key(not_before: i64, lifetime: i64) -> (String, String) {
        let key = KeyPair::generate().expect("ring generates P-256 keys");
        let key_pem = key.serialize_pem();
        certificate_for(&key_pem, not_before, lifetime)
    }

    /// A certificate for an existing PKCS#8 key (PEM), signed by a fresh test CA.
    pub fn certificate_for(key_pem: &str, not_before: i64, lifetime: i64) -> (String, String) {
        let key = KeyPair::from_pem(key_pem).expect("a key this module generated");
        let ca_key = KeyPair::generate().expect("ring generates P-256 keys");
        let mut ca = params("sprawl test CA", 0, 4_000_000_000);
        ca.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let issuer = Issuer::new(ca, ca_key);
        let mut leaf = params("sprawl test leaf", not_before, lifetime);
        leaf.serial_number = Some(SerialNumber::from_slice(&[0x0a, 0x1b, 0x2c]));
        let cert = leaf
            .signed_by(&key, &issuer)
            .expect("valid test parameters");
        (cert.pem(), key_pem.to_string())
    }
}
