//! `sprawl explain`'s report: every candidate the rules saw in an input, and what kept or
//! dropped it. Users ask "why was this not found?" and "why was this flagged?" more than
//! anything else; rule authors need the same answer. The engine records its verdicts
//! ([`crate::engine::Candidate`]); the pipeline adds what later stages decided (the file's
//! structure, decoding, suppression) in [`Explained`]; this module words and writes them.

use std::io::{self, Write};

use super::plural;
use crate::engine::{Dropped, Engine};
use crate::rules::FormatCheck;
use crate::run::{Explained, Verdict};

/// The engine's reason for a drop, in words.
pub fn dropped_words(dropped: &Dropped, engine: &Engine) -> String {
    let rule = |idx| engine.rule_info(idx).id.clone();
    match dropped {
        Dropped::Empty => "the secret part of the match is empty".into(),
        Dropped::Entropy { found, min } => {
            format!("entropy {found:.2} bits per character, below the rule's minimum of {min}")
        }
        Dropped::FormatCheck(FormatCheck::Crc32Base62) => {
            "checksum failed: the last 6 characters are not the CRC32 of the rest, so it is \
             not a token the provider issued"
                .into()
        }
        Dropped::FormatCheck(FormatCheck::Jwt) => {
            "not a JWT: header and payload are not JSON with an `alg`".into()
        }
        Dropped::FormatCheck(FormatCheck::Base64) => "not valid base64".into(),
        Dropped::FormatCheck(FormatCheck::Pem) => {
            "the PEM body is not the base64 of a key (too short or broken)".into()
        }
        Dropped::Placeholder(marker) => format!("placeholder marker '{marker}'"),
        Dropped::AllowPattern => {
            "matches one of the rule's allow patterns (a documented sample or stand-in)".into()
        }
        Dropped::AllowBefore => {
            "the text before it says what it is not (the rule's allow_before)".into()
        }
        Dropped::AllowIdentifier(group) => format!(
            "its {group} names something that is not a credential (the rule's allow_identifiers)"
        ),
        Dropped::NotASecretValue(why) => {
            format!(
                "the value is {why}; generic rules report only values that look like credentials"
            )
        }
        Dropped::GaveWay(specific) => {
            format!(
                "gave way to {}, which matched the same characters",
                rule(*specific)
            )
        }
        Dropped::PairedWith(main) => format!(
            "the key id of the {} match beside it, part of that finding",
            rule(*main)
        ),
    }
}

/// Writes one line per candidate (in input order) and a closing count. `line` keeps only the
/// candidates that cover that line.
pub fn write_explained(
    out: &mut dyn Write,
    explained: &[Explained],
    inputs: usize,
    line: Option<usize>,
    show_secrets: bool,
) -> io::Result<()> {
    let shown: Vec<&Explained> = explained
        .iter()
        .filter(|e| line.is_none_or(|l| e.line <= l && l <= e.end_line))
        .collect();
    for e in &shown {
        let secret = if show_secrets {
            String::from_utf8_lossy(e.secret.expose()).into_owned()
        } else {
            e.redacted.clone()
        };
        let verdict = match &e.verdict {
            Verdict::Reported | Verdict::Found => "reported".to_string(),
            Verdict::Suppressed(reason) => format!("suppressed: {reason}"),
            Verdict::Dropped(why) => format!("dropped: {why}"),
        };
        let decoded = if e.decoded.is_empty() {
            String::new()
        } else {
            format!(" (decoded: {})", e.decoded.join(" > "))
        };
        writeln!(
            out,
            "{}:{}:{}  {}  {}{decoded}  {verdict}",
            super::text::printable(&e.path),
            e.line,
            e.column,
            e.rule.id,
            secret.escape_debug()
        )?;
    }
    let count = |f: fn(&Verdict) -> bool| shown.iter().filter(|e| f(&e.verdict)).count();
    let reported = count(|v| matches!(v, Verdict::Reported | Verdict::Found));
    let suppressed = count(|v| matches!(v, Verdict::Suppressed(_)));
    let dropped = count(|v| matches!(v, Verdict::Dropped(_)));
    let scope = match line {
        Some(l) => format!(" on line {l}"),
        None => String::new(),
    };
    if shown.is_empty() {
        writeln!(
            out,
            "explain: no candidate{scope} in {} (no rule's keyword occurs there, or its \
             pattern did not match)",
            plural(inputs as u64, "input", "inputs"),
        )
    } else {
        writeln!(
            out,
            "explain: {}{scope} in {} · {reported} reported · {suppressed} suppressed · {dropped} dropped",
            plural(shown.len() as u64, "candidate", "candidates"),
            plural(inputs as u64, "input", "inputs"),
        )
    }
}
