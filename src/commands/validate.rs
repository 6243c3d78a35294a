//! `sprawl validate --rule ID`: one secret from standard input, checked against its provider
//! now. Re-checking a credential after rotating it should not need a re-scan.

use std::io::{self, IsTerminal, Read, Write};

use anyhow::{Context, Result, bail};

use super::{EXIT_CLEAN, EXIT_FINDINGS, load_rules};
use crate::cli::{ListFormat, ValidateCommandArgs};
use crate::dates;
use crate::validate::{self, Credential, Identifiers, Outcome, Validation};

/// The largest secret read from standard input (a private key is a few KiB).
const MAX_SECRET: u64 = 64 * 1024;

/// Exit 0 when the provider refuses the credential, 1 when it is live, 2 when unknown or
/// unsupported (nothing can be concluded).
pub fn validate(args: ValidateCommandArgs) -> Result<u8> {
    if !args.argument.is_empty() {
        bail!(
            "the secret is read from standard input, never from an argument (arguments land in shell history and process lists): echo \"$TOKEN\" | sprawl validate --rule {}",
            args.rule
        );
    }
    let set = load_rules(&args.rules)?;
    let Some(rule) = set.get(&args.rule) else {
        bail!("unknown rule id '{}' (see `sprawl rules list`)", args.rule);
    };
    let Some(named) = rule.resolved_check.clone() else {
        bail!(
            "rule '{}' has no provider check (rules with one: `sprawl rules list --format json`, field check)",
            args.rule
        );
    };
    if io::stdin().is_terminal() {
        eprintln!("Paste the secret and press Ctrl-D:");
    }
    let mut secret = Vec::new();
    io::stdin()
        .take(MAX_SECRET + 1)
        .read_to_end(&mut secret)
        .context("cannot read the secret from standard input")?;
    if secret.len() as u64 > MAX_SECRET {
        bail!(
            "standard input: more than {} KiB; expected one secret",
            MAX_SECRET >> 10
        );
    }
    // The line break a shell's `echo` or a paste adds is not part of the secret.
    while secret.last().is_some_and(|b| b.is_ascii_whitespace()) {
        secret.pop();
    }
    if secret.is_empty() {
        bail!("standard input: empty; pipe the secret in (never pass it as an argument)");
    }
    let endpoints = args.validation.validate_endpoint.iter().cloned();
    let settings = crate::plan::validation_settings(&args.validation, endpoints, true);
    let identifiers: Identifiers = args.identifiers.into_iter().collect();
    let credential = Credential {
        secret: &secret,
        key_id: args.key_id.as_deref(),
        identifiers: &identifiers,
    };
    let v = validate::validate_one(&named, &credential, &settings);
    let mut out = io::stdout().lock();
    match args.format {
        ListFormat::Json => writeln!(out, "{}", crate::report::json::validation_json(&v))?,
        ListFormat::Text => write_text(&mut out, &args.rule, &v)?,
    }
    Ok(match v.result {
        Outcome::Revoked => EXIT_CLEAN,
        Outcome::Live => EXIT_FINDINGS,
        Outcome::Unknown | Outcome::Unsupported => super::EXIT_ERROR,
    })
}

fn write_text(out: &mut dyn Write, rule: &str, v: &Validation) -> io::Result<()> {
    writeln!(
        out,
        "{}  [{rule}]  checked {}",
        v.result.as_str(),
        dates::rfc3339_utc(v.checked_at)
    )?;
    for (name, value) in &v.identity {
        writeln!(out, "  {name}: {value}")?;
    }
    if !v.scopes.is_empty() {
        writeln!(out, "  scopes: {}", v.scopes.join(", "))?;
    }
    if let Some(expires) = v.expires_at {
        writeln!(out, "  expires: {}", dates::rfc3339_utc(expires))?;
    }
    if let Some(error) = &v.error {
        writeln!(out, "  {error}")?;
    }
    Ok(())
}
