//! Runs one check: fills its templates with the credential, sends the request and reads the
//! answer as the check says (which codes mean live or revoked, where identity, scopes and
//! expiry are).

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value;

use super::http::{Answer, Client, Failure, Request};
use super::sign;
use super::{Credential, Outcome, Validation};
use crate::rules::NamedCheck;
use crate::rules::check::{Piece, Placeholder, Signer, Source, pieces, scheme_and_host};

/// The longest identity value kept (a hostile answer could send megabytes of name).
const MAX_FIELD: usize = 200;
const MAX_SCOPES: usize = 100;

/// Asks the provider about `credential`. `base` replaces the check's own base
/// (`--validate-endpoint`).
pub fn run(
    check: &NamedCheck,
    credential: &Credential<'_>,
    base: Option<&str>,
    client: &Client,
    now: i64,
) -> Validation {
    let spec = &check.spec;
    let built = match build(check, credential, base) {
        Ok(built) => built,
        Err(message) => return Validation::unknown(now, message),
    };
    let answer = match client.send(check.endpoint(), &built.host, &built.request) {
        Ok(answer) => answer,
        Err(failure) => return Validation::unknown(now, failure_text(&failure)),
    };
    let mut validation = read(check, &answer, now);
    // Belt and braces: nothing the answer said may repeat the secret into the report.
    validation.scrub(credential.secret);
    // What the request was made with names the identity where the answer does not.
    if validation.result == Outcome::Live {
        let known = match spec.sign {
            Some(Signer::AwsSigv4) => credential.key_id.map(|id| ("access_key_id", id)),
            Some(Signer::AzureSharedKey) => credential.key_id.map(|id| ("account", id)),
            Some(Signer::GcpJwt) => credential
                .identifiers
                .get("client_email")
                .map(|email| ("email", email.as_str())),
            None => None,
        };
        if let Some((field, value)) = known {
            validation
                .identity
                .entry(field.into())
                .or_insert_with(|| value.to_string());
        }
    }
    validation
}

fn failure_text(failure: &Failure) -> String {
    failure.to_string()
}

/// The request, and the host it may go to.
struct Built {
    request: Request,
    host: String,
}

fn build(
    check: &NamedCheck,
    credential: &Credential<'_>,
    base: Option<&str>,
) -> Result<Built, String> {
    let spec = &check.spec;
    let secret = std::str::from_utf8(credential.secret)
        .map_err(|_| "the secret is not text; the check cannot send it".to_string())?;
    let fill = |template: &str, encode: Encoding| fill(template, secret, credential, encode);
    let base = match base {
        Some(base) => base.trim_end_matches('/').to_string(),
        None => fill(&spec.base, Encoding::HostLabel)?,
    };
    let url = format!("{base}{}", fill(&spec.path, Encoding::Path)?);
    let Some((_, host)) = scheme_and_host(&base) else {
        return Err("the check's base is not a URL".into());
    };
    let host = host.to_string();
    let mut headers = Vec::new();
    for (name, template) in &spec.headers {
        headers.push((name.clone(), fill(template, Encoding::Header)?));
    }
    if let Some([user, password]) = &spec.basic {
        let pair = format!(
            "{}:{}",
            fill(user, Encoding::Header)?,
            fill(password, Encoding::Header)?
        );
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        headers.push(("Authorization".into(), format!("Basic {encoded}")));
    }
    let mut body = None;
    if let Some(form) = &spec.form {
        let mut fields = Vec::new();
        for (name, template) in form {
            fields.push(format!(
                "{}={}",
                form_encode(name),
                fill(template, Encoding::Form)?
            ));
        }
        body = Some(fields.join("&").into_bytes());
        headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    if let Some(json) = &spec.json {
        body = Some(fill(json, Encoding::Json)?.into_bytes());
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("accept"))
    {
        headers.push(("Accept".into(), "application/json".into()));
    }
    let mut request = Request {
        method: spec.method,
        url,
        headers,
        body,
    };
    match spec.sign {
        None => {}
        Some(Signer::AwsSigv4) => {
            let key_id = credential.key_id.ok_or(
                "the check needs the access key id, which was not found beside the secret",
            )?;
            sign::aws_sigv4(&mut request, key_id, secret)?;
        }
        Some(Signer::AzureSharedKey) => {
            let account = credential.key_id.ok_or(
                "the check needs the storage account name, which was not found beside the key",
            )?;
            sign::azure_shared_key(&mut request, account, secret)?;
        }
        Some(Signer::GcpJwt) => {
            let email = credential.identifiers.get("client_email").ok_or(
                "the check needs the service account's client_email, which was not found beside the key",
            )?;
            sign::gcp_assertion(&mut request, secret, email)?;
        }
    }
    Ok(Built { request, host })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// One DNS label (`{id.shop}` in a base): anything else is refused.
    HostLabel,
    Path,
    Header,
    Form,
    Json,
}

fn fill(
    template: &str,
    secret: &str,
    credential: &Credential<'_>,
    encoding: Encoding,
) -> Result<String, String> {
    let mut out = String::new();
    for piece in pieces(template)? {
        let value = match piece {
            // A form's literal text is a value too (`urn:ietf:...` is sent encoded).
            Piece::Text(text) if encoding == Encoding::Form => {
                out.push_str(&form_encode(text));
                continue;
            }
            Piece::Text(text) => {
                out.push_str(text);
                continue;
            }
            Piece::Value(Placeholder::Secret) => secret,
            Piece::Value(Placeholder::KeyId) => credential
                .key_id
                .ok_or("the check needs the credential's key id, which was not found beside it")?,
            Piece::Value(Placeholder::Identifier(name)) => credential
                .identifiers
                .get(name)
                .map(String::as_str)
                .ok_or_else(|| {
                    format!("the check needs '{name}', which was not found beside the credential")
                })?,
        };
        match encoding {
            Encoding::HostLabel => {
                if !is_dns_label(value) {
                    return Err(
                        "an identifier meant for the host name is not a host name label".into(),
                    );
                }
                out.push_str(value);
            }
            Encoding::Path => out.push_str(&percent_encode(value, b"-._~:@!$&'()*+,;=")),
            Encoding::Form => out.push_str(&form_encode(value)),
            Encoding::Header => {
                if value.bytes().any(|b| b.is_ascii_control()) {
                    return Err("the value holds control characters; not sent in a header".into());
                }
                out.push_str(value);
            }
            Encoding::Json => {
                let quoted = serde_json::to_string(value).unwrap_or_default();
                out.push_str(&quoted[1..quoted.len().saturating_sub(1).max(1)]);
            }
        }
    }
    Ok(out)
}

fn is_dns_label(text: &str) -> bool {
    (1..=63).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

fn percent_encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn form_encode(text: &str) -> String {
    percent_encode(text, b"-._~")
}

/// The verdict and the facts the answer gives.
fn read(check: &NamedCheck, answer: &Answer, now: i64) -> Validation {
    let spec = &check.spec;
    let json: Option<Value> = serde_json::from_slice(&answer.body).ok();
    let get = |source: &str| -> Option<Value> {
        match Source::parse(source)? {
            Source::Header(name) => answer.header(name).map(|v| Value::String(v.to_string())),
            Source::Pointer(pointer) => json.as_ref()?.pointer(pointer).cloned(),
        }
    };
    let status = answer.status;
    let mut v = Validation::new(Outcome::Unknown, now);
    if spec.live.contains(&status) {
        v.result = Outcome::Live;
        if let Some(condition) = &spec.live_if {
            match &json {
                None => {
                    v.result = Outcome::Unknown;
                    v.error = Some(format!("HTTP {status} with an answer that is not JSON"));
                    return v;
                }
                Some(doc) if doc.pointer(&condition.pointer) != Some(&condition.equals) => {
                    v.result = Outcome::Revoked;
                }
                Some(_) => {}
            }
        }
    } else if spec.revoked.contains(&status) {
        v.result = Outcome::Revoked;
    } else {
        v.error = Some(match status {
            429 => "rate limited by the provider".into(),
            500..=599 => format!("the provider failed (HTTP {status})"),
            _ => format!("unexpected answer HTTP {status}"),
        });
        return v;
    }
    if v.result == Outcome::Revoked {
        let reason = spec.error.as_deref().and_then(get).and_then(|e| text(&e));
        v.error = Some(match reason {
            Some(reason) => format!("HTTP {status}: {reason}"),
            None => format!("HTTP {status}"),
        });
        return v;
    }
    for (field, source) in &spec.identity {
        if let Some(value) = get(source).as_ref().and_then(text) {
            v.identity.insert(field.clone(), value);
        }
    }
    if let Some(scopes) = spec.scopes.as_deref().and_then(get) {
        v.scopes = scope_list(&scopes);
    }
    v.expires_at = spec.expires.as_deref().and_then(get).and_then(|e| time(&e));
    if let Some(ttl) = spec.ttl.as_deref().and_then(get).and_then(|t| t.as_i64())
        && ttl > 0
    {
        v.expires_at = Some(crate::lifecycle::clamp_time(now.saturating_add(ttl)));
    }
    v.created_at = spec.created.as_deref().and_then(get).and_then(|c| time(&c));
    let needs_json = !spec.identity.is_empty()
        || [&spec.scopes, &spec.expires, &spec.ttl, &spec.created]
            .iter()
            .any(|s| s.as_deref().is_some_and(|s| s.starts_with('/')));
    if needs_json && json.is_none() {
        v.error = Some("the answer is not JSON: identity not read".into());
    }
    v
}

/// A JSON value as one line of printable text, bounded.
fn text(value: &Value) -> Option<String> {
    let raw = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => items.iter().filter_map(text).collect::<Vec<_>>().join(", "),
        Value::Null | Value::Object(_) => return None,
    };
    let clean: String = raw
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FIELD)
        .collect();
    (!clean.is_empty()).then_some(clean)
}

fn scope_list(value: &Value) -> Vec<String> {
    let words: Vec<String> = match value {
        Value::Array(items) => items.iter().filter_map(text).collect(),
        Value::String(s) => s
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    };
    words
        .into_iter()
        .filter_map(|w| text(&Value::String(w)))
        .take(MAX_SCOPES)
        .collect()
}

/// A time as providers write it: RFC 3339, `2026-03-01 12:00:00 UTC` (GitHub), a bare date
/// (GitLab), or seconds (or milliseconds) since the epoch; clamped to years 1–9999 like every
/// time a credential states, since verdicts subtract them.
fn time(value: &Value) -> Option<i64> {
    let t = match value {
        Value::Number(n) => {
            let t = n.as_i64()?;
            Some(if t > 100_000_000_000 { t / 1000 } else { t })
        }
        Value::String(s) => parse_time(s.trim()),
        _ => None,
    };
    t.map(crate::lifecycle::clamp_time)
}

pub(crate) fn parse_time(text: &str) -> Option<i64> {
    use crate::dates::parse_rfc3339;
    if let Some(t) = parse_rfc3339(text) {
        return Some(t);
    }
    if let Some(day) = text.get(..10)
        && text.len() == 10
    {
        return parse_rfc3339(&format!("{day}T00:00:00Z"));
    }
    // `2026-03-01 12:00:00 UTC`, `2026-03-01 12:00:00 +0100`
    let (day, rest) = text.split_once(' ')?;
    let (clock, zone) = rest.split_once(' ').unwrap_or((rest, "UTC"));
    let zone = match zone {
        "UTC" | "GMT" | "Z" => "Z".to_string(),
        z if z.len() == 5 && z.is_ascii() => format!("{}:{}", &z[..3], &z[3..]),
        z => z.to_string(),
    };
    parse_rfc3339(&format!("{day}T{clock}{zone}"))
}

/// Identifiers of a credential that a template may name, by name.
pub type Identifiers = BTreeMap<String, String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_times() {
        assert_eq!(parse_time("2026-03-01"), parse_time("2026-03-01T00:00:00Z"));
        assert_eq!(
            parse_time("2026-03-01 12:00:00 UTC"),
            parse_time("2026-03-01T12:00:00Z")
        );
        assert_eq!(
            parse_time("2026-03-01 13:00:00 +0100"),
            parse_time("2026-03-01T12:00:00Z")
        );
        assert_eq!(
            time(&serde_json::json!(1_700_000_000_000i64)),
            Some(1_700_000_000)
        );
        assert_eq!(parse_time("soon"), None);
    }

    #[test]
    fn values_are_encoded_for_where_they_go() {
        let ids = Identifiers::from([("shop".to_string(), "evil.example/".to_string())]);
        let credential = Credential {
            secret: b"a b/c",
            key_id: None,
            identifiers: &ids,
        };
        assert_eq!(
            fill("/bot{secret}", "a b/c", &credential, Encoding::Path).unwrap(),
            "/bota%20b%2Fc"
        );
        assert_eq!(
            fill("{secret}", "a b/c", &credential, Encoding::Form).unwrap(),
            "a%20b%2Fc"
        );
        assert!(
            fill(
                "https://{id.shop}.myshopify.com",
                "",
                &credential,
                Encoding::HostLabel
            )
            .is_err()
        );
        assert!(
            fill(
                "Bearer {secret}",
                "x\r\nHost: evil",
                &credential,
                Encoding::Header
            )
            .is_err()
        );
        assert_eq!(
            fill(r#"{"k":"{secret}"}"#, "q\"", &credential, Encoding::Json).unwrap(),
            r#"{"k":"q\""}"#
        );
    }

    #[test]
    fn answer_text_is_one_bounded_printable_line() {
        let evil = format!("\u{1b}[31mroot\n{}", "x".repeat(1000));
        let t = text(&Value::String(evil)).unwrap();
        assert!(t.starts_with("[31mroot"));
        assert_eq!(t.chars().count(), MAX_FIELD);
    }
}
