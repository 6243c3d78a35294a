//! Inputs too large to hold whole, read as overlapping chunks so that a worker's memory stays
//! bounded whatever the size of the file or of standard input. Each chunk owns the matches
//! whose secret starts in its middle part; the overlap on both sides, at least the engine's
//! reach, lets the engine see everything around those matches, and every match is owned by
//! exactly one chunk.

use std::io::{self, Cursor, Read};
use std::ops::Range;

use super::{BINARY_SNIFF_LEN, Event, Origin, SkipReason, Visitor, check_text, is_utf16_with_bom};

/// Inputs longer than this are scanned in chunks of this size (plus overlap on both sides);
/// shorter ones are read whole, which also lets configuration files be read as structure.
pub const CHUNK_SIZE: usize = 8 << 20;

/// Where a chunk sits in its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Matches whose secret starts in this range of the chunk's bytes are the chunk's; the
    /// bytes before and after are overlap, whose matches belong to a neighbour.
    pub owned: Range<usize>,
    /// Newlines in the input before the chunk's first byte.
    pub lines_before: usize,
    /// Characters between the last of those newlines and the chunk's first byte.
    pub columns_before: usize,
    /// The input's first chunk (an input counts once in the summary).
    pub first: bool,
}

impl Chunk {
    /// A 1-based line and column within the chunk, as a line and column of the input.
    pub fn place(&self, line: usize, column: usize) -> (usize, usize) {
        let column = if line == 1 {
            column + self.columns_before
        } else {
            column
        };
        (line + self.lines_before, column)
    }
}

/// Scans `reader`, an input from its first byte, in chunks of [`CHUNK_SIZE`] that overlap
/// by `overlap` bytes on each side, reusing `buf`. Binary input is refused as whole files
/// are; UTF-16 with a byte order mark is transcoded as it is read.
pub fn scan(
    mut reader: impl Read,
    path: &str,
    overlap: usize,
    buf: &mut Vec<u8>,
    visitor: &mut dyn Visitor,
) -> Result<(), SkipReason> {
    let mut head = Vec::with_capacity(BINARY_SNIFF_LEN);
    (&mut reader)
        .take(BINARY_SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(unreadable)?;
    let chunk_size = CHUNK_SIZE.max(overlap);
    if is_utf16_with_bom(&head) {
        let little_endian = head[0] == 0xFF;
        head.drain(..2);
        let text = Utf16Reader::new(Cursor::new(head).chain(reader), little_endian);
        scan_chunks(text, path, chunk_size, overlap, buf, visitor)
    } else {
        check_text(&head)?;
        let whole = Cursor::new(head).chain(reader);
        scan_chunks(whole, path, chunk_size, overlap, buf, visitor)
    }
}

fn scan_chunks(
    mut reader: impl Read,
    path: &str,
    chunk_size: usize,
    overlap: usize,
    buf: &mut Vec<u8>,
    visitor: &mut dyn Visitor,
) -> Result<(), SkipReason> {
    buf.clear();
    let mut chunk = Chunk {
        owned: 0..0,
        lines_before: 0,
        columns_before: 0,
        first: true,
    };
    loop {
        let owned_start = chunk.owned.start;
        let wanted = owned_start + chunk_size + overlap;
        (&mut reader)
            .take((wanted - buf.len()) as u64)
            .read_to_end(buf)
            .map_err(unreadable)?;
        let last = buf.len() < wanted;
        chunk.owned = owned_start..if last {
            buf.len()
        } else {
            owned_start + chunk_size
        };
        visitor.visit(Event::Input {
            origin: Origin::Chunk {
                path,
                chunk: &chunk,
            },
            bytes: buf,
        });
        if last {
            return Ok(());
        }
        // The next chunk starts `overlap` bytes before the end of this one's owned part.
        let dropped = chunk.owned.end - overlap;
        match memchr::memrchr(b'\n', &buf[..dropped]) {
            Some(newline) => {
                chunk.lines_before += memchr::memchr_iter(b'\n', &buf[..dropped]).count();
                chunk.columns_before = characters(&buf[newline + 1..dropped]);
            }
            None => chunk.columns_before += characters(&buf[..dropped]),
        }
        buf.drain(..dropped);
        chunk.owned = overlap..overlap;
        chunk.first = false;
    }
}

/// Characters in UTF-8 bytes, counted as the report's columns are: bytes that are not
/// continuation bytes.
fn characters(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

fn unreadable(err: io::Error) -> SkipReason {
    SkipReason::Unreadable(err.to_string())
}

/// Transcodes UTF-16 (what follows its byte order mark) to UTF-8 as it is read. A byte left
/// odd at the end is dropped; an unpaired surrogate becomes U+FFFD.
pub struct Utf16Reader<R> {
    inner: R,
    little_endian: bool,
    /// Raw bytes read but not yet transcoded: an odd byte, or a high surrogate waiting for
    /// its pair.
    pending: Vec<u8>,
    raw: Vec<u8>,
    text: Vec<u8>,
    given: usize,
}

impl<R: Read> Utf16Reader<R> {
    pub fn new(inner: R, little_endian: bool) -> Self {
        Utf16Reader {
            inner,
            little_endian,
            pending: Vec::new(),
            raw: vec![0; 64 << 10],
            text: Vec::new(),
            given: 0,
        }
    }

    /// Transcodes the next block; false at the end of the input.
    fn refill(&mut self) -> io::Result<bool> {
        self.text.clear();
        self.given = 0;
        let read = loop {
            match self.inner.read(&mut self.raw) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if read == 0 {
            if self.pending.len() >= 2 {
                self.text.extend_from_slice("\u{FFFD}".as_bytes());
            }
            self.pending.clear();
            return Ok(!self.text.is_empty());
        }
        self.pending.extend_from_slice(&self.raw[..read]);
        let little_endian = self.little_endian;
        let mut units: Vec<u16> = self
            .pending
            .chunks_exact(2)
            .map(|pair| {
                let pair = [pair[0], pair[1]];
                if little_endian {
                    u16::from_le_bytes(pair)
                } else {
                    u16::from_be_bytes(pair)
                }
            })
            .collect();
        let mut kept = self.pending.len() % 2;
        if units
            .last()
            .is_some_and(|unit| (0xD800..0xDC00).contains(unit))
        {
            units.pop();
            kept += 2;
        }
        for c in char::decode_utf16(units) {
            let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
            self.text
                .extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        }
        self.pending.drain(..self.pending.len() - kept);
        Ok(true)
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.given == self.text.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.text.len() - self.given);
        out[..n].copy_from_slice(&self.text[self.given..self.given + n]);
        self.given += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a scan in chunks handed out: each chunk's bytes and where it sits.
    #[derive(Default)]
    struct Chunks(Vec<(Vec<u8>, Chunk)>);

    impl Visitor for Chunks {
        fn visit(&mut self, event: Event<'_>) {
            if let Event::Input {
                origin: Origin::Chunk { chunk, .. },
                bytes,
            } = event
            {
                self.0.push((bytes.to_vec(), chunk.clone()));
            }
        }
    }

    fn chunks_of(input: &[u8], chunk_size: usize, overlap: usize) -> Vec<(Vec<u8>, Chunk)> {
        let mut seen = Chunks::default();
        let mut buf = Vec::new();
        scan_chunks(input, "x", chunk_size, overlap, &mut buf, &mut seen).unwrap();
        seen.0
    }

    #[test]
    fn owned_parts_tile_the_input_and_overlap_surrounds_them() {
        let input: Vec<u8> = (0..1000u32).map(|i| b'a' + (i % 26) as u8).collect();
        for (chunk_size, overlap) in [(100, 10), (100, 100), (64, 1), (999, 5), (1000, 7)] {
            let chunks = chunks_of(&input, chunk_size, overlap);
            let mut at = 0; // where the next owned part starts in the input
            for (i, (bytes, chunk)) in chunks.iter().enumerate() {
                assert_eq!(chunk.first, i == 0);
                let window_start = at - chunk.owned.start;
                assert_eq!(bytes[..], input[window_start..window_start + bytes.len()]);
                // Everything within `overlap` of the owned part is in the chunk.
                let after = input.len() - (at + chunk.owned.len());
                assert!(chunk.owned.start >= overlap.min(at));
                assert!(bytes.len() - chunk.owned.end >= overlap.min(after));
                at += chunk.owned.len();
            }
            assert_eq!(at, input.len(), "chunk {chunk_size}, overlap {overlap}");
            assert!(chunks.len() >= input.len() / chunk_size);
        }
    }

    #[test]
    fn an_input_ending_on_a_chunk_boundary_loses_nothing() {
        let input = vec![b'x'; 110];
        let chunks = chunks_of(&input, 100, 10);
        let owned: usize = chunks.iter().map(|(_, c)| c.owned.len()).sum();
        assert_eq!(owned, 110);
        assert_eq!(chunks_of(b"", 100, 10).len(), 1);
    }

    /// The 1-based line and column just after `prefix`.
    fn end_of(prefix: &[u8]) -> (usize, usize) {
        let line_start = prefix
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let lines = prefix.iter().filter(|&&b| b == b'\n').count();
        (1 + lines, 1 + characters(&prefix[line_start..]))
    }

    #[test]
    fn lines_and_columns_carry_across_chunks() {
        // Line 3 is long: a chunk starts in the middle of it.
        let input = b"one\ntwo\nthreeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\n\xc3\xa9x\nfive\n".to_vec();
        let chunks = chunks_of(&input, 12, 4);
        let mut offset = 0; // where the owned part starts in the whole input
        for (bytes, chunk) in &chunks {
            let (line, column) = end_of(&bytes[..chunk.owned.start]);
            assert_eq!(chunk.place(line, column), end_of(&input[..offset]));
            offset += chunk.owned.len();
        }
    }

    #[test]
    fn utf16_is_transcoded_across_reads() {
        // A surrogate pair and an odd byte split across one-byte reads.
        struct OneByte<'a>(&'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let Some((&first, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                out[0] = first;
                self.0 = rest;
                Ok(1)
            }
        }
        let le = [b'a', 0, b'\n', 0, 0x3D, 0xD8, 0x00, 0xDE, b'b'];
        let mut text = String::new();
        Utf16Reader::new(OneByte(&le), true)
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "a\n\u{1F600}");
        let mut lone = String::new();
        Utf16Reader::new(&[0x00, 0xD8][..], true)
            .read_to_string(&mut lone)
            .unwrap();
        assert_eq!(lone, "\u{FFFD}");
    }
}
