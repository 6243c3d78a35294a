//! Hostile and odd inputs: each is counted or scanned, never a panic or a hang, and the rest
//! of the scan completes.
#![cfg(unix)]

mod common;

use common::{locations, token};

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("sprawl")
        .unwrap()
        .arg("scan")
        .arg(dir)
        .args(["--quiet", "--no-config", "--no-inventory"])
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap()
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let out = run(dir, &[&["--format", "json"], args].concat());
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// (path, line, column) of every place of every finding.
fn places(report: &Value) -> Vec<(String, u64, u64)> {
    let mut all: Vec<_> = locations(report)
        .map(|l| {
            (
                l["path"].as_str().unwrap().to_string(),
                l["line"].as_u64().unwrap(),
                l["column"].as_u64().unwrap(),
            )
        })
        .collect();
    all.sort();
    all
}

fn env_line() -> String {
    format!("GITHUB_TOKEN={}\n", token())
}

#[test]
fn fifos_link_loops_and_outside_links_are_counted_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let fifo = root.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    symlink("loop-b", root.join("loop-a")).unwrap();
    symlink("loop-a", root.join("loop-b")).unwrap();
    // A secret outside the root, reachable only through a link.
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join(".env"), env_line()).unwrap();
    symlink(&outside, root.join("elsewhere")).unwrap();
    std::fs::write(root.join("app.env"), env_line()).unwrap();

    // Opening the FIFO would block forever: the timeout in `run` fails the test if it does.
    let report = json(&root, &[]);
    assert_eq!(places(&report), [("app.env".to_string(), 1, 14)]);
    let skipped = &report["summary"]["skipped"];
    assert_eq!(skipped["not_a_file"], 1);
    assert_eq!(skipped["broken_link"], 2);
    // --follow reads through the link to the outside folder.
    let followed = json(&root, &["--follow"]);
    assert!(
        places(&followed).contains(&("elsewhere/.env".to_string(), 1, 14)),
        "{:?}",
        places(&followed)
    );
}

#[test]
fn deep_folders_odd_names_and_long_lines() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut deep = root.to_path_buf();
    for _ in 0..100 {
        deep.push("d");
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("deep.env"), env_line()).unwrap();
    // A newline and an escape sequence in a file name, and a name that is not UTF-8.
    std::fs::write(root.join("new\nline\u{1b}[2J.env"), env_line()).unwrap();
    let invalid = std::ffi::OsStr::from_bytes(b"bad\xffname.env");
    std::fs::write(root.join(invalid), env_line()).unwrap();
    // A 5 MB single line with the token at its end.
    let mut long = "x".repeat(5 << 20);
    long.push_str(&format!(" {}", token()));
    std::fs::write(root.join("minified.js"), &long).unwrap();

    let report = json(root, &[]);
    let found = places(&report);
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(found.contains(&(format!("{}/deep.env", ["d"; 100].join("/")), 1, 14)));
    assert!(found.contains(&("new\nline\u{1b}[2J.env".to_string(), 1, 14)));
    assert!(found.contains(&("bad\u{fffd}name.env".to_string(), 1, 14)));
    assert!(found.contains(&("minified.js".to_string(), 1, (5 << 20) + 2)));

    // The text report escapes control characters: every place stays on one line and no
    // escape sequence reaches the terminal.
    let text = String::from_utf8(run(root, &["--color", "never"]).stdout).unwrap();
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("new\\nline\\u{1b}[2J.env:1:14"), "{text}");
}

#[test]
fn utf16_files_with_a_byte_order_mark_are_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("# settings\r\n{}", env_line());
    let mut le = vec![0xFF, 0xFE];
    let mut be = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        le.extend(unit.to_le_bytes());
        be.extend(unit.to_be_bytes());
    }
    std::fs::write(dir.path().join("le.ps1"), le).unwrap();
    std::fs::write(dir.path().join("be.reg"), be).unwrap();
    let report = json(dir.path(), &[]);
    assert_eq!(
        places(&report),
        [("be.reg".to_string(), 2, 14), ("le.ps1".to_string(), 2, 14)]
    );
}

#[test]
fn a_huge_sparse_file_is_skipped_without_being_read() {
    let dir = tempfile::tempdir().unwrap();
    let sparse = std::fs::File::create(dir.path().join("disk.img")).unwrap();
    sparse.set_len(10 << 30).unwrap();
    std::fs::write(dir.path().join("app.env"), env_line()).unwrap();
    let report = json(dir.path(), &[]);
    assert_eq!(places(&report), [("app.env".to_string(), 1, 14)]);
    assert_eq!(report["summary"]["skipped"]["too_large"], 1);
}

#[test]
fn an_unreadable_file_is_named_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked.env");
    std::fs::write(&locked, env_line()).unwrap();
    std::fs::write(dir.path().join("app.env"), env_line()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&locked).is_ok() {
        return; // root reads anything: nothing to test here
    }
    let report = json(dir.path(), &[]);
    assert_eq!(places(&report), [("app.env".to_string(), 1, 14)]);
    assert_eq!(report["summary"]["skipped"]["unreadable"], 1);
    assert_eq!(report["summary"]["problems"][0]["path"], "locked.env");
}

/// Every (line, column) where `needle` starts in `text`, counted directly.
fn positions_of(text: &[u8], needle: &[u8]) -> Vec<(u64, u64)> {
    let mut found = Vec::new();
    let (mut line, mut column) = (1, 1);
    for (i, &byte) in text.iter().enumerate() {
        if text[i..].starts_with(needle) {
            found.push((line, column));
        }
        if byte == b'\n' {
            (line, column) = (line + 1, 1);
        } else if (byte as i8) >= -0x40 {
            column += 1;
        }
    }
    found
}

/// Text of about `len` bytes in lines of `line_len`, with ` token ` written at each offset.
fn filler_with_tokens(len: usize, line_len: usize, offsets: &[usize]) -> Vec<u8> {
    let mut text: Vec<u8> = (0..len)
        .map(|i| {
            if i % line_len == line_len - 1 {
                b'\n'
            } else {
                b'x'
            }
        })
        .collect();
    let planted = format!(" {} ", token());
    for &at in offsets {
        text[at..at + planted.len()].copy_from_slice(planted.as_bytes());
    }
    text
}

#[test]
fn files_larger_than_a_chunk_are_scanned_in_pieces_and_every_secret_is_placed() {
    use sprawl::sources::chunked::CHUNK_SIZE;
    let dir = tempfile::tempdir().unwrap();
    // Tokens (42 bytes with their spaces) across, on and beside both chunk boundaries, and
    // one near the end.
    let mut offsets = Vec::new();
    for (boundary, deltas) in [
        (CHUNK_SIZE, [-5000isize, -100, -21, 60, 5000]),
        (2 * CHUNK_SIZE, [-5000, -42, 0, 42, 5000]),
    ] {
        offsets.extend(deltas.map(|delta| (boundary as isize + delta) as usize));
    }
    let len = 2 * CHUNK_SIZE + (1 << 20);
    offsets.push(len - 100);
    // Short lines, one endless line, and a multi-byte character in every line.
    let lines = filler_with_tokens(len, 100, &offsets);
    let one_line = filler_with_tokens(len, usize::MAX, &offsets);
    let mut accented = String::from_utf8(lines.clone())
        .unwrap()
        .replace("xx\n", "é\n");
    accented.truncate(len);
    std::fs::write(dir.path().join("lines.log"), &lines).unwrap();
    std::fs::write(dir.path().join("one-line.min.js"), &one_line).unwrap();
    std::fs::write(dir.path().join("accented.txt"), &accented).unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in String::from_utf8(lines.clone()).unwrap().encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    std::fs::write(dir.path().join("utf16.reg"), &utf16).unwrap();

    let report = json(dir.path(), &["--max-file-size", "100M"]);
    let needle = token();
    let mut expected = Vec::new();
    for (name, text) in [
        ("accented.txt", accented.as_bytes()),
        ("lines.log", &lines[..]),
        ("one-line.min.js", &one_line[..]),
        ("utf16.reg", &lines[..]),
    ] {
        let places = positions_of(text, needle.as_bytes());
        assert_eq!(places.len(), offsets.len(), "{name}");
        expected.extend(places.into_iter().map(|(l, c)| (name.to_string(), l, c)));
    }
    assert_eq!(places(&report), expected);
    assert_eq!(report["summary"]["files_scanned"], 4);

    // Standard input larger than a chunk is scanned the same way.
    let out = Command::cargo_bin("sprawl")
        .unwrap()
        .args(["scan", "-", "--quiet", "--no-config", "--no-inventory"])
        .args(["--format", "json", "--max-file-size", "100M"])
        .write_stdin(lines.clone())
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let from_stdin: Vec<_> = places(&report)
        .into_iter()
        .map(|(_, l, c)| (l, c))
        .collect();
    assert_eq!(from_stdin, positions_of(&lines, needle.as_bytes()));
}

#[test]
fn files_that_grow_or_vanish_during_the_scan_do_not_stop_it() {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("app.env"), env_line()).unwrap();
    for i in 0..200 {
        std::fs::write(root.join(format!("churn-{i}.txt")), "x\n".repeat(1000)).unwrap();
    }
    let done = AtomicBool::new(false);
    /// Stops the writers however the scans end, so a failed assertion cannot hang the scope.
    struct Stop<'a>(&'a AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    std::thread::scope(|scope| {
        // One file keeps growing (past a chunk, to 32 MiB at most); the others are deleted
        // and written again, over and over.
        scope.spawn(|| {
            let mut growing = std::fs::File::create(root.join("growing.log")).unwrap();
            let mut written = 0;
            let lines = "growing log line\n".repeat(4 << 10);
            while !done.load(Ordering::Relaxed) && written < 32 << 20 {
                if growing.write_all(lines.as_bytes()).is_err() {
                    break;
                }
                written += lines.len();
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        });
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                for i in 0..200 {
                    let path = root.join(format!("churn-{i}.txt"));
                    let _ = std::fs::remove_file(&path);
                    let _ = std::fs::write(&path, "x\n".repeat(1000));
                }
            }
        });
        let _stop = Stop(&done);
        for _ in 0..3 {
            let out = run(root, &["--format", "json", "--max-file-size", "1G"]);
            assert_eq!(out.status.code(), Some(1), "{out:?}");
            let report: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(places(&report).contains(&("app.env".to_string(), 1, 14)));
        }
    });
}

#[test]
fn a_large_inventory_loads() {
    // 60,000 credentials, about 420,000 YAML nodes: past the YAML parser's default budget of
    // 250,000, which is for bombs, not for large organisations. (A 50 MB inventory of
    // 272,000 entries loads in 4 s with the release build.)
    let dir = tempfile::tempdir().unwrap();
    let mut text =
        String::from("version: 1\nowners:\n  - {id: team, status: active}\ncredentials:\n");
    for i in 0..60_000 {
        text.push_str(&format!(
            "  - id: cred-{i}\n    owner: team\n    match: {{fingerprint: \"sha256:{i:064x}\"}}\n    created: 2025-12-20\n"
        ));
        if i % 5 == 0 {
            text.push_str(&format!(
                "  - id: glob-{i}\n    owner: team\n    match: {{rule: slack, path: \"svc{i}/**\"}}\n"
            ));
        }
    }
    let file = dir.path().join("sprawl-inventory.yaml");
    std::fs::write(&file, text).unwrap();
    let out = Command::cargo_bin("sprawl")
        .unwrap()
        .args(["inventory", "check", "--now", "2026-01-01T00:00:00Z"])
        .arg(&file)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(stdout.contains("72000 credentials"), "{stdout}");
}
