//! The keyword prefilter: every occurrence of every rule keyword in an input, in any ASCII
//! case, in one pass.
//!
//! With the full catalog there are over 1,600 distinct keywords. An Aho-Corasick DFA over
//! them is a table of several megabytes; walking it is bound by one dependent table load
//! per byte that often misses the cache (~550 MB/s on the benchmark corpus, half of a
//! scan's time). Instead each keyword is anchored on four of its bytes, the rarest by a
//! table of the three-byte sequences common in source text (`common-trigrams.txt`), and
//! every position of the input is tested against a bit filter of 32 KiB, which stays in
//! the L1 cache, indexed by a hash of the four bytes that start there, folded to lower
//! case; 3-byte keywords get a small filter of their own. Positions do not depend on each
//! other, so the processor overlaps their loads. Only a position whose bit is set (one or
//! two in a hundred on source text) is checked against the keywords anchored there.

use std::collections::HashMap;

/// One keyword occurrence: its start in the input and the keyword's index.
pub type Hit = (usize, u32);

/// Bits of the hash of four bytes; with ~1,400 anchors, ~0.5 % of slots are set.
const FOUR_BITS: u32 = 18;
const FOUR_SLOTS: usize = 1 << FOUR_BITS;
/// Bits of the hash of three bytes, for the few dozen 3-byte keywords.
const THREE_BITS: u32 = 12;
const THREE_SLOTS: usize = 1 << THREE_BITS;

/// Case folding for the filter: ASCII upper case becomes lower case (a few punctuation bytes
/// collide too, which the exact check after the filter sorts out).
const FOLD: u32 = 0x2020_2020;

/// Three-byte sequences of source text, most frequent first (see the file's header).
const COMMON_TRIGRAMS: &str = include_str!("common-trigrams.txt");

/// A keyword in a filter slot, and where in it its anchor starts.
#[derive(Clone, Copy)]
struct Member {
    id: u32,
    offset: u32,
}

pub(super) struct Keywords {
    /// Lower-case keywords, indexed by pattern number.
    patterns: Vec<Box<[u8]>>,
    /// One bit per slot: the anchor of some keyword of four bytes or more hashes to it.
    four: Box<[u64; FOUR_SLOTS / 64]>,
    /// One bit per slot: some 3-byte keyword hashes to it.
    three: Box<[u64; THREE_SLOTS / 64]>,
    /// The keywords of slot `s` are `members[slots[s]..slots[s + 1]]`, in pattern order;
    /// the slots of 3-byte keywords follow those of the others.
    slots: Box<[u32]>,
    members: Box<[Member]>,
}

impl Keywords {
    /// A prefilter over `patterns` (lower case; matched in any ASCII case). Rule files
    /// refuse keywords under three bytes (`MIN_KEYWORD_LEN`), so one here is an error.
    pub(super) fn new(patterns: &[Vec<u8>]) -> Result<Keywords, String> {
        let common = common_trigrams();
        let mut four = Box::new([0u64; FOUR_SLOTS / 64]);
        let mut three = Box::new([0u64; THREE_SLOTS / 64]);
        let mut members: Vec<(usize, Member)> = Vec::new();
        for (id, pattern) in patterns.iter().enumerate() {
            let id = id as u32;
            let offset = rarest_anchor(pattern, &common);
            let slot = match (pattern.get(offset..offset + 4), pattern.as_slice()) {
                (Some(&[a, b, c, d]), _) => {
                    let slot = hash4(word([a, b, c, d]));
                    set(&mut four[..], slot);
                    slot
                }
                (_, &[a, b, c]) => {
                    let slot = hash3(word([a, b, c, 0]));
                    set(&mut three[..], slot);
                    FOUR_SLOTS + slot
                }
                _ => {
                    let shown = String::from_utf8_lossy(pattern);
                    return Err(format!("keyword '{shown}' is shorter than 3 bytes"));
                }
            };
            let offset = offset as u32;
            members.push((slot, Member { id, offset }));
        }
        members.sort_unstable_by_key(|&(slot, member)| (slot, member.id));
        let mut slots = vec![0u32; FOUR_SLOTS + THREE_SLOTS + 1].into_boxed_slice();
        for &(slot, _) in &members {
            slots[slot + 1] += 1;
        }
        for slot in 1..slots.len() {
            slots[slot] += slots[slot - 1];
        }
        Ok(Keywords {
            patterns: patterns
                .iter()
                .map(|p| p.clone().into_boxed_slice())
                .collect(),
            four,
            three,
            slots,
            members: members.into_iter().map(|(_, member)| member).collect(),
        })
    }

    /// Appends every occurrence of every keyword in `hay` to `out`, sorted by start.
    pub(super) fn find_all(&self, hay: &[u8], out: &mut Vec<Hit>) {
        let first = out.len();
        let (four, three) = (&self.four[..], &self.three[..]);
        for (at, bytes) in hay.windows(4).enumerate() {
            let &[a, b, c, d] = bytes else { continue };
            let word = word([a, b, c, d]);
            let (slot4, slot3) = (hash4(word), hash3(word));
            if is_set(four, slot4) | is_set(three, slot3) {
                self.confirm(hay, at, slot4, out);
                self.confirm(hay, at, FOUR_SLOTS + slot3, out);
            }
        }
        // The last three positions have no four bytes; only 3-byte keywords can start there.
        for at in hay.len().saturating_sub(3)..hay.len() {
            if let [a, b, c] = hay[at..] {
                let slot3 = hash3(word([a, b, c, 0]));
                if is_set(three, slot3) {
                    self.confirm(hay, at, FOUR_SLOTS + slot3, out);
                }
            }
        }
        // An anchor is not always a keyword's first bytes, so hits come out of order.
        out[first..].sort_unstable();
    }

    /// Records the keywords of `slot` whose anchor is really at `at`. Kept out of line, so
    /// that the loop that calls it keeps its state in registers.
    #[inline(never)]
    fn confirm(&self, hay: &[u8], at: usize, slot: usize, out: &mut Vec<Hit>) {
        let members = &self.members[self.slots[slot] as usize..self.slots[slot + 1] as usize];
        for member in members {
            let Some(start) = at.checked_sub(member.offset as usize) else {
                continue;
            };
            let pattern = &self.patterns[member.id as usize];
            let found = hay.get(start..start + pattern.len());
            if found.is_some_and(|found| found.eq_ignore_ascii_case(pattern)) {
                out.push((start, member.id));
            }
        }
    }
}

/// Each common three-byte sequence (lower case) with its rank, most frequent 0.
fn common_trigrams() -> HashMap<[u8; 3], usize> {
    COMMON_TRIGRAMS
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let byte = |i: usize| u8::from_str_radix(line.get(i..i + 2)?, 16).ok();
            Some([byte(0)?, byte(2)?, byte(4)?])
        })
        .enumerate()
        .map(|(rank, gram)| (gram, rank))
        .collect()
}

/// Where in `keyword` its anchor starts: the four bytes whose commoner half (of their two
/// three-byte sequences) is least common by the table, the first such on a tie; 0 for a
/// keyword of three bytes or fewer. The filter then stops at the keyword's rare part, not
/// at a prefix that many words share (`docu` of `docusign`).
fn rarest_anchor(keyword: &[u8], common: &HashMap<[u8; 3], usize>) -> usize {
    let rarity = |at: usize| -> usize {
        let Some(&[a, b, c]) = keyword.get(at..at + 3) else {
            return usize::MAX;
        };
        let gram = [a, b, c].map(|byte| byte.to_ascii_lowercase());
        common.get(&gram).map_or(usize::MAX, |rank| rank + 1)
    };
    let mut best = (0, 0);
    for offset in 0..keyword.len().saturating_sub(3) {
        let score = rarity(offset).min(rarity(offset + 1));
        if score > best.0 {
            best = (score, offset);
        }
    }
    best.1
}

fn set(bits: &mut [u64], slot: usize) {
    bits[slot / 64] |= 1 << (slot % 64);
}

#[inline(always)]
fn is_set(bits: &[u64], slot: usize) -> bool {
    bits.get(slot / 64)
        .is_some_and(|word| word & (1 << (slot % 64)) != 0)
}

#[inline(always)]
fn word(bytes: [u8; 4]) -> u32 {
    u32::from_le_bytes(bytes) | FOLD
}

/// The slot of four folded bytes (multiplicative hashing: the top bits of the product
/// depend on every input byte).
#[inline(always)]
fn hash4(word: u32) -> usize {
    (word.wrapping_mul(0x9E37_79B1) >> (32 - FOUR_BITS)) as usize
}

/// The slot of the first three of four folded bytes.
#[inline(always)]
fn hash3(word: u32) -> usize {
    ((word & 0x00FF_FFFF).wrapping_mul(0x85EB_CA6B) >> (32 - THREE_BITS)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(patterns: &[&str], hay: &[u8]) -> Vec<Hit> {
        let patterns: Vec<Vec<u8>> = patterns.iter().map(|p| p.as_bytes().to_vec()).collect();
        let keywords = Keywords::new(&patterns).unwrap();
        let mut out = Vec::new();
        keywords.find_all(hay, &mut out);
        out
    }

    /// Every occurrence by brute force, for comparison.
    fn naive(patterns: &[&str], hay: &[u8]) -> Vec<Hit> {
        let mut out = Vec::new();
        for start in 0..hay.len() {
            for (i, p) in patterns.iter().enumerate() {
                let p = p.as_bytes();
                if hay.len() - start >= p.len()
                    && hay[start..start + p.len()].eq_ignore_ascii_case(p)
                {
                    out.push((start, i as u32));
                }
            }
        }
        out.sort_unstable();
        out
    }

    #[test]
    fn every_occurrence_in_any_case_once() {
        let patterns = [
            "secret",
            "client_secret",
            "token",
            "ghp_",
            "ken",
            "sk_live_",
            "$1$",
            "docusign",
        ];
        let mut hay = Vec::new();
        let mut n = 0u64;
        while hay.len() < 40_000 {
            n = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let word = [
                "x",
                "Client_Secret",
                "TOKENs",
                "ghp_",
                "sk_live_",
                "abc ",
                "\n",
                "$1$",
                "oK",
                "DocuSign",
            ][(n >> 33) as usize % 10];
            hay.extend_from_slice(word.as_bytes());
        }
        let want = naive(&patterns, &hay);
        assert!(want.len() > 1000);
        assert_eq!(hits(&patterns, &hay), want);
        // Keywords at the very start and end, and inputs shorter than an anchor.
        for edge in ["ken", "$1$", "ok", "_", "token", "x", "docusign", ""] {
            for text in [
                format!("abc {edge}"),
                format!("{edge} abc"),
                edge.to_string(),
            ] {
                let text = text.as_bytes();
                assert_eq!(hits(&patterns, text), naive(&patterns, text), "{edge}");
            }
        }
    }

    #[test]
    fn keywords_under_three_bytes_are_refused() {
        assert!(Keywords::new(&[b"ok".to_vec()]).is_err());
    }

    #[test]
    fn bytes_that_fold_together_are_told_apart() {
        // `_` and DEL fold to the same filter byte; the exact check keeps them apart.
        assert_eq!(hits(&["a_b1"], b"a\x7fb1 A_B1"), vec![(5, 0)]);
    }

    #[test]
    fn anchors_avoid_common_prefixes() {
        let common = common_trigrams();
        assert!(common.len() > 1000, "the table parses");
        // `doc` starts thousands of words; `usi` or `sig` far fewer.
        assert_ne!(rarest_anchor(b"docusign", &common), 0);
    }
}
