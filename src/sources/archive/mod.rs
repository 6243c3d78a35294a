//! Archives found by the walk — zip (jar, war, apk, whl, …), tar, gzip and tar.gz — opened in
//! memory, their entries handed to the visitor one at a time as `archive!/entry` inputs, and
//! archives inside them opened in turn. Everything an archive may cost is bounded (see
//! [`Limits`]); a bound that stops reading is reported as [`SkipReason::ArchiveLimit`], a
//! corrupt archive or entry as [`SkipReason::Unreadable`], and the scan goes on.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use tar::EntryType;

use super::{BINARY_SNIFF_LEN, Contents, Event, SkipReason, Visitor};

/// `--max-archive-size` when not given: the decompressed bytes one archive found by the walk
/// may cost, nested archives included. Large enough for a fat Spring Boot jar or a release
/// tarball; small enough that a worker thread never holds more than this at once.
pub const DEFAULT_MAX_ARCHIVE_SIZE: u64 = 256 << 20;

/// Archives inside archives are opened this many levels deep, counting the one on disk: real
/// packaging nests two or three levels (a war of jars, a tarball of wheels); recursive zip
/// bombs (42.zip) nest five and more.
pub const MAX_DEPTH: usize = 5;

/// An entry that expands to more than this many times its compressed size is not read
/// further: text and code deflate 3–20:1, a zip bomb needs far more (deflate reaches about
/// 1032:1), and 100:1 leaves room on both sides.
pub const MAX_RATIO: u64 = 100;

/// Below this much output the ratio is not checked: small files of one repeated character
/// compress beyond 100:1 legitimately and cost nothing to read.
const RATIO_FLOOR: u64 = 1 << 20;

/// Entries read per archive on disk, nested ones included: more than the largest real jars
/// (tens of thousands of classes), and a bound on the per-entry work of a "many empty files"
/// bomb, which the size budget alone would not catch.
pub const MAX_ENTRIES: u64 = 100_000;

/// How much of the end of a zip can hold its end-of-central-directory record (22 bytes and
/// a comment of at most 65,535).
const ZIP_TAIL_LEN: u64 = 22 + 65_535;

/// What one archive found by the walk may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes read from entries and decompressed streams, at every level of nesting
    /// (`--max-archive-size`); also the largest archive opened, on disk or inside another.
    pub max_total: u64,
    /// The largest entry scanned as text (`--max-file-size`).
    pub max_entry: u64,
    /// Levels of archives opened, the one on disk being the first.
    pub max_depth: usize,
    /// Largest decompressed/compressed ratio of an entry (or a gzip stream).
    pub max_ratio: u64,
    /// Entries read in all.
    pub max_entries: u64,
}

impl Limits {
    /// The built-in bounds with the two that have flags.
    pub fn new(max_archive_size: u64, max_file_size: u64) -> Limits {
        Limits {
            max_total: max_archive_size,
            max_entry: max_file_size,
            max_depth: MAX_DEPTH,
            max_ratio: MAX_RATIO,
            max_entries: MAX_ENTRIES,
        }
    }
}

/// The archive formats sprawl opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Zip,
    Tar,
    /// A gzip stream: a tarball (`.tar.gz`, `.tgz`, or `ustar` inside) or one compressed file.
    Gzip,
}

/// Recognises an archive by its first bytes, or — for binary content only, so that a text
/// file (a git-lfs pointer named `model.zip`) is still scanned as text — by its name.
pub fn detect(name: &str, head: &[u8]) -> Option<Kind> {
    kind_by_magic(head).or_else(|| {
        let sniff = &head[..head.len().min(BINARY_SNIFF_LEN)];
        memchr::memchr(0, sniff).and(kind_by_name(name))
    })
}

fn kind_by_magic(head: &[u8]) -> Option<Kind> {
    // A local file header, or the end record that is all of an empty zip.
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Some(Kind::Zip)
    } else if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        Some(Kind::Gzip)
    } else if is_ustar(head) {
        Some(Kind::Tar)
    } else {
        None
    }
}

/// POSIX and GNU tar headers say `ustar` at offset 257 (v7 tar says nothing).
fn is_ustar(head: &[u8]) -> bool {
    head.get(257..262) == Some(b"ustar")
}

/// Extensions of the zip family: Java, Android, NuGet and Python packages are zips.
const ZIP_EXTENSIONS: [&str; 8] = ["zip", "jar", "war", "ear", "apk", "aar", "nupkg", "whl"];

fn kind_by_name(name: &str) -> Option<Kind> {
    let base = name.rsplit('/').next().unwrap_or(name);
    let (_, ext) = base.rsplit_once('.')?;
    let is = |known: &str| ext.eq_ignore_ascii_case(known);
    if ZIP_EXTENSIONS.iter().any(|known| is(known)) {
        Some(Kind::Zip)
    } else if is("tar") {
        Some(Kind::Tar)
    } else if is("gz") || is("tgz") {
        Some(Kind::Gzip)
    } else {
        None
    }
}

/// [`detect`], plus zips named as such that start with something else: an executable jar
/// (Spring Boot's launch script, then the zip) or a self-extracting archive. Their end
/// record says what they are.
fn recognise(name: &str, head: &[u8], whole: &mut dyn ReadSeek) -> Option<Kind> {
    detect(name, head).or_else(|| {
        let zip = kind_by_name(name) == Some(Kind::Zip) && claimed_zip_entries(whole).is_some();
        zip.then_some(Kind::Zip)
    })
}

fn is_tarball_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".tar.gz") || lower.ends_with(".tgz")
}

/// A walked file, if it is an archive: opens it and hands its entries to `visitor`, and
/// returns true; returns false for any other file, which the walk then reports as before.
/// `read` and `contents` are what [`super::read_file`] made of the file: its bytes when it
/// was text or binary, nothing when it was larger than a chunk or `--max-file-size` (an
/// archive that large is read from disk, entry by entry).
pub fn scan_file(
    file: &Path,
    path: &str,
    read: &Result<Contents, SkipReason>,
    contents: &[u8],
    limits: &Limits,
    visitor: &mut dyn Visitor,
) -> bool {
    match read {
        Ok(Contents::Whole) | Err(SkipReason::Binary) => {
            let mut reader = Cursor::new(contents);
            let Some(kind) = recognise(path, contents, &mut reader) else {
                return false;
            };
            let len = contents.len() as u64;
            scan(path, kind, &mut reader, len, limits, visitor);
            true
        }
        Ok(Contents::TooLargeToHold { size }) | Err(SkipReason::TooLarge { size, .. }) => {
            let Ok(handle) = File::open(file) else {
                return false;
            };
            let mut reader = BufReader::new(handle);
            let mut head = Vec::new();
            if (&mut reader)
                .take(BINARY_SNIFF_LEN as u64)
                .read_to_end(&mut head)
                .is_err()
            {
                return false;
            }
            let Some(kind) = recognise(path, &head, &mut reader) else {
                return false;
            };
            scan(path, kind, &mut reader, *size, limits, visitor);
            true
        }
        Err(_) => false,
    }
}

/// Readers an archive can be opened from: zip needs to seek to its central directory.
trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Opens one archive found by the walk (`len` bytes long) and scans its entries.
fn scan(
    path: &str,
    kind: Kind,
    reader: &mut dyn ReadSeek,
    len: u64,
    limits: &Limits,
    visitor: &mut dyn Visitor,
) {
    if let Err(e) = reader.seek(SeekFrom::Start(0)) {
        visitor.visit(Event::Skipped {
            path: path.to_string(),
            reason: SkipReason::Unreadable(e.to_string()),
        });
        return;
    }
    let meter = Meter {
        left: Cell::new(limits.max_total),
        top: path,
        trip: Cell::new(None),
    };
    let mut scanner = Scanner {
        visitor,
        limits: *limits,
        meter: &meter,
        archives: 0,
        entries: 0,
        scanned: 0,
        buf: Vec::new(),
    };
    // zip, tar and flate2 are meant never to panic on bad input; should one do so anyway,
    // this archive is reported unreadable and the scan goes on.
    let opened = catch_unwind(AssertUnwindSafe(|| {
        scanner.open(path, kind, reader, len, 1)
    }));
    if opened.is_err() {
        scanner.skip(
            path,
            SkipReason::Unreadable("the archive reader failed on this file".into()),
        );
    }
    if scanner.archives > 0 {
        scanner.visitor.visit(Event::Archive {
            archives: scanner.archives,
            entries: scanner.scanned,
        });
    }
}

/// A bound was reached: this top-level archive is not read further.
struct Stop;

/// How reading an entry ended, for the formats (tar) whose stream is lost after a failure.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Next,
    Broken,
}

/// Which bound stopped a reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// `Limits::max_total`: stops the whole archive.
    Total,
    /// `Limits::max_ratio`: stops one entry or gzip stream.
    Ratio,
}

/// The budget of one archive on disk, shared by every reader opened inside it.
struct Meter<'a> {
    left: Cell<u64>,
    /// The archive on disk, where a spent budget is reported.
    top: &'a str,
    /// The bound that made a reader fail, and where to report it; taken by whoever sees the
    /// failure, so it is reported once.
    trip: Cell<Option<(Bound, String)>>,
}

/// A reader that charges what it produces to the archive's budget and fails once it has
/// produced more than the budget left or its ratio allowance, reading at most one byte past
/// either, so that a lying header cannot make it inflate more. It wraps zip entries and the
/// tar and gzip streams; a tar entry is not wrapped again, its bytes were counted as the tar
/// stream below it read them.
struct Bounded<'a, R> {
    inner: R,
    meter: &'a Meter<'a>,
    /// Bytes it may still produce before its ratio bound; `u64::MAX` for none.
    ratio_left: u64,
    /// Where a ratio bound is reported: the entry or the gzip stream.
    label: &'a str,
    stopped: bool,
}

impl<'a, R: Read> Bounded<'a, R> {
    fn new(inner: R, meter: &'a Meter<'a>, label: &'a str) -> Self {
        Bounded {
            inner,
            meter,
            ratio_left: u64::MAX,
            label,
            stopped: false,
        }
    }

    /// Bounds the output to `max_ratio` times `compressed` bytes (never below the floor).
    fn with_ratio(mut self, compressed: u64, max_ratio: u64) -> Self {
        self.ratio_left = compressed.saturating_mul(max_ratio).max(RATIO_FLOOR);
        self
    }
}

fn limit_error() -> io::Error {
    io::Error::other("archive limit reached")
}

impl<R: Read> Read for Bounded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stopped {
            return Err(limit_error());
        }
        let budget = self.meter.left.get();
        let allowed = budget.min(self.ratio_left);
        let cap = usize::try_from(allowed.saturating_add(1)).unwrap_or(usize::MAX);
        let len = buf.len().min(cap);
        let n = self.inner.read(&mut buf[..len])?;
        let got = n as u64;
        if got > allowed {
            self.stopped = true;
            let trip = if got > budget {
                (Bound::Total, self.meter.top.to_string())
            } else {
                (Bound::Ratio, self.label.to_string())
            };
            self.meter.trip.set(Some(trip));
            return Err(limit_error());
        }
        self.meter.left.set(budget - got);
        self.ratio_left = self.ratio_left.saturating_sub(got);
        Ok(n)
    }
}

/// Walks one archive on disk and everything nested in it.
struct Scanner<'v, 'm> {
    visitor: &'v mut dyn Visitor,
    limits: Limits,
    meter: &'m Meter<'m>,
    /// Archives opened, this one and nested ones.
    archives: u64,
    /// Entries read (the `max_entries` bound).
    entries: u64,
    /// Entries handed to the visitor as text.
    scanned: u64,
    /// The text entry being read.
    buf: Vec<u8>,
}

impl Scanner<'_, '_> {
    fn skip(&mut self, path: &str, reason: SkipReason) {
        self.visitor.visit(Event::Skipped {
            path: path.to_string(),
            reason,
        });
    }

    fn limit(&mut self, path: &str, what: String) {
        self.skip(path, SkipReason::ArchiveLimit(what));
    }

    /// Reports why reading `path` failed: the bound that stopped a reader if one did (a
    /// spent budget stops the whole archive), else a corrupt archive.
    fn failure(&mut self, path: &str, error: impl std::fmt::Display) -> Result<Flow, Stop> {
        match self.meter.trip.take() {
            Some((Bound::Total, at)) => {
                let what = format!(
                    "more than --max-archive-size ({} bytes) of content; the rest was not scanned",
                    self.limits.max_total
                );
                self.limit(&at, what);
                Err(Stop)
            }
            Some((Bound::Ratio, at)) => {
                let what = format!(
                    "expands more than {}:1 (a zip bomb?); not read further",
                    self.limits.max_ratio
                );
                self.limit(&at, what);
                Ok(Flow::Broken)
            }
            None => {
                self.skip(
                    path,
                    SkipReason::Unreadable(format!("corrupt archive: {error}")),
                );
                Ok(Flow::Broken)
            }
        }
    }

    /// Opens an archive `len` bytes long at nesting `depth` (1 for the one on disk).
    fn open(
        &mut self,
        path: &str,
        kind: Kind,
        reader: &mut dyn ReadSeek,
        len: u64,
        depth: usize,
    ) -> Result<(), Stop> {
        if len > self.limits.max_total {
            let what = format!(
                "larger than --max-archive-size ({len} > {} bytes); not opened",
                self.limits.max_total
            );
            self.limit(path, what);
            return Ok(());
        }
        match kind {
            Kind::Zip => self.zip(path, reader, depth),
            Kind::Tar => {
                let stream = Bounded::new(reader, self.meter, path);
                self.tar(path, stream, depth)
            }
            Kind::Gzip => self.gzip(path, reader, len, depth),
        }
    }

    fn zip(&mut self, path: &str, reader: &mut dyn ReadSeek, depth: usize) -> Result<(), Stop> {
        // The zip crate sizes its directory from the count the archive claims; refuse a
        // claim past the bound before it does.
        if let Some(claimed) = claimed_zip_entries(reader)
            && claimed > self.limits.max_entries
        {
            let what = format!(
                "claims {claimed} entries, more than {}; not opened",
                self.limits.max_entries
            );
            self.limit(path, what);
            return Ok(());
        }
        let mut archive = match zip::ZipArchive::new(reader) {
            Ok(archive) => archive,
            Err(e) => {
                self.skip(
                    path,
                    SkipReason::Unreadable(format!("not a readable zip archive: {e}")),
                );
                return Ok(());
            }
        };
        self.archives += 1;
        let meter = self.meter;
        for index in 0..archive.len() {
            let name = archive
                .name_for_index(index)
                .map(entry_name)
                .unwrap_or_default();
            let entry_path = format!("{path}!/{name}");
            let mut file = match archive.by_index(index) {
                Ok(file) => file,
                Err(e) => {
                    // Encrypted, or compressed with a method sprawl does not read.
                    self.skip(&entry_path, SkipReason::Unreadable(e.to_string()));
                    continue;
                }
            };
            if file.is_dir() || name.is_empty() {
                continue;
            }
            let declared = file.size();
            let compressed = file.compressed_size();
            let mut entry = Bounded::new(&mut file, meter, &entry_path)
                .with_ratio(compressed, self.limits.max_ratio);
            // Entries are independent: a broken one does not stop the next.
            self.entry(&entry_path, &mut entry, Some(declared), depth)?;
        }
        Ok(())
    }

    fn tar(&mut self, path: &str, stream: impl Read, depth: usize) -> Result<(), Stop> {
        let mut archive = tar::Archive::new(stream);
        let entries = match archive.entries() {
            Ok(entries) => entries,
            Err(e) => return self.failure(path, e).map(drop),
        };
        let mut opened = false;
        for item in entries {
            let mut entry = match item {
                Ok(entry) => entry,
                Err(e) => {
                    self.failure(path, e)?;
                    break;
                }
            };
            if !opened {
                opened = true;
                self.archives += 1;
            }
            if !matches!(
                entry.header().entry_type(),
                EntryType::Regular | EntryType::Continuous
            ) {
                continue; // folders, links, devices
            }
            let name = entry_name(&String::from_utf8_lossy(&entry.path_bytes()));
            if name.is_empty() {
                continue;
            }
            let entry_path = format!("{path}!/{name}");
            let declared = entry.header().size().ok();
            // The stream is lost after a failure inside it.
            if self.entry(&entry_path, &mut entry, declared, depth)? == Flow::Broken {
                break;
            }
        }
        if !opened {
            self.archives += 1; // an empty tarball
        }
        Ok(())
    }

    fn gzip(
        &mut self,
        path: &str,
        reader: &mut dyn ReadSeek,
        len: u64,
        depth: usize,
    ) -> Result<(), Stop> {
        let decoder = flate2::read::MultiGzDecoder::new(reader);
        let mut stream =
            Bounded::new(decoder, self.meter, path).with_ratio(len, self.limits.max_ratio);
        let mut head = Vec::new();
        if let Err(e) = (&mut stream)
            .take(BINARY_SNIFF_LEN as u64)
            .read_to_end(&mut head)
        {
            return self.failure(path, e).map(drop);
        }
        let base = path.rsplit('/').next().unwrap_or(path);
        if is_ustar(&head) || is_tarball_name(base) {
            return self.tar(path, Cursor::new(head).chain(stream), depth);
        }
        self.archives += 1;
        // The name gunzip would give it: without `.gz`, else the one in its header.
        let inner = match base.len().checked_sub(3) {
            Some(stem)
                if base.is_char_boundary(stem) && base[stem..].eq_ignore_ascii_case(".gz") =>
            {
                base[..stem].to_string()
            }
            _ => stream
                .inner
                .header()
                .and_then(|h| h.filename())
                .map(|n| entry_name(&String::from_utf8_lossy(n)))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| base.to_string()),
        };
        let entry_path = format!("{path}!/{inner}");
        self.entry(
            &entry_path,
            &mut Cursor::new(head).chain(stream),
            None,
            depth,
        )
        .map(drop)
    }

    /// Reads one entry of an archive at `depth` and scans it as text, skips it as binary, or
    /// opens it as an archive one level deeper.
    fn entry(
        &mut self,
        path: &str,
        reader: &mut dyn Read,
        declared: Option<u64>,
        depth: usize,
    ) -> Result<Flow, Stop> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            let what = format!(
                "more than {} entries; the rest were not scanned",
                self.limits.max_entries
            );
            let top = self.meter.top;
            self.limit(top, what);
            return Err(Stop);
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let flow = self.read_entry(path, reader, declared, depth, &mut buf);
        self.buf = buf;
        flow
    }

    fn read_entry(
        &mut self,
        path: &str,
        reader: &mut dyn Read,
        declared: Option<u64>,
        depth: usize,
        buf: &mut Vec<u8>,
    ) -> Result<Flow, Stop> {
        if let Err(e) = (&mut *reader)
            .take(BINARY_SNIFF_LEN as u64)
            .read_to_end(buf)
        {
            return self.failure(path, e);
        }
        if let Some(kind) = detect(path, buf) {
            if depth >= self.limits.max_depth {
                let what = format!(
                    "an archive nested more than {} deep; not opened",
                    self.limits.max_depth
                );
                self.limit(path, what);
                return Ok(Flow::Next);
            }
            // Held whole (zip seeks); the budget bounds it, as it bounds every read.
            let mut inner = std::mem::take(buf);
            if let Err(e) = (&mut *reader)
                .take(self.limits.max_total)
                .read_to_end(&mut inner)
            {
                return self.failure(path, e);
            }
            let len = inner.len() as u64;
            self.open(path, kind, &mut Cursor::new(&inner[..]), len, depth + 1)?;
            return Ok(Flow::Next);
        }
        // Known binary from its first bytes: not read further (UTF-16 text has NULs too).
        if memchr::memchr(0, buf).is_some() && !super::is_utf16_with_bom(buf) {
            self.skip(path, SkipReason::Binary);
            return Ok(Flow::Next);
        }
        let max = self.limits.max_entry;
        let rest = (max + 1).saturating_sub(buf.len() as u64);
        if let Err(e) = (&mut *reader).take(rest).read_to_end(buf) {
            return self.failure(path, e);
        }
        let read = buf.len() as u64;
        if read > max {
            let size = declared.unwrap_or(read).max(read);
            self.skip(path, SkipReason::TooLarge { size, limit: max });
            return Ok(Flow::Next);
        }
        match super::text_of(buf) {
            Ok(text) => {
                self.scanned += 1;
                self.visitor.visit(Event::file(path, &text));
            }
            Err(reason) => self.skip(path, reason),
        }
        Ok(Flow::Next)
    }
}

/// An entry's name as shown after `!/`: without the `./` and `/` that tar and zip tools
/// put in front.
fn entry_name(raw: &str) -> String {
    let mut name = raw;
    loop {
        let trimmed = name.trim_start_matches('/');
        let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
        if trimmed.len() == name.len() {
            break;
        }
        name = trimmed;
    }
    if name == "." {
        String::new()
    } else {
        name.to_string()
    }
}

/// How many entries a zip's end-of-central-directory record (or its zip64 record) claims;
/// `None` when there is none to read, which the zip crate then reports.
fn claimed_zip_entries(reader: &mut dyn ReadSeek) -> Option<u64> {
    let len = reader.seek(SeekFrom::End(0)).ok()?;
    let tail_len = len.min(ZIP_TAIL_LEN);
    reader.seek(SeekFrom::Start(len - tail_len)).ok()?;
    let mut tail = Vec::new();
    (&mut *reader).take(tail_len).read_to_end(&mut tail).ok()?;
    let at = tail.windows(4).rposition(|w| w == b"PK\x05\x06")?;
    let end = tail.get(at..at + 22)?;
    let mut claimed = u64::from(u16::from_le_bytes([end[10], end[11]]));
    // A zip64 locator, when present, sits just before the end record and points to the
    // zip64 end record, whose count is 64-bit.
    if let Some(locator) = at.checked_sub(20).and_then(|start| tail.get(start..at))
        && locator.starts_with(b"PK\x06\x07")
    {
        let offset = u64::from_le_bytes(locator[8..16].try_into().ok()?);
        let mut record = [0u8; 40];
        if reader.seek(SeekFrom::Start(offset)).is_ok()
            && reader.read_exact(&mut record).is_ok()
            && record.starts_with(b"PK\x06\x06")
        {
            claimed = claimed.max(u64::from_le_bytes(record[32..40].try_into().ok()?));
        }
    }
    Some(claimed)
}

#[cfg(test)]
mod tests;
