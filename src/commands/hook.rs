//! `sprawl hook install`.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::EXIT_CLEAN;
use crate::sources::git;

/// Writes `<hooks>/pre-commit` running `sprawl scan --staged`; an existing hook is kept
/// unless `force`, since it may hold someone's work.
pub fn install(path: &Path, force: bool) -> Result<u8> {
    let repo = git::discover(path)?;
    let hooks = match repo.config().and_then(|c| c.get_path("core.hooksPath")) {
        Ok(custom) if custom.is_absolute() => custom,
        Ok(custom) => repo.workdir().unwrap_or(repo.path()).join(custom),
        Err(_) => repo.path().join("hooks"),
    };
    let hook = hooks.join("pre-commit");
    if hook.exists() && !force {
        bail!(
            "{}: a pre-commit hook already exists (use --force to replace it)",
            hook.display()
        );
    }
    fs::create_dir_all(&hooks).with_context(|| hooks.display().to_string())?;
    let exe = std::env::current_exe()
        .ok()
        .map(|p| p.display().to_string())
        .filter(|p| !p.contains('\''))
        .map_or_else(|| "sprawl".to_string(), |p| format!("'{p}'"));
    let script = format!(
        "#!/bin/sh\n# Installed by `sprawl hook install`: refuse commits that add credentials.\n\
         # Bypass once with `git commit --no-verify`.\nexec {exe} scan --staged --quiet\n"
    );
    fs::write(&hook, script).with_context(|| hook.display().to_string())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&hook, fs::Permissions::from_mode(0o755))
            .with_context(|| hook.display().to_string())?;
    }
    writeln!(io::stdout(), "installed {}", hook.display())?;
    Ok(EXIT_CLEAN)
}
