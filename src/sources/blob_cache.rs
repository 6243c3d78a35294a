//! What earlier history scans learned about blobs: which ones held nothing, so that a re-scan
//! of the same repository reads only the blobs it has never seen.
//!
//! A blob is remembered only when its scan produced no finding (and no configuration count):
//! a blob that produced one is read and matched again on every run, so findings, their
//! secrets and their provenance always come from the blob itself, and the cache never holds
//! a secret, a fingerprint or a position: only digests of (blob id, path it was scanned
//! as), blob sizes and how many look-alikes each check dropped there (`summary.dropped`). The tree walk and the
//! dating of findings are redone on every run; they are cheap next to reading blobs.
//!
//! One file per repository and cache key (sprawl's build, the rules, and the settings that
//! change what matching finds), in the user's cache folder (`SPRAWL_CACHE_DIR` overrides
//! it), never inside the scanned repository. The file ends with a SHA-256 of what precedes
//! it: a truncated, corrupt or foreign file is ignored with a note and rebuilt. It is
//! written to a temporary file and renamed into place, so two scans at once each leave a
//! whole file (the last one wins). The folder is bounded: the oldest files go first.

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use git2::Oid;
use sha2::{Digest, Sha256};

use crate::engine::{DROP_FAMILIES, DropCounts};

/// File format: magic, the cache key, the entry count, then entries, then a SHA-256 of all
/// of that.
const MAGIC: &[u8; 8] = b"SPRWLBC2";
/// One entry: 16 bytes of SHA-256(blob id, path), the blob's size (u64, little endian) and
/// the look-alikes dropped there by family (u32 each, in `DROP_FAMILIES` order).
const ENTRY: usize = 16 + 8 + 4 * DROP_FAMILIES.len();
/// The cache folder's bound; the least recently written files are deleted beyond it.
const FOLDER_LIMIT: u64 = 512 * 1024 * 1024;

/// Where the cache lives and what it is keyed by, for [`BlobCache::open`].
#[derive(Debug, Clone)]
pub struct Settings {
    pub folder: PathBuf,
    pub key: [u8; 32],
}

/// What the cache knows of a blob that held no finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pub size: u64,
    dropped: [u32; DROP_FAMILIES.len()],
}

impl Known {
    fn new(size: u64, dropped: &DropCounts) -> Known {
        let mut counts = [0; DROP_FAMILIES.len()];
        for (slot, family) in counts.iter_mut().zip(DROP_FAMILIES) {
            let n = dropped.get(family).copied().unwrap_or(0);
            *slot = u32::try_from(n).unwrap_or(u32::MAX);
        }
        Known {
            size,
            dropped: counts,
        }
    }

    /// The look-alikes the blob's scan dropped, as the summary counts them.
    pub fn dropped(&self) -> DropCounts {
        DROP_FAMILIES
            .iter()
            .zip(self.dropped)
            .filter(|(_, n)| *n > 0)
            .map(|(family, n)| (*family, u64::from(n)))
            .collect()
    }
}

/// A blob as the cache names it: its id and the path it was scanned as (rules and
/// configuration detection depend on the path).
type BlobKey = [u8; 16];

pub struct BlobCache {
    /// Where to save; `None` when caching is off.
    file: Option<PathBuf>,
    key: [u8; 32],
    /// Blobs known to hold no finding.
    known: HashMap<BlobKey, Known>,
    /// Blobs this run found to hold no finding.
    learned: Mutex<Vec<(BlobKey, Known)>>,
    /// Why an existing cache file was not used, for the summary.
    pub note: Option<String>,
}

impl BlobCache {
    /// No caching (`--no-cache`, or ranges and staged changes, which read few blobs).
    pub fn off() -> BlobCache {
        BlobCache {
            file: None,
            key: [0; 32],
            known: HashMap::new(),
            learned: Mutex::new(Vec::new()),
            note: None,
        }
    }

    /// The cache of the repository at `git_dir` for `key` (see [`cache_key`]) in `folder`;
    /// an unusable file is ignored, and said so in [`BlobCache::note`].
    pub fn open(folder: &Path, git_dir: &Path, key: [u8; 32]) -> BlobCache {
        let repository = git_dir
            .canonicalize()
            .unwrap_or_else(|_| git_dir.to_path_buf());
        let mut name = Sha256::new();
        name.update(key);
        name.update(repository.to_string_lossy().as_bytes());
        let file = folder.join(format!("{}.blobs", &hex(&name.finalize())[..32]));
        let mut cache = BlobCache {
            file: Some(file.clone()),
            key,
            known: HashMap::new(),
            learned: Mutex::new(Vec::new()),
            note: None,
        };
        match fs::read(&file) {
            Ok(bytes) => match parse(&bytes, &key) {
                Ok(known) => cache.known = known,
                Err(problem) => {
                    cache.note = Some(format!(
                        "{}: {problem}; ignored, and rebuilt by this scan",
                        file.display()
                    ))
                }
            },
            // No cache yet: the first scan of this repository with these rules.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => cache.note = Some(format!("{}: {e}; not used", file.display())),
        }
        cache
    }

    pub fn is_on(&self) -> bool {
        self.file.is_some()
    }

    /// What is known of a blob that held no finding when scanned as `path`.
    pub fn known_clean(&self, oid: Oid, path: &str) -> Option<Known> {
        if self.known.is_empty() {
            return None;
        }
        self.known.get(&blob_key(oid, path)).copied()
    }

    /// Notes that the blob, scanned as `path`, held no finding (and what was dropped).
    pub fn learn_clean(&self, oid: Oid, path: &str, size: u64, dropped: &DropCounts) {
        if self.is_on() {
            let mut learned = self.learned.lock().unwrap_or_else(|e| e.into_inner());
            learned.push((blob_key(oid, path), Known::new(size, dropped)));
        }
    }

    /// Writes what is known now (what was known, and what this run learned). Entries of
    /// blobs no longer in the repository are kept: the file is bounded with its folder.
    pub fn save(&self) -> std::io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let learned = self.learned.lock().unwrap_or_else(|e| e.into_inner());
        if learned.is_empty() && self.note.is_none() {
            return Ok(());
        }
        let mut entries: Vec<(&BlobKey, &Known)> = self.known.iter().collect();
        entries.extend(learned.iter().map(|(k, v)| (k, v)));
        entries.sort_unstable_by_key(|(k, _)| **k);
        entries.dedup_by_key(|(k, _)| **k);
        let mut bytes = Vec::with_capacity(8 + 32 + 8 + entries.len() * ENTRY + 32);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&self.key);
        bytes.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        for (key, known) in entries {
            bytes.extend_from_slice(key);
            bytes.extend_from_slice(&known.size.to_le_bytes());
            for n in known.dropped {
                bytes.extend_from_slice(&n.to_le_bytes());
            }
        }
        let digest = Sha256::digest(&bytes);
        bytes.extend_from_slice(&digest);

        write_whole(file, &bytes)
    }
}

/// Writes `bytes` as `file` whole: to a name of this process's own, renamed over the file,
/// so a reader sees the old file or the new one and two scans at once each write their
/// own. Then keeps the folder under its bound.
pub(super) fn write_whole(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = file.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(folder)?;
    let temp = folder.join(format!(
        ".{}.{}.tmp",
        file.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = fs::remove_file(&temp);
    let written = write_new(&temp, bytes).and_then(|()| fs::rename(&temp, file));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    bound_folder(folder, FOLDER_LIMIT);
    Ok(())
}

/// Everything that changes what matching finds in a blob: sprawl's build (its sources and
/// built-in rules), the rules loaded (built-in and the user's, after selection) and the
/// settings that change what is read (`settings`, written by the caller).
pub fn cache_key(rules: &impl std::fmt::Debug, settings: &str) -> [u8; 32] {
    let mut key = Sha256::new();
    key.update(env!("CARGO_PKG_VERSION").as_bytes());
    key.update(env!("SPRAWL_BUILD_DIGEST").as_bytes());
    key.update(format!("{rules:?}").as_bytes());
    key.update(settings.as_bytes());
    key.finalize().into()
}

/// The user's cache folder for sprawl: `SPRAWL_CACHE_DIR`, else `XDG_CACHE_HOME/sprawl`,
/// else `~/.cache/sprawl` (`~/Library/Caches/sprawl` on macOS, `%LOCALAPPDATA%\sprawl` on
/// Windows); `None` when none can be found.
pub fn folder() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SPRAWL_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if cfg!(windows) {
        return std::env::var_os("LOCALAPPDATA").map(|d| PathBuf::from(d).join("sprawl"));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("sprawl"));
    }
    let home = PathBuf::from(std::env::var_os("HOME")?);
    if cfg!(target_os = "macos") {
        Some(home.join("Library/Caches/sprawl"))
    } else {
        Some(home.join(".cache/sprawl"))
    }
}

/// Deletes every cache file in `folder`, known blobs and saved walks (`sprawl cache
/// clear`); returns how many.
pub fn clear(folder: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in entries.flatten() {
        if is_cache_file(&entry.file_name().to_string_lossy()) {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The files of sprawl's cache: known blobs, saved walks (walk_cache.rs) and validation
/// results (validate/cache.rs).
fn is_cache_file(name: &str) -> bool {
    name.ends_with(".blobs") || name.ends_with(".walk") || name.starts_with("validation-v")
}

fn blob_key(oid: Oid, path: &str) -> BlobKey {
    let mut digest = Sha256::new();
    digest.update(oid.as_bytes());
    digest.update(path.as_bytes());
    let full = digest.finalize();
    let mut key = [0; 16];
    key.copy_from_slice(&full[..16]);
    key
}

fn parse(bytes: &[u8], key: &[u8; 32]) -> Result<HashMap<BlobKey, Known>, &'static str> {
    let body_len = bytes.len().checked_sub(32).ok_or("truncated cache file")?;
    let (body, digest) = bytes.split_at(body_len);
    if Sha256::digest(body).as_slice() != digest {
        return Err("cache file fails its checksum (truncated or corrupt)");
    }
    let rest = body.strip_prefix(MAGIC).ok_or("not a sprawl cache file")?;
    let (file_key, rest) = rest.split_at_checked(32).ok_or("truncated cache file")?;
    if file_key != key {
        return Err("cache file written for other rules or settings");
    }
    let (count, entries) = rest.split_at_checked(8).ok_or("truncated cache file")?;
    let count = u64::from_le_bytes(count.try_into().map_err(|_| "truncated cache file")?);
    if entries.len() as u64 != count.saturating_mul(ENTRY as u64) {
        return Err("cache file has the wrong length for its entry count");
    }
    let mut known = HashMap::with_capacity(entries.len() / ENTRY);
    for entry in entries.chunks_exact(ENTRY) {
        let (blob, rest) = entry.split_at(16);
        let (size, counts) = rest.split_at(8);
        let (Ok(blob), Ok(size)) = (BlobKey::try_from(blob), <[u8; 8]>::try_from(size)) else {
            return Err("corrupt cache entry");
        };
        let mut dropped = [0; DROP_FAMILIES.len()];
        for (slot, n) in dropped.iter_mut().zip(counts.chunks_exact(4)) {
            *slot = u32::from_le_bytes(n.try_into().map_err(|_| "corrupt cache entry")?);
        }
        let size = u64::from_le_bytes(size);
        known.insert(blob, Known { size, dropped });
    }
    Ok(known)
}

/// Deletes the least recently written cache files of `folder` until it holds at most
/// `limit` bytes of them. Best effort: another scan may be doing the same.
fn bound_folder(folder: &Path, limit: u64) {
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
        .flatten()
        .filter(|e| is_cache_file(&e.file_name().to_string_lossy()))
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((meta.modified().ok()?, meta.len(), e.path()))
        })
        .collect();
    let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
    files.sort();
    for (_, len, path) in files {
        if total <= limit {
            break;
        }
        if fs::remove_file(&path).is_ok() {
            total = total.saturating_sub(len);
        }
    }
}

/// Writes a new file readable by its owner only: blob ids say what a private repository
/// holds.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).unwrap()
    }

    #[test]
    fn what_one_run_learns_the_next_knows() {
        let dir = tempfile::tempdir().unwrap();
        let git_dir = dir.path().join("repo.git");
        fs::create_dir(&git_dir).unwrap();
        let first = BlobCache::open(dir.path(), &git_dir, [1; 32]);
        assert!(first.note.is_none());
        assert_eq!(first.known_clean(oid(1), "a.txt"), None);
        let dropped = DropCounts::from([("entropy", 3), ("overlap", 1)]);
        first.learn_clean(oid(1), "a.txt", 42, &dropped);
        first.save().unwrap();

        let second = BlobCache::open(dir.path(), &git_dir, [1; 32]);
        let known = second.known_clean(oid(1), "a.txt").unwrap();
        assert_eq!((known.size, known.dropped()), (42, dropped));
        assert_eq!(second.known_clean(oid(1), "b.txt"), None, "another path");
        assert_eq!(second.known_clean(oid(2), "a.txt"), None);

        // Other rules or settings: another file, nothing known.
        let other = BlobCache::open(dir.path(), &git_dir, [2; 32]);
        assert_eq!(other.known_clean(oid(1), "a.txt"), None);
        assert_eq!(clear(dir.path()).unwrap(), 1);
        assert_eq!(
            BlobCache::open(dir.path(), &git_dir, [1; 32]).known.len(),
            0
        );
    }

    #[test]
    fn a_damaged_file_is_ignored_with_a_note_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let git_dir = dir.path().join("repo.git");
        fs::create_dir(&git_dir).unwrap();
        let cache = BlobCache::open(dir.path(), &git_dir, [1; 32]);
        cache.learn_clean(oid(1), "a.txt", 42, &DropCounts::new());
        cache.learn_clean(oid(2), "b.txt", 7, &DropCounts::new());
        cache.save().unwrap();
        let file = cache.file.clone().unwrap();
        let whole = fs::read(&file).unwrap();
        for damaged in [
            whole[..whole.len() - 1].to_vec(),
            whole[..10].to_vec(),
            Vec::new(),
            {
                let mut flipped = whole.clone();
                flipped[60] ^= 1;
                flipped
            },
            b"hello".to_vec(),
        ] {
            fs::write(&file, &damaged).unwrap();
            let cache = BlobCache::open(dir.path(), &git_dir, [1; 32]);
            assert!(cache.note.is_some(), "{damaged:?}");
            assert_eq!(cache.known_clean(oid(1), "a.txt"), None);
            cache.learn_clean(oid(1), "a.txt", 42, &DropCounts::new());
            cache.save().unwrap();
            let rebuilt = BlobCache::open(dir.path(), &git_dir, [1; 32]);
            assert!(rebuilt.note.is_none());
            assert_eq!(
                rebuilt.known_clean(oid(1), "a.txt").map(|k| k.size),
                Some(42)
            );
        }
    }

    #[test]
    fn the_folder_is_bounded_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        for (i, size) in [(0, 100), (1, 100), (2, 100)] {
            fs::write(dir.path().join(format!("{i}.blobs")), vec![0; size]).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        fs::write(dir.path().join("other.txt"), vec![0; 500]).unwrap();
        bound_folder(dir.path(), 250);
        assert!(!dir.path().join("0.blobs").exists());
        assert!(dir.path().join("1.blobs").exists());
        assert!(dir.path().join("2.blobs").exists());
        assert!(dir.path().join("other.txt").exists(), "only cache files");
    }
}
