//! YAML block structure by indentation: `key:` mappings, `- ` sequence items (also at the
//! indentation of their key, as `kubectl` writes them), quoted and plain scalars (with
//! continuation lines), block scalars (`|`, `>`, tagged `!vault |`), flow collections (read
//! by [`super::flow`]), anchors, aliases, tags and `---` documents. Go and Jinja template
//! lines (`{{- if ... }}`, `{% ... %}`) are skipped. Indentation that fits no open block,
//! tabs in indentation, unclosed quotes or brackets and complex keys are [`Malformed`].

use std::ops::Range;

use super::flow;
use super::{Builder, Malformed, Seg};

/// An open mapping or sequence.
struct Container {
    indent: usize,
    seq: bool,
    block: u32,
    next_index: usize,
}

/// A key or item whose value starts on a later line.
struct Pending {
    indent: usize,
    parent: u32,
    seg: Seg,
    item: bool,
}

/// One line: where it starts, where its content ends (before `\r\n`) and where the next
/// line starts.
#[derive(Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
    next: usize,
}

fn line_at(hay: &[u8], start: usize) -> Line {
    let nl = memchr::memchr(b'\n', &hay[start..]).map_or(hay.len(), |n| start + n);
    let end = if nl > start && hay[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    Line {
        start,
        end,
        next: (nl + 1).min(hay.len().max(nl)),
    }
}

/// The line holding offset `at`.
fn line_of(hay: &[u8], at: usize) -> Line {
    let start = memchr::memrchr(b'\n', &hay[..at.min(hay.len())]).map_or(0, |n| n + 1);
    line_at(hay, start)
}

struct Reader<'h, 'b> {
    hay: &'h [u8],
    b: &'b mut Builder,
    stack: Vec<Container>,
    pending: Option<Pending>,
    root_seen: bool,
}

pub(super) fn index(hay: &[u8], b: &mut Builder) -> Result<(), Malformed> {
    let mut r = Reader {
        hay,
        b,
        stack: Vec::new(),
        pending: None,
        root_seen: false,
    };
    let mut pos = if hay.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    while pos < hay.len() {
        let line = line_at(hay, pos);
        pos = r.line(line)?.max(line.next);
    }
    Ok(())
}

impl Reader<'_, '_> {
    /// Reads the node(s) starting on `line`; returns where the next unread line starts.
    fn line(&mut self, line: Line) -> Result<usize, Malformed> {
        let hay = self.hay;
        let text = &hay[line.start..line.end];
        let indent = text.iter().take_while(|&&b| b == b' ').count();
        let c = line.start + indent;
        let rest = &hay[c..line.end];
        let blank = rest.iter().all(|b| b.is_ascii_whitespace());
        if blank || rest[0] == b'#' {
            return Ok(line.next);
        }
        if rest[0] == b'\t' {
            return Err(Malformed);
        }
        if indent == 0 && (is_marker(rest, b"---") || is_marker(rest, b"...")) {
            self.stack.clear();
            self.pending = None;
            self.root_seen = false;
            return Ok(line.next);
        }
        if indent == 0 && rest[0] == b'%' {
            return Ok(line.next);
        }
        if rest.starts_with(b"{{") || rest.starts_with(b"{%") || rest.starts_with(b"{#") {
            return Ok(line.next);
        }
        let item = is_item(hay, c, line.end);
        if let Some(p) = self.pending.take() {
            let seq = item && (indent > p.indent || (indent == p.indent && !p.item));
            if seq || (!item && indent > p.indent) {
                let block = self.b.block(Some(p.parent), Some(p.seg));
                self.stack.push(Container {
                    indent,
                    seq,
                    block,
                    next_index: 0,
                });
            }
        }
        while let Some(top) = self.stack.last() {
            if indent < top.indent || (top.seq && indent == top.indent && !item) {
                self.stack.pop();
            } else {
                break;
            }
        }
        if self.stack.is_empty() {
            if self.root_seen {
                return Err(Malformed);
            }
            self.root_seen = true;
            let block = self.b.block(None, None);
            self.stack.push(Container {
                indent,
                seq: item,
                block,
                next_index: 0,
            });
        }
        let top = self.stack.last().ok_or(Malformed)?;
        if top.indent != indent || top.seq != item {
            return Err(Malformed);
        }
        self.node(line, c)
    }

    /// The item or key at `c`, which the container on top of the stack holds.
    fn node(&mut self, line: Line, c: usize) -> Result<usize, Malformed> {
        let hay = self.hay;
        let mut c = c;
        loop {
            let top = self.stack.last_mut().ok_or(Malformed)?;
            let column = c - line.start;
            if top.seq {
                let index = top.next_index;
                top.next_index += 1;
                let parent = top.block;
                let r = skip_blanks(hay, c + 1, line.end);
                if r >= line.end || hay[r] == b'#' {
                    self.pending = Some(Pending {
                        indent: column,
                        parent,
                        seg: Seg::Index(index),
                        item: true,
                    });
                    return Ok(line.next);
                }
                let nested_item = is_item(hay, r, line.end);
                let nested_key = if nested_item {
                    None
                } else {
                    key_at(hay, r, line.end)?
                };
                if nested_item || nested_key.is_some() {
                    let block = self.b.block(Some(parent), Some(Seg::Index(index)));
                    self.stack.push(Container {
                        indent: r - line.start,
                        seq: nested_item,
                        block,
                        next_index: 0,
                    });
                    c = r;
                    continue;
                }
                return self.value(line, r, parent, Seg::Index(index), column, true);
            }
            let parent = top.block;
            let Some((key, after)) = key_at(hay, c, line.end)? else {
                return Err(Malformed);
            };
            let v = skip_blanks(hay, after, line.end);
            return self.value(line, v, parent, Seg::Key(key), column, false);
        }
    }

    /// The value starting at `v` on `line` (possibly empty: then it is on later lines).
    fn value(
        &mut self,
        line: Line,
        v: usize,
        parent: u32,
        seg: Seg,
        owner_indent: usize,
        item: bool,
    ) -> Result<usize, Malformed> {
        let hay = self.hay;
        let mut v = v;
        let mut tag_start = None;
        // Anchors and tags before the value.
        while v < line.end && matches!(hay[v], b'&' | b'!') {
            if hay[v] == b'!' {
                tag_start.get_or_insert(v);
            }
            while v < line.end && !hay[v].is_ascii_whitespace() {
                v += 1;
            }
            v = skip_blanks(hay, v, line.end);
        }
        if v >= line.end || hay[v] == b'#' {
            self.pending = Some(Pending {
                indent: owner_indent,
                parent,
                seg,
                item,
            });
            return Ok(line.next);
        }
        match hay[v] {
            b'|' | b'>' => {
                let (content, next) = block_scalar(hay, line.next, owner_indent);
                let span = match (tag_start, content) {
                    (Some(t), Some(c)) => t..c.end,
                    (None, Some(c)) => c,
                    (Some(t), None) => t..line.end,
                    (None, None) => return Ok(next),
                };
                self.leaf(parent, seg, span);
                Ok(next)
            }
            b'"' | b'\'' => {
                let (inner, end) = flow::string(hay, v)?;
                let end_line = line_of(hay, end.saturating_sub(1));
                if !rest_is_comment(hay, end, end_line.end) {
                    // `"quoted": value` is a key, handled before; anything else is an error.
                    return Err(Malformed);
                }
                let span = match tag_start {
                    Some(t) => t..inner.end,
                    None => inner,
                };
                self.leaf(parent, seg, span);
                Ok(end_line.next)
            }
            b'{' | b'[' => {
                let end = flow::value(hay, v, flow::YAML, self.b, Some(parent), Some(seg))?;
                let end_line = line_of(hay, end.saturating_sub(1));
                if !rest_is_comment(hay, end, end_line.end) {
                    return Err(Malformed);
                }
                Ok(end_line.next)
            }
            b'*' => Ok(line.next),
            _ => {
                let mut end = plain_end(hay, v, line.end);
                let mut next = line.next;
                // Continuation lines: more indented than the owner, and neither key nor item.
                while next < hay.len() {
                    let l = line_at(hay, next);
                    let text = &hay[l.start..l.end];
                    let indent = text.iter().take_while(|&&b| b == b' ').count();
                    let c = l.start + indent;
                    if c >= l.end || hay[c] == b'#' || indent <= owner_indent {
                        break;
                    }
                    if is_item(hay, c, l.end) || key_at(hay, c, l.end)?.is_some() {
                        return Err(Malformed);
                    }
                    end = plain_end(hay, c, l.end);
                    next = l.next;
                }
                let span = tag_start.unwrap_or(v)..end;
                self.leaf(parent, seg, span);
                Ok(next)
            }
        }
    }

    fn leaf(&mut self, parent: u32, seg: Seg, span: Range<usize>) {
        if matches!(seg, Seg::Index(_))
            && let Some((name, value)) = flow::env_item(self.hay, span.clone())
        {
            self.b.labelled(parent, seg, name, value);
            return;
        }
        self.b.leaf(parent, seg, span);
    }
}

fn is_marker(rest: &[u8], marker: &[u8]) -> bool {
    rest.starts_with(marker) && rest.get(3).is_none_or(|b| b.is_ascii_whitespace())
}

/// `-` followed by a space or the end of the line.
fn is_item(hay: &[u8], c: usize, end: usize) -> bool {
    hay.get(c) == Some(&b'-') && (c + 1 >= end || matches!(hay[c + 1], b' ' | b'\t'))
}

fn skip_blanks(hay: &[u8], mut at: usize, end: usize) -> usize {
    while at < end && matches!(hay[at], b' ' | b'\t') {
        at += 1;
    }
    at
}

/// Nothing but blanks or a comment from `at` to `end`.
fn rest_is_comment(hay: &[u8], at: usize, end: usize) -> bool {
    let r = skip_blanks(hay, at, end);
    r >= end || hay[r] == b'#'
}

/// Where a plain scalar starting at `v` ends on its line: before ` #` and trailing blanks.
fn plain_end(hay: &[u8], v: usize, end: usize) -> usize {
    let mut stop = end;
    let mut i = v;
    while i < end {
        if hay[i] == b'#' && i > v && matches!(hay[i - 1], b' ' | b'\t') {
            stop = i;
            break;
        }
        i += 1;
    }
    while stop > v && matches!(hay[stop - 1], b' ' | b'\t') {
        stop -= 1;
    }
    stop
}

/// A mapping key at `c`: its text and the offset after its `:`. `None` for a scalar.
fn key_at(hay: &[u8], c: usize, end: usize) -> Result<Option<(String, usize)>, Malformed> {
    match hay[c] {
        b'"' | b'\'' => {
            let (inner, close) = flow::string(hay, c)?;
            let after = skip_blanks(hay, close, end.max(close));
            if close <= end && hay.get(after) == Some(&b':') && colon_ends(hay, after, end) {
                return Ok(Some((flow::unescape(&hay[inner]), after + 1)));
            }
            Ok(None)
        }
        b'?' if c + 1 >= end || hay[c + 1] == b' ' => Err(Malformed),
        b'[' | b'{' | b'|' | b'>' | b'*' | b'&' | b'!' | b'%' | b'@' | b'`' => Ok(None),
        _ => {
            for i in c..end {
                match hay[i] {
                    b':' if colon_ends(hay, i, end) => {
                        let key = hay[c..i].trim_ascii_end();
                        return Ok(Some((String::from_utf8_lossy(key).into_owned(), i + 1)));
                    }
                    b'#' if i > c && matches!(hay[i - 1], b' ' | b'\t') => return Ok(None),
                    _ => {}
                }
            }
            Ok(None)
        }
    }
}

/// A `:` that ends a key: followed by a blank or the end of the line.
fn colon_ends(hay: &[u8], colon: usize, end: usize) -> bool {
    colon + 1 >= end || matches!(hay[colon + 1], b' ' | b'\t')
}

/// The content of a block scalar whose lines start at `from` and are more indented than
/// `owner_indent`: its range (first to last non-blank byte) and where the next line starts.
fn block_scalar(hay: &[u8], from: usize, owner_indent: usize) -> (Option<Range<usize>>, usize) {
    let mut pos = from;
    let mut content: Option<Range<usize>> = None;
    while pos < hay.len() {
        let l = line_at(hay, pos);
        let text = &hay[l.start..l.end];
        let indent = text.iter().take_while(|&&b| b == b' ').count();
        let blank = text.iter().all(|b| b.is_ascii_whitespace());
        if !blank && indent <= owner_indent {
            break;
        }
        if !blank {
            let mut last = l.end;
            while last > l.start && hay[last - 1].is_ascii_whitespace() {
                last -= 1;
            }
            content = Some(match content {
                Some(c) => c.start..last,
                None => l.start + indent..last,
            });
        }
        pos = l.next;
    }
    (content, pos)
}

#[cfg(test)]
mod tests {
    use super::super::View;

    fn path_of(text: &str, needle: &str) -> Option<String> {
        super::super::tests::path_of("x.yaml", text, needle)
    }

    #[test]
    fn kubernetes_env_paths() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        env:\n        - name: A\n          value: one\n        - name: B\n          value: two\n        - name: C\n          value: three\n        - name: DB_PASSWORD\n          value: Zq8vR2pLw7xN\n";
        assert_eq!(
            path_of(text, "Zq8vR2pLw7xN").as_deref(),
            Some("spec.template.spec.containers[0].env[3].value")
        );
    }

    #[test]
    fn quoted_keys_block_scalars_flow_and_documents() {
        let text = "a: 1\n---\nauths:\n  \"registry.example.com\":\n    auth: c2VjcmV0\ntls:\n  tls.key: |\n    -----BEGIN KEY-----\n    QUJD\n    -----END KEY-----\nflow: {user: app, pass: [x, 'Wm4zRt8Yq1v']}\nplain: first\n  second line\nlast: done\n";
        assert_eq!(
            path_of(text, "c2VjcmV0").as_deref(),
            Some("auths.\"registry.example.com\".auth")
        );
        assert_eq!(path_of(text, "QUJD").as_deref(), Some("tls.\"tls.key\""));
        assert_eq!(
            path_of(text, "Wm4zRt8Yq1v").as_deref(),
            Some("flow.pass[1]")
        );
        assert_eq!(path_of(text, "second").as_deref(), Some("plain"));
        assert_eq!(path_of(text, "done").as_deref(), Some("last"));
    }

    #[test]
    fn compose_environment_list_items() {
        let text = "services:\n  db:\n    environment:\n      - MYSQL_USER=app\n      - MYSQL_PASSWORD=Zq8vR2pLw7xN\n";
        assert_eq!(
            path_of(text, "Zq8vR2pLw7xN").as_deref(),
            Some("services.db.environment[1]")
        );
    }

    #[test]
    fn malformed_yaml() {
        for text in [
            "a:\n    b: 1\n  c: 2\n",
            "a: \"unclosed\nb: 2\n",
            "a: [1, 2\nb: 3\n",
            "a: 1\n\tb: 2\n",
            "a: value\n  b: nested under a scalar\n",
            "key: 1\n- item\n",
        ] {
            assert_eq!(
                View::new("x.yml", text.as_bytes())
                    .counts()
                    .malformed_as_text,
                1,
                "{text}"
            );
        }
        for text in [
            "a:\n- 1\n- 2\nb: 3\n",
            "{{- if .Values.x }}\na: 1\n{{- end }}\n",
            "# only a comment\n",
            "",
        ] {
            assert_eq!(
                View::new("x.yml", text.as_bytes())
                    .counts()
                    .malformed_as_text,
                0,
                "{text}"
            );
        }
    }
}
