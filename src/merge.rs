//! `sprawl merge`: many reports (a CI matrix's shards, a Kubernetes Indexed Job's pods, one
//! per repository) read back into one [`Run`]: findings with the same fingerprint become one
//! credential with every place, the earliest first-seen and the latest last-seen; then the
//! inventory, reuse and owner hints are judged again over the whole set, as one scan would.
//!
//! Reports hold no secret, so neither does a merge: findings are rebuilt from their
//! fingerprint, redacted form, key ids, dates and places.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use thiserror::Error;

use crate::dates::parse_rfc3339;
use crate::engine::{RuleInfo, Standing};
use crate::finding::{Finding, FindingSet, Fingerprint, Location, Secret, Seen, SourceKind};
use crate::inventory::{self, Inventory, InventoryReport, Policy};
use crate::lifecycle::{Lifecycle, TypeLifetime};
use crate::rules::{Kind, RuleSet};
use crate::run::{Run, ScanInfo, Summary};
use crate::validate::{Outcome, Validation};

#[derive(Debug, Error)]
pub enum MergeError {
    #[error("{path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path}: not a sprawl report ({why}); merge reads sprawl's --format json or jsonl")]
    NotSprawl { path: String, why: String },
    #[error("{path}: finding {index}: {why}")]
    Finding {
        path: String,
        index: usize,
        why: String,
    },
}

/// One report read back.
pub struct Report {
    pub path: String,
    pub scan: Option<ScanInfo>,
    pub summary: Value,
    pub findings: Vec<Finding>,
}

/// What the merged findings are judged against.
pub struct Judging<'a> {
    pub inventory: Option<&'a Inventory>,
    pub policy: Policy,
    pub environments: &'a inventory::reuse::Environments,
}

/// Reads a `--format json` report or `--format jsonl` lines; anything else is an error
/// naming the file.
pub fn read(path: &Path, rules: &RuleSet) -> Result<Report, MergeError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| MergeError::Read {
        path: shown.clone(),
        error,
    })?;
    let not_sprawl = |why: &str| MergeError::NotSprawl {
        path: shown.clone(),
        why: why.to_string(),
    };
    let known = Rules::new(rules);
    let (scan, summary, raw) = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(mut doc)) => {
            if doc.get("schema").and_then(Value::as_str) != Some(crate::report::json::SCHEMA) {
                // One JSONL line is an object too: a finding, not a report.
                if doc.contains_key("fingerprint") && doc.contains_key("rule") {
                    (None, Value::Null, vec![Value::Object(doc)])
                } else {
                    return Err(not_sprawl(&format!(
                        "no \"schema\": \"{}\"",
                        crate::report::json::SCHEMA
                    )));
                }
            } else {
                let scan = doc
                    .remove("scan")
                    .and_then(|s| serde_json::from_value::<ScanInfo>(s).ok());
                let findings = match doc.remove("findings") {
                    Some(Value::Array(items)) => items,
                    _ => return Err(not_sprawl("no findings array")),
                };
                (scan, doc.remove("summary").unwrap_or(Value::Null), findings)
            }
        }
        Ok(_) => return Err(not_sprawl("not a JSON object")),
        Err(_) => {
            // JSONL: one finding per line.
            let mut items = Vec::new();
            for (n, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let value: Value = serde_json::from_str(line)
                    .map_err(|e| not_sprawl(&format!("line {}: {e}", n + 1)))?;
                if value.get("fingerprint").is_none() || value.get("rule").is_none() {
                    return Err(not_sprawl(&format!("line {} is not a finding", n + 1)));
                }
                items.push(value);
            }
            if items.is_empty() {
                return Err(not_sprawl("neither JSON nor JSON lines"));
            }
            (None, Value::Null, items)
        }
    };
    let repository = scan.as_ref().and_then(|s| s.repository.clone());
    let mut findings = Vec::with_capacity(raw.len());
    for (index, item) in raw.iter().enumerate() {
        let mut finding = finding(item, &known).map_err(|why| MergeError::Finding {
            path: shown.clone(),
            index,
            why,
        })?;
        for location in &mut finding.locations {
            if location.repository.is_none() {
                location.repository = repository.clone();
            }
        }
        findings.push(finding);
    }
    Ok(Report {
        path: shown,
        scan,
        summary,
        findings,
    })
}

/// Reports made by different sprawl versions or rules, named, for a warning.
pub fn mixed_origins(reports: &[Report]) -> Option<String> {
    let origin = |r: &Report| {
        r.scan
            .as_ref()
            .map_or("unknown version and rules".to_string(), |s| {
                format!(
                    "sprawl {}, rules {}",
                    s.sprawl_version,
                    s.rules_digest.get(..12).unwrap_or(&s.rules_digest)
                )
            })
    };
    let kinds: BTreeSet<String> = reports.iter().map(origin).collect();
    if kinds.len() < 2 {
        return None;
    }
    let named: Vec<String> = reports
        .iter()
        .map(|r| format!("{} ({})", r.path, origin(r)))
        .collect();
    Some(format!(
        "merging reports made by different sprawl versions or rules, which may disagree on what is a finding: {}",
        named.join(", ")
    ))
}

/// Joins the reports into one run, judged over the whole set.
pub fn merge(reports: Vec<Report>, judging: &Judging<'_>, now: i64) -> Run {
    let mut summary = Summary::default();
    let mut repositories = Vec::new();
    let mut merged_from = Vec::new();
    let mut started = Vec::new();
    let mut origins = BTreeSet::new();
    let mut set = FindingSet::default();
    let mut seen: HashMap<Fingerprint, (Option<Seen>, Option<Seen>)> = HashMap::new();
    for report in reports {
        merged_from.push(report.path.clone());
        let count = |name: &str| {
            report
                .summary
                .get(name)
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        summary.files_scanned += count("files_scanned");
        summary.bytes_scanned += count("bytes_scanned");
        summary.files_skipped += count("files_skipped");
        summary.duration_ms += count("duration_ms");
        summary.rules = summary.rules.max(count("rules"));
        if let Some(scan) = report.scan {
            started.push(scan.started_at.clone());
            origins.insert((scan.sprawl_version.clone(), scan.rules_digest.clone()));
            match (scan.repositories.is_empty(), scan.repository) {
                (true, Some(repository)) => repositories.push(crate::sources::repos::Repository {
                    repository,
                    commit: scan.commit,
                    prefix: String::new(),
                }),
                _ => repositories.extend(scan.repositories),
            }
        }
        for mut finding in report.findings {
            let dates = seen.entry(finding.fingerprint).or_default();
            dates.0 = earliest(dates.0.take(), finding.first_seen.take(), true);
            dates.1 = earliest(dates.1.take(), finding.last_seen.take(), false);
            set.add(finding);
        }
    }
    let mut findings = set.into_sorted();
    for f in &mut findings {
        if let Some((first, last)) = seen.remove(&f.fingerprint) {
            f.first_seen = first;
            f.last_seen = last;
        }
        inventory::assess(f, judging.inventory, judging.policy);
    }
    inventory::reuse::mark(&mut findings, judging.environments);
    let evidence = inventory::hints::Evidence {
        codeowners: None,
        paths: None,
    };
    inventory::hints::add_owner_hints(&mut findings, &evidence);
    for status in findings.iter().flat_map(|f| &f.assessment.statuses) {
        *summary.statuses.entry(*status).or_default() += 1;
    }
    summary.findings = findings.len() as u64;
    summary.locations = findings.iter().map(|f| f.locations.len() as u64).sum();
    let inventory = judging
        .inventory
        .map(|inv| InventoryReport::new(inv, &findings));
    repositories.sort_by(|a, b| a.repository.cmp(&b.repository));
    repositories.dedup_by(|a, b| a.repository == b.repository);
    started.sort();
    // The inputs' rules when they agree; empty when they do not (the warning named them).
    let rules_digest = match origins.len() {
        1 => origins
            .into_iter()
            .next()
            .map(|(_, d)| d)
            .unwrap_or_default(),
        _ => String::new(),
    };
    let scan = ScanInfo {
        repository: None,
        commit: None,
        paths: Vec::new(),
        started_at: started.first().cloned().unwrap_or_default(),
        sprawl_version: env!("CARGO_PKG_VERSION").to_string(),
        rules_digest,
        repositories,
        merged_from,
    };
    Run {
        findings,
        summary,
        inventory,
        scan: Some(scan),
        now,
        ..Run::default()
    }
}

/// The earlier (`first`) or later sighting of two; ties go to the smaller commit id, so the
/// merge does not depend on the order of its inputs.
fn earliest(a: Option<Seen>, b: Option<Seen>, first: bool) -> Option<Seen> {
    match (a, b) {
        (Some(a), Some(b)) => {
            let a_wins = match a.time.cmp(&b.time) {
                std::cmp::Ordering::Less => first,
                std::cmp::Ordering::Greater => !first,
                std::cmp::Ordering::Equal => a.commit <= b.commit,
            };
            Some(if a_wins { a } else { b })
        }
        (a, b) => a.or(b),
    }
}

/// Rule facts by id: the loaded rules', else what the report says.
struct Rules {
    by_id: BTreeMap<String, Arc<RuleInfo>>,
}

impl Rules {
    fn new(set: &RuleSet) -> Rules {
        let by_id = set
            .rules
            .iter()
            .enumerate()
            .map(|(order, r)| {
                let info = RuleInfo::of(r, order as u32);
                (info.id.clone(), Arc::new(info))
            })
            .collect();
        Rules { by_id }
    }

    fn get(&self, rule: &Value) -> Result<Arc<RuleInfo>, String> {
        let id = text(rule, "id").ok_or("no rule id")?;
        if let Some(info) = self.by_id.get(id) {
            return Ok(info.clone());
        }
        let kind: Kind = serde_json::from_value(rule.get("kind").cloned().unwrap_or(Value::Null))
            .map_err(|_| format!("rule {id}: unknown kind"))?;
        Ok(Arc::new(RuleInfo {
            id: id.to_string(),
            name: text(rule, "name").unwrap_or(id).to_string(),
            provider: text(rule, "provider").unwrap_or_default().to_string(),
            kind,
            generic: false,
            standing: Standing::Specific,
            weak_values: false,
            order: u32::MAX,
            description: String::new(),
            check: None,
        }))
    }
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn time(value: &Value, key: &str) -> Option<i64> {
    text(value, key).and_then(parse_rfc3339)
}

fn finding(item: &Value, rules: &Rules) -> Result<Finding, String> {
    let rule = rules.get(item.get("rule").ok_or("no rule")?)?;
    let fingerprint = text(item, "fingerprint")
        .and_then(parse_fingerprint)
        .ok_or("no fingerprint of the form sha256:<64 hex digits>")?;
    let identifiers = item
        .get("identifiers")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let locations = item
        .get("locations")
        .and_then(Value::as_array)
        .ok_or("no locations")?
        .iter()
        .map(location)
        .collect::<Result<Vec<_>, _>>()?;
    let seen = |key: &str| -> Option<Seen> {
        let s = item.get(key)?;
        let date = text(s, "date")?.to_string();
        Some(Seen {
            commit: text(s, "commit")?.to_string(),
            time: parse_rfc3339(&date)?,
            date,
            author: text(s, "author").unwrap_or_default().to_string(),
        })
    };
    let validation = item.get("validation").and_then(validation);
    Ok(Finding {
        rule,
        fingerprint,
        secret: Secret::new(b""),
        redacted: text(item, "redacted").unwrap_or("…").to_string(),
        key_id: text(item, "key_id").map(str::to_string),
        identifiers,
        locations,
        first_seen: seen("first_seen"),
        last_seen: seen("last_seen"),
        in_worktree: item.get("in_worktree").and_then(Value::as_bool),
        age_days: None,
        lifecycle: lifecycle(item.get("metadata").unwrap_or(&Value::Null), &validation),
        assessment: Default::default(),
        validation,
    })
}

fn parse_fingerprint(text: &str) -> Option<Fingerprint> {
    let hex = text.strip_prefix("sha256:")?;
    if hex.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(Fingerprint(bytes))
}

fn location(value: &Value) -> Result<Location, String> {
    let number = |key: &str| value.get(key).and_then(Value::as_u64).map(|n| n as usize);
    let source = match text(value, "source") {
        Some("git") => SourceKind::Git,
        Some("staged") => SourceKind::Staged,
        _ => SourceKind::File,
    };
    let decoded = value
        .get("decoded")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(|d| match d {
                    "base64" => "base64",
                    "percent" => "percent",
                    _ => "encoded",
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Location {
        path: text(value, "path")
            .ok_or("a location without a path")?
            .to_string(),
        line: number("line").unwrap_or(0),
        column: number("column").unwrap_or(0),
        end_line: number("end_line").unwrap_or(0),
        end_column: number("end_column").unwrap_or(0),
        commit: text(value, "commit").map(str::to_string),
        date: text(value, "date").map(str::to_string),
        source,
        key_path: text(value, "key_path").map(str::to_string),
        decoded,
        allow: None,
        repository: text(value, "repository").map(str::to_string),
    })
}

/// What the credential said of itself, from the report's `metadata`.
fn lifecycle(metadata: &Value, validation: &Option<Validation>) -> Lifecycle {
    let mut life = Lifecycle {
        issued_at: time(metadata, "issued_at"),
        not_before: time(metadata, "not_before"),
        expires_at: time(metadata, "expires_at"),
        ..Lifecycle::default()
    };
    if let (Some(reason), Some(seconds)) = (
        text(metadata, "short_lived"),
        metadata.get("lifetime_seconds").and_then(Value::as_i64),
    ) {
        life.type_lifetime = Some(TypeLifetime {
            seconds,
            reason: reason.to_string().into(),
        });
    }
    if let Some(ids) = metadata.get("match_ids").and_then(Value::as_array) {
        for id in ids.iter().filter_map(Value::as_str) {
            life.push_match_id(id.to_string());
        }
    }
    if let Some(map) = metadata.as_object() {
        for (family, facts) in map.iter().filter(|(_, v)| v.is_object()) {
            life.facts.insert(family.clone(), facts.clone());
        }
    }
    life.dated_by_certificate = metadata
        .pointer("/private_key/certificate")
        .is_some_and(Value::is_object);
    life.expiry_from_provider = validation
        .as_ref()
        .is_some_and(|v| v.expires_at.is_some() && v.expires_at == life.expires_at);
    life
}

fn validation(value: &Value) -> Option<Validation> {
    let result = match text(value, "result")? {
        "live" => Outcome::Live,
        "revoked" => Outcome::Revoked,
        "unknown" => Outcome::Unknown,
        _ => Outcome::Unsupported,
    };
    let strings = |key: &str| -> Vec<String> {
        value
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| Some(s.as_str()?.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    Some(Validation {
        result,
        checked_at: time(value, "checked_at").unwrap_or(0),
        identity: value
            .get("identity")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
        scopes: strings("scopes"),
        expires_at: time(value, "expires_at"),
        created_at: time(value, "created_at"),
        error: text(value, "error").map(str::to_string),
        check: text(value, "check").map(str::to_string),
        cached: value
            .get("cached")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}
