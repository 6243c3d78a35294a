//! Bracketed values: whole JSON documents, YAML flow collections (`{a: 1, b: [x, y]}`) and
//! TOML inline tables and arrays. One tolerant reader with a dialect for each: comments
//! (`//` and `/* */` in JSON, which `appsettings.json` and VS Code files use), trailing
//! commas and unquoted keys are accepted; an unclosed bracket or string, or bytes after the
//! document, are [`Malformed`]. The nesting is kept on a heap stack, so deep input cannot
//! overflow the call stack.

use std::ops::Range;

use super::{Builder, Malformed, Seg};

/// How one bracketed syntax differs from another.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dialect {
    /// The byte between a key and its value.
    assign: u8,
    /// `#` starts a comment.
    hash_comments: bool,
    /// `//` and `/* */` are comments.
    slash_comments: bool,
    /// Unquoted scalars may hold spaces (YAML `[a b, c]`); otherwise they end at a space.
    spaced_bare: bool,
}

pub(crate) const JSON: Dialect = Dialect {
    assign: b':',
    hash_comments: false,
    slash_comments: true,
    spaced_bare: false,
};

pub(crate) const YAML: Dialect = Dialect {
    assign: b':',
    hash_comments: true,
    slash_comments: false,
    spaced_bare: true,
};

pub(crate) const TOML: Dialect = Dialect {
    assign: b'=',
    hash_comments: true,
    slash_comments: false,
    spaced_bare: false,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A key, or the closing bracket (objects); a value, or the closing bracket (arrays).
    ItemOrEnd,
    /// A comma, or the closing bracket.
    CommaOrEnd,
}

#[derive(Debug)]
struct Frame {
    block: u32,
    object: bool,
    expect: Expect,
    next_index: usize,
}

/// A whole JSON document.
pub(crate) fn index_json(hay: &[u8], b: &mut Builder) -> Result<(), Malformed> {
    let start = if hay.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let pos = skip_space(hay, start, JSON)?;
    if pos >= hay.len() {
        return Ok(());
    }
    let end = value(hay, pos, JSON, b, None, None)?;
    if skip_space(hay, end, JSON)? < hay.len() {
        return Err(Malformed);
    }
    Ok(())
}

/// Reads the value at `pos` (a bracket, a string or a bare scalar) into `b`, as `seg` of
/// `parent` (the root when both are `None`). Returns the offset just past it.
pub(crate) fn value(
    hay: &[u8],
    pos: usize,
    d: Dialect,
    b: &mut Builder,
    parent: Option<u32>,
    seg: Option<Seg>,
) -> Result<usize, Malformed> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut pos = pos;
    // Where the next value goes: its parent block and how the parent names it.
    let mut slot: Option<(Option<u32>, Option<Seg>)> = Some((parent, seg));
    loop {
        pos = skip_space(hay, pos, d)?;
        if let Some((parent, seg)) = slot.take() {
            let c = *hay.get(pos).ok_or(Malformed)?;
            match c {
                b'{' | b'[' => {
                    let block = b.block(parent, seg);
                    stack.push(Frame {
                        block,
                        object: c == b'{',
                        expect: Expect::ItemOrEnd,
                        next_index: 0,
                    });
                    pos += 1;
                    continue;
                }
                b'"' | b'\'' => {
                    let (inner, end) = string(hay, pos)?;
                    emit(hay, b, parent, seg, inner);
                    pos = end;
                }
                b'}' | b']' | b',' => return Err(Malformed),
                _ => {
                    let (span, end) = bare(hay, pos, d);
                    if span.is_empty() {
                        return Err(Malformed);
                    }
                    emit(hay, b, parent, seg, span);
                    pos = end;
                }
            }
            match stack.last_mut() {
                Some(top) => top.expect = Expect::CommaOrEnd,
                None => return Ok(pos),
            }
            continue;
        }
        let Some(top) = stack.last_mut() else {
            return Ok(pos);
        };
        let c = *hay.get(pos).ok_or(Malformed)?;
        let close = if top.object { b'}' } else { b']' };
        if c == close {
            stack.pop();
            pos += 1;
            match stack.last_mut() {
                Some(parent) => parent.expect = Expect::CommaOrEnd,
                None => return Ok(pos),
            }
            continue;
        }
        match top.expect {
            Expect::CommaOrEnd => {
                if c != b',' {
                    return Err(Malformed);
                }
                top.expect = Expect::ItemOrEnd;
                pos += 1;
            }
            Expect::ItemOrEnd if top.object => {
                let (key, end) = key(hay, pos, d)?;
                pos = skip_space(hay, end, d)?;
                if hay.get(pos) != Some(&d.assign) {
                    return Err(Malformed);
                }
                pos += 1;
                slot = Some((Some(top.block), Some(Seg::Key(key))));
            }
            Expect::ItemOrEnd => {
                let index = top.next_index;
                top.next_index += 1;
                slot = Some((Some(top.block), Some(Seg::Index(index))));
            }
        }
    }
}

/// Records a scalar; `NAME=value` items of a list are named by `NAME` (`docker-compose`
/// `environment:` lists, Docker `Env` arrays).
fn emit(hay: &[u8], b: &mut Builder, parent: Option<u32>, seg: Option<Seg>, span: Range<usize>) {
    let block = match parent {
        Some(block) => block,
        None => b.block(None, None),
    };
    let seg = seg.unwrap_or(Seg::Raw(String::new()));
    if matches!(seg, Seg::Index(_))
        && let Some((name, value)) = env_item(hay, span.clone())
    {
        b.labelled(block, seg, name, value);
        return;
    }
    b.leaf(block, seg, span);
}

/// `NAME=value` with an environment-variable name: the name and the value's range.
pub(crate) fn env_item(hay: &[u8], span: Range<usize>) -> Option<(String, Range<usize>)> {
    let text = &hay[span.clone()];
    let eq = text.iter().position(|&b| b == b'=')?;
    let name = &text[..eq];
    let valid = !name.is_empty()
        && (name[0].is_ascii_alphabetic() || name[0] == b'_')
        && name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    valid.then(|| {
        (
            String::from_utf8_lossy(name).into_owned(),
            span.start + eq + 1..span.end,
        )
    })
}

/// Skips whitespace (newlines included) and comments.
fn skip_space(hay: &[u8], mut pos: usize, d: Dialect) -> Result<usize, Malformed> {
    while let Some(&c) = hay.get(pos) {
        if c.is_ascii_whitespace() {
            pos += 1;
        } else if c == b'#' && d.hash_comments {
            pos = memchr::memchr(b'\n', &hay[pos..]).map_or(hay.len(), |n| pos + n);
        } else if c == b'/' && d.slash_comments && hay.get(pos + 1) == Some(&b'/') {
            pos = memchr::memchr(b'\n', &hay[pos..]).map_or(hay.len(), |n| pos + n);
        } else if c == b'/' && d.slash_comments && hay.get(pos + 1) == Some(&b'*') {
            let end = memchr::memmem::find(&hay[pos + 2..], b"*/").ok_or(Malformed)?;
            pos += 2 + end + 2;
        } else {
            break;
        }
    }
    Ok(pos)
}

/// A quoted string at `pos` (`"`, `'`, or TOML's `"""` and `'''`): its contents' range and
/// the offset past the closing quote. Backslash escapes in double quotes; `''` in single.
pub(crate) fn string(hay: &[u8], pos: usize) -> Result<(Range<usize>, usize), Malformed> {
    let quote = hay[pos];
    if hay[pos..].starts_with(&[quote; 3]) {
        let start = pos + 3;
        let end = memchr::memmem::find(&hay[start..], &[quote; 3]).ok_or(Malformed)? + start;
        return Ok((start..end, end + 3));
    }
    let start = pos + 1;
    let mut i = start;
    while i < hay.len() {
        let c = hay[i];
        if quote == b'"' && c == b'\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if quote == b'\'' && hay.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Ok((start..i, i + 1));
        }
        i += 1;
    }
    Err(Malformed)
}

/// An unquoted scalar at `pos`: up to a separator, the end of the line or a comment, with
/// trailing spaces trimmed.
fn bare(hay: &[u8], pos: usize, d: Dialect) -> (Range<usize>, usize) {
    let mut end = pos;
    while let Some(&c) = hay.get(end) {
        let stop = matches!(c, b',' | b']' | b'}' | b'\n' | b'\r')
            || (c == b'#'
                && d.hash_comments
                && hay
                    .get(end.wrapping_sub(1))
                    .is_some_and(u8::is_ascii_whitespace))
            || (!d.spaced_bare && c.is_ascii_whitespace());
        if stop {
            break;
        }
        end += 1;
    }
    let mut trimmed = end;
    while trimmed > pos && hay[trimmed - 1].is_ascii_whitespace() {
        trimmed -= 1;
    }
    (pos..trimmed, end)
}

/// An object key at `pos`: quoted, or bare up to the assignment byte (or a space).
fn key(hay: &[u8], pos: usize, d: Dialect) -> Result<(String, usize), Malformed> {
    match hay.get(pos) {
        Some(b'"' | b'\'') => {
            let (inner, end) = string(hay, pos)?;
            Ok((unescape(&hay[inner]), end))
        }
        Some(_) => {
            let mut end = pos;
            while let Some(&c) = hay.get(end) {
                if c == d.assign
                    && (d.assign != b':'
                        || hay.get(end + 1).is_none_or(|n| !n.is_ascii_alphanumeric()))
                {
                    break;
                }
                if matches!(c, b'{' | b'}' | b'[' | b']' | b',' | b'\n') {
                    return Err(Malformed);
                }
                end += 1;
            }
            let text = hay[pos..end].trim_ascii();
            if text.is_empty() {
                return Err(Malformed);
            }
            Ok((String::from_utf8_lossy(text).into_owned(), end))
        }
        None => Err(Malformed),
    }
}

/// A key's text with the common escapes undone (`\"`, `\\`, `\/`, `''`).
pub(crate) fn unescape(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    if !text.contains('\\') && !text.contains("''") {
        return text.into_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                out.push('\'');
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::View;
    use super::super::tests::path_of;

    #[test]
    fn json_paths_quote_keys_with_dots() {
        let text = r#"{"auths": {"registry.example.com": {"auth": "c2VjcmV0"}}, "list": [1, {"k": "v2"}]}"#;
        assert_eq!(
            path_of("config.json", text, "c2VjcmV0").as_deref(),
            Some(r#"auths."registry.example.com".auth"#)
        );
        assert_eq!(
            path_of("config.json", text, "v2").as_deref(),
            Some("list[1].k")
        );
    }

    #[test]
    fn jsonc_comments_and_trailing_commas() {
        let text = "// settings\n{\n  /* db */ \"password\": \"Zq8vR2pL\", // here\n}\n";
        assert_eq!(
            path_of("sftp.json", text, "Zq8vR2pL").as_deref(),
            Some("password")
        );
    }

    #[test]
    fn malformed_json_is_counted_not_indexed() {
        for text in [
            "{\"a\": \"b\"",
            "{\"a\": \"b\"} trailing",
            "{\"a\" \"b\"}",
            "[1, 2",
            "{\"a\": \"b",
        ] {
            let view = View::new("x.json", text.as_bytes());
            assert_eq!(view.counts().malformed_as_text, 1, "{text}");
        }
    }

    /// Every reader, on bytes made of the characters their syntax cares about, never panics,
    /// and lookups at any offset stay in bounds.
    #[test]
    fn arbitrary_bytes_never_panic() {
        const ALPHABET: &[u8] = b"{}[]\"':,=\\/#*- \n\r\tab1<>!&|?%$.";
        let mut seed = 0x2545_f491_u64;
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    ALPHABET[(seed % ALPHABET.len() as u64) as usize]
                })
                .collect();
            for name in [
                "a.json",
                "a.yaml",
                "a.toml",
                "a.ini",
                "a.properties",
                ".env",
                "a.xml",
                "a.tf",
                "wp-config.php",
                "noext",
            ] {
                let view = View::new(name, &bytes);
                for at in 0..bytes.len() {
                    let _ = view.key_path(&(at..at + 1));
                    let mut key_id = None;
                    let mut identifiers = std::collections::BTreeMap::new();
                    view.pair(&bytes, &(at..at + 1), &mut key_id, &mut identifiers);
                }
            }
        }
    }
}
