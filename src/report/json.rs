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
        map.insert("short_lived".into(), bound.reason.to_string().into());
    }
    // Other non-secret identifiers an inventory key_id may name; `sprawl merge` reads them back.
    if !life.match_ids.is_empty() {
        map.insert("match_ids".into(), life.match_ids.clone().into());
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
        serde_json::to_writer_pretty(&mut *out, &Document::new(run, self.0))?;
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

/// The whole report document, written as it is serialized: each finding becomes JSON only
/// when its turn comes, so a report of many thousand findings never exists twice in memory.
#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    tool: Tool,
    scan: &'a Option<crate::run::ScanInfo>,
    summary: &'a crate::run::Summary,
    inventory: &'a Option<crate::inventory::InventoryReport>,
    findings: Listed<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: &'a Option<crate::suppress::BaselineReport>,
    #[serde(skip_serializing_if = "Listed::is_empty")]
    suppressed: Listed<'a>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

/// Findings (or suppressed ones, with why) serialized one at a time.
enum Listed<'a> {
    Findings(&'a [Finding], bool),
    Suppressed(&'a [crate::finding::Suppressed], bool),
}

impl Listed<'_> {
    fn is_empty(&self) -> bool {
        match self {
            Listed::Findings(f, _) => f.is_empty(),
            Listed::Suppressed(s, _) => s.is_empty(),
        }
    }
}

impl Serialize for Listed<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq as _;
        match self {
            Listed::Findings(findings, show) => {
                let mut seq = serializer.serialize_seq(Some(findings.len()))?;
                for f in *findings {
                    seq.serialize_element(&finding_json(f, *show))?;
                }
                seq.end()
            }
            Listed::Suppressed(suppressed, show) => {
                let mut seq = serializer.serialize_seq(Some(suppressed.len()))?;
                for s in *suppressed {
                    let mut value = finding_json(&s.finding, *show);
                    if let Value::Object(f) = &mut value {
                        f.insert(
                            "suppression".into(),
                            json!({"kind": s.kind, "reason": s.reason}),
                        );
                    }
                    seq.serialize_element(&value)?;
                }
                seq.end()
            }
        }
    }
}

impl<'a> Document<'a> {
    fn new(run: &'a Run, options: Options) -> Document<'a> {
        Document {
            schema: SCHEMA,
            tool: Tool {
                name: "sprawl",
                version: env!("CARGO_PKG_VERSION"),
            },
            scan: &run.scan,
            summary: &run.summary,
            inventory: &run.inventory,
            findings: Listed::Findings(&run.findings, options.show_secrets),
            baseline: &run.baseline,
            suppressed: Listed::Suppressed(options.listed_suppressed(run), options.show_secrets),
        }
    }
}
