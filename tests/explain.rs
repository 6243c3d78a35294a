//! Nothing is dropped silently: `sprawl explain` shows every candidate and its verdict, a
//! scan's summary counts the look-alikes it dropped, and `sprawl rules example` prints a
//! fake credential that a scan reports (for testing a hook with something real-shaped).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn sprawl(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sprawl"))
        .current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sprawl runs");
    let mut input = child.stdin.take().expect("piped");
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A hand-typed token: the right prefix and length, not the checksum GitHub puts in its
/// last six characters.
const HAND_TYPED: &str = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";

#[test]
fn a_hand_typed_token_is_dropped_and_the_summary_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let input = format!("GITHUB_TOKEN={HAND_TYPED}\n");
    let out = sprawl(dir.path(), &["scan", "-", "--no-inventory"], Some(&input));
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let note = text
        .lines()
        .find(|l| l.starts_with("note: "))
        .unwrap_or_else(|| panic!("a note line: {text}"));
    assert!(note.contains("1 look-alike"), "{note}");
    assert!(note.contains("checksum or placeholder"), "{note}");
    assert!(note.contains("sprawl explain"), "{note}");
    assert!(!text.contains(HAND_TYPED), "{text}");

    let out = sprawl(dir.path(), &["scan", "-", "--format", "json"], Some(&input));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["dropped"]["format_check"], 1);

    // explain reads standard input too, and says why.
    let out = sprawl(dir.path(), &["explain", "-"], Some(&input));
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("<stdin>:1:14  github-pat-classic  ghp_…  dropped: checksum failed"),
        "{text}"
    );
    assert!(!text.contains(HAND_TYPED), "{text}");
}

#[test]
fn rules_example_prints_a_token_that_a_scan_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out = sprawl(
        dir.path(),
        &["rules", "example", "github-pat-classic"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let example = stdout(&out);
    assert!(example.contains("ghp_"), "{example}");
    let out = sprawl(dir.path(), &["scan", "-", "--no-inventory"], Some(&example));
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let out = sprawl(dir.path(), &["rules", "example", "no-such-rule"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_putty_key_with_a_dummy_comment_is_reported() {
    // The rule's own example, with the comment leaky-repo's key carries: the comment is
    // not key material, so it cannot make the key a placeholder.
    let dir = tempfile::tempdir().unwrap();
    let out = sprawl(dir.path(), &["rules", "example", "putty-private-key"], None);
    let key = stdout(&out).replace("Comment: rsa-key-20231104", "Comment: dummy-key");
    assert!(key.contains("Comment: dummy-key"));
    std::fs::write(dir.path().join("putty-example.ppk"), &key).unwrap();
    let out = sprawl(
        dir.path(),
        &["scan", ".", "--format", "json", "--no-inventory"],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["findings"][0]["rule"]["id"], "putty-private-key");
    let out = sprawl(dir.path(), &["explain", "putty-example.ppk"], None);
    assert!(
        stdout(&out).contains("putty-private-key  PuTT…  reported"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn explain_gives_every_candidate_its_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let valid = stdout(&sprawl(
        dir.path(),
        &["rules", "example", "stripe-secret-key"],
        None,
    ));
    let lines = [
        format!("GITHUB_TOKEN={HAND_TYPED}"),
        "password = getPassword()".to_string(),
        "aws_key = AKIAIOSFODNN7EXAMPLE".to_string(),
        "DB_PASSWORD=Zq8!vR2#pLw7xN  # sprawl:allow test database".to_string(),
        // An allow comment covers its line and the one below: keep the Stripe key apart.
        String::new(),
        valid.trim().to_string(),
    ];
    std::fs::write(dir.path().join("app.env"), lines.join("\n") + "\n").unwrap();
    let out = sprawl(dir.path(), &["explain", "app.env"], None);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let line_of = |n: usize, rule: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("app.env:{n}:")) && l.contains(&format!("  {rule}  ")))
            .unwrap_or_else(|| panic!("no line {n} for {rule}:\n{text}"))
            .to_string()
    };
    assert!(line_of(1, "github-pat-classic").contains("dropped: checksum failed"));
    assert!(line_of(1, "generic-token").contains("gave way to github-pat-classic"));
    assert!(line_of(2, "generic-password").contains("dropped: the value is"));
    assert!(line_of(3, "aws-access-key-id").contains("dropped: matches one of the rule's allow"));
    assert!(line_of(4, "generic-password").contains("suppressed: sprawl:allow: test database"));
    assert!(line_of(6, "stripe-secret-key").ends_with("reported"));
    assert!(
        text.lines().last().unwrap().starts_with("explain: "),
        "{text}"
    );
    assert!(!text.contains("Zq8!vR2#pLw7xN") && !text.contains(HAND_TYPED));

    // FILE:LINE keeps that line; --show-secrets shows the candidates in clear.
    let out = sprawl(
        dir.path(),
        &["explain", "app.env:4", "--show-secrets"],
        None,
    );
    let text = stdout(&out);
    assert!(
        text.lines()
            .all(|l| l.starts_with("app.env:4:") || l.starts_with("explain: "))
    );
    assert!(text.contains("Zq8!vR2#pLw7xN"), "{text}");
    assert!(text.contains("on line 4"), "{text}");

    // A file where no rule's keyword occurs says so.
    std::fs::write(dir.path().join("plain.txt"), "nothing here\n").unwrap();
    let text = stdout(&sprawl(dir.path(), &["explain", "plain.txt"], None));
    assert!(
        text.starts_with("explain: no candidate in 1 input"),
        "{text}"
    );
}
