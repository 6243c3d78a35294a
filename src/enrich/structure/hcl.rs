//! HCL (Terraform `.tf`, `.tfvars`, `.terraformrc`): blocks by type and labels, attributes,
//! objects and lists, strings with `${...}` interpolation, heredocs. `resource
//! "aws_db_instance" "main" { password = "..." }` is `resource.aws_db_instance.main.password`,
//! `variable "x" { default = "..." }` is `variable.x.default`. Other expressions (references,
//! calls, conditionals, `for` comprehensions) are read as opaque values. Unbalanced brackets,
//! unclosed strings or heredocs are [`Malformed`].

use std::ops::Range;

use super::{Builder, Malformed, Seg};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Body,
    Object,
    List,
}

struct Frame {
    kind: Kind,
    block: u32,
    next_index: usize,
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')
}

/// Skips blanks, newlines, commas and comments.
fn skip(hay: &[u8], mut pos: usize) -> Result<usize, Malformed> {
    while let Some(&c) = hay.get(pos) {
        if c.is_ascii_whitespace() || c == b',' {
            pos += 1;
        } else if c == b'#' || (c == b'/' && hay.get(pos + 1) == Some(&b'/')) {
            pos = memchr::memchr(b'\n', &hay[pos..]).map_or(hay.len(), |n| pos + n);
        } else if c == b'/' && hay.get(pos + 1) == Some(&b'*') {
            pos = memchr::memmem::find(&hay[pos + 2..], b"*/").ok_or(Malformed)? + pos + 4;
        } else {
            break;
        }
    }
    Ok(pos)
}

fn skip_blanks(hay: &[u8], mut pos: usize) -> usize {
    while pos < hay.len() && matches!(hay[pos], b' ' | b'\t') {
        pos += 1;
    }
    pos
}

/// A quoted string at `pos` with `${...}` / `%{...}` templates: its contents and the offset
/// after the closing quote.
fn string(hay: &[u8], pos: usize) -> Result<(Range<usize>, usize), Malformed> {
    let mut i = pos + 1;
    // Open template braces (`${`, `%{` and braces inside them).
    let mut depth = 0usize;
    while i < hay.len() {
        match hay[i] {
            b'\\' => i += 1,
            b'$' | b'%' if hay.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'{' if depth > 0 => depth += 1,
            b'}' if depth > 0 => depth -= 1,
            b'"' if depth == 0 => return Ok((pos + 1..i, i + 1)),
            b'\n' if depth == 0 => return Err(Malformed),
            _ => {}
        }
        i += 1;
    }
    Err(Malformed)
}

/// `<<EOF` or `<<-EOF` at `pos`: the lines up to the closing marker, and the offset after it.
fn heredoc(hay: &[u8], pos: usize) -> Result<(Range<usize>, usize), Malformed> {
    let mut i = pos + 2;
    if hay.get(i) == Some(&b'-') {
        i += 1;
    }
    let start = i;
    while i < hay.len() && is_ident(hay[i]) {
        i += 1;
    }
    let marker = &hay[start..i];
    if marker.is_empty() {
        return Err(Malformed);
    }
    let body = memchr::memchr(b'\n', &hay[i..]).ok_or(Malformed)? + i + 1;
    let mut line = body;
    while line < hay.len() {
        let nl = memchr::memchr(b'\n', &hay[line..]).map_or(hay.len(), |n| line + n);
        if hay[line..nl].trim_ascii() == marker {
            let end = if line > body { line - 1 } else { body };
            return Ok((body..end, nl));
        }
        line = nl + 1;
    }
    Err(Malformed)
}

/// An expression that is not a literal: up to a newline, comma or closing bracket outside
/// any brackets or strings.
fn expression(hay: &[u8], pos: usize) -> Result<(Range<usize>, usize), Malformed> {
    let mut i = pos;
    let mut depth = 0usize;
    while i < hay.len() {
        match hay[i] {
            b'"' => {
                i = string(hay, i)?.1;
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' if depth > 0 => depth -= 1,
            b'}' | b']' | b')' | b',' | b'\n' if depth == 0 => break,
            b'#' if depth == 0 => break,
            b'/' if depth == 0 && hay.get(i + 1) == Some(&b'/') => break,
            _ => {}
        }
        i += 1;
    }
    if depth > 0 {
        return Err(Malformed);
    }
    let mut end = i;
    while end > pos && hay[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    Ok((pos..end, i))
}

/// A block type or label as a path step.
fn label(out: &mut String, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    if !out.is_empty() {
        out.push('.');
    }
    if !text.is_empty() && text.bytes().all(is_ident) {
        out.push_str(&text);
    } else {
        out.push('"');
        out.push_str(&text.replace('"', "\\\""));
        out.push('"');
    }
}

pub(super) fn index(hay: &[u8], b: &mut Builder) -> Result<(), Malformed> {
    let root = b.block(None, None);
    let mut stack = vec![Frame {
        kind: Kind::Body,
        block: root,
        next_index: 0,
    }];
    let mut pos = 0;
    loop {
        pos = skip(hay, pos)?;
        let Some(top) = stack.last_mut() else {
            return Err(Malformed);
        };
        let Some(&c) = hay.get(pos) else {
            return if stack.len() == 1 {
                Ok(())
            } else {
                Err(Malformed)
            };
        };
        let close = match top.kind {
            Kind::Body | Kind::Object => b'}',
            Kind::List => b']',
        };
        if c == close {
            if stack.len() == 1 {
                return Err(Malformed);
            }
            stack.pop();
            pos += 1;
            continue;
        }
        let block = top.block;
        let seg = match top.kind {
            Kind::List => {
                let index = top.next_index;
                top.next_index += 1;
                Seg::Index(index)
            }
            kind => {
                // A name: identifier or quoted string.
                let (name, after) = if c == b'"' {
                    let (inner, after) = string(hay, pos)?;
                    (inner, after)
                } else {
                    let mut i = pos;
                    while i < hay.len() && is_ident(hay[i]) {
                        i += 1;
                    }
                    if i == pos {
                        return Err(Malformed);
                    }
                    (pos..i, i)
                };
                let next = skip_blanks(hay, after);
                let assign = matches!(hay.get(next), Some(b'=') if hay.get(next + 1) != Some(&b'='))
                    || (kind == Kind::Object && hay.get(next) == Some(&b':'));
                if assign {
                    pos = next + 1;
                    Seg::Key(String::from_utf8_lossy(&hay[name]).into_owned())
                } else if kind == Kind::Body {
                    // A block: type, labels, then `{`.
                    let mut path = String::new();
                    label(&mut path, &hay[name]);
                    let mut i = next;
                    loop {
                        i = skip_blanks(hay, i);
                        match hay.get(i) {
                            Some(b'{') => break,
                            Some(b'"') => {
                                let (inner, after) = string(hay, i)?;
                                label(&mut path, &hay[inner]);
                                i = after;
                            }
                            Some(&l) if is_ident(l) => {
                                let start = i;
                                while i < hay.len() && is_ident(hay[i]) {
                                    i += 1;
                                }
                                label(&mut path, &hay[start..i]);
                            }
                            _ => return Err(Malformed),
                        }
                    }
                    let child = b.block(Some(block), Some(Seg::Raw(path)));
                    stack.push(Frame {
                        kind: Kind::Body,
                        block: child,
                        next_index: 0,
                    });
                    pos = i + 1;
                    continue;
                } else {
                    return Err(Malformed);
                }
            }
        };
        // The value of `seg`.
        pos = skip_blanks(hay, pos);
        match hay.get(pos) {
            Some(b'{') if !hay[pos + 1..].trim_ascii_start().starts_with(b"for ") => {
                let child = b.block(Some(block), Some(seg));
                stack.push(Frame {
                    kind: Kind::Object,
                    block: child,
                    next_index: 0,
                });
                pos += 1;
            }
            Some(b'[') if !hay[pos + 1..].trim_ascii_start().starts_with(b"for ") => {
                let child = b.block(Some(block), Some(seg));
                stack.push(Frame {
                    kind: Kind::List,
                    block: child,
                    next_index: 0,
                });
                pos += 1;
            }
            Some(b'"') => {
                let (inner, after) = string(hay, pos)?;
                // `"a" == var.x ? ...`: the rest of the expression is read with it.
                let (_, end) = expression(hay, after)?;
                b.leaf(block, seg, inner);
                pos = end;
            }
            Some(b'<') if hay.get(pos + 1) == Some(&b'<') => {
                let (inner, after) = heredoc(hay, pos)?;
                b.leaf(block, seg, inner);
                pos = after;
            }
            Some(_) => {
                let (span, end) = expression(hay, pos)?;
                // Nothing read (`)` where a value should be): stop, or the loop never ends.
                if end == pos {
                    return Err(Malformed);
                }
                if !span.is_empty() {
                    b.leaf(block, seg, span);
                }
                pos = end;
            }
            None => return Err(Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::View;
    use super::super::tests::path_of;

    #[test]
    fn blocks_labels_and_attributes() {
        let text = r#"
variable "db_password" {
  type    = string
  default = "Zq8vR2pLw7xN"
}

resource "aws_db_instance" "main" {
  engine   = "postgres"
  username = "app"
  password = "Kd93fjQm2sX1"
  tags = {
    Name = "db-${var.env}"
  }
  ingress = [for x in var.list : x]
}

locals {
  script = <<-EOT
    echo Wm4zRt8Yq1v
  EOT
}
"#;
        assert_eq!(
            path_of("main.tf", text, "Zq8vR2pLw7xN").as_deref(),
            Some("variable.db_password.default")
        );
        assert_eq!(
            path_of("main.tf", text, "Kd93fjQm2sX1").as_deref(),
            Some("resource.aws_db_instance.main.password")
        );
        assert_eq!(
            path_of("main.tf", text, "db-$").as_deref(),
            Some("resource.aws_db_instance.main.tags.Name")
        );
        assert_eq!(
            path_of("main.tf", text, "Wm4zRt8Yq1v").as_deref(),
            Some("locals.script")
        );
        assert_eq!(
            path_of("prod.tfvars", "db_password = \"Zq8vR2pL\"\n", "Zq8vR2pL").as_deref(),
            Some("db_password")
        );
    }

    #[test]
    fn malformed_hcl() {
        for text in [
            "resource \"a\" \"b\" {\n  x = 1\n",
            "x = \"unclosed\n",
            "}\n",
            "a = [1, 2\n",
            // Found by fuzzing (config_files): a `)` where a list value should be looped.
            "u=[%\u{ff} \n\u{ff})a",
        ] {
            assert_eq!(
                View::new("x.tf", text.as_bytes())
                    .counts()
                    .malformed_as_text,
                1,
                "{text}"
            );
        }
    }
}
