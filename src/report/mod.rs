//! Writers of a run's report, one per format, all behind [`Reporter`]: `text` for people,
//! `json` and `jsonl` for tools, `sarif` for code scanning, `html` for the people who decide
//! what to rotate first. Each reads the same [`Run`]; none re-derives facts. `explain` words
//! `sprawl explain`'s verdicts.

pub mod explain;
pub mod html;
pub mod json;
pub mod sarif;
pub mod text;

use std::io::{self, Write};

use crate::finding::Suppressed;
use crate::run::Run;

pub use json::finding_json;

/// What the command line asks of every report (the run itself is the same for all).
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Secrets in clear (`--show-secrets`); redacted otherwise.
    pub show_secrets: bool,
    /// List what was suppressed too (`--show-suppressed`); it is always counted.
    pub show_suppressed: bool,
    /// ANSI colours (text only).
    pub color: bool,
}

impl Options {
    /// The suppressed findings a report lists: all of them with `--show-suppressed`, else none.
    pub fn listed_suppressed<'r>(&self, run: &'r Run) -> &'r [Suppressed] {
        if self.show_suppressed {
            &run.suppressed
        } else {
            &[]
        }
    }
}

/// A report format: writes a whole run.
pub trait Reporter {
    fn write(&self, run: &Run, out: &mut dyn Write) -> io::Result<()>;
}

/// The reporter of a format.
pub fn reporter(format: Format, options: Options) -> Box<dyn Reporter> {
    match format {
        Format::Text => Box::new(text::Text(options)),
        Format::Json => Box::new(json::Json(options)),
        Format::Jsonl => Box::new(json::Jsonl(options)),
        Format::Sarif => Box::new(sarif::SarifReport(options)),
        Format::Html => Box::new(html::Html(options)),
    }
}

/// `1 credential`, `2 credentials`: a count with its noun.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Output formats of `sprawl scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
    Jsonl,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// One self-contained HTML page: summary, credentials by owner, timelines (redacted only).
    Html,
}
