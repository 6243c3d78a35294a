//! The whole validation stage on findings: the budget, and what has no check.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Outcome, Settings, validate_all};
use crate::engine::{RuleInfo, Standing};
use crate::finding::Finding;
use crate::rules::{Kind, RuleSet};

fn rule(check: Option<Arc<crate::rules::NamedCheck>>) -> Arc<RuleInfo> {
    Arc::new(RuleInfo {
        id: "github-pat-classic".into(),
        name: "GitHub personal access token (classic)".into(),
        provider: "github".into(),
        kind: Kind::Token,
        generic: false,
        standing: Standing::Specific,
        weak_values: false,
        order: 0,
        description: String::new(),
        check,
    })
}

#[test]
fn the_budget_bounds_the_whole_stage() {
    // Connections complete in the kernel's backlog; nothing ever answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let set = RuleSet::builtin().unwrap();
    let check = set
        .get("github-pat-classic")
        .unwrap()
        .resolved_check
        .clone();
    let rule = rule(check);
    let mut findings: Vec<Finding> = (0..10)
        .map(|i| Finding::for_test(rule.clone(), format!("token-{i}").as_bytes(), "a.env"))
        .collect();
    let settings = Settings {
        endpoints: BTreeMap::from([("github".to_string(), url)]),
        timeout: Duration::from_secs(2),
        budget: Duration::from_secs(3),
        cache: None,
    };
    let started = Instant::now();
    let counts = validate_all(&mut findings, &settings);
    // Two at a time, 2 s each: ten would take 10 s without the budget.
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(counts.unknown, 10);
    let errors: Vec<&str> = findings
        .iter()
        .filter_map(|f| f.validation.as_ref()?.error.as_deref())
        .collect();
    assert!(errors.contains(&"no answer within 2 s"), "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("budget was spent")),
        "{errors:?}"
    );
    drop(listener);
}

#[test]
fn findings_without_a_check_are_unsupported_and_ask_nobody() {
    let mut findings = vec![Finding::for_test(rule(None), b"hunter2-secret", "a.env")];
    let counts = validate_all(&mut findings, &Settings::default());
    assert_eq!(counts.unsupported, 1);
    let v = findings[0].validation.as_ref().unwrap();
    assert_eq!(v.result, Outcome::Unsupported);
    assert!(v.error.is_none() && v.check.is_none());
}
