//! Git history as a source: every blob reachable from every ref, each read once, with the
//! commits and paths that introduced it.
//!
//! One pass over commits (parents before children) and their trees builds the
//! provenance: a tree already seen is not walked again, so the cost is the number of
//! distinct trees and entries, not commits × tree size. Each distinct (blob, path) keeps
//! the first commit that carried it. Blobs are then read in parallel, one `Repository`
//! handle per worker (libgit2 handles are not shared across threads).

use std::collections::{HashMap, HashSet};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository, Sort, TreeWalkMode};
use thiserror::Error;

use super::git_objects::{EntryKind, OidMap, OidSet, TreeEntry};

#[derive(Debug, Error)]
pub enum GitError {
    #[error("{path}: not a git repository ({message})")]
    NotARepository { path: String, message: String },
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    /// `given` is the flag as typed: `--range A..B` or `--since REV`.
    #[error("{given}: {message}")]
    Range { given: String, message: String },
}

/// A commit as provenance needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    /// Committer time, seconds since the Unix epoch (UTC).
    pub time: i64,
    pub author: String,
    /// The parents read in the same walk, as indices into [`History::commits`] (always
    /// smaller than this commit's own); a parent outside the walk (a range's base, a
    /// shallow clone's graft, an unreadable commit) is not listed.
    pub parents: Vec<usize>,
}

/// Where a blob was introduced: an index into [`History::commits`] and the path there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobOrigin {
    pub commit: usize,
    pub path: String,
    /// Range scans: the lines (1-based, in this blob) that the commit added; a secret on
    /// any other line was already there. `None` in history scans: every line counts.
    pub added_lines: Option<Vec<RangeInclusive<usize>>>,
}

impl BlobOrigin {
    /// Whether a place spanning `first..=last` lines of the blob touches a line this origin
    /// added (always, when every line counts).
    pub fn adds(&self, first: usize, last: usize) -> bool {
        self.added_lines
            .as_ref()
            .is_none_or(|added| touches(added, first, last))
    }
}

/// Whether lines `first..=last` overlap one of the `added` ranges.
pub fn touches(added: &[RangeInclusive<usize>], first: usize, last: usize) -> bool {
    added
        .iter()
        .any(|range| *range.start() <= last && first <= *range.end())
}

/// The part of a repository a scan covers: its root folder, or a folder inside its work tree
/// (`sprawl scan --history` run in `docs/`). Paths inside the scope are shown relative to it,
/// as the work-tree walk of the same folder shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The folder inside the repository, with `/` separators and a trailing `/`; empty for
    /// the whole repository.
    prefix: String,
}

impl Scope {
    /// The scope of `folder` in `repo`: the path from the repository's work tree to it.
    /// A bare repository, or a folder that is the work tree, is the whole repository.
    pub fn of(repo: &Repository, folder: &Path) -> Scope {
        let (Some(workdir), Ok(folder)) = (repo.workdir(), folder.canonicalize()) else {
            return Scope::default();
        };
        // The git folder itself (a mirror whose config does not say `bare`, which libgit2
        // then gives the parent folder as work tree) is the whole repository.
        if repo
            .path()
            .canonicalize()
            .is_ok_and(|git_dir| folder.starts_with(git_dir))
        {
            return Scope::default();
        }
        let Ok(workdir) = workdir.canonicalize() else {
            return Scope::default();
        };
        let Ok(rel) = folder.strip_prefix(&workdir) else {
            return Scope::default();
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        if rel.is_empty() {
            Scope::default()
        } else {
            Scope {
                prefix: format!("{}/", rel.trim_end_matches('/')),
            }
        }
    }

    pub fn is_whole(&self) -> bool {
        self.prefix.is_empty()
    }

    /// The folder inside the repository (`docs/`), empty for the whole repository.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A repository path as seen from the scope, or `None` outside it.
    fn relative<'p>(&self, repo_path: &'p str) -> Option<&'p str> {
        repo_path.strip_prefix(self.prefix.as_str())
    }

    /// The tree of the scope's folder in a commit's tree (the tree itself for the whole
    /// repository); `None` where the folder does not exist in that commit.
    fn subtree<'r>(&self, repo: &'r Repository, tree: git2::Tree<'r>) -> Option<git2::Tree<'r>> {
        if self.is_whole() {
            return Some(tree);
        }
        let entry = tree
            .get_path(Path::new(self.prefix.trim_end_matches('/')))
            .ok()?;
        repo.find_tree(entry.id()).ok()
    }
}

/// Everything the history scan reads, gathered in one pass.
#[derive(Debug, Default)]
pub struct History {
    /// In topological order: a commit's ancestors come before it.
    pub commits: Vec<CommitInfo>,
    /// Each distinct blob with its origins, oldest first.
    pub blobs: Vec<(Oid, Vec<BlobOrigin>)>,
    /// Blobs in HEAD's tree: a secret in one of them is still in the current code.
    pub head_blobs: HashSet<Oid>,
    /// A shallow clone: history stops at the graft, so first-seen dates are lower bounds.
    pub shallow: bool,
    /// Submodule entries met in trees: reported, not followed.
    pub submodules: u64,
    /// Objects that could not be read (corrupt or missing), by id.
    pub unreadable: Vec<String>,
    /// Range scans: for each commit (an index into `commits`) the blobs that the files it
    /// changed held before it, in each of its parents. A secret already in one of them was
    /// moved or kept by the commit, not added.
    pub before: HashMap<usize, Vec<Oid>>,
    /// Each commit's index in `commits`, to link commits to their parents as they are read.
    commit_index: HashMap<Oid, usize>,
}

/// Sets libgit2 up for reading every blob once: each is read to be scanned, not to be trusted
/// by its id, so re-hashing every object with collision-detecting SHA-1 (a quarter of a
/// history scan) is skipped. The object cache keeps commits only: the revision walk reads
/// each commit and the tree walk reads it again right after (inflating it twice cost a
/// tenth of the walk), while blobs and trees are read once. Process-wide; called before
/// any repository is opened for a scan.
pub fn tune_for_scanning() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        git2::opts::strict_hash_verification(false);
        git2::opts::enable_caching(true);
        // SAFETY: these global options must not change while another thread uses libgit2;
        // sources are opened on one thread before any worker starts, and this runs once.
        unsafe {
            let _ = git2::opts::set_cache_object_limit(ObjectType::Blob, 0);
            let _ = git2::opts::set_cache_object_limit(ObjectType::Tree, 0);
            let _ = git2::opts::set_cache_object_limit(ObjectType::Commit, 16 << 10);
        }
    });
}

/// Opens a repository (work tree or bare) at `path` itself. A submodule's folder is a
/// repository of its own even though its parent's contains it.
pub fn open(path: &Path) -> Result<Repository, GitError> {
    Repository::open(path).map_err(|e| GitError::NotARepository {
        path: path.display().to_string(),
        message: e.message().to_string(),
    })
}

/// Finds the repository containing `path`: a pre-commit hook runs in its root, a person
/// maybe in a subfolder (`cd docs && sprawl scan --history`).
pub fn discover(path: &Path) -> Result<Repository, GitError> {
    Repository::discover(path).map_err(|e| GitError::NotARepository {
        path: path.display().to_string(),
        message: e.message().to_string(),
    })
}

/// The folder holding the repository's files: its work tree, or the git folder of a bare one.
pub fn root_folder(repo: &Repository) -> PathBuf {
    repo.workdir().unwrap_or(repo.path()).to_path_buf()
}

/// Walks every commit reachable from any ref (branches, tags, remotes, stash) and records
/// where each blob of `scope` was introduced.
pub fn read_history(repo: &Repository, scope: &Scope, shown: &str) -> Result<History, GitError> {
    let fail = |e: git2::Error| GitError::Read {
        path: shown.to_string(),
        message: e.message().to_string(),
    };
    let mut history = History {
        shallow: repo.is_shallow(),
        ..History::default()
    };
    let mut walk = topological_walk(repo).map_err(fail)?;
    // Every ref, whatever it points at: tags may point at tags; refs at blobs are skipped.
    let mut tips = Vec::new();
    for reference in repo.references().map_err(fail)?.flatten() {
        if let Ok(commit) = reference.peel_to_commit() {
            tips.push(commit.id());
            let _ = walk.push(commit.id());
        }
    }
    // libgit2's walk gives up at the first missing or corrupt commit; the commits around
    // it are still worth scanning.
    let order = walk
        .collect::<Result<Vec<Oid>, _>>()
        .unwrap_or_else(|_| tolerant_walk(repo, &tips));

    let mut seen_trees: OidSet = OidSet::default();
    let mut blob_index = BlobIndex::default();
    let odb = repo.odb().map_err(fail)?;
    let mut path = String::new();
    for oid in order {
        let Some((index, commit)) = read_commit(repo, oid, &mut history) else {
            continue;
        };
        // The whole repository's tree is the commit's: its id is in the commit already, and
        // the walk reads it raw (a libgit2 tree object here would parse it a second time).
        let tree = if scope.is_whole() {
            commit.tree_id()
        } else {
            let Ok(tree) = commit.tree() else {
                history.unreadable.push(commit.id().to_string());
                continue;
            };
            let Some(tree) = scope.subtree(repo, tree) else {
                continue;
            };
            tree.id()
        };
        if !seen_trees.insert(tree) {
            continue;
        }
        path.clear();
        let mut walk = TreeWalk {
            odb: &odb,
            commit: index,
            seen_trees: &mut seen_trees,
            blob_index: &mut blob_index,
            history: &mut history,
        };
        walk.new_trees(tree, &mut path);
    }

    finish(repo, &mut history);
    Ok(history)
}

/// The state of the tree walk of one commit.
struct TreeWalk<'a> {
    odb: &'a git2::Odb<'a>,
    commit: usize,
    seen_trees: &'a mut OidSet,
    blob_index: &'a mut BlobIndex,
    history: &'a mut History,
}

impl TreeWalk<'_> {
    /// Records the blobs of tree `id` (at `path`, a prefix ending in `/` or empty) and
    /// descends only into subtrees not seen before. Trees are read raw and parsed here:
    /// libgit2's tree objects allocate per entry, and most entries of a new tree are blobs
    /// already known at the same path, for which nothing needs allocating at all.
    fn new_trees(&mut self, id: Oid, path: &mut String) {
        let object = match self.odb.read(id) {
            Ok(object) if object.kind() == ObjectType::Tree => object,
            _ => {
                self.history.unreadable.push(id.to_string());
                return;
            }
        };
        let mut rest = object.data();
        let depth = path.len();
        while let Some(entry) = TreeEntry::parse(&mut rest) {
            let name = String::from_utf8_lossy(entry.name);
            path.truncate(depth);
            path.push_str(&name);
            match entry.kind {
                EntryKind::Blob => record_blob(
                    self.history,
                    self.blob_index,
                    entry.id,
                    path,
                    self.commit,
                    None,
                ),
                EntryKind::Tree => {
                    if self.seen_trees.insert(entry.id) {
                        path.push('/');
                        self.new_trees(entry.id, path);
                    }
                }
                // A gitlink: the submodule's commit lives in another repository.
                EntryKind::Commit => self.history.submodules += 1,
            }
        }
        path.truncate(depth);
        if !rest.is_empty() {
            self.history.unreadable.push(id.to_string());
        }
    }
}

/// Blobs introduced by the commits of a revision range (`A..B`; `REV..HEAD` for `--since`)
/// and the lines each commit added to them: each commit's tree against its first parent's,
/// so a pull request is judged by what it added and nothing older. The files a commit
/// changed, as they were in each of its parents, are kept in [`History::before`]: a secret
/// already in one of them was moved or kept, not added (and a merge of the base into the
/// branch adds nothing of its own). `given` names the range in errors (`--since main`).
pub fn read_range(
    repo: &Repository,
    range: &str,
    scope: &Scope,
    given: &str,
) -> Result<History, GitError> {
    check_range(range, given)?;
    let fail = |e: git2::Error| GitError::Range {
        given: given.to_string(),
        message: e.message().to_string(),
    };
    let mut history = History {
        shallow: repo.is_shallow(),
        ..History::default()
    };
    let mut walk = topological_walk(repo).map_err(fail)?;
    walk.push_range(range).map_err(fail)?;
    let mut blob_index = BlobIndex::default();
    for oid in walk {
        let Ok(oid) = oid else {
            history.unreadable.push("revision walk".into());
            continue;
        };
        let Some((index, commit)) = read_commit(repo, oid, &mut history) else {
            continue;
        };
        let parents: Vec<git2::Tree<'_>> = commit.parents().filter_map(|p| p.tree().ok()).collect();
        let mut options = line_diff_options(scope);
        let diff = commit.tree().and_then(|tree| {
            repo.diff_tree_to_tree(parents.first(), Some(&tree), Some(&mut options))
        });
        let Ok(diff) = diff else {
            history.unreadable.push(commit.id().to_string());
            continue;
        };
        let changes = line_changes(&diff);
        history.submodules += changes.submodules;
        let mut before = changes.before;
        for file in changes.files {
            // A merge's other parents: what the merged branch already had is not new here.
            for parent in parents.iter().skip(1) {
                if let Ok(entry) = parent.get_path(Path::new(&file.path))
                    && entry.kind() == Some(ObjectType::Blob)
                {
                    before.push(entry.id());
                }
            }
            let Some(rel) = scope.relative(&file.path) else {
                continue;
            };
            record_blob(
                &mut history,
                &mut blob_index,
                file.blob,
                rel,
                index,
                Some(file.added_lines),
            );
        }
        if !before.is_empty() {
            history.before.insert(index, before);
        }
    }
    finish(repo, &mut history);
    Ok(history)
}

/// `A..B` is what a pull request adds; libgit2 would otherwise answer `A...B` with "symmetric
/// differences not implemented" and a lone revision with a walk of all its history.
fn check_range(range: &str, given: &str) -> Result<(), GitError> {
    let error = |message: &str| GitError::Range {
        given: given.to_string(),
        message: message.to_string(),
    };
    if range.contains("...") {
        return Err(error(
            "three dots (A...B) are not supported; use A..B, the commits of B that A lacks \
             (what a pull request adds)",
        ));
    }
    match range.split_once("..") {
        Some((from, to)) if !from.is_empty() && !to.is_empty() => Ok(()),
        _ => Err(error(
            "expected A..B, two revisions (or --since REV for REV..HEAD)",
        )),
    }
}

/// A file `git commit` would add or change: its staged blob, and the lines (in the staged
/// file) that the change adds, which are what a reviewer sees.
pub struct StagedFile {
    pub blob: Oid,
    pub path: String,
    pub added_lines: Vec<RangeInclusive<usize>>,
}

/// What is staged: the files a commit would add or change, and the blobs those files (and
/// the ones it deletes) hold in HEAD, where a secret moved by the change already was.
pub struct Staged {
    pub files: Vec<StagedFile>,
    pub before: Vec<Oid>,
}

/// What is staged in the index relative to HEAD (an unborn HEAD compares with nothing).
pub fn read_staged(repo: &Repository, shown: &str) -> Result<Staged, GitError> {
    let fail = |e: git2::Error| GitError::Read {
        path: shown.to_string(),
        message: e.message().to_string(),
    };
    let head = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
    let index = repo.index().map_err(fail)?;
    let mut options = line_diff_options(&Scope::default());
    let diff = repo
        .diff_tree_to_index(head.as_ref(), Some(&index), Some(&mut options))
        .map_err(fail)?;
    let changes = line_changes(&diff);
    Ok(Staged {
        files: changes.files,
        before: changes.before,
    })
}

/// A diff of whole files within `scope`, with hunks of exactly the changed lines: no
/// context lines, which would count an untouched secret next to an edit as added.
fn line_diff_options(scope: &Scope) -> git2::DiffOptions {
    let mut options = git2::DiffOptions::new();
    options.context_lines(0).interhunk_lines(0);
    if !scope.is_whole() {
        options.pathspec(scope.prefix());
    }
    options
}

/// What one diff adds and what it replaces.
#[derive(Default)]
struct LineChanges {
    /// Files added or changed, with the lines added (repository paths).
    files: Vec<StagedFile>,
    /// The blobs that changed and deleted files held before.
    before: Vec<Oid>,
    submodules: u64,
}

fn line_changes(diff: &git2::Diff<'_>) -> LineChanges {
    let mut changes = LineChanges::default();
    for (i, delta) in diff.deltas().enumerate() {
        let old = delta.old_file();
        if !old.id().is_zero() && old.mode() != git2::FileMode::Commit {
            changes.before.push(old.id());
        }
        let new = delta.new_file();
        if new.mode() == git2::FileMode::Commit {
            changes.submodules += 1;
            continue;
        }
        if !adds_content(delta.status()) {
            continue;
        }
        changes.files.push(StagedFile {
            blob: new.id(),
            path: delta_path(&new),
            added_lines: added_lines(diff, i),
        });
    }
    changes
}

/// The line ranges a delta adds to its new file. A file git's diff cannot read as lines
/// (binary to it, such as UTF-16 text, which sprawl decodes) counts as added whole.
fn added_lines(diff: &git2::Diff<'_>, delta: usize) -> Vec<RangeInclusive<usize>> {
    const WHOLE: RangeInclusive<usize> = 1..=usize::MAX;
    let Ok(Some(patch)) = git2::Patch::from_diff(diff, delta) else {
        return vec![WHOLE];
    };
    if patch.delta().flags().is_binary() {
        return vec![WHOLE];
    }
    (0..patch.num_hunks())
        .filter_map(|h| patch.hunk(h).ok())
        .filter(|(hunk, _)| hunk.new_lines() > 0)
        .map(|(hunk, _)| {
            let start = hunk.new_start() as usize;
            start..=start + hunk.new_lines() as usize - 1
        })
        .collect()
}

/// A commit walk that yields parents before children, whatever the dates say: dates can go
/// backwards (rebases, wrong clocks), and a tree must be credited to the first commit in
/// ancestry that carried it.
fn topological_walk(repo: &Repository) -> Result<git2::Revwalk<'_>, git2::Error> {
    let mut walk = repo.revwalk()?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
    Ok(walk)
}

/// The commits reachable from `tips`, parents before children, walked one by one: a commit
/// that cannot be read is left out (and named later, when it is read again) instead of
/// ending the walk.
fn tolerant_walk(repo: &Repository, tips: &[Oid]) -> Vec<Oid> {
    let mut order = Vec::new();
    let mut visited: HashSet<Oid> = HashSet::new();
    // (commit, whether its parents are already on the stack above it)
    let mut stack: Vec<(Oid, bool)> = tips.iter().rev().map(|&tip| (tip, false)).collect();
    while let Some((oid, expanded)) = stack.pop() {
        if expanded {
            order.push(oid);
            continue;
        }
        if !visited.insert(oid) {
            continue;
        }
        stack.push((oid, true));
        if let Ok(commit) = repo.find_commit(oid) {
            let parents = commit.parent_ids().filter(|p| !visited.contains(p));
            stack.extend(parents.map(|p| (p, false)));
        }
    }
    order
}

fn adds_content(status: git2::Delta) -> bool {
    matches!(
        status,
        git2::Delta::Added
            | git2::Delta::Modified
            | git2::Delta::Renamed
            | git2::Delta::Copied
            | git2::Delta::Typechange
    )
}

fn delta_path(file: &git2::DiffFile<'_>) -> String {
    file.path_bytes()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_default()
}

/// Reads the next commit of a walk into `history.commits` and returns its index there; an
/// unreadable one is named in `history.unreadable` and skipped.
fn read_commit<'r>(
    repo: &'r Repository,
    oid: Oid,
    history: &mut History,
) -> Option<(usize, git2::Commit<'r>)> {
    let Ok(commit) = repo.find_commit(oid) else {
        history.unreadable.push(oid.to_string());
        return None;
    };
    // The walk yields parents first, so every parent in the walk is already indexed.
    let parents = commit
        .parent_ids()
        .filter_map(|parent| history.commit_index.get(&parent).copied())
        .collect();
    let index = history.commits.len();
    history.commit_index.insert(oid, index);
    history.commits.push(commit_info(&commit, parents));
    Some((index, commit))
}

fn commit_info(commit: &git2::Commit<'_>, parents: Vec<usize>) -> CommitInfo {
    let author = commit.author();
    CommitInfo {
        id: commit.id().to_string(),
        time: commit.committer().when().seconds(),
        author: format!(
            "{} <{}>",
            author.name().unwrap_or(""),
            author.email().unwrap_or("")
        ),
        parents,
    }
}

/// Notes that `commit` carried blob `id` at `path` (adding `added_lines` of it, in a range),
/// unless that (blob, path) is known.
fn record_blob(
    history: &mut History,
    blob_index: &mut BlobIndex,
    id: Oid,
    path: &str,
    commit: usize,
    added_lines: Option<Vec<RangeInclusive<usize>>>,
) {
    let slot = *blob_index.slots.entry(id).or_insert_with(|| {
        history.blobs.push((id, Vec::new()));
        history.blobs.len() - 1
    });
    let origins = &mut history.blobs[slot].1;
    let known = if origins.len() < BlobIndex::SCANNED_PATHS {
        origins.iter().any(|o| o.path == path)
    } else {
        let paths = blob_index
            .paths
            .entry(slot)
            .or_insert_with(|| origins.iter().map(|o| o.path.clone()).collect());
        !paths.insert(path.to_string())
    };
    if !known {
        origins.push(BlobOrigin {
            commit,
            path: path.to_string(),
            added_lines,
        });
    }
}

/// Where each blob's origins are, and, for blobs at many paths (one file copied into a
/// million folders), a set of those paths: a scan of the list each time was quadratic.
#[derive(Default)]
struct BlobIndex {
    slots: OidMap<usize>,
    paths: HashMap<usize, HashSet<String>>,
}

impl BlobIndex {
    /// Up to this many paths, looking through the list is cheaper than a set.
    const SCANNED_PATHS: usize = 16;
}

/// Orders blobs for reading and records the blobs of HEAD's tree.
fn finish(repo: &Repository, history: &mut History) {
    // Versions of one file are usually deltas of each other in the pack: reading them one
    // after another (and on one worker, as rayon splits the list in runs) lets libgit2's
    // delta-base cache serve the bases instead of inflating each chain again.
    history.blobs.sort_by(|a, b| {
        a.1.first()
            .map(|o| &o.path)
            .cmp(&b.1.first().map(|o| &o.path))
    });
    if let Ok(head) = repo.head().and_then(|h| h.peel_to_tree()) {
        let _ = head.walk(TreeWalkMode::PreOrder, |_, entry| {
            if entry.kind() == Some(ObjectType::Blob) {
                history.head_blobs.insert(entry.id());
            }
            git2::TreeWalkResult::Ok
        });
    }
}

/// Of the commits that introduced blobs holding one secret (indices into `commits`, any
/// order), those that introduced the secret itself: not descendants of another of them. A
/// commit that rewrote a file still holding an inherited secret did not introduce it.
///
/// Answered from the commit graph the walk recorded, in one pass over the commits from the
/// first candidate to the last (topological order: a descendant comes after its
/// ancestors), marking each commit that descends from a candidate. libgit2's
/// `graph_descendant_of` re-read and inflated commits from the pack for every pair, which
/// was most of a history scan on deep histories with many findings.
pub fn introducers(commits: &[CommitInfo], origins: &[usize]) -> Vec<usize> {
    let mut candidates: Vec<usize> = origins
        .iter()
        .copied()
        .filter(|&i| i < commits.len())
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    let (Some(&first), Some(&last)) = (candidates.first(), candidates.last()) else {
        return Vec::new();
    };
    // reached[i - first]: commit i is a candidate or descends from one.
    let mut reached = vec![false; last - first + 1];
    let mut next = candidates.iter().peekable();
    let mut kept = Vec::new();
    for (offset, commit) in commits[first..=last].iter().enumerate() {
        let inherited = commit
            .parents
            .iter()
            .any(|&p| p >= first && reached[p - first]);
        if next.next_if_eq(&&(first + offset)).is_some() {
            if !inherited {
                kept.push(first + offset);
            }
            reached[offset] = true;
        } else {
            reached[offset] = inherited;
        }
    }
    kept
}

/// For each needle, the commits (indices into `history.commits`) that introduced a blob
/// of `history` containing it: where the secrets a range scan found were before the range.
/// Each blob is read once, in parallel (one handle per worker); blobs over `max_size` and
/// unreadable ones are passed over, since this only dates what was already found.
pub fn commits_containing(
    git_dir: &Path,
    history: &History,
    needles: &[&[u8]],
    threads: usize,
    max_size: u64,
) -> Vec<Vec<usize>> {
    use rayon::prelude::*;
    let Ok(automaton) = aho_corasick::AhoCorasick::new(needles) else {
        return vec![Vec::new(); needles.len()];
    };
    let search = || {
        history
            .blobs
            .par_iter()
            .map_init(
                || Repository::open(git_dir).ok(),
                |handle, (oid, origins)| {
                    let found = handle
                        .as_ref()
                        .and_then(|repo| blob_needles(repo, *oid, &automaton, max_size));
                    found.map(|needles| (needles, origins))
                },
            )
            .flatten()
            .collect::<Vec<_>>()
    };
    let hits = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(search),
        Err(_) => search(),
    };
    let mut commits = vec![Vec::new(); needles.len()];
    for (found, origins) in hits {
        for needle in found {
            commits[needle].extend(origins.iter().map(|o| o.commit));
        }
    }
    commits
}

/// Which needles one blob holds (none when it cannot or need not be read).
fn blob_needles(
    repo: &Repository,
    oid: Oid,
    automaton: &aho_corasick::AhoCorasick,
    max_size: u64,
) -> Option<Vec<usize>> {
    let (size, _) = repo.odb().ok()?.read_header(oid).ok()?;
    if size as u64 > max_size {
        return None;
    }
    let blob = repo.find_blob(oid).ok()?;
    let text = super::text_of(blob.content()).ok()?;
    let mut found: Vec<usize> = automaton
        .find_overlapping_iter(&*text)
        .map(|m| m.pattern().as_usize())
        .collect();
    found.sort_unstable();
    found.dedup();
    (!found.is_empty()).then_some(found)
}

/// Git LFS pointer files hold an object id, not content: reported as skipped.
pub fn is_lfs_pointer(bytes: &[u8]) -> bool {
    bytes.len() < 1024 && bytes.starts_with(b"version https://git-lfs.github.com/spec/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(parents: &[&[usize]]) -> Vec<CommitInfo> {
        parents
            .iter()
            .enumerate()
            .map(|(i, parents)| CommitInfo {
                id: format!("c{i}"),
                time: i as i64,
                author: String::new(),
                parents: parents.to_vec(),
            })
            .collect()
    }

    #[test]
    fn introducers_are_the_candidates_that_descend_from_no_other() {
        //   0 - 1 - 2 ------- 5 (merge of 2 and 4)
        //        \          /
        //         3 ------ 4        6 (an unrelated root)
        let commits = graph(&[&[], &[0], &[1], &[1], &[3], &[2, 4], &[]]);
        assert_eq!(introducers(&commits, &[2, 4]), [2, 4], "two branches");
        assert_eq!(
            introducers(&commits, &[5, 2, 4]),
            [2, 4],
            "the merge inherits"
        );
        assert_eq!(introducers(&commits, &[1, 5]), [1]);
        assert_eq!(
            introducers(&commits, &[3, 6, 3]),
            [3, 6],
            "unrelated, deduplicated"
        );
        assert_eq!(introducers(&commits, &[0, 6]), [0, 6]);
        assert_eq!(introducers(&commits, &[0, 1, 2, 3, 4, 5]), [0]);
        assert!(introducers(&commits, &[]).is_empty());
        assert_eq!(
            introducers(&commits, &[9, 2]),
            [2],
            "out of range is ignored"
        );
    }

    #[test]
    fn lfs_pointers() {
        assert!(is_lfs_pointer(
            b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n"
        ));
        assert!(!is_lfs_pointer(b"hello"));
    }
}
