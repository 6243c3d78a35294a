//! Where bytes come from: directory trees (with `ignore`'s parallel walker) and the archives
//! in them, standard input, a repository's history or range, staged changes. Every source
//! implements [`Source`] and hands each worker thread `(origin, bytes)` through
//! [`Visitor::visit`], reporting what it skipped and why; it never decides what is a secret.

pub mod archive;
pub mod blob_cache;
pub mod chunked;
pub mod git;
mod git_objects;
pub mod history;
pub mod repos;
pub mod stdin;
pub mod walk;
pub mod walk_cache;

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use chunked::{CHUNK_SIZE, Chunk, Utf16Reader};
use history::{BlobInput, GitHistory, HistorySummary, StagedInput};

/// Binary files are recognised by a NUL byte in their first 8 KiB, as git and ripgrep do.
const BINARY_SNIFF_LEN: usize = 8 * 1024;

/// The ignore file sprawl reads besides `.gitignore` and `.ignore`.
pub const SPRAWL_IGNORE_FILE: &str = ".sprawlignore";

/// Why an input was not scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    TooLarge {
        size: u64,
        limit: u64,
    },
    Binary,
    Unreadable(String),
    BrokenLink,
    /// A bound on archives stopped reading an archive or entry (which bound, in words).
    ArchiveLimit(String),
    /// A FIFO, socket or device: not opened.
    NotAFile,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::TooLarge { size, limit } => {
                write!(f, "larger than --max-file-size ({size} > {limit} bytes)")
            }
            SkipReason::Binary => f.write_str("binary (NUL byte in the first 8 KiB)"),
            SkipReason::Unreadable(e) => write!(f, "unreadable: {e}"),
            SkipReason::BrokenLink => {
                f.write_str("broken symbolic link (its target is missing or a link loop)")
            }
            SkipReason::ArchiveLimit(what) => write!(f, "archive limit: {what}"),
            SkipReason::NotAFile => f.write_str("not a regular file (FIFO, socket or device)"),
        }
    }
}

/// What a source hands a worker.
pub enum Event<'a> {
    /// Bytes to scan, and where they came from.
    Input {
        origin: Origin<'a>,
        bytes: &'a [u8],
    },
    Skipped {
        path: String,
        reason: SkipReason,
    },
    /// A file read as an archive: its entries came as inputs instead of the file itself
    /// (`archives` opened in all, nested ones included; `entries` scanned).
    Archive {
        archives: u64,
        entries: u64,
    },
    /// What a history source read of one repository (commits, blobs, what it could not read).
    History(HistorySummary),
    /// A blob that the history cache knows held no finding, of `bytes` bytes and with the
    /// look-alikes `dropped` there: counted as scanned, not read.
    CachedBlob {
        bytes: u64,
        dropped: crate::engine::DropCounts,
    },
    /// Something the summary lists that is not a skipped file (an unusable cache file).
    Problem {
        path: String,
        problem: String,
    },
}

impl<'a> Event<'a> {
    /// A whole file (or archive member, or standard input) at `path`.
    pub fn file(path: &'a str, bytes: &'a [u8]) -> Event<'a> {
        Event::Input {
            origin: Origin::File { path },
            bytes,
        }
    }
}

/// Where bytes handed to a worker came from; it decides how the worker places what it finds.
pub enum Origin<'a> {
    /// A whole file: from a walk (an archive's member shows as `dist/app.jar!/x.env`), or
    /// standard input (`<stdin>`).
    File { path: &'a str },
    /// A piece of a file, or of standard input, too large to read whole.
    Chunk { path: &'a str, chunk: &'a Chunk },
    /// A git blob, with the commits and paths that introduced it (and, in a range, the lines
    /// each added).
    Blob(&'a BlobInput<'a>),
    /// A staged blob, with the lines the change adds.
    Staged(&'a StagedInput<'a>),
}

/// A source of inputs: a walk of folders, standard input, a repository's history or range,
/// staged changes. It reads them and hands each, with its [`Origin`], to a worker; a new
/// source (a container image, a list of files from another program) is a new type that
/// implements this, and a flag that puts it in the scan's plan.
pub trait Source: Sync {
    /// Reads every input, handing each to a worker that `workers` makes (one per thread the
    /// source uses, so per-thread state needs no locks).
    fn read<'w>(&self, options: &WalkOptions, workers: &(dyn Fn() -> Box<dyn Visitor + 'w> + Sync));

    /// A repository's history, kept to date the findings once every source is read.
    fn history(&self) -> Option<&GitHistory> {
        None
    }
}

/// How to walk directory trees.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// History scans: where blobs known to hold nothing are remembered; `None`: not at all.
    pub blob_cache: Option<blob_cache::Settings>,
    /// Honour `.gitignore`, `.ignore` and `.sprawlignore`.
    pub respect_ignore_files: bool,
    pub follow_links: bool,
    pub max_file_size: u64,
    pub threads: usize,
    /// Open zip, jar, tar, tar.gz and gz files and scan their entries.
    pub archives: bool,
    /// The bytes one archive may cost, nested archives included (`--max-archive-size`).
    pub max_archive_size: u64,
    /// How much chunks of large files overlap: the engine's reach.
    pub chunk_overlap: usize,
}

/// One root given on the command line and how its files' paths are shown.
#[derive(Debug, Clone)]
pub struct Root {
    pub path: PathBuf,
    /// Prefix shown before paths relative to `path` (empty when scanning one folder).
    pub display_prefix: String,
}

impl Root {
    /// How a path relative to this root (a path inside a git tree) is shown.
    pub fn display_relative(&self, rel: &str) -> String {
        if self.display_prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{}", self.display_prefix.trim_end_matches('/'), rel)
        }
    }

    pub fn display(&self, file: &Path) -> String {
        let rel = file.strip_prefix(&self.path).unwrap_or(file);
        let rel = path_to_slash(rel);
        match (self.display_prefix.is_empty(), rel.is_empty()) {
            (true, _) => rel,
            (false, true) => self.display_prefix.clone(),
            (false, false) => format!("{}/{}", self.display_prefix.trim_end_matches('/'), rel),
        }
    }
}

/// The paths a scan shows, seen from a project folder: the folder an inventory's path globs or
/// a baseline's paths are relative to. A scan of `docs/` shows `conf.py`; from the repository
/// root that is `docs/conf.py`. It also says what the scan covered, so that only what it could
/// have seen is declared gone (a stale inventory entry, a fixed baseline entry).
#[derive(Debug, Clone, Default)]
pub struct ProjectPaths {
    /// Each root: the prefix its shown paths start with, and where it is in the project.
    roots: Vec<(String, RootAt)>,
    /// The scan read only changes (a range, staged files): it covers no folder, whatever
    /// its roots are.
    changes_only: bool,
}

/// Where a scanned root is, seen from the project folder.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RootAt {
    /// At this path in it (`""`: the project folder itself).
    In(String),
    /// Outside it (a baseline written elsewhere): its shown paths are taken as they are,
    /// as if the root were the project.
    Outside,
}

impl ProjectPaths {
    pub fn new(roots: &[Root], project: &Path, changes_only: bool) -> ProjectPaths {
        let project = project.canonicalize().ok();
        let roots = roots
            .iter()
            .map(|root| {
                let inside = project.as_ref().and_then(|project| {
                    let root = root.path.canonicalize().ok()?;
                    let rel = root.strip_prefix(project).ok()?;
                    Some(path_to_slash(rel))
                });
                let at = inside.map_or(RootAt::Outside, RootAt::In);
                (root.display_prefix.clone(), at)
            })
            .collect();
        ProjectPaths {
            roots,
            changes_only,
        }
    }

    /// A shown path (`conf.py`, `docs/conf.py`, `dist/app.jar!/a.env`) as a path in the
    /// project, or `None` when no root shows it (standard input).
    pub fn project_path(&self, shown: &str) -> Option<String> {
        // The root whose prefix is longest wins: `a` and `a/b` may both be roots.
        let (rest, at) = self
            .roots
            .iter()
            .filter_map(|(prefix, at)| {
                let rest = if prefix.is_empty() {
                    Some(shown)
                } else {
                    let prefix = prefix.trim_end_matches('/');
                    shown
                        .strip_prefix(prefix)
                        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
                        .map(|rest| rest.trim_start_matches('/'))
                };
                rest.map(|rest| (prefix.len(), rest, at))
            })
            .max_by_key(|(len, _, _)| *len)
            .map(|(_, rest, at)| (rest, at))?;
        Some(match at {
            RootAt::Outside => shown.to_string(),
            RootAt::In(at) if at.is_empty() => rest.to_string(),
            RootAt::In(at) if rest.is_empty() => at.clone(),
            RootAt::In(at) => format!("{at}/{rest}"),
        })
    }

    /// Whether the scan read everything under the project path `path` (a folder or a file;
    /// `""` is the whole project).
    pub fn covers(&self, path: &str) -> bool {
        let path = path.trim_end_matches('/');
        !self.changes_only
            && self.roots.iter().any(|(_, at)| match at {
                RootAt::Outside => true,
                RootAt::In(at) => {
                    at.is_empty()
                        || path == at
                        || path
                            .strip_prefix(at.as_str())
                            .is_some_and(|r| r.starts_with('/'))
                }
            })
    }
}

fn path_to_slash(path: &Path) -> String {
    let text = path.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        text.into_owned()
    } else {
        text.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// Receives the inputs of one source thread.
pub trait Visitor: Send {
    fn visit(&mut self, event: Event<'_>);
}

impl<V: Visitor + ?Sized> Visitor for Box<V> {
    fn visit(&mut self, event: Event<'_>) {
        (**self).visit(event);
    }
}

/// What [`read_file`] made of a file it may scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// The whole file is in the buffer, as text.
    Whole,
    /// Longer than [`CHUNK_SIZE`]: nothing was read; it is scanned in chunks.
    TooLargeToHold { size: u64 },
}

/// Reads a whole file into `buf`, refusing oversized and binary files, and leaving files
/// longer than a chunk unread.
pub fn read_file(path: &Path, max: u64, buf: &mut Vec<u8>) -> Result<Contents, SkipReason> {
    buf.clear();
    let file = File::open(path).map_err(|e| SkipReason::Unreadable(e.to_string()))?;
    let size = file
        .metadata()
        .map_err(|e| SkipReason::Unreadable(e.to_string()))?
        .len();
    if size > max {
        return Err(SkipReason::TooLarge { size, limit: max });
    }
    if size > CHUNK_SIZE as u64 {
        return Ok(Contents::TooLargeToHold { size });
    }
    // Read the size just measured, into room reserved for it: one read call per file. With
    // no limit, read_to_end asks again to see the end (and probes when the buffer is
    // full), a third of all system calls on a tree of small files. A file that grows while
    // it is read is read as it was measured.
    buf.reserve(size as usize);
    file.take(size)
        .read_to_end(buf)
        .map_err(|e| SkipReason::Unreadable(e.to_string()))?;
    as_text(buf).map(|()| Contents::Whole)
}

/// Makes a read buffer scannable text in place (see [`text_of`]).
pub fn as_text(buf: &mut Vec<u8>) -> Result<(), SkipReason> {
    if let Cow::Owned(text) = text_of(buf)? {
        *buf = text;
    }
    Ok(())
}

/// The scannable text of an input: UTF-16 with a byte order mark (as Windows tools write
/// `.reg`, `.ps1` and some `.config` files) is transcoded to UTF-8, lines intact, so rules
/// see it; any other input with a NUL byte in its first 8 KiB is binary.
pub fn text_of(bytes: &[u8]) -> Result<Cow<'_, [u8]>, SkipReason> {
    if let Some(text) = utf16_with_bom(bytes) {
        return Ok(Cow::Owned(text.into_bytes()));
    }
    check_text(bytes).map(|()| Cow::Borrowed(bytes))
}

/// Whether `bytes` open with a UTF-16 byte order mark (FF FE 00 00 opens UTF-32 LE).
pub fn is_utf16_with_bom(bytes: &[u8]) -> bool {
    matches!(bytes, [0xFF, 0xFE, ..] | [0xFE, 0xFF, ..]) && !bytes.starts_with(&[0xFF, 0xFE, 0, 0])
}

fn utf16_with_bom(bytes: &[u8]) -> Option<String> {
    if !is_utf16_with_bom(bytes) {
        return None;
    }
    let mut text = String::with_capacity(bytes.len());
    // Reading from memory cannot fail, and the reader writes UTF-8 only.
    let _ = Utf16Reader::new(&bytes[2..], bytes[0] == 0xFF).read_to_string(&mut text);
    Some(text)
}

/// Refuses binary content, judged like git does.
fn check_text(bytes: &[u8]) -> Result<(), SkipReason> {
    let sniff = &bytes[..bytes.len().min(BINARY_SNIFF_LEN)];
    if memchr::memchr(0, sniff).is_some() {
        return Err(SkipReason::Binary);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_paths_are_relative_to_a_single_root() {
        let root = Root {
            path: PathBuf::from("/scan/here"),
            display_prefix: String::new(),
        };
        assert_eq!(root.display(Path::new("/scan/here/a/b.txt")), "a/b.txt");
        let prefixed = Root {
            path: PathBuf::from("./one"),
            display_prefix: "one".into(),
        };
        assert_eq!(prefixed.display(Path::new("./one/x.env")), "one/x.env");
        assert_eq!(prefixed.display(Path::new("./one")), "one");
    }

    #[test]
    fn shown_paths_seen_from_the_project_folder() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path();
        std::fs::create_dir_all(project.join("docs/api")).unwrap();
        std::fs::create_dir_all(project.join("src")).unwrap();
        std::fs::write(project.join("src/app.env"), "").unwrap();
        let root = |rel: &str, prefix: &str| Root {
            path: project.join(rel),
            display_prefix: prefix.into(),
        };

        // One folder: its paths are relative to it.
        let docs = ProjectPaths::new(&[root("docs", "")], project, false);
        assert_eq!(
            docs.project_path("conf.py").as_deref(),
            Some("docs/conf.py")
        );
        assert_eq!(
            docs.project_path("a.jar!/x.env").as_deref(),
            Some("docs/a.jar!/x.env")
        );
        assert!(docs.covers("docs/") && docs.covers("docs/api/x") && !docs.covers("doc"));
        assert!(!docs.covers("") && !docs.covers("src/app.env"));

        // Several roots, one a file; the longest prefix wins.
        let both = ProjectPaths::new(
            &[
                root("docs", "docs"),
                root("docs/api", "docs/api"),
                root("src/app.env", "src/app.env"),
            ],
            project,
            false,
        );
        assert_eq!(
            both.project_path("docs/api/v1.md").as_deref(),
            Some("docs/api/v1.md")
        );
        assert_eq!(
            both.project_path("src/app.env").as_deref(),
            Some("src/app.env")
        );
        assert_eq!(both.project_path("docsx/a"), None);
        assert_eq!(both.project_path("<stdin>"), None);
        assert!(both.covers("src/app.env") && !both.covers("src"));

        // The project itself, and a scan of changes only.
        let whole = ProjectPaths::new(&[root("", "")], project, false);
        assert_eq!(whole.project_path("a/b").as_deref(), Some("a/b"));
        assert!(whole.covers(""));
        assert!(!ProjectPaths::new(&[root("", "")], project, true).covers("docs"));

        // A root outside the project is taken as the project (a baseline written elsewhere).
        let elsewhere = ProjectPaths::new(&[root("", "")], &project.join("src"), false);
        assert_eq!(elsewhere.project_path("docs/x").as_deref(), Some("docs/x"));
        assert!(elsewhere.covers(""));
    }

    #[test]
    fn nul_in_the_first_8k_means_binary() {
        assert_eq!(check_text(b"abc\0def"), Err(SkipReason::Binary));
        let mut late = vec![b'a'; BINARY_SNIFF_LEN];
        late.push(0);
        assert_eq!(check_text(&late), Ok(()));
    }

    #[test]
    fn utf16_with_a_bom_becomes_utf8() {
        let le: Vec<u8> = [0xFF, 0xFE, b'a', 0, b'\n', 0, 0x3D, 0xD8, 0x00, 0xDE].to_vec();
        assert_eq!(&*text_of(&le).unwrap(), "a\n\u{1F600}".as_bytes());
        let be = [0xFE, 0xFF, 0, b'k', 0, b'='];
        assert_eq!(&*text_of(&be).unwrap(), b"k=");
        // An odd trailing byte is dropped; a lone surrogate becomes U+FFFD.
        assert_eq!(&*text_of(&[0xFF, 0xFE, b'a', 0, b'b']).unwrap(), b"a");
        assert_eq!(
            &*text_of(&[0xFF, 0xFE, 0x00, 0xD8]).unwrap(),
            "\u{FFFD}".as_bytes()
        );
        // UTF-32 LE is not UTF-16, and stays binary.
        assert_eq!(
            text_of(&[0xFF, 0xFE, 0, 0, b'a', 0, 0, 0]),
            Err(SkipReason::Binary)
        );
    }
}
