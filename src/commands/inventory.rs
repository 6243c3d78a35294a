//! `sprawl inventory check | init`.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result};

use super::{EXIT_CLEAN, EXIT_FINDINGS, record_scan, write_whole};
use crate::cli::RecordArgs;
use crate::finding::Finding;
use crate::inventory::{Inventory, init};
use crate::pipeline::correlate;
use crate::plan::{default_inventory_file, unix_now};
use crate::report::plural;
use crate::rules::RuleSet;

/// `sprawl inventory check FILE`: a malformed file is an error (exit 2); problems of a
/// well-formed one are listed, one per line, and make the exit code 1.
pub fn check(file: &Path, now: Option<i64>) -> Result<u8> {
    let inventory = Inventory::load(file)?;
    let rules = RuleSet::builtin()?;
    let known = |name: &str| {
        rules
            .rules
            .iter()
            .any(|r| r.id() == name || r.provider == name || r.kind.as_str() == name)
    };
    let problems = inventory.problems(now.unwrap_or_else(unix_now), known);
    let mut out = io::stdout().lock();
    for (line, problem) in &problems {
        writeln!(out, "{}:{line}: {problem}", inventory.path)?;
    }
    writeln!(
        out,
        "{}: {}, {}, {}",
        inventory.path,
        plural(inventory.owners.len() as u64, "owner", "owners"),
        plural(inventory.entries.len() as u64, "credential", "credentials"),
        match problems.len() {
            0 => "no problems".to_string(),
            n => plural(n as u64, "problem", "problems"),
        }
    )?;
    Ok(if problems.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
}

/// `sprawl inventory init`: scans, then writes a starter inventory or appends the new
/// credentials to an existing one (written whole through a temporary file, or not at all).
pub fn init(args: RecordArgs) -> Result<u8> {
    let output = match &args.output {
        Some(path) => path.clone(),
        None => default_inventory_file(&args.path)?,
    };
    // Read the existing inventory first: a malformed one stops here, untouched.
    let existing = if output.exists() {
        let text = fs::read_to_string(&output).with_context(|| output.display().to_string())?;
        let inv = Inventory::parse(&text, &output.display().to_string())?;
        Some((text, inv))
    } else {
        None
    };
    let (plan, mut collected) = record_scan(&args)?;
    // The inventory's own file names key ids, not credentials.
    if let Some((_, inv)) = &existing {
        correlate::drop_inventory_file(&mut collected.findings, inv, &plan.targets.roots);
    }
    let suggest = |f: &Finding| init::suggest_owner(f);
    let (text, added) = match &existing {
        Some((text, inv)) => init::merge(text, inv, &collected.findings, suggest),
        None => {
            let text = init::new_inventory(&collected.findings, suggest);
            let added = Inventory::parse(&text, "new inventory").map_or(0, |i| i.entries.len());
            (text, added)
        }
    };
    // What is written must load: never leave a file sprawl itself cannot read.
    Inventory::parse(&text, &output.display().to_string())
        .context("the merged inventory does not load; the file was left unchanged")?;
    write_whole(&output, &text)?;
    writeln!(
        io::stdout(),
        "{}: {} found, {} added{}",
        output.display(),
        plural(collected.findings.len() as u64, "credential", "credentials"),
        plural(added as u64, "entry", "entries"),
        if existing.is_some() {
            " (existing entries kept)"
        } else {
            ""
        }
    )?;
    Ok(EXIT_CLEAN)
}
