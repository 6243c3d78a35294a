//! sprawl: a scanner for the credentials of non-human identities.
//!
//! The flow of a scan, one module per stage: `commands` (one per subcommand) → `plan` (what
//! to scan, resolved once) → `sources` (walk, archives, stdin, git; each hands workers
//! `(origin, bytes)`) → `pipeline` (the worker: `engine` matches, `enrich` makes findings,
//! `suppress` sets some aside; then correlate: dating, pairing; `validate` asks providers under
//! `--validate`; `inventory` verdicts) → `run`
//! (the model of one run) → `report` (one `Reporter` per format). `rules` holds the rule
//! format; `lifecycle` what a credential says of its own life.

pub mod cli;
pub mod commands;
pub mod config;
pub mod dates;
pub mod engine;
pub mod enrich;
pub mod finding;
pub mod inventory;
pub mod lifecycle;
pub mod merge;
pub mod pipeline;
pub mod plan;
pub mod report;
pub mod rules;
pub mod run;
pub mod scrub;
pub mod sources;
pub mod suppress;
pub mod validate;
