//! Git history as a source: every blob reachable from every ref, each read once, with the
//! commits and paths that introduced it.
//!
//! One pass over commits (parents before children) and their trees builds the
//! provenance: a tree already seen is not walked again, so the cost is the number of
//! distinct trees and entries, not commits × tree size. Each distinct (blob, path) keeps
//! the first commit that carried it. Blobs are then read in parallel, one `Repository`
//! handle per worker (libgit2 handles are not shared across threads).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use git2::{ObjectType, Oid, Repository, Sort, TreeWalkMode};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum GitError {
    #[error("{path}: not a git repository ({message})")]
    NotARepository { path: String, message: String },
    #[error("{path}: {message}")]
    Read { path: String, message: String },
}

/// A commit as provenance needs it.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    pub id: String,
    /// Committer time, seconds since the Unix epoch (UTC).
    pub time: i64,
    pub author: String,
}

/// Where a blob was introduced: an index into [`History::commits`] and the path there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobOrigin {
    pub commit: usize,
    pub path: String,
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
}

/// Opens a repository (work tree or bare) at `path`.
pub fn open(path: &Path) -> Result<Repository, GitError> {
    Repository::open(path).map_err(|e| GitError::NotARepository {
        path: path.display().to_string(),
        message: e.message().to_string(),
    })
}

/// Finds the repository containing `path` (a pre-commit hook runs in its root, a person
/// maybe in a subfolder).
pub fn discover(path: &Path) -> Result<Repository, GitError> {
    Repository::discover(path).map_err(|e| GitError::NotARepository {
        path: path.display().to_string(),
        message: e.message().to_string(),
    })
}

/// Walks every commit reachable from any ref (branches, tags, remotes, stash) and records
/// where each blob was introduced.
pub fn read_history(repo: &Repository, shown: &str) -> Result<History, GitError> {
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

    let mut seen_trees: HashSet<Oid> = HashSet::new();
    let mut blob_index = BlobIndex::default();
    for oid in order {
        let Some((index, commit)) = read_commit(repo, oid, &mut history) else {
            continue;
        };
        let Ok(tree) = commit.tree() else {
            history.unreadable.push(commit.id().to_string());
            continue;
        };
        if !seen_trees.insert(tree.id()) {
            continue;
        }
        walk_new_trees(
            repo,
            &tree,
            "",
            index,
            &mut seen_trees,
            &mut blob_index,
            &mut history,
        );
    }

    finish(repo, &mut history);
    Ok(history)
}

/// Records the blobs of `tree` and descends only into subtrees not seen before.
fn walk_new_trees(
    repo: &Repository,
    tree: &git2::Tree<'_>,
    prefix: &str,
    commit: usize,
    seen_trees: &mut HashSet<Oid>,
    blob_index: &mut BlobIndex,
    history: &mut History,
) {
    for entry in tree.iter() {
        let name = String::from_utf8_lossy(entry.name_bytes());
        let path = if prefix.is_empty() {
            name.into_owned()
        } else {
            format!("{prefix}/{name}")
        };
        match entry.kind() {
            Some(ObjectType::Blob) => record_blob(history, blob_index, entry.id(), path, commit),
            Some(ObjectType::Tree) => {
                if !seen_trees.insert(entry.id()) {
                    continue;
                }
                match repo.find_tree(entry.id()) {
                    Ok(sub) => {
                        walk_new_trees(repo, &sub, &path, commit, seen_trees, blob_index, history)
                    }
                    Err(_) => history.unreadable.push(entry.id().to_string()),
                }
            }
            // A gitlink: the submodule's commit lives in another repository.
            Some(ObjectType::Commit) => history.submodules += 1,
            _ => {}
        }
    }
}

/// Blobs introduced by the commits of a revision range (`A..B`; `REV..HEAD` for `--since`):
/// each commit's tree against its first parent's, so a pull request's scan sees what the
/// pull request added and nothing older.
pub fn read_range(repo: &Repository, range: &str, shown: &str) -> Result<History, GitError> {
    let fail = |e: git2::Error| GitError::Read {
        path: shown.to_string(),
        message: format!("{range}: {}", e.message()),
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
        let parent = commit.parent(0).and_then(|p| p.tree()).ok();
        let diff = commit
            .tree()
            .and_then(|tree| repo.diff_tree_to_tree(parent.as_ref(), Some(&tree), None));
        let Ok(diff) = diff else {
            history.unreadable.push(commit.id().to_string());
            continue;
        };
        for delta in diff.deltas() {
            let file = delta.new_file();
            if file.mode() == git2::FileMode::Commit {
                history.submodules += 1;
            } else if adds_content(delta.status()) {
                record_blob(
                    &mut history,
                    &mut blob_index,
                    file.id(),
                    delta_path(&file),
                    index,
                );
            }
        }
    }
    finish(repo, &mut history);
    Ok(history)
}

/// A file `git commit` would add or change: its staged blob, and the line ranges (in the
/// staged file) that the change adds, which are what a reviewer sees.
pub struct StagedFile {
    pub blob: Oid,
    pub path: String,
    pub added_lines: Vec<std::ops::RangeInclusive<usize>>,
}

/// What is staged in the index relative to HEAD (an unborn HEAD compares with nothing).
pub fn read_staged(repo: &Repository, shown: &str) -> Result<Vec<StagedFile>, GitError> {
    let fail = |e: git2::Error| GitError::Read {
        path: shown.to_string(),
        message: e.message().to_string(),
    };
    let head = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
    let index = repo.index().map_err(fail)?;
    let diff = repo
        .diff_tree_to_index(head.as_ref(), Some(&index), None)
        .map_err(fail)?;
    // Both callbacks fill the list: one per file, one per hunk of the file last pushed.
    let files: std::cell::RefCell<Vec<StagedFile>> = std::cell::RefCell::new(Vec::new());
    diff.foreach(
        &mut |delta, _| {
            let file = delta.new_file();
            if adds_content(delta.status()) && file.mode() != git2::FileMode::Commit {
                files.borrow_mut().push(StagedFile {
                    blob: file.id(),
                    path: delta_path(&file),
                    added_lines: Vec::new(),
                });
            }
            true
        },
        None,
        Some(&mut |delta, hunk| {
            let path = delta_path(&delta.new_file());
            if let Some(file) = files.borrow_mut().last_mut()
                && file.path == path
                && hunk.new_lines() > 0
            {
                let start = hunk.new_start() as usize;
                file.added_lines
                    .push(start..=start + hunk.new_lines() as usize - 1);
            }
            true
        }),
        None,
    )
    .map_err(fail)?;
    Ok(files.into_inner())
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
        git2::Delta::Added | git2::Delta::Modified | git2::Delta::Renamed | git2::Delta::Copied
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
    history.commits.push(commit_info(&commit));
    Some((history.commits.len() - 1, commit))
}

fn commit_info(commit: &git2::Commit<'_>) -> CommitInfo {
    let author = commit.author();
    CommitInfo {
        id: commit.id().to_string(),
        time: commit.committer().when().seconds(),
        author: format!(
            "{} <{}>",
            author.name().unwrap_or(""),
            author.email().unwrap_or("")
        ),
    }
}

/// Notes that `commit` carried blob `id` at `path`, unless that (blob, path) is known.
fn record_blob(
    history: &mut History,
    blob_index: &mut BlobIndex,
    id: Oid,
    path: String,
    commit: usize,
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
        !paths.insert(path.clone())
    };
    if !known {
        origins.push(BlobOrigin { commit, path });
    }
}

/// Where each blob's origins are, and, for blobs at many paths (one file copied into a
/// million folders), a set of those paths: a scan of the list each time was quadratic.
#[derive(Default)]
struct BlobIndex {
    slots: HashMap<Oid, usize>,
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
pub fn introducers(repo: &Repository, commits: &[CommitInfo], origins: &[usize]) -> Vec<usize> {
    let mut sorted: Vec<usize> = origins.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let oid = |i: usize| Oid::from_str(&commits[i].id).ok();
    let mut kept: Vec<usize> = Vec::new();
    for &candidate in &sorted {
        // Topological order: only earlier commits can be ancestors.
        let inherited = kept
            .iter()
            .any(|&earlier| match (oid(candidate), oid(earlier)) {
                (Some(c), Some(e)) => repo.graph_descendant_of(c, e).unwrap_or(false),
                _ => false,
            });
        if !inherited {
            kept.push(candidate);
        }
    }
    kept
}

/// Git LFS pointer files hold an object id, not content: reported as skipped.
pub fn is_lfs_pointer(bytes: &[u8]) -> bool {
    bytes.len() < 1024 && bytes.starts_with(b"version https://git-lfs.github.com/spec/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfs_pointers() {
        assert!(is_lfs_pointer(
            b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n"
        ));
        assert!(!is_lfs_pointer(b"hello"));
    }
}
