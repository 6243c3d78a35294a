//! Which configuration format a file is: by its name first, then (without an extension) by
//! its first bytes; and the files found by name alone (a Rails `master.key`).

use super::{Format, RAILS_MASTER_KEY_RULE};
use crate::engine::filters;
use crate::engine::{Engine, RawMatch};

/// The last component of a path (`/` or `\` separated).
pub fn basename(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The configuration format of a file, by its name first, then (without an extension) by
/// its first bytes.
pub fn detect(path: &str, hay: &[u8]) -> Option<Format> {
    let name = basename(path).to_ascii_lowercase();
    let ext = name.rsplit_once('.');
    match name.as_str() {
        ".dockercfg" => return Some(Format::Json),
        ".pypirc" | ".npmrc" | ".gitconfig" | ".s3cfg" | ".editorconfig" | ".boto" => {
            return Some(Format::Ini);
        }
        ".terraformrc" | "terraform.rc" => return Some(Format::Hcl),
        ".env" | ".flaskenv" => return Some(Format::Env),
        "kubeconfig" => return Some(Format::Yaml),
        _ => {}
    }
    if name.starts_with(".env.") {
        return Some(Format::Env);
    }
    if name.starts_with("wp-config") && name.ends_with(".php") {
        return Some(Format::PhpDefine);
    }
    if name.ends_with(".tfstate.backup") {
        return Some(Format::Json);
    }
    let in_dir = |dir: &str| {
        let lower = path.replace('\\', "/").to_ascii_lowercase();
        lower.contains(&format!("{dir}/"))
    };
    let Some((_, ext)) = ext else {
        // `~/.aws/credentials`, `~/.kube/config`, and files named by their content.
        if in_dir(".aws") {
            return Some(Format::Ini);
        }
        if in_dir(".kube") {
            return Some(Format::Yaml);
        }
        return sniff(hay);
    };
    Some(match ext {
        "yaml" | "yml" => Format::Yaml,
        "json" | "jsonc" | "tfstate" | "dockercfg" => Format::Json,
        "toml" => Format::Toml,
        "ini" | "cfg" | "cnf" => Format::Ini,
        "conf" => match sniff(hay) {
            Some(Format::Yaml) => Format::Yaml,
            Some(Format::Json) => Format::Json,
            Some(Format::Xml) => Format::Xml,
            _ if looks_like_ini(hay) => Format::Ini,
            _ => return None,
        },
        "properties" => Format::Properties,
        "env" => Format::Env,
        "xml" | "config" | "pubxml" => Format::Xml,
        "tf" | "tfvars" | "hcl" => Format::Hcl,
        "kubeconfig" => Format::Yaml,
        _ => return None,
    })
}

/// A format told by the first bytes of a file without an extension.
fn sniff(hay: &[u8]) -> Option<Format> {
    let head = &hay[..hay.len().min(4096)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let first = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = &head[first..];
    if text.starts_with(b"{") {
        return Some(Format::Json);
    }
    if text.starts_with(b"<?xml") || text.starts_with(b"<") && !text.starts_with(b"<<") {
        return Some(Format::Xml);
    }
    let line_starts = |needle: &[u8]| {
        head.split(|&b| b == b'\n')
            .any(|line| line.starts_with(needle))
    };
    if line_starts(b"apiVersion:") && line_starts(b"kind:") {
        return Some(Format::Yaml);
    }
    // `[default]` then `key = value`: an AWS `credentials` file, a `.gitconfig` by any name.
    if text.starts_with(b"[") && looks_like_ini(head) {
        return Some(Format::Ini);
    }
    None
}

/// `[section]` or `key = value` as the first line that is not a comment.
fn looks_like_ini(hay: &[u8]) -> bool {
    let head = &hay[..hay.len().min(4096)];
    head.split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .find(|line| !line.is_empty() && !line.starts_with(b"#") && !line.starts_with(b";"))
        .is_some_and(|line| {
            (line.starts_with(b"[") && line.ends_with(b"]"))
                || line.iter().position(|&b| b == b'=').is_some_and(|eq| {
                    eq > 0
                        && line[..eq]
                            .trim_ascii()
                            .iter()
                            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(b))
                })
        })
}

/// Findings that only a file's name reveals, for inputs the engine found nothing in: a Rails
/// `config/master.key` (or `config/credentials/<env>.key`) is 32 hex digits and nothing else.
/// Returns matches of [`RAILS_MASTER_KEY_RULE`] when that rule is loaded.
pub fn scan_by_name(engine: &Engine, path: &str, hay: &[u8]) -> Vec<RawMatch> {
    let normal = path.replace('\\', "/");
    let name = basename(&normal);
    let rails_key =
        name == "master.key" || (name.ends_with(".key") && normal.contains("config/credentials/"));
    if !rails_key || hay.len() > 256 {
        return Vec::new();
    }
    let start = hay
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let end = hay
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |e| e + 1);
    if end < start + 32 || end - start != 32 || !hay[start..end].iter().all(u8::is_ascii_hexdigit) {
        return Vec::new();
    }
    let Some(rule) = engine.find_rule(RAILS_MASTER_KEY_RULE) else {
        return Vec::new();
    };
    if filters::is_placeholder(&hay[start..end]) || filters::shannon_entropy(&hay[start..end]) < 3.0
    {
        return Vec::new();
    }
    vec![RawMatch {
        rule,
        span: start..end,
        secret: start..end,
        identifiers: Vec::new(),
    }]
}
