//! The model of one run, between the pipeline and the reporters: the credentials found
//! (each one [`Finding`] with all its places), what was set aside and why, the totals, and
//! what the inventory and the baseline say of it. Every reporter reads a [`Run`]; none
//! re-derives facts.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::engine::{DropCounts, RuleInfo};
use crate::enrich::structure::ConfigCounts;
use crate::finding::{Finding, Fingerprint, Secret, Status, Suppressed, SuppressionKind};
use crate::inventory::InventoryReport;
use crate::sources::SkipReason;
use crate::sources::history::HistorySummary;
use crate::suppress::BaselineReport;

/// Everything one scan produced.
#[derive(Debug, Default)]
pub struct Run {
    /// The credentials that count, sorted by their first place.
    pub findings: Vec<Finding>,
    /// Credentials (or places of one) kept out of the count, with why.
    pub suppressed: Vec<Suppressed>,
    pub summary: Summary,
    /// What the inventory says of the run (stale entries, undefined owners...).
    pub inventory: Option<InventoryReport>,
    /// What the baseline says of the run (new, known, fixed).
    pub baseline: Option<BaselineReport>,
    /// `sprawl explain`: every candidate and its verdict (empty in scans).
    pub explained: Vec<Explained>,
    /// The time ages and expiry were judged against (`--now`, else the clock).
    pub now: i64,
    /// What was scanned, by which sprawl and rules (the JSON report's `scan`).
    pub scan: Option<ScanInfo>,
}

/// What a report covers, so reports of many jobs can be merged and told apart.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct ScanInfo {
    /// The repository scanned (its remote URL, else its folder's name); null when several.
    pub repository: Option<String>,
    /// Its HEAD commit.
    pub commit: Option<String>,
    pub paths: Vec<String>,
    /// RFC 3339, the real clock.
    pub started_at: String,
    pub sprawl_version: String,
    /// SHA-256 of the rules used (ids, patterns, keywords, checks): reports made with
    /// different rules may disagree on what is a finding.
    pub rules_digest: String,
    /// Every repository covered, when several (`--repos-from`, `sprawl merge`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<crate::sources::repos::Repository>,
    /// `sprawl merge`: the reports merged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
}

impl ScanInfo {
    /// What a scan of `plan` with `rules` covers, started at `started_at` (seconds).
    pub fn of(
        plan: &crate::plan::Plan,
        rules: &crate::rules::RuleSet,
        started_at: i64,
    ) -> ScanInfo {
        let single = match plan.repositories.as_slice() {
            [one] if !plan.repos_from => Some(one),
            _ => None,
        };
        let mut paths: Vec<String> = plan
            .targets
            .roots
            .iter()
            .map(|r| match r.display_prefix.is_empty() {
                true => r.path.display().to_string(),
                false => r.display_prefix.clone(),
            })
            .collect();
        if plan.targets.stdin {
            paths.push("-".to_string());
        }
        ScanInfo {
            repository: single.map(|r| r.repository.clone()),
            commit: single.and_then(|r| r.commit.clone()),
            paths,
            started_at: crate::dates::rfc3339_utc(started_at),
            sprawl_version: env!("CARGO_PKG_VERSION").to_string(),
            rules_digest: rules.digest(),
            repositories: match single {
                Some(_) => Vec::new(),
                None => plan.repositories.clone(),
            },
            merged_from: Vec::new(),
        }
    }
}

/// What became of one candidate (`sprawl explain`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A finding that counts.
    Reported,
    /// A finding set aside, with the suppression's reason (`sprawl:allow: fixture`).
    Suppressed(String),
    /// Not a finding, and why, in words.
    Dropped(String),
    /// A finding whose suppression is not decided yet (between matching and emitting).
    Found,
}

/// One candidate a rule's pattern matched: where, which rule, and its verdict.
#[derive(Debug, Clone)]
pub struct Explained {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub rule: Arc<RuleInfo>,
    pub secret: Secret,
    pub fingerprint: Fingerprint,
    pub redacted: String,
    /// Encodings undone to reach it (`base64`), for candidates found decoded.
    pub decoded: Vec<&'static str>,
    pub verdict: Verdict,
}

/// How many inputs were skipped, by reason.
#[derive(Debug, Default, Clone, Serialize)]
pub struct SkipCounts {
    pub too_large: u64,
    pub binary: u64,
    pub unreadable: u64,
    pub broken_link: u64,
    /// Archives or entries a bound on archives stopped (listed in `problems`).
    #[serde(skip_serializing_if = "is_zero")]
    pub archive_limit: u64,
    /// FIFOs, sockets and devices: never opened (a FIFO would block the scan).
    #[serde(skip_serializing_if = "is_zero")]
    pub not_a_file: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What the archives found by the walk held.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ArchiveCounts {
    /// Archives opened, nested ones included.
    pub opened: u64,
    /// Their entries scanned as text (also counted in `files_scanned`).
    pub entries: u64,
}

impl ArchiveCounts {
    fn is_empty(&self) -> bool {
        self.opened == 0 && self.entries == 0
    }
}

/// A file that could not be scanned, named in the summary so nothing is lost silently.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub path: String,
    pub problem: String,
}

/// Most problems listed by path; the counts always cover all of them.
pub const MAX_LISTED_PROBLEMS: usize = 100;

/// Totals of one run.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub files_skipped: u64,
    pub findings: u64,
    pub duration_ms: u64,
    pub locations: u64,
    pub rules: u64,
    /// History scans: distinct blobs read (each once), commits walked, and whether history
    /// was cut by a shallow clone (first-seen dates are then lower bounds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistorySummary>,
    pub skipped: SkipCounts,
    /// Archives opened and their entries scanned (absent when there were none).
    #[serde(skip_serializing_if = "ArchiveCounts::is_empty")]
    pub archives: ArchiveCounts,
    /// Configuration files with matches: read as structure, or malformed and scanned as
    /// text (absent when there were none).
    #[serde(skip_serializing_if = "ConfigCounts::is_empty")]
    pub configs: ConfigCounts,
    pub problems: Vec<Problem>,
    /// Findings per status (a finding with two statuses counts under both).
    pub statuses: BTreeMap<Status, u64>,
    /// Findings (or places of one) kept out of the count, by why.
    pub suppressed: BTreeMap<SuppressionKind, u64>,
    /// Look-alikes of specific credentials that a check dropped (a bad checksum, a
    /// placeholder), by the check's family; `sprawl explain` shows each one.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub dropped: DropCounts,
    /// `--validate`: distinct credentials by what their provider said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<crate::validate::Counts>,
}

impl Summary {
    pub fn skip(&mut self, path: String, reason: &SkipReason) {
        let listed = match reason {
            SkipReason::TooLarge { .. } => {
                self.skipped.too_large += 1;
                false
            }
            SkipReason::Binary => {
                self.skipped.binary += 1;
                false
            }
            SkipReason::Unreadable(_) => {
                self.skipped.unreadable += 1;
                true
            }
            SkipReason::BrokenLink => {
                self.skipped.broken_link += 1;
                true
            }
            SkipReason::ArchiveLimit(_) => {
                self.skipped.archive_limit += 1;
                true
            }
            SkipReason::NotAFile => {
                self.skipped.not_a_file += 1;
                true
            }
        };
        self.files_skipped += 1;
        if listed && self.problems.len() < MAX_LISTED_PROBLEMS {
            self.problems.push(Problem {
                path,
                problem: reason.to_string(),
            });
        }
    }

    /// Lists a problem that is not a skipped file (an unusable history cache).
    pub fn note_problem(&mut self, path: String, problem: String) {
        if self.problems.len() < MAX_LISTED_PROBLEMS {
            self.problems.push(Problem { path, problem });
        }
    }

    /// Counts look-alikes dropped by the engine.
    pub fn add_dropped(&mut self, dropped: DropCounts) {
        for (family, n) in dropped {
            *self.dropped.entry(family).or_default() += n;
        }
    }

    /// Adds the totals of another worker's summary.
    pub fn merge(&mut self, other: Summary) {
        if let Some(history) = other.history {
            self.history
                .get_or_insert_with(HistorySummary::default)
                .merge(history);
        }
        self.files_scanned += other.files_scanned;
        self.bytes_scanned += other.bytes_scanned;
        self.files_skipped += other.files_skipped;
        self.skipped.too_large += other.skipped.too_large;
        self.skipped.binary += other.skipped.binary;
        self.skipped.unreadable += other.skipped.unreadable;
        self.skipped.broken_link += other.skipped.broken_link;
        self.skipped.archive_limit += other.skipped.archive_limit;
        self.skipped.not_a_file += other.skipped.not_a_file;
        self.archives.opened += other.archives.opened;
        self.archives.entries += other.archives.entries;
        self.configs.merge(other.configs);
        self.add_dropped(other.dropped);
        for p in other.problems {
            if self.problems.len() < MAX_LISTED_PROBLEMS {
                self.problems.push(p);
            }
        }
    }
}
