//! The keyword prefilter: every occurrence of every rule keyword in an input, in any ASCII
//! case, in one pass.
//!
//! With the full catalog there are over 1,600 distinct keywords. An Aho-Corasick DFA over
//! them is a table of several megabytes; walking it is bound by one dependent table load
//! per byte that often misses the cache (~550 MB/s on the benchmark corpus, half of a
//! scan's time). Instead each keyword is anchored on four of its bytes, the rarest by a
//! table of the four-byte sequences common in source text (`common-quadgrams.txt`), and
//! every position of the input is tested against one bit of a 64 KiB table: the bucket by a
//! hash of the three bytes that start there, folded to lower case, the bit by the fourth (a
//! 3-byte keyword fills its bucket). Positions do not depend on each other, so the
//! processor overlaps their loads, and with AVX2 eight are tested per gather. Only a
//! position whose bit is set (about one in a hundred on source text, most of them a
//! keyword's anchor) is checked against the keywords anchored there.

use std::collections::{HashMap, HashSet};

/// One keyword occurrence: its start in the input and the keyword's index.
pub type Hit = (usize, u32);

/// Bits of the hash of an anchor's first three bytes: 8,192 buckets of 64 bits, 64 KiB.
const BUCKET_BITS: u32 = 13;
const BUCKETS: usize = 1 << BUCKET_BITS;

/// Case folding for the filter: ASCII upper case becomes lower case (a few punctuation bytes
/// collide too, which the exact check after the filter sorts out).
const FOLD: u32 = 0x2020_2020;
/// The bytes of a folded word that a 3-byte keyword covers.
const THREE_BYTES: u32 = 0x00FF_FFFF;

/// Four-byte sequences of source text, most frequent first (see the file's header).
const COMMON_QUADGRAMS: &str = include_str!("common-quadgrams.txt");

/// A keyword in a bucket: its folded anchor bytes and which of them count (a 3-byte keyword
/// has no fourth), so that a position whose bytes merely hash alike is turned away without
/// touching the keyword, and where in the keyword the anchor starts.
#[derive(Clone, Copy)]
struct Member {
    anchor: u32,
    mask: u32,
    offset: u32,
    id: u32,
}

pub(super) struct Keywords {
    /// Lower-case keywords, indexed by pattern number.
    patterns: Vec<Box<[u8]>>,
    /// The filter: bucket `hash3(first three bytes)`, bit `fourth byte % 64`. A 3-byte
    /// keyword sets all 64 bits of its bucket, as any byte may follow it.
    buckets: Box<[u64; BUCKETS]>,
    /// Of the bucket hash, chosen for these keywords (`quietest_multiplier`).
    multiplier: u32,
    /// The keywords of bucket `b` are `members[starts[b]..starts[b + 1]]`.
    starts: Box<[u32]>,
    /// In order of bucket, then pattern.
    members: Box<[Member]>,
    /// Whether the processor has AVX2, for `find_avx2`.
    avx2: bool,
}

impl Keywords {
    /// A prefilter over `patterns` (lower case; matched in any ASCII case). Rule files
    /// refuse keywords under three bytes (`MIN_KEYWORD_LEN`), so one here is an error.
    pub(super) fn new(patterns: &[Vec<u8>]) -> Result<Keywords, String> {
        let common = common_quadgrams();
        let mut members = Vec::with_capacity(patterns.len());
        for (id, pattern) in patterns.iter().enumerate() {
            let id = id as u32;
            let offset = rarest_anchor(pattern, &common);
            members.push(
                match (pattern.get(offset..offset + 4), pattern.as_slice()) {
                    (Some(&[a, b, c, d]), _) => {
                        let anchor = word([a, b, c, d]);
                        let (mask, offset) = (u32::MAX, offset as u32);
                        Member {
                            anchor,
                            mask,
                            offset,
                            id,
                        }
                    }
                    (_, &[a, b, c]) => {
                        let anchor = word([a, b, c, 0]) & THREE_BYTES;
                        let (mask, offset) = (THREE_BYTES, 0);
                        Member {
                            anchor,
                            mask,
                            offset,
                            id,
                        }
                    }
                    _ => {
                        let shown = String::from_utf8_lossy(pattern);
                        return Err(format!("keyword '{shown}' is shorter than 3 bytes"));
                    }
                },
            );
        }
        let multiplier = quietest_multiplier(&members, &common);
        let mut buckets = Box::new([0u64; BUCKETS]);
        fill(&mut buckets, &members, multiplier);
        let mut members: Vec<(usize, Member)> = members
            .into_iter()
            .map(|member| (bucket(member.anchor, multiplier), member))
            .collect();
        members.sort_unstable_by_key(|&(bucket, member)| (bucket, member.id));
        let mut starts = vec![0u32; BUCKETS + 1];
        for &(bucket, _) in &members {
            starts[bucket + 1] += 1;
        }
        for bucket in 1..starts.len() {
            starts[bucket] += starts[bucket - 1];
        }
        Ok(Keywords {
            patterns: patterns
                .iter()
                .map(|p| p.clone().into_boxed_slice())
                .collect(),
            buckets,
            multiplier,
            starts: starts.into_boxed_slice(),
            members: members.into_iter().map(|(_, member)| member).collect(),
            avx2: avx2(),
        })
    }

    /// Appends every occurrence of every keyword in `hay` to `out`, sorted by start.
    pub(super) fn find_all(&self, hay: &[u8], out: &mut Vec<Hit>) {
        let first = out.len();
        let mut at = 0;
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is set only when the processor has AVX2 (see `new`).
            at = unsafe { self.find_avx2(hay, out) };
        }
        // Four positions per step from one 8-byte load, with one branch for all four: the
        // filter passes about one position in a hundred, so the branch is nearly always
        // not taken.
        while let Some(eight) = hay.get(at..at + 8).and_then(|b| b.first_chunk::<8>()) {
            let folded = u64::from_le_bytes(*eight) | u64::from(FOLD) << 32 | u64::from(FOLD);
            let mut passed = 0;
            for k in 0..4 {
                passed |= self.passes((folded >> (8 * k)) as u32) << k;
            }
            while passed != 0 {
                let k = passed.trailing_zeros() as usize;
                passed &= passed - 1;
                self.confirm(hay, at + k, (folded >> (8 * k)) as u32, out);
            }
            at += 4;
        }
        while at < hay.len() {
            let mut bytes = [0u8; 4];
            let rest = &hay[at..];
            let len = rest.len().min(4);
            bytes[..len].copy_from_slice(&rest[..len]);
            // Past the end there is no byte to fold or filter on; only 3-byte keywords can
            // start at the last three positions, and the exact check ignores the fourth byte.
            let word = word(bytes);
            if len < 4 || self.passes(word) != 0 {
                self.confirm(hay, at, word, out);
            }
            at += 1;
        }
        // An anchor is not always a keyword's first bytes, so hits come out of order.
        out[first..].sort_unstable();
    }

    /// The filter on eight positions at a time: their words by one shuffle of sixteen
    /// bytes, the eight hashes by one multiply, the eight bits by one gather from the
    /// bucket table (seen as 32-bit halves). Returns where it stopped (the last positions,
    /// whose bytes would run past the end, are left to the caller). On the benchmark corpus
    /// it took a single-thread scan from 1.42 to 1.30 s; the gathers' latency, not the
    /// arithmetic, is what remains.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn find_avx2(&self, hay: &[u8], out: &mut Vec<Hit>) -> usize {
        use std::arch::x86_64::{
            __m128i, _mm_loadu_si128, _mm256_add_epi32, _mm256_and_si256,
            _mm256_broadcastsi128_si256, _mm256_castsi256_ps, _mm256_i32gather_epi32,
            _mm256_movemask_ps, _mm256_mullo_epi32, _mm256_or_si256, _mm256_set1_epi32,
            _mm256_setr_epi8, _mm256_shuffle_epi8, _mm256_slli_epi32, _mm256_sllv_epi32,
            _mm256_srli_epi32, _mm256_sub_epi32,
        };
        const HASH_SHIFT: i32 = 32 - BUCKET_BITS as i32;
        // Lane k (of eight) holds the bytes k..k + 4; each 128-bit half shuffles its own copy.
        #[rustfmt::skip]
        let spread = _mm256_setr_epi8(
            0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6,
            4, 5, 6, 7, 5, 6, 7, 8, 6, 7, 8, 9, 7, 8, 9, 10,
        );
        let splat = |value: u32| _mm256_set1_epi32(value as i32);
        let (fold, three, multiplier) = (splat(FOLD), splat(THREE_BYTES), splat(self.multiplier));
        let (low6, low5) = (splat(63), splat(31));
        let halves = self.buckets.as_ptr().cast::<i32>();
        // The filter bits of the eight positions at the start of `sixteen`.
        let filter = |sixteen: &[u8]| -> u32 {
            let Some(sixteen) = sixteen.first_chunk::<16>() else {
                return 0;
            };
            // SAFETY: `sixteen` is 16 readable bytes; the load needs no alignment.
            let bytes = unsafe { _mm_loadu_si128(sixteen.as_ptr().cast::<__m128i>()) };
            let spread = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(bytes), spread);
            let words = _mm256_or_si256(spread, fold);
            let product = _mm256_mullo_epi32(_mm256_and_si256(words, three), multiplier);
            let bucket = _mm256_srli_epi32::<HASH_SHIFT>(product);
            let bit = _mm256_and_si256(_mm256_srli_epi32::<24>(words), low6);
            let half =
                _mm256_add_epi32(_mm256_slli_epi32::<1>(bucket), _mm256_srli_epi32::<5>(bit));
            // SAFETY: `half` < 2 * BUCKETS: the bucket is a hash shifted down to
            // BUCKET_BITS bits, and bit / 32 is 0 or 1; `halves` has 2 * BUCKETS entries.
            let gathered = unsafe { _mm256_i32gather_epi32::<4>(halves, half) };
            // The wanted bit to the sign, which movemask collects.
            let to_sign = _mm256_sub_epi32(low5, _mm256_and_si256(bit, low5));
            let signs = _mm256_castsi256_ps(_mm256_sllv_epi32(gathered, to_sign));
            _mm256_movemask_ps(signs) as u32
        };
        let mut at = 0;
        // Thirty-two positions per branch: four gathers in flight at once.
        while let Some(chunk) = hay.get(at..at + 40) {
            let mut passed = filter(&chunk[..16])
                | filter(&chunk[8..24]) << 8
                | filter(&chunk[16..32]) << 16
                | filter(&chunk[24..40]) << 24;
            while passed != 0 {
                let k = passed.trailing_zeros() as usize;
                passed &= passed - 1;
                if let Some(&[a, b, c, d]) = chunk.get(k..k + 4) {
                    self.confirm(hay, at + k, word([a, b, c, d]), out);
                }
            }
            at += 32;
        }
        at
    }

    /// 1 when the filter lets the folded bytes of a position through, else 0 (no branch:
    /// the caller ors the answers for several positions and branches once).
    #[inline(always)]
    fn passes(&self, word: u32) -> u32 {
        (self.buckets[bucket(word, self.multiplier)] >> ((word >> 24) % 64)) as u32 & 1
    }

    /// Records the keywords whose anchor is really at `at`, given the folded bytes there.
    /// Kept out of line, so that the loop that calls it keeps its state in registers.
    #[inline(never)]
    fn confirm(&self, hay: &[u8], at: usize, word: u32, out: &mut Vec<Hit>) {
        let bucket = bucket(word, self.multiplier);
        let (from, to) = (self.starts[bucket], self.starts[bucket + 1]);
        let members = self
            .members
            .get(from as usize..to as usize)
            .unwrap_or_default();
        for member in members.iter().filter(|m| word & m.mask == m.anchor) {
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

/// Each common four-byte sequence (lower case) with its rank, most frequent 0.
fn common_quadgrams() -> HashMap<[u8; 4], usize> {
    COMMON_QUADGRAMS
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let byte = |i: usize| u8::from_str_radix(line.get(i..i + 2)?, 16).ok();
            Some([byte(0)?, byte(2)?, byte(4)?, byte(6)?])
        })
        .enumerate()
        .map(|(rank, gram)| (gram, rank))
        .collect()
}

/// Where in `keyword` its anchor starts: the four bytes least common by the table (one
/// not in it is rarer than any that is), the first such on a tie; 0 for a keyword of three
/// bytes. The filter then stops at the keyword's rare part, not at a part that ordinary
/// words share (`onfi` of `iconfinder`, which every `config` holds).
fn rarest_anchor(keyword: &[u8], common: &HashMap<[u8; 4], usize>) -> usize {
    let mut best = (0, 0);
    for (offset, gram) in keyword.windows(4).enumerate() {
        let gram = [gram[0], gram[1], gram[2], gram[3]].map(|byte| byte.to_ascii_lowercase());
        let rarity = common.get(&gram).map_or(usize::MAX, |rank| rank + 1);
        if rarity > best.0 {
            best = (rarity, offset);
        }
    }
    best.1
}

#[inline(always)]
fn word(bytes: [u8; 4]) -> u32 {
    u32::from_le_bytes(bytes) | FOLD
}

#[cfg(target_arch = "x86_64")]
fn avx2() -> bool {
    is_x86_feature_detected!("avx2")
}

#[cfg(not(target_arch = "x86_64"))]
fn avx2() -> bool {
    false
}

/// The bucket of a position: a hash of its first three folded bytes (multiplicative
/// hashing: the top bits of the product depend on every input byte).
#[inline(always)]
fn bucket(word: u32, multiplier: u32) -> usize {
    ((word & THREE_BYTES).wrapping_mul(multiplier) >> (32 - BUCKET_BITS)) as usize
}

/// Sets the filter bits of `members`.
fn fill(buckets: &mut [u64; BUCKETS], members: &[Member], multiplier: u32) {
    for member in members {
        buckets[bucket(member.anchor, multiplier)] |= if member.mask == u32::MAX {
            1 << ((member.anchor >> 24) % 64)
        } else {
            u64::MAX
        };
    }
}

/// The hash multiplier, of a fixed few, under which the fewest common sequences of source
/// text pass the filter without being a keyword's anchor, weighing each by its frequency
/// (rank r counts 1/(r + 1)). A 3-byte keyword fills a whole bucket, so one common
/// three-byte sequence hashed beside it lets a position in a few hundred through; which
/// ones collide depends on the multiplier, and the choice is made once per rule set.
fn quietest_multiplier(members: &[Member], common: &HashMap<[u8; 4], usize>) -> u32 {
    let anchors: HashSet<u32> = members.iter().map(|m| m.anchor).collect();
    let mut ranked: Vec<(usize, u32)> = common
        .iter()
        .map(|(&gram, &rank)| (rank, word(gram)))
        .filter(|&(_, word)| !anchors.contains(&word) && !anchors.contains(&(word & THREE_BYTES)))
        .collect();
    // In order of rank, so that the sums, and the choice, are the same on every run.
    ranked.sort_unstable();
    let probes: Vec<(u32, f64)> = ranked
        .into_iter()
        .map(|(rank, word)| (word, 1.0 / (rank as f64 + 1.0)))
        .collect();
    let mut buckets = Box::new([0u64; BUCKETS]);
    let mut state: u32 = 0x9E37_79B1;
    let mut best = (f64::MAX, state);
    for _ in 0..24 {
        buckets.fill(0);
        fill(&mut buckets, members, state);
        let noise: f64 = probes
            .iter()
            .filter(|&&(word, _)| buckets[bucket(word, state)] >> ((word >> 24) % 64) & 1 != 0)
            .map(|&(_, weight)| weight)
            .sum();
        if noise < best.0 {
            best = (noise, state);
        }
        // The next odd multiplier (a step of a 32-bit LCG).
        state = state.wrapping_mul(0x0019_660D).wrapping_add(0x3C6E_F35F) | 1;
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every hit, checked to be the same with and without the AVX2 loop.
    fn hits(patterns: &[&str], hay: &[u8]) -> Vec<Hit> {
        let patterns: Vec<Vec<u8>> = patterns.iter().map(|p| p.as_bytes().to_vec()).collect();
        let mut keywords = Keywords::new(&patterns).unwrap();
        let mut out = Vec::new();
        keywords.find_all(hay, &mut out);
        keywords.avx2 = false;
        let mut scalar = Vec::new();
        keywords.find_all(hay, &mut scalar);
        assert_eq!(out, scalar, "the AVX2 and scalar loops agree");
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
        let common = common_quadgrams();
        assert!(common.len() > 10_000, "the table parses");
        // `conf` and `onfi` are in every `config`; `nfin` is rare.
        assert_eq!(rarest_anchor(b"iconfinder", &common), 3);
    }
}
