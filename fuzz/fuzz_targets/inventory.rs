//! An ownership inventory file (YAML).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sprawl::inventory::Inventory;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Inventory::parse(text, "fuzz.yaml");
    }
});
