//! The CI examples in docs/ci.md are tested: each block marked `<!-- tested: NAME -->` is read
//! from the document and its shell is run, as a CI runner would run it, in a scratch
//! repository built with the git CLI (fixed authors and dates), with the sprawl just built
//! first on PATH: the GitHub step with GitHub's `bash -eo pipefail`, the GitLab script and
//! the shell gate with `sh` (dash on Debian, so they stay POSIX). Also checks
//! `.pre-commit-hooks.yaml`.
//!
//! The scratch repository: a base commit holding an old token recorded in
//! `.sprawl-baseline.json`; a pull request that adds a new token (and touches the old one's
//! file); and one that only edits that file and the README (nothing new).

mod common;

use common::{Repo, github_token, show};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BASE_SHA: &str = "${{ github.event.pull_request.base.sha }}";
const HEAD_SHA: &str = "${{ github.event.pull_request.head.sha }}";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The body of the fenced block that follows `<!-- tested: NAME -->` in docs/ci.md.
fn tested_block(name: &str) -> String {
    common::tested_block("docs/ci.md", name)
}

fn yaml(text: &str, what: &str) -> Value {
    serde_saphyr::from_str::<Value>(text).unwrap_or_else(|e| panic!("{what} is not YAML: {e}"))
}

/// The GitHub workflow, parsed (`on` stays a string key: serde-saphyr reads YAML 1.2).
fn workflow() -> Value {
    yaml(&tested_block("github-workflow"), "the GitHub workflow")
}

fn steps(workflow: &Value) -> &Vec<Value> {
    workflow["jobs"]["sprawl"]["steps"]
        .as_array()
        .expect("the workflow has jobs.sprawl.steps")
}

/// The shell of the step that runs `sprawl scan`.
fn scan_step(workflow: &Value) -> String {
    let runs: Vec<&str> = steps(workflow)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .filter(|run| run.contains("sprawl scan"))
        .collect();
    assert_eq!(runs.len(), 1, "one step runs sprawl scan: {runs:?}");
    runs[0].to_string()
}

impl Repo {
    /// Checks out `rev` detached, as a CI runner does.
    fn checkout(&self, rev: &str) {
        self.git(&["checkout", "-q", "--detach", rev], "2024-01-01T00:00:00Z");
    }

    /// Runs `program args…` in the work tree with the sprawl under test first on PATH.
    fn run(&self, program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let bin = Path::new(env!("CARGO_BIN_EXE_sprawl"))
            .parent()
            .expect("the binary is in a folder");
        let mut paths = vec![bin.to_path_buf()];
        paths.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let mut command = Command::new(program);
        command
            .current_dir(&self.path)
            .args(args)
            .env("PATH", std::env::join_paths(paths).unwrap())
            .env("HOME", &self.home)
            .env("GIT_CONFIG_NOSYSTEM", "1");
        for var in [
            "SPRAWL_REPORT",
            "SPRAWL_RANGE",
            "SPRAWL_BASELINE",
            "CI_MERGE_REQUEST_DIFF_BASE_SHA",
            "CI_COMMIT_SHA",
        ] {
            command.env_remove(var);
        }
        command.envs(env.iter().copied());
        command.output().expect("the command runs")
    }

    fn sprawl(&self, args: &[&str]) -> Output {
        self.run(env!("CARGO_BIN_EXE_sprawl"), args, &[])
    }

    fn read_json(&self, rel: &str) -> Value {
        let text = std::fs::read_to_string(self.path.join(rel))
            .unwrap_or_else(|e| panic!("{rel} was not written: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"))
    }

    fn contains_in_clear(&self, rel: &str, secrets: &[&str]) -> bool {
        let text = std::fs::read_to_string(self.path.join(rel)).unwrap_or_default();
        secrets.iter().any(|s| text.contains(s))
    }
}

/// The scratch repository of every run below.
struct PullRequests {
    repo: Repo,
    old_token: String,
    new_token: String,
    /// The base commit: the old token and a baseline that knows it.
    base: String,
    /// Adds `deploy/release.env` with the new token, and a line to the old token's file.
    adds_secret: String,
    /// Adds a line to the old token's file and edits the README: nothing new.
    adds_nothing_new: String,
}

impl PullRequests {
    fn new() -> PullRequests {
        let repo = Repo::new();
        let old_token = github_token(1);
        let new_token = github_token(2);
        let settings = format!("API_URL=https://api.corp.test\nGITHUB_TOKEN={old_token}\n");
        repo.write("README.md", "# service\n");
        repo.write("config/settings.env", &settings);
        repo.commit("service with a token", "2024-01-01T00:00:00Z");

        // Adoption, as docs/ci.md describes it: record what is there, commit the baseline.
        let out = repo.sprawl(&["baseline", "create", ".", "--quiet"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "sprawl baseline create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(repo.path.join(".sprawl-baseline.json").is_file());
        assert!(!repo.contains_in_clear(".sprawl-baseline.json", &[&old_token]));
        let base = repo.commit("sprawl baseline", "2024-01-02T00:00:00Z");

        repo.git(
            &["checkout", "-q", "-b", "adds-secret"],
            "2024-01-03T00:00:00Z",
        );
        repo.write(
            "config/settings.env",
            &format!("{settings}LOG_LEVEL=debug\n"),
        );
        repo.write(
            "deploy/release.env",
            &format!("RELEASE_TOKEN={new_token}\n"),
        );
        let adds_secret = repo.commit("release token", "2024-01-03T00:00:00Z");

        repo.git(
            &["checkout", "-q", "-b", "adds-nothing-new", &base],
            "2024-01-04T00:00:00Z",
        );
        repo.write(
            "config/settings.env",
            &format!("{settings}LOG_LEVEL=info\n"),
        );
        repo.write("README.md", "# service\n\nRuns the API.\n");
        let adds_nothing_new = repo.commit("log level", "2024-01-04T00:00:00Z");

        PullRequests {
            repo,
            old_token,
            new_token,
            base,
            adds_secret,
            adds_nothing_new,
        }
    }

    fn secrets(&self) -> [&str; 2] {
        [&self.old_token, &self.new_token]
    }

    /// Runs the workflow's scan step for the pull request `base..head`, checked out at `head`,
    /// with the shell GitHub uses for `run:` on Linux.
    fn github_step(&self, head: &str) -> Output {
        let script = scan_step(&workflow())
            .replace(BASE_SHA, &self.base)
            .replace(HEAD_SHA, head);
        assert!(
            !script.contains("${{"),
            "an expression the test does not substitute: {script}"
        );
        self.repo.checkout(head);
        self.repo.run(
            "bash",
            &["--noprofile", "--norc", "-eo", "pipefail", "-c", &script],
            &[],
        )
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed")
}

/// The `sprawl: ` summary line of a text report on standard output: the last line.
fn summary_line(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
    match last {
        Some(line) if line.starts_with("sprawl: ") => line.to_string(),
        _ => panic!(
            "standard output does not end with a `sprawl: ` line\n{}",
            show(out)
        ),
    }
}

/// The rule ids and paths of a SARIF log's results.
fn sarif_results(sarif: &Value) -> Vec<(String, String)> {
    assert_eq!(sarif["version"], "2.1.0", "SARIF version");
    let runs = sarif["runs"].as_array().expect("SARIF has runs");
    assert_eq!(runs.len(), 1, "one run");
    let results = runs[0]["results"].as_array().expect("the run has results");
    results
        .iter()
        .map(|r| {
            let rule = r["ruleId"].as_str().unwrap_or_default().to_string();
            let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (rule, uri)
        })
        .collect()
}

#[test]
fn pre_commit_manifest_offers_the_sprawl_hook() {
    let text = read(".pre-commit-hooks.yaml");
    let manifest = yaml(&text, ".pre-commit-hooks.yaml");
    let hooks = manifest
        .as_array()
        .expect("the manifest is a list of hooks");
    assert_eq!(hooks.len(), 1);
    let hook = &hooks[0];
    assert_eq!(hook["id"], "sprawl");
    assert_eq!(hook["language"], "rust");
    let entry = hook["entry"].as_str().expect("an entry");
    assert!(entry.starts_with("sprawl scan --staged"), "entry: {entry}");
    assert!(hook["name"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(hook["description"].as_str().is_some_and(|d| !d.is_empty()));
    // sprawl reads the index itself: file names would be scanned whole, not at added lines.
    assert_eq!(hook["pass_filenames"], false);
    assert_eq!(hook["always_run"], true);
    // `pre-commit` is the stage's name since pre-commit 3.2 (`commit` before, now deprecated).
    assert_eq!(hook["stages"], serde_json::json!(["pre-commit"]));
    assert_eq!(hook["minimum_pre_commit_version"], "3.2.0");
}

#[test]
fn github_workflow_runs_on_pull_requests_and_uploads_sarif() {
    let workflow = workflow();
    assert!(
        workflow["on"].get("pull_request").is_some(),
        "on: pull_request"
    );
    assert_eq!(workflow["permissions"]["security-events"], "write");
    assert_eq!(workflow["permissions"]["contents"], "read");
    let steps = steps(&workflow);
    let checkout = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/checkout@"))
        })
        .expect("a checkout step");
    assert_eq!(checkout["with"]["fetch-depth"], 0, "--range needs history");
    let install = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .find(|run| run.contains("cargo install"))
        .expect("an install step");
    assert!(install.contains("--locked") && install.contains("<org>"));

    let scan = scan_step(&workflow);
    for part in [
        "sprawl scan .",
        &format!("--range \"{BASE_SHA}..{HEAD_SHA}\""),
        "--baseline .sprawl-baseline.json",
        "--format sarif -o sprawl.sarif",
        "--fail-on orphaned,long-lived",
    ] {
        assert!(scan.contains(part), "the scan step lacks {part}: {scan}");
    }
    let upload = steps
        .iter()
        .find(|s| s["uses"] == "github/codeql-action/upload-sarif@v3")
        .expect("an upload-sarif step");
    assert_eq!(upload["if"], "always()");
    assert_eq!(upload["with"]["sarif_file"], "sprawl.sarif");
    assert_eq!(upload["with"]["category"], "sprawl");
}

#[test]
fn github_step_fails_a_pull_request_that_adds_a_secret_and_writes_sarif() {
    let prs = PullRequests::new();
    let out = prs.github_step(&prs.adds_secret);
    assert_eq!(code(&out), 1, "{}", show(&out));
    let sarif = prs.repo.read_json("sprawl.sarif");
    let results = sarif_results(&sarif);
    assert!(
        results
            .iter()
            .any(|(rule, uri)| rule == "github-pat-classic" && uri.ends_with("deploy/release.env")),
        "the new token is a result: {results:?}"
    );
    // The old token is in the range too (its file changed), but the baseline knows it.
    assert!(
        results.iter().all(|(_, uri)| !uri.contains("settings.env")),
        "the baselined token is not a result: {results:?}"
    );
    assert!(!prs.repo.contains_in_clear("sprawl.sarif", &prs.secrets()));
}

#[test]
fn github_step_passes_a_pull_request_that_adds_nothing_new() {
    let prs = PullRequests::new();
    let out = prs.github_step(&prs.adds_nothing_new);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let results = sarif_results(&prs.repo.read_json("sprawl.sarif"));
    assert!(results.is_empty(), "{results:?}");
}

#[test]
fn github_step_without_the_base_commit_is_an_error() {
    // What happens with the default shallow checkout (no fetch-depth: 0).
    let prs = PullRequests::new();
    let script = scan_step(&workflow())
        .replace(BASE_SHA, &"0".repeat(40))
        .replace(HEAD_SHA, &prs.adds_secret);
    prs.repo.checkout(&prs.adds_secret);
    let out = prs
        .repo
        .run("bash", &["-eo", "pipefail", "-c", &script], &[]);
    assert_eq!(code(&out), 2, "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("sprawl: "), "{}", show(&out));
}

#[test]
fn shell_gate_prints_the_summary_and_exits_with_sprawls_code() {
    let gate = tested_block("shell-gate");
    assert!(gate.starts_with("#!/bin/sh\n"));
    let prs = PullRequests::new();
    let repo = &prs.repo;
    let direct = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            ".",
            "--quiet",
            "--baseline",
            ".sprawl-baseline.json",
        ];
        args.extend_from_slice(extra);
        code(&repo.sprawl(&args))
    };

    // The whole work tree of the pull request that adds a token: 1, like sprawl itself.
    repo.checkout(&prs.adds_secret);
    let out = repo.run("sh", &["-c", &gate], &[]);
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert_eq!(code(&out), direct(&[]));
    summary_line(&out);
    let report = repo.read_json("sprawl-report.json");
    assert_eq!(report["schema"], "sprawl.report/v1");
    let findings = report["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "only the new token counts: {findings:?}");
    assert_eq!(findings[0]["rule"]["id"], "github-pat-classic");
    assert_eq!(findings[0]["locations"][0]["path"], "deploy/release.env");
    assert!(
        report["baseline"].is_object(),
        "the report has a baseline section"
    );
    assert!(!repo.contains_in_clear("sprawl-report.json", &prs.secrets()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!prs.secrets().iter().any(|s| stdout.contains(s)));

    // The other pull request's tree holds only the baselined token: 0.
    repo.checkout(&prs.adds_nothing_new);
    let out = repo.run(
        "sh",
        &["-c", &gate],
        &[("SPRAWL_REPORT", "other-report.json")],
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(code(&out), direct(&[]));
    summary_line(&out);
    assert_eq!(
        repo.read_json("other-report.json")["findings"],
        serde_json::json!([])
    );

    // A pull request's range: the same verdicts.
    let range = format!("{}..{}", prs.base, prs.adds_secret);
    repo.checkout(&prs.adds_secret);
    let out = repo.run("sh", &["-c", &gate], &[("SPRAWL_RANGE", &range)]);
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert_eq!(code(&out), direct(&["--range", &range]));
    summary_line(&out);

    // The pull request that edits the file holding the old, baselined token: its range
    // passes, and claims nothing about baseline entries it did not see.
    let range = format!("{}..{}", prs.base, prs.adds_nothing_new);
    repo.checkout(&prs.adds_nothing_new);
    let out = repo.run("sh", &["-c", &gate], &[("SPRAWL_RANGE", &range)]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("fixed:"), "{}", show(&out));
    assert!(stdout.contains("0 new, 0 known, 0 fixed"), "{}", show(&out));
    let baseline = &repo.read_json("sprawl-report.json")["baseline"];
    assert_eq!(baseline["fixed"], serde_json::json!([]), "{baseline}");
    assert_eq!(baseline["not_judged"], 1, "{baseline}");
    // Even without the baseline: the old token is not on a line the range added.
    assert_eq!(
        code(&repo.sprawl(&["scan", ".", "--quiet", "--range", &range])),
        0
    );

    // A range whose base is not in the clone: sprawl's 2, and no text run.
    let missing = format!("{}..{}", "0".repeat(40), prs.adds_secret);
    let out = repo.run("sh", &["-c", &gate], &[("SPRAWL_RANGE", &missing)]);
    assert_eq!(code(&out), 2, "{}", show(&out));
    assert_eq!(code(&out), direct(&["--range", &missing]));
    assert!(String::from_utf8_lossy(&out.stdout).trim().is_empty());
}

#[test]
fn shell_gate_without_a_baseline_fails_on_every_finding() {
    let gate = tested_block("shell-gate");
    let repo = Repo::new();
    repo.write("app.env", &format!("TOKEN={}\n", github_token(3)));
    repo.commit("token", "2024-01-01T00:00:00Z");
    let out = repo.run("sh", &["-c", &gate], &[]);
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(summary_line(&out).starts_with("sprawl: "));
    assert_eq!(
        repo.read_json("sprawl-report.json")["findings"][0]["rule"]["id"],
        "github-pat-classic"
    );

    std::fs::remove_file(repo.path.join("app.env")).unwrap();
    std::fs::remove_file(repo.path.join("sprawl-report.json")).unwrap();
    let out = repo.run("sh", &["-c", &gate], &[]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    summary_line(&out);
}

/// The GitLab job's `script`, as the runner joins it.
fn gitlab_script() -> (Value, String) {
    let config = yaml(&tested_block("gitlab-job"), "the GitLab job");
    let job = config["sprawl"].clone();
    let script = job["script"]
        .as_array()
        .expect("the job has a script list")
        .iter()
        .map(|line| line.as_str().expect("script lines are strings").to_string())
        .collect::<Vec<_>>()
        .join("\n");
    (job, script)
}

#[test]
fn gitlab_job_keeps_sarif_and_json_and_exits_with_sprawls_code() {
    let (job, script) = gitlab_script();
    assert_eq!(job["artifacts"]["when"], "always");
    assert_eq!(job["artifacts"]["paths"], serde_json::json!(["reports/"]));
    assert_eq!(job["variables"]["GIT_DEPTH"], "0");
    assert!(script.contains("$CI_MERGE_REQUEST_DIFF_BASE_SHA..$CI_COMMIT_SHA"));

    let prs = PullRequests::new();
    let repo = &prs.repo;
    // GitLab's runner runs a job's script with `set -e` (sh) or `set -eo pipefail` (bash).
    let merge_request = |head: &str| {
        repo.checkout(head);
        let _ = std::fs::remove_dir_all(repo.path.join("reports"));
        repo.run(
            "sh",
            &["-ec", &script],
            &[
                ("CI_MERGE_REQUEST_DIFF_BASE_SHA", prs.base.as_str()),
                ("CI_COMMIT_SHA", head),
            ],
        )
    };

    let out = merge_request(&prs.adds_secret);
    assert_eq!(code(&out), 1, "{}", show(&out));
    summary_line(&out);
    let report = repo.read_json("reports/sprawl.json");
    assert_eq!(report["schema"], "sprawl.report/v1");
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(1));
    let results = sarif_results(&repo.read_json("reports/sprawl.sarif"));
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(!repo.contains_in_clear("reports/sprawl.json", &prs.secrets()));
    assert!(!repo.contains_in_clear("reports/sprawl.sarif", &prs.secrets()));

    let out = merge_request(&prs.adds_nothing_new);
    assert_eq!(code(&out), 0, "{}", show(&out));
    summary_line(&out);
    assert!(repo.path.join("reports/sprawl.sarif").is_file());

    // A pipeline on the default branch (no merge request): the whole tree, against the
    // baseline, which knows its only token.
    repo.checkout(&prs.base);
    let _ = std::fs::remove_dir_all(repo.path.join("reports"));
    let out = repo.run(
        "sh",
        &["-ec", &script],
        &[("CI_COMMIT_SHA", prs.base.as_str())],
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    summary_line(&out);
    assert!(repo.path.join("reports/sprawl.json").is_file());
}

#[test]
fn trying_the_hook_as_documented_refuses_the_commit() {
    let block = tested_block("hook-trial");
    let lines: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 3, "{block}");
    let repo = Repo::new();
    repo.write("README.md", "# service\n");
    repo.commit("start", "2024-01-01T00:00:00Z");
    let out = repo.sprawl(&["hook", "install"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let head = repo.git(&["rev-parse", "HEAD"], "2024-01-02T00:00:00Z");

    // A person's identity, as a real user's git configuration would give it.
    let identity = [
        ("GIT_AUTHOR_NAME", "Ann Example"),
        ("GIT_AUTHOR_EMAIL", "ann@corp.test"),
        ("GIT_COMMITTER_NAME", "Ann Example"),
        ("GIT_COMMITTER_EMAIL", "ann@corp.test"),
    ];
    let run = |line: &str| repo.run("sh", &["-c", line], &identity);
    let out = run(lines[0]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    // The commit is refused: the hook's exit 1, nothing committed, the report says why.
    let out = run(lines[1]);
    assert_ne!(code(&out), 0, "{}", show(&out));
    // git passes a hook's output on to standard error.
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("github-pat-classic"),
        "{}",
        show(&out)
    );
    assert_eq!(
        repo.git(&["rev-parse", "HEAD"], "2024-01-02T00:00:00Z"),
        head
    );
    let out = run(lines[2]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(!repo.path.join("hook-test.env").exists());
}
