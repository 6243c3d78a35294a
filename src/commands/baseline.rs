//! `sprawl baseline create`.

use std::io::{self, Write};

use anyhow::{Context, Result};

use super::{EXIT_CLEAN, record_scan, write_whole};
use crate::cli::RecordArgs;
use crate::plan::folder_of;
use crate::report::plural;
use crate::sources::ProjectPaths;
use crate::suppress::Baseline;

/// `sprawl baseline create`: records the findings that count today (allowed ones are not
/// recorded, so removing an allow later shows them again).
pub fn create(args: RecordArgs) -> Result<u8> {
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.path.join(".sprawl-baseline.json"));
    let (plan, collected) = record_scan(&args)?;
    // A baseline's paths are relative to the folder holding it, which scans then map to.
    let project = ProjectPaths::new(&plan.targets.roots, &folder_of(&output), false);
    let doc = Baseline::document(&collected.findings, |shown| {
        project
            .project_path(shown)
            .unwrap_or_else(|| shown.to_string())
    });
    let text = serde_json::to_string_pretty(&doc).context("baseline")? + "\n";
    write_whole(&output, &text)?;
    writeln!(
        io::stdout(),
        "{}: {} recorded (fingerprints and places, no secrets)",
        output.display(),
        plural(collected.findings.len() as u64, "finding", "findings")
    )?;
    Ok(EXIT_CLEAN)
}
