//! What a credential's own text says about who it is and how long it lives, read offline:
//! JWT claims, X.509 validity, private-key encryption, AWS key types and accounts, GitHub token
//! types, Azure SAS start and expiry, GCP service-account ids. Never secret material: only
//! identifiers, dates and types leave this module.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::finding::Finding;

/// A bound on a credential's life that its type implies although its text carries no date
/// (a GitHub App installation token lives one hour).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeLifetime {
    pub seconds: i64,
    /// Why, for the report: "GitHub App installation token (1 hour)".
    pub reason: &'static str,
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
}

impl Lifecycle {
    /// The validity window the credential states: expiry minus its start (not-before, else
    /// issued-at), when both are known.
    pub fn stated_lifetime(&self) -> Option<i64> {
        let start = self.not_before.or(self.issued_at)?;
        Some(self.expires_at? - start)
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
    let _ = (rule_id, secret, key_id, identifiers);
    Lifecycle::default()
}

/// Pairs private keys with the certificates that certify them: same public key, found in
/// the same file or the same folder. The key gains the certificate's thumbprint (so an
/// inventory entry for the certificate owns its key too) and its validity in `facts`.
pub fn pair_keys_with_certificates(findings: &mut [Finding]) {
    let _ = findings;
}
