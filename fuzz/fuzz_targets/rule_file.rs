//! A rule file: parsed, checked and, when valid, compiled (regex size limits included).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sprawl::engine::Engine;
use sprawl::rules::RuleSet;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut set = RuleSet::default();
    if set.add_file_text("fuzz.toml", text, false).is_ok() {
        let _ = Engine::new(&set);
    }
});
