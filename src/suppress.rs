//! What is kept out of the findings that count, and why: allow comments (read from the input
//! by `enrich::allow`, judged here), the configuration's allow lists, the baseline of known
//! findings, and generic findings in test data. Nothing is dropped
//! silently: suppressed findings are counted, and listed with `--show-suppressed`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Allow;

use crate::finding::{AllowComment, Finding, Location, Suppressed, SuppressionKind};
use crate::sources::ProjectPaths;

/// The reason an allow comment gives for the finding at its place, when it allows it: a
/// `sprawl:allow` that names no rule, or the rule that matched there; another scanner's
/// marker, whatever matched. `None` when the comment is for another rule.
pub fn allow_reason(comment: &AllowComment) -> Option<String> {
    match comment {
        AllowComment::Sprawl {
            other_rule: Some(_),
            ..
        } => None,
        AllowComment::Sprawl { reason, .. } if reason.is_empty() => {
            Some("sprawl:allow".to_string())
        }
        AllowComment::Sprawl { reason, .. } => Some(format!("sprawl:allow: {reason}")),
        AllowComment::Other(marker) => Some((*marker).to_string()),
    }
}

/// Applies allows, the baseline and the test-data rule to findings.
pub struct Suppressor<'a> {
    pub allows: &'a [Allow],
    pub baseline: Option<&'a Baseline>,
    /// Count generic findings in test paths instead of setting them aside.
    pub report_generic_in_tests: bool,
}

impl Suppressor<'_> {
    /// Splits a finding's locations into those that count (the returned finding, if any
    /// remain) and those suppressed, grouped by why.
    pub fn apply(&self, mut finding: Finding) -> (Option<Finding>, Vec<Suppressed>) {
        let fingerprint = finding.fingerprint.to_string();
        let mut kept: Vec<Location> = Vec::new();
        let mut groups: BTreeMap<(SuppressionKind, String), Vec<Location>> = BTreeMap::new();
        for location in std::mem::take(&mut finding.locations) {
            let inline = location.allow.as_ref().and_then(allow_reason);
            let why = if let Some(reason) = inline {
                Some((SuppressionKind::Inline, reason))
            } else if let Some(allow) = self.allows.iter().find(|a| a.allows(&finding, &location)) {
                Some((
                    SuppressionKind::Config,
                    format!("{}: {}", allow.origin, allow.reason),
                ))
            } else if let Some(b) = self
                .baseline
                .filter(|b| b.knows(&fingerprint, &location.path))
            {
                Some((SuppressionKind::Baseline, format!("in baseline {}", b.path)))
            } else if let Some(reason) = local_default(&finding, &location.path) {
                Some((SuppressionKind::LocalDefault, reason))
            } else if finding.rule.generic && !self.report_generic_in_tests {
                test_data_marker(&location.path).map(|marker| {
                    (
                        SuppressionKind::TestData,
                        format!("a generic match in test data ({marker})"),
                    )
                })
            } else {
                None
            };
            match why {
                Some(key) => groups.entry(key).or_default().push(location),
                None => kept.push(location),
            }
        }
        let suppressed = groups
            .into_iter()
            .map(|((kind, reason), locations)| Suppressed {
                finding: Finding {
                    locations,
                    ..finding.clone()
                },
                kind,
                reason,
            })
            .collect();
        finding.locations = kept;
        let kept = (!finding.locations.is_empty()).then_some(finding);
        (kept, suppressed)
    }
}

/// Why a finding is a local-development default rather than a leaked credential, if it is:
/// the password is the user name and the host is this machine (`checkout:checkout@localhost`),
/// or, in an example file that a project ships for others to copy (`.env.example`), the
/// password is the user name or one every cracking list starts with. A random token never
/// is either, so credentials of a known format are reported wherever they are.
pub fn local_default(finding: &Finding, path: &str) -> Option<String> {
    let secret = std::str::from_utf8(finding.secret.expose()).ok()?.trim();
    let user = ["username", "user", "login"]
        .iter()
        .find_map(|k| finding.identifiers.get(*k))
        .map(|u| u.trim());
    let same = user.is_some_and(|u| !u.is_empty() && u.eq_ignore_ascii_case(secret));
    let host = finding.identifiers.get("host").map(String::as_str);
    let example = example_file_marker(path);
    if same && host.is_some_and(is_local_host) {
        return Some(format!(
            "a local-development default: the password is the user name, at {}",
            host.unwrap_or_default()
        ));
    }
    let example = example?;
    if same {
        return Some(format!(
            "a local-development default in an example file ({example}): the password is the \
             user name"
        ));
    }
    let weak = crate::lifecycle::weak::reasons_of(&finding.lifecycle);
    weak.iter()
        .any(|r| r.starts_with("a common password"))
        .then(|| format!("a well-known default password in an example file ({example})"))
}

/// Hosts that are this machine or a name for a development setup, never a shared server.
fn is_local_host(host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap_or(host)
        .to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(&host);
    matches!(
        host,
        "localhost" | "::1" | "0.0.0.0" | "host.docker.internal"
    ) || host.starts_with("127.")
        || host.ends_with(".localhost")
        || host.ends_with(".local")
        || host.ends_with(".test")
}

/// The part of a file name that marks it as an example for others to copy
/// (`.env.example`, `settings.py.sample`, `config.dist.yml`, `database.yml.template`).
pub fn example_file_marker(path: &str) -> Option<&'static str> {
    const MARKERS: &[&str] = &["example", "sample", "template", "dist", "tmpl", "tpl"];
    let name = path.rsplit(['/', '\\', '!']).next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    lower
        .split(['.', '-', '_'])
        .skip(usize::from(!lower.starts_with('.')))
        .find_map(|part| MARKERS.iter().find(|m| **m == part))
        .copied()
}

/// What makes a path evidently test data: a folder of tests or fixtures, or a test file by
/// the naming convention of its language. `None` for other paths.
pub fn test_data_marker(path: &str) -> Option<String> {
    const FOLDERS: &[&str] = &[
        "test",
        "tests",
        "__tests__",
        "testdata",
        "test_data",
        "test-data",
        "testfixtures",
        "fixtures",
        "__fixtures__",
        "__mocks__",
        "mocks",
        "spec",
        "specs",
    ];
    let mut parts = path.split(['/', '!']).filter(|p| !p.is_empty()).peekable();
    while let Some(part) = parts.next() {
        let lower = part.to_ascii_lowercase();
        if parts.peek().is_some() {
            if FOLDERS.contains(&lower.as_str()) {
                return Some(format!("{part}/"));
            }
            continue;
        }
        // The file name: test_x.py, x_test.go, x.test.ts, x.spec.js, XTest.java, XTests.cs,
        // x_spec.rb, conftest.py.
        let stem = lower.split('.').next().unwrap_or(&lower);
        let test_file = stem.starts_with("test_")
            || stem.ends_with("_test")
            || stem.ends_with("_tests")
            || stem.ends_with("_spec")
            || stem == "conftest"
            || lower.contains(".test.")
            || lower.contains(".spec.")
            || part
                .split('.')
                .next()
                .is_some_and(|s| s.len() > 4 && (s.ends_with("Test") || s.ends_with("Tests")));
        if test_file {
            return Some(part.to_string());
        }
    }
    None
}

/// Folds suppressed parts of the same finding (from several files) into one, sorted.
pub fn merge(parts: Vec<Suppressed>) -> Vec<Suppressed> {
    let mut by_key: BTreeMap<(String, SuppressionKind, String), Suppressed> = BTreeMap::new();
    for part in parts {
        let key = (
            part.finding.fingerprint.to_string(),
            part.kind,
            part.reason.clone(),
        );
        match by_key.get_mut(&key) {
            Some(existing) => existing.finding.locations.extend(part.finding.locations),
            None => {
                by_key.insert(key, part);
            }
        }
    }
    let mut out: Vec<Suppressed> = by_key.into_values().collect();
    for s in &mut out {
        s.finding.locations.sort();
        s.finding.locations.dedup();
    }
    out.sort_by(|a, b| {
        a.finding
            .locations
            .first()
            .cmp(&b.finding.locations.first())
    });
    out
}

/// The baseline document: known findings by fingerprint and path, never the secret.
pub const BASELINE_SCHEMA: &str = "sprawl.baseline/v1";

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    // The io::Error is shown, not chained: anyhow's `{:#}` would print it twice.
    #[error("{path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    schema: String,
    findings: Vec<BaselineEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub rule: String,
    pub redacted: String,
    /// Where it was when the baseline was made. Lines are kept for people; matching uses
    /// the path only, so moving a line does not make a finding new.
    pub locations: Vec<BaselineLocation>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineLocation {
    pub path: String,
    pub line: usize,
}

/// What a scan with `--baseline` says of it.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineReport {
    pub path: String,
    /// Credentials of this scan that the baseline knows (left out of the count).
    pub known: usize,
    /// Credentials of this scan not in it (the ones reported).
    pub new: usize,
    /// Baseline entries whose secret this scan found nowhere, among those it could judge.
    pub fixed: Vec<BaselineEntry>,
    /// Baseline entries the scan could not judge fixed or not: it read part of the project
    /// (a folder, a range of commits, staged changes) and they lie, or may lie, outside it.
    pub not_judged: usize,
}

impl BaselineReport {
    pub fn new(baseline: &Baseline, findings: &[Finding], suppressed: &[Suppressed]) -> Self {
        let seen: BTreeSet<String> = findings
            .iter()
            .chain(suppressed.iter().map(|s| &s.finding))
            .map(|f| f.fingerprint.to_string())
            .collect();
        let known: BTreeSet<String> = suppressed
            .iter()
            .filter(|s| s.kind == SuppressionKind::Baseline)
            .map(|s| s.finding.fingerprint.to_string())
            .collect();
        let (judged, not_judged): (Vec<&BaselineEntry>, Vec<&BaselineEntry>) = baseline
            .entries
            .iter()
            .partition(|e| baseline.judged_by_scan(e));
        BaselineReport {
            path: baseline.path.clone(),
            known: known.len(),
            new: findings.len(),
            fixed: judged
                .into_iter()
                .filter(|e| !seen.contains(&e.fingerprint.to_ascii_lowercase()))
                .cloned()
                .collect(),
            not_judged: not_judged.len(),
        }
    }
}

/// A loaded baseline.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub path: String,
    entries: Vec<BaselineEntry>,
    /// fingerprint -> paths it was known at.
    known: HashMap<String, BTreeSet<String>>,
    /// How the scan's paths are seen from the folder the baseline's paths are relative to
    /// (the one holding it); `None` takes shown paths as they are.
    pub paths: Option<ProjectPaths>,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: shown.clone(),
            error: source,
        })?;
        Baseline::parse(&text, shown)
    }

    /// Reads a baseline's text; `shown` names it in errors.
    pub fn parse(text: &str, shown: String) -> Result<Baseline, BaselineError> {
        let file: BaselineFile =
            serde_json::from_str(text).map_err(|e| BaselineError::Invalid {
                path: shown.clone(),
                line: e.line(),
                column: e.column(),
                message: crate::scrub::without_values(
                    e.to_string().split(" at line ").next().unwrap_or(""),
                ),
            })?;
        if file.schema != BASELINE_SCHEMA {
            return Err(BaselineError::Invalid {
                path: shown,
                line: 1,
                column: 1,
                message: format!("schema is '{}', expected '{BASELINE_SCHEMA}'", file.schema),
            });
        }
        let mut known: HashMap<String, BTreeSet<String>> = HashMap::new();
        for entry in &file.findings {
            known
                .entry(entry.fingerprint.to_ascii_lowercase())
                .or_default()
                .extend(entry.locations.iter().map(|l| l.path.clone()));
        }
        Ok(Baseline {
            path: shown,
            entries: file.findings,
            known,
            paths: None,
        })
    }

    /// Is this secret known at this shown path?
    pub fn knows(&self, fingerprint: &str, shown: &str) -> bool {
        let Some(paths) = self.known.get(fingerprint) else {
            return false;
        };
        match &self.paths {
            None => paths.contains(shown),
            Some(project) => project
                .project_path(shown)
                .is_some_and(|p| paths.contains(&p)),
        }
    }

    /// Whether the scan read every place the entry was recorded at, so that not finding
    /// it means it is gone.
    fn judged_by_scan(&self, entry: &BaselineEntry) -> bool {
        self.paths.as_ref().is_none_or(|project| {
            entry.locations.iter().all(|l| {
                // An archive member is read with its archive.
                let file = l.path.split("!/").next().unwrap_or(&l.path);
                project.covers(file)
            })
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The baseline document for `findings`, with each shown path as `project_path` gives it.
    pub fn document(
        findings: &[Finding],
        project_path: impl Fn(&str) -> String,
    ) -> serde_json::Value {
        let entries: Vec<BaselineEntry> = findings
            .iter()
            .map(|f| BaselineEntry {
                fingerprint: f.fingerprint.to_string(),
                rule: f.rule.id.clone(),
                redacted: f.redacted.clone(),
                locations: f
                    .locations
                    .iter()
                    .map(|l| BaselineLocation {
                        path: project_path(&l.path),
                        line: l.line,
                    })
                    .collect(),
            })
            .collect();
        serde_json::to_value(BaselineFile {
            schema: BASELINE_SCHEMA.to_string(),
            findings: entries,
        })
        .unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_files_are_recognised_by_name() {
        for (path, marker) in [
            (".env.example", "example"),
            ("config/database.yml.sample", "sample"),
            ("app/settings.dist.php", "dist"),
            ("deploy/values.template.yaml", "template"),
            ("docker-compose.example.yml", "example"),
            ("env-sample", "sample"),
        ] {
            assert_eq!(example_file_marker(path), Some(marker), "{path}");
        }
        for path in [".env", "examples/app.env", "distance.py", "src/sample.rs"] {
            assert_eq!(example_file_marker(path), None, "{path}");
        }
    }

    #[test]
    fn local_hosts() {
        for host in [
            "localhost",
            "127.0.0.1",
            "[::1]",
            "0.0.0.0",
            "db.localhost",
            "host.docker.internal",
        ] {
            assert!(is_local_host(host), "{host}");
        }
        for host in [
            "db.acme-corp.io",
            "10.0.0.5",
            "postgres",
            "localhost.acme.io",
        ] {
            assert!(!is_local_host(host), "{host}");
        }
    }

    #[test]
    fn test_data_is_recognised_by_folder_or_file_name() {
        for (path, marker) in [
            ("tests/plugins/aws_test.py", "tests/"),
            ("pkg/testdata/config.yaml", "testdata/"),
            ("src/__tests__/api.js", "__tests__/"),
            ("spec/models/user_spec.rb", "spec/"),
            ("internal/auth_test.go", "auth_test.go"),
            ("test_settings.py", "test_settings.py"),
            ("web/login.test.ts", "login.test.ts"),
            ("src/main/java/AuthTest.java", "AuthTest.java"),
            ("lib.jar!/fixtures/a.env", "fixtures/"),
        ] {
            assert_eq!(test_data_marker(path).as_deref(), Some(marker), "{path}");
        }
        for path in [
            "src/config.py",
            "contest/app.env",
            "latest.env",
            "attestation/x.yaml",
            "Test.java",
            "docs/testing.md",
            "tests",
        ] {
            assert_eq!(test_data_marker(path), None, "{path}");
        }
    }

    #[test]
    fn allow_comments_for_this_rule_or_any() {
        let comment = |other_rule: Option<&str>, reason: &str| AllowComment::Sprawl {
            other_rule: other_rule.map(str::to_string),
            reason: reason.to_string(),
        };
        assert_eq!(
            allow_reason(&comment(None, "fixture")),
            Some("sprawl:allow: fixture".into())
        );
        assert_eq!(allow_reason(&comment(Some("jwt-token"), "x")), None);
        assert_eq!(
            allow_reason(&comment(None, "")),
            Some("sprawl:allow".into())
        );
        assert_eq!(
            allow_reason(&AllowComment::Other("gitleaks:allow")),
            Some("gitleaks:allow".into())
        );
    }
}
