//! Line formats: INI (`[section]` + `key = value` or `key: value`, indented continuation
//! lines), TOML (tables, arrays of tables, dotted keys, multi-line strings, inline tables and
//! arrays via [`super::flow`]), Java properties (`key=value`, `key: value`, `key value`,
//! `\` continuations), `.env` (`export KEY="value"`) and the `define('NAME', 'value');`
//! lines of a WordPress `wp-config.php`. Flat keys are kept whole (`spring.datasource.password`).

use std::collections::HashMap;
use std::ops::Range;

use super::flow;
use super::{Builder, Malformed, Seg};

/// Lines of `hay`: (start, end before `\r\n`).
fn lines(hay: &[u8]) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= hay.len() {
            return None;
        }
        let nl = memchr::memchr(b'\n', &hay[pos..]).map_or(hay.len(), |n| pos + n);
        let end = if nl > pos && hay[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        let line = pos..end;
        pos = nl + 1;
        Some(line)
    })
}

/// `range` without leading and trailing ASCII whitespace.
fn trim(hay: &[u8], mut range: Range<usize>) -> Range<usize> {
    while range.start < range.end && hay[range.start].is_ascii_whitespace() {
        range.start += 1;
    }
    while range.end > range.start && hay[range.end - 1].is_ascii_whitespace() {
        range.end -= 1;
    }
    range
}

/// A value without its surrounding quotes, when it has a matching pair.
fn unquote(hay: &[u8], range: Range<usize>) -> Range<usize> {
    let v = &hay[range.clone()];
    if v.len() >= 2 && matches!(v[0], b'"' | b'\'') && v[v.len() - 1] == v[0] {
        range.start + 1..range.end - 1
    } else {
        range
    }
}

/// Where an inline comment (`#` or `;` after a blank) starts, or `end`.
fn comment_start(hay: &[u8], range: Range<usize>) -> usize {
    (range.start..range.end)
        .find(|&i| {
            matches!(hay[i], b'#' | b';') && i > range.start && matches!(hay[i - 1], b' ' | b'\t')
        })
        .unwrap_or(range.end)
}

fn text(hay: &[u8], range: Range<usize>) -> String {
    String::from_utf8_lossy(&hay[range]).into_owned()
}

pub(super) fn index_ini(hay: &[u8], b: &mut Builder) -> Result<(), Malformed> {
    let root = b.block(None, None);
    let mut current = root;
    // The last entry, which an indented line continues.
    let mut last: Option<usize> = None;
    for line in lines(hay) {
        let t = trim(hay, line.clone());
        if t.is_empty() || matches!(hay[t.start], b'#' | b';') {
            continue;
        }
        let indented = t.start > line.start;
        if hay[t.start] == b'[' {
            let Some(close) = hay[t.clone()].iter().rposition(|&b| b == b']') else {
                return Err(Malformed);
            };
            let name = trim(hay, t.start + 1..t.start + close);
            current = b.block(None, Some(Seg::Key(text(hay, name))));
            last = None;
            continue;
        }
        if indented && let Some(e) = last {
            // A continuation of the previous value (pip's `extra-index-url` lists).
            b.entries[e].value.end = t.end;
            continue;
        }
        let bytes = &hay[t.clone()];
        let eq = bytes.iter().position(|&b| b == b'=');
        let colon = bytes.iter().enumerate().position(|(i, &b)| {
            b == b':' && bytes.get(i + 1).is_none_or(|n| matches!(n, b' ' | b'\t'))
        });
        let sep = match (eq, colon) {
            (Some(e), Some(c)) => e.min(c),
            (Some(e), None) => e,
            (None, Some(c)) => c,
            (None, None) => {
                last = None; // a bare key (`skip-networking`)
                continue;
            }
        };
        let key = trim(hay, t.start..t.start + sep);
        let value = trim(hay, t.start + sep + 1..t.end);
        let value = trim(hay, value.start..comment_start(hay, value.clone()));
        b.leaf(current, Seg::Key(text(hay, key)), unquote(hay, value));
        last = Some(b.entries.len() - 1);
    }
    Ok(())
}

pub(super) fn index_properties(hay: &[u8], b: &mut Builder) -> Result<(), Malformed> {
    let root = b.block(None, None);
    let mut pos = 0;
    while pos < hay.len() {
        // A logical line: physical lines joined by a trailing odd run of backslashes.
        let start = pos;
        let mut end;
        loop {
            let nl = memchr::memchr(b'\n', &hay[pos..]).map_or(hay.len(), |n| pos + n);
            end = if nl > pos && hay[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            };
            pos = (nl + 1).min(hay.len().max(nl + 1));
            let slashes = hay[start..end]
                .iter()
                .rev()
                .take_while(|&&b| b == b'\\')
                .count();
            if slashes % 2 == 0 || pos >= hay.len() {
                break;
            }
        }
        let t = trim(hay, start..end);
        if t.is_empty() || matches!(hay[t.start], b'#' | b'!') {
            continue;
        }
        let mut k = t.start;
        while k < t.end && !matches!(hay[k], b'=' | b':' | b' ' | b'\t') {
            if hay[k] == b'\\' {
                k += 1;
            }
            k += 1;
        }
        let k = k.min(t.end);
        let mut v = k;
        while v < t.end && matches!(hay[v], b' ' | b'\t') {
            v += 1;
        }
        if v < t.end && matches!(hay[v], b'=' | b':') {
            v += 1;
        }
        let value = trim(hay, v..t.end);
        b.leaf(root, Seg::Raw(text(hay, t.start..k)), value);
    }
    Ok(())
}

pub(super) fn index_env(hay: &[u8], b: &mut Builder) -> Result<(), Malformed> {
    let root = b.block(None, None);
    let mut pos = 0;
    while pos < hay.len() {
        let nl = memchr::memchr(b'\n', &hay[pos..]).map_or(hay.len(), |n| pos + n);
        let end = if nl > pos && hay[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        let line = trim(hay, pos..end);
        pos = nl + 1;
        if line.is_empty() || hay[line.start] == b'#' {
            continue;
        }
        let mut k = line.start;
        if hay[line.clone()].starts_with(b"export ") {
            k = trim(hay, k + 7..line.end).start;
        }
        let key_start = k;
        while k < line.end
            && (hay[k].is_ascii_alphanumeric() || matches!(hay[k], b'_' | b'.' | b'-'))
        {
            k += 1;
        }
        let key = key_start..k;
        let mut v = k;
        while v < line.end && matches!(hay[v], b' ' | b'\t') {
            v += 1;
        }
        if key.is_empty() || hay[key.start].is_ascii_digit() || v >= line.end || hay[v] != b'=' {
            return Err(Malformed);
        }
        v += 1;
        while v < line.end && matches!(hay[v], b' ' | b'\t') {
            v += 1;
        }
        let value = match hay.get(v) {
            Some(b'"') if v < line.end => {
                let (inner, close) = flow::string(hay, v)?;
                // A double-quoted value may run over several lines.
                let close_nl = memchr::memchr(b'\n', &hay[close.min(hay.len())..])
                    .map_or(hay.len(), |n| close + n);
                pos = pos.max(close_nl + 1);
                inner
            }
            Some(b'\'' | b'`') if v < line.end => {
                let quote = hay[v];
                let close = memchr::memchr(quote, &hay[v + 1..]).ok_or(Malformed)? + v + 1;
                let close_nl =
                    memchr::memchr(b'\n', &hay[close..]).map_or(hay.len(), |n| close + n);
                pos = pos.max(close_nl + 1);
                v + 1..close
            }
            _ => {
                let value = v.min(line.end)..line.end;
                trim(hay, value.start..comment_start(hay, value.clone()))
            }
        };
        b.leaf(root, Seg::Raw(text(hay, key)), value);
    }
    Ok(())
}

pub(super) fn index_php_define(hay: &[u8], b: &mut Builder) -> Result<(), Malformed> {
    let root = b.block(None, None);
    let quoted = |at: usize| -> Option<(Range<usize>, usize)> {
        let q = *hay.get(at)?;
        if !matches!(q, b'\'' | b'"') {
            return None;
        }
        let mut i = at + 1;
        while i < hay.len() {
            if hay[i] == b'\\' {
                i += 2;
                continue;
            }
            if hay[i] == q {
                return Some((at + 1..i, i + 1));
            }
            i += 1;
        }
        None
    };
    let skip = |mut at: usize| {
        while at < hay.len() && hay[at].is_ascii_whitespace() {
            at += 1;
        }
        at
    };
    for found in memchr::memmem::find_iter(hay, b"define") {
        let mut at = skip(found + 6);
        if hay.get(at) != Some(&b'(') {
            continue;
        }
        at = skip(at + 1);
        let Some((name, after)) = quoted(at) else {
            continue;
        };
        at = skip(after);
        if hay.get(at) != Some(&b',') {
            continue;
        }
        at = skip(at + 1);
        if let Some((value, _)) = quoted(at) {
            b.leaf(root, Seg::Raw(text(hay, name)), value);
        }
    }
    Ok(())
}

/// TOML: tables and arrays of tables become blocks; keys hold their values.
pub(super) fn index_toml(hay: &[u8], b: &mut Builder) -> Result<(), Malformed> {
    let root = b.block(None, None);
    let mut tables: HashMap<Vec<String>, u32> = HashMap::new();
    // Array of tables: its block, how many items it has, and the block of the last one.
    let mut arrays: HashMap<Vec<String>, (u32, usize, u32)> = HashMap::new();
    let mut current = root;
    let mut pos = 0;
    while pos < hay.len() {
        let nl = memchr::memchr(b'\n', &hay[pos..]).map_or(hay.len(), |n| pos + n);
        let end = if nl > pos && hay[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        let line = trim(hay, pos..end);
        let next = nl + 1;
        pos = next;
        if line.is_empty() || hay[line.start] == b'#' {
            continue;
        }
        if hay[line.start] == b'[' {
            let array = hay[line.clone()].starts_with(b"[[");
            let open = if array { 2 } else { 1 };
            let body = &hay[line.start + open..line.end];
            let close = body.iter().position(|&b| b == b']').ok_or(Malformed)?;
            let path = dotted(&body[..close])?;
            let mut parent: Option<u32> = None;
            for i in 1..path.len() {
                let prefix = &path[..i];
                let block = match (arrays.get(prefix), tables.get(prefix)) {
                    (Some(&(_, _, last_item)), _) => last_item,
                    (None, Some(&t)) => t,
                    (None, None) => {
                        let t = b.block(parent, Some(Seg::Key(prefix[i - 1].clone())));
                        tables.insert(prefix.to_vec(), t);
                        t
                    }
                };
                parent = Some(block);
            }
            let last = path.last().cloned().ok_or(Malformed)?;
            current = if array {
                let (array_block, n) = match arrays.get(&path) {
                    Some(&(array_block, n, _)) => (array_block, n),
                    None => (b.block(parent, Some(Seg::Key(last))), 0),
                };
                let item = b.block(Some(array_block), Some(Seg::Index(n)));
                arrays.insert(path, (array_block, n + 1, item));
                item
            } else {
                *tables
                    .entry(path)
                    .or_insert_with(|| b.block(parent, Some(Seg::Key(last))))
            };
            continue;
        }
        // key = value
        let (key, after) = toml_key(hay, line.clone())?;
        let mut v = after;
        while v < line.end && matches!(hay[v], b' ' | b'\t') {
            v += 1;
        }
        match hay.get(v) {
            Some(b'"' | b'\'') => {
                let (inner, close) = flow::string(hay, v)?;
                b.leaf(current, Seg::Raw(key), inner);
                let close_nl = memchr::memchr(b'\n', &hay[close.min(hay.len())..])
                    .map_or(hay.len(), |n| close + n);
                pos = pos.max(close_nl + 1);
            }
            Some(b'[' | b'{') => {
                let close = flow::value(hay, v, flow::TOML, b, Some(current), Some(Seg::Raw(key)))?;
                let close_nl = memchr::memchr(b'\n', &hay[close.min(hay.len())..])
                    .map_or(hay.len(), |n| close + n);
                pos = pos.max(close_nl + 1);
            }
            Some(_) if v < line.end => {
                let value = trim(hay, v..comment_start(hay, v..line.end));
                b.leaf(current, Seg::Raw(key), value);
            }
            _ => return Err(Malformed),
        }
    }
    Ok(())
}

/// `a."b.c".d` → `["a", "b.c", "d"]`.
fn dotted(raw: &[u8]) -> Result<Vec<String>, Malformed> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        while i < raw.len() && matches!(raw[i], b' ' | b'\t') {
            i += 1;
        }
        if i >= raw.len() {
            break;
        }
        if matches!(raw[i], b'"' | b'\'') {
            let (inner, close) = flow::string(raw, i)?;
            out.push(flow::unescape(&raw[inner]));
            i = close;
        } else {
            let start = i;
            while i < raw.len() && raw[i] != b'.' {
                i += 1;
            }
            out.push(String::from_utf8_lossy(raw[start..i].trim_ascii()).into_owned());
        }
        while i < raw.len() && matches!(raw[i], b' ' | b'\t') {
            i += 1;
        }
        if i < raw.len() {
            if raw[i] != b'.' {
                return Err(Malformed);
            }
            i += 1;
        }
    }
    if out.is_empty() || out.iter().any(String::is_empty) {
        return Err(Malformed);
    }
    Ok(out)
}

/// A TOML key (bare, quoted or dotted) up to its `=`: its text and the offset after `=`.
fn toml_key(hay: &[u8], line: Range<usize>) -> Result<(String, usize), Malformed> {
    let mut i = line.start;
    while i < line.end && hay[i] != b'=' {
        if matches!(hay[i], b'"' | b'\'') {
            let (_, close) = flow::string(hay, i)?;
            i = close;
            continue;
        }
        i += 1;
    }
    if i >= line.end {
        return Err(Malformed);
    }
    let parts = dotted(&hay[line.start..i])?;
    Ok((parts.join("."), i + 1))
}

#[cfg(test)]
mod tests {
    use super::super::View;
    use super::super::tests::path_of;

    #[test]
    fn ini_sections_and_flat_keys() {
        let text = "[default]\naws_access_key_id = AKIAX\naws_secret_access_key = s3cr3tVALUE\n";
        assert_eq!(
            path_of(".aws/credentials", text, "s3cr3tVALUE").as_deref(),
            Some("default.aws_secret_access_key")
        );
        let npmrc = "//registry.npmjs.org/:_authToken=npm_abc123\n";
        assert_eq!(
            path_of(".npmrc", npmrc, "npm_abc123").as_deref(),
            Some("\"//registry.npmjs.org/:_authToken\"")
        );
    }

    #[test]
    fn toml_tables_arrays_and_inline() {
        let text = "title = \"x\"\n[database]\npassword = \"Zq8vR2pL\"\n[[servers]]\nname = \"a\"\n[[servers]]\ntoken = 'tok2value'\ninline = { user = \"app\", pass = \"Wm4zRt8Y\" }\n";
        assert_eq!(
            path_of("c.toml", text, "Zq8vR2pL").as_deref(),
            Some("database.password")
        );
        assert_eq!(
            path_of("c.toml", text, "tok2value").as_deref(),
            Some("servers[1].token")
        );
        assert_eq!(
            path_of("c.toml", text, "Wm4zRt8Y").as_deref(),
            Some("servers[1].inline.pass")
        );
    }

    #[test]
    fn properties_env_and_php() {
        let props = "# c\nspring.datasource.password=Kd93fjQm2s\nlong.value = a \\\n  b\n";
        assert_eq!(
            path_of("application.properties", props, "Kd93fjQm2s").as_deref(),
            Some("spring.datasource.password")
        );
        let env = "export DB_PASSWORD=\"Zq8vR2pL\" # comment\nAPI=x\n";
        assert_eq!(
            path_of(".env", env, "Zq8vR2pL").as_deref(),
            Some("DB_PASSWORD")
        );
        let php = "<?php\ndefine( 'DB_PASSWORD', 'Zq8vR2pL' );\n";
        assert_eq!(
            path_of("wp-config.php", php, "Zq8vR2pL").as_deref(),
            Some("DB_PASSWORD")
        );
        assert_eq!(
            View::new(".env", b"not an assignment\n")
                .counts()
                .malformed_as_text,
            1
        );
    }
}
