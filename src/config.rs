//! `.sprawl.toml`: a repository's settings (extra rules, disabled rules, allow lists,
//! inventory, policy, size limits), and how they combine with the command line: the command
//! line wins, then the file, then the built-in default. `sprawl config show` prints which.

use std::fmt;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;
use toml::Spanned;

use crate::finding::{Finding, Location, Status};
use crate::rules::line_col;

/// Looked for at the scanned repository's root (and at a scanned folder).
pub const FILE_NAME: &str = ".sprawl.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
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

/// Which statuses make `sprawl scan` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    /// The provider accepts it (with `--validate`).
    Live,
    Orphaned,
    LongLived,
    Expired,
    AmbiguousOwner,
    /// In several repositories, or under several environments' paths.
    Reused,
    /// Any finding at all.
    Any,
    /// Never: exit 0 whatever is found (errors still exit 2).
    None,
}

impl FailOn {
    /// Whether a finding with these statuses fails the run under this choice.
    pub fn fails(self, finding: &Finding) -> bool {
        let has = |status| finding.assessment.statuses.contains(&status);
        match self {
            FailOn::Any => true,
            FailOn::None => false,
            FailOn::Live => has(Status::Live),
            FailOn::Orphaned => has(Status::Orphaned),
            FailOn::LongLived => has(Status::LongLived),
            FailOn::Expired => has(Status::Expired),
            FailOn::AmbiguousOwner => has(Status::AmbiguousOwner),
            FailOn::Reused => has(Status::Reused),
        }
    }
}

/// Parses `1048576`, `512K`, `25M`, `25MiB`, `1G` (binary units).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits_end);
    let number: u64 = number
        .parse()
        .map_err(|_| "not a size (try 25M)".to_string())?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err("unknown unit (use K, M or G)".to_string()),
    };
    number
        .checked_mul(1u64 << shift)
        .ok_or_else(|| "too large".to_string())
}

// The file as written: unknown keys are errors, so a typo is caught, not ignored.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    rules: Option<Spanned<Vec<String>>>,
    disable_rules: Option<Spanned<Vec<String>>>,
    inventory: Option<Spanned<String>>,
    max_file_size: Option<Spanned<SizeValue>>,
    max_age_days: Option<Spanned<u32>>,
    fail_on: Option<Spanned<Vec<FailOn>>>,
    archives: Option<Spanned<bool>>,
    max_archive_size: Option<Spanned<SizeValue>>,
    report_generic_in_tests: Option<Spanned<bool>>,
    validate_endpoints: Option<Spanned<std::collections::BTreeMap<String, String>>>,
    environments: Option<Spanned<std::collections::BTreeMap<String, Vec<String>>>>,
    #[serde(default)]
    allow: Vec<Spanned<RawAllow>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SizeValue {
    Bytes(u64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    path: Option<Spanned<String>>,
    rule: Option<String>,
    fingerprint: Option<Spanned<String>>,
    secret_regex: Option<Spanned<String>>,
    reason: Option<String>,
}

/// One allow-list entry: every condition it gives must hold.
#[derive(Debug, Clone)]
pub struct Allow {
    path: Option<GlobMatcher>,
    rule: Option<String>,
    fingerprint: Option<String>,
    secret: Option<Regex>,
    pub reason: String,
    /// Where it was written, for reports: `.sprawl.toml:12`.
    pub origin: String,
}

impl Allow {
    /// Does this entry allow `finding` at `location`?
    pub fn allows(&self, finding: &Finding, location: &Location) -> bool {
        self.path
            .as_ref()
            .is_none_or(|g| g.is_match(&location.path))
            && self.rule.as_ref().is_none_or(|r| *r == finding.rule.id)
            && self
                .fingerprint
                .as_ref()
                .is_none_or(|fp| *fp == finding.fingerprint.to_string())
            && self
                .secret
                .as_ref()
                .is_none_or(|re| re.is_match(finding.secret.expose()))
    }
}

/// A value and where it came from.
#[derive(Debug, Clone)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Setting<T> {
    fn at(source: &impl Fn(usize) -> Source, offset: usize, value: T) -> Setting<T> {
        Setting {
            value,
            source: source(offset),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    /// `.sprawl.toml:5`
    File(String),
    CommandLine,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(at) => f.write_str(at),
            Source::CommandLine => f.write_str("command line"),
        }
    }
}

/// A loaded configuration file; every field is what the file set, if it set it.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file, as given or found; `None` when there is none.
    pub path: Option<PathBuf>,
    pub rule_paths: Option<Setting<Vec<PathBuf>>>,
    pub disabled_rules: Option<Setting<Vec<String>>>,
    pub inventory: Option<Setting<PathBuf>>,
    pub max_file_size: Option<Setting<u64>>,
    pub max_age_days: Option<Setting<u32>>,
    pub fail_on: Option<Setting<Vec<FailOn>>>,
    pub archives: Option<Setting<bool>>,
    pub max_archive_size: Option<Setting<u64>>,
    pub report_generic_in_tests: Option<Setting<bool>>,
    /// `validate_endpoints = { github = "https://ghe.acme.io/api/v3" }`
    pub validate_endpoints: Option<Setting<std::collections::BTreeMap<String, String>>>,
    /// `environments = { prod = ["prod", "live"], dev = ["dev"] }`: path words per environment.
    pub environments: Option<Setting<crate::inventory::reuse::Environments>>,
    pub allows: Vec<Allow>,
}

impl Config {
    /// Reads and checks a configuration file. Paths in it are relative to its folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            error: source,
        })?;
        Config::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let invalid = |offset: usize, message: String| {
            let (line, column) = line_col(text, offset);
            ConfigError::Invalid {
                path: shown.clone(),
                line,
                column,
                message,
            }
        };
        let raw: RawConfig = toml::from_str(text).map_err(|err| {
            let offset = err.span().map_or(0, |s| s.start);
            invalid(
                offset,
                crate::scrub::without_values(&err.message().trim().replace('\n', " ")),
            )
        })?;
        let name = path
            .file_name()
            .map_or_else(|| shown.clone(), |n| n.to_string_lossy().into_owned());
        let at = |offset: usize| Source::File(format!("{name}:{}", line_col(text, offset).0));
        let base = path.parent().unwrap_or(Path::new("")).to_path_buf();

        let size =
            |value: Option<Spanned<SizeValue>>| -> Result<Option<Setting<u64>>, ConfigError> {
                let Some(value) = value else {
                    return Ok(None);
                };
                let start = value.span().start;
                let bytes = match value.into_inner() {
                    SizeValue::Bytes(n) => n,
                    SizeValue::Text(t) => parse_size(&t).map_err(|m| invalid(start, m))?,
                };
                Ok(Some(Setting::at(&at, start, bytes)))
            };
        let max_file_size = size(raw.max_file_size)?;
        let max_archive_size = size(raw.max_archive_size)?;
        if let Some(days) = &raw.max_age_days
            && *days.get_ref() == 0
        {
            return Err(invalid(
                days.span().start,
                "max_age_days must be at least 1".into(),
            ));
        }
        let validate_endpoints = match raw.validate_endpoints {
            Some(endpoints) => {
                let start = endpoints.span().start;
                let mut checked = std::collections::BTreeMap::new();
                for (name, url) in endpoints.into_inner() {
                    let (name, url) = crate::validate::parse_endpoint(&format!("{name}={url}"))
                        .map_err(|m| invalid(start, format!("validate_endpoints: {m}")))?;
                    checked.insert(name, url);
                }
                Some(Setting::at(&at, start, checked))
            }
            None => None,
        };
        let environments = match raw.environments {
            Some(table) => {
                let start = table.span().start;
                let mut envs = Vec::new();
                for (name, words) in table.into_inner() {
                    if words.is_empty() || words.iter().any(|w| w.trim().is_empty()) {
                        return Err(invalid(
                            start,
                            format!(
                                "environments.{name}: give the path words that mean it, like [\"prod\", \"production\"]"
                            ),
                        ));
                    }
                    envs.push((name, words.iter().map(|w| w.to_ascii_lowercase()).collect()));
                }
                Some(Setting::at(
                    &at,
                    start,
                    crate::inventory::reuse::Environments(envs),
                ))
            }
            None => None,
        };
        let mut allows = Vec::new();
        for entry in raw.allow {
            let start = entry.span().start;
            allows.push(allow(entry.into_inner(), start, &name, text, &invalid)?);
        }
        Ok(Config {
            path: Some(path.to_path_buf()),
            rule_paths: raw.rules.map(|r| {
                let start = r.span().start;
                Setting::at(
                    &at,
                    start,
                    r.into_inner().iter().map(|p| base.join(p)).collect(),
                )
            }),
            disabled_rules: raw.disable_rules.map(|d| {
                let start = d.span().start;
                Setting::at(&at, start, d.into_inner())
            }),
            inventory: raw.inventory.map(|i| {
                let start = i.span().start;
                Setting::at(&at, start, base.join(i.into_inner()))
            }),
            max_file_size,
            max_age_days: raw.max_age_days.map(|d| {
                let start = d.span().start;
                Setting::at(&at, start, d.into_inner())
            }),
            fail_on: raw.fail_on.map(|f| {
                let start = f.span().start;
                Setting::at(&at, start, f.into_inner())
            }),
            archives: raw.archives.map(|a| {
                let start = a.span().start;
                Setting::at(&at, start, a.into_inner())
            }),
            max_archive_size,
            report_generic_in_tests: raw.report_generic_in_tests.map(|r| {
                let start = r.span().start;
                Setting::at(&at, start, r.into_inner())
            }),
            validate_endpoints,
            environments,
            allows,
        })
    }

    /// The first `.sprawl.toml` at a scanned folder or the root of its repository.
    pub fn find(folders: &[PathBuf]) -> Option<PathBuf> {
        folders
            .iter()
            .map(|f| f.join(FILE_NAME))
            .find(|candidate| candidate.is_file())
    }
}

/// The settings of a run: the command line over the configuration file over the defaults.
#[derive(Debug, Clone)]
pub struct Effective {
    /// The configuration file read, if any.
    pub file: Option<PathBuf>,
    /// Extra rule files: the configuration's, then the command line's.
    pub rule_paths: Vec<Setting<PathBuf>>,
    pub disabled_rules: Vec<Setting<String>>,
    pub inventory: Setting<Option<PathBuf>>,
    pub max_file_size: Setting<u64>,
    pub max_age_days: Setting<u32>,
    pub fail_on: Setting<Vec<FailOn>>,
    /// Open archives and scan their entries.
    pub archives: Setting<bool>,
    pub max_archive_size: Setting<u64>,
    /// Count generic findings (passwords and tokens found by key name) in test paths,
    /// instead of setting them aside as test data.
    pub report_generic_in_tests: Setting<bool>,
    /// API bases for `--validate`, by endpoint name: the file's, then the command line's.
    pub validate_endpoints: Vec<Setting<(String, String)>>,
    /// Path words per environment, for `reused`.
    pub environments: Setting<crate::inventory::reuse::Environments>,
    pub allows: Vec<Allow>,
}

/// What the command line said, for [`Effective::resolve`].
#[derive(Debug, Clone, Default)]
pub struct CommandLine {
    pub rule_paths: Vec<PathBuf>,
    pub disabled_rules: Vec<String>,
    pub inventory: Option<PathBuf>,
    pub max_file_size: Option<u64>,
    pub max_age_days: Option<u32>,
    pub fail_on: Vec<FailOn>,
    /// `Some(false)` with `--no-archives`.
    pub archives: Option<bool>,
    pub max_archive_size: Option<u64>,
    pub validate_endpoints: Vec<(String, String)>,
}

impl Effective {
    pub fn resolve(cli: CommandLine, config: Config, defaults: Defaults) -> Effective {
        fn pick<T>(cli: Option<T>, file: Option<Setting<T>>, default: T) -> Setting<T> {
            match (cli, file) {
                (Some(value), _) => Setting {
                    value,
                    source: Source::CommandLine,
                },
                (None, Some(setting)) => setting,
                (None, None) => Setting {
                    value: default,
                    source: Source::Default,
                },
            }
        }
        let rule_paths = listed(config.rule_paths, cli.rule_paths);
        let disabled_rules = listed(config.disabled_rules, cli.disabled_rules);
        let inventory = match (cli.inventory, config.inventory) {
            (Some(path), _) => Setting {
                value: Some(path),
                source: Source::CommandLine,
            },
            (None, Some(s)) => Setting {
                value: Some(s.value),
                source: s.source,
            },
            (None, None) => Setting {
                value: defaults.inventory,
                source: Source::Default,
            },
        };
        Effective {
            file: config.path,
            rule_paths,
            disabled_rules,
            inventory,
            max_file_size: pick(
                cli.max_file_size,
                config.max_file_size,
                defaults.max_file_size,
            ),
            max_age_days: pick(cli.max_age_days, config.max_age_days, defaults.max_age_days),
            fail_on: pick(
                (!cli.fail_on.is_empty()).then_some(cli.fail_on),
                config.fail_on,
                vec![FailOn::Any],
            ),
            archives: pick(cli.archives, config.archives, true),
            max_archive_size: pick(
                cli.max_archive_size,
                config.max_archive_size,
                defaults.max_archive_size,
            ),
            report_generic_in_tests: pick(None, config.report_generic_in_tests, false),
            validate_endpoints: listed(
                config.validate_endpoints.map(|s| Setting {
                    value: s.value.into_iter().collect(),
                    source: s.source,
                }),
                cli.validate_endpoints,
            ),
            environments: pick(None, config.environments, Default::default()),
            allows: config.allows,
        }
    }
}

/// A list setting: the file's items, then the command line's, each with its origin.
fn listed<T>(file: Option<Setting<Vec<T>>>, cli: Vec<T>) -> Vec<Setting<T>> {
    let mut out: Vec<Setting<T>> = match file {
        Some(s) => {
            let source = s.source;
            s.value
                .into_iter()
                .map(|value| Setting {
                    value,
                    source: source.clone(),
                })
                .collect()
        }
        None => Vec::new(),
    };
    out.extend(cli.into_iter().map(|value| Setting {
        value,
        source: Source::CommandLine,
    }));
    out
}

/// `key = [a, b]  # origins` for a list setting (`# default` when empty).
fn list_line<T>(
    f: &mut fmt::Formatter<'_>,
    key: &str,
    items: &[Setting<T>],
    show: impl Fn(&T) -> String,
) -> fmt::Result {
    let values: Vec<String> = items.iter().map(|i| show(&i.value)).collect();
    let sources: Vec<String> = items.iter().map(|i| i.source.to_string()).collect();
    let source = if sources.is_empty() {
        "default".to_string()
    } else {
        sources.join(", ")
    };
    writeln!(
        f,
        "{:<40} # {source}",
        format!("{key} = [{}]", values.join(", "))
    )
}

/// The built-in defaults (the inventory's is the one found at the repository root).
#[derive(Debug, Clone)]
pub struct Defaults {
    pub max_file_size: u64,
    pub max_archive_size: u64,
    pub max_age_days: u32,
    pub inventory: Option<PathBuf>,
}

impl fmt::Display for Effective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self
            .file
            .as_ref()
            .map_or("none".to_string(), |p| p.display().to_string());
        writeln!(f, "# configuration file: {file}")?;
        let line = |f: &mut fmt::Formatter<'_>, key: &str, value: String, source: &Source| {
            writeln!(f, "{:<40} # {source}", format!("{key} = {value}"))
        };
        let quoted = |s: &str| format!("{s:?}");
        list_line(f, "rules", &self.rule_paths, |p| {
            quoted(&p.display().to_string())
        })?;
        list_line(f, "disable_rules", &self.disabled_rules, |d| quoted(d))?;
        list_line(
            f,
            "validate_endpoints",
            &self.validate_endpoints,
            |(n, u)| format!("{n} = {}", quoted(u)),
        )?;
        let inventory = self
            .inventory
            .value
            .as_ref()
            .map_or("none".to_string(), |p| quoted(&p.display().to_string()));
        let inventory_source = match (&self.inventory.source, &self.inventory.value) {
            (Source::Default, Some(_)) => "found at the repository root".to_string(),
            (source, _) => source.to_string(),
        };
        writeln!(
            f,
            "{:<40} # {inventory_source}",
            format!("inventory = {inventory}")
        )?;
        line(
            f,
            "max_file_size",
            self.max_file_size.value.to_string(),
            &self.max_file_size.source,
        )?;
        line(
            f,
            "max_age_days",
            self.max_age_days.value.to_string(),
            &self.max_age_days.source,
        )?;
        let fail_on: Vec<String> = self
            .fail_on
            .value
            .iter()
            .filter_map(clap::ValueEnum::to_possible_value)
            .map(|v| quoted(v.get_name()))
            .collect();
        line(
            f,
            "fail_on",
            format!("[{}]", fail_on.join(", ")),
            &self.fail_on.source,
        )?;
        line(
            f,
            "archives",
            self.archives.value.to_string(),
            &self.archives.source,
        )?;
        line(
            f,
            "max_archive_size",
            self.max_archive_size.value.to_string(),
            &self.max_archive_size.source,
        )?;
        line(
            f,
            "report_generic_in_tests",
            self.report_generic_in_tests.value.to_string(),
            &self.report_generic_in_tests.source,
        )?;
        let environments: Vec<String> = self
            .environments
            .value
            .0
            .iter()
            .map(|(name, words)| format!("{name} = {words:?}"))
            .collect();
        line(
            f,
            "environments",
            format!("{{ {} }}", environments.join(", ")),
            &self.environments.source,
        )?;
        for allow in &self.allows {
            writeln!(f, "[[allow]]  # {}: {}", allow.origin, allow.reason)?;
        }
        Ok(())
    }
}

fn allow(
    raw: RawAllow,
    start: usize,
    name: &str,
    text: &str,
    invalid: &impl Fn(usize, String) -> ConfigError,
) -> Result<Allow, ConfigError> {
    let origin = format!("{name}:{}", line_col(text, start).0);
    let Some(reason) = raw.reason.filter(|r| !r.trim().is_empty()) else {
        return Err(invalid(
            start,
            "allow entry needs a reason (reason = \"...\")".into(),
        ));
    };
    if raw.path.is_none()
        && raw.rule.is_none()
        && raw.fingerprint.is_none()
        && raw.secret_regex.is_none()
    {
        return Err(invalid(
            start,
            "allow entry needs at least one of path, rule, fingerprint or secret_regex".into(),
        ));
    }
    let path = match raw.path {
        None => None,
        Some(p) => Some(
            GlobBuilder::new(p.get_ref())
                .literal_separator(true)
                .build()
                .map_err(|e| invalid(p.span().start, format!("path: {}", e.kind())))?
                .compile_matcher(),
        ),
    };
    let fingerprint = match raw.fingerprint {
        None => None,
        Some(fp) => {
            let value = fp.get_ref().to_ascii_lowercase();
            let hex = value.strip_prefix("sha256:").unwrap_or("");
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(
                    fp.span().start,
                    "fingerprint must be sha256: followed by 64 hex digits".into(),
                ));
            }
            Some(value)
        }
    };
    let secret = match raw.secret_regex {
        None => None,
        Some(re) => Some(
            // As rule patterns are: ASCII classes over bytes (the crate has no Unicode tables,
            // so `\d` would otherwise be refused).
            RegexBuilder::new(re.get_ref())
                .unicode(false)
                .build()
                .map_err(|e| invalid(re.span().start, format!("secret_regex: {e}")))?,
        ),
    };
    Ok(Allow {
        path,
        rule: raw.rule,
        fingerprint,
        secret,
        reason,
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("25M"), Ok(25 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5T").is_err());
    }

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("repo/.sprawl.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_full_file_loads_with_sources() {
        let config = parse(
            "rules = [\"security/rules\"]\ndisable_rules = [\"generic-password\"]\n\
             inventory = \"ops/inventory.yaml\"\nmax_file_size = \"10M\"\nmax_age_days = 60\n\
             fail_on = [\"orphaned\", \"long-lived\"]\n\n[[allow]]\npath = \"tests/**\"\n\
             reason = \"fake keys\"\n",
        )
        .unwrap();
        let rules = config.rule_paths.unwrap();
        assert_eq!(rules.value, [PathBuf::from("repo/security/rules")]);
        assert_eq!(rules.source.to_string(), ".sprawl.toml:1");
        assert_eq!(config.max_file_size.unwrap().value, 10 << 20);
        assert_eq!(
            config.max_age_days.unwrap().source.to_string(),
            ".sprawl.toml:5"
        );
        assert_eq!(
            config.fail_on.unwrap().value,
            [FailOn::Orphaned, FailOn::LongLived]
        );
        assert_eq!(
            config.inventory.unwrap().value,
            PathBuf::from("repo/ops/inventory.yaml")
        );
        assert_eq!(config.allows.len(), 1);
        assert_eq!(config.allows[0].origin, ".sprawl.toml:8");
    }

    #[test]
    fn archive_settings_load_and_the_command_line_wins() {
        let config = parse("archives = false\nmax_archive_size = \"64M\"\n").unwrap();
        let defaults = Defaults {
            max_file_size: 1,
            max_archive_size: 2,
            max_age_days: 3,
            inventory: None,
        };
        let from_file =
            Effective::resolve(CommandLine::default(), config.clone(), defaults.clone());
        assert!(!from_file.archives.value);
        assert_eq!(from_file.archives.source.to_string(), ".sprawl.toml:1");
        assert_eq!(from_file.max_archive_size.value, 64 << 20);
        let cli = CommandLine {
            max_archive_size: Some(5),
            ..CommandLine::default()
        };
        let effective = Effective::resolve(cli, config, defaults.clone());
        assert_eq!(effective.max_archive_size.value, 5);
        assert!(effective.to_string().contains("archives = false"));
        let default = Effective::resolve(CommandLine::default(), Config::default(), defaults);
        assert!(default.archives.value);
        assert_eq!(default.max_archive_size.value, 2);
        assert!(
            parse("max_archive_size = \"huge\"\n")
                .unwrap_err()
                .starts_with("repo/.sprawl.toml:1:20:")
        );
        assert!(parse("archives = \"yes\"\n").is_err());
    }

    #[test]
    fn mistakes_name_the_line() {
        assert_eq!(
            parse("max_age_days = 60\nfail_onn = [\"any\"]\n").unwrap_err(),
            "repo/.sprawl.toml:2:1: unknown field `fail_onn`, expected one of `rules`, `disable_rules`, `inventory`, `max_file_size`, `max_age_days`, `fail_on`, `archives`, `max_archive_size`, `report_generic_in_tests`, `validate_endpoints`, `environments`, `allow`"
        );
        assert!(
            parse("[[allow]]\npath = \"a/**\"\n")
                .unwrap_err()
                .contains("needs a reason")
        );
        assert!(
            parse("[[allow]]\nreason = \"x\"\n")
                .unwrap_err()
                .contains("at least one of")
        );
        assert!(
            parse("\n[[allow]]\nsecret_regex = \"(\"\nreason = \"x\"\n")
                .unwrap_err()
                .starts_with("repo/.sprawl.toml:3:")
        );
        assert!(
            parse("max_file_size = \"lots\"\n")
                .unwrap_err()
                .starts_with("repo/.sprawl.toml:1:17:")
        );
        assert!(
            parse("fail_on = [\"sometimes\"]\n")
                .unwrap_err()
                .starts_with("repo/.sprawl.toml:1:")
        );
        assert!(
            parse("max_age_days = 0\n")
                .unwrap_err()
                .contains("at least 1")
        );
    }
}
