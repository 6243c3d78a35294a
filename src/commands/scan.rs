//! `sprawl scan`: the flags become a plan, the plan's sources are read, the run is reported,
//! and its findings decide the exit code.

use std::time::Instant;

use anyhow::{Context, Result};

use super::output::Destination;
use super::{EXIT_CLEAN, EXIT_FINDINGS, load_rules};
use crate::cli::ScanArgs;
use crate::config::FailOn;
use crate::engine::Engine;
use crate::finding::Finding;
use crate::pipeline::{self, reader_closed};
use crate::plan::{Asked, Plan};
use crate::report::{self, Format};
use crate::run::ScanInfo;

pub fn scan(args: ScanArgs) -> Result<u8> {
    let started = Instant::now();
    if args.output.show_secrets && args.output.format == Format::Html {
        // A page is made to be shared and opened anywhere; secrets stay out of it.
        anyhow::bail!(
            "--show-secrets is refused for --format html: the HTML report is redacted only (use --format json for secrets in clear)"
        );
    }
    let mut plan = Plan::resolve(Asked {
        paths: args.paths,
        sources: args.sources,
        output: args.output,
        rules: args.rules,
        reading: args.reading,
        policy: args.policy,
        validation: args.validation,
        explain: false,
    })?;
    let started_at = crate::plan::unix_now();
    let set = load_rules(&plan.rules)?;
    let engine = Engine::new(&set)?;
    plan.use_blob_cache(&set);
    let sources = plan.sources()?;
    let mut destination = Destination::open(plan.output.as_deref())?;
    // The digest costs a pass over the rules: only reports that carry it pay it.
    let scan =
        (!matches!(plan.format, Format::Text)).then(|| ScanInfo::of(&plan, &set, started_at));
    match scan_into(&plan, &engine, &sources, &mut destination, started, scan) {
        Ok(code) => {
            destination.finish()?;
            Ok(code)
        }
        Err(err) => {
            destination.abandon();
            Err(err)
        }
    }
}

fn scan_into(
    plan: &Plan,
    engine: &Engine,
    sources: &[Box<dyn crate::sources::Source>],
    destination: &mut Destination,
    started: Instant,
    scan: Option<ScanInfo>,
) -> Result<u8> {
    // History findings are dated only once every blob is read: they are written at the end.
    let streaming =
        plan.format == Format::Jsonl && !plan.mode.reads_history() && plan.validation.is_none();
    let mut run = pipeline::run(
        plan,
        engine,
        sources,
        streaming.then(|| destination.writer()),
        started,
    )?;
    run.scan = scan;
    let written = match plan.format {
        Format::Jsonl if streaming => Ok(()),
        format => report::reporter(format, plan.report).write(&run, destination.writer()),
    };
    match written {
        // `sprawl scan | head`: the reader has what it wanted; the verdict still stands.
        Err(err) if reader_closed(&err) => {}
        other => other.context("cannot write the report")?,
    }
    Ok(exit_code(&run.findings, &plan.settings.fail_on.value))
}

/// 1 when a finding has a status that --fail-on names (`any`: any finding at all).
pub(super) fn exit_code(findings: &[Finding], fail_on: &[FailOn]) -> u8 {
    let fails = |f: &Finding| fail_on.iter().any(|choice| choice.fails(f));
    if fail_on.contains(&FailOn::None) || !findings.iter().any(fails) {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    }
}
