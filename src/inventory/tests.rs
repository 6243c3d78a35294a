//! Tests of the inventory: loading, linting, matching and verdicts.

use std::sync::Arc;

use super::*;
use crate::dates::{self, DAY};
use crate::engine::RuleInfo;
use crate::finding::{Seen, Status};
use crate::lifecycle::TypeLifetime;
use crate::rules::Kind;
use verdict::fmt_days;

const NOW: i64 = 1_795_392_000; // 2026-11-23T00:00:00Z

const EXAMPLE: &str = r#"version: 1
defaults: {max_age_days: 90}
owners:
  - {id: payments, contact: payments@example.com, status: active}
  - {id: legacy-bot, contact: old@example.com, status: offboarded}
credentials:
  - id: stripe-checkout
    owner: payments
    purpose: charge cards from the checkout service
    match: {fingerprint: "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}
    created: 2025-01-10
    rotated: 2026-10-01
    expires: 2027-01-01
    max_age_days: 30
  - id: aws-deploy
    owner: payments
    match: {key_id: AKIAXXXXXXXXXXXXXXXX}
  - id: ci-deploy-key
    owner: legacy-bot
    match: {rule: github, path: "deploy/**"}
"#;

fn finding(rule: &str, provider: &str, secret: &[u8], path: &str) -> Finding {
    let rule = Arc::new(RuleInfo {
        id: rule.into(),
        name: rule.into(),
        provider: provider.into(),
        kind: Kind::Token,
        generic: false,
        standing: crate::engine::Standing::Specific,
        weak_values: false,
        order: 0,
        description: String::new(),
        check: None,
    });
    Finding::for_test(rule, secret, path)
}

fn policy() -> Policy {
    Policy {
        now: NOW,
        max_age_days: 90,
    }
}

fn parse(text: &str) -> Inventory {
    Inventory::parse(text, "inv.yaml").unwrap()
}

fn error(text: &str) -> String {
    Inventory::parse(text, "inv.yaml").unwrap_err().to_string()
}

fn judged(f: &mut Finding, inv: Option<&Inventory>) -> Vec<Status> {
    assess(f, inv, policy());
    f.assessment.statuses.clone()
}

#[test]
fn the_issue_example_loads() {
    let inv = parse(EXAMPLE);
    assert_eq!(inv.owners.len(), 2);
    assert_eq!(inv.entries.len(), 3);
    assert_eq!(inv.default_max_age_days, Some(90));
    assert_eq!(inv.entries[0].max_age_days, Some(30));
    assert_eq!(inv.entries[0].line, 7);
    assert!(
        matches!(inv.entries[1].selector, Selector::KeyId(ref k) if k == "akiaxxxxxxxxxxxxxxxx")
    );
}

#[test]
fn malformed_inventories_name_line_and_column() {
    assert_eq!(
        error("version: 1\nowners:\n  - {id: a, contact: x, stauts: active}\n"),
        "inv.yaml:3:25: unknown field `stauts`, expected one of id, contact, status"
    );
    assert!(error("version: 1\nowners:\n  - {id: a, status: gone}\n").starts_with("inv.yaml:3:"));
    assert_eq!(
        error(
            "version: 1\ncredentials:\n  - id: c\n    match: {rule: x}\n    created: 10/01/2025\n"
        ),
        "inv.yaml:5:14: created: '10/01/2025' is not a date (expected YYYY-MM-DD or RFC 3339)"
    );
    assert!(
        error("version: 1\ncredentials:\n  - id: c\n    match: {rule: x, key_id: y}\n")
            .contains("exactly one of fingerprint, key_id or rule")
    );
    assert!(
        error("version: 1\ncredentials:\n  - id: c\n    match: {path: 'a/**'}\n")
            .contains("exactly one")
    );
    assert!(
        error("version: 1\ncredentials:\n  - id: c\n    match: {fingerprint: abc}\n")
            .starts_with("inv.yaml:4:")
    );
    assert!(error("version: 2\n").starts_with("inv.yaml:1:10: unsupported version 2"));
    assert!(error("").contains("empty inventory"));
    assert!(error("version: 1\ncredentials:\n  - id: c\n    match: {rule: x}\n  - id: c\n    match: {rule: y}\n")
            .contains("duplicate credential id 'c' (first at line 3)"));
    assert!(
        error("version: 1\ncredentials:\n  - id: c\n    match: {rule: x, path: 'a/[b'}\n")
            .starts_with("inv.yaml:4:")
    );
    assert!(error("version: 1\ndefaults: {max_age_days: 0}\n").contains("at least 1"));
    assert!(error("version: 1\ncredentials: [\n").starts_with("inv.yaml:2:"));
}

#[test]
fn no_inventory_means_orphaned_and_long_lived() {
    let mut f = finding("github-pat-classic", "github", b"s1", "a.env");
    assert_eq!(judged(&mut f, None), [Status::Orphaned, Status::LongLived]);
    assert_eq!(
        f.assessment.reasons[1],
        "no expiry and no known rotation (max 90)"
    );
}

#[test]
fn owned_by_key_id_and_fingerprint_outranks_it() {
    let inv = parse(EXAMPLE);
    let mut f = finding("aws-access-key-id", "aws", b"k", "x.env");
    f.key_id = Some("AKIAXXXXXXXXXXXXXXXX".into());
    assert_eq!(
        judged(&mut f, Some(&inv)),
        [Status::LongLived, Status::Owned]
    );
    let owner = f.assessment.owner.clone().unwrap();
    assert_eq!(
        (owner.id.as_str(), owner.inventory_id.as_str()),
        ("payments", "aws-deploy")
    );
    assert_eq!(owner.contact.as_deref(), Some("payments@example.com"));
    assert_eq!(f.assessment.matched_by, Some("key_id"));

    // "hello" is the stripe entry's fingerprint: rotated 2026-10-01, expires 2027-01-01.
    let mut f = finding("github-pat-classic", "github", b"hello", "deploy/ci.yml");
    f.key_id = Some("AKIAXXXXXXXXXXXXXXXX".into());
    let statuses = judged(&mut f, Some(&inv));
    assert_eq!(f.assessment.matched_by, Some("fingerprint"));
    assert_eq!(
        f.assessment.owner.as_ref().unwrap().inventory_id,
        "stripe-checkout"
    );
    // Its inventory window (2026-10-01 .. 2027-01-01 = 92 days) exceeds its max (30).
    assert_eq!(statuses, [Status::LongLived, Status::Owned]);
    assert_eq!(f.assessment.max_age_days, 30);
    assert_eq!(f.age_days, Some(53));
}

#[test]
fn offboarded_and_undefined_owners_orphan() {
    let inv = parse(EXAMPLE);
    let mut f = finding("github-pat-classic", "github", b"t", "deploy/keys/ci.txt");
    assert_eq!(judged(&mut f, Some(&inv))[0], Status::Orphaned);
    assert_eq!(f.assessment.reasons[0], "owner 'legacy-bot' is offboarded");
    assert_eq!(f.assessment.owner.as_ref().unwrap().status, "offboarded");
    // The glob is on the path: elsewhere nothing matches.
    let mut f = finding("github-pat-classic", "github", b"t", "src/ci.txt");
    judged(&mut f, Some(&inv));
    assert_eq!(f.assessment.reasons[0], "no inventory entry names it");

    let inv =
        parse("version: 1\ncredentials:\n  - id: x\n    owner: ghost\n    match: {rule: token}\n");
    let mut f = finding("r", "p", b"t", "a");
    assert_eq!(judged(&mut f, Some(&inv))[0], Status::Orphaned);
    assert_eq!(f.assessment.owner.as_ref().unwrap().status, "undefined");
    let report = InventoryReport::new(&inv, &[f]);
    assert_eq!(report.dangling_owners, ["x"]);
    assert!(report.stale.is_empty());
}

#[test]
fn two_equal_matches_are_ambiguous() {
    let inv = parse(
        "version: 1\nowners: [{id: a, status: active}]\ncredentials:\n  - {id: one, owner: a, match: {rule: github}}\n  - {id: two, owner: a, match: {rule: token}}\n  - {id: three, owner: a, match: {rule: github, path: 'x/**'}}\n",
    );
    let mut f = finding("github-pat-classic", "github", b"t", "a.txt");
    assert_eq!(judged(&mut f, Some(&inv))[0], Status::AmbiguousOwner);
    assert_eq!(
        f.assessment.reasons[0],
        "2 inventory entries name it by rule: one, two"
    );
    assert!(f.assessment.owner.is_none());
    // A path makes a rule entry more specific.
    let mut f = finding("github-pat-classic", "github", b"t", "x/a.txt");
    assert_eq!(judged(&mut f, Some(&inv)).last(), Some(&Status::Owned));
    assert_eq!(f.assessment.owner.unwrap().inventory_id, "three");
}

#[test]
fn expiry_boundaries() {
    let mut f = finding("jwt", "jwt", b"t", "a");
    f.lifecycle.expires_at = Some(NOW);
    assert!(
        !judged(&mut f, None).contains(&Status::Expired),
        "expiry == now is not past"
    );
    f.lifecycle.expires_at = Some(NOW - 1);
    assert!(judged(&mut f, None).contains(&Status::Expired));
    assert!(!f.assessment.statuses.contains(&Status::LongLived));
    assert_eq!(f.assessment.expires_at, Some(NOW - 1));

    let inv =
        parse("version: 1\ncredentials:\n  - {id: e, match: {rule: jwt}, expires: 2026-11-22}\n");
    let mut f = finding("jwt", "jwt", b"t", "a");
    assert!(judged(&mut f, Some(&inv)).contains(&Status::Expired));
    assert!(
        f.assessment
            .reasons
            .iter()
            .any(|r| r.contains("the inventory's expiry"))
    );
}

#[test]
fn max_age_boundaries() {
    let days = |n: i64| NOW - n * DAY;
    let rotated = |n: i64| {
        parse(&format!(
            "version: 1\nowners: [{{id: a, status: active}}]\ncredentials:\n  - {{id: e, owner: a, match: {{rule: token}}, rotated: {}}}\n",
            dates::date_utc(days(n))
        ))
    };
    let mut f = finding("r", "p", b"t", "a");
    assert_eq!(
        judged(&mut f, Some(&rotated(90))),
        [Status::Owned],
        "exactly max_age days"
    );
    assert_eq!(
        judged(&mut f, Some(&rotated(91))),
        [Status::LongLived, Status::Owned]
    );
    assert_eq!(
        f.assessment.reasons[0],
        "no expiry and last rotated 91 days ago (max 90)"
    );
    assert_eq!(f.age_days, Some(91));

    // A stated window of exactly max_age is within policy; one second more is not.
    let mut f = finding("x509", "x509", b"c", "a");
    f.lifecycle.not_before = Some(days(10));
    f.lifecycle.expires_at = Some(days(10) + 90 * DAY);
    assert_eq!(judged(&mut f, None), [Status::Orphaned]);
    f.lifecycle.expires_at = Some(days(10) + 90 * DAY + 1);
    assert_eq!(judged(&mut f, None), [Status::Orphaned, Status::LongLived]);
    assert_eq!(f.assessment.reasons[1], "valid for 90 days (max 90)");

    // An expiry without a start: long-lived when more than max_age is left.
    let mut f = finding("jwt", "jwt", b"j", "a");
    f.lifecycle.expires_at = Some(NOW + 400 * DAY);
    assert!(judged(&mut f, None).contains(&Status::LongLived));
    f.lifecycle.expires_at = Some(NOW + 30 * DAY);
    assert!(!judged(&mut f, None).contains(&Status::LongLived));
}

#[test]
fn temporary_credentials_are_short_lived_and_history_dates_age() {
    let mut f = finding("github-app-installation-token", "github", b"g", "a");
    f.lifecycle.type_lifetime = Some(TypeLifetime {
        seconds: 3600,
        reason: "GitHub App installation token (1 hour)".into(),
    });
    assert_eq!(judged(&mut f, None), [Status::Orphaned]);

    let mut f = finding("r", "p", b"h", "a");
    f.first_seen = Some(Seen {
        commit: "c".into(),
        date: String::new(),
        author: String::new(),
        time: NOW - 1204 * DAY,
    });
    judged(&mut f, None);
    assert_eq!(
        f.assessment.reasons[1],
        "no expiry and first seen 1,204 days ago (max 90)"
    );
    assert_eq!(f.age_days, Some(1204));
}

#[test]
fn check_lists_what_a_valid_file_gets_wrong() {
    let inv = parse(EXAMPLE);
    let problems = inv.problems(NOW, |r| r == "github");
    assert_eq!(
        problems,
        [(
            18,
            "'ci-deploy-key': owner 'legacy-bot' is offboarded; transfer or revoke it".into()
        )]
    );
    let problems = inv.problems(NOW, |_| false);
    assert!(
        problems[1]
            .1
            .contains("'github' is not a rule id, provider or kind")
    );
}

#[test]
fn hex_ids_compare_without_case_or_colons() {
    assert_eq!(normalize_id("AB:CD:EF"), "abcdef");
    // A thumbprint written the way sprawl prints fingerprints, in any case.
    assert_eq!(normalize_id("sha256:ABCDEF01"), "abcdef01");
    assert_eq!(normalize_id("SHA256:ab:cd:ef:01"), "abcdef01");
    assert_eq!(normalize_id("AKIAXX"), "akiaxx");
    assert_eq!(fmt_days(1204), "1,204 days");
    assert_eq!(fmt_days(5), "5 days");
    assert_eq!(fmt_days(1), "1 day");
}
