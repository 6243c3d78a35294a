//! Key/value structure of configuration files, looked at only where a match already is.
//!
//! The engine finds matches in raw bytes first; only a file that has matches and whose name
//! (or, without an extension, whose first bytes) says it is YAML, JSON, TOML, INI, Java
//! properties, `.env`, XML, HCL or a `wp-config.php` is indexed, by a small tolerant reader
//! per format that records each scalar value's byte range, the key holding it and the block
//! (mapping, section, element) it sits in. From that index a finding gets:
//!
//! - `location.key_path`, the path of the value holding it
//!   (`spec.template.spec.containers[0].env[3].value`, `auths."registry.example.com".auth`);
//! - identifiers from its siblings: `username`, `host`, `port`, `database`, `client_id`,
//!   `registry`, ... and the AWS access key id as `key_id`; never a sibling that is itself a
//!   secret;
//! - a verdict on the matches of the `config-secret-value` rule, which the engine proposes
//!   by key name only: kept when the index confirms a scalar value whose key names a
//!   password, secret, token or key, the whole value was matched, and it is not a reference
//!   to a secret kept elsewhere (`${VAR}`, `{{ .Values.x }}`, `!vault |`, `ENC[...]`,
//!   `vault:...`, `arn:aws:secretsmanager:...`).
//!
//! A file that does not parse is scanned as plain text (its matches are kept, without key
//! paths) and counted in [`ConfigCounts::malformed_as_text`].

mod hcl;
mod ini;
mod keys;
mod xml;
mod yaml;

pub(crate) mod flow;

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use serde::Serialize;

use crate::engine::filters;
use crate::engine::{Engine, RawMatch, RuleIdx};

/// Files larger than this are not indexed (scanned as text, not counted as malformed):
/// configuration files are small, and the index costs memory per value.
const MAX_STRUCTURED_BYTES: usize = 4 << 20;

/// The rule whose matches only count when the structure confirms them.
pub const CONFIG_SECRET_RULE: &str = "config-secret-value";

/// The rule reported for a Rails `config/master.key` (found by file name, see [`scan_by_name`]).
pub const RAILS_MASTER_KEY_RULE: &str = "rails-master-key";

/// Identifier values longer than this are not copied into a finding.
const MAX_IDENTIFIER_LEN: usize = 200;

/// Shortest value `config-secret-value` reports (as the generic password rule).
const MIN_SECRET_LEN: usize = 8;

/// Lowest Shannon entropy (bits per byte) of a value `config-secret-value` reports.
const MIN_SECRET_ENTROPY: f64 = 3.0;

/// A configuration format with a reader here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    Toml,
    Ini,
    Properties,
    Env,
    Xml,
    Hcl,
    /// `define('NAME', 'value');` lines of a WordPress `wp-config.php`.
    PhpDefine,
}

/// What indexing the inputs with matches found, for the run's summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConfigCounts {
    /// Configuration files with matches that were read as structure.
    pub structured: u64,
    /// Configuration files with matches that did not parse and were scanned as plain text.
    pub malformed_as_text: u64,
}

impl ConfigCounts {
    pub fn is_empty(&self) -> bool {
        *self == ConfigCounts::default()
    }

    /// Adds the counts of another worker or input.
    pub fn merge(&mut self, other: ConfigCounts) {
        self.structured += other.structured;
        self.malformed_as_text += other.malformed_as_text;
    }
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A mapping key; quoted in the path when it holds anything but `[A-Za-z0-9_-]`.
    Key(String),
    /// A sequence position.
    Index(usize),
    /// Written as is: a flat key (`spring.datasource.password`) or an XML selector
    /// (`add[name=Db]`).
    Raw(String),
}

/// A block that holds values: a mapping, sequence, section or element.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub parent: Option<u32>,
    /// How the parent reaches this block (none for the root).
    pub seg: Option<Seg>,
}

/// One scalar value of the file.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub block: u32,
    pub seg: Seg,
    /// The name that says what the value is when it is not the key: the `name` of a
    /// `name`/`value` pair, an XML `add` element's `key`, the `NAME` of a `NAME=value` item.
    pub label: Option<String>,
    /// The value's bytes, inside any quotes.
    pub value: Range<usize>,
}

/// The index a reader builds: blocks and the scalar values in them.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    pub blocks: Vec<Block>,
    pub entries: Vec<Entry>,
}

impl Builder {
    pub fn block(&mut self, parent: Option<u32>, seg: Option<Seg>) -> u32 {
        self.blocks.push(Block { parent, seg });
        (self.blocks.len() - 1) as u32
    }

    pub fn leaf(&mut self, block: u32, seg: Seg, value: Range<usize>) {
        self.entries.push(Entry {
            block,
            seg,
            label: None,
            value,
        });
    }

    pub fn labelled(&mut self, block: u32, seg: Seg, label: String, value: Range<usize>) {
        self.entries.push(Entry {
            block,
            seg,
            label: Some(label),
            value,
        });
    }
}

/// The input does not parse as its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// What one input's structure says, computed once per input with matches.
pub struct View {
    state: State,
}

enum State {
    /// Not a configuration format (or too large): plain text.
    Plain,
    /// A configuration format that did not parse: plain text, counted.
    Malformed,
    Indexed(Index),
}

impl View {
    /// Detects the format of `path` and indexes `hay` if it is one.
    pub fn new(path: &str, hay: &[u8]) -> View {
        let state = match detect(path, hay) {
            Some(format) if hay.len() <= MAX_STRUCTURED_BYTES => match parse(format, hay) {
                Ok(builder) => State::Indexed(Index::new(
                    builder,
                    hay,
                    format,
                    basename(path) == ".dockercfg",
                )),
                Err(Malformed) => State::Malformed,
            },
            _ => State::Plain,
        };
        View { state }
    }

    /// A view of an input read as text only.
    pub fn plain() -> View {
        View {
            state: State::Plain,
        }
    }

    /// How this input counts in the summary.
    pub fn counts(&self) -> ConfigCounts {
        match self.state {
            State::Plain => ConfigCounts::default(),
            State::Malformed => ConfigCounts {
                structured: 0,
                malformed_as_text: 1,
            },
            State::Indexed(_) => ConfigCounts {
                structured: 1,
                malformed_as_text: 0,
            },
        }
    }

    /// Which of `matches` (all of one input) stand: `config-secret-value` matches only where
    /// the structure confirms them and no other rule matched the same bytes; generic matches
    /// whose whole value refers to a secret kept elsewhere are dropped; all others stand.
    pub fn judge(&self, engine: &Engine, hay: &[u8], matches: &[RawMatch]) -> Vec<bool> {
        let is_config_rule = |m: &RawMatch| engine.rule_info(m.rule).id == CONFIG_SECRET_RULE;
        // The generic rules of each kind of key, which the structured reading extends: a kind
        // whose rule is disabled stays silent here too.
        let loaded = |kind: keys::SecretKind| engine.has_rule(kind.generic_rule());
        let kinds = [
            (
                keys::SecretKind::Password,
                loaded(keys::SecretKind::Password),
            ),
            (keys::SecretKind::Secret, loaded(keys::SecretKind::Secret)),
            (keys::SecretKind::Token, loaded(keys::SecretKind::Token)),
        ];
        let enabled = |kind: keys::SecretKind| kinds.iter().any(|&(k, on)| k == kind && on);
        // Bytes another rule reported: that rule names them better.
        let others: HashSet<(usize, usize)> = matches
            .iter()
            .filter(|m| !is_config_rule(m))
            .map(|m| (m.secret.start, m.secret.end))
            .collect();
        matches
            .iter()
            .map(|m| {
                let rule = engine.rule_info(m.rule);
                if rule.id == CONFIG_SECRET_RULE {
                    return !others.contains(&(m.secret.start, m.secret.end))
                        && self.confirms_secret_value(hay, m.secret.clone(), &enabled);
                }
                if !rule.generic {
                    return true;
                }
                match self
                    .index()
                    .and_then(|ix| ix.entry_at(&m.secret).map(|e| (ix, e)))
                {
                    Some((ix, e)) => !is_reference(&hay[ix.entries[e].value.clone()]),
                    None => true,
                }
            })
            .collect()
    }

    /// Whether a match of `rule` found under an encoding stands: `config-secret-value` never
    /// does, since the structure only confirms plain values.
    pub fn keeps_decoded(&self, engine: &Engine, rule: RuleIdx) -> bool {
        engine.rule_info(rule).id != CONFIG_SECRET_RULE
    }

    /// The key path of the value holding `at`.
    pub fn key_path(&self, at: &Range<usize>) -> Option<String> {
        let ix = self.index()?;
        Some(ix.render(ix.entry_at(at)?))
    }

    /// Adds the non-secret identifiers beside the value holding `at`: `key_id` when unset
    /// and a sibling is an access key id, the others into `identifiers` unless already there.
    pub fn pair(
        &self,
        hay: &[u8],
        at: &Range<usize>,
        key_id: &mut Option<String>,
        identifiers: &mut BTreeMap<String, String>,
    ) {
        let Some(ix) = self.index() else {
            return;
        };
        let Some(e) = ix.entry_at(at) else {
            return;
        };
        for (role, value) in ix.siblings(hay, e) {
            if role == "key_id" {
                if key_id.is_none() {
                    *key_id = Some(value);
                }
            } else {
                identifiers.entry(role.to_string()).or_insert(value);
            }
        }
    }

    fn index(&self) -> Option<&Index> {
        match &self.state {
            State::Indexed(ix) => Some(ix),
            _ => None,
        }
    }

    fn confirms_secret_value(
        &self,
        hay: &[u8],
        secret: Range<usize>,
        enabled: &dyn Fn(keys::SecretKind) -> bool,
    ) -> bool {
        let Some(ix) = self.index() else {
            return false;
        };
        let Some(e) = ix.entry_at(&secret) else {
            return false;
        };
        if ix.entries[e].value != secret {
            return false;
        }
        match keys::secret_kind(ix.name(e)) {
            Some(kind) if enabled(kind) => {}
            _ => return false,
        }
        let value = &hay[secret];
        value.len() >= MIN_SECRET_LEN
            && !is_reference(value)
            && !is_words(value)
            && !filters::is_placeholder(value)
            && !filters::is_generic_non_secret(value)
            && filters::shannon_entropy(value) >= MIN_SECRET_ENTROPY
    }
}

fn parse(format: Format, hay: &[u8]) -> Result<Builder, Malformed> {
    let mut builder = Builder::default();
    match format {
        Format::Yaml => yaml::index(hay, &mut builder),
        Format::Json => flow::index_json(hay, &mut builder),
        Format::Toml => ini::index_toml(hay, &mut builder),
        Format::Ini => ini::index_ini(hay, &mut builder),
        Format::Properties => ini::index_properties(hay, &mut builder),
        Format::Env => ini::index_env(hay, &mut builder),
        Format::Xml => xml::index(hay, &mut builder),
        Format::Hcl => hcl::index(hay, &mut builder),
        Format::PhpDefine => ini::index_php_define(hay, &mut builder),
    }?;
    Ok(builder)
}

/// The blocks and values of one input, with what lookups need.
struct Index {
    blocks: Vec<Block>,
    entries: Vec<Entry>,
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
    fn new(builder: Builder, hay: &[u8], format: Format, dockercfg: bool) -> Index {
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

    fn name(&self, e: usize) -> &str {
        &self.names[e]
    }

    /// The smallest value whose bytes contain the start of `at` (a match may run past the
    /// end of a value that holds a longer string).
    fn entry_at(&self, at: &Range<usize>) -> Option<usize> {
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
    fn render(&self, e: usize) -> String {
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
    fn siblings(&self, hay: &[u8], e: usize) -> Vec<(&'static str, String)> {
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
    fn encoded_block(&self, hay: &[u8], block: u32) -> bool {
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
    fn registry(&self, e: usize) -> Option<String> {
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
    fn kubeconfig_user(&self, hay: &[u8], e: usize) -> Option<String> {
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

/// A sibling's value as an identifier: one short line, not a reference or a placeholder,
/// and no URL with a password in it.
fn identifier_value(value: &[u8]) -> Option<String> {
    let value = value.trim_ascii();
    let number = value.iter().all(u8::is_ascii_digit);
    if value.is_empty()
        || value.len() > MAX_IDENTIFIER_LEN
        || value.contains(&b'\n')
        || is_reference(value)
        || (!number && filters::is_placeholder(value))
    {
        return None;
    }
    let text = std::str::from_utf8(value).ok()?;
    if let Some(scheme) = text.find("://")
        && text[scheme + 3..]
            .split(['/', '?', '#'])
            .next()
            .is_some_and(|authority| authority.contains('@'))
    {
        return None;
    }
    Some(text.to_string())
}

/// `Server=db;Database=orders;User Id=app;Password=...`: its user, host, port and database,
/// for a secret inside such a value.
fn connection_string_parts(value: &[u8]) -> Vec<(&'static str, String)> {
    let Ok(text) = std::str::from_utf8(value) else {
        return Vec::new();
    };
    let pairs: Vec<(&str, &str)> = text
        .split(';')
        .filter_map(|part| part.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    if pairs.len() < 2 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (key, value) in pairs {
        let role = match key.to_ascii_lowercase().as_str() {
            "server" | "data source" | "datasource" | "host" | "address" | "addr"
            | "network address" => "host",
            "user id" | "userid" | "uid" | "user" | "username" | "user name" => "username",
            "database" | "initial catalog" | "dbname" => "database",
            "port" => "port",
            "accountname" => "account",
            _ => continue,
        };
        let Some(value) = identifier_value(value.as_bytes()) else {
            continue;
        };
        if role == "host" {
            // `tcp:db.internal,1433`: host and port.
            let host = value.strip_prefix("tcp:").unwrap_or(&value);
            match host.split_once(',') {
                Some((h, p)) => {
                    out.push(("host", h.to_string()));
                    out.push(("port", p.to_string()));
                }
                None => out.push(("host", host.to_string())),
            }
        } else {
            out.push((role, value));
        }
    }
    out
}

/// Values that point at a secret kept elsewhere (or encrypted), not a secret: templates,
/// environment references, vault and secret-manager paths, SOPS and Ansible Vault blocks.
pub fn is_reference(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    const PREFIXES: &[&[u8]] = &[
        b"!vault",
        b"$ANSIBLE_VAULT",
        b"ENC[",
        b"vault:",
        b"arn:aws:secretsmanager:",
        b"arn:aws:ssm:",
        b"arn:aws:kms:",
        b"op://",
        b"ref+",
        b"sm://",
        b"secretref:",
        b"@Microsoft.KeyVault(",
        b"projects/",
        b"awskms:",
        b"gcpkms:",
        b"azkv:",
    ];
    const INSIDE: &[&[u8]] = &[b"${", b"{{", b"$(", b"%(", b"#{", b"<%", b"${{"];
    if PREFIXES.iter().any(|p| v.starts_with(p)) {
        return true;
    }
    if INSIDE.iter().any(|m| memchr::memmem::find(v, m).is_some()) {
        return true;
    }
    // `$VAR`, `<password>`, `%ENV_VAR%`
    (v.first() == Some(&b'$')
        && v.len() > 1
        && v[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_'))
        || (v.first() == Some(&b'<') && v.last() == Some(&b'>'))
        || (v.len() > 2 && v.first() == Some(&b'%') && v.last() == Some(&b'%'))
}

/// Words joined by `_` or `-`, with at most a short number at the end (`key_personal1`,
/// `my-db-pass-2024`): a name someone typed, which test and sample configurations put where a
/// credential goes; a generated credential mixes digits and letters throughout.
fn is_words(value: &[u8]) -> bool {
    let body = value.trim_ascii_end();
    let digits = body.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let words = &body[..body.len() - digits];
    digits <= 4
        && words.iter().any(|b| matches!(b, b'_' | b'-'))
        && words
            .iter()
            .all(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'-'))
}

/// The last component of a path (`/` or `\` separated).
pub fn basename(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The configuration format of a file, by its name first, then (without an extension) by
/// its first bytes.
pub fn detect(path: &str, hay: &[u8]) -> Option<Format> {
    let name = basename(path).to_ascii_lowercase();
    let ext = name.rsplit_once('.');
    match name.as_str() {
        ".dockercfg" => return Some(Format::Json),
        ".pypirc" | ".npmrc" | ".gitconfig" | ".s3cfg" | ".editorconfig" | ".boto" => {
            return Some(Format::Ini);
        }
        ".terraformrc" | "terraform.rc" => return Some(Format::Hcl),
        ".env" | ".flaskenv" => return Some(Format::Env),
        "kubeconfig" => return Some(Format::Yaml),
        _ => {}
    }
    if name.starts_with(".env.") {
        return Some(Format::Env);
    }
    if name.starts_with("wp-config") && name.ends_with(".php") {
        return Some(Format::PhpDefine);
    }
    if name.ends_with(".tfstate.backup") {
        return Some(Format::Json);
    }
    let in_dir = |dir: &str| {
        let lower = path.replace('\\', "/").to_ascii_lowercase();
        lower.contains(&format!("{dir}/"))
    };
    let Some((_, ext)) = ext else {
        // `~/.aws/credentials`, `~/.kube/config`, and files named by their content.
        if in_dir(".aws") {
            return Some(Format::Ini);
        }
        if in_dir(".kube") {
            return Some(Format::Yaml);
        }
        return sniff(hay);
    };
    Some(match ext {
        "yaml" | "yml" => Format::Yaml,
        "json" | "jsonc" | "tfstate" | "dockercfg" => Format::Json,
        "toml" => Format::Toml,
        "ini" | "cfg" | "cnf" => Format::Ini,
        "conf" => match sniff(hay) {
            Some(Format::Yaml) => Format::Yaml,
            Some(Format::Json) => Format::Json,
            Some(Format::Xml) => Format::Xml,
            _ if looks_like_ini(hay) => Format::Ini,
            _ => return None,
        },
        "properties" => Format::Properties,
        "env" => Format::Env,
        "xml" | "config" | "pubxml" => Format::Xml,
        "tf" | "tfvars" | "hcl" => Format::Hcl,
        "kubeconfig" => Format::Yaml,
        _ => return None,
    })
}

/// A format told by the first bytes of a file without an extension.
fn sniff(hay: &[u8]) -> Option<Format> {
    let head = &hay[..hay.len().min(4096)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let first = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = &head[first..];
    if text.starts_with(b"{") {
        return Some(Format::Json);
    }
    if text.starts_with(b"<?xml") || text.starts_with(b"<") && !text.starts_with(b"<<") {
        return Some(Format::Xml);
    }
    let line_starts = |needle: &[u8]| {
        head.split(|&b| b == b'\n')
            .any(|line| line.starts_with(needle))
    };
    if line_starts(b"apiVersion:") && line_starts(b"kind:") {
        return Some(Format::Yaml);
    }
    // `[default]` then `key = value`: an AWS `credentials` file, a `.gitconfig` by any name.
    if text.starts_with(b"[") && looks_like_ini(head) {
        return Some(Format::Ini);
    }
    None
}

/// `[section]` or `key = value` as the first line that is not a comment.
fn looks_like_ini(hay: &[u8]) -> bool {
    let head = &hay[..hay.len().min(4096)];
    head.split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .find(|line| !line.is_empty() && !line.starts_with(b"#") && !line.starts_with(b";"))
        .is_some_and(|line| {
            (line.starts_with(b"[") && line.ends_with(b"]"))
                || line.iter().position(|&b| b == b'=').is_some_and(|eq| {
                    eq > 0
                        && line[..eq]
                            .trim_ascii()
                            .iter()
                            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(b))
                })
        })
}

/// Findings that only a file's name reveals, for inputs the engine found nothing in: a Rails
/// `config/master.key` (or `config/credentials/<env>.key`) is 32 hex digits and nothing else.
/// Returns matches of [`RAILS_MASTER_KEY_RULE`] when that rule is loaded.
pub fn scan_by_name(engine: &Engine, path: &str, hay: &[u8]) -> Vec<RawMatch> {
    let normal = path.replace('\\', "/");
    let name = basename(&normal);
    let rails_key =
        name == "master.key" || (name.ends_with(".key") && normal.contains("config/credentials/"));
    if !rails_key || hay.len() > 256 {
        return Vec::new();
    }
    let start = hay
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let end = hay
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |e| e + 1);
    if end < start + 32 || end - start != 32 || !hay[start..end].iter().all(u8::is_ascii_hexdigit) {
        return Vec::new();
    }
    let Some(rule) = engine.find_rule(RAILS_MASTER_KEY_RULE) else {
        return Vec::new();
    };
    if filters::is_placeholder(&hay[start..end]) || filters::shannon_entropy(&hay[start..end]) < 3.0
    {
        return Vec::new();
    }
    vec![RawMatch {
        rule,
        span: start..end,
        secret: start..end,
        identifiers: Vec::new(),
    }]
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The key path that `file`'s structure gives the first `needle` in `text`.
    pub(in crate::enrich::structure) fn path_of(
        file: &str,
        text: &str,
        needle: &str,
    ) -> Option<String> {
        let at = text.find(needle).unwrap();
        View::new(file, text.as_bytes()).key_path(&(at..at + needle.len()))
    }

    fn confirmed(file: &str, text: &str, value: &str) -> bool {
        let at = text.find(value).unwrap();
        View::new(file, text.as_bytes()).confirms_secret_value(
            text.as_bytes(),
            at..at + value.len(),
            &|_| true,
        )
    }

    #[test]
    fn structured_values_are_judged_by_key_value_and_placeholders() {
        assert!(confirmed(
            "a.yml",
            "db:\n  password: Zq8vR2pLw7xN\n",
            "Zq8vR2pLw7xN"
        ));
        assert!(confirmed(
            "a.json",
            r#"{"clientSecret": "Zq8vR2pLw7xN"}"#,
            "Zq8vR2pLw7xN"
        ));
        // Not a secret key, not the whole value, not a structured file.
        assert!(!confirmed(
            "a.yml",
            "password_file: Zq8vR2pLw7xN\n",
            "Zq8vR2pLw7xN"
        ));
        assert!(!confirmed(
            "a.yml",
            "password: Zq8vR2pLw7xN and more\n",
            "Zq8vR2pLw7xN"
        ));
        assert!(!confirmed(
            "a.py",
            "password = 'Zq8vR2pLw7xN'\n",
            "Zq8vR2pLw7xN"
        ));
        for value in [
            "${SECRET_VALUE}",
            "$(DB_PASSWORD)",
            "{{ .Values.password }}",
            "{{ secrets.X }}",
            "${{ secrets.TOKEN }}",
            "<password>",
            "changeme",
            "xxxxxxxxxx",
            "vault:secret/data/x#password",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
            "ENC[AES256_GCM,data:Tr7o2kXb,iv:8dP1=,tag:k2Z=,type:str]",
            "%(ENV_X)s",
            "op://vault/item/password",
            "key_personal1",
            "my-db-password-2024",
        ] {
            let text = format!("password: \"{value}\"\n");
            assert!(!confirmed("a.yml", &text, value), "{value}");
        }
        let vault = "password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6231336539666234\n";
        let view = View::new("vars.yml", vault.as_bytes());
        let at = vault.find("6231").unwrap();
        assert!(!view.confirms_secret_value(vault.as_bytes(), at..at + 16, &|_| true));
        assert!(is_reference(b"!vault |\n  $ANSIBLE_VAULT;1.1;AES256"));
    }

    fn paired(file: &str, text: &str, value: &str) -> (Option<String>, BTreeMap<String, String>) {
        let at = text.find(value).unwrap();
        let mut key_id = None;
        let mut identifiers = BTreeMap::new();
        View::new(file, text.as_bytes()).pair(
            text.as_bytes(),
            &(at..at + value.len()),
            &mut key_id,
            &mut identifiers,
        );
        (key_id, identifiers)
    }

    #[test]
    fn siblings_become_identifiers_but_never_secrets() {
        let yaml = "aws:\n  aws_access_key_id: AKIAQ4ZX7HJ2WQ3RTUVW\n  aws_secret_access_key: s3cr3t\n  region: eu-west-1\n";
        assert_eq!(
            paired("c.yml", yaml, "s3cr3t").0.as_deref(),
            Some("AKIAQ4ZX7HJ2WQ3RTUVW")
        );
        let env =
            "REDIS_HOST=cache\nDB_HOST=db.internal\nDB_USER=app\nDB_PASSWORD=pw1\nAPI_TOKEN=tok\n";
        let (_, ids) = paired(".env", env, "pw1");
        assert_eq!(
            ids.into_iter().collect::<Vec<_>>(),
            [
                ("host".to_string(), "db.internal".to_string()),
                ("username".to_string(), "app".to_string())
            ]
        );
        // A sibling password is a secret, not an identifier; a URL with a password is skipped.
        let json = r#"{"user": "app", "password": "pw1", "admin_password": "pw2", "url": "postgres://app:pw1@db/x"}"#;
        let (_, ids) = paired("c.json", json, "pw2");
        assert_eq!(ids.keys().collect::<Vec<_>>(), ["username"]);
    }
}
