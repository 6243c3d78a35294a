//! The inventory file: YAML read with line and column for every defect (unknown keys, bad
//! dates, a match with two selectors, duplicate ids: the whole file is refused, never half
//! loaded), and the lint of a valid file (`sprawl inventory check`).

use std::collections::HashMap;
use std::path::Path;

use globset::{GlobBuilder, GlobSetBuilder};
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::verdict::fmt_days;
use super::{
    DEFAULT_MAX_AGE_DAYS, Entry, Inventory, InventoryError, Owner, OwnerStatus, Selector,
    normalize_id,
};
use crate::dates::{self, DAY};

// The file as written. Every map refuses unknown keys, so a typo is an error, not a
// silently ignored field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInventory {
    version: Spanned<u32>,
    #[serde(default)]
    defaults: Option<RawDefaults>,
    #[serde(default)]
    owners: Option<Vec<Spanned<RawOwner>>>,
    #[serde(default)]
    credentials: Option<Vec<Spanned<RawEntry>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    max_age_days: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOwner {
    id: Spanned<String>,
    contact: Option<String>,
    status: OwnerStatus,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: Spanned<String>,
    owner: Option<String>,
    purpose: Option<String>,
    #[serde(rename = "match")]
    selector: Spanned<RawMatch>,
    created: Option<Spanned<String>>,
    rotated: Option<Spanned<String>>,
    expires: Option<Spanned<String>>,
    max_age_days: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    fingerprint: Option<Spanned<String>>,
    key_id: Option<Spanned<String>>,
    rule: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
}

impl Inventory {
    /// Reads and validates an inventory file. Any defect is an error naming its line and
    /// column: a partial load would report credentials as orphaned that are not.
    pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| InventoryError {
            path: shown.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read the inventory: {e}"),
        })?;
        Inventory::parse(&text, &shown)
    }

    pub fn parse(text: &str, shown: &str) -> Result<Inventory, InventoryError> {
        let fail = |line: u64, column: u64, message: String| InventoryError {
            path: shown.to_string(),
            line,
            column,
            message,
        };
        let at = |span: &serde_saphyr::Location, message: String| {
            fail(span.line(), span.column(), message)
        };
        if text.trim().is_empty() {
            return Err(fail(1, 1, "empty inventory: expected `version: 1`".into()));
        }
        let raw: RawInventory = serde_saphyr::from_str_with_options(text, yaml_options(text))
            .map_err(|e| {
                let (line, column) = e
                    .location()
                    .map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
                fail(
                    line,
                    column,
                    crate::scrub::without_values(&saphyr_message(&e)),
                )
            })?;
        if raw.version.value != 1 {
            return Err(at(
                &raw.version.referenced,
                format!(
                    "unsupported version {} (this sprawl reads version 1)",
                    raw.version.value
                ),
            ));
        }
        let default_max_age_days = match raw.defaults.and_then(|d| d.max_age_days) {
            Some(days) => Some(positive_days(&days).map_err(|m| at(&days.referenced, m))?),
            None => None,
        };

        let mut owners = Vec::new();
        let mut owner_lines: HashMap<String, u64> = HashMap::new();
        for raw_owner in raw.owners.unwrap_or_default() {
            let o = raw_owner.value;
            let line = o.id.referenced.line();
            if o.id.value.trim().is_empty() {
                return Err(at(&o.id.referenced, "owner id is empty".into()));
            }
            if let Some(first) = owner_lines.insert(o.id.value.clone(), line) {
                return Err(at(
                    &o.id.referenced,
                    format!(
                        "duplicate owner id '{}' (first at line {first})",
                        o.id.value
                    ),
                ));
            }
            owners.push(Owner {
                id: o.id.value,
                contact: o.contact,
                status: o.status,
                line,
            });
        }

        let mut entries = Vec::new();
        let mut entry_lines: HashMap<String, u64> = HashMap::new();
        for raw_entry in raw.credentials.unwrap_or_default() {
            let e = raw_entry.value;
            let line = e.id.referenced.line();
            if e.id.value.trim().is_empty() {
                return Err(at(&e.id.referenced, "credential id is empty".into()));
            }
            if let Some(first) = entry_lines.insert(e.id.value.clone(), line) {
                return Err(at(
                    &e.id.referenced,
                    format!(
                        "duplicate credential id '{}' (first at line {first})",
                        e.id.value
                    ),
                ));
            }
            let selector = selector(e.selector).map_err(|(loc, m)| at(&loc, m))?;
            let date = |d: &Option<Spanned<String>>, field: &str| match d {
                None => Ok(None),
                Some(d) => dates::parse_date(&d.value).map(Some).ok_or_else(|| {
                    at(
                        &d.referenced,
                        format!(
                            "{field}: '{}' is not a date (expected YYYY-MM-DD or RFC 3339)",
                            d.value
                        ),
                    )
                }),
            };
            let max_age_days = match &e.max_age_days {
                Some(days) => Some(positive_days(days).map_err(|m| at(&days.referenced, m))?),
                None => None,
            };
            entries.push(Entry {
                id: e.id.value,
                owner: e.owner.filter(|o| !o.trim().is_empty()),
                purpose: e.purpose,
                selector,
                created: date(&e.created, "created")?,
                rotated: date(&e.rotated, "rotated")?,
                expires: date(&e.expires, "expires")?,
                max_age_days,
                line,
            });
        }
        Ok(Inventory {
            path: shown.to_string(),
            default_max_age_days,
            owners,
            entries,
            paths: None,
        })
    }

    /// Problems of the file on its own, for `sprawl inventory check` (errors are refused at
    /// load; these are the things a valid file can still get wrong).
    pub fn problems(&self, now: i64, known_rule: impl Fn(&str) -> bool) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        for entry in &self.entries {
            let line = entry.line;
            match entry.owner.as_deref() {
                None => out.push((line, format!("'{}' has no owner", entry.id))),
                Some(owner) => match self.owner(owner) {
                    None => out.push((
                        line,
                        format!(
                            "'{}': owner '{owner}' is not defined under owners",
                            entry.id
                        ),
                    )),
                    Some(o) if o.status != OwnerStatus::Active => out.push((
                        line,
                        format!(
                            "'{}': owner '{owner}' is {}; transfer or revoke it",
                            entry.id,
                            o.status.as_str()
                        ),
                    )),
                    Some(_) => {}
                },
            }
            if let Selector::Rule { rule, .. } = &entry.selector
                && !known_rule(rule)
            {
                out.push((
                    line,
                    format!(
                        "'{}': '{rule}' is not a rule id, provider or kind",
                        entry.id
                    ),
                ));
            }
            if let Some(expires) = entry.expires
                && expires < now
            {
                out.push((
                    line,
                    format!("'{}' expired on {}", entry.id, dates::date_utc(expires)),
                ));
            }
            if let (Some(created), Some(rotated)) = (entry.created, entry.rotated)
                && rotated < created
            {
                out.push((line, format!("'{}': rotated is before created", entry.id)));
            }
            let max_age = self.max_age_days(Some(entry), DEFAULT_MAX_AGE_DAYS);
            if entry.expires.is_none()
                && let Some(renewed) = entry.renewed()
                && now - renewed > i64::from(max_age) * DAY
            {
                out.push((
                    line,
                    format!(
                        "'{}' was last rotated {} ago (max {max_age})",
                        entry.id,
                        fmt_days((now - renewed) / DAY)
                    ),
                ));
            }
        }
        out
    }
}

/// The parser's limits, grown with the file: its defaults (250,000 nodes) refuse an honest
/// inventory of a large organisation (a 50 MB file has about 2 million), while what makes
/// a YAML bomb, alias expansion, stays bounded by the default alias and replay limits.
fn yaml_options(text: &str) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = budget.max_nodes.max(text.len() / 2);
    budget.max_events = budget.max_events.max(text.len());
    budget.max_total_scalar_bytes = budget.max_total_scalar_bytes.max(text.len());
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// The bare message of a YAML error (its location is reported separately).
fn saphyr_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("invalid YAML").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // "line 3 column 25: unknown field ... at line 3, column 25" -> "unknown field ..."
    let message = match first
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((_, message)) => message,
        None => first,
    };
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(", column ") => message[..at].to_string(),
        _ => message.to_string(),
    }
}

fn positive_days(days: &Spanned<u32>) -> Result<u32, String> {
    if days.value == 0 {
        Err("max_age_days must be at least 1".into())
    } else {
        Ok(days.value)
    }
}

type SelectorError = (serde_saphyr::Location, String);

fn selector(raw: Spanned<RawMatch>) -> Result<Selector, SelectorError> {
    let here = raw.referenced;
    let m = raw.value;
    let given = [
        m.fingerprint.is_some(),
        m.key_id.is_some(),
        m.rule.is_some(),
    ]
    .iter()
    .filter(|&&g| g)
    .count();
    if given != 1 {
        return Err((
            here,
            "match needs exactly one of fingerprint, key_id or rule (rule may add a path)".into(),
        ));
    }
    if let Some(path) = &m.path
        && m.rule.is_none()
    {
        return Err((path.referenced, "path is allowed only with rule".into()));
    }
    if let Some(fp) = m.fingerprint {
        let hex = fp.value.strip_prefix("sha256:").unwrap_or("");
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err((
                fp.referenced,
                "fingerprint must be sha256: followed by 64 hex digits".into(),
            ));
        }
        return Ok(Selector::Fingerprint(fp.value.to_ascii_lowercase()));
    }
    if let Some(key_id) = m.key_id {
        if key_id.value.trim().is_empty() {
            return Err((key_id.referenced, "key_id is empty".into()));
        }
        return Ok(Selector::KeyId(normalize_id(&key_id.value)));
    }
    let rule = m.rule.map(|r| r.value).unwrap_or_default();
    let path = match m.path {
        None => None,
        Some(p) => {
            let glob = GlobBuilder::new(&p.value)
                .literal_separator(true)
                .build()
                .map_err(|e| (p.referenced, format!("path: {}", e.kind())))?;
            let set = GlobSetBuilder::new()
                .add(glob)
                .build()
                .map_err(|e| (p.referenced, format!("path: {}", e.kind())))?;
            Some((p.value, set))
        }
    };
    Ok(Selector::Rule { rule, path })
}
