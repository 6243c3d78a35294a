//! The walk of folders: every file under the roots, in parallel (`ignore`'s walker, so
//! `.gitignore`, `.ignore` and `.sprawlignore` hold), archives opened, large files in chunks.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use ignore::{WalkBuilder, WalkState};

use super::{
    Contents, Event, Root, SPRAWL_IGNORE_FILE, SkipReason, Source, Visitor, WalkOptions, archive,
    chunked, read_file,
};

/// The files under some roots.
pub struct Walk {
    pub roots: Vec<Root>,
}

impl Source for Walk {
    fn read<'w>(
        &self,
        options: &WalkOptions,
        workers: &(dyn Fn() -> Box<dyn Visitor + 'w> + Sync),
    ) {
        walk(&self.roots, options, workers);
    }
}

/// Walks every root in parallel. `make_worker` is called once per walker thread; the
/// worker it returns receives that thread's inputs, so per-thread state needs no locks.
pub fn walk<W, F>(roots: &[Root], options: &WalkOptions, make_worker: F)
where
    F: Fn() -> W + Sync,
    W: Visitor,
{
    for root in roots {
        let mut builder = WalkBuilder::new(&root.path);
        builder
            .threads(options.threads)
            .hidden(false)
            .follow_links(options.follow_links)
            .git_global(false)
            .require_git(false)
            .filter_entry(|entry| entry.file_name() != ".git");
        if options.respect_ignore_files {
            builder.add_custom_ignore_filename(SPRAWL_IGNORE_FILE);
        } else {
            builder.standard_filters(false).hidden(false);
        }
        let max = options.max_file_size;
        let archives = options
            .archives
            .then(|| archive::Limits::new(options.max_archive_size, max));
        builder.build_parallel().run(|| {
            let mut worker = make_worker();
            let mut buf: Vec<u8> = Vec::new();
            Box::new(move |entry| {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(err) => {
                        let path = error_path(&err)
                            .map(|p| root.display(&p))
                            .unwrap_or_default();
                        worker.visit(Event::Skipped {
                            path,
                            reason: SkipReason::Unreadable(error_text(&err)),
                        });
                        return WalkState::Continue;
                    }
                };
                let Some(file_type) = entry.file_type() else {
                    return WalkState::Continue; // stdin, which roots never are
                };
                if file_type.is_symlink() {
                    // Not followed; only a dangling one is worth reporting.
                    if std::fs::metadata(entry.path()).is_err() {
                        worker.visit(Event::Skipped {
                            path: root.display(entry.path()),
                            reason: SkipReason::BrokenLink,
                        });
                    }
                    return WalkState::Continue;
                }
                if file_type.is_dir() {
                    return WalkState::Continue;
                }
                if !file_type.is_file() {
                    worker.visit(Event::Skipped {
                        path: root.display(entry.path()),
                        reason: SkipReason::NotAFile,
                    });
                    return WalkState::Continue;
                }
                let path = root.display(entry.path());
                let read = read_file(entry.path(), max, &mut buf);
                // Archives are binary and may pass --max-file-size: look for one before
                // skipping the file for either.
                if let Some(limits) = &archives
                    && archive::scan_file(entry.path(), &path, &read, &buf, limits, &mut worker)
                {
                    return WalkState::Continue;
                }
                let read = match read {
                    Ok(Contents::Whole) => {
                        worker.visit(Event::file(&path, &buf));
                        Ok(())
                    }
                    Ok(Contents::TooLargeToHold { .. }) => File::open(entry.path())
                        .map_err(|e| SkipReason::Unreadable(e.to_string()))
                        .and_then(|file| {
                            // `take` bounds a file that grows while it is read.
                            let file = file.take(max);
                            chunked::scan(file, &path, options.chunk_overlap, &mut buf, &mut worker)
                        }),
                    Err(reason) => Err(reason),
                };
                if let Err(reason) = read {
                    worker.visit(Event::Skipped { path, reason });
                }
                WalkState::Continue
            })
        });
    }
}

fn error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        _ => None,
    }
}

/// The error without the path `ignore` prefixes it with (the path is reported separately).
fn error_text(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => error_text(err),
        other => other.to_string(),
    }
}
