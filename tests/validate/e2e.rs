//! The real binary: `scan --validate` against a mock GitHub, and without the flag no
//! connection at all; statuses, --fail-on live, every format, the cache, `sprawl validate`.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

use super::mock::{Mock, Reply};

const TOKEN: &str = "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";

fn sprawl(cache: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sprawl"));
    cmd.env("SPRAWL_CACHE_DIR", cache);
    cmd
}

/// A project with one GitHub token in `.env`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!("# deploy\nGITHUB_TOKEN={TOKEN}\n"),
    )
    .unwrap();
    dir
}

fn scan(dir: &Path, cache: &Path, args: &[&str]) -> Output {
    sprawl(cache)
        .arg("scan")
        .arg(dir)
        .args(["--quiet", "--now", "2026-12-06T00:00:00Z"])
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

fn live_github() -> Mock {
    Mock::answering(
        Reply::json(200, r#"{"login":"deploy-bot","id":7,"type":"User"}"#)
            .with_header("X-OAuth-Scopes", "repo")
            .with_header(
                "GitHub-Authentication-Token-Expiration",
                "2027-12-31 00:00:00 UTC",
            ),
    )
}

#[test]
fn without_validate_no_connection_is_opened() {
    let (dir, cache) = (project(), tempfile::tempdir().unwrap());
    let mock = live_github();
    let endpoint = format!("github={}", mock.url());
    for format in ["json", "sarif", "text", "jsonl"] {
        let out = scan(
            dir.path(),
            cache.path(),
            &["--format", format, "--validate-endpoint", &endpoint],
        );
        assert_eq!(out.status.code(), Some(1), "{format}");
    }
    assert_eq!(mock.connections(), 0, "a scan without --validate connected");
    let out = scan(
        dir.path(),
        cache.path(),
        &[
            "--format",
            "json",
            "--validate",
            "--validate-endpoint",
            &endpoint,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(mock.requests().len(), 1);
    let cache_files: Vec<_> = std::fs::read_dir(cache.path()).unwrap().collect();
    assert_eq!(cache_files.len(), 1, "only the validation cache is written");
}

#[test]
fn a_live_credential_in_every_report() {
    let (dir, cache) = (project(), tempfile::tempdir().unwrap());
    let mock = live_github();
    let endpoint = format!("github={}", mock.url());
    let validate = ["--validate", "--validate-endpoint", endpoint.as_str()];

    let out = scan(
        dir.path(),
        cache.path(),
        &[&["--format", "json", "--no-cache"], &validate[..]].concat(),
    );
    let report = json(&out);
    let finding = &report["findings"][0];
    let v = &finding["validation"];
    assert_eq!(v["result"], "live");
    assert_eq!(v["check"], "github");
    assert_eq!(v["identity"]["login"], "deploy-bot");
    assert_eq!(v["scopes"], serde_json::json!(["repo"]));
    assert!(v["checked_at"].as_str().unwrap().ends_with('Z'));
    assert!(v["error"].is_null());
    let statuses = finding["statuses"].as_array().unwrap();
    assert_eq!(statuses[0], "live", "{statuses:?}");
    assert!(statuses.contains(&"long-lived".into()), "{statuses:?}");
    // The provider's expiry becomes the finding's, and policy judges it.
    assert_eq!(finding["expires_at"], "2027-12-31T00:00:00Z");
    let reasons = finding["reasons"].to_string();
    assert!(
        reasons.contains("expires in 390 days (max 90)"),
        "{reasons}"
    );
    assert!(
        reasons.contains("its provider accepts it (id 7, login deploy-bot"),
        "{reasons}"
    );
    assert_eq!(report["summary"]["validation"]["live"], 1);
    assert!(
        !out.stdout
            .windows(TOKEN.len())
            .any(|w| w == TOKEN.as_bytes())
    );

    let out = scan(
        dir.path(),
        cache.path(),
        &[&["--format", "sarif", "--no-cache"], &validate[..]].concat(),
    );
    let sarif = json(&out);
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["level"], "error");
    assert_eq!(result["properties"]["validation"]["result"], "live");

    let out = scan(
        dir.path(),
        cache.path(),
        &[
            &["--format", "text", "--no-cache", "--color", "never"],
            &validate[..],
        ]
        .concat(),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("── live (1) ──"), "{text}");
    assert!(
        text.contains("provider: live · scopes repo · expires 2027-12-31"),
        "{text}"
    );
    assert!(
        text.contains("validated: 1 live, 0 revoked, 0 unknown, 0 without a check"),
        "{text}"
    );

    let out = scan(
        dir.path(),
        cache.path(),
        &[&["--format", "jsonl", "--no-cache"], &validate[..]].concat(),
    );
    let line: Value =
        serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(line["validation"]["result"], "live");
}

#[test]
fn fail_on_live_alone_or_with_other_statuses() {
    let (dir, cache) = (project(), tempfile::tempdir().unwrap());
    let live = live_github();
    let revoked = Mock::answering(Reply::json(401, r#"{"message":"Bad credentials"}"#));
    let run = |mock: &Mock, fail_on: &str| {
        let endpoint = format!("github={}", mock.url());
        scan(
            dir.path(),
            cache.path(),
            &[
                "--format",
                "json",
                "--no-cache",
                "--validate",
                "--validate-endpoint",
                &endpoint,
                "--fail-on",
                fail_on,
            ],
        )
    };
    assert_eq!(run(&live, "live").status.code(), Some(1));
    assert_eq!(run(&revoked, "live").status.code(), Some(0));
    assert_eq!(run(&revoked, "live,orphaned").status.code(), Some(1));
    let out = run(&revoked, "live");
    let v = &json(&out)["findings"][0]["validation"];
    assert_eq!(v["result"], "revoked");
    assert_eq!(v["error"], "HTTP 401: Bad credentials");
}

#[test]
fn results_are_cached_without_the_secret() {
    let (dir, cache) = (project(), tempfile::tempdir().unwrap());
    let mock = live_github();
    let endpoint = format!("github={}", mock.url());
    let args = [
        "--format",
        "json",
        "--validate",
        "--validate-endpoint",
        endpoint.as_str(),
    ];
    let first = json(&scan(dir.path(), cache.path(), &args));
    let second = json(&scan(dir.path(), cache.path(), &args));
    assert_eq!(mock.requests().len(), 1, "the second scan asked again");
    assert_eq!(second["findings"][0]["validation"]["cached"], true);
    assert_eq!(
        second["findings"][0]["validation"]["identity"],
        first["findings"][0]["validation"]["identity"]
    );

    let fingerprint = first["findings"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    for entry in std::fs::read_dir(cache.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(TOKEN), "the cache holds the secret");
        assert!(
            !text.contains(&fingerprint),
            "the cache holds the fingerprint"
        );
    }
    // --no-cache asks again; another endpoint is another cache entry.
    let mut no_cache = args.to_vec();
    no_cache.push("--no-cache");
    scan(dir.path(), cache.path(), &no_cache);
    assert_eq!(mock.requests().len(), 2);
}

#[test]
fn endpoints_from_the_configuration_file() {
    let (dir, cache) = (project(), tempfile::tempdir().unwrap());
    let mock = live_github();
    std::fs::write(
        dir.path().join(".sprawl.toml"),
        format!("validate_endpoints = {{ github = \"{}\" }}\n", mock.url()),
    )
    .unwrap();
    let out = scan(
        dir.path(),
        cache.path(),
        &["--format", "json", "--validate", "--no-cache"],
    );
    assert_eq!(json(&out)["findings"][0]["validation"]["result"], "live");
    assert_eq!(mock.requests().len(), 1);

    std::fs::write(
        dir.path().join(".sprawl.toml"),
        "validate_endpoints = { github = \"http://ghe.acme.io\" }\n",
    )
    .unwrap();
    let out = scan(dir.path(), cache.path(), &["--validate"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(".sprawl.toml") && stderr.contains("loopback"),
        "{stderr}"
    );
}

#[test]
fn validate_reads_one_secret_from_stdin() {
    let cache = tempfile::tempdir().unwrap();
    let mock = live_github();
    let endpoint = format!("github={}", mock.url());
    let out = sprawl(cache.path())
        .args([
            "validate",
            "--rule",
            "github-pat-classic",
            "--format",
            "json",
            "--validate-endpoint",
            &endpoint,
        ])
        .write_stdin(format!("{TOKEN}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "live exits 1");
    let v = json(&out);
    assert_eq!(v["result"], "live");
    assert_eq!(v["identity"]["login"], "deploy-bot");
    assert_eq!(
        mock.requests()[0].header("authorization"),
        Some(format!("token {TOKEN}").as_str())
    );

    let revoked = Mock::answering(Reply::json(401, "{}"));
    let endpoint = format!("github={}", revoked.url());
    let out = sprawl(cache.path())
        .args([
            "validate",
            "--rule",
            "github-pat-classic",
            "--validate-endpoint",
            &endpoint,
        ])
        .write_stdin(TOKEN)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "revoked exits 0");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("revoked  [github-pat-classic]"));

    // Never from an argument; a rule without a check says so.
    let out = sprawl(cache.path())
        .args(["validate", "--rule", "github-pat-classic", TOKEN])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(TOKEN));
    let out = sprawl(cache.path())
        .args(["validate", "--rule", "generic-password"])
        .write_stdin("hunter2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no provider check"));
}

#[test]
fn inventory_init_suggests_the_provider_identity() {
    let (dir, cache) = (project(), tempfile::tempdir().unwrap());
    let mock = live_github();
    let endpoint = format!("github={}", mock.url());
    let file = dir.path().join("inventory.yaml");
    let out = sprawl(cache.path())
        .args([
            "inventory",
            "init",
            "--quiet",
            "--validate",
            "--validate-endpoint",
            &endpoint,
            "-o",
        ])
        .arg(&file)
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("# suggested: login deploy-bot (provider identity)"),
        "{text}"
    );
}
