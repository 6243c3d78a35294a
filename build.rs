//! Embeds every `rules/*.toml` file in the binary, so `sprawl` needs no rule files at run time,
//! and digests the sources for the history cache's key (`SPRAWL_BUILD_DIGEST`).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::Path;

fn main() {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let rules_dir = Path::new(&manifest_dir).join("rules");
    println!("cargo:rerun-if-changed=rules");

    let mut files: Vec<String> = fs::read_dir(&rules_dir)
        .expect("the rules/ folder ships with the crate")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    files.sort();

    let mut code = String::from(
        "/// Built-in rule files: (path shown in errors, contents).\npub static EMBEDDED_RULE_FILES: &[(&str, &str)] = &[\n",
    );
    for name in &files {
        let full = rules_dir.join(name);
        writeln!(
            code,
            "    (\"rules/{name}\", include_str!({:?})),",
            full.to_string_lossy()
        )
        .expect("writing to a String cannot fail");
        println!("cargo:rerun-if-changed={}", full.display());
    }
    code.push_str("];\n");

    let out =
        Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded_rules.rs");
    fs::write(out, code).expect("OUT_DIR is writable");

    // The history cache is keyed by the build: what a blob holds depends on the matching
    // code as much as on the rules, and a version number does not change with every build.
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.lock");
    let mut digest = std::collections::hash_map::DefaultHasher::new();
    let mut sources = Vec::new();
    collect_files(&Path::new(&manifest_dir).join("src"), &mut sources);
    sources.sort();
    sources.push(Path::new(&manifest_dir).join("Cargo.lock"));
    for path in sources {
        path.strip_prefix(&manifest_dir)
            .unwrap_or(&path)
            .hash(&mut digest);
        fs::read(&path).unwrap_or_default().hash(&mut digest);
    }
    println!(
        "cargo:rustc-env=SPRAWL_BUILD_DIGEST={:016x}",
        digest.finish()
    );
}

fn collect_files(folder: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}
