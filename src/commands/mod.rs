//! One file per subcommand: each turns its arguments into what the library needs (a
//! [`Plan`](crate::plan::Plan) for those that scan), runs it, writes the result and says the
//! exit code. The only place that uses `anyhow`; `main.rs` only dispatches here.

mod baseline;
mod config;
mod explain;
mod hook;
mod inventory;
mod merge;
mod output;
mod rules;
mod scan;
mod validate;

use std::fs;
use std::io;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::cli::{
    BaselineCommand, CacheCommand, Cli, Command, ConfigArgs, ConfigCommand, HookCommand,
    InventoryCommand, JudgeArgs, OutputArgs, PolicyArgs, ReadArgs, RecordArgs, RuleArgs,
    RulesCommand, SourceArgs,
};
use crate::config::FailOn;
use crate::engine::Engine;
use crate::pipeline::{self, reader_closed};
use crate::plan::{Asked, Plan};
use crate::rules::RuleSet;
use crate::run::Run;
use crate::sources::blob_cache;

pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Scan(args) => scan::scan(*args),
        Command::Rules(RulesCommand::List { rules, format }) => rules::list(&rules, format),
        Command::Rules(RulesCommand::Check { paths }) => rules::check(&paths),
        Command::Rules(RulesCommand::Example { id, rules }) => rules::example(&id, &rules),
        Command::Hook(HookCommand::Install { path, force }) => hook::install(&path, force),
        Command::Inventory(InventoryCommand::Check { file, now }) => inventory::check(&file, now),
        Command::Inventory(InventoryCommand::Init(args)) => inventory::init(*args),
        Command::Baseline(BaselineCommand::Create(args)) => baseline::create(args),
        Command::Config(ConfigCommand::Show { path, config }) => config::show(&path, config),
        Command::Explain(args) => explain::explain(args),
        Command::Cache(command) => cache(command),
        Command::Validate(args) => validate::validate(args),
        Command::Merge(args) => merge::merge(args),
    }
}

/// `sprawl cache clear|path`.
fn cache(command: CacheCommand) -> Result<u8> {
    let Some(folder) = blob_cache::folder() else {
        bail!("no cache folder: set SPRAWL_CACHE_DIR (or HOME)");
    };
    match command {
        CacheCommand::Path => println!("{}", folder.display()),
        CacheCommand::Clear => {
            let removed = blob_cache::clear(&folder)
                .with_context(|| format!("cannot clear {}", folder.display()))?;
            eprintln!(
                "sprawl: {removed} cache files removed from {}",
                folder.display()
            );
        }
    }
    Ok(EXIT_CLEAN)
}

/// Whether a command failed only because the reader of its output closed the pipe.
pub fn closed_by_reader(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|cause| cause.downcast_ref::<io::Error>().is_some_and(reader_closed))
}

/// Built-in rules (unless left out) plus the user's, then the selection.
pub(crate) fn load_rules(args: &RuleArgs) -> Result<RuleSet> {
    let mut set = if args.no_default_rules {
        RuleSet::default()
    } else {
        RuleSet::builtin()?
    };
    for path in &args.rule_paths {
        set.add_path(path)?;
    }
    set.select(&args.only, &args.disabled)?;
    if set.rules.is_empty() {
        bail!("no rules selected");
    }
    Ok(set)
}

/// The scan behind `inventory init` and `baseline create`: PATH with its configuration, no
/// inventory, no baseline, nothing failing.
fn record_scan(args: &RecordArgs) -> Result<(Plan, Run)> {
    let started = Instant::now();
    let plan = Plan::resolve(Asked {
        paths: vec![args.path.clone()],
        sources: SourceArgs {
            history: args.history,
            ..SourceArgs::default()
        },
        output: OutputArgs {
            quiet: args.quiet,
            ..OutputArgs::default()
        },
        rules: args.rules.clone(),
        reading: ReadArgs {
            threads: args.threads,
            ..ReadArgs::default()
        },
        policy: PolicyArgs {
            configuration: ConfigArgs {
                config: args.config.clone(),
                no_config: false,
            },
            no_inventory: true,
            judging: JudgeArgs {
                now: args.now,
                fail_on: vec![FailOn::None],
                ..JudgeArgs::default()
            },
            ..PolicyArgs::default()
        },
        validation: args.validation.clone(),
        explain: false,
    })?;
    let set = load_rules(&plan.rules)?;
    let engine = Engine::new(&set)?;
    let sources = plan.sources()?;
    let run = pipeline::run(&plan, &engine, &sources, None, started)?;
    Ok((plan, run))
}

/// Writes `text` to `path` whole or not at all (temporary file, then rename).
fn write_whole(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).with_context(|| parent.display().to_string())?;
    }
    let mut destination = output::Destination::open(Some(path))?;
    destination
        .writer()
        .write_all(text.as_bytes())
        .with_context(|| path.display().to_string())?;
    destination.finish()
}
