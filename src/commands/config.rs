//! `sprawl config show`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{EXIT_CLEAN, load_rules};
use crate::cli::{ConfigArgs, PolicyArgs};
use crate::plan::{Asked, Plan};

/// `sprawl config show`: the settings a scan of PATH would use, and where each came from.
pub fn show(path: &Path, config: Option<PathBuf>) -> Result<u8> {
    let asked = Asked {
        paths: vec![path.to_path_buf()],
        policy: PolicyArgs {
            configuration: ConfigArgs {
                config,
                no_config: false,
            },
            ..PolicyArgs::default()
        },
        ..Asked::default()
    };
    let settings = Plan::settings_only(&asked)?;
    // The rules must load too: a configuration naming a missing rule file is an error here.
    let mut rules = asked.rules.clone();
    rules
        .rule_paths
        .extend(settings.rule_paths.iter().map(|p| p.value.clone()));
    rules
        .disabled
        .extend(settings.disabled_rules.iter().map(|d| d.value.clone()));
    load_rules(&rules)?;
    write!(io::stdout(), "{settings}")?;
    Ok(EXIT_CLEAN)
}
