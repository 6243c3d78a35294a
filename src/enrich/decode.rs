//! Secrets hidden under one or two layers of encoding: base64 (Kubernetes Secret `data:`,
//! kubeconfig `*-data`, Docker `auth`), percent-encoding (`p%40ss` in a URL) and JSON `\u`
//! escapes. Each encoded value is decoded and scanned again, with the text before it on its
//! line as context (so `password: <base64>` is judged as a password), and a finding in it is
//! located at the encoded value, with `decoded` naming the layers.
//!
//! Cost is bounded: one table-driven pass to find candidates, only values long enough to hold
//! a secret, decoded output that must be text, at most two layers, and at most as many
//! decoded bytes as the input has.

use std::ops::Range;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::engine::{Engine, RawMatch, Scratch};

/// Shortest base64 value worth decoding: 16 characters hold 12 bytes, a short password.
const MIN_BASE64: usize = 16;
/// Longest: a kubeconfig's `client-key-data` is a few KiB; bigger runs are files, not values.
const MAX_BASE64: usize = 64 << 10;
/// Layers of encoding undone (a base64 Docker config inside a base64 Kubernetes Secret).
const MAX_DEPTH: usize = 2;
/// Bytes of the line before a value that are scanned with it, as the key's context.
const CONTEXT: usize = 96;

const STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Byte classes for the candidate pass.
const LOWER: u8 = 1;
const UPPER: u8 = 2;
const DIGIT: u8 = 4;
const STD: u8 = 8; // + /
const URL: u8 = 16; // - _

const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = match b as u8 {
            b'a'..=b'z' => LOWER,
            b'A'..=b'Z' => UPPER,
            b'0'..=b'9' => DIGIT,
            b'+' | b'/' => STD,
            b'-' | b'_' => URL,
            _ => 0,
        };
        b += 1;
    }
    t
};

/// A match found under encoding: where the encoded value is in the input, the decoded
/// bytes the match refers to, and the layers undone.
pub struct DecodedMatch {
    /// The encoded value in the input.
    pub span: Range<usize>,
    /// The scanned buffer (context + decoded value) the match's ranges refer to.
    pub buffer: std::sync::Arc<Vec<u8>>,
    pub raw: RawMatch,
    pub encodings: Vec<&'static str>,
}

/// One value to decode and scan.
struct Candidate {
    span: Range<usize>,
    buffer: Vec<u8>,
    /// Where the decoded value starts in `buffer` (before it: the key's context).
    value_start: usize,
    encodings: Vec<&'static str>,
    /// A match already reported this very value (its encoded form) as the secret: what
    /// the decoded value holds, if anything, replaces it.
    replaces: bool,
}

/// What decoding found in one input.
#[derive(Default)]
pub struct Decoded {
    pub matches: Vec<DecodedMatch>,
    /// Secret spans of plain matches that reported an encoded value whose decoded text
    /// holds a credential: the decoded finding replaces them.
    pub superseded: Vec<Range<usize>>,
}

/// Scans the encoded values of `hay` and returns the matches found in their decoded text.
/// A value inside a plain match's secret is left alone, unless the secret is exactly the
/// encoded value (a rule for Kubernetes `data:` or Docker `auth` reports the base64 as it
/// is): then a credential found in it replaces that match.
pub fn scan_decoded(
    engine: &Engine,
    scratch: &mut Scratch,
    path: &str,
    hay: &[u8],
    plain: &[RawMatch],
) -> Decoded {
    let mut layer = Layer {
        engine,
        path,
        budget: hay.len(),
        out: Decoded::default(),
    };
    let taken: Vec<Range<usize>> = plain.iter().map(|m| m.secret.clone()).collect();
    for candidate in candidates(hay, &taken, &mut layer.budget) {
        let span = candidate.span.clone();
        let replaces = candidate.replaces;
        let before = layer.out.matches.len();
        let found = layer.scan(scratch, candidate, &span, 1);
        if replaces && found != Found::Nothing {
            if layer.replaces(found, plain, &span) {
                layer.out.superseded.push(span);
            } else {
                layer.out.matches.truncate(before);
            }
        }
    }
    layer.out
}

/// The best of what one decoded value held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Found {
    Nothing,
    /// Only generic rules (a password by its key name) matched.
    Generic,
    Specific,
}

struct Layer<'e> {
    engine: &'e Engine,
    path: &'e str,
    /// Decoded bytes still allowed for this input.
    budget: usize,
    out: Decoded,
}

impl Layer<'_> {
    /// Whether what was found decoded in a value replaces the matches that reported the
    /// encoded value itself: a specific credential always does; a generic one only replaces
    /// generic matches (a `kubernetes-secret-data` match says more than a password guessed
    /// from the decoded text).
    fn replaces(&self, found: Found, plain: &[RawMatch], value: &Range<usize>) -> bool {
        found == Found::Specific
            || !plain
                .iter()
                .any(|m| m.secret == *value && !self.engine.rule_info(m.rule).generic)
    }

    /// Scans one decoded value, and the values encoded inside it while depth allows, and
    /// says what it found. Matches are located at `span` of the input.
    fn scan(
        &mut self,
        scratch: &mut Scratch,
        candidate: Candidate,
        span: &Range<usize>,
        depth: usize,
    ) -> Found {
        let mut matches = Vec::new();
        self.engine.scan(&candidate.buffer, scratch, &mut matches);
        self.engine.drop_excluded_paths(self.path, &mut matches);
        matches.retain(|m| m.secret.start >= candidate.value_start);
        let mut found_inside = Found::Nothing;
        if depth < MAX_DEPTH {
            let value = &candidate.buffer[candidate.value_start..];
            let shift = candidate.value_start;
            let taken: Vec<Range<usize>> = matches
                .iter()
                .map(|m| m.secret.start - shift..m.secret.end - shift)
                .collect();
            for mut inner in candidates(value, &taken, &mut self.budget) {
                let replaced = inner
                    .replaces
                    .then(|| inner.span.start + shift..inner.span.end + shift);
                let mut encodings = candidate.encodings.clone();
                encodings.append(&mut inner.encodings);
                inner.encodings = encodings;
                let before = self.out.matches.len();
                let found = self.scan(scratch, inner, span, depth + 1);
                if let Some(replaced) = replaced.filter(|_| found != Found::Nothing) {
                    if self.replaces(found, &matches, &replaced) {
                        matches.retain(|m| m.secret != replaced);
                    } else {
                        self.out.matches.truncate(before);
                        continue;
                    }
                }
                found_inside = found_inside.max(found);
            }
        }
        if matches.is_empty() {
            return found_inside;
        }
        let found_here = if matches
            .iter()
            .any(|m| !self.engine.rule_info(m.rule).generic)
        {
            Found::Specific
        } else {
            Found::Generic
        };
        let buffer = std::sync::Arc::new(candidate.buffer);
        for raw in matches {
            self.out.matches.push(DecodedMatch {
                span: span.clone(),
                buffer: buffer.clone(),
                raw,
                encodings: candidate.encodings.clone(),
            });
        }
        found_inside.max(found_here)
    }
}

/// Encoded values of `hay` outside `taken`, decoded, while `budget` (decoded bytes) lasts.
fn candidates(hay: &[u8], taken: &[Range<usize>], budget: &mut usize) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut push = |span: Range<usize>, decoded: Vec<u8>, encoding: &'static str| {
        let replaces = taken.contains(&span);
        let overlaps = taken
            .iter()
            .any(|t| t.start < span.end && span.start < t.end);
        if decoded.len() > *budget || overlaps && !replaces {
            return;
        }
        *budget -= decoded.len();
        let line_start = memchr::memrchr(b'\n', &hay[..span.start]).map_or(0, |i| i + 1);
        let context_start = line_start.max(span.start.saturating_sub(CONTEXT));
        let mut buffer = Vec::with_capacity(span.start - context_start + decoded.len() + 1);
        buffer.extend_from_slice(&hay[context_start..span.start]);
        let value_start = buffer.len();
        buffer.extend_from_slice(&decoded);
        // The closing quote, if any, so `"key": "<value>"` patterns still see their shape.
        if let Some(&q @ (b'"' | b'\'')) = hay.get(span.end) {
            buffer.push(q);
        }
        out.push(Candidate {
            span,
            buffer,
            value_start,
            encodings: vec![encoding],
            replaces,
        });
    };
    base64_values(hay, &mut push);
    percent_values(hay, &mut push);
    escaped_values(hay, &mut push);
    out
}

/// Runs of base64 characters that decode to text.
fn base64_values(hay: &[u8], push: &mut impl FnMut(Range<usize>, Vec<u8>, &'static str)) {
    // The alphabet's bit masks, once for the whole input: finding where a run ends and
    // where the next long one starts both read them, and a run begins every few hundred
    // bytes of code (identifiers), so computing them per search cost the pass twice over.
    let masks: Vec<u64> = (0..hay.len().div_ceil(64))
        .map(|block| alphabet_mask(hay, block * 64))
        .collect();
    let mut at = 0;
    while let Some(start) = next_long_run(&masks, at) {
        let i = run_end(&masks, start);
        at = i;
        let mut end = i;
        while end < hay.len() && end - i < 2 && hay[end] == b'=' {
            end += 1;
        }
        let len = i - start;
        if !(MIN_BASE64..=MAX_BASE64).contains(&len) || len % 4 == 1 {
            continue;
        }
        let seen = run_classes(&hay[start..i]);
        if seen & (LOWER | UPPER) != LOWER | UPPER
            || seen & (DIGIT | STD | URL) == 0 && end == i
            || seen & STD != 0 && seen & URL != 0
        {
            continue;
        }
        let text = &hay[start..i];
        let engine = if seen & URL != 0 {
            &URL_SAFE
        } else {
            &STANDARD
        };
        let Ok(decoded) = engine.decode(text) else {
            continue;
        };
        if is_text(&decoded) {
            push(start..end, decoded, "base64");
        }
    }
}

/// Start of the first run of at least MIN_BASE64 alphabet bytes at or after `from`, where no
/// run crosses `from` (it is 0 or a byte outside the alphabet), given the input's alphabet
/// masks (bit k of `masks[b]`: byte 64b + k is in the alphabet). Text made of short words,
/// most of every input, costs a few operations per 64 bytes and no branch per byte.
fn next_long_run(masks: &[u64], from: usize) -> Option<usize> {
    const _: () = assert!(MIN_BASE64 == 16, "the shifts below find runs of 16");
    let mut block = from / 64;
    // Bits before `from` belong to runs already seen.
    let mut low = masks.get(block)? & (u64::MAX << (from % 64));
    while block < masks.len() {
        let high = masks.get(block + 1).copied().unwrap_or(0);
        let bits = u128::from(low) | u128::from(high) << 64;
        // Bit k survives when bits k to k + 15 are all set.
        let mut long = bits & bits >> 1;
        long &= long >> 2;
        long &= long >> 4;
        long &= long >> 8;
        // A run starting in this block fits in `bits`; one that started before it was
        // found there, so the lowest surviving bit is where a run starts.
        let starts = long as u64;
        if starts != 0 {
            return Some(block * 64 + starts.trailing_zeros() as usize);
        }
        block += 1;
        low = high;
    }
    None
}

/// The end of the run of alphabet bytes that starts at `start`.
fn run_end(masks: &[u64], start: usize) -> usize {
    let mut at = start;
    while let Some(&mask) = masks.get(at / 64) {
        let shift = at % 64;
        let ones = (mask >> shift).trailing_ones() as usize;
        at += ones;
        // Short of the block's end: the run ends in this block.
        if ones < 64 - shift {
            break;
        }
    }
    at
}

/// The classes (LOWER, UPPER, ...) of the bytes of `run`.
fn run_classes(run: &[u8]) -> u8 {
    let mut chunks = run.chunks_exact(16);
    let mut seen = 0;
    for chunk in &mut chunks {
        if let Some(chunk) = chunk.first_chunk::<16>() {
            seen |= chunk_classes(chunk);
        }
    }
    chunks
        .remainder()
        .iter()
        .fold(seen, |seen, &b| seen | CLASS[b as usize])
}

#[cfg(target_arch = "x86_64")]
fn chunk_classes(chunk: &[u8; 16]) -> u8 {
    // SAFETY: SSE2 is part of the x86_64 baseline (see `block_mask`).
    unsafe { chunk_classes_sse2(chunk) }
}

/// The classes of sixteen bytes, one compare per class and one movemask each: the runs
/// worth looking at are a sixth of the input, and a table lookup per byte cost a twentieth
/// of a scan.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn chunk_classes_sse2(chunk: &[u8; 16]) -> u8 {
    use std::arch::x86_64::_mm_movemask_epi8;
    let x = sse2::load(chunk);
    let (std, url) = sse2::std_and_url(x);
    let class = |lanes, class: u8| {
        if _mm_movemask_epi8(lanes) != 0 {
            class
        } else {
            0
        }
    };
    class(sse2::within(x, b'a', b'z'), LOWER)
        | class(sse2::within(x, b'A', b'Z'), UPPER)
        | class(sse2::within(x, b'0', b'9'), DIGIT)
        | class(std, STD)
        | class(url, URL)
}

#[cfg(not(target_arch = "x86_64"))]
fn chunk_classes(chunk: &[u8; 16]) -> u8 {
    chunk.iter().fold(0, |seen, &b| seen | CLASS[b as usize])
}

/// Bit k set when `hay[at + k]` is in the base64 alphabets (past the end: unset).
fn alphabet_mask(hay: &[u8], at: usize) -> u64 {
    let bytes = hay.get(at..).unwrap_or_default();
    if let Some(block) = bytes.first_chunk::<64>() {
        return block_mask(block);
    }
    // The tail, padded with zeros (outside the alphabet).
    let mut block = [0u8; 64];
    block[..bytes.len()].copy_from_slice(bytes);
    block_mask(&block)
}

#[cfg(target_arch = "x86_64")]
fn block_mask(block: &[u8; 64]) -> u64 {
    // SAFETY: SSE2 is part of the x86_64 baseline: every x86_64 CPU has it, so the
    // function's only requirement, the target feature, always holds.
    unsafe { block_mask_sse2(block) }
}

/// Sixteen bytes classified per compare, and one movemask turns them into bits: this pass
/// reads every input byte, and byte-at-a-time it cost a fifth of the whole scan.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn block_mask_sse2(block: &[u8; 64]) -> u64 {
    use std::arch::x86_64::{_mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    let mut mask = 0;
    for (k, sixteen) in block.chunks_exact(16).enumerate() {
        let Some(sixteen) = sixteen.first_chunk::<16>() else {
            continue;
        };
        let x = sse2::load(sixteen);
        // Either case at once: ASCII letters differ from their capitals in bit 0x20.
        let letter = sse2::within(_mm_or_si128(x, _mm_set1_epi8(0x20)), b'a', b'z');
        let digit = sse2::within(x, b'0', b'9');
        let (std, url) = sse2::std_and_url(x);
        let in_set = _mm_or_si128(_mm_or_si128(letter, digit), _mm_or_si128(std, url));
        mask |= u64::from(_mm_movemask_epi8(in_set) as u16) << (16 * k);
    }
    mask
}

/// The SSE2 pieces the alphabet masks and the run classes share.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cmplt_epi8, _mm_or_si128,
        _mm_set_epi64x, _mm_set1_epi8,
    };

    #[inline]
    #[target_feature(enable = "sse2")]
    fn splat(byte: u8) -> __m128i {
        _mm_set1_epi8(byte as i8)
    }

    /// Sixteen bytes as one vector.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn load(sixteen: &[u8; 16]) -> __m128i {
        let (low, high) = sixteen.split_at(8);
        let word = |eight: &[u8]| i64::from_le_bytes(eight.try_into().unwrap_or_default());
        _mm_set_epi64x(word(high), word(low))
    }

    /// The lanes holding a byte from `from` to `to`. Signed compares: bytes from 0x80 up
    /// are negative and fall outside every range.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn within(x: __m128i, from: u8, to: u8) -> __m128i {
        _mm_and_si128(
            _mm_cmpgt_epi8(x, splat(from - 1)),
            _mm_cmplt_epi8(x, splat(to + 1)),
        )
    }

    /// The lanes holding `+` or `/` (the standard alphabet's), and `-` or `_` (the
    /// URL-safe one's).
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn std_and_url(x: __m128i) -> (__m128i, __m128i) {
        // 0x2B '+' and 0x2F '/' differ in one bit.
        let std = _mm_cmpeq_epi8(_mm_and_si128(x, splat(0xFB)), splat(b'+'));
        let url = _mm_or_si128(
            _mm_cmpeq_epi8(x, splat(b'-')),
            _mm_cmpeq_epi8(x, splat(b'_')),
        );
        (std, url)
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn block_mask(block: &[u8; 64]) -> u64 {
    block.iter().enumerate().fold(0, |mask, (k, &b)| {
        mask | u64::from(CLASS[b as usize] != 0) << k
    })
}

/// Tokens holding `%XX` escapes (URLs with encoded user info, encoded query values).
fn percent_values(hay: &[u8], push: &mut impl FnMut(Range<usize>, Vec<u8>, &'static str)) {
    let mut after = 0;
    for at in memchr::memchr_iter(b'%', hay) {
        if at < after || !is_escape(hay, at) {
            continue;
        }
        let boundary =
            |b: u8| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'<' | b'>' | b'`');
        let start = hay[..at]
            .iter()
            .rposition(|&b| boundary(b))
            .map_or(0, |i| i + 1);
        let end = hay[at..]
            .iter()
            .position(|&b| boundary(b))
            .map_or(hay.len(), |i| at + i);
        after = end;
        if end - start > MAX_BASE64 {
            continue;
        }
        let token = &hay[start..end];
        let mut decoded = Vec::with_capacity(token.len());
        let mut j = 0;
        while j < token.len() {
            if is_escape(token, j) {
                decoded.push(hex(token[j + 1]) << 4 | hex(token[j + 2]));
                j += 3;
            } else {
                decoded.push(token[j]);
                j += 1;
            }
        }
        if is_text(&decoded) {
            push(start..end, decoded, "percent");
        }
    }
}

/// JSON strings with `\uXXXX` escapes (`"p\u0040ss"`); `\n` in PEM blocks is read by the
/// rules themselves.
fn escaped_values(hay: &[u8], push: &mut impl FnMut(Range<usize>, Vec<u8>, &'static str)) {
    // A JSON string never spans lines, so each search stays on the line of its `\u`: a
    // file full of unterminated `\u` (a regex literal, minified code) stays linear.
    let mut after = 0;
    for at in memchr::memmem::find_iter(hay, b"\\u") {
        if at < after {
            continue;
        }
        let line_start = memchr::memrchr(b'\n', &hay[after..at]).map_or(after, |i| after + i + 1);
        let line_end = memchr::memchr(b'\n', &hay[at..]).map_or(hay.len(), |i| at + i);
        after = line_end;
        let Some(open) = memchr::memrchr(b'"', &hay[line_start..at]).map(|i| line_start + i) else {
            continue;
        };
        let Some(close) = memchr::memchr_iter(b'"', &hay[at..line_end])
            .map(|k| at + k)
            .find(|&k| hay[k - 1] != b'\\')
        else {
            continue;
        };
        after = close;
        let body = &hay[open + 1..close];
        if body.len() > MAX_BASE64 {
            continue;
        }
        let Ok(text) = serde_json::from_slice::<String>(&hay[open..=close]) else {
            continue;
        };
        push(open + 1..close, text.into_bytes(), "json-escape");
    }
}

fn is_escape(hay: &[u8], at: usize) -> bool {
    hay.get(at) == Some(&b'%')
        && hay.get(at + 1).is_some_and(u8::is_ascii_hexdigit)
        && hay.get(at + 2).is_some_and(u8::is_ascii_hexdigit)
}

fn hex(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// Decoded bytes worth scanning: printable text (UTF-8 allowed), no NUL.
fn is_text(bytes: &[u8]) -> bool {
    if bytes.len() < 6 {
        return false;
    }
    let printable = bytes
        .iter()
        .filter(|&&b| (0x20..0x7f).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r') || b >= 0x80)
        .count();
    !bytes.contains(&0) && printable * 100 >= bytes.len() * 97 && std::str::from_utf8(bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(hay: &[u8]) -> Vec<(String, String, &'static str)> {
        let mut budget = hay.len();
        candidates(hay, &[], &mut budget)
            .into_iter()
            .map(|c| {
                (
                    String::from_utf8_lossy(&hay[c.span.clone()]).into_owned(),
                    String::from_utf8_lossy(&c.buffer).into_owned(),
                    c.encodings[0],
                )
            })
            .collect()
    }

    #[test]
    fn base64_values_are_decoded_with_their_key_as_context() {
        let hay = b"data:\n  password: c3VwZXJTM2NyZXQtcGFzc3dvcmQ=\n";
        let got = found(hay);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "c3VwZXJTM2NyZXQtcGFzc3dvcmQ=");
        assert_eq!(got[0].1, "  password: superS3cret-password");
        assert_eq!(got[0].2, "base64");
    }

    #[test]
    fn words_binary_and_short_runs_are_not_decoded() {
        assert!(found(b"getElementsByTagNameAndSomethingElse").is_empty());
        assert!(found(b"x = aGVsbG8=").is_empty(), "too short");
        // Random bytes, not text.
        assert!(found(b"blob: 3q2+7wAAAAAAAP8AAQIDBAUGBwgJCgsMDQ4PEBESExQV").is_empty());
        assert!(found(b"path: src/main/java/com/Example/Thing.java").is_empty());
    }

    #[test]
    fn percent_and_json_escapes() {
        let got = found(b"url = \"postgres://app:p%40ss%21w0rd-2026@db:5432/app\"");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].2, "percent");
        assert!(
            got[0]
                .1
                .ends_with("postgres://app:p@ss!w0rd-2026@db:5432/app\"")
        );
        let got = found(br#"{"password": "hunter\u00402026secret"}"#);
        assert_eq!(got[0].2, "json-escape");
        assert!(got[0].1.ends_with("hunter@2026secret\""));
    }

    #[test]
    fn runs_are_found_at_every_offset_and_length() {
        // The candidate pass skips ahead MIN_BASE64 bytes at a time; every placement of a
        // value among short words and separators must still be seen.
        let value = "c3VwZXJTM2NyZXQtcGFzc3dvcmQ=";
        for pad in 0..40 {
            for filler in ["ab cd ", "x", "abcdefghijklmno ", ""] {
                let hay = format!("{}{filler}k: {value} tail", "w ".repeat(pad));
                let got = found(hay.as_bytes());
                assert_eq!(got.len(), 1, "{hay:?}");
                assert_eq!(got[0].0, value);
            }
        }
        assert_eq!(found(value.as_bytes()).len(), 1, "the whole input");
        // 15 characters never qualify, whatever surrounds them.
        assert!(found(b"k: c3VwZXJTM2NyZXQ k: c3VwZXJTM2NyZXQ").is_empty());
    }

    #[test]
    fn block_masks_agree_with_the_class_table() {
        let all: Vec<u8> = (0..=255).collect();
        for block in all.chunks_exact(64) {
            let mask = block_mask(block.try_into().unwrap());
            for (k, &b) in block.iter().enumerate() {
                assert_eq!(mask >> k & 1 == 1, CLASS[b as usize] != 0, "{b:#x}");
            }
        }
        // The tail of an input is padded with bytes outside the alphabet.
        assert_eq!(alphabet_mask(b"xx ab", 0), 0b11011);
        assert_eq!(alphabet_mask(b"xx ab", 9), 0);
    }

    #[test]
    fn runs_are_measured_across_blocks_and_classed_like_the_table() {
        let mut hay = Vec::new();
        let mut n = 7u64;
        while hay.len() < 5000 {
            n = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (n >> 40) as usize % 150;
            let byte = |k: usize| b"aZ9+/-_.x \n\x80"[(n >> (k % 40)) as usize % 12];
            hay.extend((0..len).map(|k| if k % 37 == 36 { byte(k) } else { b"aB3"[k % 3] }));
            hay.push(byte(len));
        }
        let masks: Vec<u64> = (0..hay.len().div_ceil(64))
            .map(|block| alphabet_mask(&hay, block * 64))
            .collect();
        for start in 0..hay.len() {
            let end = hay[start..]
                .iter()
                .position(|&b| CLASS[b as usize] == 0)
                .map_or(hay.len(), |k| start + k);
            assert_eq!(run_end(&masks, start), end, "at {start}");
            for len in [0, 5, 16, 17, 40] {
                let run = &hay[start..(start + len).min(hay.len())];
                let want = run.iter().fold(0, |seen, &b| seen | CLASS[b as usize]);
                assert_eq!(run_classes(run), want);
            }
        }
    }

    #[test]
    fn unterminated_escapes_do_not_hide_later_strings() {
        let mut hay = "re = /\\u[0-9a-f]{4}/ \\u00 \\u1\n".repeat(1000);
        hay.push_str(r#"{"password": "hunter\u00402026secret"}"#);
        let got = found(hay.as_bytes());
        assert_eq!(got.len(), 1);
        assert!(got[0].1.ends_with("hunter@2026secret\""));
    }

    #[test]
    fn the_budget_bounds_decoded_bytes() {
        let value = "c3VwZXJTM2NyZXQtcGFzc3dvcmQ=";
        let hay = format!("a: {value}\nb: {value}\n");
        let mut budget = 25;
        assert_eq!(candidates(hay.as_bytes(), &[], &mut budget).len(), 1);
    }
}
