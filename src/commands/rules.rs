//! `sprawl rules list | check | example`.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Result, bail};

use super::{EXIT_CLEAN, EXIT_FINDINGS, load_rules};
use crate::cli::{ListFormat, RuleArgs};
use crate::engine::examples::check_rules;
use crate::rules::RuleSet;

/// `sprawl rules list`: the rules a scan would use.
pub fn list(args: &RuleArgs, format: ListFormat) -> Result<u8> {
    let set = load_rules(args)?;
    let mut out = io::stdout().lock();
    match format {
        ListFormat::Json => {
            let rules: Vec<_> = set
                .rules
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id(), "name": r.name, "provider": r.provider, "kind": r.kind,
                        "keywords": r.keywords, "origin": r.origin.to_string(),
                        "description": r.description,
                        "check": r.resolved_check.as_ref().map(|c| serde_json::json!({
                            "name": c.name, "endpoint": c.endpoint(),
                            "request": format!("{} {}{}", c.spec.method.as_str(), c.spec.base, c.spec.path),
                        })),
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &rules)?;
            writeln!(out)?;
        }
        ListFormat::Text => {
            let width = set.rules.iter().map(|r| r.id().len()).max().unwrap_or(0);
            for r in &set.rules {
                writeln!(
                    out,
                    "{:width$}  {:17}  {:16}  {}",
                    r.id(),
                    r.kind.as_str(),
                    r.provider,
                    r.name
                )?;
            }
            let checked = set.rules.iter().filter(|r| r.check.is_some()).count();
            writeln!(
                out,
                "{} rules ({checked} with a provider check for --validate)",
                set.rules.len()
            )?;
        }
    }
    Ok(EXIT_CLEAN)
}

/// `sprawl rules example RULE`: the text of the rule's first example, which the rule's own
/// test proves sprawl reports. Rule examples are fakes with the right shape, never live.
pub fn example(id: &str, args: &RuleArgs) -> Result<u8> {
    let set = load_rules(args)?;
    let Some(rule) = set.rules.iter().find(|r| r.id() == id) else {
        bail!("{id}: no such rule (see `sprawl rules list`)");
    };
    let Some(example) = rule.examples.first() else {
        bail!("{id}: the rule has no example");
    };
    let mut out = io::stdout().lock();
    writeln!(out, "{}", example.text.trim_end_matches(['\n', '\r']))?;
    Ok(EXIT_CLEAN)
}

/// `sprawl rules check`: every example of the built-in rules, or of the given rule files.
pub fn check(paths: &[PathBuf]) -> Result<u8> {
    let builtin = RuleSet::builtin()?;
    let (set, user_ids) = if paths.is_empty() {
        (builtin, None)
    } else {
        let mut user = RuleSet::default();
        for path in paths {
            user.add_path(path)?;
        }
        let ids: Vec<String> = user.rules.iter().map(|r| r.id().to_string()).collect();
        // Built-in rules are there only so companions can refer to them.
        user.add_missing_from(&builtin);
        (user, Some(ids))
    };
    let report = check_rules(&set, |id| {
        user_ids
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|i| i == id))
    })?;
    let mut out = io::stdout().lock();
    for failure in &report.failures {
        writeln!(out, "FAIL {failure}")?;
    }
    writeln!(
        out,
        "{} rules, {} examples: {}",
        report.rules_checked,
        report.examples_run,
        if report.failures.is_empty() {
            "all passed".to_string()
        } else {
            format!("{} failed", report.failures.len())
        }
    )?;
    Ok(if report.failures.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
}
