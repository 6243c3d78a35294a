//! Tests of archive reading: formats, nesting, and every bound.

/// Archive builders shared with tests/archives.rs.
#[path = "../../../tests/common/archives.rs"]
mod test_archives;

use super::*;
use crate::sources::Origin;
use test_archives::{gzip, tar_of, zip_of};

/// What a scan of one archive handed the visitor.
#[derive(Default)]
struct Seen {
    inputs: Vec<(String, Vec<u8>)>,
    skipped: Vec<(String, SkipReason)>,
    archives: Option<(u64, u64)>,
}

impl Visitor for Seen {
    fn visit(&mut self, event: Event<'_>) {
        match event {
            Event::Input {
                origin: Origin::File { path },
                bytes,
            } => self.inputs.push((path.into(), bytes.to_vec())),
            Event::Input { .. } => panic!("archive entries are whole files"),
            Event::Skipped { path, reason } => self.skipped.push((path, reason)),
            Event::Archive { archives, entries } => self.archives = Some((archives, entries)),
            Event::History(_) | Event::CachedBlob { .. } | Event::Problem { .. } => {
                panic!("archives have no history")
            }
        }
    }
}

impl Seen {
    fn limits(&self) -> Vec<(&str, &str)> {
        self.skipped
            .iter()
            .filter_map(|(path, reason)| match reason {
                SkipReason::ArchiveLimit(what) => Some((path.as_str(), what.as_str())),
                _ => None,
            })
            .collect()
    }

    fn counts(&self) -> Option<(u64, u64)> {
        self.archives
    }
}

fn limits() -> Limits {
    Limits::new(DEFAULT_MAX_ARCHIVE_SIZE, 25 << 20)
}

fn run(name: &str, bytes: &[u8], limits: Limits) -> Seen {
    let mut seen = Seen::default();
    let kind = detect(name, bytes).expect("an archive");
    let len = bytes.len() as u64;
    scan(name, kind, &mut Cursor::new(bytes), len, &limits, &mut seen);
    seen
}

#[test]
fn archives_are_recognised_by_content_then_by_name() {
    let zip = zip_of(&[("a.txt", b"hello")]);
    assert_eq!(detect("renamed.bin", &zip), Some(Kind::Zip));
    assert_eq!(detect("x.gz", &gzip(b"text")), Some(Kind::Gzip));
    assert_eq!(detect("x", &tar_of(&[("a", b"b")])), Some(Kind::Tar));
    assert_eq!(detect("lib/App.JAR", b"\0garbage"), Some(Kind::Zip));
    assert_eq!(detect("a.tgz", b"\0"), Some(Kind::Gzip));
    // A git-lfs pointer named like an archive is text, not an archive.
    assert_eq!(detect("model.zip", b"version https://git-lfs"), None);
    assert_eq!(detect("logo.png", b"\x89PNG\r\n\x1a\n\0\0"), None);
}

#[test]
fn an_executable_jar_is_recognised_by_its_end_record() {
    // A launch script longer than the binary sniff, as Spring Boot's is.
    let mut jar = b"#!/bin/bash\n".to_vec();
    jar.extend("# launch script\n".repeat(600).bytes());
    jar.extend(zip_of(&[("BOOT-INF/classes/app.env", b"K=1\n")]));
    assert_eq!(detect("app.jar", &jar), None);
    let kind = recognise("app.jar", &jar, &mut Cursor::new(&jar[..]));
    assert_eq!(kind, Some(Kind::Zip));
    let mut seen = Seen::default();
    let len = jar.len() as u64;
    scan(
        "app.jar",
        Kind::Zip,
        &mut Cursor::new(&jar[..]),
        len,
        &limits(),
        &mut seen,
    );
    assert_eq!(seen.inputs[0].0, "app.jar!/BOOT-INF/classes/app.env");
    // Text named like a zip without an end record (a git-lfs pointer) stays text.
    let pointer = b"version https://git-lfs.github.com/spec/v1\n";
    assert_eq!(
        recognise("m.zip", pointer, &mut Cursor::new(&pointer[..])),
        None
    );
}

#[test]
fn entries_are_inputs_under_the_archive_path() {
    let inner = tar_of(&[("./conf/app.env", b"TOKEN=1\n"), ("bin/tool", b"\0\x01")]);
    let outer = zip_of(&[("inner.tar.gz", &gzip(&inner)), ("README", b"read me")]);
    let seen = run("dist/outer.zip", &outer, limits());
    let paths: Vec<&str> = seen.inputs.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "dist/outer.zip!/inner.tar.gz!/conf/app.env",
            "dist/outer.zip!/README"
        ]
    );
    assert_eq!(seen.inputs[0].1, b"TOKEN=1\n");
    assert_eq!(
        seen.skipped[0],
        (
            "dist/outer.zip!/inner.tar.gz!/bin/tool".to_string(),
            SkipReason::Binary
        )
    );
    assert_eq!(seen.counts(), Some((2, 2)));
}

#[test]
fn a_single_gzip_file_is_named_without_gz() {
    let seen = run("logs/app.env.gz", &gzip(b"A=1\n"), limits());
    assert_eq!(seen.inputs[0].0, "logs/app.env.gz!/app.env");
}

#[test]
fn the_ratio_bound_stops_one_entry_and_not_the_next() {
    let bomb = vec![b'a'; 8 << 20];
    let zip = zip_of(&[("bomb.txt", &bomb), ("after.env", b"KEY=1\n")]);
    let seen = run("b.zip", &zip, limits());
    assert_eq!(seen.limits().len(), 1, "{:?}", seen.skipped);
    assert_eq!(seen.limits()[0].0, "b.zip!/bomb.txt");
    assert!(seen.limits()[0].1.contains("100:1"));
    assert_eq!(seen.inputs.len(), 1);
    assert_eq!(seen.inputs[0].0, "b.zip!/after.env");
}

#[test]
fn small_entries_are_not_held_to_the_ratio() {
    let spaces = vec![b' '; 512 << 10]; // about 1000:1, but under the floor
    let seen = run("s.zip", &zip_of(&[("blank.txt", &spaces)]), limits());
    assert!(seen.limits().is_empty());
    assert_eq!(seen.inputs.len(), 1);
}

#[test]
fn the_budget_stops_the_whole_archive() {
    let text: Vec<u8> = (0..200_000u32)
        .flat_map(|i| format!("{i:08x}\n").into_bytes())
        .collect();
    let zip = zip_of(&[("one.txt", &text), ("two.txt", &text), ("three.txt", &text)]);
    let small = Limits {
        max_total: 4 << 20,
        ..limits()
    };
    let seen = run("big.zip", &zip, small);
    assert_eq!(seen.inputs.len(), 2);
    let reported = seen.limits();
    assert_eq!(reported.len(), 1);
    assert_eq!(reported[0].0, "big.zip");
    assert!(reported[0].1.contains("--max-archive-size"));
}

#[test]
fn the_budget_covers_tar_gz_streams_and_what_they_skip() {
    let zeros = vec![0u8; 6 << 20]; // binary: skipped, but still decompressed to skip it
    let tgz = gzip(&tar_of(&[("zeros.bin", &zeros), ("late.env", b"K=1\n")]));
    let small = Limits {
        max_total: 4 << 20,
        max_ratio: u64::MAX,
        ..limits()
    };
    let seen = run("z.tgz", &tgz, small);
    assert!(seen.inputs.is_empty());
    assert_eq!(seen.limits()[0].0, "z.tgz");
}

#[test]
fn the_depth_bound_stops_nesting() {
    let mut archive = zip_of(&[("x.env", b"K=1\n")]);
    for level in (0..8).rev() {
        archive = zip_of(&[(&format!("l{}.zip", level + 1), &archive)]);
    }
    let seen = run("l0.zip", &archive, limits());
    assert!(seen.inputs.is_empty());
    assert_eq!(
        seen.limits(),
        [(
            "l0.zip!/l1.zip!/l2.zip!/l3.zip!/l4.zip!/l5.zip",
            "an archive nested more than 5 deep; not opened"
        )]
    );
    assert_eq!(seen.counts(), Some((5, 0)));
}

#[test]
fn the_entry_bound_counts_every_level() {
    let names: Vec<String> = (0..30).map(|i| format!("f{i}.txt")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let small = Limits {
        max_entries: 10,
        ..limits()
    };
    let seen = run("many.tar", &tar_of(&entries), small);
    assert_eq!(seen.inputs.len(), 10);
    assert_eq!(seen.limits()[0].0, "many.tar");
    // A zip that claims too many entries is not parsed at all.
    let seen = run("many.zip", &zip_of(&entries), small);
    assert!(seen.inputs.is_empty());
    assert!(seen.limits()[0].1.contains("claims 30 entries"));
}

#[test]
fn oversized_text_entries_are_counted_too_large() {
    let small = Limits {
        max_entry: 10,
        ..limits()
    };
    let seen = run("t.tar", &tar_of(&[("long.txt", &[b'x'; 64])]), small);
    assert_eq!(
        seen.skipped[0].1,
        SkipReason::TooLarge {
            size: 64,
            limit: 10
        }
    );
}

#[test]
fn an_archive_larger_than_the_budget_is_not_opened() {
    let zip = zip_of(&[("a.txt", b"a")]);
    let tiny = Limits {
        max_total: 16,
        ..limits()
    };
    let seen = run("a.zip", &zip, tiny);
    assert!(seen.limits()[0].1.contains("not opened"));
    assert_eq!(seen.counts(), None);
}

#[test]
fn corrupt_archives_are_unreadable_and_never_panic() {
    let zip = zip_of(&[("a.env", b"K=1\n"), ("b.env", b"K=2\n")]);
    let tgz = gzip(&tar_of(&[("a.env", b"K=1\n")]));
    for (name, bytes) in [("z.zip", &zip), ("t.tgz", &tgz)] {
        for cut in [4, 30, bytes.len() / 2, bytes.len() - 1] {
            let seen = run(name, &bytes[..cut], limits());
            assert!(
                seen.skipped
                    .iter()
                    .any(|(_, r)| matches!(r, SkipReason::Unreadable(_)))
                    || !seen.inputs.is_empty(),
                "{name} cut at {cut}: {:?}",
                seen.skipped
            );
        }
    }
    // Flipped bytes everywhere: whatever comes out, nothing panics.
    for i in 0..zip.len() {
        let mut bad = zip.clone();
        bad[i] ^= 0x5a;
        if let Some(kind) = detect("z.zip", &bad) {
            let mut seen = Seen::default();
            let len = bad.len() as u64;
            scan(
                "z.zip",
                kind,
                &mut Cursor::new(&bad[..]),
                len,
                &limits(),
                &mut seen,
            );
        }
    }
}

#[test]
fn a_lying_zip_count_is_read_from_the_end_record() {
    let mut zip = zip_of(&[("a", b"a")]);
    let at = zip.len() - 22;
    zip[at + 10..at + 12].copy_from_slice(&u16::MAX.to_le_bytes());
    assert_eq!(
        claimed_zip_entries(&mut Cursor::new(&zip[..])),
        Some(u64::from(u16::MAX))
    );
    assert_eq!(claimed_zip_entries(&mut Cursor::new(&b"PK"[..])), None);
}

#[test]
fn entry_names_lose_leading_dots_and_slashes() {
    assert_eq!(entry_name("./a/b"), "a/b");
    assert_eq!(entry_name("/etc/x"), "etc/x");
    assert_eq!(entry_name("././/x"), "x");
    assert_eq!(entry_name("./"), "");
    assert_eq!(entry_name("a/./b"), "a/./b");
}
