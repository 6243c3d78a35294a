//! End-to-end tests of archive scanning: the real `sprawl` binary on zip, jar, tar, tar.gz,
//! tgz and gz files generated here, nested ones, zip bombs, and corrupt ones.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
#[path = "common/archives.rs"]
mod build;
use build::{gzip, tar_of, zip_of};
use serde_json::Value;

fn sprawl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sprawl"))
}

/// A GitHub token with a valid checksum: the first one in the positives fixture.
fn token() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/positives/src/config.js");
    let text = std::fs::read_to_string(path).unwrap();
    let at = text.find("ghp_").expect("a ghp_ token in config.js");
    text[at..at + 40].to_string()
}

/// An env file with the token on line 2, column 14.
fn env_file() -> Vec<u8> {
    format!("# deploy settings\nGITHUB_TOKEN={}\n", token()).into_bytes()
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn scan_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = sprawl()
        .arg("scan")
        .arg(dir)
        .args(["--format", "json", "--quiet"])
        .args(args)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), report)
}

/// Every (path, line, column) of every finding.
fn locations(report: &Value) -> Vec<(String, u64, u64)> {
    let mut all: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["locations"].as_array().unwrap())
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

/// The problems listed in the summary, as (path, problem).
fn problems(report: &Value) -> Vec<(String, String)> {
    report["summary"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["path"].as_str().unwrap().to_string(),
                p["problem"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn at(path: &str) -> (String, u64, u64) {
    (path.to_string(), 2, 14)
}

#[test]
fn every_format_is_opened_and_found_at_its_entry() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = env_file();
    let jar = zip_of(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
        ("BOOT-INF/classes/App.class", b"\xca\xfe\xba\xbe\0\0\0\x34"),
        ("BOOT-INF/classes/application.properties", &env),
    ]);
    write(d, "dist/app.jar", &jar);
    write(d, "bundle.zip", &zip_of(&[("config/.env", &env)]));
    let tar = tar_of(&[("./etc/app.env", &env)]);
    write(d, "backup.tar", &tar);
    write(d, "release.tar.gz", &gzip(&tar));
    write(d, "release.tgz", &gzip(&tar));
    write(d, "secrets.env.gz", &gzip(&env));
    // Found by its first bytes, whatever its name.
    write(d, "renamed.bin", &zip_of(&[("x.env", &env)]));
    let (code, report) = scan_json(d, &[]);
    assert_eq!(code, 1);
    assert_eq!(report["summary"]["findings"], 1);
    assert_eq!(
        locations(&report),
        [
            at("backup.tar!/etc/app.env"),
            at("bundle.zip!/config/.env"),
            at("dist/app.jar!/BOOT-INF/classes/application.properties"),
            at("release.tar.gz!/etc/app.env"),
            at("release.tgz!/etc/app.env"),
            at("renamed.bin!/x.env"),
            at("secrets.env.gz!/secrets.env"),
        ]
    );
    let summary = &report["summary"];
    assert_eq!(summary["archives"]["opened"], 7);
    // Seven env files and the manifest; the class file is binary.
    assert_eq!(summary["archives"]["entries"], 8);
    assert_eq!(summary["files_scanned"], 8);
    assert_eq!(summary["skipped"]["binary"], 1);
    assert_eq!(summary["files_skipped"], 1);
    assert!(problems(&report).is_empty(), "{:?}", problems(&report));
}

#[test]
fn nested_archives_are_opened_in_turn() {
    let dir = tempfile::tempdir().unwrap();
    let inner = zip_of(&[("x.env", &env_file())]);
    let mid = gzip(&tar_of(&[("inner.zip", &inner)]));
    write(dir.path(), "outer.zip", &zip_of(&[("mid.tar.gz", &mid)]));
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        locations(&report),
        [at("outer.zip!/mid.tar.gz!/inner.zip!/x.env")]
    );
    assert_eq!(report["summary"]["archives"]["opened"], 3);
}

#[test]
fn an_archive_larger_than_max_file_size_is_read_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    // Incompressible filler makes the zip larger than --max-file-size.
    let filler: Vec<u8> = (0..16_384u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let zip = zip_of(&[("filler.bin", &filler), ("app.env", &env_file())]);
    write(dir.path(), "big.zip", &zip);
    let (code, report) = scan_json(dir.path(), &["--max-file-size", "4K"]);
    assert_eq!(code, 1);
    assert_eq!(locations(&report), [at("big.zip!/app.env")]);
    assert_eq!(report["summary"]["skipped"]["too_large"], 0);
}

/// A zip written byte by byte, so that an entry can hold a deflate stream made here:
/// (name, method, CRC-32, size, data) per entry; method 0 stores, 8 deflates.
fn raw_zip(entries: &[(&str, u16, u32, u64, &[u8])]) -> Vec<u8> {
    fn le16(out: &mut Vec<u8>, n: u16) {
        out.extend_from_slice(&n.to_le_bytes());
    }
    fn le32(out: &mut Vec<u8>, n: u32) {
        out.extend_from_slice(&n.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut directory = Vec::new();
    for &(name, method, crc, size, data) in entries {
        let offset = out.len() as u32;
        let (csize, size) = (data.len() as u32, u32::try_from(size).unwrap());
        // Local header: version 2.0, no flags, 1980-01-01 00:00.
        le32(&mut out, 0x0403_4b50);
        for n in [20, 0, method, 0, 0x21] {
            le16(&mut out, n);
        }
        for n in [crc, csize, size] {
            le32(&mut out, n);
        }
        le16(&mut out, name.len() as u16);
        le16(&mut out, 0);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        le32(&mut directory, 0x0201_4b50);
        for n in [20, 20, 0, method, 0, 0x21] {
            le16(&mut directory, n);
        }
        for n in [crc, csize, size] {
            le32(&mut directory, n);
        }
        for n in [name.len() as u16, 0, 0, 0, 0] {
            le16(&mut directory, n);
        }
        le32(&mut directory, 0);
        le32(&mut directory, offset);
        directory.extend_from_slice(name.as_bytes());
    }
    let (start, count) = (out.len() as u32, entries.len() as u16);
    out.extend_from_slice(&directory);
    le32(&mut out, 0x0605_4b50);
    for n in [0, 0, count, count] {
        le16(&mut out, n);
    }
    le32(&mut out, directory.len() as u32);
    le32(&mut out, start);
    le16(&mut out, 0);
    out
}

#[test]
fn an_executable_jar_is_opened_past_its_launch_script() {
    let dir = tempfile::tempdir().unwrap();
    // Spring Boot's "fully executable" jar: a shell script longer than the binary sniff,
    // then the zip.
    let mut jar = b"#!/bin/bash\n".to_vec();
    jar.extend("# launch script\n".repeat(600).bytes());
    jar.extend(zip_of(&[(
        "BOOT-INF/classes/application.properties",
        &env_file(),
    )]));
    write(dir.path(), "app.jar", &jar);
    for max in ["25M", "4K"] {
        let (code, report) = scan_json(dir.path(), &["--max-file-size", max]);
        assert_eq!(code, 1);
        assert_eq!(
            locations(&report),
            [at("app.jar!/BOOT-INF/classes/application.properties")],
            "--max-file-size {max}"
        );
    }
}

#[test]
fn a_zip_bomb_is_bounded_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    // 200 MiB of one character, deflated about 1000:1 and text, so it would be read whole.
    // One MiB is compressed once and its deflate blocks repeated: a full flush makes each
    // repetition independent of the one before.
    const MIB: usize = 1 << 20;
    let chunk = vec![b'a'; MIB];
    let mut deflate = flate2::Compress::new(flate2::Compression::best(), false);
    let mut block = Vec::with_capacity(MIB);
    deflate
        .compress_vec(&chunk, &mut block, flate2::FlushCompress::Full)
        .unwrap();
    assert_eq!(deflate.total_in(), MIB as u64);
    let mut stream = block.repeat(200);
    let mut end = Vec::with_capacity(64);
    deflate
        .compress_vec(&[], &mut end, flate2::FlushCompress::Finish)
        .unwrap();
    stream.extend_from_slice(&end);
    let mut crc = crc32fast::Hasher::new();
    for _ in 0..200 {
        crc.update(&chunk);
    }
    let env = env_file();
    let bomb = raw_zip(&[
        ("app.env", 0, crc32fast::hash(&env), env.len() as u64, &env),
        ("bomb.txt", 8, crc.finalize(), 200 * MIB as u64, &stream),
    ]);
    assert!(bomb.len() < MIB, "{}", bomb.len());
    write(dir.path(), "bomb.zip", &bomb);
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "the secret beside the bomb counts");
    assert_eq!(locations(&report), [at("bomb.zip!/app.env")]);
    assert_eq!(report["summary"]["skipped"]["archive_limit"], 1);
    let listed = problems(&report);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, "bomb.zip!/bomb.txt");
    assert!(
        listed[0].1.contains("expands more than 100:1"),
        "{listed:?}"
    );
}

#[test]
fn a_recursive_bomb_is_bounded_by_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    // 42.zip built small: four archives a level, four levels, 4 MiB of text at the bottom
    // of each branch, 1 GiB in all once expanded.
    let text = vec![b'x'; 4 << 20];
    let mut level = zip_of(&[("page.txt", &text)]);
    for name in ["doc", "chapter", "book", "lib"] {
        let names: Vec<String> = (0..4).map(|i| format!("{name}{i}.zip")).collect();
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &level[..])).collect();
        level = zip_of(&entries);
    }
    write(dir.path(), "42.zip", &level);
    write(dir.path(), "beside.env", &env_file());
    let (code, report) = scan_json(dir.path(), &["--max-archive-size", "16M"]);
    assert_eq!(code, 1);
    assert_eq!(locations(&report), [at("beside.env")]);
    let listed = problems(&report);
    assert!(
        listed
            .iter()
            .any(|(path, problem)| path == "42.zip" && problem.contains("--max-archive-size")),
        "{listed:?}"
    );
}

#[test]
fn deep_nesting_stops_at_the_depth_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut archive = zip_of(&[("x.env", &env_file())]);
    for level in (1..20).rev() {
        archive = zip_of(&[(&format!("l{level}.zip"), &archive)]);
    }
    write(dir.path(), "l0.zip", &archive);
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0);
    assert!(locations(&report).is_empty());
    assert_eq!(report["summary"]["archives"]["opened"], 5);
    assert_eq!(
        problems(&report),
        [(
            "l0.zip!/l1.zip!/l2.zip!/l3.zip!/l4.zip!/l5.zip".to_string(),
            "archive limit: an archive nested more than 5 deep; not opened".to_string()
        )]
    );
}

#[test]
fn a_corrupt_archive_is_named_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let zip = zip_of(&[("a.env", &env_file()), ("b.txt", b"hello")]);
    write(dir.path(), "broken.zip", &zip[..zip.len() / 2]);
    write(dir.path(), "plain.env", &env_file());
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(locations(&report), [at("plain.env")]);
    assert_eq!(report["summary"]["skipped"]["unreadable"], 1);
    let listed = problems(&report);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, "broken.zip");
    assert!(listed[0].1.starts_with("unreadable: "), "{listed:?}");
}

#[test]
fn no_archives_counts_them_as_binary() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.zip", &zip_of(&[("x.env", &env_file())]));
    write(
        dir.path(),
        "b.tgz",
        &gzip(&tar_of(&[("y.env", &env_file())])),
    );
    let (code, report) = scan_json(dir.path(), &["--no-archives"]);
    assert_eq!(code, 0);
    let summary = &report["summary"];
    assert_eq!(summary["findings"], 0);
    assert_eq!(summary["skipped"]["binary"], 2);
    assert!(summary.get("archives").is_none());
}

#[test]
fn the_configuration_file_sets_archive_handling() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.zip", &zip_of(&[("x.env", &env_file())]));
    write(dir.path(), ".sprawl.toml", b"archives = false\n");
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(report["summary"]["skipped"]["binary"], 1);
    // A budget of a few bytes stops reading the archive: counted and named.
    write(dir.path(), ".sprawl.toml", b"max_archive_size = 16\n");
    let (_, report) = scan_json(dir.path(), &[]);
    assert_eq!(report["summary"]["findings"], 0);
    assert_eq!(report["summary"]["skipped"]["archive_limit"], 1);
}

#[test]
fn the_text_summary_counts_archives() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.zip", &zip_of(&[("x.env", &env_file())]));
    let out = sprawl()
        .arg("scan")
        .arg(dir.path())
        .args(["--quiet", "--color", "never"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("a.zip!/x.env:2:14"), "{text}");
    assert!(
        text.contains(" · 1 archive opened (1 entry scanned)"),
        "{text}"
    );
}
