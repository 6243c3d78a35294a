//! End-to-end tests of `sprawl scan --format sarif`: the real binary on `fixtures/`, its
//! output validated against the OASIS SARIF 2.1.0 schema (vendored in `tests/schemas/`,
//! origin in `tests/schemas/README.md`; nothing is fetched at test time) and checked
//! against GitHub code scanning's upload limits, and never holding a fixture secret.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};

const NOW: &str = "2026-11-23T00:00:00Z";

// GitHub code scanning's limits (docs.github.com, "SARIF results exceed one or more limits").
const MAX_RESULTS_PER_RUN: usize = 25_000;
const MAX_LOCATIONS_PER_RESULT: usize = 1_000;
const MAX_TAGS_PER_RULE: usize = 20;

fn sprawl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sprawl"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures(sub: &str) -> PathBuf {
    root().join("fixtures").join(sub)
}

/// Exit code and stdout of `sprawl scan <dir> --quiet --now NOW <args>`.
fn scan(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = sprawl()
        .arg("scan")
        .arg(dir)
        .args(["--quiet", "--now", NOW])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "scan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap(), stdout)
}

fn scan_sarif(dir: &Path) -> (i32, String, Value) {
    let (code, text) = scan(dir, &["--format", "sarif"]);
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (code, text, value)
}

/// The secrets sprawl finds in `dir`, as `--show-secrets --format json` prints them.
fn secrets(dir: &Path) -> Vec<String> {
    let (_, text) = scan(dir, &["--format", "json", "--show-secrets"]);
    let report: Value = serde_json::from_str(&text).unwrap();
    let secrets: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["secret"]
                .as_str()
                .expect("--show-secrets shows it")
                .to_string()
        })
        .collect();
    assert!(!secrets.is_empty(), "no finding in {}", dir.display());
    secrets
}

fn schema() -> Value {
    let path = root().join("tests/schemas/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        schema["id"],
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    );
    schema
}

/// The vendored OASIS schema as written (draft-04), formats checked. The crate is built
/// without its HTTP and file resolvers, and the schema refers only to itself.
fn validator() -> jsonschema::Validator {
    jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&schema())
        .expect("the SARIF schema compiles")
}

/// The same schema read as draft-06, only so that its `"format": "uri-reference"` (on
/// `artifactLocation.uri`) is checked: draft 4 does not define that format, so the
/// validator above ignores it. The schema has no `exclusiveMinimum`/`exclusiveMaximum`,
/// the keywords whose meaning changed between the two drafts.
fn uri_validator() -> jsonschema::Validator {
    let mut schema = schema();
    schema.as_object_mut().unwrap().remove("$schema");
    assert!(!schema.to_string().contains("exclusiveM"));
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft6)
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles as draft-06")
}

fn assert_schema_valid(log: &Value) {
    for validator in [validator(), uri_validator()] {
        let errors: Vec<String> = validator
            .iter_errors(log)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "SARIF does not match the schema:\n{}",
            errors.join("\n")
        );
    }
}

/// What GitHub code scanning would refuse or silently lose.
fn assert_within_github_limits(log: &Value) {
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for rule in rules {
        let tags = rule["properties"]["tags"].as_array().unwrap();
        assert!(tags.len() <= MAX_TAGS_PER_RULE, "{rule}");
        let severity: f64 = rule["properties"]["security-severity"]
            .as_str()
            .expect("security-severity is a string")
            .parse()
            .unwrap();
        assert!((0.1..=10.0).contains(&severity), "{rule}");
    }
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(results.len() <= MAX_RESULTS_PER_RUN);
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"], "{result}");
        let locations = result["locations"].as_array().unwrap();
        assert!(!locations.is_empty() && locations.len() <= MAX_LOCATIONS_PER_RESULT);
        for location in locations {
            let artifact = &location["physicalLocation"]["artifactLocation"];
            let uri = artifact["uri"].as_str().unwrap();
            assert!(
                !uri.contains(':') && !uri.starts_with('/') && !uri.contains('\\'),
                "not a relative URI: {uri}"
            );
            assert!(!uri.split('/').any(|s| s == ".."), "leaves the root: {uri}");
            assert_eq!(artifact["uriBaseId"], "%SRCROOT%");
            assert!(location["physicalLocation"]["region"]["startLine"].as_u64() >= Some(1));
        }
        let fingerprint = result["partialFingerprints"]["sprawlFingerprint/v1"]
            .as_str()
            .unwrap_or_else(|| panic!("no partial fingerprint: {result}"));
        assert_eq!(fingerprint.len(), 64);
    }
}

fn assert_no_secret(sarif: &str, dir: &Path) {
    for secret in secrets(dir) {
        assert!(
            !sarif.contains(&secret),
            "a secret of {} is in the SARIF",
            dir.display()
        );
        // Also as JSON escapes it (a secret with a quote, backslash or newline).
        let escaped = serde_json::to_string(&secret).unwrap();
        assert!(!sarif.contains(escaped.trim_matches('"')));
    }
}

#[test]
fn positives_sarif_is_valid_and_within_github_limits() {
    let dir = fixtures("positives");
    let (code, text, log) = scan_sarif(&dir);
    assert_eq!(code, 1);
    assert_schema_valid(&log);
    assert_within_github_limits(&log);
    assert_no_secret(&text, &dir);

    // One result per location: the JSON report's locations, one for one.
    let (_, json) = scan(&dir, &["--format", "json"]);
    let report: Value = serde_json::from_str(&json).unwrap();
    let locations: usize = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["locations"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        log["runs"][0]["results"].as_array().unwrap().len(),
        locations
    );
}

#[test]
fn lifecycle_sarif_is_valid_and_within_github_limits() {
    let dir = fixtures("lifecycle");
    let (code, text, log) = scan_sarif(&dir);
    assert_eq!(code, 1, "exits 1 on findings, like the other formats");
    assert_schema_valid(&log);
    assert_within_github_limits(&log);
    assert_no_secret(&text, &dir);
    // The inventory's verdicts travel with each result.
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["properties"]["owner"].is_object()));
    assert!(results.iter().any(|r| {
        r["properties"]["statuses"]
            .as_array()
            .unwrap()
            .contains(&json!("orphaned"))
    }));
}

#[test]
fn sarif_output_is_deterministic() {
    let (_, first, _) = scan_sarif(&fixtures("lifecycle"));
    let (_, second, _) = scan_sarif(&fixtures("lifecycle"));
    assert_eq!(first, second);
}

#[test]
fn sarif_exit_code_matches_json() {
    for sub in ["lifecycle", "positives", "negatives"] {
        let (json_code, _) = scan(&fixtures(sub), &["--format", "json"]);
        let (sarif_code, _) = scan(&fixtures(sub), &["--format", "sarif"]);
        assert_eq!(sarif_code, json_code, "{sub}");
    }
}

/// The schema check is not vacuous: it rejects what GitHub would.
#[test]
fn the_schema_rejects_broken_logs() {
    let (_, _, log) = scan_sarif(&fixtures("lifecycle"));
    let validator = validator();
    assert!(validator.is_valid(&log));
    let mut bad_level = log.clone();
    bad_level["runs"][0]["results"][0]["level"] = json!("fatal");
    assert!(!validator.is_valid(&bad_level));
    let mut bad_uri = log.clone();
    bad_uri["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        json!("has space/and\\backslash");
    assert!(
        validator.is_valid(&bad_uri),
        "draft 4 has no uri-reference format"
    );
    assert!(
        !uri_validator().is_valid(&bad_uri),
        "uri-reference format is checked"
    );
    let mut no_message = log;
    no_message["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    assert!(!validator.is_valid(&no_message));
}

/// A fake GitHub token with a valid checksum, from the generated fixtures.
fn token() -> String {
    let text = std::fs::read_to_string(fixtures("positives/src/config.js")).unwrap();
    let start = text.find("ghp_").unwrap();
    text[start..start + 40].to_string()
}

fn git(dir: &Path, args: &[&str]) -> String {
    common::git(dir, dir, args, "2026-01-01T00:00:00Z")
}

/// File names that need percent-encoding, and a secret that lives only in history, still
/// give a schema-valid log with relative URIs; the history result names its commit.
#[test]
fn awkward_paths_and_history_locations_stay_valid() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    let token = token();
    let awkward = "dir with space/naïve #1 [x] 100%.env";
    std::fs::create_dir_all(repo.join("dir with space")).unwrap();
    std::fs::write(repo.join(awkward), format!("TOKEN={token}\n")).unwrap();
    std::fs::write(repo.join("gone.env"), format!("OLD={token}\n")).unwrap();
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "add"]);
    let added = git(repo, &["rev-parse", "HEAD"]).trim().to_string();
    std::fs::remove_file(repo.join("gone.env")).unwrap();
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "remove"]);

    let (code, text) = scan(repo, &["--history", "--format", "sarif"]);
    assert_eq!(code, 1);
    assert!(!text.contains(&token));
    let log: Value = serde_json::from_str(&text).unwrap();
    assert_schema_valid(&log);
    assert_within_github_limits(&log);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let uri = |r: &Value| {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let uris: Vec<String> = results.iter().map(uri).collect();
    // The work-tree file and its commit are one place; the deleted file is another.
    assert_eq!(
        uris,
        [
            "dir%20with%20space/na%C3%AFve%20%231%20%5Bx%5D%20100%25.env",
            "gone.env"
        ]
    );
    let gone = &results[1];
    assert_eq!(gone["properties"]["source"], "git");
    assert_eq!(gone["properties"]["commit"], added.as_str());
    assert_eq!(gone["locations"][0]["properties"]["commit"], added.as_str());
    // One credential: both places share its partial fingerprint.
    assert_eq!(
        results[0]["partialFingerprints"],
        gone["partialFingerprints"]
    );
}

#[test]
fn the_log_names_the_repository_and_commit_it_scanned() {
    let repo = common::Repo::new();
    repo.git(
        &[
            "remote",
            "add",
            "origin",
            "https://ci:hunter2@github.com/acme/api.git",
        ],
        "2024-01-01T00:00:00Z",
    );
    repo.write("deploy/ci.env", &format!("GH_TOKEN={}\n", common::token()));
    let head = repo.commit("config", "2024-02-01T00:00:00Z");
    let (_, text, log) = scan_sarif(&repo.path);
    assert_schema_valid(&log);
    let run = &log["runs"][0];
    assert_eq!(
        run["versionControlProvenance"],
        json!([{"repositoryUri": "https://github.com/acme/api.git", "revisionId": head}])
    );
    assert_eq!(run["properties"]["scan"]["commit"], head.as_str());
    assert!(
        !text.contains("hunter2"),
        "a remote's credentials never reach a report"
    );
}
