//! The one model every reporter reads: a credential (one distinct secret) and every place it
//! was seen. Reporters never re-derive facts; they only choose how to print these.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::engine::RuleInfo;
use crate::lifecycle::Lifecycle;

/// The bytes of a secret. Its `Debug` never shows them, so it cannot reach a log by accident;
/// the only way out is [`Secret::expose`], which reporters call under `--show-secrets`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: &[u8]) -> Secret {
        Secret(bytes.to_vec())
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

/// SHA-256 of the secret's exact bytes: stable across runs and machines, so baselines and
/// inventories can name a credential without holding it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    pub fn of(secret: &[u8]) -> Fingerprint {
        use sha2::Digest as _;
        Fingerprint(sha2::Sha256::digest(secret).into())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sha256:")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Where a location's bytes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    File,
    Git,
    /// Staged in the index, not yet committed (`--staged`).
    Staged,
}

/// A commit that carried a secret: the earliest (`first_seen`) or newest (`last_seen`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seen {
    pub commit: String,
    /// Committer date, RFC 3339 UTC.
    pub date: String,
    pub author: String,
    #[serde(skip)]
    pub time: i64,
}

/// An allow comment that covers a place.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AllowComment {
    /// `sprawl:allow`: the reason it gives (possibly empty), and the rule it names when that
    /// is another loaded rule than the one that matched at this place (its first word is the
    /// rule's id; a comment for one rule does not allow what another finds there).
    Sprawl {
        other_rule: Option<String>,
        reason: String,
    },
    /// Another scanner's marker (`gitleaks:allow`), which allows any rule.
    Other(&'static str),
}

/// One place a secret was seen. Lines and columns are 1-based; columns count characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub commit: Option<String>,
    /// The committer date of `commit` (RFC 3339 UTC); `None` for places outside history.
    pub date: Option<String>,
    pub source: SourceKind,
    /// Where in a structured file the value sits: `spec.containers[0].env[3].value`,
    /// `auths."registry.example.com".auth`.
    pub key_path: Option<String>,
    /// Encodings undone to find the secret, outermost first (`["base64"]`); the line and
    /// column are those of the encoded value.
    pub decoded: Vec<&'static str>,
    /// The allow comment that covers this place, as the input says it (whether it allows
    /// this finding is decided in `suppress`).
    #[serde(skip)]
    pub allow: Option<AllowComment>,
    /// The repository the place belongs to, when a report covers several (`--repos-from`,
    /// `sprawl merge`): its remote URL or folder name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

/// A distinct credential and everywhere it appears.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: Arc<RuleInfo>,
    pub fingerprint: Fingerprint,
    pub secret: Secret,
    pub redacted: String,
    pub key_id: Option<String>,
    /// Other non-secret identifiers the rule captured (user name, host, account).
    pub identifiers: BTreeMap<String, String>,
    pub locations: Vec<Location>,
    pub first_seen: Option<Seen>,
    pub last_seen: Option<Seen>,
    /// Still in HEAD's tree or the work tree (history scans only).
    pub in_worktree: Option<bool>,
    pub age_days: Option<i64>,
    /// What the credential's own text says of its identity and life.
    pub lifecycle: Lifecycle,
    /// Whose it is and whether it outlives policy, against the inventory.
    pub assessment: Assessment,
    /// What its provider said under `--validate`.
    pub validation: Option<crate::validate::Validation>,
}

#[cfg(test)]
impl Finding {
    /// A finding of `secret` at `path:1:1` and nothing else, for unit tests of later stages.
    pub fn for_test(rule: Arc<RuleInfo>, secret: &[u8], path: &str) -> Finding {
        Finding {
            rule,
            fingerprint: Fingerprint::of(secret),
            secret: Secret::new(secret),
            redacted: "…".to_string(),
            key_id: None,
            identifiers: BTreeMap::new(),
            locations: vec![Location {
                path: path.to_string(),
                line: 1,
                column: 1,
                end_line: 1,
                end_column: 1,
                commit: None,
                date: None,
                source: SourceKind::File,
                key_path: None,
                decoded: Vec::new(),
                allow: None,
                repository: None,
            }],
            first_seen: None,
            last_seen: None,
            in_worktree: None,
            age_days: None,
            lifecycle: Lifecycle::default(),
            assessment: Assessment::default(),
            validation: None,
        }
    }
}

/// Why a finding (or some of its locations) is left out of the findings that count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuppressionKind {
    /// A `sprawl:allow` comment on the line or the line above.
    Inline,
    /// An allow list of the configuration file (path, rule, fingerprint or secret regex).
    Config,
    /// Recorded in the baseline given with `--baseline`.
    Baseline,
    /// A generic rule's match (a password or token found by its key name, the least certain
    /// kind) in a path that is evidently test data: `tests/`, `testdata/`, `*_test.go`.
    TestData,
    /// A local-development default: the password is the user name at a local host
    /// (`postgres://checkout:checkout@localhost/checkout`), or a well-known default in an
    /// example file (`.env.example`).
    LocalDefault,
}

/// A finding kept out of the count, with the locations that were suppressed and why.
/// Counted in the summary and listed with `--show-suppressed`, never silently dropped.
#[derive(Debug, Clone)]
pub struct Suppressed {
    pub finding: Finding,
    pub kind: SuppressionKind,
    /// The reason given (`sprawl:allow github-pat-classic test fixture`, the allow-list
    /// entry's `reason`, or "in baseline .sprawl-baseline.json").
    pub reason: String,
}

/// A verdict on a credential. A finding may carry several (orphaned and long-lived).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Its provider accepts it (`--validate`).
    Live,
    /// No owner answers for it: no entry, no owner, or an owner who is not active.
    Orphaned,
    /// Several inventory entries claim it equally.
    AmbiguousOwner,
    /// Its own expiry, or the inventory's, is past.
    Expired,
    /// The same credential in several repositories, or under several environments' paths.
    Reused,
    /// It lives (or may live) longer than policy allows.
    LongLived,
    /// An active owner answers for it.
    Owned,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Live => "live",
            Status::Orphaned => "orphaned",
            Status::AmbiguousOwner => "ambiguous-owner",
            Status::Expired => "expired",
            Status::Reused => "reused",
            Status::LongLived => "long-lived",
            Status::Owned => "owned",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The owner an inventory entry names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerRef {
    pub id: String,
    /// The inventory entry that tied the credential to this owner.
    pub inventory_id: String,
    pub contact: Option<String>,
    /// `active`, `offboarded`, `inactive`, or `undefined` (not listed under `owners`).
    pub status: &'static str,
}

/// Statuses and the reasons behind them, with the dates they were decided from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assessment {
    /// Sorted, most pressing first.
    pub statuses: Vec<Status>,
    /// Short sentences, one per fact behind a status.
    pub reasons: Vec<String>,
    pub owner: Option<OwnerRef>,
    /// How the inventory entry matched: `fingerprint`, `key_id` or `rule`.
    pub matched_by: Option<&'static str>,
    /// The earliest known expiry: the credential's own or the inventory's.
    pub expires_at: Option<i64>,
    pub max_age_days: u32,
    /// Evidence of who probably owns an orphaned credential, strongest first.
    pub owner_hints: Vec<crate::inventory::hints::OwnerHint>,
}

impl Finding {
    /// Folds another sighting of the same secret into this finding.
    fn absorb(&mut self, other: Finding) {
        // A specific rule names the credential better than a generic one.
        if other.rule.outranks(&self.rule) {
            self.rule = other.rule;
        }
        // What the credential reveals may depend on its companion key id (an AWS secret's
        // account), so the lifecycle goes with the key id; the smaller id wins, so that the
        // report does not depend on which worker saw the secret first.
        let other_key_id_wins = match (&self.key_id, &other.key_id) {
            (None, Some(_)) => true,
            (Some(mine), Some(theirs)) => theirs < mine,
            _ => false,
        };
        if other_key_id_wins {
            let match_ids = std::mem::take(&mut self.lifecycle.match_ids);
            self.key_id = other.key_id;
            self.lifecycle = other.lifecycle;
            for id in match_ids {
                self.lifecycle.push_match_id(id);
            }
        } else {
            for id in other.lifecycle.match_ids {
                self.lifecycle.push_match_id(id);
            }
        }
        // The identifiers of one sighting, kept together (a host with its own user name):
        // the smallest set of those seen, so that the report does not depend on the order in
        // which the workers met the sightings.
        let other_identifiers_win = !other.identifiers.is_empty()
            && (self.identifiers.is_empty() || other.identifiers < self.identifiers);
        if other_identifiers_win {
            self.identifiers = other.identifiers;
        }
        self.locations.extend(other.locations);
        self.in_worktree = match (self.in_worktree, other.in_worktree) {
            (None, x) | (x, None) => x,
            (Some(a), Some(b)) => Some(a || b),
        };
    }
}

/// All findings of a run, one per fingerprint.
#[derive(Debug, Default)]
pub struct FindingSet {
    by_fingerprint: HashMap<Fingerprint, Finding>,
}

impl FindingSet {
    pub fn add(&mut self, finding: Finding) {
        match self.by_fingerprint.get_mut(&finding.fingerprint) {
            Some(existing) => existing.absorb(finding),
            None => {
                self.by_fingerprint.insert(finding.fingerprint, finding);
            }
        }
    }

    /// Folds in the findings another worker collected.
    pub fn merge(&mut self, other: FindingSet) {
        for finding in other.by_fingerprint.into_values() {
            self.add(finding);
        }
    }

    pub fn len(&self) -> usize {
        self.by_fingerprint.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_fingerprint.is_empty()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Finding> {
        self.by_fingerprint.values_mut()
    }

    /// Findings in a stable order: by first location, then fingerprint; locations sorted.
    pub fn into_sorted(self) -> Vec<Finding> {
        let mut findings: Vec<Finding> = self
            .by_fingerprint
            .into_values()
            .map(|mut f| {
                f.locations.sort();
                f.locations.dedup();
                f
            })
            .collect();
        findings.sort_by(|a, b| {
            a.locations
                .first()
                .cmp(&b.locations.first())
                .then(a.fingerprint.cmp(&b.fingerprint))
        });
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_never_shows_the_bytes() {
        let s = Secret::new(b"hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "Secret(<19 bytes redacted>)");
    }

    #[test]
    fn sightings_merge_to_the_same_finding_in_any_order() {
        let rule = Arc::new(RuleInfo {
            id: "aws-secret-access-key".to_string(),
            name: "test".to_string(),
            provider: "aws".to_string(),
            kind: crate::rules::Kind::ApiKey,
            generic: false,
            standing: crate::engine::Standing::Specific,
            weak_values: false,
            order: 0,
            description: String::new(),
            check: None,
        });
        let secret = b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
        let mut bare = Finding::for_test(rule.clone(), secret, "manifest.json");
        let mut paired = Finding::for_test(rule, secret, "credentials");
        paired.key_id = Some("AKIAV5UCDRD6PM6HU2ZX".to_string());
        // Each sighting's identifiers stay together, whichever was met first.
        let identify = |finding: &mut Finding, user: &str, host: &str| {
            finding.identifiers.insert("username".into(), user.into());
            finding.identifiers.insert("host".into(), host.into());
        };
        identify(&mut bare, "user", "redis.example.com");
        identify(&mut paired, "dlpuser", "ftp.example.com");
        paired
            .lifecycle
            .facts
            .insert("aws".into(), serde_json::json!({"account_id": "1"}));
        let merged = |first: &Finding, second: &Finding| {
            let mut set = FindingSet::default();
            set.add(first.clone());
            set.add(second.clone());
            let found = set.into_sorted();
            let finding = &found[0];
            let facts = finding.lifecycle.facts.clone();
            (finding.key_id.clone(), facts, finding.identifiers.clone())
        };
        assert_eq!(merged(&bare, &paired), merged(&paired, &bare));
        assert_eq!(
            merged(&bare, &paired).0.as_deref(),
            Some("AKIAV5UCDRD6PM6HU2ZX")
        );
        assert_eq!(merged(&bare, &paired).2["username"], "dlpuser");
        assert_eq!(merged(&bare, &paired).2["host"], "ftp.example.com");
    }

    #[test]
    fn fingerprint_is_sha256_hex() {
        assert_eq!(
            Fingerprint::of(b"abc").to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
