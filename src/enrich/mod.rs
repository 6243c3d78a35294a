//! Facts derived from a raw match: fingerprint, redaction, identifiers, and the line and
//! column of each location (computed only for matches, never for whole files).

use std::collections::BTreeMap;

use crate::engine::{Engine, RawMatch};
use crate::finding::{Finding, Fingerprint, Location, Secret, SourceKind};

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

/// Converts byte offsets of one input to 1-based lines and character columns, scanning
/// forward only, so many matches in one file cost one pass over it.
struct LineCursor<'a> {
    hay: &'a [u8],
    offset: usize,
    line: usize,
    line_start: usize,
}

impl<'a> LineCursor<'a> {
    fn new(hay: &'a [u8]) -> Self {
        LineCursor {
            hay,
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }

    fn position(&mut self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.hay.len());
        if offset < self.offset {
            *self = LineCursor::new(self.hay);
        }
        for nl in memchr::memchr_iter(b'\n', &self.hay[self.offset..offset]) {
            self.line += 1;
            self.line_start = self.offset + nl + 1;
        }
        self.offset = offset;
        // Count characters, not bytes: UTF-8 continuation bytes do not start a character.
        let column = self.hay[self.line_start..offset]
            .iter()
            .filter(|&&b| (b as i8) >= -0x40)
            .count()
            + 1;
        (self.line, column)
    }
}

/// Turns the raw matches of one input into findings (one per distinct secret in it).
pub fn findings_for_input(
    engine: &Engine,
    path: &str,
    hay: &[u8],
    matches: &mut [RawMatch],
) -> Vec<Finding> {
    matches.sort_by_key(|m| m.secret.start);
    let mut cursor = LineCursor::new(hay);
    let mut out: Vec<Finding> = Vec::with_capacity(matches.len());
    for m in matches.iter() {
        let secret_bytes = &hay[m.secret.clone()];
        let (line, column) = cursor.position(m.secret.start);
        let (end_line, end_column) = cursor.position(m.secret.end);
        let location = Location {
            path: path.to_string(),
            line,
            column,
            end_line,
            end_column,
            commit: None,
            source: SourceKind::File,
        };
        let fingerprint = Fingerprint::of(secret_bytes);
        if let Some(existing) = out.iter_mut().find(|f| f.fingerprint == fingerprint) {
            if !existing.locations.contains(&location) {
                existing.locations.push(location);
            }
            let rule = engine.rule_info(m.rule);
            if rule.outranks(&existing.rule) {
                existing.rule = rule.clone();
            }
            continue;
        }
        let mut key_id = None;
        let mut identifiers = BTreeMap::new();
        for (name, range) in &m.identifiers {
            let value = String::from_utf8_lossy(&hay[range.clone()]).into_owned();
            if name.as_ref() == "key_id" {
                key_id = Some(value);
            } else {
                identifiers.insert(name.to_string(), value);
            }
        }
        out.push(Finding {
            rule: engine.rule_info(m.rule).clone(),
            fingerprint,
            secret: Secret::new(secret_bytes),
            redacted: redact(secret_bytes),
            key_id,
            identifiers,
            locations: vec![location],
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
        assert_eq!(cursor.position(0), (1, 1));
        let c = hay.iter().position(|&b| b == b'c').unwrap();
        assert_eq!(cursor.position(c), (2, 4));
        let z = hay.len() - 1;
        assert_eq!(cursor.position(z), (3, 3));
        assert_eq!(cursor.position(2), (2, 1));
    }
}
