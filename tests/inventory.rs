//! End-to-end tests of ownership and lifecycle: the real binary on `fixtures/lifecycle`
//! (credentials that date themselves, and an inventory that owns some of them), on
//! certificates and keys generated here with explicit validity dates, and the `inventory`
//! subcommands.
//!
//! The JSON report of `fixtures/lifecycle` is compared with `tests/snapshots/lifecycle.json`;
//! regenerate it with `SPRAWL_UPDATE_SNAPSHOTS=1 cargo test --test inventory`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const NOW: &str = "2026-11-23T00:00:00Z";

fn sprawl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sprawl"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lifecycle_fixtures() -> PathBuf {
    root().join("fixtures/lifecycle")
}

fn scan_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = sprawl()
        .arg("scan")
        .arg(dir)
        .args(["--format", "json", "--quiet", "--now", NOW])
        .args(args)
        .output()
        .unwrap();
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), value)
}

fn by_path<'a>(report: &'a Value, path: &str, rule: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["locations"][0]["path"] == path && f["rule"]["id"] == rule)
        .unwrap_or_else(|| panic!("no {rule} finding at {path}"))
}

fn statuses(finding: &Value) -> Vec<&str> {
    finding["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

#[test]
fn lifecycle_report_matches_snapshot() {
    let (code, mut report) = scan_json(&lifecycle_fixtures(), &[]);
    assert_eq!(code, 1);
    report["summary"]["duration_ms"] = Value::from(0);
    // When and at which commit it ran differ on every run (tests/merge.rs checks `scan`).
    report.as_object_mut().unwrap().shift_remove("scan");
    // Found through the scanned folder, shown relative to the working directory.
    report["inventory"]["path"] = Value::from("<lifecycle>/sprawl-inventory.yaml");
    let actual = serde_json::to_string_pretty(&report).unwrap() + "\n";
    let snapshot = root().join("tests/snapshots/lifecycle.json");
    if std::env::var_os("SPRAWL_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snapshot, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot).expect("snapshot exists");
    assert!(
        expected == actual,
        "report differs from tests/snapshots/lifecycle.json; if intended, rerun with \
         SPRAWL_UPDATE_SNAPSHOTS=1 and review the diff.\n--- actual ---\n{actual}"
    );
}

#[test]
fn statuses_follow_the_inventory_and_the_credentials_own_dates() {
    let (_, report) = scan_json(&lifecycle_fixtures(), &[]);

    let release = by_path(&report, "ci/actions.env", "github-pat-classic");
    assert_eq!(statuses(release), ["owned"]);
    assert_eq!(release["owner"]["id"], "payments");
    assert_eq!(release["owner"]["inventory_id"], "release-token");
    assert_eq!(release["owner"]["contact"], "payments@example.com");
    assert_eq!(release["inventory_match"], "fingerprint");
    assert_eq!(release["age_days"], 30);

    let installation = by_path(&report, "ci/actions.env", "github-app-installation-token");
    assert_eq!(
        statuses(installation),
        ["orphaned"],
        "ghs_ tokens live an hour"
    );
    assert_eq!(
        installation["metadata"]["github"]["token_type"],
        "installation"
    );
    // Orphaned, beside a credential the inventory gives to payments: a hint, with why.
    assert_eq!(
        installation["owner_hints"],
        serde_json::json!([{
            "source": "inventory-neighbour",
            "value": "payments",
            "detail": "owns GitHub personal access token (classic) (inventory entry release-token) in ci/"
        }])
    );
    let owned = by_path(&report, "ci/actions.env", "github-pat-classic");
    assert_eq!(owned["owner_hints"], serde_json::json!([]));

    let aws = by_path(&report, "deploy/aws/credentials", "aws-secret-access-key");
    assert_eq!(statuses(aws), ["orphaned", "long-lived"]);
    assert_eq!(aws["owner"]["status"], "offboarded");
    assert_eq!(aws["metadata"]["aws"]["key_id_type"], "long-term");

    let sts = by_path(&report, "deploy/aws/session.env", "aws-session-token");
    assert_eq!(statuses(sts), ["orphaned"]);
    assert_eq!(sts["metadata"]["aws"]["key_id_type"], "temporary");

    let expired = by_path(&report, "config/session.json", "jwt-token");
    assert_eq!(statuses(expired), ["orphaned", "expired"]);
    assert_eq!(expired["expires_at"], "2025-01-02T00:00:00Z");
    assert_eq!(expired["metadata"]["issued_at"], "2025-01-01T00:00:00Z");
    // One key id: the credential's own (a JWT's iss|sub), where every format reads it.
    assert_eq!(expired["key_id"], "https://auth.corp.internal|svc-session");
    assert_eq!(expired["metadata"]["key_id"], Value::Null);

    let partner = by_path(&report, "config/partner.env", "jwt-token");
    assert_eq!(statuses(partner), ["orphaned", "long-lived"]);
    assert_eq!(partner["metadata"]["lifetime"], "730d");
    assert_eq!(partner["reasons"][1], "valid for 730 days (max 90)");

    let sas = by_path(&report, "storage/backup.sh", "azure-sas-token");
    assert_eq!(sas["expires_at"], "2030-01-01T00:00:00Z");
    assert_eq!(sas["metadata"]["not_before"], "2026-01-01T00:00:00Z");
    assert!(statuses(sas).contains(&"long-lived"));

    let legacy = by_path(
        &report,
        "k8s/deployer-token.yaml",
        "kubernetes-secret-stringdata",
    );
    assert_eq!(statuses(legacy), ["long-lived", "owned"]);
    assert_eq!(legacy["inventory_match"], "key_id");
    assert_eq!(legacy["metadata"]["jwt"]["has_exp"], false);

    let slack = by_path(&report, "notify/slack.yml", "slack-bot-token");
    assert_eq!(statuses(slack)[0], "ambiguous-owner");
    assert_eq!(slack["owner"], Value::Null);

    let inventory = &report["inventory"];
    assert_eq!(inventory["entries"], 6);
    assert_eq!(inventory["stale"], serde_json::json!(["old-webhook"]));
    assert_eq!(
        inventory["dangling_owners"],
        serde_json::json!(["old-webhook"])
    );
    assert_eq!(
        inventory["offboarded_with_live_credentials"],
        serde_json::json!(["legacy-bot"])
    );
    // The inventory names an AWS key id, but its own file is not a leak.
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["locations"][0]["path"] != "sprawl-inventory.yaml")
    );
}

#[test]
fn fail_on_picks_the_statuses_that_fail_a_build() {
    let dir = lifecycle_fixtures();
    let code = |args: &[&str]| scan_json(&dir, args).0;
    assert_eq!(code(&["--fail-on", "expired"]), 1);
    assert_eq!(code(&["--fail-on", "none"]), 0);
    assert_eq!(code(&["--fail-on", "orphaned,long-lived"]), 1);

    // Only an owned, recently rotated credential: nothing but `any` fails.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join("ci/actions.env"), tmp.path().join("actions.env")).unwrap();
    let text = std::fs::read_to_string(dir.join("ci/actions.env")).unwrap();
    std::fs::write(
        tmp.path().join("actions.env"),
        text.lines().nth(1).unwrap().to_string() + "\n",
    )
    .unwrap();
    let inventory = dir.join("sprawl-inventory.yaml");
    let inventory = inventory.to_str().unwrap();
    let only = |fail_on: &str| {
        scan_json(
            tmp.path(),
            &["--inventory", inventory, "--fail-on", fail_on],
        )
        .0
    };
    assert_eq!(only("orphaned,long-lived,expired"), 0);
    assert_eq!(only("any"), 1);
    // --max-age-days does not override the inventory's default policy.
    assert_eq!(
        scan_json(
            tmp.path(),
            &["--inventory", inventory, "--max-age-days", "1"]
        )
        .1["findings"][0]["max_age_days"],
        90
    );
}

#[test]
fn without_an_inventory_everything_is_orphaned_and_max_age_comes_from_the_flag() {
    let (_, report) = scan_json(
        &lifecycle_fixtures(),
        &["--no-inventory", "--max-age-days", "1000"],
    );
    assert_eq!(report["inventory"], Value::Null);
    for finding in report["findings"].as_array().unwrap() {
        assert_eq!(statuses(finding)[0], "orphaned");
        assert_eq!(finding["max_age_days"], 1000);
    }
    // 730 days of validity is within 1000.
    let partner = by_path(&report, "config/partner.env", "jwt-token");
    assert_eq!(statuses(partner), ["orphaned"]);
}

/// A certificate and its key, generated with explicit validity dates, in one folder.
fn write_certificate_and_key(dir: &Path) -> String {
    use rcgen::{CertificateParams, KeyPair, date_time_ymd};
    use sha2::Digest as _;
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["billing.internal".to_string()]).unwrap();
    params.not_before = date_time_ymd(2026, 1, 1);
    params.not_after = date_time_ymd(2027, 6, 1);
    let cert = params.self_signed(&key).unwrap();
    std::fs::create_dir_all(dir.join("tls")).unwrap();
    std::fs::write(dir.join("tls/server.crt"), cert.pem()).unwrap();
    std::fs::write(dir.join("tls/server.key"), key.serialize_pem()).unwrap();
    sha2::Sha256::digest(cert.der())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn certificates_date_themselves_and_own_their_key() {
    let tmp = tempfile::tempdir().unwrap();
    let thumbprint = write_certificate_and_key(tmp.path());
    // A thumbprint as openssl prints it: upper case with colons.
    let openssl_style: Vec<String> = thumbprint
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).to_uppercase())
        .collect();
    std::fs::write(
        tmp.path().join("sprawl-inventory.yaml"),
        format!(
            "version: 1\nowners: [{{id: platform, status: active}}]\ncredentials:\n  - id: billing-tls\n    owner: platform\n    match: {{key_id: \"{}\"}}\n",
            openssl_style.join(":")
        ),
    )
    .unwrap();
    let (_, report) = scan_json(tmp.path(), &[]);
    let cert = by_path(&report, "tls/server.crt", "x509-certificate");
    assert_eq!(cert["metadata"]["x509"]["sha256"], thumbprint.as_str());
    // One key id, at the top, where every format and the inventory read it.
    assert_eq!(cert["key_id"], thumbprint.as_str());
    assert_eq!(cert["metadata"]["key_id"], Value::Null);
    assert_eq!(cert["metadata"]["not_before"], "2026-01-01T00:00:00Z");
    assert_eq!(cert["expires_at"], "2027-06-01T00:00:00Z");
    assert_eq!(cert["metadata"]["lifetime"], "516d");
    assert_eq!(statuses(cert), ["long-lived", "owned"]);
    assert_eq!(cert["reasons"][0], "valid for 516 days (max 90)");

    let key = by_path(&report, "tls/server.key", "pem-pkcs8-private-key");
    assert_eq!(
        key["metadata"]["private_key"]["certificate"]["sha256"],
        thumbprint.as_str()
    );
    assert_eq!(key["metadata"]["private_key"]["encrypted"], false);
    assert_eq!(key["owner"]["inventory_id"], "billing-tls");
    assert_eq!(statuses(key), ["long-lived", "owned"]);
    assert_eq!(
        key["reasons"][0],
        "its certificate is valid for 516 days (max 90)"
    );

    // The thumbprint written the way sprawl prints fingerprints (`sha256:`, any case)
    // names the same certificate.
    for written in [
        format!("sha256:{thumbprint}"),
        format!("SHA256:{}", thumbprint.to_uppercase()),
    ] {
        std::fs::write(
            tmp.path().join("sprawl-inventory.yaml"),
            format!(
                "version: 1\nowners: [{{id: platform, status: active}}]\ncredentials:\n  - id: billing-tls\n    owner: platform\n    match: {{key_id: \"{written}\"}}\n"
            ),
        )
        .unwrap();
        let (_, report) = scan_json(tmp.path(), &[]);
        let cert = by_path(&report, "tls/server.crt", "x509-certificate");
        assert_eq!(cert["owner"]["inventory_id"], "billing-tls", "{written}");
    }

    // After notAfter the certificate is expired, not long-lived.
    let out = sprawl()
        .arg("scan")
        .arg(tmp.path())
        .args([
            "--format",
            "json",
            "--quiet",
            "--now",
            "2027-06-02T00:00:00Z",
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cert = by_path(&report, "tls/server.crt", "x509-certificate");
    assert_eq!(statuses(cert), ["expired", "owned"]);
    // Its key proves nothing past that date either: dated by its certificate, never
    // "no expiry".
    let key = by_path(&report, "tls/server.key", "pem-pkcs8-private-key");
    assert_eq!(statuses(key), ["expired", "owned"]);
    assert_eq!(
        key["reasons"][0],
        "expired 1 day ago on 2027-06-01 (its certificate's expiry)"
    );
    assert_eq!(key["expires_at"], "2027-06-01T00:00:00Z");
}

#[test]
fn a_malformed_inventory_is_one_line_with_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("inv.yaml");
    std::fs::write(
        &bad,
        "version: 1\ncredentials:\n  - id: x\n    onwer: me\n    match: {rule: github}\n",
    )
    .unwrap();
    for args in [
        vec![
            "scan".to_string(),
            ".".into(),
            "--inventory".into(),
            bad.display().to_string(),
        ],
        vec![
            "inventory".to_string(),
            "check".into(),
            bad.display().to_string(),
        ],
    ] {
        let out = sprawl()
            .args(&args)
            .current_dir(tmp.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.trim_end(),
            format!(
                "sprawl: {}:4:5: unknown field `onwer`, expected one of id, owner, purpose, match, created, rotated, expires, max_age_days",
                bad.display()
            )
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn inventory_check_lists_problems() {
    let out = sprawl()
        .args(["inventory", "check", "--now", NOW])
        .arg(lifecycle_fixtures().join("sprawl-inventory.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(":15: 'aws-deploy': owner 'legacy-bot' is offboarded"),
        "{stdout}"
    );
    assert!(stdout.contains("'old-webhook': owner 'ghost-team' is not defined under owners"));
    assert!(
        stdout
            .trim_end()
            .ends_with("3 owners, 6 credentials, 2 problems")
    );

    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("inv.yaml");
    std::fs::write(
        &good,
        "version: 1\nowners: [{id: a, status: active}]\ncredentials:\n  - {id: x, owner: a, match: {rule: github}, expires: 2027-01-01}\n",
    )
    .unwrap();
    sprawl()
        .args(["inventory", "check", "--now", NOW])
        .arg(&good)
        .assert()
        .code(0)
        .stdout(predicates::str::ends_with(
            "1 owner, 1 credential, no problems\n",
        ));
}

#[test]
fn init_writes_a_starter_inventory_and_merges_without_losing_edits() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    for file in [
        "ci/actions.env",
        "deploy/aws/credentials",
        "config/partner.env",
    ] {
        let to = repo.join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(lifecycle_fixtures().join(file), to).unwrap();
    }
    std::fs::create_dir_all(repo.join(".github")).unwrap();
    std::fs::write(
        repo.join(".github/CODEOWNERS"),
        "* @acme/everyone\n/deploy/ @acme/platform\n",
    )
    .unwrap();
    let init = || {
        sprawl()
            .args(["inventory", "init", "--quiet", "--now", NOW])
            .arg(repo)
            .output()
            .unwrap()
    };
    let out = init();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 entries added"));
    let path = repo.join("sprawl-inventory.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    // Keyed by key id where there is one, else by fingerprint; never the secret.
    assert!(text.contains("match: {key_id: \"AKIA"));
    assert!(text.contains("match: {fingerprint: \"sha256:"));
    assert!(text.contains("owner: null  # suggested: @acme/platform (CODEOWNERS)"));
    assert!(text.contains("owner: null  # suggested: @acme/everyone (CODEOWNERS)"));
    // The same evidence in the report, with the line that gives it.
    let (_, report) = scan_json(repo, &["--no-inventory"]);
    let hints: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["owner_hints"].as_array().unwrap())
        .collect();
    assert!(hints.iter().any(|h| {
        h["source"] == "codeowners"
            && h["value"] == "@acme/platform"
            && h["detail"]
                .as_str()
                .unwrap()
                .starts_with("CODEOWNERS line 2 covers deploy/")
    }));
    assert!(
        text.contains("created: 2026-01-01"),
        "JWT iat gives created:\n{text}"
    );
    for secret in std::fs::read_to_string(repo.join("ci/actions.env"))
        .unwrap()
        .lines()
    {
        let secret = secret.split_once('=').unwrap().1;
        assert!(!text.contains(secret));
    }
    sprawl()
        .args(["inventory", "check", "--now", NOW])
        .arg(&path)
        .assert()
        .code(1); // loads; the owners are still to be filled in

    // The user fills in an owner; a new credential appears; init again.
    let edited = text.replacen("owner: null", "owner: payments  # mine", 1);
    std::fs::write(&path, &edited).unwrap();
    std::fs::copy(
        lifecycle_fixtures().join("notify/slack.yml"),
        repo.join("ci/slack.yml"),
    )
    .unwrap();
    let out = init();
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 entry added"));
    let merged = std::fs::read_to_string(&path).unwrap();
    assert!(merged.starts_with(&edited), "existing text kept verbatim");
    assert_eq!(merged.matches("- id: ").count(), 5);
    assert!(merged.contains("slack-bot-token-"));
    // Nothing new: the file is left as it was.
    let out = init();
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 entries added"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), merged);

    // A malformed inventory is never overwritten.
    std::fs::write(&path, "version: 1\ncredentials: [\n").unwrap();
    let out = init();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "version: 1\ncredentials: [\n"
    );
}

#[test]
fn metadata_and_reasons_never_carry_a_secret() {
    let dir = lifecycle_fixtures();
    let (_, shown) = scan_json(&dir, &["--show-secrets"]);
    let secrets: Vec<String> = shown["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["secret"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(secrets.len(), 10);
    for format in ["text", "json", "jsonl"] {
        let out = sprawl()
            .arg("scan")
            .arg(&dir)
            .args(["--quiet", "--now", NOW, "--format", format])
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout);
        for secret in &secrets {
            assert!(
                !report.contains(secret.as_str()),
                "{format} report leaks a secret"
            );
        }
    }
}
