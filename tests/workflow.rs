//! End-to-end tests of the everyday workflow around a scan: baselines, inline
//! `sprawl:allow` comments, `.sprawl.toml` (allow lists, policy, errors) and `config show`.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn sprawl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sprawl"))
}

/// The first token with `prefix` in a generated fixture (valid checksum, fake).
fn fixture_token(file: &str, prefix: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(file);
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.find(prefix).unwrap();
    text[start..start + 40].to_string()
}

fn ghp() -> String {
    fixture_token("positives/src/config.js", "ghp_")
}

fn npm() -> String {
    fixture_token("positives/.npmrc", "npm_")
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn scan(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = sprawl()
        .arg("scan")
        .arg(dir)
        .args([
            "--format",
            "json",
            "--quiet",
            "--now",
            "2026-11-23T00:00:00Z",
        ])
        .args(args)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    (out.status.code().unwrap(), report)
}

fn paths(report: &Value, key: &str) -> Vec<String> {
    report[key]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .flat_map(|f| f["locations"].as_array().unwrap().iter())
        .map(|l| format!("{}:{}", l["path"].as_str().unwrap(), l["line"]))
        .collect()
}

#[test]
fn baseline_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let token = ghp();
    write(dir, "src/config.js", &format!("const T = \"{token}\";\n"));
    let baseline = dir.join(".sprawl-baseline.json");

    sprawl()
        .args(["baseline", "create", "--quiet"])
        .arg(dir)
        .assert()
        .code(0)
        .stdout(predicates::str::contains("1 finding recorded"));
    let recorded = std::fs::read_to_string(&baseline).unwrap();
    assert!(
        !recorded.contains(&token),
        "a baseline never holds the secret"
    );
    assert!(recorded.contains("\"schema\": \"sprawl.baseline/v1\""));
    let b = baseline.to_str().unwrap();

    // Unchanged: nothing new, exit 0, the known finding counted as suppressed.
    let (code, report) = scan(dir, &["--baseline", b]);
    assert_eq!(code, 0);
    assert_eq!(report["findings"], serde_json::json!([]));
    assert_eq!(report["summary"]["suppressed"]["baseline"], 1);
    assert_eq!(report["baseline"]["known"], 1);
    assert_eq!(report["baseline"]["new"], 0);

    // A moved line is still the same finding.
    write(
        dir,
        "src/config.js",
        &format!("// header\n\n\nconst T = \"{token}\";\n"),
    );
    assert_eq!(scan(dir, &["--baseline", b]).0, 0);

    // A new secret fails the build, alone.
    let new = npm();
    write(
        dir,
        "deploy/.npmrc",
        &format!("//registry.npmjs.org/:_authToken={new}\n"),
    );
    let (code, report) = scan(dir, &["--baseline", b]);
    assert_eq!(code, 1);
    assert_eq!(paths(&report, "findings"), ["deploy/.npmrc:1"]);
    assert_eq!(report["baseline"]["new"], 1);
    // --show-suppressed lists the known one with its reason.
    let (_, report) = scan(dir, &["--baseline", b, "--show-suppressed"]);
    assert_eq!(paths(&report, "suppressed"), ["src/config.js:4"]);
    assert_eq!(report["suppressed"][0]["suppression"]["kind"], "baseline");

    // The known secret removed: listed as fixed.
    write(dir, "src/config.js", "const T = process.env.T;\n");
    let (_, report) = scan(dir, &["--baseline", b]);
    let fixed = report["baseline"]["fixed"].as_array().unwrap();
    assert_eq!(fixed.len(), 1);
    assert_eq!(fixed[0]["rule"], "github-pat-classic");
    assert_eq!(fixed[0]["locations"][0]["path"], "src/config.js");
    let text = sprawl()
        .arg("scan")
        .arg(dir)
        .args(["--quiet", "--baseline", b])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    // `known` counts findings the baseline matched in this scan: none, the known one is gone.
    assert!(text.contains("1 new, 0 known, 1 fixed"), "{text}");
    assert!(
        text.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("sprawl: ")
    );

    // A malformed baseline is an error naming the file and line.
    std::fs::write(
        &baseline,
        "{\"schema\": \"sprawl.baseline/v1\",\n \"findings\": 3}",
    )
    .unwrap();
    sprawl()
        .arg("scan")
        .arg(dir)
        .args(["--baseline", b])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(".sprawl-baseline.json:2:"));
}

#[test]
fn inline_allows_with_and_without_a_rule_id() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let token = ghp();
    let npm = npm();
    write(
        dir,
        "same-line.js",
        &format!("const T = \"{token}\"; // sprawl:allow test fixture\n"),
    );
    write(
        dir,
        "line-above.py",
        &format!("# sprawl:allow github-pat-classic rotated 2026-01-01\nT = \"{token}\"\n"),
    );
    // Names another rule: does not suppress this one.
    write(
        dir,
        "other-rule.env",
        &format!("# sprawl:allow jwt-token\nNPM_TOKEN={npm}\n"),
    );
    let (code, report) = scan(dir, &["--show-suppressed"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&report, "findings"), ["other-rule.env:2"]);
    assert_eq!(report["summary"]["suppressed"]["inline"], 1);
    let suppressed = &report["suppressed"][0];
    let reasons = common::suppression_reasons(&report);
    assert_eq!(suppressed["suppression"]["kind"], "inline");
    assert_eq!(
        reasons,
        [
            "sprawl:allow: rotated 2026-01-01",
            "sprawl:allow: test fixture"
        ]
    );
    assert_eq!(
        paths(&report, "suppressed"),
        ["line-above.py:2", "same-line.js:1"]
    );
    // Without --show-suppressed they are counted, not listed.
    let (_, report) = scan(dir, &[]);
    assert_eq!(report["suppressed"], Value::Null);
    assert_eq!(report["summary"]["suppressed"]["inline"], 1);
}

#[test]
fn config_file_sets_rules_allows_and_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let token = ghp();
    write(dir, "tests/fixture.js", &format!("T = \"{token}\"\n"));
    write(
        dir,
        "deploy/.npmrc",
        &format!("//r/:_authToken={}\n", npm()),
    );
    write(dir, "app.properties", "smtp.password=Rk8fQ2mZx7Lp#41\n");
    write(
        dir,
        ".sprawl.toml",
        "disable_rules = [\"generic-password\"]\nmax_age_days = 400\nfail_on = [\"expired\"]\n\n\
         [[allow]]\npath = \"tests/**\"\nreason = \"test fixtures hold fake keys\"\n",
    );
    let (code, report) = scan(dir, &["--show-suppressed"]);
    assert_eq!(code, 0, "fail_on = expired: nothing expired");
    assert_eq!(paths(&report, "findings"), ["deploy/.npmrc:1"]);
    assert_eq!(report["findings"][0]["max_age_days"], 400);
    assert_eq!(
        report["suppressed"][0]["suppression"]["reason"],
        ".sprawl.toml:5: test fixtures hold fake keys"
    );
    assert_eq!(report["summary"]["suppressed"]["config"], 1);
    // The command line wins over the file.
    assert_eq!(scan(dir, &["--fail-on", "any"]).0, 1);
    // --no-config: every finding, default policy.
    let (_, report) = scan(dir, &["--no-config"]);
    assert_eq!(report["findings"].as_array().unwrap().len(), 3);

    // config show: each value with where it came from.
    let out = sprawl()
        .args(["config", "show"])
        .arg(dir)
        .args(["--config"])
        .arg(dir.join(".sprawl.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let shown = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "disable_rules = [\"generic-password\"]",
        "# .sprawl.toml:1",
        "max_age_days = 400",
        "# .sprawl.toml:2",
        "max_file_size = 26214400",
        "# default",
        "fail_on = [\"expired\"]",
        "[[allow]]  # .sprawl.toml:5: test fixtures hold fake keys",
    ] {
        assert!(
            shown.contains(expected),
            "missing {expected:?} in:\n{shown}"
        );
    }
}

#[test]
fn config_errors_are_one_line_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        ".sprawl.toml",
        "max_age_days = 30\nfail_onn = [\"any\"]\n",
    );
    let out = sprawl().arg("scan").arg(dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(".sprawl.toml:2:1: unknown field `fail_onn`"),
        "{stderr}"
    );
    sprawl().args(["config", "show"]).arg(dir).assert().code(2);

    write(dir, ".sprawl.toml", "rules = [\"missing/\"]\n");
    sprawl()
        .arg("scan")
        .arg(dir)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("missing"));
    write(dir, ".sprawl.toml", "[[allow]]\npath = \"x/**\"\n");
    sprawl()
        .arg("scan")
        .arg(dir)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("needs a reason"));
}

#[test]
fn adopting_sprawl_beside_other_scanners() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (token, npm) = (ghp(), npm());
    // Other tools' allow markers, each on its own line (or detect-secrets' line above).
    write(
        dir,
        "src/a.py",
        &format!("TOKEN = \"{token}\"  # gitleaks:allow\n"),
    );
    write(
        dir,
        "src/b.py",
        &format!("# pragma: allowlist nextline secret\nNPM = \"{npm}\"\n"),
    );
    // A detect-secrets baseline: digests of secrets, under a key that says so.
    write(
        dir,
        ".secrets.baseline",
        "{\n  \"version\": \"1.5.0\",\n  \"plugins_used\": [{\"name\": \"KeywordDetector\"}],\n  \
         \"results\": {\"src/x.py\": [{\"type\": \"Secret Keyword\", \
         \"hashed_secret\": \"b5198bd90f4c1b6f2e3d8a7c6b5a49382716f0e1\", \"line_number\": 3}]}\n}\n",
    );
    write(
        dir,
        "audit.json",
        "{\"hashed_secret\": \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b\"}\n",
    );
    // Test data: a generic password is set aside; a token of a known format is not.
    write(
        dir,
        "tests/settings.py",
        "DB_PASSWORD = \"Zq8!vR2#pLw7xN\"\n",
    );
    write(dir, "tests/ci.env", &format!("GH={token}\n"));

    let (code, report) = scan(dir, &["--show-suppressed"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&report, "findings"), ["tests/ci.env:1"]);
    assert_eq!(report["summary"]["suppressed"]["inline"], 2);
    assert_eq!(report["summary"]["suppressed"]["test-data"], 1);
    let reasons = common::suppression_reasons(&report);
    assert!(reasons.contains(&"gitleaks:allow"), "{reasons:?}");
    assert!(
        reasons.contains(&"pragma: allowlist nextline secret"),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"a generic match in test data (tests/)"),
        "{reasons:?}"
    );

    // A repository that wants them reported says so.
    write(dir, ".sprawl.toml", "report_generic_in_tests = true\n");
    let (_, report) = scan(dir, &[]);
    assert_eq!(
        paths(&report, "findings"),
        ["tests/ci.env:1", "tests/settings.py:1"]
    );
}
