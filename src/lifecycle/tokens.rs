//! Provider tokens whose text or rule captures say what they are: AWS key ids (type and
//! account), GitHub token prefixes (type and lifetime), Azure SAS parameters (start,
//! expiry, stored policy) and GCP service-account key ids.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use std::borrow::Cow;

use super::{Lifecycle, TypeLifetime, clamp_time};
use crate::dates::{parse_date, parse_rfc3339, rfc3339_utc};

/// STS GetSessionToken allows at most 129 600 s; role sessions are shorter.
const AWS_TEMPORARY: TypeLifetime = TypeLifetime {
    seconds: 36 * 3600,
    reason: Cow::Borrowed("AWS STS temporary credentials (at most 36 hours)"),
};

/// AWS access key ids: the prefix says what the key is (IAM User Guide, "Unique ID prefixes").
pub(super) fn aws(rule_id: &str, text: &[u8], key_id: Option<&str>, life: &mut Lifecycle) {
    let session_token = rule_id == "aws-session-token";
    let id = std::str::from_utf8(text)
        .ok()
        .filter(|t| is_aws_key_id(t))
        .or_else(|| key_id.map(str::trim).filter(|k| is_aws_key_id(k)));
    if id.is_none() && !session_token {
        return;
    }
    let mut facts = Map::new();
    if let Some(id) = id {
        let kind = match id.get(..4) {
            Some("AKIA") => "long-term",
            Some("ASIA") => "temporary",
            Some("ABIA") => "service-bearer",
            _ => "context",
        };
        facts.insert("key_id_type".into(), json!(kind));
        if let Some(account) = aws_account_id(id) {
            facts.insert("account_id".into(), json!(account));
        }
        if kind == "temporary" {
            life.type_lifetime = Some(AWS_TEMPORARY);
        }
    }
    if session_token {
        facts.insert("session_token".into(), json!(true));
        life.type_lifetime = Some(AWS_TEMPORARY);
    }
    life.facts.insert("aws".into(), Value::Object(facts));
}

/// `AKIA|ASIA|ABIA|ACCA` and 16 characters of the RFC 4648 base32 alphabet.
fn is_aws_key_id(text: &str) -> bool {
    text.len() == 20
        && ["AKIA", "ASIA", "ABIA", "ACCA"]
            .iter()
            .any(|p| text.starts_with(p))
        && text
            .bytes()
            .skip(4)
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

/// The 12-digit account the key id encodes (T. Beery, 2021): base32-decode characters
/// 4..20 into 10 bytes, read the first 6 big-endian, mask `0x7fffffffff80`, shift right 7.
/// Keys issued before about 2019 (`AKIAI…`, `AKIAJ…`) are said not to follow this, so the
/// value is a hint to compare with an inventory, not a fact.
fn aws_account_id(key_id: &str) -> Option<String> {
    let mut bits: u64 = 0;
    let mut count = 0;
    let mut bytes = Vec::with_capacity(10);
    for c in key_id.get(4..20)?.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        bits = (bits << 5) | u64::from(value);
        count += 5;
        if count >= 8 {
            count -= 8;
            bytes.push(((bits >> count) & 0xff) as u8);
        }
    }
    let mut head = [0u8; 8];
    head.get_mut(2..)?.copy_from_slice(bytes.get(..6)?);
    let account = (u64::from_be_bytes(head) & 0x7fff_ffff_ff80) >> 7;
    // 40 bits hold more than 12 digits: a larger value is no account (a made-up key id).
    (account <= 999_999_999_999).then(|| format!("{account:012}"))
}

/// GitHub token prefixes (GitHub changelog 2021-03-31) and the lifetimes GitHub documents.
pub(super) fn github(text: &[u8], identifiers: &BTreeMap<String, String>, life: &mut Lifecycle) {
    const TYPES: [(&[u8], &str, Option<TypeLifetime>); 6] = [
        (b"github_pat_", "fine-grained-pat", None),
        (b"ghp_", "classic-pat", None),
        (b"gho_", "oauth", None),
        (
            b"ghu_",
            "user-to-server",
            Some(TypeLifetime {
                seconds: 8 * 3600,
                reason: Cow::Borrowed("GitHub App user-to-server token (8 hours)"),
            }),
        ),
        (
            b"ghs_",
            "installation",
            Some(TypeLifetime {
                seconds: 3600,
                reason: Cow::Borrowed("GitHub App installation token (1 hour)"),
            }),
        ),
        (
            b"ghr_",
            "refresh",
            Some(TypeLifetime {
                seconds: 183 * 86_400,
                reason: Cow::Borrowed("GitHub App refresh token (6 months)"),
            }),
        ),
    ];
    let Some((_, token_type, lifetime)) = TYPES.iter().find(|(prefix, _, _)| {
        text.starts_with(prefix)
            // The shortest is 40 characters; a password that merely starts `ghs_` is not a token.
            && text.len() >= 40
            && text.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
    }) else {
        return;
    };
    let mut facts = Map::new();
    facts.insert("token_type".into(), json!(token_type));
    if let Some(app_id) = identifiers
        .get("app_id")
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
    {
        facts.insert("app_id".into(), json!(app_id));
        life.push_match_id(app_id.to_string());
    }
    life.facts.insert("github".into(), Value::Object(facts));
    life.type_lifetime = lifetime.clone();
}

/// Azure Storage SAS: `st` (start), `se` (expiry), `sp` (permissions), `si` (stored
/// access policy), as the rule captured them from the query string.
pub(super) fn azure_sas(
    rule_id: &str,
    identifiers: &BTreeMap<String, String>,
    life: &mut Lifecycle,
) {
    let captured = ["expiry", "start", "policy"]
        .iter()
        .any(|k| identifiers.contains_key(*k));
    if rule_id != "azure-sas-token" && !(rule_id.contains("sas") && captured) {
        return;
    }
    let mut facts = Map::new();
    let start = identifiers.get("start").map(|s| url_decode_colons(s));
    let expiry = identifiers.get("expiry").map(|s| url_decode_colons(s));
    if let Some(start) = &start {
        let parsed = parse_sas_time(start);
        facts.insert(
            "start".into(),
            json!(parsed.map_or_else(|| start.clone(), rfc3339_utc)),
        );
        life.not_before = parsed;
        life.issued_at = parsed;
    }
    if let Some(expiry) = &expiry {
        let parsed = parse_sas_time(expiry);
        facts.insert(
            "expiry".into(),
            json!(parsed.map_or_else(|| expiry.clone(), rfc3339_utc)),
        );
        life.expires_at = parsed;
    }
    if let Some(permissions) = identifiers.get("permissions") {
        facts.insert("permissions".into(), json!(permissions));
    }
    if let Some(policy) = identifiers.get("policy") {
        facts.insert("stored_policy".into(), json!(url_decode_colons(policy)));
        if expiry.is_none() {
            facts.insert(
                "note".into(),
                json!("expiry held by the stored access policy"),
            );
        }
    }
    life.facts.insert("azure_sas".into(), Value::Object(facts));
}

fn url_decode_colons(text: &str) -> String {
    text.trim().replace("%3A", ":").replace("%3a", ":")
}

/// SAS times are ISO 8601 UTC: `YYYY-MM-DD`, `YYYY-MM-DDThh:mmZ`, `YYYY-MM-DDThh:mm:ssZ`
/// (with optional fraction).
fn parse_sas_time(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let t = if b.len() == 17 && b.get(10) == Some(&b'T') && b.get(16) == Some(&b'Z') {
        parse_rfc3339(&format!("{}:00Z", text.get(..16)?))
    } else {
        parse_date(text)
    };
    t.map(clamp_time)
}

/// GCP service-account key file: the key's id in IAM, the service account and project
/// (Google keys never expire unless an org policy says so: no dates here).
pub(super) fn gcp(
    rule_id: &str,
    key_id: Option<&str>,
    identifiers: &BTreeMap<String, String>,
    life: &mut Lifecycle,
) {
    if rule_id != "google-cloud-service-account-key" {
        return;
    }
    let mut facts = Map::new();
    if let Some(key_id) = key_id {
        facts.insert("private_key_id".into(), json!(key_id));
    }
    for name in ["client_email", "project_id"] {
        if let Some(value) = identifiers.get(name) {
            facts.insert(name.into(), json!(value));
        }
    }
    if let Some(email) = identifiers.get("client_email") {
        life.push_match_id(email.clone());
    }
    life.facts.insert("gcp".into(), Value::Object(facts));
}

#[cfg(test)]
mod tests {
    use super::super::inspect;
    use super::*;

    fn ids(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn aws_account_id_vector() {
        assert_eq!(
            aws_account_id("ASIAY34FZKBOKMUTVV7A").as_deref(),
            Some("609629065308")
        );
        assert_eq!(aws_account_id("ASIA"), None);
        assert_eq!(aws_account_id("ASIAY34FZKBOKMUTVV71"), None);
        assert_eq!(aws_account_id("AKIA7777777777777777"), None, "13 digits");
    }

    #[test]
    fn aws_key_types() {
        let none = BTreeMap::new();
        let life = inspect(
            "aws-access-key-id",
            b"ASIAY34FZKBOKMUTVV7A",
            Some("ASIAY34FZKBOKMUTVV7A"),
            &none,
        );
        assert_eq!(
            life.facts["aws"],
            json!({"key_id_type": "temporary", "account_id": "609629065308"})
        );
        assert_eq!(life.type_lifetime, Some(AWS_TEMPORARY));

        let life = inspect("aws-access-key-id", b"AKIAY34FZKBOKMUTVV7A", None, &none);
        assert_eq!(life.facts["aws"]["key_id_type"], "long-term");
        assert_eq!(life.type_lifetime, None);

        // The secret access key carries its companion's id.
        let life = inspect(
            "aws-secret-access-key",
            b"fake/secret/access/key/for/tests/only/00",
            Some("ABIAY34FZKBOKMUTVV7A"),
            &none,
        );
        assert_eq!(life.facts["aws"]["key_id_type"], "service-bearer");
        assert_eq!(life.facts["aws"]["account_id"], "609629065308");
        assert_eq!(
            inspect("x", b"ACCAY34FZKBOKMUTVV7A", None, &none).facts["aws"]["key_id_type"],
            "context"
        );

        let life = inspect(
            "aws-session-token",
            b"IQoJb3JpZ2luX2VjEOr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ",
            None,
            &none,
        );
        assert_eq!(life.facts["aws"], json!({"session_token": true}));
        assert_eq!(life.type_lifetime, Some(AWS_TEMPORARY));

        // Entity ids and lookalikes are not keys.
        assert!(
            inspect("x", b"AIDAY34FZKBOKMUTVV7A", None, &none)
                .facts
                .is_empty()
        );
        assert!(
            inspect("x", b"AKIAY34FZKBOKMUTVV7", None, &none)
                .facts
                .is_empty()
        );
    }

    #[test]
    fn github_prefixes() {
        let none = BTreeMap::new();
        let body = "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY2z4C6e";
        let cases = [
            ("ghp_", "classic-pat", None),
            ("gho_", "oauth", None),
            ("github_pat_", "fine-grained-pat", None),
            ("ghu_", "user-to-server", Some(8 * 3600)),
            ("ghs_", "installation", Some(3600)),
            ("ghr_", "refresh", Some(183 * 86_400)),
        ];
        for (prefix, kind, seconds) in cases {
            let token = format!("{prefix}{body}");
            let life = inspect("x", token.as_bytes(), None, &none);
            assert_eq!(
                life.facts["github"],
                json!({"token_type": kind}),
                "{prefix}"
            );
            assert_eq!(life.type_lifetime.map(|t| t.seconds), seconds, "{prefix}");
        }
        let life = inspect(
            "x",
            format!("ghs_{body}").as_bytes(),
            None,
            &ids(&[("app_id", "123456")]),
        );
        assert_eq!(
            life.facts["github"],
            json!({"token_type": "installation", "app_id": "123456"})
        );
        assert_eq!(life.match_ids, vec!["123456".to_string()]);
        assert_eq!(
            life.type_lifetime.unwrap().reason,
            "GitHub App installation token (1 hour)"
        );
        assert!(inspect("x", b"ghs_short", None, &none).facts.is_empty());
        assert!(
            inspect("x", format!("ghs_{body}!").as_bytes(), None, &none)
                .facts
                .is_empty()
        );
    }

    #[test]
    fn sas_start_and_expiry() {
        let life = inspect(
            "azure-sas-token",
            b"sig",
            None,
            &ids(&[
                ("expiry", "2026-01-31T18%3A00%3A00Z"),
                ("start", "2025-01-31T10:00Z"),
                ("permissions", "rl"),
            ]),
        );
        assert_eq!(life.expires_at, parse_rfc3339("2026-01-31T18:00:00Z"));
        assert_eq!(life.not_before, parse_rfc3339("2025-01-31T10:00:00Z"));
        assert_eq!(life.issued_at, life.not_before);
        assert_eq!(
            life.facts["azure_sas"],
            json!({"start": "2025-01-31T10:00:00Z", "expiry": "2026-01-31T18:00:00Z", "permissions": "rl"})
        );

        let life = inspect(
            "azure-sas-token",
            b"sig",
            None,
            &ids(&[("expiry", "2024-05-01")]),
        );
        assert_eq!(life.expires_at, parse_date("2024-05-01"));

        let life = inspect(
            "azure-sas-token",
            b"sig",
            None,
            &ids(&[("expiry", "2024-05-01T10%3a30Z")]),
        );
        assert_eq!(life.expires_at, parse_rfc3339("2024-05-01T10:30:00Z"));
    }

    #[test]
    fn sas_stored_policy() {
        let life = inspect(
            "azure-sas-token",
            b"sig",
            None,
            &ids(&[("policy", "readonly-2025"), ("start", "2025-06-01")]),
        );
        assert_eq!(life.expires_at, None);
        assert_eq!(
            life.facts["azure_sas"],
            json!({"start": "2025-06-01T00:00:00Z", "stored_policy": "readonly-2025",
                   "note": "expiry held by the stored access policy"})
        );
        let life = inspect(
            "azure-sas-token",
            b"sig",
            None,
            &ids(&[("policy", "p1"), ("expiry", "2030-01-01")]),
        );
        assert!(life.facts["azure_sas"].get("note").is_none());
        // Not a SAS rule: identifiers named `expiry` mean nothing here.
        assert!(
            inspect("other", b"sig", None, &ids(&[("expiry", "2030-01-01")]))
                .facts
                .is_empty()
        );
    }

    #[test]
    fn gcp_service_account() {
        let life = inspect(
            "google-cloud-service-account-key",
            b"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----",
            Some("838535f2de416705f3524612a53932684a85893f"),
            &ids(&[
                (
                    "client_email",
                    "exporter@billing-prod-4411.iam.gserviceaccount.com",
                ),
                ("project_id", "billing-prod-4411"),
            ]),
        );
        assert_eq!(
            life.facts["gcp"],
            json!({"private_key_id": "838535f2de416705f3524612a53932684a85893f",
                   "client_email": "exporter@billing-prod-4411.iam.gserviceaccount.com",
                   "project_id": "billing-prod-4411"})
        );
        assert_eq!(
            life.match_ids,
            vec!["exporter@billing-prod-4411.iam.gserviceaccount.com".to_string()]
        );
        assert_eq!(life.expires_at, None);
        assert_eq!(life.facts["private_key"]["format"], "pkcs8");
    }
}
