//! End-to-end tests of the pull-request and pre-commit gates on repositories built at test
//! time: a range or a staged change is judged by the lines it adds, never by the old lines
//! around them, and what it cannot see (fixed baseline entries, inventory entries elsewhere)
//! it does not claim.

mod common;

use common::{Repo, github_token, show, token};

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const STRIPE: &str = "sk_live_Zx9Lk4Tr8Wn6Vp3Js5HmB7q2";
const SLACK: &str = "xoxb-2424242424-4242424242424-Zx9Lk4Tr8Wn6Vp3Js5HmB7q2";

fn sprawl(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sprawl"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("sprawl runs")
}

/// A JSON scan of `dir` with `args`; returns the exit code and the report.
fn scan_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["scan", "--quiet", "--format", "json", "--no-inventory"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--now", "2025-01-01T00:00:00Z"]);
    let out = sprawl(dir, &all);
    let report =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", show(&out)));
    (out.status.code().expect("exited"), report)
}

fn rule_ids(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_range_that_edits_a_line_near_an_old_secret_reports_nothing() {
    // The reproduction: a token and a flag in one file; the range only flips the flag.
    let repo = Repo::new();
    repo.write("app.env", &format!("TOKEN={}\nDEBUG=1\n", token()));
    repo.commit("token", "2024-01-01T00:00:00Z");
    repo.write("app.env", &format!("TOKEN={}\nDEBUG=0\n", token()));
    repo.commit("debug off", "2024-06-01T00:00:00Z");
    for args in [["--range", "HEAD~1..HEAD"], ["--since", "HEAD~1"]] {
        let (code, report) = scan_json(&repo.path, &args);
        assert_eq!(code, 0, "{args:?}: {report:#}");
        assert!(rule_ids(&report).is_empty(), "{args:?}: {report:#}");
        assert_eq!(report["summary"]["history"]["commits"], 1);
    }
}

#[test]
fn a_secret_moved_within_a_file_or_to_another_file_is_not_new() {
    let repo = Repo::new();
    repo.write("a.env", &format!("TOKEN={}\nA=1\nB=2\nC=3\nD=4\n", token()));
    repo.write("b.env", &format!("STRIPE={STRIPE}\n"));
    repo.commit("secrets", "2024-01-01T00:00:00Z");
    // The token's line moves to the end of its file; the Stripe key moves to a new file.
    repo.write("a.env", &format!("A=1\nB=2\nC=3\nD=4\nTOKEN={}\n", token()));
    std::fs::remove_file(repo.path.join("b.env")).unwrap();
    repo.write("config/c.env", &format!("# moved\nSTRIPE={STRIPE}\n"));
    repo.commit("reorganise", "2024-06-01T00:00:00Z");
    let (code, report) = scan_json(&repo.path, &["--range", "HEAD~1..HEAD"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(rule_ids(&report).is_empty(), "{report:#}");
}

#[test]
fn a_secret_on_an_added_line_counts_and_keeps_its_older_provenance() {
    let repo = Repo::new();
    repo.write("old/settings.env", &format!("STRIPE={STRIPE}\n"));
    let introduced = repo.commit("old key", "2020-01-01T00:00:00Z");
    repo.write("README.md", "service\n");
    let base = repo.commit("docs", "2020-02-01T00:00:00Z");
    // The pull request copies the old key into a new file and adds a new token.
    repo.write(
        "deploy/prod.env",
        &format!("STRIPE={STRIPE}\nSLACK={SLACK}\n"),
    );
    let added = repo.commit("deploy config", "2024-06-01T00:00:00Z");

    let (code, report) = scan_json(&repo.path, &["--range", &format!("{base}..HEAD")]);
    assert_eq!(code, 1, "{report:#}");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{report:#}");
    for f in findings {
        let locations = f["locations"].as_array().unwrap();
        assert_eq!(locations.len(), 1, "{f:#}");
        assert_eq!(locations[0]["path"], "deploy/prod.env");
        assert_eq!(locations[0]["commit"], added.as_str());
        let (first_seen, age) = match f["rule"]["id"].as_str().unwrap() {
            // Copied from a file committed in 2020: the full history says how old it is.
            "stripe-secret-key" => (&introduced, 1827),
            "slack-bot-token" => (&added, 214),
            other => panic!("unexpected rule {other}"),
        };
        assert_eq!(f["first_seen"]["commit"], first_seen.as_str(), "{f:#}");
        assert_eq!(f["age_days"], age, "{f:#}");
    }
}

#[test]
fn merging_the_base_into_a_branch_does_not_report_the_bases_secrets() {
    let repo = Repo::new();
    repo.write("README.md", "service\n");
    repo.commit("start", "2024-01-01T00:00:00Z");
    repo.git(&["checkout", "-q", "-b", "feature"], "2024-01-02T00:00:00Z");
    repo.write("feature.txt", "work\n");
    repo.commit("feature work", "2024-01-02T00:00:00Z");
    repo.git(&["checkout", "-q", "main"], "2024-01-03T00:00:00Z");
    repo.write("main.env", &format!("STRIPE={STRIPE}\n"));
    repo.commit("main gets a key", "2024-01-03T00:00:00Z");
    repo.git(&["checkout", "-q", "feature"], "2024-01-04T00:00:00Z");
    repo.git(
        &["merge", "-q", "--no-edit", "--no-ff", "main"],
        "2024-01-04T00:00:00Z",
    );
    repo.write("feature.txt", "more work\n");
    repo.commit("more feature work", "2024-01-05T00:00:00Z");
    let (code, report) = scan_json(&repo.path, &["--range", "main..feature"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(rule_ids(&report).is_empty(), "{report:#}");
}

#[test]
fn ranges_sprawl_cannot_read_are_clear_errors() {
    let repo = Repo::new();
    repo.write("README.md", "service\n");
    repo.commit("start", "2024-01-01T00:00:00Z");
    repo.write("README.md", "service!\n");
    repo.commit("edit", "2024-01-02T00:00:00Z");
    for (range, says) in [
        ("HEAD~1...HEAD", "three dots"),
        ("HEAD~1", "A..B"),
        ("nosuch..HEAD", "nosuch"),
    ] {
        let out = sprawl(&repo.path, &["scan", "--quiet", "--range", range]);
        assert_eq!(out.status.code(), Some(2), "{range}: {}", show(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{range}: {stderr}");
        assert!(stderr.starts_with("sprawl: "), "{range}: {stderr}");
        assert!(stderr.contains(says), "{range}: {stderr}");
        assert!(!stderr.contains("symmetric"), "{range}: {stderr}");
    }
}

#[test]
fn staged_changes_are_judged_by_their_own_lines() {
    let repo = Repo::new();
    repo.write(
        "app.env",
        &format!("A=1\nTOKEN={}\nB=2\nC=3\nSTRIPE={STRIPE}\n", token()),
    );
    repo.commit("base", "2024-01-01T00:00:00Z");
    // Edit the line right under the token, and move the Stripe key to the top.
    repo.write(
        "app.env",
        &format!("STRIPE={STRIPE}\nA=1\nTOKEN={}\nB=3\nC=3\n", token()),
    );
    repo.git(&["add", "app.env"], "2024-01-02T00:00:00Z");
    let out = sprawl(&repo.path, &["scan", "--staged", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

#[test]
fn a_range_with_a_baseline_claims_nothing_outside_the_range() {
    let repo = Repo::new();
    for (i, file) in ["a.env", "b.env", "c.env"].iter().enumerate() {
        repo.write(
            file,
            &format!("TOKEN={}\nDEBUG=1\n", github_token(10 + i as u64)),
        );
    }
    repo.commit("three old tokens", "2024-01-01T00:00:00Z");
    let out = sprawl(&repo.path, &["baseline", "create", ".", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let base = repo.commit("baseline", "2024-01-02T00:00:00Z");
    // The pull request edits a file holding an old token and adds a new one elsewhere.
    repo.write("a.env", &format!("TOKEN={}\nDEBUG=0\n", github_token(10)));
    repo.write("d.env", &format!("TOKEN={}\n", github_token(20)));
    repo.commit("pull request", "2024-01-03T00:00:00Z");

    let range = format!("{base}..HEAD");
    let args = ["--range", &range, "--baseline", ".sprawl-baseline.json"];
    let (code, report) = scan_json(&repo.path, &args);
    assert_eq!(code, 1, "{report:#}");
    let baseline = &report["baseline"];
    assert_eq!(baseline["new"], 1, "{baseline:#}");
    assert_eq!(baseline["known"], 0, "{baseline:#}");
    assert_eq!(baseline["fixed"], serde_json::json!([]), "{baseline:#}");
    assert_eq!(baseline["not_judged"], 3, "{baseline:#}");
    let text = sprawl(
        &repo.path,
        &[&["scan", "--quiet", "--no-inventory"][..], &args].concat(),
    );
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(!stdout.contains("fixed:"), "{stdout}");
    assert!(stdout.contains("1 new, 0 known"), "{stdout}");

    // The whole work tree, with one old token removed: two known findings, one fixed.
    repo.write("b.env", "DEBUG=1\n");
    let (code, report) = scan_json(&repo.path, &[".", "--baseline", ".sprawl-baseline.json"]);
    assert_eq!(code, 1, "{report:#}");
    let baseline = &report["baseline"];
    assert_eq!(baseline["known"], 2, "{baseline:#}");
    assert_eq!(baseline["new"], 1, "{baseline:#}");
    assert_eq!(baseline["not_judged"], 0, "{baseline:#}");
    let fixed = baseline["fixed"].as_array().unwrap();
    assert_eq!(fixed.len(), 1, "{baseline:#}");
    assert_eq!(fixed[0]["locations"][0]["path"], "b.env");
    assert_eq!(report["summary"]["suppressed"]["baseline"], 2);
}

#[test]
fn a_subfolder_finds_its_repository_and_judges_only_what_it_scanned() {
    let repo = Repo::new();
    repo.write("docs/app.env", &format!("TOKEN={}\n", github_token(30)));
    repo.write("deploy/prod.env", &format!("STRIPE={STRIPE}\n"));
    repo.write(
        "sprawl-inventory.yaml",
        "version: 1\n\
         owners:\n  - {id: docs-team, status: active}\n  - {id: ops, status: active}\n\
         credentials:\n\
         \x20 - {id: docs-token, owner: docs-team, match: {rule: github, path: \"docs/**\"}}\n\
         \x20 - {id: docs-old, owner: docs-team, match: {rule: slack, path: \"docs/old/*.env\"}}\n\
         \x20 - {id: stripe-prod, owner: ops, match: {rule: stripe, path: \"deploy/**\"}}\n\
         \x20 - {id: any-stripe, owner: ops, match: {rule: stripe-restricted-key}}\n",
    );
    repo.commit("start", "2024-01-01T00:00:00Z");
    repo.write("docs/readme.md", "more docs\n");
    repo.commit("docs", "2024-02-01T00:00:00Z");
    let docs = repo.path.join("docs");

    for args in [
        vec!["--history"],
        vec!["--since", "HEAD~1"],
        vec![],
        vec!["--staged"],
    ] {
        let mut all = vec!["scan", "--quiet", "--format", "json"];
        all.extend_from_slice(&args);
        let out = sprawl(&docs, &all);
        assert_ne!(out.status.code(), Some(2), "{args:?}: {}", show(&out));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let inventory = &report["inventory"];
        assert_eq!(
            inventory["path"]
                .as_str()
                .map(|p| p.ends_with("sprawl-inventory.yaml")),
            Some(true)
        );
        if args.is_empty() || args == ["--history"] {
            // The work tree (and its history) of docs/: the token there, owned through a
            // glob written from the repository's root; only docs/ entries can be stale.
            assert_eq!(rule_ids(&report), ["github-pat-classic"], "{args:?}");
            let finding = &report["findings"][0];
            assert_eq!(finding["owner"]["inventory_id"], "docs-token", "{args:?}");
            for location in finding["locations"].as_array().unwrap() {
                assert_eq!(location["path"], "app.env", "{args:?}");
            }
            assert_eq!(
                inventory["stale"],
                serde_json::json!(["docs-old"]),
                "{args:?}"
            );
            assert_eq!(
                inventory["not_judged"],
                serde_json::json!(["stripe-prod", "any-stripe"]),
                "{args:?}"
            );
        } else {
            // A range or staged changes judge no entry at all.
            assert_eq!(inventory["stale"], serde_json::json!([]), "{args:?}");
            assert_eq!(
                inventory["not_judged"].as_array().unwrap().len(),
                4,
                "{args:?}"
            );
        }
    }
}
