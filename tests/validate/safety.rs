//! What a hostile or broken endpoint cannot do: hang sprawl, fill its memory, lead the
//! secret to another host, or put the secret into a result.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::mock::{Mock, Reply};
use super::rules;
use sprawl::validate::{self, Credential, Outcome, Settings, Validation};

const TOKEN: &str = "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";

fn github(mock: &Mock, timeout: u64) -> Validation {
    check_at("github-pat-classic", TOKEN, &mock.url(), timeout)
}

fn check_at(rule: &str, secret: &str, url: &str, timeout: u64) -> Validation {
    let named = rules().get(rule).unwrap().resolved_check.clone().unwrap();
    let ids = BTreeMap::new();
    let settings = Settings {
        endpoints: BTreeMap::from([(named.endpoint().to_string(), url.to_string())]),
        timeout: Duration::from_secs(timeout),
        budget: Duration::from_secs(20),
        cache: None,
    };
    let credential = Credential {
        secret: secret.as_bytes(),
        key_id: None,
        identifiers: &ids,
    };
    validate::validate_one(&named, &credential, &settings)
}

#[test]
fn a_silent_endpoint_times_out() {
    let mock = Mock::answering(Reply::Silent(Duration::from_secs(30)));
    let started = Instant::now();
    let v = github(&mock, 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(v.result, Outcome::Unknown);
    assert_eq!(v.error.as_deref(), Some("no answer within 1 s"));
}

#[test]
fn an_endless_body_is_cut_at_the_bound() {
    let mock = Mock::answering(Reply::Endless);
    let started = Instant::now();
    let v = github(&mock, 10);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(v.result, Outcome::Unknown);
    assert!(v.error.as_deref().unwrap().contains("larger than"), "{v:?}");
}

#[test]
fn no_redirect_is_followed_to_another_host_or_in_a_loop() {
    let elsewhere = Mock::answering(Reply::json(200, r#"{"login":"thief"}"#));
    let mock = Mock::answering(Reply::Redirect(format!("{}/user", elsewhere.url())));
    let v = github(&mock, 5);
    assert_eq!(v.result, Outcome::Unknown);
    assert!(v.error.as_deref().unwrap().contains("redirect"), "{v:?}");
    assert_eq!(
        elsewhere.connections(),
        0,
        "the secret went to the redirect's host"
    );

    let looping = Mock::start(|r| Reply::Redirect(r.path.clone()));
    let v = github(&looping, 5);
    assert_eq!(v.result, Outcome::Unknown);
    assert_eq!(looping.requests().len(), 1);
}

#[test]
fn malformed_json_is_read_without_identity() {
    let mock = Mock::answering(Reply::json(200, "{\"login\": \"deploy-bot\", oops"));
    let v = github(&mock, 5);
    // The status says the token authenticates; the body could not say who it is.
    assert_eq!(v.result, Outcome::Live);
    assert!(v.identity.is_empty());
    assert!(v.error.as_deref().unwrap().contains("not JSON"));

    // Slack's verdict is in the body: without it, nothing can be concluded.
    let slack = "xoxb-10263082079-8305494993314-sxgOh1Zf7s92rAFTKSeSar2s";
    let v = check_at("slack-bot-token", slack, &mock.url(), 5);
    assert_eq!(v.result, Outcome::Unknown);
}

#[test]
fn an_answer_that_echoes_the_secret_is_scrubbed() {
    let body = format!(r#"{{"login":"{TOKEN}","name":"x {TOKEN} y"}}"#);
    let mock = Mock::answering(Reply::json(200, &body));
    let v = github(&mock, 5);
    assert_eq!(
        v.identity.get("login").map(String::as_str),
        Some("[secret]")
    );
    assert!(!format!("{v:?}").contains(TOKEN));
}

#[test]
fn connection_errors_never_carry_the_url() {
    // Telegram's token is part of the path: an error message quoting the URL would leak it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let v = github_at_url(&url);
    assert_eq!(v.result, Outcome::Unknown);
    let error = v.error.unwrap();
    assert!(error.starts_with("cannot connect"), "{error}");
    assert!(
        !error.contains(TOKEN) && !error.contains("127.0.0.1"),
        "{error}"
    );
}

fn github_at_url(url: &str) -> Validation {
    check_at("github-pat-classic", TOKEN, url, 2)
}

#[test]
fn retry_after_is_honoured() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    let mock = Mock::start(move |_| {
        if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            Reply::json(429, "{}").with_header("Retry-After", "1")
        } else {
            Reply::json(200, r#"{"login":"deploy-bot"}"#)
        }
    });
    let started = Instant::now();
    let v = github(&mock, 5);
    assert!(started.elapsed() >= Duration::from_millis(950));
    assert_eq!(v.result, Outcome::Live);
    assert_eq!(mock.requests().len(), 2);

    // A wait longer than sprawl will give is not waited for.
    let mock = Mock::answering(Reply::json(429, "{}").with_header("Retry-After", "3600"));
    let started = Instant::now();
    let v = github(&mock, 5);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(v.error.as_deref(), Some("rate limited by the provider"));
    assert_eq!(mock.requests().len(), 1);
}

#[test]
fn only_https_or_loopback_endpoints_are_accepted() {
    assert!(validate::parse_endpoint("github=http://ghe.acme.io/api/v3").is_err());
    assert!(validate::parse_endpoint("github=https://ghe.acme.io/api/v3").is_ok());
    assert!(validate::parse_endpoint("github=http://127.0.0.1:9/api/v3").is_ok());
    assert!(validate::parse_endpoint("github=https://user@evil.example").is_err());
    assert!(validate::parse_endpoint("=https://x.example").is_err());
}
