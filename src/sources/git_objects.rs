//! Git objects as the history walk reads them: raw tree entries, parsed without libgit2's
//! per-entry allocations, and maps keyed by object id.

use std::collections::{HashMap, HashSet};

use git2::Oid;

/// Oids are uniformly random already: their first eight bytes are a good hash, and SipHash
/// over all twenty was a tenth of the walk.
#[derive(Default, Clone, Copy)]
pub(super) struct OidHasher(u64);

impl std::hash::Hasher for OidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Oid hashes its 20 bytes in one call (after a length prefix for slices).
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }
}

pub(super) type OidBuild = std::hash::BuildHasherDefault<OidHasher>;
pub(super) type OidSet = HashSet<Oid, OidBuild>;
pub(super) type OidMap<V> = HashMap<Oid, V, OidBuild>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum EntryKind {
    Blob,
    Tree,
    Commit,
}

/// One entry of a raw tree object: `MODE SP NAME NUL OID(20 bytes)`.
#[derive(Debug)]
pub(super) struct TreeEntry<'a> {
    pub kind: EntryKind,
    pub name: &'a [u8],
    pub id: Oid,
}

impl<'a> TreeEntry<'a> {
    /// The entry at the start of `data`, which is advanced past it; `None` at the end or on
    /// a malformed entry (then `data` is left non-empty).
    pub(super) fn parse(data: &mut &'a [u8]) -> Option<TreeEntry<'a>> {
        let space = data.iter().position(|&b| b == b' ')?;
        let nul = space + 1 + data.get(space + 1..)?.iter().position(|&b| b == 0)?;
        let id = Oid::from_bytes(data.get(nul + 1..nul + 21)?).ok()?;
        let kind = match &data[..space] {
            b"40000" | b"040000" => EntryKind::Tree,
            b"160000" => EntryKind::Commit,
            // Regular, executable and symbolic-link files are all blobs.
            _ => EntryKind::Blob,
        };
        let name = &data[space + 1..nul];
        *data = &data[nul + 21..];
        Some(TreeEntry { kind, name, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_tree_entries_parse_and_malformed_ones_stop_the_parse() {
        let id = [7u8; 20];
        let mut tree = Vec::new();
        for (mode, name) in [("100644", "a.txt"), ("40000", "src"), ("160000", "sub")] {
            tree.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            tree.extend_from_slice(&id);
        }
        let mut rest = &tree[..];
        let kinds: Vec<(EntryKind, String)> = std::iter::from_fn(|| TreeEntry::parse(&mut rest))
            .map(|e| (e.kind, String::from_utf8_lossy(e.name).into_owned()))
            .collect();
        assert_eq!(
            kinds,
            [
                (EntryKind::Blob, "a.txt".to_string()),
                (EntryKind::Tree, "src".to_string()),
                (EntryKind::Commit, "sub".to_string()),
            ]
        );
        assert!(rest.is_empty());
        // Cut inside an entry's id: the parse stops and leaves the rest.
        let mut cut = &tree[..tree.len() - 3];
        while TreeEntry::parse(&mut cut).is_some() {}
        assert!(!cut.is_empty());
    }
}
