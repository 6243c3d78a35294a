//! Rules as data: the TOML rule format, loading built-in and user rule files, validation,
//! and selection (`--only-rules`, `--disable-rule`).
//!
//! A rule is only syntax here; `engine` compiles it. Validation that needs compilation
//! (does the regex parse, does it have a `secret` group) happens in `engine::Engine::new`,
//! which reports errors through [`RuleError`] as well.

pub mod check;
pub mod long_tail;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

/// Shortest keyword accepted: shorter ones hit so often that the prefilter stops filtering.
pub const MIN_KEYWORD_LEN: usize = 3;
/// Bytes before a keyword hit that a rule's regex sees, unless the rule says otherwise.
pub const DEFAULT_WINDOW_BEFORE: usize = 64;
/// Bytes after a keyword hit that a rule's regex sees, unless the rule says otherwise.
pub const DEFAULT_WINDOW_AFTER: usize = 512;

/// What kind of credential a rule finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    ApiKey,
    Token,
    PrivateKey,
    Certificate,
    Password,
    ConnectionString,
    Webhook,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ApiKey => "api-key",
            Kind::Token => "token",
            Kind::PrivateKey => "private-key",
            Kind::Certificate => "certificate",
            Kind::Password => "password",
            Kind::ConnectionString => "connection-string",
            Kind::Webhook => "webhook",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Named checks of a secret's own format, for formats that carry one (a checksum, a JSON
/// header). Offline and local: "validation" in sprawl means asking the provider whether a
/// credential is live, which this is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FormatCheck {
    /// Last 6 chars: base62 CRC32 of the body after the `prefix_` (GitHub, npm).
    Crc32Base62,
    /// Three base64url parts whose header and payload are JSON objects, header with `alg`.
    Jwt,
    /// Valid standard or URL-safe base64, ignoring whitespace and `\n` escapes.
    Base64,
    /// A PEM block whose body is base64 of at least 64 bytes.
    Pem,
}

/// A positive example: `text` must yield a finding of the rule, with exactly `secret` when given.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub text: String,
    pub secret: Option<String>,
    /// The file the text is in, for rules that read only some files (`paths`).
    #[serde(default)]
    pub path: Option<String>,
}

/// A negative example: text that must yield no finding of the rule, alone or in a file.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum NegativeExample {
    Text(String),
    #[serde(rename_all = "kebab-case")]
    InFile {
        path: String,
        text: String,
    },
}

impl NegativeExample {
    pub fn text(&self) -> &str {
        match self {
            NegativeExample::Text(text) | NegativeExample::InFile { text, .. } => text,
        }
    }

    pub fn path(&self) -> Option<&str> {
        match self {
            NegativeExample::Text(_) => None,
            NegativeExample::InFile { path, .. } => Some(path),
        }
    }
}

/// Pairs a finding with a nearby match of another rule, whose secret becomes an identifier
/// of this finding (an AWS key id next to its secret access key is one credential).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Companion {
    pub rule: String,
    pub within: usize,
    #[serde(rename = "as")]
    pub identifier: String,
}

/// One rule exactly as written in a rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: Spanned<String>,
    pub name: String,
    pub provider: String,
    pub kind: Kind,
    pub keywords: Vec<String>,
    #[serde(default)]
    pub case_insensitive: bool,
    pub pattern: String,
    pub min_entropy: Option<f64>,
    /// `validator` in rule files written before the rename is read the same.
    #[serde(alias = "validator")]
    pub format_check: Option<FormatCheck>,
    #[serde(default)]
    pub allow: Vec<String>,
    /// Regexes tried on the bytes just before the match (the rest of the key name, for
    /// generic rules): any match means the value is not a credential (`NextToken`).
    #[serde(default)]
    pub allow_before: Vec<String>,
    /// Regexes on what a named group other than `secret` captured, by group name: a match
    /// means the value is not a credential (a Kubernetes Secret's `DATABASE_USER` entry).
    #[serde(default)]
    pub allow_identifiers: std::collections::BTreeMap<String, Vec<String>>,
    /// Regexes on the path of the input: a matching file is not searched by this rule.
    #[serde(default)]
    pub exclude_paths: Vec<String>,
    /// Regexes on the path of the input: when given, the rule reads only files whose path
    /// matches one (a credential file known by its name: `.netrc`, `sftp-config.json`).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Regexes on the key path of the value (`data.DATABASE_PASSWORD`): in a configuration
    /// file that sprawl reads by its structure, the match stands only under a matching key.
    /// Text that is not a configuration file (a manifest in a README) keeps every match.
    #[serde(default)]
    pub key_paths: Vec<String>,
    /// The value sits in a field that the file's format defines as a credential: a weak
    /// one (`pass123`, `changeme`) is still a leaked credential, and reported as weak. Only
    /// markers of a reference or a stand-in (`${VAR}`, `<password>`, `*****`) drop it.
    #[serde(default)]
    pub weak_values: bool,
    pub window_before: Option<usize>,
    pub window_after: Option<usize>,
    pub description: Option<String>,
    /// Generic rules (passwords by key name, ...) give way to a specific rule that matches
    /// the same bytes, and get the stricter placeholder checks.
    #[serde(default)]
    pub generic: bool,
    /// A format that many providers share (a JWT): a rule that names the provider wins the
    /// same or overlapping bytes, and this rule's match is then not reported apart.
    #[serde(default)]
    pub broad: bool,
    /// Set for long-tail entries: the provider's name in the key name identified the value,
    /// so the rule wins bytes that a free-standing format rule also matched (a Clerk
    /// `sk_live_` key under `CLERK_SECRET_KEY` is not a Stripe key).
    #[serde(skip)]
    pub keyed: bool,
    pub companion: Option<Companion>,
    /// The provider check (`[checks.NAME]` of this or a built-in rule file) that
    /// `--validate` runs for this rule's credentials.
    pub check: Option<String>,
    #[serde(skip)]
    pub resolved_check: Option<Arc<NamedCheck>>,
    #[serde(default)]
    pub examples: Vec<Example>,
    #[serde(default)]
    pub negative_examples: Vec<NegativeExample>,
    /// Where the rule was read from, for error messages (not part of the file format).
    #[serde(skip)]
    pub origin: Origin,
}

impl Rule {
    pub fn id(&self) -> &str {
        self.id.get_ref()
    }

    pub fn window_before(&self) -> usize {
        self.window_before.unwrap_or(DEFAULT_WINDOW_BEFORE)
    }

    pub fn window_after(&self) -> usize {
        self.window_after.unwrap_or(DEFAULT_WINDOW_AFTER)
    }
}

/// File and line a rule came from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub file: String,
    pub line: usize,
    pub builtin: bool,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A provider check and the name rules call it by.
#[derive(Debug, Clone)]
pub struct NamedCheck {
    pub name: String,
    pub spec: check::CheckSpec,
}

impl NamedCheck {
    /// What `--validate-endpoint` names and rate limits share.
    pub fn endpoint(&self) -> &str {
        self.spec.endpoint_name(&self.name)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rules: Vec<Rule>,
    /// Provider checks, by name (see [`check`]).
    #[serde(default)]
    checks: BTreeMap<String, check::CheckSpec>,
    /// Long-tail entries, each one rule (see [`long_tail`]).
    #[serde(default)]
    key: Vec<long_tail::LongTailKey>,
}

/// Why a rule file or a rule selection was refused. Each renders as one line naming the file.
#[derive(Debug, Error)]
pub enum RuleError {
    // The io::Error is shown, not chained: anyhow's `{:#}` would print it twice.
    #[error("{path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{origin}: rule '{id}': {message}")]
    Invalid {
        origin: Origin,
        id: String,
        message: String,
    },
    #[error("{path}: no rule files (*.toml) found")]
    EmptyFolder { path: String },
    #[error("unknown rule id '{0}' (see `sprawl rules list`)")]
    UnknownId(String),
}

/// The rules of one run, in load order: built-in files first, then user files.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// Every check a loaded file defined, so a user's rule may name a built-in one.
    pub checks: BTreeMap<String, Arc<NamedCheck>>,
}

impl RuleSet {
    /// Rules compiled into the binary from `rules/`.
    pub fn builtin() -> Result<RuleSet, RuleError> {
        use rayon::prelude::*;
        // Files parse independently (in parallel: parsing is most of a small scan's start-up);
        // they are joined in order so ids, precedence and errors do not depend on threads.
        let parsed: Vec<RuleSet> = EMBEDDED_RULE_FILES
            .par_iter()
            .map(|(path, text)| {
                let mut one = RuleSet::default();
                one.add_file_text(path, text, true).map(|()| one)
            })
            .collect::<Result<_, _>>()?;
        let mut set = RuleSet::default();
        let mut seen = HashSet::new();
        let mut rules = Vec::new();
        for one in parsed {
            set.checks.extend(one.checks);
            rules.extend(one.rules);
        }
        for rule in rules {
            if !seen.insert(rule.id().to_string()) {
                return Err(invalid(
                    &rule,
                    "duplicate rule id (ids must be unique across all rule files)",
                ));
            }
            set.rules.push(rule);
        }
        Ok(set)
    }

    /// Adds the rules of a file, or of every `*.toml` in a folder (sorted by name).
    pub fn add_path(&mut self, path: &Path) -> Result<(), RuleError> {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|source| RuleError::Read {
            path: shown.clone(),
            error: source,
        })?;
        let files: Vec<PathBuf> = if meta.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|source| RuleError::Read {
                path: shown.clone(),
                error: source,
            })?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|ext| ext == "toml"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(RuleError::EmptyFolder { path: shown });
            }
            files
        } else {
            vec![path.to_path_buf()]
        };
        for file in files {
            let shown = file.display().to_string();
            let text = std::fs::read_to_string(&file).map_err(|source| RuleError::Read {
                path: shown.clone(),
                error: source,
            })?;
            self.add_file_text(&shown, &text, false)?;
        }
        Ok(())
    }

    /// Parses one rule file and appends its rules, checking what can be checked without compiling.
    pub fn add_file_text(
        &mut self,
        path: &str,
        text: &str,
        builtin: bool,
    ) -> Result<(), RuleError> {
        let file: RuleFile = toml::from_str(text).map_err(|err| {
            let (line, column) = err
                .span()
                .map(|span| line_col(text, span.start))
                .unwrap_or((1, 1));
            RuleError::Parse {
                path: path.to_string(),
                line,
                column,
                message: err.message().trim().replace('\n', " "),
            }
        })?;
        let mut seen: HashSet<String> = self.rules.iter().map(|r| r.id().to_string()).collect();
        // Line numbers of many rules of one file: counting newlines from the start for each
        // was quadratic (a tenth of a pre-commit run with the long-tail tables).
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
            .collect();
        let line_of = |offset: usize| line_starts.partition_point(|&start| start <= offset);
        for (name, spec) in file.checks {
            if let Some(message) = spec.problems() {
                return Err(RuleError::Parse {
                    path: path.to_string(),
                    line: 1,
                    column: 1,
                    message: format!("check '{name}': {message}"),
                });
            }
            let named = Arc::new(NamedCheck { name, spec });
            self.checks.insert(named.name.clone(), named);
        }
        let mut rules = file.rules;
        for key in file.key {
            let at = line_of(key.span_start());
            let id = key.id().to_string();
            rules.push(key.into_rule().map_err(|message| RuleError::Invalid {
                origin: Origin {
                    file: path.to_string(),
                    line: at,
                    builtin,
                },
                id,
                message,
            })?);
        }
        for mut rule in rules {
            rule.origin = Origin {
                file: path.to_string(),
                line: line_of(rule.id.span().start),
                builtin,
            };
            validate_shape(&rule)?;
            if let Some(name) = &rule.check {
                let Some(found) = self.checks.get(name) else {
                    return Err(invalid(
                        &rule,
                        format!("check '{name}' is not defined ([checks.{name}])"),
                    ));
                };
                rule.resolved_check = Some(found.clone());
            }
            if !seen.insert(rule.id().to_string()) {
                return Err(invalid(
                    &rule,
                    "duplicate rule id (ids must be unique across all rule files)",
                ));
            }
            self.rules.push(rule);
        }
        Ok(())
    }

    /// Keeps only `only` (when non-empty) and drops `disabled`; unknown ids are errors, so typos show.
    pub fn select(&mut self, only: &[String], disabled: &[String]) -> Result<(), RuleError> {
        let known: HashSet<&str> = self.rules.iter().map(|r| r.id()).collect();
        for id in only.iter().chain(disabled) {
            if !known.contains(id.as_str()) {
                return Err(RuleError::UnknownId(id.clone()));
            }
        }
        let only: HashSet<&str> = only.iter().map(String::as_str).collect();
        let disabled: HashSet<&str> = disabled.iter().map(String::as_str).collect();
        self.rules
            .retain(|r| (only.is_empty() || only.contains(r.id())) && !disabled.contains(r.id()));
        Ok(())
    }

    /// Appends the rules of `other` whose ids this set does not have yet.
    pub fn add_missing_from(&mut self, other: &RuleSet) {
        let known: HashSet<String> = self.rules.iter().map(|r| r.id().to_string()).collect();
        self.rules.extend(
            other
                .rules
                .iter()
                .filter(|r| !known.contains(r.id()))
                .cloned(),
        );
    }

    /// SHA-256 (hex) of what decides the findings: each rule's id, pattern, keywords, checks
    /// and filters, in load order.
    pub fn digest(&self) -> String {
        use sha2::Digest as _;
        let mut hash = sha2::Sha256::new();
        for r in &self.rules {
            let text = format!(
                "{}\0{}\0{:?}\0{:?}\0{:?}\0{:?}\0{:?}\0{:?}\0{:?}\0{:?}\n",
                r.id(),
                r.pattern,
                r.keywords,
                r.min_entropy,
                r.format_check,
                r.allow,
                r.paths,
                r.exclude_paths,
                r.key_paths,
                r.check
            );
            hash.update(text.as_bytes());
        }
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id() == id)
    }
}

pub(crate) fn invalid(rule: &Rule, message: impl Into<String>) -> RuleError {
    RuleError::Invalid {
        origin: rule.origin.clone(),
        id: rule.id().to_string(),
        message: message.into(),
    }
}

fn validate_shape(rule: &Rule) -> Result<(), RuleError> {
    let id = rule.id();
    let kebab = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
        && !id.contains("--");
    if !kebab {
        return Err(invalid(
            rule,
            "id must be kebab-case (a-z, 0-9, single dashes)",
        ));
    }
    if rule.name.trim().is_empty() || rule.provider.trim().is_empty() {
        return Err(invalid(rule, "name and provider must not be empty"));
    }
    if rule.keywords.is_empty() {
        return Err(invalid(
            rule,
            "keywords must not be empty: a rule without keywords would run its regex over every byte",
        ));
    }
    if let Some(short) = rule.keywords.iter().find(|k| k.len() < MIN_KEYWORD_LEN) {
        return Err(invalid(
            rule,
            format!(
                "keyword '{short}' is shorter than {MIN_KEYWORD_LEN} bytes and would hit almost everywhere"
            ),
        ));
    }
    if !rule.paths.is_empty() && rule.examples.iter().any(|e| e.path.is_none()) {
        return Err(invalid(
            rule,
            "a rule with `paths` reads only those files: give each example a `path`",
        ));
    }
    if let Some(entropy) = rule.min_entropy
        && !(0.0..=8.0).contains(&entropy)
    {
        return Err(invalid(
            rule,
            "min_entropy must be between 0 and 8 bits per byte",
        ));
    }
    if let Some(companion) = &rule.companion
        && companion.rule == id
    {
        return Err(invalid(rule, "a rule cannot be its own companion"));
    }
    Ok(())
}

/// 1-based line and column (in bytes) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[[rules]]
id = "demo-token"
name = "Demo token"
provider = "demo"
kind = "token"
keywords = ["demo_"]
pattern = '''(?P<secret>demo_[a-z0-9]{8})'''
"#;

    #[test]
    fn builtin_rules_load() {
        let set = RuleSet::builtin().expect("built-in rules parse");
        assert!(!set.rules.is_empty());
        assert!(set.rules.iter().all(|r| r.origin.builtin));
    }

    #[test]
    fn parses_a_minimal_rule_and_records_its_line() {
        let mut set = RuleSet::default();
        set.add_file_text("demo.toml", MINIMAL, false).unwrap();
        assert_eq!(set.rules[0].id(), "demo-token");
        assert_eq!(set.rules[0].origin.line, 3);
        assert_eq!(set.rules[0].kind, Kind::Token);
    }

    #[test]
    fn format_check_is_also_read_under_its_old_name() {
        for key in ["format_check", "validator"] {
            let text = format!("{MINIMAL}{key} = \"crc32-base62\"\n");
            let mut set = RuleSet::default();
            set.add_file_text("demo.toml", &text, false).unwrap();
            assert_eq!(
                set.rules[0].format_check,
                Some(FormatCheck::Crc32Base62),
                "{key}"
            );
        }
    }

    #[test]
    fn a_typo_is_a_one_line_error_with_file_line_and_column() {
        let text = MINIMAL.replace("provider", "provder");
        let err = RuleSet::default()
            .add_file_text("demo.toml", &text, false)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("demo.toml:5:1: "), "{err}");
        assert!(err.contains("provder"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn unknown_kind_is_rejected() {
        let text = MINIMAL.replace("\"token\"", "\"tokn\"");
        let err = RuleSet::default()
            .add_file_text("demo.toml", &text, false)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("demo.toml:6:"), "{err}");
    }

    #[test]
    fn duplicate_ids_and_short_keywords_are_rejected() {
        let mut set = RuleSet::default();
        set.add_file_text("a.toml", MINIMAL, false).unwrap();
        let err = set
            .add_file_text("b.toml", MINIMAL, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate rule id"), "{err}");

        let short = MINIMAL.replace("\"demo_\"", "\"de\"");
        let err = RuleSet::default()
            .add_file_text("c.toml", &short, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("shorter than 3"), "{err}");
    }

    #[test]
    fn selection_rejects_unknown_ids() {
        let mut set = RuleSet::default();
        set.add_file_text("a.toml", MINIMAL, false).unwrap();
        assert!(matches!(
            set.clone().select(&["nope".into()], &[]),
            Err(RuleError::UnknownId(_))
        ));
        set.select(&[], &["demo-token".into()]).unwrap();
        assert!(set.rules.is_empty());
    }
}
