//! The ownership inventory: a YAML file that says who answers for each credential, and the
//! verdicts drawn from it (owned, orphaned, expired, long-lived). It never holds a secret:
//! credentials are named by fingerprint, by a non-secret key id, or by rule and path.
//!
//! This file holds the model and how entries match findings; `file` reads and lints the
//! YAML, `verdict` decides a finding's statuses, `report` says what a run tells of the
//! inventory, `init` writes a starter one.

mod file;
pub mod hints;
pub mod init;
mod report;
pub mod reuse;
#[cfg(test)]
mod tests;
mod verdict;

use std::collections::BTreeSet;

use globset::GlobSet;
use serde::Deserialize;

use crate::finding::Finding;
use crate::sources::ProjectPaths;

pub use report::InventoryReport;
pub use verdict::{Policy, assess};

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
    pub(crate) fn as_str(self) -> &'static str {
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
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Selector::Fingerprint(_) => 3,
            Selector::KeyId(_) => 2,
            Selector::Rule { path: Some(_), .. } => 1,
            Selector::Rule { path: None, .. } => 0,
        }
    }

    pub(crate) fn name(&self) -> &'static str {
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
    pub(crate) fn renewed(&self) -> Option<i64> {
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

impl Inventory {
    pub(crate) fn owner(&self, id: &str) -> Option<&Owner> {
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

    pub(crate) fn max_age_days(&self, entry: Option<&Entry>, fallback: u32) -> u32 {
        entry
            .and_then(|e| e.max_age_days)
            .or(self.default_max_age_days)
            .unwrap_or(fallback)
    }
}

/// Key ids compare without case, and hex ids also without `:` separators (a thumbprint
/// copied from `openssl x509 -fingerprint` is `AB:CD:...`).
pub fn normalize_id(id: &str) -> String {
    let id = id.trim();
    // `sha256:<hex>`, the way sprawl prints fingerprints, names a thumbprint by its hex.
    let id = match id.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("sha256:") => &id[7..],
        _ => id,
    };
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
    pub(crate) fn judged_by_scan(&self, entry: &Entry) -> bool {
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
