//! XML elements and attributes: `settings.servers.server[0].password` (an element repeated
//! under its parent gets its position), `configuration.connectionStrings.add[name=Db].connectionString`
//! (an element with a `name` or `key` attribute is selected by it), and `add key="X"
//! value="..."` pairs (.NET `appSettings`, NuGet credentials) named by their key. Comments,
//! CDATA, processing instructions and a DOCTYPE are skipped; an unclosed or mismatched
//! element, an unquoted attribute or text outside the root element is [`Malformed`].

use std::collections::HashMap;
use std::ops::Range;

use super::{Builder, Malformed, Seg};

struct Node {
    name: Range<usize>,
    parent: Option<usize>,
    attrs: Vec<(Range<usize>, Range<usize>)>,
    text: Option<Range<usize>>,
    children: usize,
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Result<usize, Malformed> {
    memchr::memmem::find(&hay[from.min(hay.len())..], needle)
        .map(|n| from + n)
        .ok_or(Malformed)
}

fn is_name_byte(b: u8) -> bool {
    !b.is_ascii_whitespace() && !matches!(b, b'/' | b'>' | b'=' | b'<' | b'"' | b'\'')
}

fn parse(hay: &[u8]) -> Result<Vec<Node>, Malformed> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut pos = if hay.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut closed_root = false;
    let add_text =
        |nodes: &mut Vec<Node>, stack: &[usize], span: Range<usize>| -> Result<(), Malformed> {
            let Some(&top) = stack.last() else {
                return Err(Malformed);
            };
            let node = &mut nodes[top];
            node.text = Some(match node.text.take() {
                Some(t) => t.start..span.end,
                None => span,
            });
            Ok(())
        };
    while pos < hay.len() {
        let lt = memchr::memchr(b'<', &hay[pos..]).map_or(hay.len(), |n| pos + n);
        let text = &hay[pos..lt];
        if let (Some(first), Some(last)) = (
            text.iter().position(|b| !b.is_ascii_whitespace()),
            text.iter().rposition(|b| !b.is_ascii_whitespace()),
        ) {
            add_text(&mut nodes, &stack, pos + first..pos + last + 1)?;
        }
        if lt >= hay.len() {
            break;
        }
        let rest = &hay[lt..];
        if rest.starts_with(b"<!--") {
            pos = find(hay, lt + 4, b"-->")? + 3;
        } else if rest.starts_with(b"<![CDATA[") {
            let end = find(hay, lt + 9, b"]]>")?;
            if end > lt + 9 {
                add_text(&mut nodes, &stack, lt + 9..end)?;
            }
            pos = end + 3;
        } else if rest.starts_with(b"<!") {
            let gt = find(hay, lt, b">")?;
            let bracket = memchr::memchr(b'[', &hay[lt..gt]);
            pos = match bracket {
                Some(_) => find(hay, lt, b"]>")? + 2,
                None => gt + 1,
            };
        } else if rest.starts_with(b"<?") {
            pos = find(hay, lt, b"?>")? + 2;
        } else if rest.starts_with(b"</") {
            let gt = find(hay, lt, b">")?;
            let name = hay[lt + 2..gt].trim_ascii();
            let top = stack.pop().ok_or(Malformed)?;
            if &hay[nodes[top].name.clone()] != name {
                return Err(Malformed);
            }
            if stack.is_empty() {
                closed_root = true;
            }
            pos = gt + 1;
        } else {
            if closed_root && stack.is_empty() {
                return Err(Malformed);
            }
            let mut i = lt + 1;
            while i < hay.len() && is_name_byte(hay[i]) {
                i += 1;
            }
            if i == lt + 1 {
                return Err(Malformed);
            }
            let name = lt + 1..i;
            let mut attrs = Vec::new();
            let self_closing;
            loop {
                while i < hay.len() && hay[i].is_ascii_whitespace() {
                    i += 1;
                }
                match hay.get(i) {
                    None => return Err(Malformed),
                    Some(b'>') => {
                        self_closing = false;
                        i += 1;
                        break;
                    }
                    Some(b'/') if hay.get(i + 1) == Some(&b'>') => {
                        self_closing = true;
                        i += 2;
                        break;
                    }
                    Some(_) => {}
                }
                let attr_start = i;
                while i < hay.len() && is_name_byte(hay[i]) {
                    i += 1;
                }
                if i == attr_start {
                    return Err(Malformed);
                }
                let attr = attr_start..i;
                while i < hay.len() && hay[i].is_ascii_whitespace() {
                    i += 1;
                }
                if hay.get(i) != Some(&b'=') {
                    return Err(Malformed);
                }
                i += 1;
                while i < hay.len() && hay[i].is_ascii_whitespace() {
                    i += 1;
                }
                let quote = *hay.get(i).ok_or(Malformed)?;
                if !matches!(quote, b'"' | b'\'') {
                    return Err(Malformed);
                }
                let close = memchr::memchr(quote, &hay[i + 1..]).ok_or(Malformed)? + i + 1;
                attrs.push((attr, i + 1..close));
                i = close + 1;
            }
            let parent = stack.last().copied();
            if let Some(p) = parent {
                nodes[p].children += 1;
            }
            nodes.push(Node {
                name,
                parent,
                attrs,
                text: None,
                children: 0,
            });
            if self_closing {
                if parent.is_none() {
                    closed_root = true;
                }
            } else {
                stack.push(nodes.len() - 1);
            }
            pos = i;
        }
    }
    if !stack.is_empty() {
        return Err(Malformed);
    }
    Ok(nodes)
}

pub(super) fn index(hay: &[u8], b: &mut Builder) -> Result<(), Malformed> {
    let nodes = parse(hay)?;
    let text = |r: &Range<usize>| String::from_utf8_lossy(&hay[r.clone()]).into_owned();
    let attr = |node: &Node, name: &[u8]| {
        node.attrs
            .iter()
            .find(|(a, _)| &hay[a.clone()] == name)
            .map(|(_, v)| v.clone())
    };
    // How many children of a parent share each name, and each node's position among them.
    let mut counts: HashMap<(Option<usize>, &[u8]), usize> = HashMap::new();
    for node in &nodes {
        *counts
            .entry((node.parent, &hay[node.name.clone()]))
            .or_default() += 1;
    }
    let mut seen: HashMap<(Option<usize>, &[u8]), usize> = HashMap::new();
    let mut blocks: Vec<u32> = Vec::with_capacity(nodes.len());
    for node in &nodes {
        let name = text(&node.name);
        let seg = if let Some(v) = attr(node, b"name") {
            format!("{name}[name={}]", text(&v))
        } else if let Some(v) = attr(node, b"key") {
            format!("{name}[key={}]", text(&v))
        } else {
            let key = (node.parent, &hay[node.name.clone()]);
            let position = seen.entry(key).or_default();
            *position += 1;
            if counts[&key] > 1 {
                format!("{name}[{}]", *position - 1)
            } else {
                name
            }
        };
        let parent_block = node.parent.map(|p| blocks[p]);
        blocks.push(b.block(parent_block, Some(Seg::Raw(seg))));
    }
    for (i, node) in nodes.iter().enumerate() {
        let block = blocks[i];
        let key = attr(node, b"key");
        let value = attr(node, b"value");
        if let (Some(k), Some(v)) = (&key, &value) {
            // `<add key="ClearTextPassword" value="..."/>`: a value named by its key.
            b.labelled(block, Seg::Key("value".into()), text(k), v.clone());
        } else {
            for (a, v) in &node.attrs {
                b.leaf(block, Seg::Key(text(a)), v.clone());
            }
        }
        if node.children == 0
            && let (Some(t), Some(p)) = (&node.text, node.parent)
        {
            let seg = b.blocks[block as usize]
                .seg
                .clone()
                .unwrap_or(Seg::Raw(String::new()));
            b.leaf(blocks[p], seg, t.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::View;
    use super::super::tests::path_of;

    #[test]
    fn maven_servers_and_connection_strings() {
        let settings = "<?xml version=\"1.0\"?>\n<settings>\n  <!-- servers -->\n  <servers>\n    <server>\n      <id>a</id>\n      <password>first1pw</password>\n    </server>\n    <server>\n      <id>b</id>\n      <password><![CDATA[second2pw]]></password>\n    </server>\n  </servers>\n</settings>\n";
        assert_eq!(
            path_of("settings.xml", settings, "first1pw").as_deref(),
            Some("settings.servers.server[0].password")
        );
        assert_eq!(
            path_of("settings.xml", settings, "second2pw").as_deref(),
            Some("settings.servers.server[1].password")
        );
        let web = "<configuration><connectionStrings><add name=\"Db\" connectionString=\"Server=x;Password=Zq8vR2pL\"/></connectionStrings><appSettings><add key=\"ApiKey\" value=\"k3yValue9\"/></appSettings></configuration>";
        assert_eq!(
            path_of("web.config", web, "Zq8vR2pL").as_deref(),
            Some("configuration.connectionStrings.add[name=Db].connectionString")
        );
        assert_eq!(
            path_of("web.config", web, "k3yValue9").as_deref(),
            Some("configuration.appSettings.add[key=ApiKey].value")
        );
    }

    #[test]
    fn malformed_xml() {
        for text in ["<a><b></a>", "<a>", "<a x=y/>", "<a/><b/>", "<a><!-- x</a>"] {
            assert_eq!(
                View::new("x.xml", text.as_bytes())
                    .counts()
                    .malformed_as_text,
                1,
                "{text}"
            );
        }
    }
}
