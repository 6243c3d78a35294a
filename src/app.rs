//! Wires the stages together for each subcommand. The only place that uses `anyhow`.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cli::{
    BaselineCommand, Cli, Color, Command, ConfigCommand, ExplainArgs, HookCommand,
    InventoryCommand, ListFormat, RecordArgs, RuleArgs, RulesCommand, ScanArgs,
};
use crate::config::{CommandLine, Config, Defaults, Effective, FailOn};
use crate::dates;
use crate::engine;
use crate::engine::{Engine, RawMatch, RuleIdx, Scratch};
use crate::enrich::{self, decode, findings_for_input, structure};
use crate::finding::{
    Finding, FindingSet, Fingerprint, Location, Secret, Seen, SourceKind, Suppressed,
};
use crate::inventory::{self, Inventory, InventoryReport, Policy, init};
use crate::lifecycle;
use crate::report::explain;
use crate::report::{self, Format, plural};
use crate::rules::RuleSet;
use crate::rules::check::check_rules;
use crate::run::{Explained, HistorySummary, Summary, Verdict};
use crate::sources::chunked::Chunk;
use crate::sources::git::{self, BlobOrigin, CommitInfo, History};
use crate::sources::{self, Event, ProjectPaths, Root, SkipReason, Visitor, WalkOptions};
use crate::suppress::{self, Baseline, BaselineReport, Suppressor};

pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

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

/// `--max-file-size` when neither the command line nor the configuration sets it.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 25 << 20;

pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Scan(args) => scan(args),
        Command::Rules(RulesCommand::List { rules, format }) => list_rules(&rules, format),
        Command::Rules(RulesCommand::Check { paths }) => check(&paths),
        Command::Rules(RulesCommand::Example { id, rules }) => print_example(&id, &rules),
        Command::Hook(HookCommand::Install { path, force }) => install_hook(&path, force),
        Command::Inventory(InventoryCommand::Check { file, now }) => check_inventory(&file, now),
        Command::Inventory(InventoryCommand::Init(args)) => init_inventory(args),
        Command::Baseline(BaselineCommand::Create(args)) => create_baseline(args),
        Command::Config(ConfigCommand::Show { path, config }) => show_config(&path, config),
        Command::Explain(args) => explain_candidates(args),
    }
}

/// Built-in rules (unless left out) plus the user's, then the selection.
fn load_rules(args: &RuleArgs) -> Result<RuleSet> {
    let mut set = if args.no_default_rules {
        RuleSet::default()
    } else {
        RuleSet::builtin()?
    };
    for path in &args.rule_paths {
        set.add_path(path)?;
    }
    set.select(&args.only, &args.disabled)?;
    if set.rules.is_empty() {
        bail!("no rules selected");
    }
    Ok(set)
}

fn list_rules(args: &RuleArgs, format: ListFormat) -> Result<u8> {
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
            writeln!(out, "{} rules", set.rules.len())?;
        }
    }
    Ok(EXIT_CLEAN)
}

/// `sprawl rules example RULE`: the text of the rule's first example, which the rule's own
/// test proves sprawl reports. Rule examples are fakes with the right shape, never live.
fn print_example(id: &str, args: &RuleArgs) -> Result<u8> {
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

fn check(paths: &[PathBuf]) -> Result<u8> {
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

/// State shared by the walker threads of one scan.
struct Shared<'a> {
    engine: &'a Engine,
    results: Mutex<Results>,
    /// `jsonl` findings are written here as they are found.
    stream: Option<Mutex<&'a mut (dyn Write + Send)>>,
    stream_failed: AtomicBool,
    /// The reader of the stream closed it (`sprawl scan --format jsonl | head`).
    stream_closed: AtomicBool,
    show_secrets: bool,
    /// Streamed findings are judged against these as they are found.
    inventory: Option<&'a Inventory>,
    policy: Policy,
    /// Inline allows, allow lists and the baseline, applied as findings are found.
    suppressor: Suppressor<'a>,
    files: AtomicU64,
    bytes: AtomicU64,
    hits: AtomicU64,
    /// Record every candidate and its verdict (`sprawl explain`).
    explain: bool,
}

/// What the workers found: the findings that count, what was suppressed, the totals.
#[derive(Default)]
struct Results {
    findings: FindingSet,
    summary: Summary,
    suppressed: Vec<Suppressed>,
    /// `sprawl explain`: every candidate and its verdict.
    explained: Vec<Explained>,
}

/// One walker thread's scratch and results; merged into [`Shared`] when dropped.
struct Worker<'s, 'a> {
    shared: &'s Shared<'a>,
    scratch: Scratch,
    /// `config-secret-value`, when loaded: its matches stand only in configuration files.
    config_rule: Option<RuleIdx>,
    matches: Vec<RawMatch>,
    findings: FindingSet,
    summary: Summary,
    suppressed: Vec<Suppressed>,
    /// `sprawl explain`: candidates with their verdicts (`None` in scans).
    explained: Option<Vec<Explained>>,
}

impl<'s, 'a> Worker<'s, 'a> {
    fn new(shared: &'s Shared<'a>) -> Self {
        let mut scratch = shared.engine.new_scratch();
        scratch.trace(shared.explain);
        Worker {
            shared,
            scratch,
            config_rule: shared.engine.find_rule(structure::CONFIG_SECRET_RULE),
            matches: Vec::new(),
            findings: FindingSet::default(),
            summary: Summary::default(),
            suppressed: Vec::new(),
            explained: shared.explain.then(Vec::new),
        }
    }

    fn scan_input(&mut self, path: &str, bytes: &[u8]) {
        self.summary.files_scanned += 1;
        self.summary.bytes_scanned += bytes.len() as u64;
        self.shared.files.fetch_add(1, Ordering::Relaxed);
        self.shared
            .bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let found = self.find(path, bytes, None);
        self.emit(found);
    }

    /// Scans one chunk of a large input: only the matches it owns, placed in the input.
    fn scan_chunk(&mut self, path: &str, bytes: &[u8], chunk: &Chunk) {
        if chunk.first {
            self.summary.files_scanned += 1;
            self.shared.files.fetch_add(1, Ordering::Relaxed);
        }
        let owned = chunk.owned.len() as u64;
        self.summary.bytes_scanned += owned;
        self.shared.bytes.fetch_add(owned, Ordering::Relaxed);
        let explained_before = self.explained.as_ref().map_or(0, Vec::len);
        let mut found = self.find(path, bytes, Some(&chunk.owned));
        for location in found.iter_mut().flat_map(|f| &mut f.locations) {
            (location.line, location.column) = chunk.place(location.line, location.column);
            (location.end_line, location.end_column) =
                chunk.place(location.end_line, location.end_column);
        }
        for e in self.explained.iter_mut().flatten().skip(explained_before) {
            (e.line, e.column) = chunk.place(e.line, e.column);
            (e.end_line, _) = chunk.place(e.end_line, 1);
        }
        self.emit(found);
    }

    /// Scans one git blob and reports each finding at every (commit, path) that introduced it.
    /// In a range, a place counts only on lines its commit added, and only when the files
    /// that commit changed did not already hold the secret (moved, not added).
    fn scan_blob(&mut self, bytes: &[u8], blob: &HistoryBlob<'_>) {
        let Some(first) = blob.origins.first() else {
            return;
        };
        self.shared.files.fetch_add(1, Ordering::Relaxed);
        self.shared
            .bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let mut found = self.find(&blob.root.display_relative(&first.path), bytes, None);
        for finding in &mut found {
            let places = std::mem::take(&mut finding.locations);
            let mut locations = Vec::new();
            for origin in blob.origins {
                // History: one place per origin (the secret's first in the blob). A range:
                // each place on a line the commit added.
                let chosen: Vec<&Location> = match origin.added_lines {
                    None => places.first().into_iter().collect(),
                    Some(_) => places
                        .iter()
                        .filter(|p| origin.adds(p.line, p.end_line))
                        .collect(),
                };
                if chosen.is_empty() {
                    continue;
                }
                if origin.added_lines.is_some() {
                    let before = blob
                        .before
                        .get(&origin.commit)
                        .map_or(&[][..], Vec::as_slice);
                    if self.held_before(blob.repo, before, finding, &places) {
                        continue;
                    }
                }
                let commit = &blob.commits[origin.commit];
                for place in chosen {
                    locations.push(Location {
                        path: blob.root.display_relative(&origin.path),
                        commit: Some(commit.id.clone()),
                        date: Some(dates::rfc3339_utc(commit.time)),
                        source: SourceKind::Git,
                        ..place.clone()
                    });
                }
            }
            finding.locations = locations;
            finding.in_worktree = Some(blob.in_head);
        }
        found.retain(|f| !f.locations.is_empty());
        self.emit(found);
    }

    /// Whether one of the blobs `before` (what the changed files held before a commit or a
    /// staged change) already holds the finding's secret: in clear, or, for a secret found
    /// under an encoding, as the engine finds it there.
    fn held_before(
        &mut self,
        repo: &git2::Repository,
        before: &[git2::Oid],
        finding: &Finding,
        places: &[Location],
    ) -> bool {
        let secret = finding.secret.expose();
        let decoded = places.iter().any(|p| !p.decoded.is_empty());
        before.iter().any(|oid| {
            let Ok(blob) = repo.find_blob(*oid) else {
                return false;
            };
            let Ok(text) = sources::text_of(blob.content()) else {
                return false;
            };
            if memchr::memmem::find(&text, secret).is_some() {
                return true;
            }
            // Reading the old version must not count it among the run's configuration files.
            let counts = self.summary.configs;
            let path = places.first().map_or("", |p| p.path.as_str()).to_string();
            let held = decoded
                && self
                    .find(&path, &text, None)
                    .iter()
                    .any(|f| f.fingerprint == finding.fingerprint);
            self.summary.configs = counts;
            held
        })
    }

    /// Match, then turn matches into findings located at `path`. For a chunk of a larger
    /// input, `owned` is the part whose matches are its own, and the chunk is read as text:
    /// neither its structure nor its name mean anything on a piece.
    fn find(&mut self, path: &str, bytes: &[u8], owned: Option<&Range<usize>>) -> Vec<Finding> {
        let engine = self.shared.engine;
        self.matches.clear();
        if let Some(rule) = self.config_rule {
            // Its keywords are in most code, and it would be dropped there: not run at all.
            let is_config = owned.is_none() && structure::detect(path, bytes).is_some();
            self.scratch.mute(rule, !is_config);
        }
        engine.scan(bytes, &mut self.scratch, &mut self.matches);
        // Only the plain text's candidates are explained one by one: decoded buffers have
        // offsets of their own (what they find is explained through the findings).
        let candidates = self.scratch.take_trace();
        self.scratch.trace(false);
        if let Some(owned) = owned {
            self.matches.retain(|m| owned.contains(&m.secret.start));
        }
        if self.matches.is_empty() {
            if owned.is_none() {
                // A Rails master.key holds nothing but hex, so no keyword brings it here.
                self.matches
                    .extend(structure::scan_by_name(engine, path, bytes));
            }
        } else {
            engine.drop_excluded_paths(path, &mut self.matches);
            // Another scanner's baseline or report: digests and copies, not credentials.
            let generic = |m: &RawMatch| engine.rule_info(m.rule).generic;
            if self.matches.iter().any(generic)
                && enrich::scanner_files::scanner_file(path, bytes).is_some()
            {
                self.matches.retain(|m| !generic(m));
            }
        }
        let mut decoded =
            decode::scan_decoded(engine, &mut self.scratch, path, bytes, &self.matches);
        if let Some(owned) = owned {
            decoded.matches.retain(|d| owned.contains(&d.span.start));
        }
        // A rule that reported an encoded value gives way to what was found decoded in it.
        self.matches
            .retain(|m| !decoded.superseded.contains(&m.secret));
        let (found, configs) = findings_for_input(
            engine,
            path,
            bytes,
            &mut self.matches,
            &decoded.matches,
            owned.is_none(),
        );
        self.summary.configs.merge(configs);
        self.summary.add_dropped(self.scratch.take_dropped());
        if self.explained.is_some() {
            self.scratch.trace(true);
            self.explain(path, bytes, owned, candidates, &decoded.superseded, &found);
        }
        found
    }

    /// `sprawl explain`: the verdict on each candidate of one input, from the engine's
    /// trace and what became of it; the findings' places not reached by a plain candidate
    /// (found decoded, or by file name) are added as found. Suppression is decided in
    /// [`Worker::emit`].
    fn explain(
        &mut self,
        path: &str,
        hay: &[u8],
        owned: Option<&Range<usize>>,
        candidates: Vec<engine::Candidate>,
        superseded: &[Range<usize>],
        found: &[Finding],
    ) {
        let engine = self.shared.engine;
        let Some(explained) = self.explained.as_mut() else {
            return;
        };
        let mut reached: HashSet<(usize, usize)> = HashSet::new();
        let mut seen: HashSet<(engine::RuleIdx, usize, usize)> = HashSet::new();
        for candidate in candidates {
            // A rule's regex may meet the same match from two keyword hits.
            if !seen.insert((candidate.rule, candidate.secret.start, candidate.secret.end)) {
                continue;
            }
            if owned.is_some_and(|o| !o.contains(&candidate.secret.start)) {
                continue;
            }
            let secret = &hay[candidate.secret.clone()];
            let (line, column) = enrich::position(hay, candidate.secret.start);
            let (end_line, _) = enrich::position(hay, candidate.secret.end);
            let fingerprint = Fingerprint::of(secret);
            let verdict = match &candidate.dropped {
                Some(dropped) => Verdict::Dropped(explain::dropped_words(dropped, engine)),
                None if found.iter().any(|f| {
                    f.fingerprint == fingerprint
                        && f.locations
                            .iter()
                            .any(|l| (l.line, l.column) == (line, column))
                }) =>
                {
                    reached.insert((line, column));
                    Verdict::Found
                }
                None if engine.rule_info(candidate.rule).generic
                    && let Some(scanner) = enrich::scanner_files::scanner_file(path, hay) =>
                {
                    Verdict::Dropped(format!(
                        "a {scanner} baseline or report: generic rules do not apply there"
                    ))
                }
                None if engine.excludes_path(candidate.rule, path) => {
                    Verdict::Dropped("the rule skips files at this path (exclude_paths)".into())
                }
                None if superseded.contains(&candidate.secret) => Verdict::Dropped(
                    "its decoded value holds a specific credential, reported instead".into(),
                ),
                None => Verdict::Dropped(
                    "the file's structure does not confirm it (its key or value says it is \
                     not a credential)"
                        .into(),
                ),
            };
            explained.push(Explained {
                path: path.to_string(),
                line,
                column,
                end_line,
                rule: engine.rule_info(candidate.rule).clone(),
                secret: Secret::new(secret),
                fingerprint,
                redacted: enrich::redact(secret),
                decoded: Vec::new(),
                verdict,
            });
        }
        for finding in found {
            for l in &finding.locations {
                if reached.insert((l.line, l.column)) {
                    explained.push(Explained {
                        path: l.path.clone(),
                        line: l.line,
                        column: l.column,
                        end_line: l.end_line,
                        rule: finding.rule.clone(),
                        secret: finding.secret.clone(),
                        fingerprint: finding.fingerprint,
                        redacted: finding.redacted.clone(),
                        decoded: l.decoded.clone(),
                        verdict: Verdict::Found,
                    });
                }
            }
        }
    }

    /// Sets suppressed places aside, then streams (jsonl) and keeps the findings of one
    /// input.
    fn emit(&mut self, found: Vec<Finding>) {
        if found.is_empty() {
            return;
        }
        let mut counted = Vec::with_capacity(found.len());
        for finding in found {
            let (kept, suppressed) = self.shared.suppressor.apply(finding);
            if let Some(explained) = &mut self.explained {
                let places = kept.iter().flat_map(|f| {
                    f.locations
                        .iter()
                        .map(move |l| (f.fingerprint, l, Verdict::Reported))
                });
                let set_aside = suppressed.iter().flat_map(|s| {
                    s.finding.locations.iter().map(|l| {
                        (
                            s.finding.fingerprint,
                            l,
                            Verdict::Suppressed(s.reason.clone()),
                        )
                    })
                });
                for (fingerprint, l, verdict) in places.chain(set_aside) {
                    for e in explained.iter_mut().filter(|e| {
                        e.verdict == Verdict::Found
                            && e.fingerprint == fingerprint
                            && (e.path.as_str(), e.line, e.column)
                                == (l.path.as_str(), l.line, l.column)
                    }) {
                        e.verdict = verdict.clone();
                    }
                }
            }
            counted.extend(kept);
            self.suppressed.extend(suppressed);
        }
        let mut found = counted;
        if found.is_empty() {
            return;
        }
        self.shared
            .hits
            .fetch_add(found.len() as u64, Ordering::Relaxed);
        if let Some(stream) = &self.shared.stream {
            let mut lines = Vec::new();
            for finding in &mut found {
                inventory::assess(finding, self.shared.inventory, self.shared.policy);
                let value = report::finding_json(finding, self.shared.show_secrets);
                // Serializing a Value to a Vec cannot fail.
                let _ = serde_json::to_writer(&mut lines, &value);
                lines.push(b'\n');
            }
            let mut out = stream.lock().unwrap_or_else(PoisonError::into_inner);
            if !self.shared.stream_closed.load(Ordering::Relaxed)
                && let Err(err) = out.write_all(&lines)
            {
                // A reader that closed the pipe (`| head`) wants no more: the scan still
                // finishes, for its exit code.
                let flag = if reader_closed(&err) {
                    &self.shared.stream_closed
                } else {
                    &self.shared.stream_failed
                };
                flag.store(true, Ordering::Relaxed);
            }
        }
        for finding in found {
            self.findings.add(finding);
        }
    }
}

/// One blob of a history scan and what is known of it.
struct HistoryBlob<'h> {
    root: &'h Root,
    commits: &'h [CommitInfo],
    origins: &'h [BlobOrigin],
    in_head: bool,
    /// The worker's handle on the repository, to read what a range's commits replaced.
    repo: &'h git2::Repository,
    /// See [`History::before`].
    before: &'h HashMap<usize, Vec<git2::Oid>>,
}

impl Visitor for Worker<'_, '_> {
    fn visit(&mut self, event: Event<'_>) {
        match event {
            Event::Input { path, bytes } => self.scan_input(path, bytes),
            Event::Chunk { path, bytes, chunk } => self.scan_chunk(path, bytes, chunk),
            Event::Skipped { path, reason } => self.summary.skip(path, &reason),
            Event::Archive { archives, entries } => {
                self.summary.archives.opened += archives;
                self.summary.archives.entries += entries;
            }
        }
    }
}

impl Drop for Worker<'_, '_> {
    fn drop(&mut self) {
        let mut results = self
            .shared
            .results
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        results.findings.merge(std::mem::take(&mut self.findings));
        results.summary.merge(std::mem::take(&mut self.summary));
        results.suppressed.append(&mut self.suppressed);
        if let Some(explained) = &mut self.explained {
            results.explained.append(explained);
        }
    }
}

/// What the command line asked to scan.
struct Targets {
    roots: Vec<Root>,
    stdin: bool,
}

fn resolve_targets(paths: &[PathBuf]) -> Result<Targets> {
    let paths: Vec<PathBuf> = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let many = paths.len() > 1;
    let mut targets = Targets {
        roots: Vec::new(),
        stdin: false,
    };
    for path in paths {
        if path.as_os_str() == "-" {
            targets.stdin = true;
            continue;
        }
        let meta = fs::metadata(&path).with_context(|| path.display().to_string())?;
        let shown = path.to_string_lossy().replace('\\', "/");
        // One folder: paths relative to it. A file, or several roots: paths as given.
        let display_prefix = if meta.is_dir() && !many {
            String::new()
        } else {
            shown
        };
        targets.roots.push(Root {
            path,
            display_prefix,
        });
    }
    Ok(targets)
}

/// A write failed because its reader closed the pipe (`sprawl scan | head`): the reader's
/// choice, not an error, as for other Unix tools.
pub fn reader_closed(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::BrokenPipe
}

/// Whether a command failed only because the reader of its output closed the pipe.
pub fn closed_by_reader(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|cause| cause.downcast_ref::<io::Error>().is_some_and(reader_closed))
}

/// A report destination: standard output, or a file written whole or not at all
/// (a temporary file beside it, renamed into place when the report is complete).
enum Destination {
    Stdout(io::Stdout),
    /// A device or pipe (`/dev/null`, `/dev/stdout`, a FIFO): written in place. Renaming a
    /// file over it would replace the device with a regular file.
    Special(BufWriter<File>),
    File {
        writer: BufWriter<File>,
        temp: PathBuf,
        path: PathBuf,
    },
}

impl Destination {
    fn open(output: Option<&Path>) -> Result<Destination> {
        let Some(given) = output else {
            return Ok(Destination::Stdout(io::stdout()));
        };
        let shown = || format!("{}: cannot write report", given.display());
        if let Ok(meta) = fs::metadata(given)
            && !meta.is_file()
        {
            let file = OpenOptions::new()
                .write(true)
                .open(given)
                .with_context(shown)?;
            return Ok(Destination::Special(BufWriter::new(file)));
        }
        // Through a symbolic link, replace the file it points to, not the link.
        let resolved = fs::canonicalize(given).ok();
        let path = resolved.as_deref().unwrap_or(given);
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path.file_name().context("--output needs a file name")?;
        let temp = dir.join(format!(
            ".{}.sprawl-{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600); // reports name where credentials are
        }
        let file = options.open(&temp).with_context(shown)?;
        Ok(Destination::File {
            writer: BufWriter::new(file),
            temp,
            path: path.to_path_buf(),
        })
    }

    fn writer(&mut self) -> &mut (dyn Write + Send) {
        match self {
            Destination::Stdout(out) => out,
            Destination::Special(writer) => writer,
            Destination::File { writer, .. } => writer,
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            Destination::Stdout(mut out) => match out.flush() {
                Err(err) if reader_closed(&err) => Ok(()),
                other => other.context("standard output"),
            },
            Destination::Special(mut writer) => writer.flush().context("--output"),
            Destination::File { writer, temp, path } => {
                let file = writer
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| path.display().to_string())?;
                file.sync_all()
                    .with_context(|| path.display().to_string())?;
                fs::rename(&temp, &path).with_context(|| path.display().to_string())
            }
        }
    }

    fn abandon(self) {
        if let Destination::File { temp, .. } = self {
            let _ = fs::remove_file(temp);
        }
    }
}

fn scan(args: ScanArgs) -> Result<u8> {
    let started = Instant::now();
    let targets = resolve_targets(&args.paths)?;
    let plan = Plan::new(&args, &targets)?;
    let set = load_rules(&plan.rule_args(&args.rules))?;
    // Staged changes are a few small files: an automaton that is quick to build beats one
    // that is quick to run (the DFA's build was a tenth of a pre-commit run).
    let engine = if args.staged {
        Engine::for_small_inputs(&set)?
    } else {
        Engine::new(&set)?
    };
    let mut destination = Destination::open(args.output.as_deref())?;
    let outcome = scan_into(&args, &engine, &targets, &plan, &mut destination, started);
    match outcome {
        Ok(code) => {
            destination.finish()?;
            Ok(code)
        }
        Err(err) => {
            destination.abandon();
            Err(err)
        }
    }
}

/// Everything a scan reads before it starts: settings, inventory, baseline. A malformed
/// file stops the run here (exit 2), before any work.
struct Plan {
    settings: Effective,
    inventory: Option<Inventory>,
    baseline: Option<Baseline>,
}

impl Plan {
    fn new(args: &ScanArgs, targets: &Targets) -> Result<Plan> {
        let folders = search_folders(targets);
        let config = if args.no_config {
            Config::default()
        } else {
            match args.config.clone().or_else(|| Config::find(&folders)) {
                Some(path) => Config::load(&path)?,
                None => Config::default(),
            }
        };
        let found_inventory = if args.no_inventory {
            None
        } else {
            find_inventory(&folders)
        };
        // Where the inventory's path globs start: the folder it was found in by default,
        // else (named with --inventory or in .sprawl.toml) the scanned repository's root.
        let (found_file, found_in) = found_inventory.unzip();
        let settings = Effective::resolve(
            CommandLine {
                rule_paths: Vec::new(),
                disabled_rules: Vec::new(),
                inventory: args.inventory.clone(),
                max_file_size: args.max_file_size,
                max_age_days: args.max_age_days,
                fail_on: args.fail_on.clone(),
                archives: args.no_archives.then_some(false),
                max_archive_size: args.max_archive_size,
            },
            config,
            Defaults {
                max_file_size: DEFAULT_MAX_FILE_SIZE,
                max_archive_size: sources::archive::DEFAULT_MAX_ARCHIVE_SIZE,
                max_age_days: inventory::DEFAULT_MAX_AGE_DAYS,
                inventory: found_file.clone(),
            },
        );
        // Inventory globs and baseline paths name places in the project they describe, not
        // in the folder scanned: a scan of `docs/` sees `conf.py` where they say `docs/conf.py`.
        let changes_only = args.staged || args.range.is_some() || args.since.is_some();
        let project_paths =
            |project: &Path| ProjectPaths::new(&targets.roots, project, changes_only);
        let inventory = match (&settings.inventory.value, args.no_inventory) {
            (Some(path), false) => {
                let mut inventory = Inventory::load(path)?;
                let project = match (&found_in, &found_file) {
                    (Some(folder), Some(found)) if found == path => folder.clone(),
                    _ => scanned_project(&folders),
                };
                inventory.paths = Some(project_paths(&project));
                Some(inventory)
            }
            _ => None,
        };
        let baseline = match &args.baseline {
            Some(path) => {
                let mut baseline = Baseline::load(path)?;
                baseline.paths = Some(project_paths(&folder_of(path)));
                Some(baseline)
            }
            None => None,
        };
        Ok(Plan {
            settings,
            inventory,
            baseline,
        })
    }

    /// The command line's rule selection plus the configuration's rule files and
    /// disabled rules.
    fn rule_args(&self, given: &RuleArgs) -> RuleArgs {
        let mut rules = given.clone();
        let mut paths: Vec<PathBuf> = self
            .settings
            .rule_paths
            .iter()
            .map(|p| p.value.clone())
            .collect();
        paths.append(&mut rules.rule_paths);
        rules.rule_paths = paths;
        rules
            .disabled
            .extend(self.settings.disabled_rules.iter().map(|d| d.value.clone()));
        rules
    }

    fn suppressor(&self) -> Suppressor<'_> {
        Suppressor {
            allows: &self.settings.allows,
            baseline: self.baseline.as_ref(),
            report_generic_in_tests: self.settings.report_generic_in_tests.value,
        }
    }
}

/// The repository root of the first scanned folder (the last search folder of a root is its
/// repository's root), else that folder.
fn scanned_project(folders: &[PathBuf]) -> PathBuf {
    let first = folders
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    git::discover(&first)
        .ok()
        .and_then(|repo| repo.workdir().map(Path::to_path_buf))
        .unwrap_or(first)
}

/// The folder holding a file (`.` for a bare file name).
fn folder_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Where a scan's `.sprawl.toml` and inventory are looked for: each scanned folder (or a
/// scanned file's folder), then the root of its repository.
fn search_folders(targets: &Targets) -> Vec<PathBuf> {
    let mut folders = Vec::new();
    for root in &targets.roots {
        let dir = if root.path.is_dir() {
            root.path.clone()
        } else {
            match root.path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            }
        };
        let repo_root = git::discover(&dir)
            .ok()
            .and_then(|r| r.workdir().map(Path::to_path_buf));
        folders.push(dir);
        folders.extend(repo_root);
    }
    folders
}

fn walk_options(args: &ScanArgs, settings: &Effective, engine: &Engine) -> WalkOptions {
    let threads = args.threads.filter(|&n| n > 0).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
    });
    WalkOptions {
        respect_ignore_files: !args.no_ignore,
        follow_links: args.follow,
        max_file_size: settings.max_file_size.value,
        threads,
        archives: settings.archives.value,
        max_archive_size: settings.max_archive_size.value,
        chunk_overlap: engine.reach(),
    }
}

/// The first default inventory file in the search folders, and the folder it was found in.
fn find_inventory(folders: &[PathBuf]) -> Option<(PathBuf, PathBuf)> {
    folders.iter().find_map(|base| {
        inventory::DEFAULT_NAMES
            .iter()
            .map(|name| base.join(name))
            .find(|candidate| candidate.is_file())
            .map(|file| (file, base.clone()))
    })
}

/// The findings of a run, judged, and the totals.
struct Collected {
    findings: Vec<Finding>,
    suppressed: Vec<Suppressed>,
    summary: Summary,
    inventory: Option<InventoryReport>,
    baseline: Option<BaselineReport>,
    /// Every candidate and its verdict, when asked (`sprawl explain`).
    explained: Vec<Explained>,
}

fn scan_into(
    args: &ScanArgs,
    engine: &Engine,
    targets: &Targets,
    plan: &Plan,
    destination: &mut Destination,
    started: Instant,
) -> Result<u8> {
    let to_terminal = args.output.is_none() && io::stdout().is_terminal();
    // History findings are dated only once every blob is read: they are written at the end.
    let history = args.history || args.since.is_some() || args.range.is_some();
    let streaming = args.format == Format::Jsonl && !history;
    let collected = collect(
        args,
        engine,
        targets,
        plan,
        streaming.then(|| destination.writer()),
        started,
        false,
    )?;
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
    };
    let options = report::Options {
        show_secrets: args.show_secrets,
        show_suppressed: args.show_suppressed,
        color,
    };
    let run = crate::run::Run {
        findings: collected.findings,
        suppressed: collected.suppressed,
        summary: collected.summary,
        inventory: collected.inventory,
        baseline: collected.baseline,
        explained: Vec::new(),
    };
    let findings = &run.findings;
    let out = destination.writer();
    let written = match args.format {
        Format::Jsonl if streaming => Ok(()),
        format => report::reporter(format, options).write(&run, out),
    };
    match written {
        // `sprawl scan | head`: the reader has what it wanted; the verdict still stands.
        Err(err) if reader_closed(&err) => {}
        other => other.context("cannot write the report")?,
    }
    Ok(exit_code(findings, &plan.settings.fail_on.value))
}

/// 1 when a finding has a status that --fail-on names (`any`: any finding at all).
fn exit_code(findings: &[Finding], fail_on: &[FailOn]) -> u8 {
    let fails = |f: &Finding| fail_on.iter().any(|choice| choice.fails(f));
    if fail_on.contains(&FailOn::None) || !findings.iter().any(fails) {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    }
}

/// Runs the scan: walk, history, staged; then dates, pairs, judges and suppresses.
/// `stream` receives each counted finding as a JSON line as soon as it is found; `explain`
/// records every candidate and its verdict in [`Collected::explained`].
fn collect<'a>(
    args: &ScanArgs,
    engine: &'a Engine,
    targets: &Targets,
    plan: &'a Plan,
    stream: Option<&'a mut (dyn Write + Send)>,
    started: Instant,
    explain: bool,
) -> Result<Collected> {
    let options = walk_options(args, &plan.settings, engine);
    if options.threads > MANY_WORKERS {
        return_large_buffers();
    }
    let policy = Policy {
        now: args.now.unwrap_or_else(unix_now),
        max_age_days: plan.settings.max_age_days.value,
    };
    let inventory = plan.inventory.as_ref();
    let shared = Shared {
        engine,
        results: Mutex::new(Results::default()),
        stream: stream.map(Mutex::new),
        stream_failed: AtomicBool::new(false),
        stream_closed: AtomicBool::new(false),
        show_secrets: args.show_secrets,
        inventory,
        policy,
        suppressor: plan.suppressor(),
        files: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        hits: AtomicU64::new(0),
        explain,
    };

    let GitSources {
        repos,
        submodules,
        staged,
    } = open_git_sources(args, targets)?;
    let mut history_summary = HistorySummary::default();

    let show_progress = !args.quiet && io::stderr().is_terminal();
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        if show_progress {
            scope.spawn(|| progress(&shared, &done));
        }
        if targets.stdin {
            let mut worker = Worker::new(&shared);
            let mut buf = Vec::new();
            sources::scan_stdin(
                options.max_file_size,
                options.chunk_overlap,
                &mut buf,
                &mut worker,
            );
        }
        let worktrees: Vec<Root> = targets
            .roots
            .iter()
            .zip(&repos)
            .filter(|_| !args.staged)
            .filter(|(_, repo)| repo.as_ref().is_none_or(|r| r.scan_worktree))
            .map(|(root, _)| root.clone())
            .collect();
        sources::walk(&worktrees, &options, || Worker::new(&shared));
        for (root, repo) in targets.roots.iter().zip(&repos) {
            if let Some(repo) = repo {
                history_summary.merge(scan_history(&shared, root, repo, &options));
            }
        }
        for (root, repo) in &submodules {
            history_summary.merge(scan_history(&shared, root, repo, &options));
        }
        for (root, repo, files) in &staged {
            scan_staged(&shared, root, repo, files);
        }
        done.store(true, Ordering::Relaxed);
    });

    if shared.stream_failed.load(Ordering::Relaxed) {
        bail!("cannot write the report");
    }
    let Results {
        findings: mut found,
        mut summary,
        suppressed,
        explained,
    } = shared
        .results
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    if repos.iter().any(Option::is_some) {
        let all = repos
            .iter()
            .flatten()
            .chain(submodules.iter().map(|(_, r)| r));
        date_findings(&mut found, all, policy.now);
        for repo in repos.iter().flatten().filter(|r| r.range) {
            date_from_full_history(&mut found, repo, &options);
        }
        summary.history = Some(history_summary);
    }
    let mut findings = found.into_sorted();
    if let Some(inv) = inventory {
        drop_inventory_file(&mut findings, inv, targets);
    }
    lifecycle::pair_keys_with_certificates(&mut findings);
    for finding in &mut findings {
        inventory::assess(finding, inventory, policy);
    }
    let mut suppressed = suppress::merge(suppressed);
    let mut distinct = std::collections::BTreeSet::new();
    for s in &mut suppressed {
        inventory::assess(&mut s.finding, inventory, policy);
        // A credential suppressed at two places (or for two reasons) counts once per kind.
        if distinct.insert((s.kind, s.finding.fingerprint)) {
            *summary.suppressed.entry(s.kind).or_default() += 1;
        }
    }
    let inventory = inventory.map(|inv| InventoryReport::new(inv, &findings));
    let baseline = plan
        .baseline
        .as_ref()
        .map(|b| BaselineReport::new(b, &findings, &suppressed));
    for status in findings.iter().flat_map(|f| &f.assessment.statuses) {
        *summary.statuses.entry(*status).or_default() += 1;
    }
    summary.findings = findings.len() as u64;
    summary.locations = findings.iter().map(|f| f.locations.len() as u64).sum();
    summary.rules = engine.rule_count() as u64;
    summary.problems.sort();
    summary.duration_ms = started.elapsed().as_millis() as u64;
    Ok(Collected {
        findings,
        suppressed,
        summary,
        inventory,
        baseline,
        explained,
    })
}

/// The inventory names credentials by key id (an AWS key id is a finding of its own): its
/// own file is not a place where credentials leak.
fn drop_inventory_file(findings: &mut Vec<Finding>, inventory: &Inventory, targets: &Targets) {
    let Ok(file) = fs::canonicalize(&inventory.path) else {
        return;
    };
    let shown: Vec<String> = targets
        .roots
        .iter()
        .filter_map(|root| {
            let base = fs::canonicalize(&root.path).ok()?;
            let rel = file.strip_prefix(&base).ok()?;
            Some(root.display_relative(&rel.to_string_lossy().replace('\\', "/")))
        })
        .collect();
    if shown.is_empty() {
        return;
    }
    for finding in findings.iter_mut() {
        finding.locations.retain(|l| !shown.contains(&l.path));
    }
    findings.retain(|f| !f.locations.is_empty());
}

/// `sprawl inventory check FILE`: a malformed file is an error (exit 2); problems of a
/// well-formed one are listed, one per line, and make the exit code 1.
fn check_inventory(file: &Path, now: Option<i64>) -> Result<u8> {
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

/// The scan behind `inventory init` and `baseline create`: PATH with its configuration,
/// no inventory, no baseline.
fn record_scan(args: &RecordArgs) -> Result<(Targets, Collected)> {
    let started = Instant::now();
    let scan_args = ScanArgs {
        rules: args.rules.clone(),
        history: args.history,
        now: args.now,
        no_inventory: true,
        fail_on: vec![FailOn::None],
        config: args.config.clone(),
        threads: args.threads,
        quiet: args.quiet,
        ..ScanArgs::of(&args.path)
    };
    let targets = resolve_targets(&scan_args.paths)?;
    let plan = Plan::new(&scan_args, &targets)?;
    let set = load_rules(&plan.rule_args(&scan_args.rules))?;
    let engine = Engine::new(&set)?;
    let collected = collect(&scan_args, &engine, &targets, &plan, None, started, false)?;
    Ok((targets, collected))
}

/// Writes `text` to `path` whole or not at all (temporary file, then rename).
fn write_whole(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).with_context(|| parent.display().to_string())?;
    }
    let mut destination = Destination::open(Some(path))?;
    destination
        .writer()
        .write_all(text.as_bytes())
        .with_context(|| path.display().to_string())?;
    destination.finish()
}

/// `sprawl inventory init`: scans, then writes a starter inventory or appends the new
/// credentials to an existing one (written whole through a temporary file, or not at all).
fn init_inventory(args: RecordArgs) -> Result<u8> {
    let folders = search_folders(&resolve_targets(std::slice::from_ref(&args.path))?);
    let output = match &args.output {
        Some(path) => path.clone(),
        None => find_inventory(&folders).map_or_else(
            || args.path.join(inventory::DEFAULT_NAMES[0]),
            |(file, _)| file,
        ),
    };
    // Read the existing inventory first: a malformed one stops here, untouched.
    let existing = if output.exists() {
        let text = fs::read_to_string(&output).with_context(|| output.display().to_string())?;
        let inv = Inventory::parse(&text, &output.display().to_string())?;
        Some((text, inv))
    } else {
        None
    };
    let (targets, mut collected) = record_scan(&args)?;
    // The inventory's own file names key ids, not credentials.
    if let Some((_, inv)) = &existing {
        drop_inventory_file(&mut collected.findings, inv, &targets);
    }
    let repo_root = git::discover(&args.path)
        .ok()
        .and_then(|r| r.workdir().map(Path::to_path_buf))
        .unwrap_or_else(|| args.path.clone());
    let codeowners = init::Codeowners::find(&repo_root);
    let suggest = |f: &Finding| init::suggest_owner(f, codeowners.as_ref());
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

/// `sprawl baseline create`: records the findings that count today (allowed ones are not
/// recorded, so removing an allow later shows them again).
fn create_baseline(args: RecordArgs) -> Result<u8> {
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.path.join(".sprawl-baseline.json"));
    let (targets, collected) = record_scan(&args)?;
    // A baseline's paths are relative to the folder holding it, which scans then map to.
    let project = ProjectPaths::new(&targets.roots, &folder_of(&output), false);
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

/// `sprawl explain FILE[:LINE]...`: scans the inputs as `sprawl scan` would (same rules,
/// configuration and allows), recording every candidate, and prints each with its verdict.
fn explain_candidates(args: ExplainArgs) -> Result<u8> {
    let started = Instant::now();
    let mut paths = Vec::new();
    let mut line = None;
    for target in &args.targets {
        let (path, at) = split_line_suffix(target);
        if at.is_some() && args.targets.len() > 1 {
            bail!("{target}: a :LINE suffix needs a single FILE");
        }
        line = line.or(at);
        paths.push(PathBuf::from(path));
    }
    let scan_args = ScanArgs {
        rules: args.rules.clone(),
        config: args.config.clone(),
        no_config: args.no_config,
        baseline: args.baseline.clone(),
        no_ignore: args.no_ignore,
        no_inventory: true,
        threads: Some(1),
        ..ScanArgs::of(Path::new("."))
    };
    let scan_args = ScanArgs { paths, ..scan_args };
    let targets = resolve_targets(&scan_args.paths)?;
    let plan = Plan::new(&scan_args, &targets)?;
    let set = load_rules(&plan.rule_args(&scan_args.rules))?;
    let engine = Engine::new(&set)?;
    let collected = collect(&scan_args, &engine, &targets, &plan, None, started, true)?;
    let mut explained = collected.explained;
    explained.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    let inputs = collected.summary.files_scanned as usize;
    let mut out = io::stdout().lock();
    explain::write_explained(&mut out, &explained, inputs, line, args.show_secrets)?;
    out.flush()?;
    Ok(EXIT_CLEAN)
}

/// `config/app.env:12` is the file and line 12, unless a file of that whole name exists.
fn split_line_suffix(target: &str) -> (&str, Option<usize>) {
    if Path::new(target).exists() {
        return (target, None);
    }
    match target.rsplit_once(':') {
        Some((path, line)) if !path.is_empty() => match line.parse::<usize>() {
            Ok(n) if n > 0 => (path, Some(n)),
            _ => (target, None),
        },
        _ => (target, None),
    }
}

/// `sprawl config show`: the settings a scan of PATH would use, and where each came from.
fn show_config(path: &Path, config: Option<PathBuf>) -> Result<u8> {
    let args = ScanArgs {
        config,
        ..ScanArgs::of(path)
    };
    let targets = resolve_targets(&args.paths)?;
    let plan = Plan::new(&args, &targets)?;
    // The rules must load too: a configuration naming a missing rule file is an error here.
    load_rules(&plan.rule_args(&args.rules))?;
    write!(io::stdout(), "{}", plan.settings)?;
    Ok(EXIT_CLEAN)
}

/// Git inputs of a scan, opened (and their commits and trees walked) before any scan
/// starts, so a PATH that is not a repository is an error (exit 2), not a half-done report.
struct GitSources {
    /// One per root: its history or range, when those were asked for.
    repos: Vec<Option<OpenRepo>>,
    /// Checked-out submodules' histories (`--recurse-submodules`), under their paths.
    submodules: Vec<(Root, OpenRepo)>,
    /// What is staged in each root's repository (`--staged`).
    staged: Vec<(Root, git2::Repository, git::Staged)>,
}

fn open_git_sources(args: &ScanArgs, targets: &Targets) -> Result<GitSources> {
    if args.history || args.since.is_some() || args.range.is_some() || args.staged {
        // Each blob is read once to be scanned, not to be trusted by its id: re-hashing every
        // object with collision-detecting SHA-1 cost a quarter of a history scan, and the
        // object cache only holds what will not be read again.
        git2::opts::strict_hash_verification(false);
        git2::opts::enable_caching(false);
    }
    // The flag as typed names the range in errors.
    let range = match (&args.range, &args.since) {
        (Some(range), _) => Some((range.clone(), format!("--range {range}"))),
        (None, Some(rev)) => Some((format!("{rev}..HEAD"), format!("--since {rev}"))),
        (None, None) => None,
    };
    let repos: Vec<Option<OpenRepo>> = targets
        .roots
        .iter()
        .map(|root| {
            if !args.history && range.is_none() {
                return Ok(None);
            }
            // The repository holding the folder, and the part of it the folder is.
            let repo = git::discover(&root.path)?;
            let scope = git::Scope::of(&repo, &root.path);
            let shown = root.path.display().to_string();
            let history = match &range {
                Some((range, given)) => git::read_range(&repo, range, &scope, given)?,
                None => git::read_history(&repo, &scope, &shown)?,
            };
            Ok(Some(OpenRepo {
                git_dir: repo.path().to_path_buf(),
                // A range scan is about what the range added: the work tree is not part of it.
                scan_worktree: range.is_none() && !args.no_worktree && !repo.is_bare(),
                range: range.is_some(),
                scope,
                history,
            }))
        })
        .collect::<Result<_>>()?;
    // Submodules' own histories, under their paths (their work-tree files are in the walk
    // of the parent's work tree already).
    let mut submodules: Vec<(Root, OpenRepo)> = Vec::new();
    if args.recurse_submodules {
        for (root, opened) in targets.roots.iter().zip(&repos) {
            if opened.is_some() {
                collect_submodules(root, &mut submodules)?;
            }
        }
    }
    let staged: Vec<(Root, git2::Repository, git::Staged)> = if args.staged {
        targets
            .roots
            .iter()
            .map(|root| {
                let repo = git::discover(&root.path)?;
                let staged = git::read_staged(&repo, &root.path.display().to_string())?;
                Ok((root.clone(), repo, staged))
            })
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    Ok(GitSources {
        repos,
        submodules,
        staged,
    })
}

/// A repository of a history scan, read before scanning.
struct OpenRepo {
    git_dir: PathBuf,
    scan_worktree: bool,
    /// A range (`--range`, `--since`): what its commits added, not the whole history.
    range: bool,
    /// The part of the repository scanned (the folder given, inside its work tree).
    scope: git::Scope,
    history: History,
}

/// Reads every distinct blob of a repository once, in parallel: one `Repository` handle per
/// rayon worker (libgit2 handles are not shared across threads).
fn scan_history(
    shared: &Shared<'_>,
    root: &Root,
    repo: &OpenRepo,
    options: &WalkOptions,
) -> HistorySummary {
    let history = &repo.history;
    let blobs_scanned = AtomicU64::new(0);
    let blob_bytes = AtomicU64::new(0);
    let lfs = AtomicU64::new(0);
    let unreadable = AtomicU64::new(history.unreadable.len() as u64);
    let scan = || {
        use rayon::prelude::*;
        history.blobs.par_iter().for_each_init(
            || {
                (
                    git2::Repository::open(&repo.git_dir).ok(),
                    Worker::new(shared),
                )
            },
            |(handle, worker), (oid, origins)| {
                let shown = origins
                    .first()
                    .map(|o| root.display_relative(&o.path))
                    .unwrap_or_default();
                let Some(handle) = handle else {
                    unreadable.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                // The header gives the size without inflating the blob.
                let size = handle
                    .odb()
                    .and_then(|odb| odb.read_header(*oid))
                    .map(|(size, _)| size as u64);
                match size {
                    Ok(size) if size > options.max_file_size => {
                        let limit = options.max_file_size;
                        worker.visit(Event::Skipped {
                            path: shown,
                            reason: SkipReason::TooLarge { size, limit },
                        });
                        return;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        unreadable.fetch_add(1, Ordering::Relaxed);
                        worker.visit(corrupt_object(shown, *oid, &e));
                        return;
                    }
                }
                let blob = match handle.find_blob(*oid) {
                    Ok(blob) => blob,
                    Err(e) => {
                        unreadable.fetch_add(1, Ordering::Relaxed);
                        worker.visit(corrupt_object(shown, *oid, &e));
                        return;
                    }
                };
                if git::is_lfs_pointer(blob.content()) {
                    lfs.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                let bytes = match sources::text_of(blob.content()) {
                    Ok(bytes) => bytes,
                    Err(reason) => {
                        worker.visit(Event::Skipped {
                            path: shown,
                            reason,
                        });
                        return;
                    }
                };
                let bytes = &*bytes;
                blobs_scanned.fetch_add(1, Ordering::Relaxed);
                blob_bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                worker.scan_blob(
                    bytes,
                    &HistoryBlob {
                        root,
                        commits: &history.commits,
                        origins,
                        in_head: history.head_blobs.contains(oid),
                        repo: handle,
                        before: &history.before,
                    },
                );
            },
        );
    };
    match rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .build()
    {
        Ok(pool) => pool.install(scan),
        Err(_) => scan(),
    }
    // Commits and trees that could not be read are named too; the scan went on without them.
    let mut worker = Worker::new(shared);
    let repository = match root.display_relative("") {
        shown if shown.is_empty() => ".".to_string(),
        shown => shown,
    };
    for id in &history.unreadable {
        worker.visit(Event::Skipped {
            path: repository.clone(),
            reason: SkipReason::Unreadable(format!("git object {id}: corrupt or missing")),
        });
    }
    HistorySummary {
        commits: history.commits.len() as u64,
        blobs_scanned: blobs_scanned.into_inner(),
        blob_bytes_scanned: blob_bytes.into_inner(),
        partial: history.shallow,
        submodules_not_followed: history.submodules,
        lfs_pointers: lfs.into_inner(),
        unreadable_objects: unreadable.into_inner(),
    }
}

/// Scans the staged version of each staged file and keeps what lies on the lines the
/// change adds and was not already in HEAD's version of the files it changes: a pre-commit
/// hook answers for this commit, not for the file's past.
fn scan_staged(shared: &Shared<'_>, root: &Root, repo: &git2::Repository, staged: &git::Staged) {
    let mut worker = Worker::new(shared);
    for file in &staged.files {
        let path = root.display_relative(&file.path);
        let Ok(blob) = repo.find_blob(file.blob) else {
            worker.visit(Event::Skipped {
                path,
                reason: SkipReason::Unreadable(
                    "staged blob missing from the object database".into(),
                ),
            });
            continue;
        };
        let bytes = match sources::text_of(blob.content()) {
            Ok(bytes) => bytes,
            Err(reason) => {
                worker.visit(Event::Skipped { path, reason });
                continue;
            }
        };
        let bytes = &*bytes;
        worker.summary.files_scanned += 1;
        worker.summary.bytes_scanned += bytes.len() as u64;
        let mut found = worker.find(&path, bytes, None);
        for finding in &mut found {
            let places = finding.locations.clone();
            finding
                .locations
                .retain(|l| git::touches(&file.added_lines, l.line, l.end_line));
            if !finding.locations.is_empty()
                && worker.held_before(repo, &staged.before, finding, &places)
            {
                finding.locations.clear();
            }
            for location in &mut finding.locations {
                location.source = SourceKind::Staged;
            }
        }
        found.retain(|f| !f.locations.is_empty());
        worker.emit(found);
    }
}

/// Writes `<hooks>/pre-commit` running `sprawl scan --staged`; an existing hook is kept
/// unless `force`, since it may hold someone's work.
fn install_hook(path: &Path, force: bool) -> Result<u8> {
    let repo = git::discover(path)?;
    let hooks = match repo.config().and_then(|c| c.get_path("core.hooksPath")) {
        Ok(custom) if custom.is_absolute() => custom,
        Ok(custom) => repo.workdir().unwrap_or(repo.path()).join(custom),
        Err(_) => repo.path().join("hooks"),
    };
    let hook = hooks.join("pre-commit");
    if hook.exists() && !force {
        bail!(
            "{}: a pre-commit hook already exists (use --force to replace it)",
            hook.display()
        );
    }
    fs::create_dir_all(&hooks).with_context(|| hooks.display().to_string())?;
    let exe = std::env::current_exe()
        .ok()
        .map(|p| p.display().to_string())
        .filter(|p| !p.contains('\''))
        .map_or_else(|| "sprawl".to_string(), |p| format!("'{p}'"));
    let script = format!(
        "#!/bin/sh\n# Installed by `sprawl hook install`: refuse commits that add credentials.\n\
         # Bypass once with `git commit --no-verify`.\nexec {exe} scan --staged --quiet\n"
    );
    fs::write(&hook, script).with_context(|| hook.display().to_string())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&hook, fs::Permissions::from_mode(0o755))
            .with_context(|| hook.display().to_string())?;
    }
    writeln!(io::stdout(), "installed {}", hook.display())?;
    Ok(EXIT_CLEAN)
}

/// Opens every checked-out submodule of the repository at `root` (and theirs, depth first)
/// for a history scan; one that is not checked out has no objects here and is skipped.
fn collect_submodules(root: &Root, out: &mut Vec<(Root, OpenRepo)>) -> Result<()> {
    let repo = git::open(&root.path)?;
    let Ok(modules) = repo.submodules() else {
        return Ok(());
    };
    for module in modules {
        let Ok(sub) = module.open() else {
            continue;
        };
        let rel = module.path().to_string_lossy().replace('\\', "/");
        let sub_root = Root {
            path: root.path.join(module.path()),
            display_prefix: root.display_relative(&rel),
        };
        let scope = git::Scope::default();
        let history = git::read_history(&sub, &scope, &sub_root.path.display().to_string())?;
        let nested = sub_root.clone();
        out.push((
            sub_root,
            OpenRepo {
                git_dir: sub.path().to_path_buf(),
                scan_worktree: false,
                range: false,
                scope,
                history,
            },
        ));
        collect_submodules(&nested, out)?;
    }
    Ok(())
}

/// A blob that libgit2 could not read (corrupt pack, missing object): named in the summary.
fn corrupt_object(path: String, oid: git2::Oid, err: &git2::Error) -> Event<'static> {
    Event::Skipped {
        path,
        reason: SkipReason::Unreadable(format!("git object {oid}: {}", err.message())),
    }
}

fn seen(c: &CommitInfo) -> Seen {
    Seen {
        commit: c.id.clone(),
        date: dates::rfc3339_utc(c.time),
        author: c.author.clone(),
        time: c.time,
    }
}

/// Fills first_seen, last_seen, in_worktree and age_days from the commits of each finding's
/// git locations. first_seen is the earliest (by committer date) of the commits that
/// introduced the secret, not merely a blob holding it; last_seen the newest commit that
/// wrote a blob holding it.
fn date_findings<'r>(
    findings: &mut FindingSet,
    repos: impl Iterator<Item = &'r OpenRepo>,
    now: i64,
) {
    let opened: Vec<Option<(git2::Repository, &History)>> = repos
        .map(|r| {
            git2::Repository::open(&r.git_dir)
                .ok()
                .map(|h| (h, &r.history))
        })
        .collect();
    // commit id -> (repository, index in its topological order)
    let mut where_is: HashMap<&str, (usize, usize)> = HashMap::new();
    for (r, repo) in opened.iter().enumerate() {
        if let Some((_, history)) = repo {
            for (i, c) in history.commits.iter().enumerate() {
                where_is.insert(c.id.as_str(), (r, i));
            }
        }
    }
    for finding in findings.iter_mut() {
        let mut per_repo: HashMap<usize, Vec<usize>> = HashMap::new();
        for id in finding.locations.iter().filter_map(|l| l.commit.as_deref()) {
            if let Some(&(r, i)) = where_is.get(id) {
                per_repo.entry(r).or_default().push(i);
            }
        }
        let (mut first, mut last): (Option<&CommitInfo>, Option<&CommitInfo>) = (None, None);
        for (r, origins) in &per_repo {
            let Some((handle, history)) = &opened[*r] else {
                continue;
            };
            for i in git::introducers(handle, &history.commits, origins) {
                let c = &history.commits[i];
                if first.is_none_or(|f| c.time < f.time) {
                    first = Some(c);
                }
            }
            for &i in origins {
                let c = &history.commits[i];
                if last.is_none_or(|l| c.time > l.time) {
                    last = Some(c);
                }
            }
        }
        finding.first_seen = first.map(seen);
        finding.last_seen = last.map(seen);
        finding.age_days = first.map(|c| (now - c.time).max(0) / 86_400);
        if finding
            .locations
            .iter()
            .any(|l| l.source == SourceKind::File)
        {
            finding.in_worktree = Some(true);
        } else if finding.in_worktree.is_none() {
            finding.in_worktree = Some(false);
        }
    }
}

/// A range scan sees only the range's commits, but a secret it reports may be older: copied
/// from a file committed years ago. Its first_seen then comes from the repository's whole
/// history (as far as the clone has it): every blob is searched for the secrets found, and
/// the earliest commit that introduced one holding it wins. This runs only when a range
/// scan found something, so a clean pull request costs nothing more.
fn date_from_full_history(found: &mut FindingSet, repo: &OpenRepo, options: &WalkOptions) {
    let ids: HashSet<&str> = repo.history.commits.iter().map(|c| c.id.as_str()).collect();
    let mut dated: Vec<&mut Finding> = found
        .iter_mut()
        .filter(|f| {
            f.locations
                .iter()
                .any(|l| l.commit.as_deref().is_some_and(|c| ids.contains(c)))
        })
        .collect();
    if dated.is_empty() {
        return;
    }
    let Ok(handle) = git2::Repository::open(&repo.git_dir) else {
        return;
    };
    let shown = repo.git_dir.display().to_string();
    let Ok(full) = git::read_history(&handle, &repo.scope, &shown) else {
        return;
    };
    let secrets: Vec<Vec<u8>> = dated.iter().map(|f| f.secret.expose().to_vec()).collect();
    let needles: Vec<&[u8]> = secrets.iter().map(Vec::as_slice).collect();
    let commits = git::commits_containing(
        &repo.git_dir,
        &full,
        &needles,
        options.threads,
        options.max_file_size,
    );
    for (finding, origins) in dated.iter_mut().zip(commits) {
        let earliest = git::introducers(&handle, &full.commits, &origins)
            .into_iter()
            .map(|c| &full.commits[c])
            .min_by_key(|c| c.time);
        if let Some(c) = earliest
            && finding.first_seen.as_ref().is_none_or(|f| c.time < f.time)
        {
            finding.first_seen = Some(seen(c));
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
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
