//! The `sprawl.report/v1` JSON document and its one-finding-per-line `jsonl` form.
//! Fields may be added in later versions, never renamed.

use serde::Serialize;
use serde_json::{Value, json};

use super::Summary;
use crate::finding::{Finding, Location};

pub const SCHEMA: &str = "sprawl.report/v1";

#[derive(Serialize)]
struct RuleRef<'a> {
    id: &'a str,
    name: &'a str,
    kind: &'a str,
    provider: &'a str,
}

/// One finding as JSON. The secret appears only when `show_secrets` is set.
pub fn finding_json(finding: &Finding, show_secrets: bool) -> Value {
    let mut value = json!({
        "rule": RuleRef {
            id: &finding.rule.id,
            name: &finding.rule.name,
            kind: finding.rule.kind.as_str(),
            provider: &finding.rule.provider,
        },
        "fingerprint": finding.fingerprint,
        "redacted": finding.redacted,
        "key_id": finding.key_id,
        "identifiers": finding.identifiers,
        "statuses": [],
        "owner": null,
        "expires_at": null,
        "first_seen": finding.first_seen,
        "last_seen": finding.last_seen,
        "in_worktree": finding.in_worktree,
        "age_days": finding.age_days,
        "locations": finding.locations.iter().map(location_json).collect::<Vec<_>>(),
    });
    if show_secrets && let Value::Object(map) = &mut value {
        map.insert(
            "secret".into(),
            Value::String(String::from_utf8_lossy(finding.secret.expose()).into_owned()),
        );
    }
    value
}

fn location_json(location: &Location) -> Value {
    serde_json::to_value(location).unwrap_or(Value::Null)
}

/// The whole report document.
pub fn report_json(findings: &[Finding], summary: &Summary, show_secrets: bool) -> Value {
    json!({
        "schema": SCHEMA,
        "tool": {"name": "sprawl", "version": env!("CARGO_PKG_VERSION")},
        "summary": summary,
        "findings": findings.iter().map(|f| finding_json(f, show_secrets)).collect::<Vec<_>>(),
    })
}
