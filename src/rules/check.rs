//! The format of a provider check (`--validate`): one request that asks the provider whether
//! a credential authenticates, and where its answer says who the credential is, what it may
//! do and when it ends. Checks are data in the rule files (`[checks.NAME]`, named by rules
//! with `check = "NAME"`); `validate` runs them. Only signing (AWS SigV4, a GCP JWT) is code.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One check exactly as written in a rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// The name `--validate-endpoint NAME=URL` gives a new base to (default: the check's
    /// name). Checks of one provider share it, and with it a rate limit.
    pub endpoint: Option<String>,
    /// Scheme and host, and a path prefix the endpoint may replace:
    /// `https://api.github.com`. `{id.NAME}` or `{key_id}` may stand for one DNS label (a
    /// Shopify shop, an Azure storage account).
    pub base: String,
    #[serde(default)]
    pub method: Method,
    /// Appended to the base: `/user`, `/bot{secret}/getMe`.
    pub path: String,
    /// Header templates: `Authorization = "Bearer {secret}"`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// HTTP Basic authentication: user and password templates.
    pub basic: Option<[String; 2]>,
    /// A form body (`application/x-www-form-urlencoded`), field templates.
    pub form: Option<BTreeMap<String, String>>,
    /// A JSON body template (`application/json`).
    pub json: Option<String>,
    /// Request signing done in code.
    pub sign: Option<Signer>,
    /// Status codes that mean the credential authenticates.
    pub live: Vec<u16>,
    /// Status codes that mean the provider refuses it (bad, revoked or expired).
    pub revoked: Vec<u16>,
    /// A live status only counts when the JSON answer has this value (Slack answers 200
    /// with `"ok": false`); otherwise the credential is revoked.
    pub live_if: Option<Condition>,
    /// Where the answer names the credential's identity: field name → source.
    #[serde(default)]
    pub identity: BTreeMap<String, String>,
    /// Where the answer lists its scopes (an array, or a comma- or space-separated string).
    pub scopes: Option<String>,
    /// Where the answer gives its expiry (RFC 3339, a date, GitHub's `2026-03-01 12:00:00 UTC`,
    /// or seconds since the epoch).
    pub expires: Option<String>,
    /// Where the answer gives its remaining life in seconds (Vault's `ttl`; 0 means none).
    pub ttl: Option<String>,
    /// Where the answer gives when it was made.
    pub created: Option<String>,
    /// Where the answer explains a refusal (`/error`), kept as the result's error.
    pub error: Option<String>,
}

/// A value in the JSON answer that must equal `equals`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub pointer: String,
    pub equals: serde_json::Value,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Method {
    #[default]
    #[serde(rename = "GET")]
    Get,
    #[serde(rename = "POST")]
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Checks whose request must be signed with the credential, not just carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signer {
    /// AWS Signature Version 4 with the key id (`{key_id}`) and the secret access key.
    AwsSigv4,
    /// A JWT assertion signed with a GCP service account's private key, exchanged at the
    /// token endpoint (the account's e-mail is the `client_email` identifier).
    GcpJwt,
    /// Azure Storage Shared Key: an HMAC-SHA256 of the request with the account key, for
    /// the account named by `{key_id}`.
    AzureSharedKey,
}

/// Where a value comes from in an answer: `/a/b` (a JSON pointer into the body) or
/// `header:name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    Pointer(&'a str),
    Header(&'a str),
}

impl<'a> Source<'a> {
    pub fn parse(text: &'a str) -> Option<Source<'a>> {
        if let Some(name) = text.strip_prefix("header:") {
            return (!name.is_empty()).then_some(Source::Header(name));
        }
        (text.is_empty() || text.starts_with('/')).then_some(Source::Pointer(text))
    }
}

/// What a template may say: `{secret}`, `{key_id}`, `{id.NAME}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder<'a> {
    Secret,
    KeyId,
    Identifier(&'a str),
}

/// A template as literal text and placeholders, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Value(Placeholder<'a>),
}

/// Splits a template; `Err` names the first placeholder it does not know. A brace not
/// followed by a name and `}` is text (a JSON body's own braces).
pub fn pieces(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut at = 0;
    while let Some(found) = template[at..].find('{') {
        let open = at + found;
        let name_len = template[open + 1..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
            .count();
        let close = open + 1 + name_len;
        if name_len == 0 || template.as_bytes().get(close) != Some(&b'}') {
            at = open + 1;
            continue;
        }
        let name = &template[open + 1..close];
        let value = match name {
            "secret" => Placeholder::Secret,
            "key_id" => Placeholder::KeyId,
            _ => match name.strip_prefix("id.") {
                Some(id) if !id.is_empty() => Placeholder::Identifier(id),
                _ => {
                    return Err(format!(
                        "unknown placeholder '{{{name}}}' (use {{secret}}, {{key_id}} or {{id.NAME}})"
                    ));
                }
            },
        };
        if open > text_start {
            out.push(Piece::Text(&template[text_start..open]));
        }
        out.push(Piece::Value(value));
        text_start = close + 1;
        at = text_start;
    }
    if text_start < template.len() {
        out.push(Piece::Text(&template[text_start..]));
    }
    Ok(out)
}

impl CheckSpec {
    /// The endpoint name: what `--validate-endpoint` replaces and what rate limits share.
    pub fn endpoint_name<'a>(&'a self, check_name: &'a str) -> &'a str {
        self.endpoint.as_deref().unwrap_or(check_name)
    }

    /// Every template of the check, for validation at load time.
    fn templates(&self) -> impl Iterator<Item = &str> {
        let basic = self.basic.iter().flatten().map(String::as_str);
        let form = self
            .form
            .iter()
            .flat_map(|f| f.values())
            .map(String::as_str);
        std::iter::once(self.path.as_str())
            .chain(self.headers.values().map(String::as_str))
            .chain(basic)
            .chain(form)
            .chain(self.json.as_deref())
    }

    /// What can be checked without running it: the base is https (http only to a loopback
    /// address), templates parse, sources parse, the answer codes say something.
    pub fn problems(&self) -> Option<String> {
        if let Err(message) = base_is_safe(&self.base) {
            return Some(message);
        }
        for piece in pieces(&self.base).ok()? {
            if let Piece::Value(Placeholder::Secret) = piece {
                return Some("the base may not hold the secret".into());
            }
        }
        for template in self.templates() {
            if let Err(message) = pieces(template) {
                return Some(message);
            }
        }
        if self.live.is_empty() || self.revoked.is_empty() {
            return Some("a check needs `live` and `revoked` status codes".into());
        }
        let sources = self
            .identity
            .values()
            .chain(&self.scopes)
            .chain(&self.expires)
            .chain(&self.ttl)
            .chain(&self.created)
            .chain(&self.error);
        for source in sources {
            if Source::parse(source).is_none() {
                return Some(format!(
                    "'{source}' is neither a JSON pointer (/a/b) nor header:NAME"
                ));
            }
        }
        if self.form.is_some() && self.json.is_some() {
            return Some("a check sends a form or a JSON body, not both".into());
        }
        None
    }
}

/// Scheme and host of a URL: `("https", "api.github.com")`. Ports stay on the host.
pub fn scheme_and_host(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    // Userinfo would let `https://api.github.com@evil.example` read as GitHub to a person.
    if authority.contains('@') || authority.is_empty() {
        return None;
    }
    Some((scheme, authority))
}

/// The host without its port: `127.0.0.1`, `[::1]` → `::1`.
pub fn host_name(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// Whether a host is this machine: `localhost`, `127.0.0.0/8`, `::1`.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A base URL sprawl may send a credential to: `https://` anywhere, `http://` only to this
/// machine (a mock server, a local proxy).
pub fn base_is_safe(base: &str) -> Result<(), String> {
    let Some((scheme, authority)) = scheme_and_host(base) else {
        return Err(format!("'{base}' is not an http(s) URL with a host"));
    };
    match scheme {
        "https" => Ok(()),
        "http" if is_loopback(host_name(authority)) => Ok(()),
        "http" => Err(format!(
            "'{base}': plain http is only allowed to a loopback address (use https)"
        )),
        _ => Err(format!("'{base}' is not an http(s) URL")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_split_into_text_and_placeholders() {
        assert_eq!(
            pieces("Bearer {secret}").unwrap(),
            vec![Piece::Text("Bearer "), Piece::Value(Placeholder::Secret)]
        );
        assert_eq!(
            pieces("{id.sid}:{secret}").unwrap(),
            vec![
                Piece::Value(Placeholder::Identifier("sid")),
                Piece::Text(":"),
                Piece::Value(Placeholder::Secret)
            ]
        );
        assert!(pieces("{password}").is_err());
        assert_eq!(pieces("{secret").unwrap(), vec![Piece::Text("{secret")]);
        assert_eq!(
            pieces(r#"{"query":"{ viewer { id } }","k":"{secret}"}"#).unwrap(),
            vec![
                Piece::Text(r#"{"query":"{ viewer { id } }","k":""#),
                Piece::Value(Placeholder::Secret),
                Piece::Text(r#""}"#)
            ]
        );
    }

    #[test]
    fn only_https_or_loopback_http() {
        assert!(base_is_safe("https://api.github.com").is_ok());
        assert!(base_is_safe("http://127.0.0.1:8080/api").is_ok());
        assert!(base_is_safe("http://[::1]:8080").is_ok());
        assert!(base_is_safe("http://localhost:1").is_ok());
        assert!(base_is_safe("http://api.github.com").is_err());
        assert!(base_is_safe("http://127.0.0.1.evil.example").is_err());
        assert!(base_is_safe("https://api.github.com@evil.example").is_err());
        assert!(base_is_safe("ftp://example.com").is_err());
        assert!(base_is_safe("api.github.com").is_err());
    }
}
