//! What a value is, by its text: an identifier worth copying into a finding, the parts of a
//! connection string, a reference to a secret kept elsewhere, or plain words.

use super::MAX_IDENTIFIER_LEN;
use crate::engine::filters;

/// A sibling's value as an identifier: one short line, not a reference or a placeholder,
/// and no URL with a password in it.
pub(super) fn identifier_value(value: &[u8]) -> Option<String> {
    let value = value.trim_ascii();
    let number = value.iter().all(u8::is_ascii_digit);
    if value.is_empty()
        || value.len() > MAX_IDENTIFIER_LEN
        || value.contains(&b'\n')
        || is_reference(value)
        || (!number && filters::is_placeholder(value))
    {
        return None;
    }
    let text = std::str::from_utf8(value).ok()?;
    if let Some(scheme) = text.find("://")
        && text[scheme + 3..]
            .split(['/', '?', '#'])
            .next()
            .is_some_and(|authority| authority.contains('@'))
    {
        return None;
    }
    Some(text.to_string())
}

/// `Server=db;Database=orders;User Id=app;Password=...`: its user, host, port and database,
/// for a secret inside such a value.
pub(super) fn connection_string_parts(value: &[u8]) -> Vec<(&'static str, String)> {
    let Ok(text) = std::str::from_utf8(value) else {
        return Vec::new();
    };
    let pairs: Vec<(&str, &str)> = text
        .split(';')
        .filter_map(|part| part.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    if pairs.len() < 2 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (key, value) in pairs {
        let role = match key.to_ascii_lowercase().as_str() {
            "server" | "data source" | "datasource" | "host" | "address" | "addr"
            | "network address" => "host",
            "user id" | "userid" | "uid" | "user" | "username" | "user name" => "username",
            "database" | "initial catalog" | "dbname" => "database",
            "port" => "port",
            "accountname" => "account",
            _ => continue,
        };
        let Some(value) = identifier_value(value.as_bytes()) else {
            continue;
        };
        if role == "host" {
            // `tcp:db.internal,1433`: host and port.
            let host = value.strip_prefix("tcp:").unwrap_or(&value);
            match host.split_once(',') {
                Some((h, p)) => {
                    out.push(("host", h.to_string()));
                    out.push(("port", p.to_string()));
                }
                None => out.push(("host", host.to_string())),
            }
        } else {
            out.push((role, value));
        }
    }
    out
}

/// Values that point at a secret kept elsewhere (or encrypted), not a secret: templates,
/// environment references, vault and secret-manager paths, SOPS and Ansible Vault blocks.
pub fn is_reference(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    const PREFIXES: &[&[u8]] = &[
        b"!vault",
        b"$ANSIBLE_VAULT",
        b"ENC[",
        b"vault:",
        b"arn:aws:secretsmanager:",
        b"arn:aws:ssm:",
        b"arn:aws:kms:",
        b"op://",
        b"ref+",
        b"sm://",
        b"secretref:",
        b"@Microsoft.KeyVault(",
        b"projects/",
        b"awskms:",
        b"gcpkms:",
        b"azkv:",
    ];
    const INSIDE: &[&[u8]] = &[b"${", b"{{", b"$(", b"%(", b"#{", b"<%", b"${{"];
    if PREFIXES.iter().any(|p| v.starts_with(p)) {
        return true;
    }
    if INSIDE.iter().any(|m| memchr::memmem::find(v, m).is_some()) {
        return true;
    }
    // `$VAR`, `<password>`, `%ENV_VAR%`
    (v.first() == Some(&b'$')
        && v.len() > 1
        && v[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_'))
        || (v.first() == Some(&b'<') && v.last() == Some(&b'>'))
        || (v.len() > 2 && v.first() == Some(&b'%') && v.last() == Some(&b'%'))
}

/// Words joined by `_` or `-`, with at most a short number at the end (`key_personal1`,
/// `my-db-pass-2024`): a name someone typed, which test and sample configurations put where a
/// credential goes; a generated credential mixes digits and letters throughout.
pub(super) fn is_words(value: &[u8]) -> bool {
    let body = value.trim_ascii_end();
    let digits = body.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let words = &body[..body.len() - digits];
    digits <= 4
        && words.iter().any(|b| matches!(b, b'_' | b'-'))
        && words
            .iter()
            .all(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'-'))
}
