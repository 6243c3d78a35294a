//! Git as a source: a repository's history (every blob of every ref) or a range of it (what
//! the range's commits added), and the changes staged for the next commit. Reading the
//! commits and trees is `git.rs`'s; this module drives it: which repositories (the one
//! holding each scanned folder, checked-out submodules), and the parallel reading of their
//! blobs, each handed to a worker with its [`Origin`].

use std::cmp::Reverse;
use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use git2::{Oid, Repository};
use serde::Serialize;

use super::blob_cache::BlobCache;
use super::git::{self, BlobOrigin, CommitInfo, GitError, History, Scope};
use super::walk_cache;
use super::{Event, Origin, Root, SkipReason, Source, Visitor, WalkOptions};
use crate::engine::DropCounts;

/// What a history scan read.
#[derive(Debug, Default, Clone, Serialize)]
pub struct HistorySummary {
    pub commits: u64,
    /// Blobs scanned, those the cache knew held nothing included.
    pub blobs_scanned: u64,
    /// Of `blobs_scanned`, those not read because an earlier scan found nothing in them.
    pub blobs_from_cache: u64,
    pub blob_bytes_scanned: u64,
    pub partial: bool,
    pub submodules_not_followed: u64,
    pub lfs_pointers: u64,
    pub unreadable_objects: u64,
}

impl HistorySummary {
    pub fn merge(&mut self, other: HistorySummary) {
        self.commits += other.commits;
        self.blobs_scanned += other.blobs_scanned;
        self.blobs_from_cache += other.blobs_from_cache;
        self.blob_bytes_scanned += other.blob_bytes_scanned;
        self.partial |= other.partial;
        self.submodules_not_followed += other.submodules_not_followed;
        self.lfs_pointers += other.lfs_pointers;
        self.unreadable_objects += other.unreadable_objects;
    }
}

/// A repository read for a scan: its history (or a range of it), and where it is.
pub struct GitHistory {
    pub root: Root,
    pub git_dir: PathBuf,
    /// A range (`--range`, `--since`): what its commits added, not the whole history.
    pub range: bool,
    /// The part of the repository scanned (the folder given, inside its work tree).
    pub scope: Scope,
    pub history: History,
    /// Problems of the history cache (an unusable file), for the summary.
    notes: Vec<String>,
}

/// How a history source is asked for: all of it, or a range (`A..B`, as the flag was typed
/// for errors: `--since main`).
pub enum Span<'a> {
    All,
    Range { range: &'a str, given: &'a str },
}

impl GitHistory {
    /// Reads the history (or range) of the repository holding `root`'s folder, restricted to
    /// that folder. A folder in no repository, or a range git cannot resolve, is an error.
    /// `cache`: the history cache's folder, where a whole-history walk is kept while the
    /// refs stay the same (see walk_cache.rs); `None` walks every time.
    pub fn open(
        root: &Root,
        span: &Span<'_>,
        cache: Option<&Path>,
    ) -> Result<GitHistory, GitError> {
        git::tune_for_scanning();
        let repo = git::discover(&root.path)?;
        let scope = Scope::of(&repo, &root.path);
        let shown = root.path.display().to_string();
        let mut notes = Vec::new();
        let history = match (span, cache) {
            (Span::Range { range, given }, _) => git::read_range(&repo, range, &scope, given)?,
            (Span::All, None) => git::read_history(&repo, &scope, &shown)?,
            (Span::All, Some(folder)) => {
                let key = walk_cache::key(&repo, &scope);
                match walk_cache::load(folder, repo.path(), &scope, &key) {
                    Ok(Some(history)) => history,
                    saved => {
                        if let Err(note) = saved {
                            notes.push(note);
                        }
                        let history = git::read_history(&repo, &scope, &shown)?;
                        if let Err(e) =
                            walk_cache::save(folder, repo.path(), &scope, &key, &history)
                        {
                            notes.push(format!("walk not saved: {e}"));
                        }
                        history
                    }
                }
            }
        };
        Ok(GitHistory {
            root: root.clone(),
            git_dir: repo.path().to_path_buf(),
            range: matches!(span, Span::Range { .. }),
            scope,
            history,
            notes,
        })
    }

    /// Whether the repository has a work tree (a bare one has only history).
    pub fn has_work_tree(&self) -> bool {
        Repository::open(&self.git_dir).is_ok_and(|r| !r.is_bare())
    }
}

impl Source for GitHistory {
    fn read<'w>(
        &self,
        options: &WalkOptions,
        workers: &(dyn Fn() -> Box<dyn Visitor + 'w> + Sync),
    ) {
        read_blobs(self, options, workers);
    }

    fn history(&self) -> Option<&GitHistory> {
        Some(self)
    }
}

/// What the files a commit (or a staged change) changed held before it. Read on demand:
/// only the few findings on added lines ask.
#[derive(Clone, Copy)]
pub struct PreImages<'a> {
    repo: &'a Repository,
    blobs: &'a [Oid],
}

impl PreImages<'_> {
    /// The text of each one (binary and unreadable ones are passed over).
    pub fn texts(&self) -> impl Iterator<Item = Vec<u8>> + '_ {
        self.blobs.iter().filter_map(|oid| {
            let blob = self.repo.find_blob(*oid).ok()?;
            super::text_of(blob.content()).ok().map(|t| t.into_owned())
        })
    }
}

/// One blob of a history scan and what is known of it.
pub struct BlobInput<'h> {
    pub root: &'h Root,
    pub commits: &'h [CommitInfo],
    pub origins: &'h [BlobOrigin],
    /// In HEAD's tree: a secret in it is still in the current code.
    pub in_head: bool,
    /// The worker's handle on the repository, to read what a range's commits replaced.
    repo: &'h Repository,
    /// See [`History::before`].
    before: &'h HashMap<usize, Vec<Oid>>,
    oid: Oid,
    cache: &'h BlobCache,
}

impl<'h> BlobInput<'h> {
    /// Notes that scanning this blob (as `path`) produced no finding, only the look-alikes
    /// `dropped`, so a later scan with the same rules and settings need not read it.
    pub fn held_nothing(&self, path: &str, size: u64, dropped: &DropCounts) {
        self.cache.learn_clean(self.oid, path, size, dropped);
    }

    /// What the files that commit `commit` (an index into `commits`) changed held before it.
    pub fn before(&self, commit: usize) -> PreImages<'h> {
        PreImages {
            repo: self.repo,
            blobs: self.before.get(&commit).map_or(&[][..], Vec::as_slice),
        }
    }
}

/// A staged file: its path as shown, the lines the change adds, and what the change replaces.
pub struct StagedInput<'a> {
    pub path: String,
    pub added_lines: &'a [RangeInclusive<usize>],
    pub before: PreImages<'a>,
}

/// Reads every distinct blob of a repository once, in parallel: one `Repository` handle per
/// rayon worker (libgit2 handles are not shared across threads). Then names what could not
/// be read, and hands the repository's counts to a worker.
fn read_blobs<'w>(
    repo: &GitHistory,
    options: &WalkOptions,
    workers: &(dyn Fn() -> Box<dyn Visitor + 'w> + Sync),
) {
    let root = &repo.root;
    let history = &repo.history;
    let blobs_scanned = AtomicU64::new(0);
    let blob_bytes = AtomicU64::new(0);
    let lfs = AtomicU64::new(0);
    let from_cache = AtomicU64::new(0);
    let unreadable = AtomicU64::new(history.unreadable.len() as u64);
    let cache = match &options.blob_cache {
        Some(settings) => BlobCache::open(&settings.folder, &repo.git_dir, settings.key),
        None => BlobCache::off(),
    };
    // The versions of one file side by side, newest first: git stores each version as a
    // delta of another (older ones of newer ones, mostly), and libgit2 keeps recently
    // inflated bases, so reading them together inflates each base once instead of once per
    // version (the blobs come in order of first appearance, where a file's versions lie
    // far apart).
    let mut by_path: Vec<&(Oid, Vec<git::BlobOrigin>)> = history.blobs.iter().collect();
    by_path.sort_by_key(|(_, origins)| {
        let first = origins.first();
        (
            first.map(|o| o.path.as_str()),
            Reverse(first.map(|o| o.commit)),
        )
    });
    let scan = || {
        use rayon::prelude::*;
        by_path.par_iter().for_each_init(
            || (Repository::open(&repo.git_dir).ok(), workers()),
            |(handle, worker), &(oid, origins)| {
                let shown = origins
                    .first()
                    .map(|o| root.display_relative(&o.path))
                    .unwrap_or_default();
                if let Some(known) = cache.known_clean(*oid, &shown) {
                    blobs_scanned.fetch_add(1, Ordering::Relaxed);
                    blob_bytes.fetch_add(known.size, Ordering::Relaxed);
                    from_cache.fetch_add(1, Ordering::Relaxed);
                    worker.visit(Event::CachedBlob {
                        bytes: known.size,
                        dropped: known.dropped(),
                    });
                    return;
                }
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
                let bytes = match super::text_of(blob.content()) {
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
                let input = BlobInput {
                    root,
                    commits: &history.commits,
                    origins,
                    in_head: history.head_blobs.contains(oid),
                    repo: handle,
                    before: &history.before,
                    oid: *oid,
                    cache: &cache,
                };
                worker.visit(Event::Input {
                    origin: Origin::Blob(&input),
                    bytes,
                });
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
    let mut worker = workers();
    for note in &repo.notes {
        worker.visit(Event::Problem {
            path: "history cache".into(),
            problem: note.clone(),
        });
    }
    if let Some(note) = &cache.note {
        worker.visit(Event::Problem {
            path: "history cache".into(),
            problem: note.clone(),
        });
    }
    if let Err(e) = cache.save() {
        worker.visit(Event::Problem {
            path: "history cache".into(),
            problem: format!("not saved: {e}"),
        });
    }
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
    worker.visit(Event::History(HistorySummary {
        commits: history.commits.len() as u64,
        blobs_scanned: blobs_scanned.into_inner(),
        blobs_from_cache: from_cache.into_inner(),
        blob_bytes_scanned: blob_bytes.into_inner(),
        partial: history.shallow,
        submodules_not_followed: history.submodules,
        lfs_pointers: lfs.into_inner(),
        unreadable_objects: unreadable.into_inner(),
    }));
}

/// The changes staged in the repository holding a folder (`--staged`): each staged file's
/// blob, at the lines the change adds.
pub struct StagedChanges {
    root: Root,
    git_dir: PathBuf,
    staged: git::Staged,
}

impl StagedChanges {
    /// Reads what is staged in the repository holding `root` (a pre-commit hook runs at its
    /// root, a person maybe in a subfolder).
    pub fn open(root: &Root) -> Result<StagedChanges, GitError> {
        git::tune_for_scanning();
        let repo = git::discover(&root.path)?;
        let staged = git::read_staged(&repo, &root.path.display().to_string())?;
        Ok(StagedChanges {
            root: root.clone(),
            git_dir: repo.path().to_path_buf(),
            staged,
        })
    }
}

impl Source for StagedChanges {
    fn read<'w>(
        &self,
        _options: &WalkOptions,
        workers: &(dyn Fn() -> Box<dyn Visitor + 'w> + Sync),
    ) {
        let mut worker = workers();
        let repo = match Repository::open(&self.git_dir) {
            Ok(repo) => repo,
            Err(e) => {
                worker.visit(Event::Skipped {
                    path: self.root.display_relative(""),
                    reason: SkipReason::Unreadable(e.message().to_string()),
                });
                return;
            }
        };
        let before = PreImages {
            repo: &repo,
            blobs: &self.staged.before,
        };
        for file in &self.staged.files {
            let path = self.root.display_relative(&file.path);
            let Ok(blob) = repo.find_blob(file.blob) else {
                worker.visit(Event::Skipped {
                    path,
                    reason: SkipReason::Unreadable(
                        "staged blob missing from the object database".into(),
                    ),
                });
                continue;
            };
            let bytes = match super::text_of(blob.content()) {
                Ok(bytes) => bytes,
                Err(reason) => {
                    worker.visit(Event::Skipped { path, reason });
                    continue;
                }
            };
            let input = StagedInput {
                path,
                added_lines: &file.added_lines,
                before,
            };
            worker.visit(Event::Input {
                origin: Origin::Staged(&input),
                bytes: &bytes,
            });
        }
    }
}

/// Opens every checked-out submodule of the repository at `root` (and theirs, depth first)
/// for a history scan, under their paths; one that is not checked out has no objects here and
/// is skipped. (Their work-tree files are in the walk of the parent's work tree already.)
pub fn submodules(root: &Root, out: &mut Vec<GitHistory>) -> Result<(), GitError> {
    git::tune_for_scanning();
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
        let scope = Scope::default();
        let history = git::read_history(&sub, &scope, &sub_root.path.display().to_string())?;
        let nested = sub_root.clone();
        out.push(GitHistory {
            root: sub_root,
            git_dir: sub.path().to_path_buf(),
            range: false,
            scope,
            history,
            notes: Vec::new(),
        });
        submodules(&nested, out)?;
    }
    Ok(())
}

/// A blob that libgit2 could not read (corrupt pack, missing object): named in the summary.
fn corrupt_object(path: String, oid: Oid, err: &git2::Error) -> Event<'static> {
    Event::Skipped {
        path,
        reason: SkipReason::Unreadable(format!("git object {oid}: {}", err.message())),
    }
}
