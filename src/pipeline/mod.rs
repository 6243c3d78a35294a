//! A scan, from the plan's sources to a [`Run`]: every source is read in turn, each of its
//! threads handing `(origin, bytes)` to its own [`worker::Worker`] (match, enrich, suppress);
//! then [`correlate::correlate`] dates, pairs and judges the findings and makes the counts.
//! Reporters take it from there.

pub mod correlate;
pub mod worker;

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::engine::Engine;
use crate::plan::Plan;
use crate::run::Run;
use crate::sources::history::GitHistory;
use crate::sources::{Source, Visitor};
use correlate::Found;
use worker::{Results, Shared, Worker};

pub use worker::reader_closed;

#[derive(Debug, Error)]
pub enum PipelineError {
    /// Streamed findings (`--format jsonl`) could not be written.
    #[error("cannot write the report")]
    Stream,
}

/// Makes glibc's malloc give buffers of 4 MiB and more back to the system when they are
/// freed. By default its threshold for that rises to 32 MiB after the first large free,
/// and every worker thread's arena then keeps the memory of the largest inputs it has seen:
/// a history scan with 16 workers peaked at 515 MB instead of 396 MB (`benches/memory.py`).
/// It costs a history scan about 10 % (each large blob is mapped afresh), and with a few
/// workers the arenas keep little, so it is only done for many.
fn return_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tuning value of the allocator; it runs before any other
    // thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
    }
}

/// Worker threads from which freed large buffers go back to the system.
const MANY_WORKERS: usize = 4;

/// Reads every source of the plan and correlates what was found. `stream` receives each
/// counted finding as a JSON line as soon as it is found (`--format jsonl` without history:
/// dating, cross-file pairing and the inventory's file need the whole run, so streamed lines
/// are judged per input).
pub fn run<'a>(
    plan: &'a Plan,
    engine: &'a Engine,
    sources: &[Box<dyn Source>],
    stream: Option<&'a mut (dyn Write + Send)>,
    started: Instant,
) -> Result<Run, PipelineError> {
    let options = plan.walk_options(engine.reach());
    if options.threads > MANY_WORKERS {
        return_large_buffers();
    }
    let shared = Shared {
        engine,
        results: Mutex::new(Results::default()),
        stream: stream.map(Mutex::new),
        stream_failed: AtomicBool::new(false),
        stream_closed: AtomicBool::new(false),
        show_secrets: plan.report.show_secrets,
        inventory: plan.inventory.as_ref(),
        policy: plan.policy(),
        suppressor: plan.suppressor(),
        files: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        hits: AtomicU64::new(0),
        explain: plan.explain,
    };

    let show_progress = !plan.quiet && std::io::stderr().is_terminal();
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        if show_progress {
            scope.spawn(|| progress(&shared, &done));
        }
        let workers = || Box::new(Worker::new(&shared)) as Box<dyn Visitor + '_>;
        for source in sources {
            source.read(&options, &workers);
        }
        done.store(true, Ordering::Relaxed);
    });

    if shared.stream_failed.load(Ordering::Relaxed) {
        return Err(PipelineError::Stream);
    }
    let Results {
        findings,
        summary,
        suppressed,
        explained,
    } = shared
        .results
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let histories: Vec<&GitHistory> = sources.iter().filter_map(|s| s.history()).collect();
    let found = Found {
        findings,
        suppressed,
        summary,
        explained,
    };
    let mut correlated = correlate::correlate(found, &histories, plan, &options);
    if plan.spans_repositories() {
        attach_repositories(&mut correlated.findings, &plan.repositories);
    }
    if let Some(settings) = &plan.validation {
        correlated.summary.validation = Some(crate::validate::validate_all(
            &mut correlated.findings,
            settings,
        ));
    }
    let mut run = correlate::judge(correlated, plan, engine);
    run.summary.duration_ms = started.elapsed().as_millis() as u64;
    Ok(run)
}

/// Names each place's repository, by the root whose shown prefix its path is or starts with
/// (a file given as a root is its own prefix; the longest wins, so `api` and `api-gateway`
/// stay apart).
fn attach_repositories(
    findings: &mut [crate::finding::Finding],
    repositories: &[crate::sources::repos::Repository],
) {
    for finding in findings {
        for location in &mut finding.locations {
            let owner = repositories
                .iter()
                .filter(|r| {
                    r.prefix.is_empty()
                        || location
                            .path
                            .strip_prefix(r.prefix.as_str())
                            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                })
                .max_by_key(|r| r.prefix.len());
            location.repository = owner.map(|r| r.repository.clone());
        }
    }
}

/// A progress line on stderr (only when it is a terminal): files, bytes, findings so far.
fn progress(shared: &Shared<'_>, done: &AtomicBool) {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    while !done.load(Ordering::Relaxed) {
        let bytes = shared.bytes.load(Ordering::Relaxed);
        bar.set_message(format!(
            "{} files · {:.1} MB · {} findings",
            shared.files.load(Ordering::Relaxed),
            bytes as f64 / 1e6,
            shared.hits.load(Ordering::Relaxed)
        ));
        bar.tick();
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.finish_and_clear();
}
