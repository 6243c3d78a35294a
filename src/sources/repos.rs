//! Many repositories in one scan: a list file (`--repos-from`), a deterministic part of it
//! (`--shard I/N`), and what a report says of each repository it covers (remote URL or
//! folder name, HEAD) so reports of several jobs can be merged.

use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReposError {
    #[error("{path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path}:{line}: '{entry}' is not cloned here (looked for {looked})")]
    NotCloned {
        path: String,
        line: usize,
        entry: String,
        looked: String,
    },
    #[error("--shard {0}: expected I/N with 1 <= I <= N (like 2/3)")]
    Shard(String),
}

/// `--shard I/N`: the I-th (1-based) of N parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub fn parse(text: &str) -> Result<Shard, ReposError> {
        let bad = || ReposError::Shard(text.to_string());
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// One listed repository: where it is, and how its paths are shown (the line as written for a
/// path, `owner/name` for a URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub path: PathBuf,
    pub label: String,
}

/// The repositories of a list file, sorted and without repeats, this shard's part only. A line
/// is a path (relative to the list's folder) or a clone URL already cloned by the job, looked
/// up as `owner/name`, else `name`, beside the list; blank lines and `#` comments are skipped.
pub fn read_list(file: &Path, shard: Option<Shard>) -> Result<Vec<Listed>, ReposError> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|error| ReposError::Read {
        path: shown.clone(),
        error,
    })?;
    let base = file.parent().unwrap_or(Path::new("")).to_path_buf();
    let mut lines: Vec<(usize, String)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim().to_string()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .collect();
    lines.sort_by(|a, b| a.1.cmp(&b.1));
    lines.dedup_by(|a, b| a.1 == b.1);
    let chosen = lines
        .into_iter()
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|s| i % s.count == s.index - 1))
        .map(|(_, line)| line);
    let mut out = Vec::new();
    for (number, entry) in chosen {
        let candidates = candidates(&entry);
        let found = candidates
            .iter()
            .map(|rel| (rel, base.join(rel)))
            .find(|(_, p)| p.is_dir());
        let Some((label, path)) = found else {
            return Err(ReposError::NotCloned {
                path: shown,
                line: number,
                entry,
                looked: candidates.join(", "),
            });
        };
        out.push(Listed {
            path,
            label: label.trim_end_matches('/').to_string(),
        });
    }
    Ok(out)
}

/// Where a list entry may be: a path as written; for a URL, `owner/name` then `name`.
fn candidates(entry: &str) -> Vec<String> {
    let is_url = entry.contains("://") || (entry.contains('@') && entry.contains(':'));
    if !is_url {
        return vec![entry.to_string()];
    }
    let trimmed = entry.trim_end_matches('/').trim_end_matches(".git");
    let parts: Vec<&str> = trimmed.rsplit(['/', ':']).take(2).collect();
    match parts.as_slice() {
        [name, owner] => vec![format!("{owner}/{name}"), name.to_string()],
        [name] => vec![name.to_string()],
        _ => vec![trimmed.to_string()],
    }
}

/// What a report says of a repository it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Repository {
    /// The `origin` remote's URL (without any user or token in it), else the folder's name.
    pub repository: String,
    /// HEAD's commit, when it is a repository with one.
    pub commit: Option<String>,
    /// How its paths are shown in the report (`acme/api/` before each), empty for one folder.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
}

/// Describes the repository holding `path` (or the folder itself when it is none).
pub fn describe(path: &Path, prefix: &str) -> Repository {
    let folder_name = || {
        std::fs::canonicalize(path)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| path.display().to_string())
    };
    let Ok(repo) = git2::Repository::discover(path) else {
        return Repository {
            repository: folder_name(),
            commit: None,
            prefix: prefix.to_string(),
        };
    };
    let remote = repo
        .find_remote("origin")
        .ok()
        .and_then(|r| r.url().ok().map(without_credentials));
    let name = remote.unwrap_or_else(|| {
        super::git::root_folder(&repo)
            .file_name()
            .map_or_else(folder_name, |n| n.to_string_lossy().into_owned())
    });
    let commit = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id().to_string());
    Repository {
        repository: name,
        commit,
        prefix: prefix.to_string(),
    }
}

/// `https://x-access-token:ghp_…@github.com/acme/api.git` → `https://github.com/acme/api.git`:
/// a remote URL may hold a token, and reports never hold secrets.
pub fn without_credentials(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            return format!("{scheme}://{}", &rest[at + 1..]);
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_a_sorted_list_deterministically() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a", "b", "c", "d", "e"] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
        }
        let list = dir.path().join("repos.txt");
        std::fs::write(&list, "e\nc\n# comment\n\na\nb\nd\nc\n").unwrap();
        let part = |i| {
            read_list(&list, Some(Shard { index: i, count: 2 }))
                .unwrap()
                .into_iter()
                .map(|l| l.label)
                .collect::<Vec<_>>()
        };
        assert_eq!(part(1), ["a", "c", "e"]);
        assert_eq!(part(2), ["b", "d"]);
        assert_eq!(read_list(&list, None).unwrap().len(), 5);
        std::fs::write(&list, "https://github.com/acme/zz.git\n").unwrap();
        let err = read_list(&list, None).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "'https://github.com/acme/zz.git' is not cloned here (looked for acme/zz, zz)"
            ),
            "{err}"
        );
        std::fs::create_dir(dir.path().join("zz")).unwrap();
        assert_eq!(read_list(&list, None).unwrap()[0].label, "zz");
    }

    #[test]
    fn shard_syntax() {
        assert_eq!(Shard::parse("2/3").unwrap(), Shard { index: 2, count: 3 });
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn remote_urls_lose_their_credentials() {
        assert_eq!(
            without_credentials("https://x-access-token:ghp_abc@github.com/acme/api.git"),
            "https://github.com/acme/api.git"
        );
        assert_eq!(
            without_credentials("git@github.com:acme/api.git"),
            "git@github.com:acme/api.git"
        );
    }
}
