//! sprawl's own configuration inputs (.sprawl.toml, baselines) and the configuration formats
//! it reads for structure (YAML, JSON, TOML, INI, properties, .env, XML, HCL, PHP defines).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sprawl::config::Config;
use sprawl::enrich::structure::View;
use sprawl::suppress::Baseline;

const NAMES: [&str; 11] = [
    "values.yaml",
    "appsettings.json",
    "pyproject.toml",
    "php.ini",
    "application.properties",
    ".env",
    "settings.xml",
    "main.tf",
    "wp-config.php",
    "credentials",
    "app.conf",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, hay)) = data.split_first() else {
        return;
    };
    if let Ok(text) = std::str::from_utf8(hay) {
        let _ = Config::parse(text, Path::new(".sprawl.toml"));
        let _ = Baseline::parse(text, "fuzz.json".into());
    }
    let view = View::new(NAMES[pick as usize % NAMES.len()], hay);
    let _ = view.counts();
    let _ = view.key_path(&(hay.len() / 3..hay.len() / 2));
});
