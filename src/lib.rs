//! sprawl: a scanner for the credentials of non-human identities.
//!
//! The flow of a scan, one module per stage: `sources` (walk, read) → `engine` (match) →
//! `enrich` (fingerprint, redaction, positions) → `finding` (one model) → `report`.
//! `rules` holds the rule format; `app` wires the stages for the command line.

pub mod cli;
pub mod commands;
pub mod config;
pub mod dates;
pub mod engine;
pub mod enrich;
pub mod finding;
pub mod inventory;
pub mod lifecycle;
pub mod pipeline;
pub mod plan;
pub mod report;
pub mod rules;
pub mod run;
pub mod scrub;
pub mod sources;
pub mod suppress;
