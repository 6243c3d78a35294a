//! Allow comments, read from the input: `sprawl:allow [RULE] [reason]` on a place's line or
//! the line above, and the markers other scanners' users already have in their code, each
//! with the scope its own tool gives it. Whether a comment allows a finding is decided in
//! `suppress` ([`crate::suppress::allow_reason`]); this module only says what it says.

use crate::finding::AllowComment;

/// The marker of sprawl's own allow comment.
const ALLOW_MARKER: &[u8] = b"sprawl:allow";

/// Other scanners' inline allow markers; each covers its own line, as it does for the tool
/// that defined it.
const FOREIGN_MARKERS: &[&str] = &[
    "gitleaks:allow",
    "kingfisher:ignore",
    "kingfisher:allow",
    "trufflehog:ignore",
    "ggignore",
];

/// detect-secrets' markers: `pragma: allowlist secret` on the line (or the older `whitelist`),
/// and `pragma: allowlist nextline secret` alone on the line above.
static DETECT_SECRETS_SAME_LINE: std::sync::LazyLock<regex::bytes::Regex> =
    std::sync::LazyLock::new(|| {
        regex::bytes::Regex::new(r"pragma: ?(?:allow|white)list[ -]secret")
            .expect("a valid pattern")
    });
static DETECT_SECRETS_NEXT_LINE: std::sync::LazyLock<regex::bytes::Regex> =
    std::sync::LazyLock::new(|| {
        // `(?-u)`: the crate is built without Unicode classes.
        regex::bytes::Regex::new(
            r"(?-u)^[ \t]*[^ \t\r\n]{1,4}[ \t]*pragma: ?allowlist[ -]nextline[ -]secret",
        )
        .expect("a valid pattern")
    });

/// The allow comment covering a match of `rule` at `offset`: `sprawl:allow` on its line or
/// the line above (whose first word names a rule when `is_rule` knows it), else another
/// scanner's marker that covers its line.
pub fn allow_comment(
    hay: &[u8],
    offset: usize,
    rule: &str,
    is_rule: impl Fn(&str) -> bool,
) -> Option<AllowComment> {
    if let Some(text) = sprawl_allow(hay, offset) {
        return Some(read_sprawl_allow(text, rule, is_rule));
    }
    let (line, above) = line_and_above(hay, offset);
    if let Some(marker) = FOREIGN_MARKERS
        .iter()
        .find(|m| memchr::memmem::find(line, m.as_bytes()).is_some())
    {
        return Some(AllowComment::Other(marker));
    }
    if DETECT_SECRETS_SAME_LINE.is_match(line) {
        return Some(AllowComment::Other("pragma: allowlist secret"));
    }
    if above.is_some_and(|above| DETECT_SECRETS_NEXT_LINE.is_match(above)) {
        return Some(AllowComment::Other("pragma: allowlist nextline secret"));
    }
    None
}

/// The line holding `offset` and the line above it (none on the first line), without their
/// line breaks.
fn line_and_above(hay: &[u8], offset: usize) -> (&[u8], Option<&[u8]>) {
    let offset = offset.min(hay.len());
    let line_start = memchr::memrchr(b'\n', &hay[..offset]).map_or(0, |i| i + 1);
    let line_end = memchr::memchr(b'\n', &hay[offset..]).map_or(hay.len(), |i| offset + i);
    let line = &hay[line_start..line_end];
    let above = (line_start > 0).then(|| {
        let end = line_start - 1;
        let start = memchr::memrchr(b'\n', &hay[..end]).map_or(0, |i| i + 1);
        hay[start..end]
            .strip_suffix(b"\r")
            .unwrap_or(&hay[start..end])
    });
    (line, above)
}

/// The text after `sprawl:allow` on the line holding `offset` or on the line above it.
fn sprawl_allow(hay: &[u8], offset: usize) -> Option<&[u8]> {
    let offset = offset.min(hay.len());
    let line_start = memchr::memrchr(b'\n', &hay[..offset]).map_or(0, |i| i + 1);
    let line_end = memchr::memchr(b'\n', &hay[offset..]).map_or(hay.len(), |i| offset + i);
    let above_start = match line_start {
        0 => 0,
        start => memchr::memrchr(b'\n', &hay[..start - 1]).map_or(0, |i| i + 1),
    };
    let text = &hay[above_start..line_end];
    let at = memchr::memmem::find(text, ALLOW_MARKER)?;
    let rest = &text[at + ALLOW_MARKER.len()..];
    let end = memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Reads the text after `sprawl:allow` for a match of `rule`: an optional rule id (when
/// `is_rule` knows it), then the reason, without trailing comment closers.
fn read_sprawl_allow(comment: &[u8], rule: &str, is_rule: impl Fn(&str) -> bool) -> AllowComment {
    let text = String::from_utf8_lossy(comment);
    let text = text
        .trim()
        .trim_end_matches("*/")
        .trim_end_matches("-->")
        .trim();
    let text = text.strip_prefix(':').unwrap_or(text).trim();
    let (first, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    if !first.is_empty() && is_rule(first) {
        AllowComment::Sprawl {
            other_rule: (first != rule).then(|| first.to_string()),
            reason: rest.trim().to_string(),
        }
    } else {
        AllowComment::Sprawl {
            other_rule: None,
            reason: text.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sprawl(other_rule: Option<&str>, reason: &str) -> Option<AllowComment> {
        Some(AllowComment::Sprawl {
            other_rule: other_rule.map(str::to_string),
            reason: reason.to_string(),
        })
    }

    #[test]
    fn allow_comments_on_the_line_or_above() {
        let hay = b"a = 1\n# sprawl:allow test key\nkey = SECRET\nother = SECRET2 // sprawl:allow github-pat-classic fixture */\nlast = SECRET3\n";
        let at = |needle: &str| memchr::memmem::find(hay, needle.as_bytes()).unwrap();
        let known = |r: &str| r == "github-pat-classic" || r == "jwt-token";
        let read = |needle: &str, rule: &str| allow_comment(hay, at(needle), rule, known);
        assert_eq!(read("SECRET\n", "jwt-token"), sprawl(None, "test key"));
        assert_eq!(
            read("SECRET2", "github-pat-classic"),
            sprawl(None, "fixture")
        );
        // Named for another rule than the one that matched here.
        assert_eq!(
            read("SECRET2", "jwt-token"),
            sprawl(Some("github-pat-classic"), "fixture")
        );
        // The line above holds an allow meant for its own line: it covers this one too.
        assert!(read("SECRET3", "jwt-token").is_some());
        assert_eq!(allow_comment(b"x = SECRET", 4, "r", known), None);
        assert_eq!(allow_comment(b"SECRET", 0, "r", known), None);
        // A first word that is no loaded rule is part of the reason.
        assert_eq!(
            allow_comment(b"k = V # sprawl:allow nosuch-rule fixture", 4, "r", known),
            sprawl(None, "nosuch-rule fixture")
        );
    }

    #[test]
    fn other_scanners_markers_cover_their_own_line() {
        let hay =
            b"a = SECRET1 # gitleaks:allow\nb = SECRET2\nc = SECRET3 // pragma: allowlist secret\n\
            # pragma: allowlist nextline secret\nd = SECRET4\ne = SECRET5 # trufflehog:ignore\n\
            f = SECRET6 # kingfisher:ignore\ng = SECRET7\nh = SECRET8 # pragma: whitelist secret\n";
        let at = |needle: &str| memchr::memmem::find(hay, needle.as_bytes()).unwrap();
        let read = |needle: &str| allow_comment(hay, at(needle), "r", |_| false);
        let other = |m: &'static str| Some(AllowComment::Other(m));
        assert_eq!(read("SECRET1"), other("gitleaks:allow"));
        // Unlike sprawl:allow, another tool's same-line marker does not cover the next line.
        assert_eq!(read("SECRET2"), None);
        assert_eq!(read("SECRET3"), other("pragma: allowlist secret"));
        assert_eq!(read("SECRET4"), other("pragma: allowlist nextline secret"));
        assert_eq!(read("SECRET5"), other("trufflehog:ignore"));
        assert_eq!(read("SECRET6"), other("kingfisher:ignore"));
        assert_eq!(read("SECRET7"), None);
        assert_eq!(read("SECRET8"), other("pragma: allowlist secret"));
        // A nextline pragma after code does not count (detect-secrets' own rule).
        let hidden = b"x = 1 # pragma: allowlist nextline secret\ny = SECRET\n";
        let offset = memchr::memmem::find(hidden, b"SECRET").unwrap();
        assert_eq!(allow_comment(hidden, offset, "r", |_| false), None);
    }
}
