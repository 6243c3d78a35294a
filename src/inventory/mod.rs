//! The ownership inventory: a YAML file that says who answers for each credential, and the
//! verdicts drawn from it (owned, orphaned, expired, long-lived). It never holds a secret:
//! credentials are named by fingerprint, by a non-secret key id, or by rule and path.

pub mod init;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::sources::ProjectPaths;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::dates::{self, DAY};
use crate::finding::{Assessment, Finding, OwnerRef, Status};

/// File names looked for at the root of a scanned repository, in this order.
pub const DEFAULT_NAMES: [&str; 2] = ["sprawl-inventory.yaml", ".sprawl/inventory.yaml"];

/// The policy default when neither the entry, the inventory nor the command line sets one.
pub const DEFAULT_MAX_AGE_DAYS: u32 = 90;

/// A malformed inventory: where, and what was expected (line 0: the file as a whole).
#[derive(Debug, thiserror::Error)]
#[error("{path}{}: {message}", if *line > 0 { format!(":{line}:{column}") } else { String::new() })]
pub struct InventoryError {
    pub path: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnerStatus {
    Active,
    Offboarded,
    Inactive,
}

impl OwnerStatus {
    fn as_str(self) -> &'static str {
        match self {
            OwnerStatus::Active => "active",
            OwnerStatus::Offboarded => "offboarded",
            OwnerStatus::Inactive => "inactive",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Owner {
    pub id: String,
    pub contact: Option<String>,
    pub status: OwnerStatus,
    pub line: u64,
}

/// How an entry names its credential, from the strongest to the weakest.
#[derive(Debug, Clone)]
pub enum Selector {
    /// `sha256:<hex>` of the secret's exact bytes.
    Fingerprint(String),
    /// A non-secret identifier (AWS key id, certificate thumbprint, `iss|sub`, ...), normalised.
    KeyId(String),
    /// A rule id, provider or kind, optionally only at paths matching a glob.
    Rule {
        rule: String,
        /// A set of one glob: unlike a lone matcher, a set needs no regex for the common
        /// shapes (`dir/**`, `*.ext`, literals), which is what keeps a 50 MB inventory small.
        path: Option<(String, GlobSet)>,
    },
}

impl Selector {
    /// Higher is more specific; the most specific matching entries win.
    fn rank(&self) -> u8 {
        match self {
            Selector::Fingerprint(_) => 3,
            Selector::KeyId(_) => 2,
            Selector::Rule { path: Some(_), .. } => 1,
            Selector::Rule { path: None, .. } => 0,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Selector::Fingerprint(_) => "fingerprint",
            Selector::KeyId(_) => "key_id",
            Selector::Rule { .. } => "rule",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub owner: Option<String>,
    pub purpose: Option<String>,
    pub selector: Selector,
    pub created: Option<i64>,
    pub rotated: Option<i64>,
    pub expires: Option<i64>,
    pub max_age_days: Option<u32>,
    pub line: u64,
}

impl Entry {
    /// The last time the credential was (re)issued, as the inventory records it.
    fn renewed(&self) -> Option<i64> {
        self.rotated.max(self.created)
    }
}

/// A loaded, validated inventory.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// As given or found, for reports.
    pub path: String,
    pub default_max_age_days: Option<u32>,
    pub owners: Vec<Owner>,
    pub entries: Vec<Entry>,
    /// How the scan's paths are seen from the folder the `path` globs are relative to (the
    /// repository holding the inventory); `None` takes shown paths as they are.
    pub paths: Option<ProjectPaths>,
}

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

    fn owner(&self, id: &str) -> Option<&Owner> {
        self.owners.iter().find(|o| o.id == id)
    }

    /// The entries that name `finding`, all of the most specific kind that matches any.
    pub fn matches(&self, finding: &Finding) -> Vec<&Entry> {
        let ids = finding_ids(finding);
        let mut best: Vec<&Entry> = Vec::new();
        for entry in &self.entries {
            if !self.selects(&entry.selector, finding, &ids) {
                continue;
            }
            match best.first().map(|b| b.selector.rank()) {
                Some(rank) if rank > entry.selector.rank() => {}
                Some(rank) if rank == entry.selector.rank() => best.push(entry),
                _ => best = vec![entry],
            }
        }
        best
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

    fn max_age_days(&self, entry: Option<&Entry>, fallback: u32) -> u32 {
        entry
            .and_then(|e| e.max_age_days)
            .or(self.default_max_age_days)
            .unwrap_or(fallback)
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

/// Key ids compare without case, and hex ids also without `:` separators (a thumbprint
/// copied from `openssl x509 -fingerprint` is `AB:CD:...`).
pub fn normalize_id(id: &str) -> String {
    let id = id.trim();
    if id.len() > 2 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
        id.replace(':', "").to_ascii_lowercase()
    } else {
        id.to_ascii_lowercase()
    }
}

/// Every non-secret identifier of a finding an inventory `key_id` may name, normalised.
fn finding_ids(finding: &Finding) -> BTreeSet<String> {
    finding
        .key_id
        .iter()
        .chain(&finding.lifecycle.key_id)
        .chain(&finding.lifecycle.match_ids)
        .map(|id| normalize_id(id))
        .collect()
}

impl Inventory {
    fn selects(&self, selector: &Selector, finding: &Finding, ids: &BTreeSet<String>) -> bool {
        match selector {
            Selector::Fingerprint(fp) => *fp == finding.fingerprint.to_string(),
            Selector::KeyId(id) => ids.contains(id),
            Selector::Rule { rule, path } => {
                let r = &finding.rule;
                (r.id == *rule || r.provider == *rule || r.kind.as_str() == rule)
                    && path.as_ref().is_none_or(|(_, glob)| {
                        finding.locations.iter().any(|l| match &self.paths {
                            None => glob.is_match(&l.path),
                            Some(paths) => paths
                                .project_path(&l.path)
                                .is_some_and(|p| glob.is_match(p)),
                        })
                    })
            }
        }
    }

    /// Whether the scan could tell that this entry's credential is gone: it read the whole
    /// project, or the entry's `path` glob can only match inside what it read. An entry the
    /// scan could not judge is never called stale.
    fn judged_by_scan(&self, entry: &Entry) -> bool {
        let Some(paths) = &self.paths else {
            return true;
        };
        if paths.covers("") {
            return true;
        }
        match &entry.selector {
            Selector::Rule {
                path: Some((glob, _)),
                ..
            } => paths.covers(&glob_folder(glob)),
            _ => false,
        }
    }
}

/// The part of a glob every match starts with, cut back to a whole folder (`docs/**/*.env`
/// gives `docs/`); a glob without wildcards is a file path and stays whole.
fn glob_folder(glob: &str) -> String {
    match glob.find(['*', '?', '[', '{']) {
        None => glob.to_string(),
        Some(wild) => match glob[..wild].rfind('/') {
            Some(slash) => glob[..=slash].to_string(),
            None => String::new(),
        },
    }
}

/// What the statuses are decided against: the time and the fallback policy.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub now: i64,
    /// `--max-age-days`, used when neither the entry nor the inventory's defaults set one.
    pub max_age_days: u32,
}

/// Decides a finding's statuses from its own facts, its history and the inventory, and
/// fills `age_days` (from the newest of first-seen, issue, creation and rotation dates).
pub fn assess(finding: &mut Finding, inventory: Option<&Inventory>, policy: Policy) {
    let mut a = Assessment::default();
    let now = policy.now;
    let matched = inventory
        .map(|inv| inv.matches(finding))
        .unwrap_or_default();
    let entry = match matched.as_slice() {
        [] => {
            a.statuses.push(Status::Orphaned);
            a.reasons.push(match inventory {
                Some(_) => "no inventory entry names it".into(),
                None => "no ownership inventory (see sprawl inventory init)".into(),
            });
            None
        }
        [entry] => {
            a.matched_by = Some(entry.selector.name());
            if let Some(inv) = inventory {
                owner_status(&mut a, inv, entry);
            }
            Some(*entry)
        }
        several => {
            a.statuses.push(Status::AmbiguousOwner);
            let ids: Vec<&str> = several.iter().map(|e| e.id.as_str()).collect();
            a.reasons.push(format!(
                "{} inventory entries name it by {}: {}",
                several.len(),
                several[0].selector.name(),
                ids.join(", ")
            ));
            None
        }
    };
    a.max_age_days = inventory.map_or(policy.max_age_days, |inv| {
        inv.max_age_days(entry, policy.max_age_days)
    });
    lifetime_status(&mut a, finding, entry, now);

    let renewed = entry.and_then(Entry::renewed);
    let since = [
        finding.first_seen.as_ref().map(|s| s.time),
        renewed,
        finding.lifecycle.issued_at,
    ]
    .into_iter()
    .flatten()
    .max();
    finding.age_days = since.map(|t| (now - t).max(0) / DAY);
    a.statuses.sort();
    a.statuses.dedup();
    finding.assessment = a;
}

fn owner_status(a: &mut Assessment, inv: &Inventory, entry: &Entry) {
    let Some(owner_id) = entry.owner.as_deref() else {
        a.statuses.push(Status::Orphaned);
        a.reasons
            .push(format!("inventory entry '{}' names no owner", entry.id));
        return;
    };
    let owner = inv.owner(owner_id);
    a.owner = Some(OwnerRef {
        id: owner_id.to_string(),
        inventory_id: entry.id.clone(),
        contact: owner.and_then(|o| o.contact.clone()),
        status: owner.map_or("undefined", |o| o.status.as_str()),
    });
    match owner {
        None => {
            a.statuses.push(Status::Orphaned);
            a.reasons.push(format!(
                "owner '{owner_id}' of entry '{}' is not defined under owners",
                entry.id
            ));
        }
        Some(o) if o.status != OwnerStatus::Active => {
            a.statuses.push(Status::Orphaned);
            a.reasons
                .push(format!("owner '{owner_id}' is {}", o.status.as_str()));
        }
        Some(_) => a.statuses.push(Status::Owned),
    }
}

/// Expired, long-lived, or neither, with the reason.
fn lifetime_status(a: &mut Assessment, finding: &Finding, entry: Option<&Entry>, now: i64) {
    let life = &finding.lifecycle;
    let max_age = i64::from(a.max_age_days) * DAY;
    let max_text = a.max_age_days;
    let intrinsic = life.expires_at;
    let listed = entry.and_then(|e| e.expires);
    a.expires_at = match (intrinsic, listed) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    if let Some(expires) = a.expires_at
        && expires < now
    {
        a.statuses.push(Status::Expired);
        let source = match (intrinsic == Some(expires), life.dated_by_certificate) {
            (true, true) => "its certificate's expiry",
            (true, false) => "its own expiry",
            (false, _) => "the inventory's expiry",
        };
        a.reasons.push(format!(
            "expired {} ago on {} ({source})",
            fmt_days((now - expires) / DAY),
            dates::date_utc(expires)
        ));
        return;
    }
    if let Some(bound) = &life.type_lifetime {
        // Temporary by nature: it dies on its own, whatever the text says.
        if bound.seconds <= max_age {
            return;
        }
    }
    // A stated validity window: the credential's own, else the inventory's.
    let window = life
        .stated_lifetime()
        .map(|w| match life.dated_by_certificate {
            true => (w, "its certificate is valid for"),
            false => (w, "valid for"),
        })
        .or_else(|| {
            let e = entry?;
            Some((e.expires? - e.renewed()?, "the inventory gives it"))
        });
    if let Some((window, what)) = window {
        if window > max_age {
            a.statuses.push(Status::LongLived);
            a.reasons.push(format!(
                "{what} {} (max {max_text})",
                fmt_days(window / DAY)
            ));
        }
        return;
    }
    if let Some(expires) = a.expires_at {
        // An expiry without a start: what is left of its life is a lower bound of it.
        if expires - now > max_age {
            a.statuses.push(Status::LongLived);
            a.reasons.push(format!(
                "expires in {} (max {max_text})",
                fmt_days((expires - now) / DAY)
            ));
        }
        return;
    }
    if let Some(bound) = &life.type_lifetime {
        if bound.seconds > max_age {
            a.statuses.push(Status::LongLived);
            a.reasons.push(format!(
                "{} outlives policy (max {max_text} days)",
                bound.reason
            ));
        }
        return;
    }
    // Nothing bounds its life: only a recent rotation recorded in the inventory excuses it.
    let renewed = entry.and_then(Entry::renewed);
    if let Some(renewed) = renewed
        && now - renewed <= max_age
    {
        return;
    }
    a.statuses.push(Status::LongLived);
    let since = match (renewed, &finding.first_seen) {
        (Some(r), _) => format!("last rotated {} ago", fmt_days((now - r) / DAY)),
        (None, Some(seen)) => format!(
            "first seen {} ago",
            fmt_days((now - seen.time).max(0) / DAY)
        ),
        (None, None) => "no known rotation".into(),
    };
    a.reasons
        .push(format!("no expiry and {since} (max {max_text})"));
}

/// `1 day`, `1,204 days`
fn fmt_days(days: i64) -> String {
    let number = fmt_number(days);
    if days.abs() == 1 {
        format!("{number} day")
    } else {
        format!("{number} days")
    }
}

/// `1,204`
fn fmt_number(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The inventory-level facts of a run: what the file promised that the scan did not find,
/// and what it got wrong.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct InventoryReport {
    pub path: String,
    pub entries: usize,
    /// Entries that matched no finding: the credential is gone, or the entry is wrong.
    pub stale: Vec<String>,
    /// Entries the scan could not judge: it read part of the project (a folder, a range of
    /// commits, staged changes) and they may name credentials outside it.
    pub not_judged: Vec<String>,
    /// Entries whose owner is not defined under `owners`.
    pub dangling_owners: Vec<String>,
    /// Owners who are not active yet answer for credentials still present.
    pub offboarded_with_live_credentials: Vec<String>,
}

impl InventoryReport {
    pub fn new(inventory: &Inventory, findings: &[Finding]) -> InventoryReport {
        let mut matched: BTreeSet<&str> = BTreeSet::new();
        let mut offboarded: BTreeSet<String> = BTreeSet::new();
        for finding in findings {
            for entry in inventory.matches(finding) {
                matched.insert(&entry.id);
            }
            let live = finding.in_worktree != Some(false);
            if let Some(owner) = &finding.assessment.owner
                && live
                && matches!(owner.status, "offboarded" | "inactive")
            {
                offboarded.insert(owner.id.clone());
            }
        }
        InventoryReport {
            path: inventory.path.clone(),
            entries: inventory.entries.len(),
            stale: inventory
                .entries
                .iter()
                .filter(|e| !matched.contains(e.id.as_str()) && inventory.judged_by_scan(e))
                .map(|e| e.id.clone())
                .collect(),
            not_judged: inventory
                .entries
                .iter()
                .filter(|e| !matched.contains(e.id.as_str()) && !inventory.judged_by_scan(e))
                .map(|e| e.id.clone())
                .collect(),
            dangling_owners: inventory
                .entries
                .iter()
                .filter(|e| {
                    e.owner
                        .as_deref()
                        .is_some_and(|o| inventory.owner(o).is_none())
                })
                .map(|e| e.id.clone())
                .collect(),
            offboarded_with_live_credentials: offboarded.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::engine::RuleInfo;
    use crate::finding::Seen;
    use crate::lifecycle::TypeLifetime;
    use crate::rules::Kind;

    const NOW: i64 = 1_795_392_000; // 2026-11-23T00:00:00Z

    const EXAMPLE: &str = r#"version: 1
defaults: {max_age_days: 90}
owners:
  - {id: payments, contact: payments@example.com, status: active}
  - {id: legacy-bot, contact: old@example.com, status: offboarded}
credentials:
  - id: stripe-checkout
    owner: payments
    purpose: charge cards from the checkout service
    match: {fingerprint: "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}
    created: 2025-01-10
    rotated: 2026-10-01
    expires: 2027-01-01
    max_age_days: 30
  - id: aws-deploy
    owner: payments
    match: {key_id: AKIAXXXXXXXXXXXXXXXX}
  - id: ci-deploy-key
    owner: legacy-bot
    match: {rule: github, path: "deploy/**"}
"#;

    fn finding(rule: &str, provider: &str, secret: &[u8], path: &str) -> Finding {
        let rule = Arc::new(RuleInfo {
            id: rule.into(),
            name: rule.into(),
            provider: provider.into(),
            kind: Kind::Token,
            generic: false,
            order: 0,
            description: String::new(),
        });
        Finding::for_test(rule, secret, path)
    }

    fn policy() -> Policy {
        Policy {
            now: NOW,
            max_age_days: 90,
        }
    }

    fn parse(text: &str) -> Inventory {
        Inventory::parse(text, "inv.yaml").unwrap()
    }

    fn error(text: &str) -> String {
        Inventory::parse(text, "inv.yaml").unwrap_err().to_string()
    }

    fn judged(f: &mut Finding, inv: Option<&Inventory>) -> Vec<Status> {
        assess(f, inv, policy());
        f.assessment.statuses.clone()
    }

    #[test]
    fn the_issue_example_loads() {
        let inv = parse(EXAMPLE);
        assert_eq!(inv.owners.len(), 2);
        assert_eq!(inv.entries.len(), 3);
        assert_eq!(inv.default_max_age_days, Some(90));
        assert_eq!(inv.entries[0].max_age_days, Some(30));
        assert_eq!(inv.entries[0].line, 7);
        assert!(
            matches!(inv.entries[1].selector, Selector::KeyId(ref k) if k == "akiaxxxxxxxxxxxxxxxx")
        );
    }

    #[test]
    fn malformed_inventories_name_line_and_column() {
        assert_eq!(
            error("version: 1\nowners:\n  - {id: a, contact: x, stauts: active}\n"),
            "inv.yaml:3:25: unknown field `stauts`, expected one of id, contact, status"
        );
        assert!(
            error("version: 1\nowners:\n  - {id: a, status: gone}\n").starts_with("inv.yaml:3:")
        );
        assert_eq!(
            error(
                "version: 1\ncredentials:\n  - id: c\n    match: {rule: x}\n    created: 10/01/2025\n"
            ),
            "inv.yaml:5:14: created: '10/01/2025' is not a date (expected YYYY-MM-DD or RFC 3339)"
        );
        assert!(
            error("version: 1\ncredentials:\n  - id: c\n    match: {rule: x, key_id: y}\n")
                .contains("exactly one of fingerprint, key_id or rule")
        );
        assert!(
            error("version: 1\ncredentials:\n  - id: c\n    match: {path: 'a/**'}\n")
                .contains("exactly one")
        );
        assert!(
            error("version: 1\ncredentials:\n  - id: c\n    match: {fingerprint: abc}\n")
                .starts_with("inv.yaml:4:")
        );
        assert!(error("version: 2\n").starts_with("inv.yaml:1:10: unsupported version 2"));
        assert!(error("").contains("empty inventory"));
        assert!(error("version: 1\ncredentials:\n  - id: c\n    match: {rule: x}\n  - id: c\n    match: {rule: y}\n")
            .contains("duplicate credential id 'c' (first at line 3)"));
        assert!(
            error("version: 1\ncredentials:\n  - id: c\n    match: {rule: x, path: 'a/[b'}\n")
                .starts_with("inv.yaml:4:")
        );
        assert!(error("version: 1\ndefaults: {max_age_days: 0}\n").contains("at least 1"));
        assert!(error("version: 1\ncredentials: [\n").starts_with("inv.yaml:2:"));
    }

    #[test]
    fn no_inventory_means_orphaned_and_long_lived() {
        let mut f = finding("github-pat-classic", "github", b"s1", "a.env");
        assert_eq!(judged(&mut f, None), [Status::Orphaned, Status::LongLived]);
        assert_eq!(
            f.assessment.reasons[1],
            "no expiry and no known rotation (max 90)"
        );
    }

    #[test]
    fn owned_by_key_id_and_fingerprint_outranks_it() {
        let inv = parse(EXAMPLE);
        let mut f = finding("aws-access-key-id", "aws", b"k", "x.env");
        f.key_id = Some("AKIAXXXXXXXXXXXXXXXX".into());
        assert_eq!(
            judged(&mut f, Some(&inv)),
            [Status::LongLived, Status::Owned]
        );
        let owner = f.assessment.owner.clone().unwrap();
        assert_eq!(
            (owner.id.as_str(), owner.inventory_id.as_str()),
            ("payments", "aws-deploy")
        );
        assert_eq!(owner.contact.as_deref(), Some("payments@example.com"));
        assert_eq!(f.assessment.matched_by, Some("key_id"));

        // "hello" is the stripe entry's fingerprint: rotated 2026-10-01, expires 2027-01-01.
        let mut f = finding("github-pat-classic", "github", b"hello", "deploy/ci.yml");
        f.key_id = Some("AKIAXXXXXXXXXXXXXXXX".into());
        let statuses = judged(&mut f, Some(&inv));
        assert_eq!(f.assessment.matched_by, Some("fingerprint"));
        assert_eq!(
            f.assessment.owner.as_ref().unwrap().inventory_id,
            "stripe-checkout"
        );
        // Its inventory window (2026-10-01 .. 2027-01-01 = 92 days) exceeds its max (30).
        assert_eq!(statuses, [Status::LongLived, Status::Owned]);
        assert_eq!(f.assessment.max_age_days, 30);
        assert_eq!(f.age_days, Some(53));
    }

    #[test]
    fn offboarded_and_undefined_owners_orphan() {
        let inv = parse(EXAMPLE);
        let mut f = finding("github-pat-classic", "github", b"t", "deploy/keys/ci.txt");
        assert_eq!(judged(&mut f, Some(&inv))[0], Status::Orphaned);
        assert_eq!(f.assessment.reasons[0], "owner 'legacy-bot' is offboarded");
        assert_eq!(f.assessment.owner.as_ref().unwrap().status, "offboarded");
        // The glob is on the path: elsewhere nothing matches.
        let mut f = finding("github-pat-classic", "github", b"t", "src/ci.txt");
        judged(&mut f, Some(&inv));
        assert_eq!(f.assessment.reasons[0], "no inventory entry names it");

        let inv = parse(
            "version: 1\ncredentials:\n  - id: x\n    owner: ghost\n    match: {rule: token}\n",
        );
        let mut f = finding("r", "p", b"t", "a");
        assert_eq!(judged(&mut f, Some(&inv))[0], Status::Orphaned);
        assert_eq!(f.assessment.owner.as_ref().unwrap().status, "undefined");
        let report = InventoryReport::new(&inv, &[f]);
        assert_eq!(report.dangling_owners, ["x"]);
        assert!(report.stale.is_empty());
    }

    #[test]
    fn two_equal_matches_are_ambiguous() {
        let inv = parse(
            "version: 1\nowners: [{id: a, status: active}]\ncredentials:\n  - {id: one, owner: a, match: {rule: github}}\n  - {id: two, owner: a, match: {rule: token}}\n  - {id: three, owner: a, match: {rule: github, path: 'x/**'}}\n",
        );
        let mut f = finding("github-pat-classic", "github", b"t", "a.txt");
        assert_eq!(judged(&mut f, Some(&inv))[0], Status::AmbiguousOwner);
        assert_eq!(
            f.assessment.reasons[0],
            "2 inventory entries name it by rule: one, two"
        );
        assert!(f.assessment.owner.is_none());
        // A path makes a rule entry more specific.
        let mut f = finding("github-pat-classic", "github", b"t", "x/a.txt");
        assert_eq!(judged(&mut f, Some(&inv)).last(), Some(&Status::Owned));
        assert_eq!(f.assessment.owner.unwrap().inventory_id, "three");
    }

    #[test]
    fn expiry_boundaries() {
        let mut f = finding("jwt", "jwt", b"t", "a");
        f.lifecycle.expires_at = Some(NOW);
        assert!(
            !judged(&mut f, None).contains(&Status::Expired),
            "expiry == now is not past"
        );
        f.lifecycle.expires_at = Some(NOW - 1);
        assert!(judged(&mut f, None).contains(&Status::Expired));
        assert!(!f.assessment.statuses.contains(&Status::LongLived));
        assert_eq!(f.assessment.expires_at, Some(NOW - 1));

        let inv = parse(
            "version: 1\ncredentials:\n  - {id: e, match: {rule: jwt}, expires: 2026-11-22}\n",
        );
        let mut f = finding("jwt", "jwt", b"t", "a");
        assert!(judged(&mut f, Some(&inv)).contains(&Status::Expired));
        assert!(
            f.assessment
                .reasons
                .iter()
                .any(|r| r.contains("the inventory's expiry"))
        );
    }

    #[test]
    fn max_age_boundaries() {
        let days = |n: i64| NOW - n * DAY;
        let rotated = |n: i64| {
            parse(&format!(
                "version: 1\nowners: [{{id: a, status: active}}]\ncredentials:\n  - {{id: e, owner: a, match: {{rule: token}}, rotated: {}}}\n",
                dates::date_utc(days(n))
            ))
        };
        let mut f = finding("r", "p", b"t", "a");
        assert_eq!(
            judged(&mut f, Some(&rotated(90))),
            [Status::Owned],
            "exactly max_age days"
        );
        assert_eq!(
            judged(&mut f, Some(&rotated(91))),
            [Status::LongLived, Status::Owned]
        );
        assert_eq!(
            f.assessment.reasons[0],
            "no expiry and last rotated 91 days ago (max 90)"
        );
        assert_eq!(f.age_days, Some(91));

        // A stated window of exactly max_age is within policy; one second more is not.
        let mut f = finding("x509", "x509", b"c", "a");
        f.lifecycle.not_before = Some(days(10));
        f.lifecycle.expires_at = Some(days(10) + 90 * DAY);
        assert_eq!(judged(&mut f, None), [Status::Orphaned]);
        f.lifecycle.expires_at = Some(days(10) + 90 * DAY + 1);
        assert_eq!(judged(&mut f, None), [Status::Orphaned, Status::LongLived]);
        assert_eq!(f.assessment.reasons[1], "valid for 90 days (max 90)");

        // An expiry without a start: long-lived when more than max_age is left.
        let mut f = finding("jwt", "jwt", b"j", "a");
        f.lifecycle.expires_at = Some(NOW + 400 * DAY);
        assert!(judged(&mut f, None).contains(&Status::LongLived));
        f.lifecycle.expires_at = Some(NOW + 30 * DAY);
        assert!(!judged(&mut f, None).contains(&Status::LongLived));
    }

    #[test]
    fn temporary_credentials_are_short_lived_and_history_dates_age() {
        let mut f = finding("github-app-installation-token", "github", b"g", "a");
        f.lifecycle.type_lifetime = Some(TypeLifetime {
            seconds: 3600,
            reason: "GitHub App installation token (1 hour)",
        });
        assert_eq!(judged(&mut f, None), [Status::Orphaned]);

        let mut f = finding("r", "p", b"h", "a");
        f.first_seen = Some(Seen {
            commit: "c".into(),
            date: String::new(),
            author: String::new(),
            time: NOW - 1204 * DAY,
        });
        judged(&mut f, None);
        assert_eq!(
            f.assessment.reasons[1],
            "no expiry and first seen 1,204 days ago (max 90)"
        );
        assert_eq!(f.age_days, Some(1204));
    }

    #[test]
    fn check_lists_what_a_valid_file_gets_wrong() {
        let inv = parse(EXAMPLE);
        let problems = inv.problems(NOW, |r| r == "github");
        assert_eq!(
            problems,
            [(
                18,
                "'ci-deploy-key': owner 'legacy-bot' is offboarded; transfer or revoke it".into()
            )]
        );
        let problems = inv.problems(NOW, |_| false);
        assert!(
            problems[1]
                .1
                .contains("'github' is not a rule id, provider or kind")
        );
    }

    #[test]
    fn hex_ids_compare_without_case_or_colons() {
        assert_eq!(normalize_id("AB:CD:EF"), "abcdef");
        assert_eq!(normalize_id("AKIAXX"), "akiaxx");
        assert_eq!(fmt_days(1204), "1,204 days");
        assert_eq!(fmt_days(5), "5 days");
        assert_eq!(fmt_days(1), "1 day");
    }
}
