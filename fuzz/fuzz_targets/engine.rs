//! One input through the whole per-file pipeline with every built-in rule: keyword pass,
//! rule regexes and filters, decoding (base64, percent, JSON escapes, two layers), the
//! structured reading of configuration formats, and findings with their lifecycle facts.
//! The first byte picks the file name, so each configuration format sees the bytes.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sprawl::engine::Engine;
use sprawl::enrich::{decode, findings_for_input};
use sprawl::rules::RuleSet;

const NAMES: [&str; 12] = [
    "src/main.js",
    "values.yaml",
    "appsettings.json",
    "Cargo.toml",
    "setup.cfg",
    "application.properties",
    ".env",
    "web.config",
    "main.tf",
    "wp-config.php",
    "config/master.key",
    "kubeconfig",
];

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let set = RuleSet::builtin().expect("built-in rules parse");
        Engine::new(&set).expect("built-in rules compile")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, hay)) = data.split_first() else {
        return;
    };
    let path = NAMES[pick as usize % NAMES.len()];
    let engine = engine();
    let mut scratch = engine.new_scratch();
    let mut matches = Vec::new();
    engine.scan(hay, &mut scratch, &mut matches);
    let decoded = decode::scan_decoded(engine, &mut scratch, path, hay, &matches);
    matches.retain(|m| !decoded.superseded.contains(&m.secret));
    let _ = findings_for_input(engine, path, hay, &mut matches, &decoded.matches, true);
});
