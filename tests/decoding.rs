//! End-to-end tests of secrets under encodings: base64 (one and two layers), percent-encoding
//! and JSON `\u` escapes are found and located at the encoded value, with `decoded` naming
//! the layers.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// A fake GitHub token with a valid checksum, from the generated fixtures.
fn token() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/positives/src/config.js");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.find("ghp_").unwrap();
    text[start..start + 40].to_string()
}

fn scan(dir: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_sprawl"))
        .arg("scan")
        .arg(dir)
        .args([
            "--format",
            "json",
            "--quiet",
            "--no-config",
            "--no-inventory",
        ])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn located(report: &Value, path: &str) -> Vec<(String, u64, u64, Value)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| {
            let rule = f["rule"]["id"].as_str().unwrap().to_string();
            f["locations"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["path"] == path)
                .map(move |l| {
                    (
                        rule.clone(),
                        l["line"].as_u64().unwrap(),
                        l["column"].as_u64().unwrap(),
                        l["decoded"].clone(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn base64_one_and_two_layers_deep() {
    let tmp = tempfile::tempdir().unwrap();
    let token = token();
    let one = STANDARD.encode(&token);
    let auth = STANDARD.encode(format!("ci-bot:{token}"));
    let docker = format!(r#"{{"auths":{{"ghcr.io":{{"auth":"{auth}"}}}}}}"#);
    let two = STANDARD.encode(docker);
    std::fs::write(
        tmp.path().join("secret.yaml"),
        format!(
            "apiVersion: v1\nkind: Secret\ndata:\n  token: {one}\n  .dockerconfigjson: {two}\n"
        ),
    )
    .unwrap();
    let report = scan(tmp.path());
    let mut found = located(&report, "secret.yaml");
    found.sort_by_key(|f| f.1);
    assert_eq!(
        found,
        [
            (
                "github-pat-classic".into(),
                4,
                10,
                serde_json::json!(["base64"])
            ),
            (
                "github-pat-classic".into(),
                5,
                22,
                serde_json::json!(["base64", "base64"])
            ),
        ]
    );
    // One credential, two places; the report never shows it in clear.
    assert_eq!(report["findings"].as_array().unwrap().len(), 1);
    assert!(!report.to_string().contains(&token));
}

#[test]
fn percent_encoding_and_json_escapes() {
    let tmp = tempfile::tempdir().unwrap();
    let token = token();
    let percent = token.replace('_', "%5F");
    std::fs::write(
        tmp.path().join("deploy.sh"),
        format!("curl \"https://api.example.net/hooks?access={percent}&x=1\"\n"),
    )
    .unwrap();
    let escaped = token.replace('_', "\\u005f");
    std::fs::write(
        tmp.path().join("settings.json"),
        format!("{{\n  \"github\": \"{escaped}\"\n}}\n"),
    )
    .unwrap();
    let report = scan(tmp.path());
    assert_eq!(
        located(&report, "deploy.sh"),
        [(
            "github-pat-classic".into(),
            1,
            7,
            serde_json::json!(["percent"])
        )]
    );
    assert_eq!(
        located(&report, "settings.json"),
        [(
            "github-pat-classic".into(),
            2,
            14,
            serde_json::json!(["json-escape"])
        )]
    );
}

#[test]
fn encoded_noise_stays_silent() {
    let tmp = tempfile::tempdir().unwrap();
    // Base64 of binary data, of plain prose, and identifiers that look like base64.
    let binary = STANDARD.encode((0u8..=255).collect::<Vec<u8>>());
    let prose = STANDARD.encode("the quick brown fox jumps over the lazy dog, twice over");
    std::fs::write(
        tmp.path().join("noise.yaml"),
        format!("icon: {binary}\nnote: {prose}\nfn: getElementsByTagNameAndSomethingElse\n"),
    )
    .unwrap();
    let report = scan(tmp.path());
    assert_eq!(report["findings"], serde_json::json!([]));
}

#[test]
fn a_password_under_encoding_does_not_replace_a_specific_rule() {
    // `kubernetes-secret-data` names the base64 value itself; the decoded text is only a
    // password by its key name, which says less, so the specific finding stands alone.
    let tmp = tempfile::tempdir().unwrap();
    let password = STANDARD.encode("L0r8ACrysI+72-vq");
    std::fs::write(
        tmp.path().join("secret.yaml"),
        format!("apiVersion: v1\nkind: Secret\ndata:\n  password: {password}\n"),
    )
    .unwrap();
    let report = scan(tmp.path());
    assert_eq!(
        located(&report, "secret.yaml"),
        [(
            "kubernetes-secret-data".into(),
            4,
            13,
            serde_json::json!([])
        )]
    );
}
