//! `sprawl scan --repos-from --shard` and `sprawl merge`, end to end: shards of a list of
//! repositories merged equal one scan of all; one credential in three repositories is one
//! finding with places in all three and `reused`; reports of another version merge with a
//! warning; a file that is not a sprawl report stops the merge (exit 2, nothing written).

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;
use common::{Repo, token};
use serde_json::Value;

fn sprawl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sprawl"))
}

/// Three repositories in `dir` listed in `repos.txt`: `api` and `web` hold the same token in
/// dev configuration, `billing` holds it in prod and a second credential of its own.
fn organisation(dir: &Path) {
    let npm = "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";
    for (name, file, extra) in [
        ("api", "deploy/dev.env", ""),
        ("web", "config/app.dev.env", ""),
        ("billing", "deploy/prod/app.env", npm),
    ] {
        let repo = Repo::at(&dir.join(name));
        repo.git(
            &[
                "remote",
                "add",
                "origin",
                &format!("https://ci-bot:hunter2@git.example.com/acme/{name}.git"),
            ],
            "2024-01-01T00:00:00Z",
        );
        repo.write(file, &format!("GH_TOKEN={}\nNPM_TOKEN={extra}\n", token()));
        repo.commit("config", "2024-02-01T00:00:00Z");
    }
    std::fs::write(
        dir.join("repos.txt"),
        "# the organisation\nweb\nbilling\napi\n",
    )
    .unwrap();
}

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = sprawl().current_dir(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn load(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A place: repository, path, line.
type Place = (String, String, u64);

/// Each finding's fingerprint with its places, and statuses.
fn places(report: &Value) -> BTreeSet<(String, Vec<Place>, Vec<String>)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut at: Vec<Place> = f["locations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    (
                        l["repository"].as_str().unwrap_or_default().to_string(),
                        l["path"].as_str().unwrap().to_string(),
                        l["line"].as_u64().unwrap(),
                    )
                })
                .collect();
            at.sort();
            let statuses = f["statuses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect();
            (f["fingerprint"].as_str().unwrap().to_string(), at, statuses)
        })
        .collect()
}

#[test]
fn shards_merged_equal_one_scan_of_everything() {
    let dir = tempfile::tempdir().unwrap();
    organisation(dir.path());
    let now = "2026-12-01T00:00:00Z";
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let out = format!("shard-{i}.json");
        let (code, err) = run(
            dir.path(),
            &[
                "scan",
                "--repos-from",
                "repos.txt",
                "--shard",
                &shard,
                "--history",
                "--no-cache",
                "-f",
                "json",
                "-o",
                &out,
                "--quiet",
                "--now",
                now,
            ],
        );
        assert_eq!(code, 1, "{err}");
    }
    let (code, err) = run(
        dir.path(),
        &[
            "merge",
            "shard-1.json",
            "shard-2.json",
            "shard-3.json",
            "-o",
            "merged.json",
            "--now",
            now,
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.is_empty(),
        "no warning for reports of one sprawl: {err}"
    );
    let (code, err) = run(
        dir.path(),
        &[
            "scan",
            "--repos-from",
            "repos.txt",
            "--history",
            "--no-cache",
            "-f",
            "json",
            "-o",
            "all.json",
            "--quiet",
            "--now",
            now,
        ],
    );
    assert_eq!(code, 1, "{err}");
    let merged = load(&dir.path().join("merged.json"));
    let all = load(&dir.path().join("all.json"));
    assert_eq!(places(&merged), places(&all));

    // The shared token: one finding, a place in each repository, reused (and why).
    let shared = merged["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"]["id"] == "github-pat-classic")
        .expect("the shared token");
    let repos: BTreeSet<&str> = shared["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["repository"].as_str().unwrap())
        .collect();
    assert_eq!(
        repos,
        BTreeSet::from([
            "https://git.example.com/acme/api.git",
            "https://git.example.com/acme/billing.git",
            "https://git.example.com/acme/web.git"
        ])
    );
    assert!(
        shared["statuses"]
            .as_array()
            .unwrap()
            .contains(&"reused".into())
    );
    let reasons = shared["reasons"].to_string();
    assert!(reasons.contains("reused in 3 repositories"), "{reasons}");
    assert!(reasons.contains("reused across environments: dev (api/deploy/dev.env), prod (billing/deploy/prod/app.env)"), "{reasons}");
    assert_eq!(shared["first_seen"]["date"], "2024-02-01T00:00:00Z");
    // No credential of a remote URL reaches a report.
    assert!(
        !std::fs::read_to_string(dir.path().join("merged.json"))
            .unwrap()
            .contains("hunter2")
    );
    assert_eq!(merged["scan"]["merged_from"].as_array().unwrap().len(), 3);
    assert_eq!(merged["scan"]["repositories"].as_array().unwrap().len(), 3);
    assert_eq!(merged["scan"]["rules_digest"], all["scan"]["rules_digest"]);

    // --fail-on reused, alone; and a format for people.
    let (code, _) = run(
        dir.path(),
        &[
            "merge",
            "shard-1.json",
            "shard-2.json",
            "shard-3.json",
            "--fail-on",
            "reused",
            "-f",
            "html",
            "-o",
            "merged.html",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        std::fs::read_to_string(dir.path().join("merged.html"))
            .unwrap()
            .contains("reused")
    );
}

#[test]
fn merge_re_applies_the_inventory_and_keeps_the_earliest_dates() {
    let dir = tempfile::tempdir().unwrap();
    organisation(dir.path());
    for name in ["api", "billing"] {
        let (_, err) = run(
            dir.path(),
            &[
                "scan",
                name,
                "--history",
                "--no-cache",
                "-f",
                "json",
                "-o",
                &format!("{name}.json"),
                "--quiet",
            ],
        );
        assert!(err.is_empty(), "{err}");
    }
    // An entry for the npm token (only in billing): stale in api's report alone, matched once merged.
    let billing = load(&dir.path().join("billing.json"));
    let npm = billing["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"]["id"] == "npm-access-token")
        .unwrap();
    std::fs::write(
        dir.path().join("inventory.yaml"),
        format!("version: 1\nowners: [{{id: payments, status: active}}]\ncredentials:\n  - id: npm-publish\n    owner: payments\n    match: {{fingerprint: \"{}\"}}\n", npm["fingerprint"].as_str().unwrap()),
    )
    .unwrap();
    let (code, err) = run(
        dir.path(),
        &[
            "merge",
            "api.json",
            "billing.json",
            "--inventory",
            "inventory.yaml",
            "-o",
            "merged.json",
            "--fail-on",
            "orphaned",
        ],
    );
    assert_eq!(code, 1, "the shared token is still orphaned: {err}");
    let merged = load(&dir.path().join("merged.json"));
    assert_eq!(merged["inventory"]["stale"], serde_json::json!([]));
    let owned = merged["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"]["id"] == "npm-access-token")
        .unwrap();
    assert_eq!(
        owned["statuses"],
        serde_json::json!(["long-lived", "owned"])
    );
    // The shared token's orphaned copy gets a neighbour's owner as a hint.
    let shared = merged["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"]["id"] == "github-pat-classic")
        .unwrap();
    assert_eq!(shared["owner_hints"][0]["source"], "inventory-neighbour");
}

#[test]
fn foreign_files_stop_the_merge_and_other_versions_warn() {
    let dir = tempfile::tempdir().unwrap();
    organisation(dir.path());
    let (_, err) = run(
        dir.path(),
        &["scan", "api", "-f", "json", "-o", "api.json", "--quiet"],
    );
    assert!(err.is_empty(), "{err}");
    let (_, err) = run(
        dir.path(),
        &["scan", "web", "-f", "jsonl", "-o", "web.jsonl", "--quiet"],
    );
    assert!(err.is_empty(), "{err}");
    std::fs::write(
        dir.path().join("gitleaks.json"),
        r#"[{"RuleID": "github-pat", "Secret": "x"}]"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("other.json"),
        r#"{"schema": "something/v1", "findings": []}"#,
    )
    .unwrap();
    for foreign in ["gitleaks.json", "other.json"] {
        let (code, err) = run(
            dir.path(),
            &["merge", "api.json", foreign, "-o", "merged.json"],
        );
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains(foreign) && err.contains("not a sprawl report"),
            "{err}"
        );
        assert!(
            !dir.path().join("merged.json").exists(),
            "nothing is written"
        );
    }
    // JSONL lines merge too; a report of another version is merged with a warning naming it.
    let mut old = load(&dir.path().join("api.json"));
    old["scan"]["sprawl_version"] = "0.0.9".into();
    std::fs::write(dir.path().join("old.json"), old.to_string()).unwrap();
    let (code, err) = run(
        dir.path(),
        &[
            "merge",
            "old.json",
            "web.jsonl",
            "api.json",
            "-o",
            "merged.json",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("warning") && err.contains("old.json (sprawl 0.0.9"),
        "{err}"
    );
    let merged = load(&dir.path().join("merged.json"));
    assert_eq!(
        merged["findings"].as_array().unwrap().len(),
        1,
        "one credential"
    );
}

#[test]
fn files_of_two_repositories_in_one_scan_name_their_repositories() {
    let dir = tempfile::tempdir().unwrap();
    organisation(dir.path());
    let out = sprawl()
        .current_dir(dir.path())
        .args([
            "scan",
            "api/deploy/dev.env",
            "billing/deploy/prod/app.env",
            "-f",
            "json",
            "--quiet",
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let shared = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"]["id"] == "github-pat-classic")
        .unwrap();
    let repos: Vec<&str> = shared["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["repository"].as_str().unwrap())
        .collect();
    assert_eq!(
        repos,
        [
            "https://git.example.com/acme/api.git",
            "https://git.example.com/acme/billing.git"
        ]
    );
    assert!(
        shared["statuses"]
            .as_array()
            .unwrap()
            .contains(&"reused".into())
    );
}
