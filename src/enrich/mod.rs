//! Facts derived from a raw match: fingerprint, redaction, identifiers, and the line and
//! column of each location (computed only for matches, never for whole files).

pub mod allow;
pub mod decode;
pub mod scanner_files;
pub mod structure;

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use crate::engine::{Engine, RawMatch, RuleIdx};
use crate::finding::{Finding, Fingerprint, Location, Secret, SourceKind};
use crate::lifecycle;

/// At most this many leading characters of a secret are shown in reports.
const REDACT_MAX_SHOWN: usize = 4;

/// The secret's first characters (at most 4, and at most a quarter of it, so a short
/// password shows next to nothing) followed by `…`. Trailing characters are never shown:
/// in checksummed tokens they leak 32 bits.
pub fn redact(secret: &[u8]) -> String {
    let text = String::from_utf8_lossy(secret);
    let count = text.chars().count();
    let shown = REDACT_MAX_SHOWN.min(count / 4);
    let mut out: String = text.chars().take(shown).collect();
    out.push('…');
    out
}

/// Converts byte offsets of one input to 1-based lines and character columns. Offsets must
/// come in increasing order: each call continues where the last stopped, so all matches of
/// a file, even many on one minified line, cost one pass over it.
struct LineCursor<'a> {
    hay: &'a [u8],
    offset: usize,
    line: usize,
    /// Character column at `offset`.
    column: usize,
}

impl<'a> LineCursor<'a> {
    fn new(hay: &'a [u8]) -> Self {
        LineCursor {
            hay,
            offset: 0,
            line: 1,
            column: 1,
        }
    }

    fn advance_to(&mut self, offset: usize) -> (usize, usize) {
        let offset = offset.clamp(self.offset, self.hay.len());
        let span = &self.hay[self.offset..offset];
        let from = match memchr::memrchr(b'\n', span) {
            Some(last) => {
                self.line += memchr::memchr_iter(b'\n', span).count();
                self.column = 1;
                last + 1
            }
            None => 0,
        };
        // Count characters, not bytes: UTF-8 continuation bytes do not start a character.
        self.column += span[from..].iter().filter(|&&b| (b as i8) >= -0x40).count();
        self.offset = offset;
        (self.line, self.column)
    }
}

/// The 1-based line and character column of one offset (for a few offsets; many go through
/// [`Positions`] in one pass).
pub fn position(hay: &[u8], offset: usize) -> (usize, usize) {
    LineCursor::new(hay).advance_to(offset)
}

/// Line and column of a set of offsets, computed in one pass.
struct Positions {
    offsets: Vec<usize>,
    positions: Vec<(usize, usize)>,
}

impl Positions {
    fn new(hay: &[u8], mut offsets: Vec<usize>) -> Positions {
        offsets.sort_unstable();
        offsets.dedup();
        let mut cursor = LineCursor::new(hay);
        let positions = offsets.iter().map(|&o| cursor.advance_to(o)).collect();
        Positions { offsets, positions }
    }

    fn of(&self, offset: usize) -> (usize, usize) {
        self.offsets
            .binary_search(&offset)
            .map_or((1, 1), |i| self.positions[i])
    }
}

/// A match ready to become part of a finding: where it is shown in the input, the secret's
/// bytes and what the rule captured around it.
struct Hit<'b> {
    /// Shown at: the secret itself, or the encoded value it was decoded from.
    at: Range<usize>,
    secret: &'b [u8],
    rule: RuleIdx,
    identifiers: Vec<(&'b str, &'b [u8])>,
    decoded: Vec<&'static str>,
}

/// Turns the plain and decoded matches of one input into findings (one per distinct secret),
/// and says how the input counts among configuration files for the run's summary (read as
/// structure, or malformed and scanned as text). In a configuration file each location gets
/// its `key_path`, each finding the identifiers beside it, and the matches of
/// `config-secret-value` stand only where the structure confirms them
/// ([`structure::View`]); other files, and inputs that are not `whole` (a chunk of a large
/// file), are scanned as text. The structure is read only for inputs with matches, once.
pub fn findings_for_input(
    engine: &Engine,
    path: &str,
    hay: &[u8],
    matches: &mut [RawMatch],
    decoded: &[decode::DecodedMatch],
    whole: bool,
) -> (Vec<Finding>, structure::ConfigCounts) {
    if matches.is_empty() && decoded.is_empty() {
        return (Vec::new(), structure::ConfigCounts::default());
    }
    matches.sort_by_key(|m| (m.secret.start, m.rule));
    let view = if whole {
        structure::View::new(path, hay)
    } else {
        structure::View::plain()
    };
    let keep = view.judge(engine, hay, matches);
    let plain = matches
        .iter()
        .zip(keep)
        .filter_map(|(m, keep)| keep.then_some(m))
        .map(|m| Hit {
            at: m.secret.clone(),
            secret: &hay[m.secret.clone()],
            rule: m.rule,
            identifiers: m
                .identifiers
                .iter()
                .map(|(name, range)| (name.as_ref(), &hay[range.clone()]))
                .collect(),
            decoded: Vec::new(),
        });
    let under_encoding = decoded
        .iter()
        .filter(|d| view.keeps_decoded(engine, d.raw.rule))
        .map(|d| Hit {
            at: d.span.clone(),
            secret: &d.buffer[d.raw.secret.clone()],
            rule: d.raw.rule,
            identifiers: d
                .raw
                .identifiers
                .iter()
                .map(|(name, range)| (name.as_ref(), &d.buffer[range.clone()]))
                .collect(),
            decoded: d.encodings.clone(),
        });
    let hits = plain.chain(under_encoding).collect();
    (
        findings_from_hits(engine, path, hay, hits, &view),
        view.counts(),
    )
}

fn findings_from_hits(
    engine: &Engine,
    path: &str,
    hay: &[u8],
    hits: Vec<Hit<'_>>,
    view: &structure::View,
) -> Vec<Finding> {
    let positions = Positions::new(
        hay,
        hits.iter().flat_map(|h| [h.at.start, h.at.end]).collect(),
    );
    let mut out: Vec<Finding> = Vec::with_capacity(hits.len());
    let mut by_fingerprint: HashMap<Fingerprint, usize> = HashMap::new();
    for hit in hits {
        let (line, column) = positions.of(hit.at.start);
        let (end_line, end_column) = positions.of(hit.at.end);
        let rule_id = &engine.rule_info(hit.rule).id;
        let location = Location {
            path: path.to_string(),
            line,
            column,
            end_line,
            end_column,
            commit: None,
            date: None,
            source: SourceKind::File,
            key_path: view.key_path(&hit.at),
            decoded: hit.decoded,
            allow: allow::allow_comment(hay, hit.at.start, rule_id, |id| engine.has_rule(id)),
            repository: None,
        };
        let fingerprint = Fingerprint::of(hit.secret);
        if let Some(&i) = by_fingerprint.get(&fingerprint) {
            let existing = &mut out[i];
            if !existing.locations.contains(&location) {
                existing.locations.push(location);
            }
            let rule = engine.rule_info(hit.rule);
            if rule.outranks(&existing.rule) {
                existing.rule = rule.clone();
            }
            continue;
        }
        let mut key_id = None;
        let mut identifiers = BTreeMap::new();
        for (name, bytes) in hit.identifiers {
            let value = String::from_utf8_lossy(bytes).into_owned();
            if name == "key_id" {
                key_id = Some(value);
            } else {
                identifiers.insert(name.to_string(), value);
            }
        }
        view.pair(hay, &hit.at, &mut key_id, &mut identifiers);
        let mut lifecycle =
            lifecycle::inspect(rule_id, hit.secret, key_id.as_deref(), &identifiers);
        if engine.rule_info(hit.rule).kind == crate::rules::Kind::Password {
            lifecycle::weak::inspect(hit.secret, &mut lifecycle);
        }
        by_fingerprint.insert(fingerprint, out.len());
        out.push(Finding {
            rule: engine.rule_info(hit.rule).clone(),
            fingerprint,
            secret: Secret::new(hit.secret),
            redacted: redact(hit.secret),
            // One key id for every report and the inventory: the rule's capture, else the
            // one the credential itself holds (a certificate's thumbprint, a JWT's iss|sub).
            key_id: key_id.or_else(|| lifecycle.key_id.clone()),
            identifiers,
            locations: vec![location],
            first_seen: None,
            last_seen: None,
            in_worktree: None,
            age_days: None,
            lifecycle,
            assessment: Default::default(),
            validation: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_shows_at_most_four_leading_chars() {
        assert_eq!(redact(b"ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1abcdef"), "ghp_…");
        assert_eq!(redact(b"hunter2x"), "hu…");
        assert_eq!(redact(b"abc"), "…");
    }

    #[test]
    fn line_and_character_columns() {
        let hay = "a\nbé c\r\nxyz".as_bytes();
        let mut cursor = LineCursor::new(hay);
        assert_eq!(cursor.advance_to(0), (1, 1));
        assert_eq!(cursor.advance_to(2), (2, 1));
        let c = hay.iter().position(|&b| b == b'c').unwrap();
        assert_eq!(cursor.advance_to(c), (2, 4));
        let z = hay.len() - 1;
        assert_eq!(cursor.advance_to(z), (3, 3));
        assert_eq!(cursor.advance_to(hay.len()), (3, 4));
    }
}
