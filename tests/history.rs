//! End-to-end tests of `sprawl scan --history` on small repositories built at test time with
//! the git CLI (fixed authors and dates, so commit ids and ages are reproducible).

mod common;

use common::{Repo, token};

use std::path::Path;
use std::process::Command as Process;

use assert_cmd::Command;
use serde_json::Value;

fn git_in(dir: &Path, args: &[&str], date: &str) -> String {
    common::git(dir, dir, args, date)
}

fn scan(path: &Path, extra: &[&str]) -> (i32, Value) {
    scan_in(path, None, extra)
}

/// A history scan, with its cache in `cache` when given (else the tests' cache folder).
fn scan_in(path: &Path, cache: Option<&Path>, extra: &[&str]) -> (i32, Value) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sprawl"));
    if let Some(cache) = cache {
        command.env("SPRAWL_CACHE_DIR", cache);
    }
    let out = command
        .args(["scan", "--history", "--quiet", "--format", "json"])
        .args(["--now", "2024-12-31T00:00:00Z"])
        .args(extra)
        .arg(path)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    (code, report)
}

fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().unwrap()
}

#[test]
fn a_secret_added_then_deleted_is_found_with_its_first_commit() {
    let (repo, added) = Repo::with_a_removed_token();

    let (code, report) = scan(&repo.path, &[]);
    assert_eq!(code, 1);
    let found = findings(&report);
    assert_eq!(found.len(), 1);
    let f = &found[0];
    assert_eq!(f["rule"]["id"], "github-pat-classic");
    assert_eq!(f["first_seen"]["commit"], added.as_str());
    assert_eq!(f["first_seen"]["date"], "2024-02-01T00:00:00Z");
    assert_eq!(f["first_seen"]["author"], "Ann Example <ann@corp.test>");
    assert_eq!(f["last_seen"]["commit"], added.as_str());
    assert_eq!(f["in_worktree"], false);
    assert_eq!(f["age_days"], 334);
    let location = &f["locations"][0];
    assert_eq!(location["source"], "git");
    assert_eq!(location["commit"], added.as_str());
    assert_eq!(location["path"], "deploy/ci.env");
    assert_eq!(location["line"], 1);
    assert_eq!(location["column"], 10);
}

#[test]
fn a_secret_still_present_has_a_git_and_a_file_location() {
    let repo = Repo::new();
    repo.write("app/.env", &format!("TOKEN={}\n", token()));
    let added = repo.commit("add", "2024-05-01T00:00:00Z");
    let (_, report) = scan(&repo.path, &[]);
    let f = &findings(&report)[0];
    assert_eq!(f["in_worktree"], true);
    assert_eq!(f["first_seen"]["commit"], added.as_str());
    let sources: Vec<&str> = f["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["file", "git"]);

    let (_, report) = scan(&repo.path, &["--no-worktree"]);
    assert_eq!(
        findings(&report)[0]["locations"].as_array().unwrap().len(),
        1
    );
    assert_eq!(
        findings(&report)[0]["in_worktree"],
        true,
        "still in HEAD's tree"
    );
}

#[test]
fn the_same_blob_in_100_commits_is_scanned_once() {
    let repo = Repo::new();
    repo.write("config/secrets.env", &format!("TOKEN={}\n", token()));
    for i in 0..100 {
        repo.write("counter.txt", &format!("{i}\n"));
        repo.commit(
            &format!("commit {i}"),
            &format!("2024-01-01T00:{:02}:{:02}Z", i / 60, i % 60),
        );
    }
    let (_, report) = scan(&repo.path, &["--no-worktree"]);
    let history = &report["summary"]["history"];
    assert_eq!(history["commits"], 100);
    // 100 versions of counter.txt and the one secrets.env blob.
    assert_eq!(history["blobs_scanned"], 101);
    let f = &findings(&report)[0];
    assert_eq!(f["locations"].as_array().unwrap().len(), 1);
}

#[test]
fn secrets_only_on_a_side_branch_or_a_tag_are_found() {
    let repo = Repo::new();
    repo.write("README.md", "main\n");
    repo.commit("main", "2024-01-01T00:00:00Z");
    repo.git(&["checkout", "-q", "-b", "feature"], "2024-01-02T00:00:00Z");
    repo.write("feature.env", &format!("TOKEN={}\n", token()));
    let on_branch = repo.commit("feature", "2024-01-02T00:00:00Z");
    repo.git(&["checkout", "-q", "main"], "2024-01-03T00:00:00Z");

    repo.git(&["checkout", "-q", "--detach"], "2024-01-03T00:00:00Z");
    let stripe = format!("sk_live_{}", "Zx9Lk4Tr8Wn6Vp3Js5HmB7q2");
    repo.write("release.env", &format!("STRIPE={stripe}\n"));
    let tagged = repo.commit("release", "2024-01-04T00:00:00Z");
    repo.git(&["tag", "v1", &tagged], "2024-01-04T00:00:00Z");
    repo.git(&["checkout", "-q", "main"], "2024-01-05T00:00:00Z");

    let (code, report) = scan(&repo.path, &[]);
    assert_eq!(code, 1);
    let commits: Vec<&str> = findings(&report)
        .iter()
        .map(|f| f["first_seen"]["commit"].as_str().unwrap())
        .collect();
    assert!(commits.contains(&on_branch.as_str()), "{commits:?}");
    assert!(commits.contains(&tagged.as_str()), "{commits:?}");
    assert!(findings(&report).iter().all(|f| f["in_worktree"] == false));
}

#[test]
fn rewriting_a_file_that_keeps_a_secret_does_not_move_its_first_seen() {
    // The second commit has an older date (a rebase, a wrong clock) and edits the file; the
    // secret was introduced by the first commit all the same.
    let repo = Repo::new();
    repo.write("app.env", &format!("TOKEN={}\n", token()));
    let introduced = repo.commit("add", "2024-06-01T00:00:00Z");
    repo.write("app.env", &format!("TOKEN={}\nDEBUG=1\n", token()));
    let rewritten = repo.commit("edit", "2024-01-01T00:00:00Z");
    let (_, report) = scan(&repo.path, &["--no-worktree"]);
    let f = &findings(&report)[0];
    assert_eq!(f["first_seen"]["commit"], introduced.as_str());
    assert_eq!(f["last_seen"]["commit"], introduced.as_str());
    assert_eq!(f["locations"].as_array().unwrap().len(), 2);
    assert!(
        f["locations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["commit"] == rewritten.as_str())
    );
}

#[test]
fn a_shallow_clone_works_and_says_its_history_is_partial() {
    let repo = Repo::new();
    repo.write("old.env", &format!("TOKEN={}\n", token()));
    repo.commit("old", "2024-01-01T00:00:00Z");
    repo.write("README.md", "new\n");
    repo.commit("new", "2024-02-01T00:00:00Z");
    let clone = repo.path.parent().unwrap().join("shallow");
    let source = format!("file://{}", repo.path.display());
    git_in(
        repo.path.parent().unwrap(),
        &["clone", "-q", "--depth", "1", &source, "shallow"],
        "2024-03-01T00:00:00Z",
    );
    let (_, report) = scan(&clone, &[]);
    assert_eq!(report["summary"]["history"]["partial"], true);
    assert_eq!(report["summary"]["history"]["commits"], 1);
    // The token is in the one commit a depth-1 clone has.
    assert_eq!(findings(&report).len(), 1);
    // The text report says so where people read it.
    let summary = text_scan(&clone).lines().last().unwrap().to_string();
    assert!(
        summary.contains("history partial: a shallow clone"),
        "{summary}"
    );
}

fn text_scan(path: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sprawl"))
        .args(["scan", "--history", "--quiet", "--no-inventory"])
        .args(["--now", "2024-12-31T00:00:00Z"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_text_report_shows_each_place_once_with_its_commits() {
    let repo = Repo::new();
    repo.write("a.env", &format!("TOKEN={}\nDEBUG=1\n", token()));
    let first = repo.commit("token", "2024-01-01T00:00:00Z");
    repo.write("a.env", &format!("TOKEN={}\nDEBUG=0\n", token()));
    let second = repo.commit("debug off", "2024-03-01T00:00:00Z");
    repo.write("gone.env", "STRIPE=sk_live_Zx9Lk4Tr8Wn6Vp3Js5HmB7q2\n");
    let third = repo.commit("stripe", "2024-04-01T00:00:00Z");
    std::fs::remove_file(repo.path.join("gone.env")).unwrap();
    repo.commit("no stripe", "2024-05-01T00:00:00Z");

    let text = text_scan(&repo.path);
    // One line for a.env:1:7, saying where it lives: the work tree and both commits.
    let places: Vec<&str> = text.lines().filter(|l| l.contains("a.env:1:7")).collect();
    assert_eq!(places.len(), 1, "{text}");
    let expected = format!(
        "work tree · {} 2024-01-01 · {} 2024-03-01",
        &first[..7],
        &second[..7]
    );
    assert!(places[0].ends_with(&expected), "{text}");
    assert!(
        text.contains(&format!(
            "introduced in {} by Ann Example <ann@corp.test> on 2024-01-01",
            &first[..7]
        )),
        "{text}"
    );
    // A secret deleted from the work tree says so.
    assert!(
        text.contains(&format!(
            "no longer in the work tree; last written in {} on 2024-04-01",
            &third[..7]
        )),
        "{text}"
    );
    let (_, report) = scan(&repo.path, &[]);
    let dates: Vec<&str> = findings(&report)
        .iter()
        .flat_map(|f| f["locations"].as_array().unwrap())
        .filter_map(|l| l["date"].as_str())
        .collect();
    assert!(dates.contains(&"2024-03-01T00:00:00Z"), "{dates:?}");
}

#[test]
fn a_bare_repository_is_scanned_without_a_work_tree() {
    let repo = Repo::new();
    repo.write("x.env", &format!("TOKEN={}\n", token()));
    repo.commit("x", "2024-01-01T00:00:00Z");
    let bare = repo.path.parent().unwrap().join("bare.git");
    git_in(
        repo.path.parent().unwrap(),
        &[
            "clone",
            "-q",
            "--bare",
            repo.path.to_str().unwrap(),
            "bare.git",
        ],
        "2024-01-02T00:00:00Z",
    );
    let (code, report) = scan(&bare, &[]);
    assert_eq!(code, 1);
    assert_eq!(report["summary"]["files_scanned"], 0);
    assert_eq!(findings(&report)[0]["locations"][0]["source"], "git");
}

#[test]
fn a_git_folder_given_itself_is_its_whole_history() {
    // `sprawl scan --history repo/.git`, or a mirror whose config does not say `bare`:
    // libgit2 takes the folder above as the work tree, and the git folder inside it was
    // scanned as if it were a subfolder of the project, with no history at all.
    let repo = Repo::new();
    repo.write("x.env", &format!("TOKEN={}\n", token()));
    repo.commit("x", "2024-01-01T00:00:00Z");
    let (code, report) = scan(&repo.path.join(".git"), &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["summary"]["history"]["blobs_scanned"], 1);
    assert_eq!(findings(&report)[0]["locations"][0]["path"], "x.env");
}

#[test]
fn a_folder_that_is_not_a_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sprawl"))
        .args(["scan", "--history", "--quiet"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not a git repository"), "{stderr}");
}

const STRIPE: &str = "sk_live_Zx9Lk4Tr8Wn6Vp3Js5HmB7q2";

#[test]
fn range_and_since_report_only_what_the_commits_introduced() {
    let repo = Repo::new();
    repo.write("old.env", &format!("TOKEN={}\n", token()));
    let base = repo.commit("old secret", "2024-01-01T00:00:00Z");
    repo.write("new.env", &format!("STRIPE={STRIPE}\n"));
    let added = repo.commit("new secret", "2024-02-01T00:00:00Z");
    repo.write("README.md", "docs\n");
    repo.commit("docs", "2024-03-01T00:00:00Z");

    for args in [
        vec!["--range".to_string(), format!("{base}..HEAD")],
        vec!["--since".to_string(), base.clone()],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_sprawl"))
            .args(["scan", "--quiet", "--format", "json"])
            .args(&args)
            .arg(&repo.path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let found = findings(&report);
        assert_eq!(found.len(), 1, "{args:?}: only the range's secret");
        assert_eq!(found[0]["rule"]["id"], "stripe-secret-key");
        assert_eq!(found[0]["first_seen"]["commit"], added.as_str());
        assert_eq!(report["summary"]["history"]["commits"], 2);
        assert_eq!(
            report["summary"]["files_scanned"], 0,
            "no work tree in a range scan"
        );
    }
}

#[test]
fn staged_sees_staged_lines_and_not_unstaged_edits() {
    let repo = Repo::new();
    repo.write("app.env", "A=1\nB=2\n");
    repo.commit("base", "2024-01-01T00:00:00Z");
    // Staged: a token on line 2. Unstaged: a Stripe key after it.
    repo.write("app.env", &format!("A=1\nTOKEN={}\nB=2\n", token()));
    repo.git(&["add", "app.env"], "2024-01-02T00:00:00Z");
    repo.write(
        "app.env",
        &format!("A=1\nTOKEN={}\nB=2\nSTRIPE={STRIPE}\n", token()),
    );

    let run = || {
        Command::new(env!("CARGO_BIN_EXE_sprawl"))
            .current_dir(&repo.path)
            .args(["scan", "--staged", "--quiet", "--format", "json"])
            .output()
            .unwrap()
    };
    let out = run();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = findings(&report);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["rule"]["id"], "github-pat-classic");
    let location = &found[0]["locations"][0];
    assert_eq!(
        (
            location["path"].as_str(),
            location["line"].as_u64(),
            location["source"].as_str()
        ),
        (Some("app.env"), Some(2), Some("staged"))
    );

    // Once committed, nothing is staged: a clean pre-commit run.
    repo.git(&["commit", "-q", "-m", "token"], "2024-01-03T00:00:00Z");
    assert_eq!(run().status.code(), Some(0));
}

#[test]
fn hook_install_writes_a_pre_commit_hook_and_keeps_an_existing_one() {
    let repo = Repo::new();
    let install = |force: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sprawl"));
        cmd.args(["hook", "install"]).arg(&repo.path);
        if force {
            cmd.arg("--force");
        }
        cmd.output().unwrap()
    };
    assert_eq!(install(false).status.code(), Some(0));
    let hook = repo.path.join(".git/hooks/pre-commit");
    let script = std::fs::read_to_string(&hook).unwrap();
    assert!(script.starts_with("#!/bin/sh\n"), "{script}");
    assert!(script.contains("scan --staged"), "{script}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&hook).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }

    std::fs::write(&hook, "#!/bin/sh\necho mine\n").unwrap();
    let out = install(false);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(&hook).unwrap(),
        "#!/bin/sh\necho mine\n"
    );
    assert_eq!(install(true).status.code(), Some(0));
    assert!(
        std::fs::read_to_string(&hook)
            .unwrap()
            .contains("scan --staged")
    );

    // The installed hook blocks a commit that adds a credential.
    repo.write("leak.env", &format!("TOKEN={}\n", token()));
    repo.git(&["add", "leak.env"], "2024-01-02T00:00:00Z");
    let commit = Process::new("git")
        .current_dir(&repo.path)
        .args(["-c", "commit.gpgsign=false", "commit", "-q", "-m", "leak"])
        .env("GIT_AUTHOR_NAME", "Ann Example")
        .env("GIT_AUTHOR_EMAIL", "ann@corp.test")
        .env("GIT_COMMITTER_NAME", "Ann Example")
        .env("GIT_COMMITTER_EMAIL", "ann@corp.test")
        .output()
        .unwrap();
    assert!(!commit.status.success(), "the hook must refuse the commit");
}

#[test]
fn a_corrupt_object_is_named_and_the_scan_goes_on_and_lfs_pointers_are_counted() {
    let repo = Repo::new();
    repo.write("good.env", &format!("TOKEN={}\n", token()));
    repo.write("broken.txt", "this blob will be corrupted on disk\n");
    repo.write(
        "model.bin",
        "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n",
    );
    repo.commit("files", "2024-01-01T00:00:00Z");
    let broken = repo.git(&["rev-parse", "HEAD:broken.txt"], "2024-01-01T00:00:00Z");
    let broken = broken.trim();
    let object = repo
        .path
        .join(".git/objects")
        .join(&broken[..2])
        .join(&broken[2..]);
    let mut perms = std::fs::metadata(&object).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&object, perms).unwrap();
    std::fs::write(&object, b"not zlib at all").unwrap();

    let (code, report) = scan(&repo.path, &["--no-worktree"]);
    assert_eq!(code, 1, "the good blob's token is still found");
    assert_eq!(findings(&report).len(), 1);
    let summary = &report["summary"];
    assert_eq!(summary["history"]["unreadable_objects"], 1);
    assert_eq!(summary["history"]["lfs_pointers"], 1);
    let problems = summary["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["path"] == "broken.txt" && p["problem"].as_str().unwrap().contains(broken)),
        "{problems:?}"
    );
}

#[test]
fn submodules_are_counted_and_followed_only_when_asked() {
    // A library whose history holds a token deleted before the app pinned it.
    let lib = Repo::new();
    lib.write("secret.env", &format!("TOKEN={}\n", token()));
    let leaked = lib.commit("leak", "2024-01-01T00:00:00Z");
    std::fs::remove_file(lib.path.join("secret.env")).unwrap();
    lib.write("lib.txt", "library\n");
    lib.commit("clean", "2024-02-01T00:00:00Z");

    let app = Repo::new();
    app.write("README.md", "app\n");
    app.commit("app", "2024-03-01T00:00:00Z");
    app.git(
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            lib.path.to_str().unwrap(),
            "vendor/lib",
        ],
        "2024-03-02T00:00:00Z",
    );
    app.commit("add lib", "2024-03-02T00:00:00Z");

    let (code, report) = scan(&app.path, &[]);
    assert_eq!(code, 0, "the library's history is not followed by default");
    assert_eq!(report["summary"]["history"]["submodules_not_followed"], 1);

    let (code, report) = scan(&app.path, &["--recurse-submodules"]);
    assert_eq!(code, 1);
    let f = &findings(&report)[0];
    assert_eq!(f["first_seen"]["commit"], leaked.as_str());
    assert_eq!(f["locations"][0]["path"], "vendor/lib/secret.env");
    assert_eq!(f["locations"][0]["source"], "git");
}

#[test]
fn history_dates_the_inventory_and_ages_the_statuses() {
    let repo = Repo::new();
    let token = token();
    repo.write("deploy/ci.env", &format!("GH_TOKEN={token}\n"));
    repo.commit("add ci token", "2023-07-01T12:00:00Z");
    repo.write("README", "docs\n");
    repo.commit("docs", "2024-02-01T12:00:00Z");

    // Statuses from history alone: no expiry, first seen long ago.
    let (_, report) = scan(&repo.path, &["--no-inventory"]);
    let finding = &report["findings"][0];
    assert_eq!(
        finding["statuses"],
        serde_json::json!(["orphaned", "long-lived"])
    );
    assert_eq!(
        finding["reasons"][1],
        "no expiry and first seen 548 days ago (max 90)"
    );

    // init --history: created from first_seen, the owner suggested from the last author.
    let out = Command::new(env!("CARGO_BIN_EXE_sprawl"))
        .args([
            "inventory",
            "init",
            "--history",
            "--quiet",
            "--now",
            "2024-12-31T00:00:00Z",
        ])
        .arg(&repo.path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(repo.path.join("sprawl-inventory.yaml")).unwrap();
    assert!(text.contains("created: 2023-07-01"), "{text}");
    assert!(
        text.contains("owner: null  # suggested: Ann Example <ann@corp.test> (introduced it)"),
        "{text}"
    );
    assert!(text.contains("(first seen 2023-07-01 in "), "{text}");

    // Owned once an owner is filled in; its age now counts from the inventory's rotation.
    let owned = text.replace("owner: null", "owner: ci") + "    rotated: 2024-12-09\n";
    let owned = owned.replace(
        "owners:\n",
        "owners:\n  - {id: ci, contact: ci@corp.test, status: active}\n",
    );
    std::fs::write(repo.path.join("sprawl-inventory.yaml"), owned).unwrap();
    let (_, report) = scan(&repo.path, &[]);
    let finding = &report["findings"][0];
    assert_eq!(finding["statuses"], serde_json::json!(["owned"]));
    assert_eq!(finding["owner"]["id"], "ci");
    assert_eq!(finding["age_days"], 22);
}

/// A history scan with its cache in `cache`.
fn scan_cached(path: &Path, cache: &Path, extra: &[&str]) -> Value {
    scan_in(path, Some(cache), extra).1
}

/// What a report says of its findings, without the run's duration and counts.
fn provenance(report: &Value) -> Vec<String> {
    findings(report)
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {} {}",
                f["fingerprint"], f["first_seen"], f["last_seen"], f["in_worktree"], f["locations"]
            )
        })
        .collect()
}

#[test]
fn a_second_history_scan_reads_only_blobs_it_has_not_seen() {
    let repo = Repo::new();
    let cache = tempfile::tempdir().unwrap();
    repo.write("app/settings.env", &format!("TOKEN={}\n", token()));
    for i in 0..5 {
        repo.write(
            &format!("src/m{i}.py"),
            &format!("def f{i}():\n    return {i}\n"),
        );
    }
    // A look-alike (a token whose checksum fails): dropped, and counted in the summary.
    let mut lookalike = token();
    let last = if lookalike.ends_with('A') { "B" } else { "A" };
    lookalike.replace_range(lookalike.len() - 1.., last);
    repo.write("docs/token.md", &format!("TOKEN={lookalike}\n"));
    repo.commit("start", "2024-01-01T00:00:00Z");
    repo.write("src/m0.py", "def f0():\n    return 10\n");
    repo.commit("edit", "2024-02-01T00:00:00Z");

    let first = scan_cached(&repo.path, cache.path(), &[]);
    let second = scan_cached(&repo.path, cache.path(), &[]);
    assert_eq!(provenance(&first), provenance(&second));
    assert_eq!(findings(&first).len(), 1);
    let history = |r: &Value, key: &str| r["summary"]["history"][key].as_u64().unwrap();
    assert_eq!(history(&first, "blobs_scanned"), 8);
    assert_eq!(history(&first, "blobs_from_cache"), 0);
    assert_eq!(history(&second, "blobs_scanned"), 8, "counted as scanned");
    assert_eq!(
        history(&second, "blobs_from_cache"),
        7,
        "all but the secret's"
    );
    // In history and in the work tree.
    assert_eq!(first["summary"]["dropped"]["format_check"], 2);
    for key in ["bytes_scanned", "files_scanned", "dropped"] {
        assert_eq!(first["summary"][key], second["summary"][key], "{key}");
    }

    // One new commit: only its new blob is read.
    repo.write("src/m9.py", "def f9():\n    return 9\n");
    repo.commit("more", "2024-03-01T00:00:00Z");
    let third = scan_cached(&repo.path, cache.path(), &[]);
    assert_eq!(provenance(&first), provenance(&third));
    assert_eq!(history(&third, "blobs_scanned"), 9);
    assert_eq!(history(&third, "blobs_from_cache"), 7);

    // The cache (known blobs, the saved walk) holds no secret, and nothing is written into
    // the repository.
    let files: Vec<_> = std::fs::read_dir(cache.path()).unwrap().flatten().collect();
    assert_eq!(files.len(), 2, "{files:?}");
    let secret = token();
    for file in &files {
        let bytes = std::fs::read(file.path()).unwrap();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
        assert!(!bytes.windows(8).any(|w| w == &secret.as_bytes()[4..12]));
    }
    let status = repo.git(
        &["status", "--porcelain", "--ignored"],
        "2024-03-02T00:00:00Z",
    );
    assert_eq!(status, "", "nothing written into the repository");

    // --no-cache reads everything and leaves the cache alone.
    let uncached = scan_cached(&repo.path, cache.path(), &["--no-cache"]);
    assert_eq!(history(&uncached, "blobs_from_cache"), 0);
    assert_eq!(provenance(&first), provenance(&uncached));
}

#[test]
fn a_damaged_cache_is_ignored_with_a_note_and_rebuilt() {
    let repo = Repo::new();
    let cache = tempfile::tempdir().unwrap();
    repo.write("app/settings.env", &format!("TOKEN={}\n", token()));
    repo.write("src/lib.rs", "pub fn f() {}\n");
    repo.commit("start", "2024-01-01T00:00:00Z");
    let first = scan_cached(&repo.path, cache.path(), &[]);
    let mut files: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "known blobs and the saved walk");
    for file in files {
        let whole = std::fs::read(&file).unwrap();
        for damaged in [whole[..whole.len() / 2].to_vec(), b"not a cache".to_vec()] {
            std::fs::write(&file, damaged).unwrap();
            let report = scan_cached(&repo.path, cache.path(), &[]);
            assert_eq!(provenance(&first), provenance(&report));
            let problems = report["summary"]["problems"].to_string();
            assert!(problems.contains("ignored, and rebuilt"), "{problems}");
            let rebuilt = scan_cached(&repo.path, cache.path(), &[]);
            assert_eq!(rebuilt["summary"]["history"]["blobs_from_cache"], 1);
            assert_eq!(rebuilt["summary"]["problems"], serde_json::json!([]));
            assert_eq!(provenance(&first), provenance(&rebuilt));
        }
    }

    // `sprawl cache clear` empties it.
    let out = Process::new(env!("CARGO_BIN_EXE_sprawl"))
        .env("SPRAWL_CACHE_DIR", cache.path())
        .args(["cache", "clear"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}

#[test]
fn scans_at_once_share_the_cache_safely() {
    let repo = Repo::new();
    let cache = tempfile::tempdir().unwrap();
    repo.write("app/settings.env", &format!("TOKEN={}\n", token()));
    for i in 0..20 {
        repo.write(&format!("src/m{i}.py"), &format!("x = {i}\n"));
    }
    repo.commit("start", "2024-01-01T00:00:00Z");
    let runs: Vec<_> = (0..4)
        .map(|_| {
            Process::new(env!("CARGO_BIN_EXE_sprawl"))
                .env("SPRAWL_CACHE_DIR", cache.path())
                .args(["scan", "--history", "--quiet", "--format", "json"])
                .arg(&repo.path)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for run in runs {
        let out = run.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(findings(&report).len(), 1);
    }
    let after = scan_cached(&repo.path, cache.path(), &[]);
    assert_eq!(after["summary"]["problems"], serde_json::json!([]));
    assert_eq!(after["summary"]["history"]["blobs_from_cache"], 20);
}

#[test]
fn a_saved_walk_is_used_only_while_the_refs_stay_the_same() {
    let repo = Repo::new();
    let cache = tempfile::tempdir().unwrap();
    repo.write("app/settings.env", &format!("TOKEN={}\n", token()));
    repo.commit("start", "2024-01-01T00:00:00Z");
    repo.git(&["rm", "-q", "app/settings.env"], "2024-02-01T00:00:00Z");
    repo.commit("remove", "2024-02-01T00:00:00Z");
    let first = scan_cached(&repo.path, cache.path(), &[]);
    assert_eq!(findings(&first)[0]["in_worktree"], false);
    // HEAD moves back to the commit that still has the secret: no new blob, but the walk
    // (HEAD's blobs) is not the same, so it is walked again.
    repo.git(&["reset", "-q", "--hard", "HEAD~1"], "2024-03-01T00:00:00Z");
    let moved = scan_cached(&repo.path, cache.path(), &["--no-worktree"]);
    assert_eq!(findings(&moved)[0]["in_worktree"], true, "{moved:#}");
    let again = scan_cached(&repo.path, cache.path(), &["--no-worktree"]);
    assert_eq!(provenance(&moved), provenance(&again));
}
