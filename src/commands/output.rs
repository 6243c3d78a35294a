//! Where a report goes: standard output, or a file written whole or not at all.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::pipeline::reader_closed;

/// A report destination: standard output, or a file written whole or not at all
/// (a temporary file beside it, renamed into place when the report is complete).
pub enum Destination {
    Stdout(io::Stdout),
    /// A device or pipe (`/dev/null`, `/dev/stdout`, a FIFO): written in place. Renaming a
    /// file over it would replace the device with a regular file.
    Special(BufWriter<File>),
    File {
        writer: BufWriter<File>,
        temp: PathBuf,
        path: PathBuf,
    },
}

impl Destination {
    pub fn open(output: Option<&Path>) -> Result<Destination> {
        let Some(given) = output else {
            return Ok(Destination::Stdout(io::stdout()));
        };
        let shown = || format!("{}: cannot write report", given.display());
        if let Ok(meta) = fs::metadata(given)
            && !meta.is_file()
        {
            let file = OpenOptions::new()
                .write(true)
                .open(given)
                .with_context(shown)?;
            return Ok(Destination::Special(BufWriter::new(file)));
        }
        // Through a symbolic link, replace the file it points to, not the link.
        let resolved = fs::canonicalize(given).ok();
        let path = resolved.as_deref().unwrap_or(given);
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path.file_name().context("--output needs a file name")?;
        let temp = dir.join(format!(
            ".{}.sprawl-{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600); // reports name where credentials are
        }
        let file = options.open(&temp).with_context(shown)?;
        Ok(Destination::File {
            writer: BufWriter::new(file),
            temp,
            path: path.to_path_buf(),
        })
    }

    pub fn writer(&mut self) -> &mut (dyn Write + Send) {
        match self {
            Destination::Stdout(out) => out,
            Destination::Special(writer) => writer,
            Destination::File { writer, .. } => writer,
        }
    }

    pub fn finish(self) -> Result<()> {
        match self {
            Destination::Stdout(mut out) => match out.flush() {
                Err(err) if reader_closed(&err) => Ok(()),
                other => other.context("standard output"),
            },
            Destination::Special(mut writer) => writer.flush().context("--output"),
            Destination::File { writer, temp, path } => {
                let file = writer
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| path.display().to_string())?;
                file.sync_all()
                    .with_context(|| path.display().to_string())?;
                fs::rename(&temp, &path).with_context(|| path.display().to_string())
            }
        }
    }

    pub fn abandon(self) {
        if let Destination::File { temp, .. } = self {
            let _ = fs::remove_file(temp);
        }
    }
}
