//! `sprawl explain FILE[:LINE]...`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};

use super::{EXIT_CLEAN, load_rules};
use crate::cli::{ExplainArgs, OutputArgs, PolicyArgs, ReadArgs};
use crate::engine::Engine;
use crate::pipeline;
use crate::plan::{Asked, Plan};
use crate::report::explain;

/// `sprawl explain FILE[:LINE]...`: scans the inputs as `sprawl scan` would (same rules,
/// configuration and allows), recording every candidate, and prints each with its verdict.
pub fn explain(args: ExplainArgs) -> Result<u8> {
    let started = Instant::now();
    let mut paths = Vec::new();
    let mut line = None;
    for target in &args.targets {
        let (path, at) = split_line_suffix(target);
        if at.is_some() && args.targets.len() > 1 {
            bail!("{target}: a :LINE suffix needs a single FILE");
        }
        line = line.or(at);
        paths.push(PathBuf::from(path));
    }
    let plan = Plan::resolve(Asked {
        paths,
        output: OutputArgs {
            quiet: true,
            ..OutputArgs::default()
        },
        rules: args.rules.clone(),
        reading: ReadArgs {
            no_ignore: args.no_ignore,
            threads: Some(1),
            ..ReadArgs::default()
        },
        policy: PolicyArgs {
            configuration: args.configuration.clone(),
            baseline: args.baseline.clone(),
            no_inventory: true,
            ..PolicyArgs::default()
        },
        explain: true,
        ..Asked::default()
    })?;
    let set = load_rules(&plan.rules)?;
    let engine = Engine::new(&set)?;
    let sources = plan.sources()?;
    let run = pipeline::run(&plan, &engine, &sources, None, started)?;
    let mut explained = run.explained;
    explained.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    let inputs = run.summary.files_scanned as usize;
    let mut out = io::stdout().lock();
    explain::write_explained(&mut out, &explained, inputs, line, args.show_secrets)?;
    out.flush()?;
    Ok(EXIT_CLEAN)
}

/// `config/app.env:12` is the file and line 12, unless a file of that whole name exists.
fn split_line_suffix(target: &str) -> (&str, Option<usize>) {
    if Path::new(target).exists() {
        return (target, None);
    }
    match target.rsplit_once(':') {
        Some((path, line)) if !path.is_empty() => match line.parse::<usize>() {
            Ok(n) if n > 0 => (path, Some(n)),
            _ => (target, None),
        },
        _ => (target, None),
    }
}
