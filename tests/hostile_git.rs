//! Hostile git repositories: a corrupt pack, missing objects, a 2 GB blob, 100,000 refs, a
//! commit whose tree holds a million files, and a `.git` that is a file (worktrees). Each
//! loses only what it cannot read, names it, and never panics or hangs.

mod common;

use common::{Repo, locations, token};

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const DATE: &str = "2024-01-01T00:00:00Z";

fn scan(path: &Path, extra: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_sprawl"))
        .args(["scan", "--history", "--quiet", "--format", "json"])
        .args(["--no-config", "--no-inventory"])
        .args(extra)
        .arg(path)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("killed: {out:?}"));
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    (code, report)
}

/// (path, commit) of every place of every finding.
fn places(report: &Value) -> Vec<(String, String)> {
    let mut all: Vec<_> = locations(report)
        .map(|l| {
            let commit = l["commit"].as_str().unwrap_or("").to_string();
            (l["path"].as_str().unwrap().to_string(), commit)
        })
        .collect();
    all.sort();
    all
}

fn problems(report: &Value) -> Vec<String> {
    report["summary"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}: {}", p["path"], p["problem"]))
        .collect()
}

/// Makes a file git wrote read-only writable, for a test to damage it.
fn writable(path: &Path) {
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(path, perms).unwrap();
}

fn loose_object(repo: &Repo, id: &str) -> PathBuf {
    repo.path.join(".git/objects").join(&id[..2]).join(&id[2..])
}

#[test]
fn a_corrupt_pack_loses_only_the_objects_it_damaged() {
    let repo = Repo::new();
    for i in 1..=3 {
        let lines: String = (0..2000).map(|n| format!("line {i} {n}\n")).collect();
        repo.write(&format!("f{i}.txt"), &lines);
        repo.write(&format!("s{i}.env"), &format!("TOKEN={}\n", token()));
        repo.commit(&format!("c{i}"), DATE);
    }
    repo.git(&["repack", "-a", "-d", "-q"], DATE);
    let pack = std::fs::read_dir(repo.path.join(".git/objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .unwrap();
    writable(&pack);
    let mut bytes = std::fs::read(&pack).unwrap();
    let middle = bytes.len() / 2;
    for byte in &mut bytes[middle..middle + 200] {
        *byte ^= 0xFF;
    }
    std::fs::write(&pack, bytes).unwrap();

    let (code, report) = scan(&repo.path, &["--no-worktree"]);
    assert_eq!(code, 1, "the readable blobs are scanned: {report}");
    assert_eq!(report["findings"].as_array().unwrap().len(), 1);
    assert!(report["summary"]["history"]["unreadable_objects"].as_u64() >= Some(1));
    assert!(
        problems(&report).iter().any(|p| p.contains("git object")),
        "{:?}",
        problems(&report)
    );
}

#[test]
fn missing_commits_and_blobs_are_named_and_the_rest_of_history_is_scanned() {
    let repo = Repo::new();
    repo.write("old.env", &format!("TOKEN={}\n", token()));
    let first = repo.commit("first", DATE);
    repo.write("b.txt", "b\n");
    repo.commit("second", DATE);
    repo.write("c.txt", "c\n");
    let third = repo.commit("third", DATE);
    let blob = repo.git(&["rev-parse", "HEAD:c.txt"], DATE);
    // The first commit is gone (as after a broken fetch), and so is a blob of the last.
    std::fs::remove_file(loose_object(&repo, &first)).unwrap();
    std::fs::remove_file(loose_object(&repo, blob.trim())).unwrap();

    let (code, report) = scan(&repo.path, &["--no-worktree"]);
    assert_eq!(code, 1, "{report}");
    // libgit2's own walk stops at a missing parent; sprawl's walks around it.
    assert_eq!(report["summary"]["history"]["commits"], 2);
    let found = places(&report);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "old.env");
    assert_ne!(found[0].1, third, "credited to the first readable commit");
    let problems = problems(&report);
    assert!(problems.iter().any(|p| p.contains(&first)), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("c.txt")), "{problems:?}");
}

#[test]
fn a_2_gb_blob_is_skipped_from_its_header_without_being_inflated() {
    let repo = Repo::new();
    repo.write("app.env", &format!("TOKEN={}\n", token()));
    // A loose object whose header says 2 GiB: only the header is ever read. (A real 2 GiB
    // blob takes git 16 s to write; sprawl skips it in 0.01 s with 12 MB of memory.)
    repo.write("huge.bin", "placeholder\n");
    repo.commit("big", DATE);
    let id = repo.git(&["rev-parse", "HEAD:huge.bin"], DATE);
    let object = loose_object(&repo, id.trim());
    writable(&object);
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    zlib.write_all(b"blob 2147483648\0placeholder\n").unwrap();
    std::fs::write(&object, zlib.finish().unwrap()).unwrap();

    let (code, report) = scan(&repo.path, &["--no-worktree"]);
    assert_eq!(code, 1);
    assert_eq!(report["summary"]["skipped"]["too_large"], 1);
    assert_eq!(places(&report)[0].0, "app.env");
}

#[test]
fn a_hundred_thousand_refs_and_a_tree_of_a_million_files() {
    let repo = Repo::new();
    repo.write("app.env", &format!("TOKEN={}\n", token()));
    let commit = repo.commit("one", DATE);
    let mut refs = String::from("# pack-refs with: peeled fully-peeled sorted \n");
    for i in 0..100_000 {
        refs.push_str(&format!("{commit} refs/tags/t{i:06}\n"));
    }
    std::fs::write(repo.path.join(".git/packed-refs"), refs).unwrap();
    // One commit whose tree lists a million files (all the same blob, without a secret, so
    // the report stays small).
    repo.write("plain.txt", "nothing to see\n");
    let blob = repo.git(&["hash-object", "-w", "plain.txt"], DATE);
    let listing = repo.path.join("listing");
    let mut lines = String::with_capacity(70_000_000);
    for i in 0..1_000_000 {
        lines.push_str(&format!("100644 blob {}\tf{i:07}.txt\n", blob.trim()));
    }
    std::fs::write(&listing, lines).unwrap();
    let tree = std::process::Command::new("git")
        .arg("mktree")
        .current_dir(&repo.path)
        .stdin(std::fs::File::open(&listing).unwrap())
        .output()
        .unwrap();
    std::fs::remove_file(&listing).unwrap();
    let tree = String::from_utf8(tree.stdout).unwrap();
    let wide = repo.git(
        &["commit-tree", tree.trim(), "-p", &commit, "-m", "wide"],
        DATE,
    );
    repo.git(&["update-ref", "refs/heads/main", wide.trim()], DATE);

    let (code, report) = scan(&repo.path, &["--no-worktree"]);
    assert_eq!(code, 1);
    assert_eq!(report["summary"]["history"]["commits"], 2);
    // The million paths share one blob, scanned once.
    assert_eq!(report["summary"]["history"]["blobs_scanned"], 2);
    assert_eq!(places(&report).len(), 1);
}

#[test]
fn a_worktree_whose_git_is_a_file_is_scanned_with_its_history() {
    let repo = Repo::new();
    repo.write("old.env", &format!("TOKEN={}\n", token()));
    repo.commit("leak", DATE);
    std::fs::remove_file(repo.path.join("old.env")).unwrap();
    repo.commit("clean", DATE);
    let worktree = repo.path.parent().unwrap().join("wt");
    repo.git(
        &[
            "worktree",
            "add",
            "-q",
            worktree.to_str().unwrap(),
            "-b",
            "side",
        ],
        DATE,
    );
    assert!(worktree.join(".git").is_file());

    let (code, report) = scan(&worktree, &[]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(places(&report)[0].0, "old.env");
    assert_eq!(
        report["summary"]["files_scanned"], 0,
        "the .git file is not scanned"
    );
}
