//! End-to-end tests: run the real `sprawl` binary on `fixtures/` and check exact findings,
//! locations, redaction, exit codes and the report schema.
//!
//! The full JSON report of `fixtures/positives` is compared with
//! `tests/snapshots/positives.json`; after an intended change, regenerate it with
//! `SPRAWL_UPDATE_SNAPSHOTS=1 cargo test --test cli` and review the diff.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn sprawl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sprawl"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures(sub: &str) -> PathBuf {
    root().join("fixtures").join(sub)
}

struct Planted {
    path: String,
    line: u64,
    secret: String,
}

fn manifest() -> Vec<Planted> {
    let text = std::fs::read_to_string(fixtures("positives.manifest.json")).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Planted {
            path: p["path"].as_str().unwrap().to_string(),
            line: p["line"].as_u64().unwrap(),
            secret: p["secret"].as_str().unwrap().to_string(),
        })
        .collect()
}

fn scan_json(args: &[&str], dir: &Path) -> (i32, Value) {
    let out = sprawl()
        .arg("scan")
        .arg(dir)
        .args(["--format", "json", "--quiet"])
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, value)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn positives_report_matches_snapshot() {
    let (code, mut report) = scan_json(&["--now", "2026-11-23T00:00:00Z"], &fixtures("positives"));
    assert_eq!(code, 1);
    report["summary"]["duration_ms"] = Value::from(0);
    // When and at which commit it ran differ on every run (tests/merge.rs checks `scan`).
    report.as_object_mut().unwrap().shift_remove("scan");
    let actual = serde_json::to_string_pretty(&report).unwrap() + "\n";
    let snapshot = root().join("tests/snapshots/positives.json");
    if std::env::var_os("SPRAWL_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(snapshot.parent().unwrap()).unwrap();
        std::fs::write(&snapshot, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot).expect("snapshot exists");
    assert!(
        expected == actual,
        "report differs from tests/snapshots/positives.json; if intended, rerun with \
         SPRAWL_UPDATE_SNAPSHOTS=1 and review the diff.\n--- actual ---\n{actual}"
    );
}

#[test]
fn every_planted_fixture_secret_is_found_where_it_was_planted() {
    let (_, report) = scan_json(&[], &fixtures("positives"));
    let findings = report["findings"].as_array().unwrap();
    for planted in manifest() {
        let fingerprint = format!("sha256:{}", sha256_hex(planted.secret.as_bytes()));
        let finding = findings
            .iter()
            .find(|f| f["fingerprint"] == fingerprint.as_str())
            .unwrap_or_else(|| panic!("not found: planted at {}:{}", planted.path, planted.line));
        let here = finding["locations"].as_array().unwrap().iter().any(|l| {
            l["path"] == planted.path.as_str() && l["line"].as_u64() == Some(planted.line)
        });
        assert!(
            here,
            "{} not reported at {}:{}",
            fingerprint, planted.path, planted.line
        );
    }
}

#[test]
fn the_same_secret_in_two_files_is_one_finding_with_two_locations() {
    let (_, report) = scan_json(&[], &fixtures("positives"));
    let planted = manifest();
    let secret = &planted[0].secret;
    let fingerprint = format!("sha256:{}", sha256_hex(secret.as_bytes()));
    let matching: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["fingerprint"] == fingerprint.as_str())
        .collect();
    assert_eq!(matching.len(), 1);
    let paths: Vec<&str> = matching[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["scripts/release.sh", "src/config.js"]);
}

#[test]
fn negatives_produce_no_finding_and_exit_0() {
    let (code, report) = scan_json(&[], &fixtures("negatives"));
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings.is_empty(),
        "placeholders reported: {}",
        serde_json::to_string_pretty(findings).unwrap()
    );
    assert_eq!(code, 0);
}

#[test]
fn no_output_format_contains_a_secret_unless_asked() {
    let secrets: Vec<String> = manifest().into_iter().map(|p| p.secret).collect();
    for format in ["text", "json", "jsonl"] {
        let out = sprawl()
            .args(["scan", "--quiet", "--color", "always", "--format", format])
            .arg(fixtures("positives"))
            .output()
            .unwrap();
        let all = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
        let text = String::from_utf8_lossy(&all);
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{format} output leaks a secret"
            );
            // Not even the first line of a PEM body or the trailing checksum.
            let tail = &secret[secret.len() - 6..];
            assert!(
                !text.contains(tail),
                "{format} output leaks a secret's tail"
            );
        }
    }
    let out = sprawl()
        .args(["scan", "--quiet", "--format", "json", "--show-secrets"])
        .arg(fixtures("positives"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        secrets
            .iter()
            .all(|s| text.contains(&s.replace('\n', "\\n")))
    );
}

#[test]
fn redacted_shows_at_most_four_leading_characters() {
    let (_, report) = scan_json(&[], &fixtures("positives"));
    for finding in report["findings"].as_array().unwrap() {
        let redacted = finding["redacted"].as_str().unwrap();
        assert!(redacted.ends_with('…'), "{redacted}");
        assert!(redacted.chars().count() <= 5, "{redacted}");
        assert!(finding.get("secret").is_none());
    }
}

#[test]
fn json_report_has_the_documented_schema() {
    let (_, report) = scan_json(&[], &fixtures("positives"));
    assert_eq!(report["schema"], "sprawl.report/v1");
    assert_eq!(report["tool"]["name"], "sprawl");
    assert_eq!(report["tool"]["version"], env!("CARGO_PKG_VERSION"));
    for key in [
        "files_scanned",
        "bytes_scanned",
        "files_skipped",
        "findings",
        "duration_ms",
    ] {
        assert!(report["summary"][key].is_u64(), "summary.{key}");
    }
    // The binary fixture is skipped and counted.
    assert_eq!(report["summary"]["skipped"]["binary"], 1);
    let finding = &report["findings"][0];
    for key in ["id", "name", "kind", "provider"] {
        assert!(finding["rule"][key].is_string(), "rule.{key}");
    }
    let fp = finding["fingerprint"].as_str().unwrap();
    assert!(fp.starts_with("sha256:") && fp.len() == 71);
    for key in ["key_id", "owner", "expires_at", "first_seen"] {
        assert!(finding.get(key).is_some(), "{key}");
    }
    assert!(finding["statuses"].is_array());
    let location = &finding["locations"][0];
    for key in ["path", "line", "column", "end_line", "commit", "source"] {
        assert!(location.get(key).is_some(), "locations[].{key}");
    }
    assert_eq!(location["source"], "file");
}

#[test]
fn crlf_files_report_the_right_line_and_column() {
    let (_, report) = scan_json(&[], &fixtures("positives"));
    let location = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["locations"].as_array().unwrap())
        .find(|l| l["path"] == "config/notify.yml")
        .expect("slack token in a CRLF file");
    assert_eq!(location["line"], 3);
    assert_eq!(location["column"], 14);
}

#[test]
fn jsonl_streams_one_finding_per_line() {
    let out = sprawl()
        .args(["scan", "--quiet", "--format", "jsonl"])
        .arg(fixtures("positives"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().count() >= 10);
    for line in text.lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        assert!(value["fingerprint"].is_string());
    }
}

#[test]
fn standard_input_is_scanned_with_dash() {
    let token = &manifest()[0].secret;
    sprawl()
        .args(["scan", "-", "--quiet", "--format", "json"])
        .write_stdin(format!("token: {token}\n"))
        .assert()
        .code(1)
        .stdout(predicates::str::contains("\"path\": \"<stdin>\""));
    sprawl()
        .args(["scan", "-", "--quiet"])
        .write_stdin("nothing to see here\n")
        .assert()
        .code(0);
}

#[test]
fn a_single_file_is_shown_as_given_and_several_paths_work() {
    let dir = tempfile::tempdir().unwrap();
    let token = &manifest()[0].secret;
    std::fs::write(dir.path().join("a.env"), format!("GH={token}\n")).unwrap();
    std::fs::write(dir.path().join("b.env"), format!("GH={token}\n")).unwrap();
    let out = sprawl()
        .current_dir(dir.path())
        .args(["scan", "a.env", "b.env", "--quiet", "--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["findings"], 1);
    let paths: Vec<&str> = report["findings"][0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["a.env", "b.env"]);
}

#[test]
fn ignore_files_are_respected_unless_no_ignore() {
    let dir = tempfile::tempdir().unwrap();
    let token = &manifest()[0].secret;
    std::fs::write(dir.path().join(".sprawlignore"), "ignored/\n").unwrap();
    std::fs::create_dir(dir.path().join("ignored")).unwrap();
    std::fs::write(dir.path().join("ignored/t.env"), format!("GH={token}\n")).unwrap();
    // .git is never walked as files.
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join(".git/config"), format!("GH={token}\n")).unwrap();
    let (code, report) = scan_json(&[], dir.path());
    assert_eq!((code, report["summary"]["findings"].as_u64()), (0, Some(0)));
    let (code, report) = scan_json(&["--no-ignore"], dir.path());
    assert_eq!(code, 1);
    assert_eq!(
        report["findings"][0]["locations"][0]["path"],
        "ignored/t.env"
    );
    assert_eq!(
        report["findings"][0]["locations"].as_array().unwrap().len(),
        1
    );
}

#[test]
fn oversized_files_and_broken_links_are_counted_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let token = &manifest()[0].secret;
    std::fs::write(dir.path().join("big.txt"), "x".repeat(4096)).unwrap();
    std::fs::write(dir.path().join("small.env"), format!("GH={token}\n")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/nonexistent/target", dir.path().join("dangling")).unwrap();
    let (code, report) = scan_json(&["--max-file-size", "1K"], dir.path());
    assert_eq!(code, 1);
    let summary = &report["summary"];
    assert_eq!(summary["skipped"]["too_large"], 1);
    #[cfg(unix)]
    {
        assert_eq!(summary["skipped"]["broken_link"], 1);
        assert_eq!(summary["problems"][0]["path"], "dangling");
    }
}

#[test]
fn output_file_is_written_whole_with_owner_only_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    sprawl()
        .args(["scan", "--quiet", "--format", "json", "-o"])
        .arg(&report)
        .arg(fixtures("positives"))
        .assert()
        .code(1)
        .stdout("");
    let value: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert!(value["summary"]["findings"].as_u64().unwrap() > 0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&report).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
}

#[test]
fn errors_are_one_line_with_exit_2() {
    let out = sprawl().args(["scan", "/no/such/folder"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("sprawl: /no/such/folder: "), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("bad.toml");
    std::fs::write(
        &rules,
        "[[rules]]\nid = \"x-y\"\nname = \"X\"\nprovider = 3\n",
    )
    .unwrap();
    let out = sprawl()
        .args(["scan", "--rules"])
        .arg(&rules)
        .arg(fixtures("negatives"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("bad.toml:4:12: "), "{stderr}");

    sprawl()
        .args(["scan", "--disable-rule", "no-such-rule"])
        .arg(fixtures("negatives"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown rule id 'no-such-rule'"));
}

#[test]
fn rules_check_reports_failures_by_rule_and_example() {
    sprawl().args(["rules", "check"]).assert().code(0);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("mine.toml");
    std::fs::write(
        &rules,
        r#"[[rules]]
id = "acme-token"
name = "ACME token"
provider = "acme"
kind = "token"
keywords = ["acme_"]
pattern = '''\b(?P<secret>acme_[a-z0-9]{12})\b'''
examples = [{ text = "t = acme_q1w2e3r4t5y6", secret = "acme_q1w2e3r4t5y6" }, { text = "acme_short" }]
negative_examples = ["ACME_Q1W2E3R4T5Y6"]
"#,
    )
    .unwrap();
    let out = sprawl()
        .args(["rules", "check", "--rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("rule 'acme-token': example produced no finding: acme_short"),
        "{stdout}"
    );
    assert!(stdout.contains("1 rules, 3 examples: 1 failed"), "{stdout}");
}

#[test]
fn rules_list_and_selection() {
    let out = sprawl().args(["rules", "list"]).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let count: usize = stdout
        .lines()
        .last()
        .and_then(|l| l.split_once(" rules ("))
        .and_then(|(n, _)| n.parse().ok())
        .expect("a count line");
    assert!(count >= 100, "only {count} rules");
    assert!(
        stdout.ends_with("with a provider check for --validate)\n"),
        "{stdout}"
    );
    assert!(stdout.contains("github-pat-classic"));

    let (code, report) = scan_json(
        &["--only-rules", "github-pat-classic"],
        &fixtures("positives"),
    );
    assert_eq!(code, 1);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule"]["id"] == "github-pat-classic")
    );
    assert_eq!(report["summary"]["rules"], 1);
}

#[cfg(unix)]
#[test]
fn output_to_a_device_or_through_a_link_leaves_them_in_place() {
    use std::os::unix::fs::FileTypeExt;
    // Written in place: a rename over /dev/null would turn it into a regular file.
    if std::fs::metadata("/dev/null").is_ok_and(|m| m.file_type().is_char_device()) {
        sprawl()
            .args(["scan", "--quiet", "--format", "json", "-o", "/dev/null"])
            .arg(fixtures("negatives"))
            .assert()
            .code(0);
        assert!(
            std::fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real.json");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    sprawl()
        .args(["scan", "--quiet", "--format", "json", "-o"])
        .arg(&link)
        .arg(fixtures("negatives"))
        .assert()
        .code(0);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let written: Value = serde_json::from_slice(&std::fs::read(&target).unwrap()).unwrap();
    assert_eq!(written["schema"], "sprawl.report/v1");
}

/// Runs sprawl with its standard output closed before it writes, as `| head` leaves it.
fn with_closed_stdout(args: &[&str]) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sprawl"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_reader_that_closes_the_pipe_is_not_an_error() {
    let positives = fixtures("positives");
    let positives = positives.to_str().unwrap();
    for format in ["text", "json", "jsonl", "sarif"] {
        let out = with_closed_stdout(&["scan", positives, "--quiet", "--format", format]);
        // The scan still finishes: its verdict is the exit code, as if the report were read.
        assert_eq!(out.status.code(), Some(1), "{format}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{format}");
    }
    for args in [
        &["rules", "list"][..],
        &["explain", positives],
        &["config", "show", positives],
    ] {
        let out = with_closed_stdout(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
}
