//! The `sprawl.report/v1` JSON document and its one-finding-per-line `jsonl` form.
//! Fields may be added in later versions, never renamed.

use serde::Serialize;
use serde_json::{Map, Value, json};

use std::io::{self, Write};

use super::{Options, Reporter};
use crate::dates;
use crate::finding::{Finding, Location};
use crate::run::Run;
use crate::validate::Validation;

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
    let a = &finding.assessment;
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
        "statuses": a.statuses,
        "reasons": a.reasons,
        "owner": a.owner,
        "owner_hints": a.owner_hints,
        "inventory_match": a.matched_by,
        "expires_at": a.expires_at.map(dates::rfc3339_utc),
        "first_seen": finding.first_seen,
        "last_seen": finding.last_seen,
        "in_worktree": finding.in_worktree,
        "age_days": finding.age_days,
        "max_age_days": a.max_age_days,
        "metadata": metadata_json(finding),
        "validation": finding.validation.as_ref().map(validation_json),
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

/// A provider's answer about a credential (`--validate`), with RFC 3339 times.
pub fn validation_json(v: &Validation) -> Value {
    json!({
        "result": v.result.as_str(),
        "checked_at": dates::rfc3339_utc(v.checked_at),
        "check": v.check,
        "identity": v.identity,
        "scopes": v.scopes,
        "expires_at": v.expires_at.map(dates::rfc3339_utc),
        "created_at": v.created_at.map(dates::rfc3339_utc),
        "error": v.error,
        "cached": v.cached,
    })
}

/// What the credential itself says: dates, lifetime, and per-family facts.
fn metadata_json(finding: &Finding) -> Value {
    let life = &finding.lifecycle;
    let mut map = Map::new();
    let mut time = |name: &str, t: Option<i64>| {
        if let Some(t) = t {
            map.insert(name.into(), Value::String(dates::rfc3339_utc(t)));
        }
    };
    time("issued_at", life.issued_at);
    time("not_before", life.not_before);
    time("expires_at", life.expires_at);
    if let Some(seconds) = life.stated_lifetime() {
        map.insert("lifetime".into(), dates::human_duration(seconds).into());
        map.insert("lifetime_seconds".into(), seconds.into());
    } else if let Some(bound) = &life.type_lifetime {
        map.insert(
            "lifetime".into(),
            dates::human_duration(bound.seconds).into(),
        );
        map.insert("lifetime_seconds".into(), bound.seconds.into());
    }
    if let Some(bound) = &life.type_lifetime {
        map.insert("short_lived".into(), bound.reason.into());
    }
    for (family, facts) in &life.facts {
        map.insert(family.clone(), facts.clone());
    }
    Value::Object(map)
}

fn location_json(location: &Location) -> Value {
    serde_json::to_value(location).unwrap_or(Value::Null)
}

/// `--format json`: one document.
pub struct Json(pub Options);

impl Reporter for Json {
    fn write(&self, run: &Run, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, &report_json(run, self.0))?;
        writeln!(out)
    }
}

/// `--format jsonl`: one finding per line (written at the end when not streamed as found).
pub struct Jsonl(pub Options);

impl Reporter for Jsonl {
    fn write(&self, run: &Run, out: &mut dyn Write) -> io::Result<()> {
        for finding in &run.findings {
            serde_json::to_writer(&mut *out, &finding_json(finding, self.0.show_secrets))?;
            writeln!(out)?;
        }
        Ok(())
    }
}

/// The whole report document.
pub fn report_json(run: &Run, options: Options) -> Value {
    let mut doc = json!({
        "schema": SCHEMA,
        "tool": {"name": "sprawl", "version": env!("CARGO_PKG_VERSION")},
        "summary": run.summary,
        "inventory": run.inventory,
        "findings": run.findings
            .iter()
            .map(|f| finding_json(f, options.show_secrets))
            .collect::<Vec<_>>(),
    });
    if let Value::Object(map) = &mut doc {
        if let Some(baseline) = &run.baseline {
            map.insert(
                "baseline".into(),
                serde_json::to_value(baseline).unwrap_or(Value::Null),
            );
        }
        let suppressed = options.listed_suppressed(run);
        if !suppressed.is_empty() {
            let listed = suppressed.iter().map(|s| {
                let mut value = finding_json(&s.finding, options.show_secrets);
                if let Value::Object(f) = &mut value {
                    f.insert(
                        "suppression".into(),
                        json!({"kind": s.kind, "reason": s.reason}),
                    );
                }
                value
            });
            map.insert("suppressed".into(), Value::Array(listed.collect()));
        }
    }
    doc
}
