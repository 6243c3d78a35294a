//! Command-line interface: every subcommand and flag, documented once, here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{FailOn, parse_size};
use crate::report::Format;

#[derive(Debug, Parser)]
#[command(
    name = "sprawl",
    version,
    about = "Find the credentials of non-human identities in code, history and config",
    long_about = "sprawl finds API keys, tokens, private keys, certificates and passwords, one finding \
                  per distinct secret with every place it appears. Secrets are redacted unless \
                  --show-secrets is given.\n\nExit codes: 0 nothing to fail on, 1 findings (see --fail-on), 2 usage or \
                  configuration error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan folders, files or standard input (`-`) for credentials.
    Scan(Box<ScanArgs>),
    /// List or check rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Manage the git pre-commit hook.
    #[command(subcommand)]
    Hook(HookCommand),
    /// Check or start the ownership inventory (who answers for each credential).
    #[command(subcommand)]
    Inventory(InventoryCommand),
    /// Record today's findings so that a scan fails only on new ones.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Show the effective configuration (.sprawl.toml and defaults).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Show every candidate the rules saw in a file, and what reported or dropped each one
    /// (a failed checksum, a placeholder, an allow comment, the baseline...).
    Explain(ExplainArgs),
    /// The cache that lets a history re-scan read only blobs it has not seen, and keeps
    /// validation results.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Ask a provider whether one credential, read from standard input, is live (after a
    /// rotation, without a re-scan).
    Validate(ValidateCommandArgs),
    /// Merge JSON reports of many scans (shards, repositories) into one: the same credential
    /// becomes one finding with every place, judged again over the whole set.
    Merge(MergeArgs),
}

/// `sprawl merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// sprawl reports (`--format json`, or `--format jsonl` lines) to merge.
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,
    /// Write the merged report to FILE instead of standard output (nothing is written when
    /// an input is not a sprawl report).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Report format.
    #[arg(long, short = 'f', value_enum, default_value_t = crate::report::Format::Json)]
    pub format: crate::report::Format,
    /// The ownership inventory to judge the merged findings against.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// The configuration whose `environments` (and `fail_on`, `max_age_days`) apply.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub judging: JudgeArgs,
    /// Colour the text report.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Delete every cache file.
    Clear,
    /// Print the cache folder.
    Path,
}

/// `sprawl validate`: one secret from standard input, checked now.
#[derive(Debug, Args)]
pub struct ValidateCommandArgs {
    /// The rule whose check to run (see `sprawl rules list`); the secret is read from
    /// standard input, never from an argument (arguments land in shell history).
    #[arg(long, value_name = "RULE_ID")]
    pub rule: String,
    /// A secret given as an argument: refused without repeating it (clap's own error would
    /// print it back).
    #[arg(hide = true, value_name = "SECRET", num_args = 0.., allow_hyphen_values = true)]
    pub argument: Vec<String>,
    /// The key id the check needs besides the secret (an AWS access key id).
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,
    /// Another value the check needs besides the secret (repeatable): `client_email=...`.
    #[arg(long = "identifier", value_name = "NAME=VALUE", value_parser = parse_identifier)]
    pub identifiers: Vec<(String, String)>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub validation: ValidateArgs,
}

fn parse_identifier(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .ok_or_else(|| format!("'{text}' is not NAME=VALUE"))
}

/// `sprawl explain`: why something was, or was not, reported.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Files or folders to explain, each optionally with `:LINE` to keep only the candidates
    /// on that line; `-` reads standard input.
    #[arg(value_name = "FILE[:LINE]", required = true)]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub configuration: ConfigArgs,
    /// Also say which candidates this baseline knows.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Explain files that .gitignore, .ignore and .sprawlignore exclude too.
    #[arg(long)]
    pub no_ignore: bool,
    /// Print the candidates in clear (never the default).
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Scan PATH and write its findings (fingerprints and places, never secrets) to FILE
    /// (default .sprawl-baseline.json beside the scanned folder's repository root).
    Create(RecordArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration and where each value came from.
    Show {
        /// The repository or folder whose .sprawl.toml applies (default: the current folder).
        #[arg(value_name = "PATH", default_value = ".")]
        path: PathBuf,
        /// Read this configuration file instead of PATH's .sprawl.toml.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// Validate an inventory file on its own and list its problems (exit 1 if any).
    Check {
        /// The inventory file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The current time, as RFC 3339 (for expiry and rotation checks).
        #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
        now: Option<i64>,
    },
    /// Scan PATH and write a starter inventory with one entry per credential found; re-run
    /// to add entries for new credentials (existing entries and edits are kept).
    Init(Box<RecordArgs>),
}

/// A scan whose findings are recorded in a file (`inventory init`, `baseline create`).
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The repository or folder to scan (default: the current folder).
    #[arg(value_name = "PATH", default_value = ".")]
    pub path: PathBuf,
    /// The file to write (inventory init: PATH's existing inventory, else
    /// PATH/sprawl-inventory.yaml; baseline create: PATH/.sprawl-baseline.json).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Read this configuration file instead of PATH's .sprawl.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also scan git history (entries get `created` from first-seen dates and owner
    /// suggestions from the last author when CODEOWNERS has none).
    #[arg(long)]
    pub history: bool,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// The current time, as RFC 3339.
    #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
    pub now: Option<i64>,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Ask providers who each credential is (`--validate`): inventory init suggests the
    /// identity a provider reports as the owner.
    #[command(flatten)]
    pub validation: ValidateArgs,
}

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Write a pre-commit hook that runs `sprawl scan --staged` (refuses to replace one).
    Install {
        /// The repository (default: the one containing the current folder).
        #[arg(value_name = "PATH", default_value = ".")]
        path: PathBuf,
        /// Replace an existing pre-commit hook.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Print the rules that a scan would use.
    List {
        #[command(flatten)]
        rules: RuleArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Print a rule's first example: a fake credential of the right format (checksum
    /// included), to check that a hook or a pipeline catches it.
    Example {
        /// The rule id (see `sprawl rules list`).
        #[arg(value_name = "RULE")]
        id: String,
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Run the examples of the built-in rules, or of the rules given with --rules; exit 1 on any failure.
    Check {
        /// A rule file or folder of rule files to check (repeatable); without it, the built-in rules.
        #[arg(long = "rules", value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

/// Which rules a run uses.
#[derive(Debug, Args, Clone, Default)]
pub struct RuleArgs {
    /// Add rules from a TOML file or a folder of them (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    pub rule_paths: Vec<PathBuf>,
    /// Use only these rule ids (comma-separated or repeated).
    #[arg(long = "only-rules", value_name = "ID", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Do not use this rule id (repeatable, or comma-separated).
    #[arg(long = "disable-rule", value_name = "ID", value_delimiter = ',')]
    pub disabled: Vec<String>,
    /// Leave out the built-in rules (use only those given with --rules).
    #[arg(long)]
    pub no_default_rules: bool,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Folders or files to scan; `-` reads standard input. Default: the current folder.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub sources: SourceArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten, next_help_heading = "Rules")]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub reading: ReadArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub validation: ValidateArgs,
}

/// Asking providers whether credentials are live. Off unless asked: without `--validate`
/// sprawl opens no network connection.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Validation (network)")]
pub struct ValidateArgs {
    /// Ask each credential's provider (once per distinct credential) whether it still
    /// authenticates, and who it is, what it may do and when it expires. Sends the secret
    /// to the provider's API over HTTPS.
    #[arg(long)]
    pub validate: bool,
    /// The API base of a provider's checks, for GitHub Enterprise Server, self-managed
    /// GitLab, Vault or a proxy: `github=https://ghe.acme.io/api/v3` (repeatable; plain
    /// http only to a loopback address).
    #[arg(long, value_name = "NAME=URL", value_parser = parse_endpoint)]
    pub validate_endpoint: Vec<(String, String)>,
    /// The most one provider request may take, in seconds [default: 10].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=600))]
    pub validate_timeout: Option<u64>,
    /// The most all provider requests may take together, in seconds [default: 300].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub validate_budget: Option<u64>,
}

fn parse_shard(text: &str) -> Result<crate::sources::repos::Shard, String> {
    crate::sources::repos::Shard::parse(text).map_err(|e| e.to_string())
}

fn parse_endpoint(text: &str) -> Result<(String, String), String> {
    crate::validate::parse_endpoint(text)
}

/// What a scan reads besides the files under its paths: history, a range, staged changes.
/// The plan takes these as they are, so a new source is a flag here and an arm there.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "What to scan")]
pub struct SourceArgs {
    /// Also scan git history: every blob reachable from every ref of the repository holding
    /// each PATH (its folder's part), each blob once, with the commit that introduced it.
    #[arg(long)]
    pub history: bool,
    /// Scan only what the commits after REV (REV..HEAD) add, line by line: a pull request's
    /// additions, with their provenance. No work tree.
    #[arg(long, value_name = "REV", conflicts_with_all = ["range", "staged"])]
    pub since: Option<String>,
    /// Scan only what the commits of the range A..B add, line by line.
    #[arg(long, value_name = "A..B", conflicts_with = "staged")]
    pub range: Option<String>,
    /// Scan only what is staged for the next commit, at the lines it adds (pre-commit).
    #[arg(long, conflicts_with = "history")]
    pub staged: bool,
    /// With --history: also scan the history of checked-out submodules (by default they are
    /// counted, not followed).
    #[arg(long, requires = "history")]
    pub recurse_submodules: bool,
    /// With --history: scan only the history, not the files in the work tree.
    #[arg(long, requires = "history")]
    pub no_worktree: bool,
    /// Scan the repositories listed in FILE, one per line: a path, or a clone URL already
    /// cloned beside the list (as owner/name or name). Paths in the report start with each
    /// one's line, and each place names its repository.
    #[arg(long, value_name = "FILE")]
    pub repos_from: Option<PathBuf>,
    /// With --repos-from: scan only the I-th of N deterministic parts of the list (1-based:
    /// 1/3, 2/3, 3/3), so N jobs cover it and `sprawl merge` joins their reports.
    #[arg(long, value_name = "I/N", requires = "repos_from", value_parser = parse_shard)]
    pub shard: Option<crate::sources::repos::Shard>,
    /// With --history: neither use nor update the cache of blobs that held nothing (in
    /// SPRAWL_CACHE_DIR, else the user's cache folder), so every blob is read again.
    #[arg(long)]
    pub no_cache: bool,
}

/// How the report is written.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Report")]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print secrets in clear (never the default: reports get pasted into tickets).
    #[arg(long)]
    pub show_secrets: bool,
    /// Also list findings suppressed by `sprawl:allow` comments, allow lists or the baseline.
    #[arg(long)]
    pub show_suppressed: bool,
    /// Colour the text report.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// How files are read.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Reading")]
pub struct ReadArgs {
    /// Scan everything: ignore .gitignore, .ignore and .sprawlignore.
    #[arg(long)]
    pub no_ignore: bool,
    /// Follow symbolic links.
    #[arg(long)]
    pub follow: bool,
    /// Skip files larger than this (bytes, or with K/M/G suffix; KiB units) [default: 25M].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,
    /// Do not open archives (zip, jar, war, tar, tar.gz, gz): count them as binary files.
    #[arg(long)]
    pub no_archives: bool,
    /// The most an archive may cost: decompressed bytes read from it and the archives nested
    /// in it (also the largest archive opened) [default: 256M].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_archive_size: Option<u64>,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
}

/// Which `.sprawl.toml` applies.
#[derive(Debug, Args, Clone, Default)]
pub struct ConfigArgs {
    /// The configuration file (default: .sprawl.toml at the scanned folder or its
    /// repository's root).
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Do not read a .sprawl.toml.
    #[arg(long)]
    pub no_config: bool,
}

/// What findings are judged against: the configuration, the inventory, the baseline, the
/// clock, and what fails the run.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Policy")]
pub struct PolicyArgs {
    #[command(flatten)]
    pub configuration: ConfigArgs,
    /// Report (and fail on) only findings that are not in this baseline; list the fixed ones.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// The ownership inventory (default: sprawl-inventory.yaml or .sprawl/inventory.yaml at
    /// the scanned repository's root, if present).
    #[arg(long, value_name = "FILE", conflicts_with = "no_inventory")]
    pub inventory: Option<PathBuf>,
    /// Do not look for an inventory file.
    #[arg(long)]
    pub no_inventory: bool,
    #[command(flatten)]
    pub judging: JudgeArgs,
}

/// The clock, the policy's longest life and what fails the run: what `scan` and `merge`
/// judge findings by.
#[derive(Debug, Args, Clone, Default)]
pub struct JudgeArgs {
    /// The current time for ages and expiry, as RFC 3339 (reproducible reports and tests).
    #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
    pub now: Option<i64>,
    /// The longest life policy allows a credential, when the inventory sets none [default: 90].
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_age_days: Option<u32>,
    /// Exit 1 when a finding has one of these statuses (comma-separated) [default: any].
    #[arg(long, value_enum, value_name = "STATUSES", value_delimiter = ',')]
    pub fail_on: Vec<FailOn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Color {
    #[default]
    Auto,
    Always,
    Never,
}

impl Color {
    /// Whether to colour: `auto` means on a terminal (not into a file), unless `NO_COLOR`.
    pub fn resolve(self, to_file: bool) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                !to_file
                    && std::io::IsTerminal::is_terminal(&std::io::stdout())
                    && std::env::var_os("NO_COLOR").is_none()
            }
        }
    }
}

fn parse_now(text: &str) -> Result<i64, String> {
    crate::dates::parse_rfc3339(text)
        .ok_or_else(|| format!("'{text}' is not an RFC 3339 time (like 2026-11-23T12:00:00Z)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
