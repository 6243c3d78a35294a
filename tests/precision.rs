//! End-to-end tests of what is and is not a credential where a new user first looks: a
//! Kubernetes Secret's non-secret entries, local-development defaults in example files,
//! values that start on the next line, and credential files whose passwords are weak.

mod common;

use common::show;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// A JSON scan of `dir` with the suppressed findings listed.
fn scan(dir: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_sprawl"))
        .current_dir(dir)
        .args([
            "scan",
            ".",
            "--quiet",
            "--format",
            "json",
            "--no-inventory",
            "--show-suppressed",
            "--now",
            "2025-01-01T00:00:00Z",
        ])
        .output()
        .expect("sprawl runs");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", show(&out)))
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `(path:line, rule id)` of every reported place.
fn places(report: &Value, list: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for finding in report[list].as_array().into_iter().flatten() {
        for location in finding["locations"].as_array().unwrap() {
            out.push((
                format!(
                    "{}:{}",
                    location["path"].as_str().unwrap(),
                    location["line"]
                ),
                finding["rule"]["id"].as_str().unwrap().to_string(),
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn a_kubernetes_secret_reports_its_secrets_not_its_user_and_host() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "k8s/etl-secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: etl\ntype: Opaque\ndata:\n  \
         DATABASE_USER: ZXRsX3dyaXRlcg==\n  DATABASE_HOST: ZGIuaW50ZXJuYWwuYWNtZS1jb3JwLmlv\n  \
         DATABASE_PASSWORD: WmdnYlozUVNMSFlIRmN5T3RBIVJaRHlK\n",
    );
    let report = scan(dir.path());
    assert_eq!(
        places(&report, "findings"),
        vec![(
            "k8s/etl-secret.yaml:9".to_string(),
            "kubernetes-secret-data".to_string()
        )],
        "{report:#}"
    );
    // The user-name entry is not a look-alike of a credential either.
    assert!(
        report["summary"]["dropped"].get("allow_pattern").is_none(),
        "{report:#}"
    );
}

#[test]
fn local_development_defaults_are_suppressed_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".env.example",
        "DATABASE_URL=postgres://checkout:checkout@localhost:5432/checkout\n\
         SMTP_PASSWORD=changeme\nSTRIPE_KEY=sk_live_Zx9Lk4Tr8Wn6Vp3Js5HmB7q2\n",
    );
    // The same user-equals-password URL pointing at a shared host is a leak.
    write(
        dir.path(),
        "deploy/prod.env",
        "DATABASE_URL=postgres://checkout:checkout@db.acme-corp.io:5432/checkout\n",
    );
    let report = scan(dir.path());
    let found = places(&report, "findings");
    assert!(
        found.contains(&(
            "deploy/prod.env:1".into(),
            "postgres-url-credentials".into()
        )),
        "{found:?}"
    );
    // A token of a known format in an example file is still reported.
    assert!(
        found.iter().any(|(at, _)| at == ".env.example:3"),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|(at, _)| at == ".env.example:1"),
        "{found:?}"
    );
    let suppressed = report["suppressed"].as_array().unwrap();
    let local: Vec<&Value> = suppressed
        .iter()
        .filter(|s| s["suppression"]["kind"] == "local-default")
        .collect();
    assert!(
        local.iter().any(|s| s["suppression"]["reason"]
            .as_str()
            .unwrap()
            .contains("the password is the user name, at localhost")),
        "{report:#}"
    );
    assert_eq!(
        report["summary"]["suppressed"]["local-default"],
        local.len()
    );
}

#[test]
fn values_that_start_on_the_next_line_are_found() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "settings.xml",
        "<settings>\n  <servers>\n    <server>\n      <id>deploy</id>\n      <password>\n        \
         Zq8vR2pLw7xNk4Tb9mWc\n      </password>\n    </server>\n  </servers>\n</settings>\n",
    );
    write(
        dir.path(),
        "app.yaml",
        "service:\n  api_token: |\n    Hq7dK2mZp9LwXr4Tn8Vb3cYs\n",
    );
    write(
        dir.path(),
        "creds.json",
        "{\n  \"client_secret\":\n    \"Tb9mWcZq8vR2pLw7xNk4Yy6Q\"\n}\n",
    );
    write(
        dir.path(),
        "deploy.sh",
        "#!/bin/sh\ndocker run -e DB_PASSWORD=\\\n    Lw7xNk4T#Zq8vR2p9mWc app\n",
    );
    let report = scan(dir.path());
    let at: Vec<String> = places(&report, "findings")
        .into_iter()
        .map(|(at, _)| at)
        .collect();
    assert_eq!(
        at,
        vec![
            "app.yaml:3",
            "creds.json:3",
            "deploy.sh:3",
            "settings.xml:6"
        ],
        "{report:#}"
    );
}

#[test]
fn weak_passwords_in_credential_files_are_reported_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "home/.netrc",
        "machine ftp.acme.test login deploy password pass123\n",
    );
    write(
        root,
        "home/.pgpass",
        "db.acme.test:5432:billing:billing:password\n",
    );
    write(
        root,
        "site/sftp-config.json",
        "{\n  \"type\": \"sftp\",\n  \"host\": \"web01.acme.test\",\n  \"user\": \"www\",\n  \"password\": \"letmein\"\n}\n",
    );
    write(
        root,
        "ops/run.sh",
        "curl -u deploy:Xk9mPq2vL7wR https://nexus.acme.test/service/rest/v1/status\n",
    );
    // The same weak value in prose is no credential: only a file format names it one.
    write(
        root,
        "docs/setup.md",
        "Log in as deploy, password pass123.\n",
    );
    let report = scan(root);
    assert_eq!(
        places(&report, "findings"),
        [
            (
                "home/.netrc:1".to_string(),
                "netrc-saved-password".to_string()
            ),
            (
                "home/.pgpass:1".to_string(),
                "pgpass-saved-password".to_string()
            ),
            (
                "ops/run.sh:1".to_string(),
                "curl-basic-auth-password".to_string()
            ),
            (
                "site/sftp-config.json:5".to_string(),
                "editor-sftp-config-password".to_string()
            ),
        ],
        "{report:#}"
    );
    let weak = |path: &str| -> Vec<String> {
        let finding = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["locations"][0]["path"] == path)
            .unwrap();
        finding["metadata"]["weak"]["reasons"]
            .as_array()
            .map(|reasons| {
                reasons
                    .iter()
                    .map(|r| r.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(!weak("home/.netrc").is_empty(), "pass123 is weak");
    assert!(!weak("home/.pgpass").is_empty(), "`password` is weak");
    assert!(!weak("site/sftp-config.json").is_empty(), "letmein is weak");
    assert!(
        weak("ops/run.sh").is_empty(),
        "a random password is not weak"
    );
}
