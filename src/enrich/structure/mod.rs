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
mod index;
mod sniff;
mod tree;
mod values;

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use serde::Serialize;

use crate::engine::filters;
use crate::engine::{Engine, RawMatch, RuleIdx};
use index::Index;
pub use sniff::{basename, detect, scan_by_name};
pub(crate) use tree::{Builder, Malformed, Seg};
pub use values::is_reference;
use values::is_words;

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
                if engine.has_key_paths(m.rule)
                    && let Some(ix) = self.index()
                {
                    return ix
                        .entry_at(&m.secret)
                        .is_some_and(|e| engine.allows_key_path(m.rule, &ix.render(e)));
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
