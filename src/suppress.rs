//! What is kept out of the findings that count, and why: `sprawl:allow` comments, the
//! configuration's allow lists, and the baseline of known findings. Nothing is dropped
//! silently: suppressed findings are counted, and listed with `--show-suppressed`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Allow;
use crate::finding::{Finding, Location, Suppressed, SuppressionKind};
use crate::sources::ProjectPaths;

/// The marker of an inline allow comment.
const ALLOW_MARKER: &[u8] = b"sprawl:allow";

/// The text after `sprawl:allow` on the line holding `offset` or on the line above it.
pub fn inline_allow(hay: &[u8], offset: usize) -> Option<&[u8]> {
    let offset = offset.min(hay.len());
    let line_start = memchr::memrchr(b'\n', &hay[..offset]).map_or(0, |i| i + 1);
    let line_end = memchr::memchr(b'\n', &hay[offset..]).map_or(hay.len(), |i| offset + i);
    let above_start = match line_start {
        0 => 0,
        start => memchr::memrchr(b'\n', &hay[..start - 1]).map_or(0, |i| i + 1),
    };
    let text = &hay[above_start..line_end];
    let at = memchr::memmem::find(text, ALLOW_MARKER)?;
    let rest = &text[at + ALLOW_MARKER.len()..];
    let end = memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Reads an allow comment's text: an optional rule id (when `is_rule` knows it), then the
/// reason. Returns the reason when the comment allows `rule`, `None` when it names another.
pub fn allow_reason(comment: &[u8], rule: &str, is_rule: impl Fn(&str) -> bool) -> Option<String> {
    let text = String::from_utf8_lossy(comment);
    // Trailing comment closers are not part of the reason.
    let text = text
        .trim()
        .trim_end_matches("*/")
        .trim_end_matches("-->")
        .trim();
    let text = text.strip_prefix(':').unwrap_or(text).trim();
    let (first, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    if !first.is_empty() && is_rule(first) {
        if first != rule {
            return None;
        }
        return Some(reason_text(rest.trim()));
    }
    Some(reason_text(text))
}

fn reason_text(reason: &str) -> String {
    if reason.is_empty() {
        "sprawl:allow".to_string()
    } else {
        format!("sprawl:allow: {reason}")
    }
}

/// Applies allows and the baseline to findings.
pub struct Suppressor<'a> {
    pub allows: &'a [Allow],
    pub baseline: Option<&'a Baseline>,
}

impl Suppressor<'_> {
    /// Splits a finding's locations into those that count (the returned finding, if any
    /// remain) and those suppressed, grouped by why.
    pub fn apply(&self, mut finding: Finding) -> (Option<Finding>, Vec<Suppressed>) {
        let fingerprint = finding.fingerprint.to_string();
        let mut kept: Vec<Location> = Vec::new();
        let mut groups: BTreeMap<(SuppressionKind, String), Vec<Location>> = BTreeMap::new();
        for location in std::mem::take(&mut finding.locations) {
            let why = if let Some(reason) = &location.allow {
                Some((SuppressionKind::Inline, reason.clone()))
            } else if let Some(allow) = self.allows.iter().find(|a| a.allows(&finding, &location)) {
                Some((
                    SuppressionKind::Config,
                    format!("{}: {}", allow.origin, allow.reason),
                ))
            } else {
                self.baseline
                    .filter(|b| b.knows(&fingerprint, &location.path))
                    .map(|b| (SuppressionKind::Baseline, format!("in baseline {}", b.path)))
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
                message: crate::enrich::without_values(
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
    fn allow_comments_on_the_line_or_above() {
        let hay = b"a = 1\n# sprawl:allow test key\nkey = SECRET\nother = SECRET2 // sprawl:allow github-pat-classic fixture\nlast = SECRET3\n";
        let at = |needle: &str| memchr::memmem::find(hay, needle.as_bytes()).unwrap();
        assert_eq!(inline_allow(hay, at("SECRET\n")), Some(&b" test key"[..]));
        assert_eq!(
            inline_allow(hay, at("SECRET2")),
            Some(&b" github-pat-classic fixture"[..])
        );
        // The line above holds an allow meant for its own line: it covers this one too.
        assert!(inline_allow(hay, at("SECRET3")).is_some());
        assert_eq!(inline_allow(b"x = SECRET", 4), None);
        assert_eq!(inline_allow(b"SECRET", 0), None);
    }

    #[test]
    fn allow_comments_may_name_a_rule() {
        let known = |r: &str| r == "github-pat-classic" || r == "jwt-token";
        assert_eq!(
            allow_reason(b" github-pat-classic fixture", "github-pat-classic", known),
            Some("sprawl:allow: fixture".into())
        );
        assert_eq!(
            allow_reason(b" jwt-token", "github-pat-classic", known),
            None
        );
        assert_eq!(
            allow_reason(b" test key */", "github-pat-classic", known),
            Some("sprawl:allow: test key".into())
        );
        assert_eq!(allow_reason(b"", "x", known), Some("sprawl:allow".into()));
    }
}
