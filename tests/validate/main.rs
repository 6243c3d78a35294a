//! `--validate` against mock providers on 127.0.0.1: for every provider check, the exact
//! request (method, path, the header that carries the secret) and the result for a live
//! token, a revoked one, a rate limit and a server error, as the provider's API documentation
//! describes them; then what a hostile endpoint cannot do, and that a scan without
//! `--validate` opens no connection. No test reaches the internet.

mod mock;

mod core;
mod e2e;
mod safety;

mod ai;
mod cloud;
mod devtools;
mod saas;

use std::collections::BTreeMap;
use std::time::Duration;

use mock::{Mock, Recorded, Reply};
use sprawl::rules::RuleSet;
use sprawl::validate::{self, Credential, Outcome, Settings, Validation};

/// How a check must carry the secret.
pub enum Auth {
    /// A header that must hold exactly this value.
    Header(&'static str, &'static str),
    /// HTTP Basic with this user and password.
    Basic(&'static str, &'static str),
    /// In the path (the case's `path` says where).
    InPath,
    /// Checked by a function of the case's own.
    Custom(fn(&Case, &Recorded)),
}

/// An answer a provider gives: status, headers, body.
pub struct Answer {
    pub status: u16,
    pub headers: &'static [(&'static str, &'static str)],
    pub body: &'static str,
}

/// One provider check, as its documentation describes it.
pub struct Case {
    pub rule: &'static str,
    /// A fake of the right format.
    pub secret: &'static str,
    pub key_id: Option<&'static str>,
    pub identifiers: &'static [(&'static str, &'static str)],
    /// The `--validate-endpoint` name, and what the mock's URL stands for in it
    /// (`/api/v3` for GitHub Enterprise): the request path is then `prefix + path`.
    pub endpoint: &'static str,
    pub prefix: &'static str,
    pub method: &'static str,
    /// Path and query, as sent.
    pub path: &'static str,
    pub auth: Auth,
    /// The exact body sent, when the check sends one.
    pub body: Option<&'static str>,
    pub live: Answer,
    /// Identity fields the live answer must give.
    pub identity: &'static [(&'static str, &'static str)],
    pub scopes: &'static [&'static str],
    /// The expiry the live answer gives, RFC 3339.
    pub expires: Option<&'static str>,
    pub revoked: Answer,
}

pub fn rules() -> &'static RuleSet {
    static RULES: std::sync::OnceLock<RuleSet> = std::sync::OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().expect("built-in rules load"))
}

pub fn settings(endpoint: &str, url: String) -> Settings {
    Settings {
        endpoints: BTreeMap::from([(endpoint.to_string(), url)]),
        timeout: Duration::from_secs(5),
        budget: Duration::from_secs(30),
        cache: None,
    }
}

/// Runs `case`'s check against a mock giving `reply`; returns the result and the requests.
pub fn ask(case: &Case, reply: Reply) -> (Validation, Vec<Recorded>) {
    let rule = rules()
        .get(case.rule)
        .unwrap_or_else(|| panic!("no rule {}", case.rule));
    let named = rule
        .resolved_check
        .clone()
        .unwrap_or_else(|| panic!("rule {} has no check", case.rule));
    assert_eq!(
        named.endpoint(),
        case.endpoint,
        "{}: endpoint name",
        case.rule
    );
    let mock = Mock::answering(reply);
    let identifiers: BTreeMap<String, String> = case
        .identifiers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let credential = Credential {
        secret: case.secret.as_bytes(),
        key_id: case.key_id,
        identifiers: &identifiers,
    };
    let url = format!("{}{}", mock.url(), case.prefix);
    let v = validate::validate_one(&named, &credential, &settings(case.endpoint, url));
    (v, mock.requests())
}

fn reply(answer: &Answer) -> Reply {
    let mut r = Reply::json(answer.status, answer.body);
    for (n, v) in answer.headers {
        r = r.with_header(n, v);
    }
    r
}

/// The request a check sent, against the case.
pub fn assert_request(case: &Case, sent: &Recorded) {
    let rule = case.rule;
    assert_eq!(sent.method, case.method, "{rule}: method");
    assert_eq!(
        sent.path,
        format!("{}{}", case.prefix, case.path),
        "{rule}: path"
    );
    match &case.auth {
        Auth::Header(name, value) => {
            assert_eq!(sent.header(name), Some(*value), "{rule}: header {name}");
        }
        Auth::Basic(user, password) => {
            use base64::Engine as _;
            let expected =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            assert_eq!(
                sent.header("authorization"),
                Some(format!("Basic {expected}").as_str()),
                "{rule}: basic authentication"
            );
        }
        Auth::InPath => assert!(
            sent.path.contains(case.secret),
            "{rule}: secret in the path"
        ),
        Auth::Custom(check) => check(case, sent),
    }
    if let Some(body) = case.body {
        assert_eq!(sent.body_text(), body, "{rule}: body");
    }
}

/// Live, revoked, rate-limited and failing answers for one case.
pub fn exercise(case: &Case) {
    let rule = case.rule;

    let (v, sent) = ask(case, reply(&case.live));
    assert_eq!(sent.len(), 1, "{rule}: one request for a live token");
    assert_request(case, &sent[0]);
    assert_eq!(v.result, Outcome::Live, "{rule}: live answer read as {v:?}");
    for (field, value) in case.identity {
        assert_eq!(
            v.identity.get(*field).map(String::as_str),
            Some(*value),
            "{rule}: identity {field} in {:?}",
            v.identity
        );
    }
    assert_eq!(v.scopes, case.scopes, "{rule}: scopes");
    assert_eq!(
        v.expires_at,
        case.expires
            .map(|e| sprawl::dates::parse_rfc3339(e).expect("test date")),
        "{rule}: expiry"
    );
    assert_no_secret(case, &v);

    let (v, sent) = ask(case, reply(&case.revoked));
    assert_eq!(sent.len(), 1, "{rule}: one request for a revoked token");
    assert_eq!(
        v.result,
        Outcome::Revoked,
        "{rule}: revoked answer read as {v:?}"
    );
    assert_no_secret(case, &v);

    let limited = Reply::json(429, r#"{"message":"rate limited"}"#).with_header("Retry-After", "0");
    let (v, sent) = ask(case, limited);
    assert_eq!(v.result, Outcome::Unknown, "{rule}: 429");
    assert!(
        (2..=3).contains(&sent.len()),
        "{rule}: a 429 is retried, a bounded number of times ({} requests)",
        sent.len()
    );

    let (v, _) = ask(case, Reply::json(503, r#"{"message":"down"}"#));
    assert_eq!(v.result, Outcome::Unknown, "{rule}: 503");
    assert!(
        v.error.as_deref().is_some_and(|e| e.contains("503")),
        "{rule}: {v:?}"
    );
}

/// Every rule of a provider shares its check.
pub fn uses_check(rules: &[&str], check: &str) {
    for id in rules {
        let rule = rules_by_id(id);
        let named = rule
            .resolved_check
            .as_ref()
            .unwrap_or_else(|| panic!("rule {id} has no check"));
        assert_eq!(named.name, check, "{id}: check");
    }
}

fn rules_by_id(id: &str) -> &'static sprawl::rules::Rule {
    rules().get(id).unwrap_or_else(|| panic!("no rule {id}"))
}

pub fn assert_no_secret(case: &Case, v: &Validation) {
    let shown = format!("{v:?}");
    assert!(
        !shown.contains(case.secret),
        "{}: the result repeats the secret",
        case.rule
    );
}
