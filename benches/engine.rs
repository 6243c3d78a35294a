//! Engine throughput with every built-in rule: bytes in, matches out, no I/O.
//!
//! Inputs are built in memory so the bench needs nothing outside the repository:
//! - `code`: this crate's own sources and rule files repeated to 8 MiB (rule files are full of
//!   keywords and examples, so this is denser in hits than typical code);
//! - `keyword-dense`: generated code where every line uses `token`, `password` or `secret`
//!   without assigning a credential, the worst case for the generic rules;
//! - `plain`: prose-like text with almost no keyword hits, the best case.
//!
//! The `decode` group times the decoding stage alone on the same inputs.
//!
//! Run: `cargo bench --bench engine`. Whole-command comparisons with other scanners are in
//! `benches/compare.py`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sprawl::engine::Engine;
use sprawl::enrich::decode;
use sprawl::rules::RuleSet;

const SIZE: usize = 8 << 20;

fn repeat_to_size(seed: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SIZE + seed.len());
    while out.len() < SIZE {
        out.extend_from_slice(seed);
    }
    out.truncate(SIZE);
    out
}

fn own_sources() -> Vec<u8> {
    let mut seed = Vec::new();
    for dir in [
        "src",
        "src/engine",
        "src/rules",
        "src/report",
        "src/sources",
        "rules",
    ] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths.into_iter().filter(|p| p.is_file()) {
            seed.extend(std::fs::read(path).unwrap_or_default());
        }
    }
    repeat_to_size(&seed)
}

fn keyword_dense() -> Vec<u8> {
    let lines = [
        "    const token = lexer.nextToken(); // token kinds\n",
        "    if (password.length < MIN_PASSWORD) { throw new Error('password too short'); }\n",
        "    secret: SecretRef = resolveSecret(name, options.secretStore);\n",
        "    self.api_key = kwargs.get('api_key') or os.environ['API_KEY']\n",
        "    return { accessToken: this.accessToken, tokenType: 'Bearer' };\n",
    ];
    repeat_to_size(lines.concat().as_bytes())
}

fn plain() -> Vec<u8> {
    repeat_to_size(
        b"The quick brown fox jumps over the lazy dog while the river runs to the sea.\n",
    )
}

fn engine_throughput(c: &mut Criterion) {
    let set = RuleSet::builtin().expect("built-in rules parse");
    let engine = Engine::new(&set).expect("built-in rules compile");
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    // A scan runs `config-secret-value` only in configuration files (the worker mutes it
    // elsewhere); `keyword-dense-as-config` is the same text read as one, its worst case.
    let config_rule = engine.find_rule("config-secret-value");
    for (name, input, as_config) in [
        ("code", own_sources(), false),
        ("keyword-dense", keyword_dense(), false),
        ("keyword-dense-as-config", keyword_dense(), true),
        ("plain", plain(), false),
    ] {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(name, |b| {
            let mut scratch = engine.new_scratch();
            if let Some(rule) = config_rule {
                scratch.mute(rule, !as_config);
            }
            let mut out = Vec::new();
            b.iter(|| {
                out.clear();
                engine.scan(black_box(&input), &mut scratch, &mut out);
                black_box(out.len())
            })
        });
    }
    group.finish();
}

/// The decoding stage's own cost on inputs without encoded secrets (what every input pays):
/// the candidate pass over all bytes, plus decoding and rescanning what looks encoded.
fn decode_throughput(c: &mut Criterion) {
    let set = RuleSet::builtin().expect("built-in rules parse");
    let engine = Engine::new(&set).expect("built-in rules compile");
    let mut group = c.benchmark_group("decode");
    group.sample_size(10);
    for (name, input) in [("code", own_sources()), ("plain", plain())] {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(name, |b| {
            let mut scratch = engine.new_scratch();
            b.iter(|| {
                let found =
                    decode::scan_decoded(&engine, &mut scratch, "x", black_box(&input), &[]);
                black_box(found.matches.len())
            })
        });
    }
    group.finish();
}

fn engine_build(c: &mut Criterion) {
    let set = RuleSet::builtin().expect("built-in rules parse");
    c.bench_function("engine/compile-all-rules", |b| {
        b.iter(|| Engine::new(black_box(&set)).expect("compiles"))
    });
}

criterion_group!(benches, engine_throughput, decode_throughput, engine_build);
criterion_main!(benches);
