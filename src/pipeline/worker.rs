//! The worker: one per source thread, the one place every input goes through. Given bytes
//! and their origin it matches (engine), turns matches into findings (enrich), places them
//! as the origin says (a file's line, a blob's commits, a staged change's added lines), sets
//! suppressed places aside and keeps the rest; its results join the run's when it is dropped.

use std::collections::HashSet;
use std::io::Write;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::dates;
use crate::engine::{self, DropCounts, Engine, RawMatch, RuleIdx, Scratch};
use crate::enrich::{self, decode, findings_for_input, structure};
use crate::finding::{Finding, FindingSet, Fingerprint, Location, Secret, SourceKind, Suppressed};
use crate::inventory::{self, Inventory, Policy};
use crate::report::{self, explain};
use crate::run::{Explained, Summary, Verdict};
use crate::sources::chunked::Chunk;
use crate::sources::git;
use crate::sources::history::{BlobInput, HistorySummary, PreImages, StagedInput};
use crate::sources::{Event, Origin, Visitor};
use crate::suppress::Suppressor;

/// A write failed because its reader closed the pipe (`sprawl scan | head`): the reader's
/// choice, not an error, as for other Unix tools.
pub fn reader_closed(err: &std::io::Error) -> bool {
    err.kind() == std::io::ErrorKind::BrokenPipe
}

/// State shared by the walker threads of one scan.
pub struct Shared<'a> {
    pub engine: &'a Engine,
    pub results: Mutex<Results>,
    /// `jsonl` findings are written here as they are found.
    pub stream: Option<Mutex<&'a mut (dyn Write + Send)>>,
    pub stream_failed: AtomicBool,
    /// The reader of the stream closed it (`sprawl scan --format jsonl | head`).
    pub stream_closed: AtomicBool,
    pub show_secrets: bool,
    /// Streamed findings are judged against these as they are found.
    pub inventory: Option<&'a Inventory>,
    pub policy: Policy,
    /// Inline allows, allow lists and the baseline, applied as findings are found.
    pub suppressor: Suppressor<'a>,
    pub files: AtomicU64,
    pub bytes: AtomicU64,
    pub hits: AtomicU64,
    /// Record every candidate and its verdict (`sprawl explain`).
    pub explain: bool,
}

/// What the workers found: the findings that count, what was suppressed, the totals.
#[derive(Default)]
pub struct Results {
    pub findings: FindingSet,
    pub summary: Summary,
    pub suppressed: Vec<Suppressed>,
    /// `sprawl explain`: every candidate and its verdict.
    pub explained: Vec<Explained>,
}

/// One walker thread's scratch and results; merged into [`Shared`] when dropped.
pub struct Worker<'s, 'a> {
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
    /// The last input scanned produced no finding and no configuration count, only these
    /// dropped look-alikes (what the history cache may remember).
    input_held_nothing: Option<DropCounts>,
}

impl<'s, 'a> Worker<'s, 'a> {
    pub fn new(shared: &'s Shared<'a>) -> Self {
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
            input_held_nothing: None,
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
    fn scan_blob(&mut self, bytes: &[u8], blob: &BlobInput<'_>) {
        let Some(first) = blob.origins.first() else {
            return;
        };
        self.shared.files.fetch_add(1, Ordering::Relaxed);
        self.shared
            .bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let shown = blob.root.display_relative(&first.path);
        let mut found = self.find(&shown, bytes, None);
        if let Some(dropped) = &self.input_held_nothing {
            blob.held_nothing(&shown, bytes.len() as u64, dropped);
        }
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
                if origin.added_lines.is_some()
                    && self.held_before(blob.before(origin.commit), finding, &places)
                {
                    continue;
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

    /// Whether what the changed files held before a commit or a staged change already holds
    /// the finding's secret: in clear, or, for a secret found under an encoding, as the engine
    /// finds it there.
    fn held_before(
        &mut self,
        before: PreImages<'_>,
        finding: &Finding,
        places: &[Location],
    ) -> bool {
        let secret = finding.secret.expose();
        let decoded = places.iter().any(|p| !p.decoded.is_empty());
        before.texts().any(|text| {
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

    /// Scans a staged file and keeps what lies on the lines the change adds and was not
    /// already in HEAD's version of the files it changes: a pre-commit hook answers for this
    /// commit, not for the file's past.
    fn scan_staged(&mut self, bytes: &[u8], staged: &StagedInput<'_>) {
        self.summary.files_scanned += 1;
        self.summary.bytes_scanned += bytes.len() as u64;
        let mut found = self.find(&staged.path, bytes, None);
        for finding in &mut found {
            let places = finding.locations.clone();
            finding
                .locations
                .retain(|l| git::touches(staged.added_lines, l.line, l.end_line));
            if !finding.locations.is_empty() && self.held_before(staged.before, finding, &places) {
                finding.locations.clear();
            }
            for location in &mut finding.locations {
                location.source = SourceKind::Staged;
            }
        }
        found.retain(|f| !f.locations.is_empty());
        self.emit(found);
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
        engine.scope_to(path, &mut self.scratch);
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
        let dropped = self.scratch.take_dropped();
        self.input_held_nothing =
            (found.is_empty() && configs.is_empty() && self.explained.is_none())
                .then(|| dropped.clone());
        self.summary.configs.merge(configs);
        self.summary.add_dropped(dropped);
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

/// The one entry point of every source: bytes and their origin, or what was skipped.
impl Visitor for Worker<'_, '_> {
    fn visit(&mut self, event: Event<'_>) {
        match event {
            Event::Input { origin, bytes } => match origin {
                Origin::File { path } => self.scan_input(path, bytes),
                Origin::Chunk { path, chunk } => self.scan_chunk(path, bytes, chunk),
                Origin::Blob(blob) => self.scan_blob(bytes, blob),
                Origin::Staged(staged) => self.scan_staged(bytes, staged),
            },
            Event::Skipped { path, reason } => self.summary.skip(path, &reason),
            Event::Archive { archives, entries } => {
                self.summary.archives.opened += archives;
                self.summary.archives.entries += entries;
            }
            Event::History(counts) => self
                .summary
                .history
                .get_or_insert_with(HistorySummary::default)
                .merge(counts),
            Event::CachedBlob { bytes, dropped } => {
                self.shared.files.fetch_add(1, Ordering::Relaxed);
                self.shared.bytes.fetch_add(bytes, Ordering::Relaxed);
                self.summary.add_dropped(dropped);
            }
            Event::Problem { path, problem } => self.summary.note_problem(path, problem),
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
