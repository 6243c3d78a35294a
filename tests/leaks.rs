//! sprawl must never become the leak: no fixture secret (nor its last characters) may appear
//! in anything a scan writes (every report format, standard error, the baseline, a starter
//! inventory, error messages) unless `--show-secrets` asks for it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every secret planted in the generated fixtures.
fn planted() -> Vec<String> {
    let mut secrets = Vec::new();
    for manifest in ["positives.manifest.json", "configs.manifest.json"] {
        let text = std::fs::read_to_string(root().join("fixtures").join(manifest)).unwrap();
        let entries: Vec<Value> = serde_json::from_str(&text).unwrap();
        secrets.extend(
            entries
                .iter()
                .map(|e| e["secret"].as_str().unwrap().to_string()),
        );
    }
    assert!(secrets.len() > 60, "{} secrets", secrets.len());
    secrets
}

/// A copy of the fixtures with secrets (positives and config trees) in one folder.
fn fixture_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for set in ["positives", "configs"] {
        copy_tree(&root().join("fixtures").join(set), &dir.path().join(set));
    }
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Fails naming `what` when `bytes` hold a secret or a secret's last six characters.
fn assert_clean(what: &str, bytes: &[u8], secrets: &[String]) {
    let text = String::from_utf8_lossy(bytes);
    // JSON and SARIF escape newlines in PEM bodies; search both spellings.
    let unescaped = text.replace("\\n", "\n");
    for secret in secrets {
        let tail = &secret[secret.len() - 6..];
        for haystack in [&*text, &unescaped] {
            assert!(!haystack.contains(secret.as_str()), "{what} leaks a secret");
            assert!(!haystack.contains(tail), "{what} leaks a secret's tail");
        }
    }
}

fn sprawl() -> Command {
    Command::cargo_bin("sprawl").unwrap()
}

#[test]
fn no_output_of_any_command_holds_a_secret() {
    let secrets = planted();
    let tree = fixture_tree();
    let out_dir = tempfile::tempdir().unwrap();
    for format in ["text", "json", "jsonl", "sarif"] {
        // Standard output and standard error, with colours and without --quiet.
        let run = sprawl()
            .args(["scan", "--color", "always", "--format", format])
            .arg(tree.path())
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(1), "{format}");
        assert_clean(&format!("{format} on stdout"), &run.stdout, &secrets);
        assert_clean(&format!("{format} stderr"), &run.stderr, &secrets);
        // The same report written to a file.
        let report = out_dir.path().join(format!("report.{format}"));
        let run = sprawl()
            .args(["scan", "--quiet", "--format", format, "-o"])
            .arg(&report)
            .arg(tree.path())
            .output()
            .unwrap();
        assert_clean(&format!("{format} stderr"), &run.stderr, &secrets);
        assert_clean(
            &format!("{format} file"),
            &std::fs::read(&report).unwrap(),
            &secrets,
        );
    }
    // --show-suppressed lists what a baseline and allow comments hold back.
    let baseline = out_dir.path().join("baseline.json");
    let run = sprawl()
        .args(["baseline", "create", "--quiet", "-o"])
        .arg(&baseline)
        .arg(tree.path())
        .output()
        .unwrap();
    assert_clean("baseline create output", &run.stdout, &secrets);
    assert_clean("the baseline", &std::fs::read(&baseline).unwrap(), &secrets);
    for format in ["text", "json", "sarif"] {
        let run = sprawl()
            .args([
                "scan",
                "--show-suppressed",
                "--format",
                format,
                "--baseline",
            ])
            .arg(&baseline)
            .arg(tree.path())
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(0), "{format}");
        assert_clean(&format!("suppressed {format}"), &run.stdout, &secrets);
    }
    // explain shows every candidate, the fixtures' secrets among them: redacted.
    let run = sprawl().arg("explain").arg(tree.path()).output().unwrap();
    assert_eq!(run.status.code(), Some(0));
    assert_clean("explain", &run.stdout, &secrets);
    assert_clean("explain stderr", &run.stderr, &secrets);
    let inventory = out_dir.path().join("inventory.yaml");
    let run = sprawl()
        .args(["inventory", "init", "--quiet", "-o"])
        .arg(&inventory)
        .arg(tree.path())
        .output()
        .unwrap();
    assert_clean("inventory init output", &run.stdout, &secrets);
    assert_clean(
        "the starter inventory",
        &std::fs::read(&inventory).unwrap(),
        &secrets,
    );
}

#[test]
fn show_secrets_is_the_only_way_to_see_them() {
    let secrets = planted();
    let tree = fixture_tree();
    let run = sprawl()
        .args(["scan", "--quiet", "--format", "json", "--show-secrets"])
        .arg(tree.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&run.stdout).replace("\\n", "\n");
    let missing: Vec<&String> = secrets.iter().filter(|s| !text.contains(*s)).collect();
    assert!(missing.is_empty(), "{} secrets not shown", missing.len());
    let run = sprawl()
        .args(["explain", "--show-secrets"])
        .arg(tree.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&run.stdout).replace("\\n", "\n");
    let missing: Vec<&String> = secrets.iter().filter(|s| !text.contains(*s)).collect();
    assert!(
        missing.is_empty(),
        "explain: {} secrets not shown",
        missing.len()
    );
}

#[test]
fn error_messages_do_not_quote_secret_values() {
    // A configuration or inventory value of the wrong type may hold a credential someone
    // pasted in the wrong place; the one-line error names where, not what.
    let secret = planted()
        .into_iter()
        .find(|s| s.starts_with("ghp_"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (".sprawl.toml", format!("max_file_size = \"{secret}\"\n")),
        (".sprawl.toml", format!("max_age_days = \"{secret}\"\n")),
        (".sprawl.toml", format!("fail_on = [\"{secret}\"]\n")),
        (
            "sprawl-inventory.yaml",
            format!("version: 1\nowners:\n  - id: {secret}\n    status: {secret}\n"),
        ),
        (
            "sprawl-inventory.yaml",
            format!("version: 1\ncredentials:\n  - id: a\n    created: {secret}\n"),
        ),
    ];
    for (name, text) in cases {
        let case = tempfile::tempdir_in(dir.path()).unwrap();
        std::fs::write(case.path().join(name), &text).unwrap();
        let run = sprawl()
            .args(["scan", "--quiet"])
            .arg(case.path())
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "{text}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains(name), "{stderr}");
        assert!(
            !stderr.contains(&secret) && !stderr.contains(&secret[secret.len() - 6..]),
            "the error for {name} quotes the value: {stderr}"
        );
    }
}
