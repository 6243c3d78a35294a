//! The index of one input's structure: its values by position, each value's block and key
//! path, and what its siblings say (user, host, registry, key id).

use std::collections::BTreeMap;
use std::ops::Range;

use super::tree::{Block, Builder, Entry, Seg};
use super::values::{connection_string_parts, identifier_value};
use super::{Format, keys};

/// The blocks and values of one input, with what lookups need.
pub(super) struct Index {
    pub(super) blocks: Vec<Block>,
    pub(super) entries: Vec<Entry>,
    /// Entry indices, by value start.
    by_start: Vec<usize>,
    /// Entry indices of each block.
    members: Vec<Vec<usize>>,
    /// Names of the entries (the key, or the label).
    names: Vec<String>,
    /// `.dockercfg`: the top-level keys are registries.
    dockercfg: bool,
    /// One block for the whole file (`.env`, properties): siblings must name the same owner.
    flat: bool,
}

impl Index {
    pub(super) fn new(builder: Builder, hay: &[u8], format: Format, dockercfg: bool) -> Index {
        let Builder {
            blocks,
            mut entries,
        } = builder;
        let mut members = vec![Vec::new(); blocks.len()];
        for (i, e) in entries.iter().enumerate() {
            if let Some(m) = members.get_mut(e.block as usize) {
                m.push(i);
            }
        }
        // `- name: DB_PASSWORD` + `value: ...` (Kubernetes env, CI variables): the value is
        // named by its sibling `name` (or `key`).
        for m in &members {
            let find = |key: &str| {
                m.iter()
                    .copied()
                    .find(|&i| matches!(&entries[i].seg, Seg::Key(k) if k == key))
            };
            if let (Some(name), Some(value)) = (find("name").or_else(|| find("key")), find("value"))
                && entries[value].label.is_none()
            {
                let label = String::from_utf8_lossy(&hay[entries[name].value.clone()]).into_owned();
                entries[value].label = Some(label);
            }
        }
        let names = entries
            .iter()
            .map(|e| match (&e.label, &e.seg) {
                (Some(label), _) => label.clone(),
                (None, Seg::Key(k) | Seg::Raw(k)) => k.clone(),
                (None, Seg::Index(_)) => String::new(),
            })
            .collect();
        let mut by_start: Vec<usize> = (0..entries.len()).collect();
        by_start.sort_by_key(|&i| entries[i].value.start);
        Index {
            blocks,
            entries,
            by_start,
            members,
            names,
            dockercfg,
            flat: matches!(format, Format::Env | Format::Properties | Format::PhpDefine),
        }
    }

    pub(super) fn name(&self, e: usize) -> &str {
        &self.names[e]
    }

    /// The smallest value whose bytes contain the start of `at` (a match may run past the
    /// end of a value that holds a longer string).
    pub(super) fn entry_at(&self, at: &Range<usize>) -> Option<usize> {
        let upto = self
            .by_start
            .partition_point(|&i| self.entries[i].value.start <= at.start);
        // Values do not nest; a few steps back cover values that share a start.
        self.by_start[..upto]
            .iter()
            .rev()
            .take(8)
            .copied()
            .filter(|&i| {
                let v = &self.entries[i].value;
                at.start < v.end || (v.is_empty() && at.start == v.start)
            })
            .min_by_key(|&i| self.entries[i].value.len())
    }

    /// `spec.containers[0].env[3].value`, `auths."registry.example.com".auth`.
    pub(super) fn render(&self, e: usize) -> String {
        let mut segs: Vec<&Seg> = vec![&self.entries[e].seg];
        let mut block = Some(self.entries[e].block);
        while let Some(b) = block {
            let Some(node) = self.blocks.get(b as usize) else {
                break;
            };
            if let Some(seg) = &node.seg {
                segs.push(seg);
            }
            block = node.parent;
        }
        let mut out = String::new();
        for seg in segs.into_iter().rev() {
            match seg {
                Seg::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
                Seg::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    if !k.is_empty()
                        && k.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    {
                        out.push_str(k);
                    } else {
                        out.push('"');
                        for c in k.chars() {
                            if c == '"' || c == '\\' {
                                out.push('\\');
                            }
                            out.push(c);
                        }
                        out.push('"');
                    }
                }
                Seg::Raw(r) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(r);
                }
            }
        }
        out
    }

    /// Identifiers beside entry `e`, one per role, each from the sibling whose owner prefix
    /// matches best (`DB_USER` for `DB_PASSWORD`, never `REDIS_HOST`), then the nearest.
    pub(super) fn siblings(&self, hay: &[u8], e: usize) -> Vec<(&'static str, String)> {
        let entry = &self.entries[e];
        let own_tokens = keys::tokens(self.name(e));
        let owner = keys::owner_prefix(&own_tokens);
        let mut candidates: Vec<usize> = self.members[entry.block as usize].clone();
        // A labelled value in a list of `name`/`value` pairs: the other pairs of the list.
        if entry.label.is_some()
            && !matches!(entry.seg, Seg::Index(_))
            && let Some(list) = self.blocks[entry.block as usize].parent
        {
            for (b, block) in self.blocks.iter().enumerate() {
                if block.parent == Some(list) && b != entry.block as usize {
                    candidates.extend(
                        self.members[b]
                            .iter()
                            .copied()
                            .filter(|&i| self.entries[i].label.is_some()),
                    );
                }
            }
        }
        if self.encoded_block(hay, entry.block) {
            // Kubernetes Secret `data`: the siblings are base64 too, not readable identifiers.
            candidates.clear();
        }
        // role -> (prefix length, distance, value)
        let mut best: BTreeMap<&'static str, (usize, usize, String)> = BTreeMap::new();
        for c in candidates {
            if c == e {
                continue;
            }
            let tokens = keys::tokens(self.name(c));
            if tokens.is_empty() || keys::tokens_name_secret(&tokens) {
                continue;
            }
            let Some((role, prefix)) = keys::role(&tokens) else {
                continue;
            };
            // `DB_USER` is the user of `DB_PASSWORD`, not of `REDIS_PASSWORD`; in a block of
            // its own, an unprefixed `user` is the user of `db_password` too.
            let same_owner = owner.starts_with(prefix) || (!self.flat && prefix.starts_with(owner));
            if !same_owner {
                continue;
            }
            let Some(value) = identifier_value(&hay[self.entries[c].value.clone()]) else {
                continue;
            };
            let distance = self.entries[c].value.start.abs_diff(entry.value.start);
            let better = best.get(role).is_none_or(|(len, dist, _)| {
                (prefix.len(), std::cmp::Reverse(distance)) > (*len, std::cmp::Reverse(*dist))
            });
            if better {
                best.insert(role, (prefix.len(), distance, value));
            }
        }
        let mut out: Vec<(&'static str, String)> = best
            .into_iter()
            .map(|(role, (_, _, value))| (role, value))
            .collect();
        if let Some(registry) = self.registry(e) {
            out.push(("registry", registry));
        }
        if let Some(user) = self.kubeconfig_user(hay, e) {
            out.push(("user", user));
        }
        out.extend(connection_string_parts(&hay[entry.value.clone()]));
        out
    }

    /// A Kubernetes Secret's `data` or `binaryData` block, whose values are base64.
    pub(super) fn encoded_block(&self, hay: &[u8], block: u32) -> bool {
        let node = &self.blocks[block as usize];
        if !matches!(&node.seg, Some(Seg::Key(k)) if k == "data" || k == "binaryData") {
            return false;
        }
        let mut root = block;
        while let Some(parent) = self.blocks[root as usize].parent {
            root = parent;
        }
        self.members[root as usize].iter().any(|&i| {
            matches!(&self.entries[i].seg, Seg::Key(k) if k == "kind")
                && &hay[self.entries[i].value.clone()] == b"Secret"
        })
    }

    /// Docker client config: the registry key under `auths` (or at the top of `.dockercfg`).
    pub(super) fn registry(&self, e: usize) -> Option<String> {
        let mut chain: Vec<&Seg> = Vec::new();
        let mut block = Some(self.entries[e].block);
        while let Some(b) = block {
            let node = self.blocks.get(b as usize)?;
            if let Some(seg) = &node.seg {
                chain.push(seg);
            }
            block = node.parent;
        }
        chain.reverse();
        if self.dockercfg
            && let Some(Seg::Key(registry)) = chain.first()
        {
            return Some(registry.clone());
        }
        chain.windows(2).find_map(|w| match w {
            [Seg::Key(auths), Seg::Key(registry)] if auths == "auths" => Some(registry.clone()),
            _ => None,
        })
    }

    /// kubeconfig: `users[i].user.<secret>` is the user `users[i].name`.
    pub(super) fn kubeconfig_user(&self, hay: &[u8], e: usize) -> Option<String> {
        let block = &self.blocks[self.entries[e].block as usize];
        if !matches!(&block.seg, Some(Seg::Key(k)) if k == "user") {
            return None;
        }
        let parent = block.parent?;
        let name = self.members[parent as usize]
            .iter()
            .copied()
            .find(|&i| matches!(&self.entries[i].seg, Seg::Key(k) if k == "name"))?;
        identifier_value(&hay[self.entries[name].value.clone()])
    }
}
