//! Embeds every `rules/*.toml` file in the binary, so `sprawl` needs no rule files at run time.

use std::env;
use std::fmt::Write as _;
use std::fs;
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
}
