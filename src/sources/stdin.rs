//! Standard input (`sprawl scan -`), whole when it fits in a chunk, in chunks otherwise.

use std::io::{Cursor, Read};

use super::{
    Event, SkipReason, Source, Visitor, WalkOptions, as_text, chunked, chunked::CHUNK_SIZE,
};

/// What `-` among the paths reads.
pub struct Stdin;

impl Source for Stdin {
    fn read<'w>(
        &self,
        options: &WalkOptions,
        workers: &(dyn Fn() -> Box<dyn Visitor + 'w> + Sync),
    ) {
        let mut worker = workers();
        let mut buf = Vec::new();
        scan_stdin(
            options.max_file_size,
            options.chunk_overlap,
            &mut buf,
            &mut worker,
        );
    }
}

/// Scans standard input: whole when it fits in a chunk, in chunks otherwise. Past the size
/// limit of files nothing is read, and the input is also counted as too large.
pub fn scan_stdin(max: u64, overlap: usize, buf: &mut Vec<u8>, visitor: &mut dyn Visitor) {
    const PATH: &str = "<stdin>";
    buf.clear();
    let mut stdin = std::io::stdin().lock().take(max);
    let scanned = (&mut stdin)
        .take(CHUNK_SIZE as u64 + 1)
        .read_to_end(buf)
        .map_err(|e| SkipReason::Unreadable(e.to_string()))
        .and_then(|_| {
            if buf.len() <= CHUNK_SIZE {
                as_text(buf)?;
                visitor.visit(Event::file(PATH, buf));
                return Ok(());
            }
            let head = Cursor::new(std::mem::take(buf));
            chunked::scan(head.chain(&mut stdin), PATH, overlap, buf, visitor)
        })
        .and_then(|()| match stdin.into_inner().read(&mut [0u8; 1]) {
            Ok(1) => Err(SkipReason::TooLarge {
                size: max + 1,
                limit: max,
            }),
            _ => Ok(()),
        });
    if let Err(reason) = scanned {
        visitor.visit(Event::Skipped {
            path: PATH.into(),
            reason,
        });
    }
}
