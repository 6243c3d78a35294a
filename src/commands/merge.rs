//! `sprawl merge REPORT...`: every input is read and checked before anything is written; a
//! file that is not a sprawl report is an error naming it (exit 2).

use anyhow::Result;

use super::output::Destination;
use crate::cli::MergeArgs;
use crate::config::{CommandLine, Config, Defaults, Effective};
use crate::inventory::{self, Inventory, Policy};
use crate::merge;
use crate::report;
use crate::rules::RuleSet;

pub fn merge(args: MergeArgs) -> Result<u8> {
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let settings = Effective::resolve(
        CommandLine {
            inventory: args.inventory.clone(),
            max_age_days: args.judging.max_age_days,
            fail_on: args.judging.fail_on.clone(),
            ..CommandLine::default()
        },
        config,
        Defaults {
            max_file_size: 0,
            max_archive_size: 0,
            max_age_days: inventory::DEFAULT_MAX_AGE_DAYS,
            inventory: None,
        },
    );
    let inventory = match &settings.inventory.value {
        Some(path) => Some(Inventory::load(path)?),
        None => None,
    };
    // Rule names and descriptions for the findings; a rule the binary lacks keeps the
    // report's own name.
    let rules = RuleSet::builtin()?;
    let mut reports = Vec::with_capacity(args.reports.len());
    for path in &args.reports {
        reports.push(merge::read(path, &rules)?);
    }
    if let Some(warning) = merge::mixed_origins(&reports) {
        eprintln!("sprawl: warning: {warning}");
    }
    let now = args.judging.now.unwrap_or_else(crate::plan::unix_now);
    let judging = merge::Judging {
        inventory: inventory.as_ref(),
        policy: Policy {
            now,
            max_age_days: settings.max_age_days.value,
        },
        environments: &settings.environments.value,
    };
    let run = merge::merge(reports, &judging, now);
    let color = args.color.resolve(args.output.is_some());
    let options = report::Options {
        show_secrets: false,
        show_suppressed: false,
        color,
    };
    let mut destination = Destination::open(args.output.as_deref())?;
    let written = report::reporter(args.format, options).write(&run, destination.writer());
    match written.and_then(|()| destination.writer().flush()) {
        Ok(()) => destination.finish()?,
        Err(err) => {
            destination.abandon();
            return Err(err.into());
        }
    }
    Ok(super::scan::exit_code(
        &run.findings,
        &settings.fail_on.value,
    ))
}
