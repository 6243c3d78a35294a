//! Validation results kept between runs, so a re-scan does not ask every provider again.
//! Keyed by a salted SHA-256 of the check, its base and the credential: the file holds
//! neither the secret nor the report's fingerprint. A live result is kept 6 hours (it may
//! be revoked any moment), a revoked one 7 days (it does not come back); unknown never.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::{Outcome, Validation};
use crate::finding::Finding;
use crate::rules::NamedCheck;

const FILE_NAME: &str = "validation-v1.json";
const LIVE_TTL: i64 = 6 * 3600;
const REVOKED_TTL: i64 = 7 * 86_400;
/// Entries kept at most (oldest dropped): bounds the file at a few MiB.
const MAX_ENTRIES: usize = 20_000;

#[derive(Default, Serialize, Deserialize)]
struct File {
    entries: BTreeMap<String, Entry>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Entry {
    stored_at: i64,
    validation: Validation,
}

pub struct Cache {
    path: PathBuf,
    file: File,
    changed: bool,
}

/// The cache key of a credential under a check and base.
pub fn key(named: &NamedCheck, base: Option<&str>, finding: &Finding) -> String {
    let mut hash = sha2::Sha256::new();
    hash.update(b"sprawl validation cache v1\0");
    hash.update(named.name.as_bytes());
    hash.update(b"\0");
    hash.update(base.unwrap_or(&named.spec.base).as_bytes());
    hash.update(b"\0");
    hash.update(finding.key_id.as_deref().unwrap_or_default().as_bytes());
    hash.update(b"\0");
    hash.update(finding.secret.expose());
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Cache {
    /// Reads the cache; a missing, unreadable or foreign file is an empty cache.
    pub fn open(folder: &Path) -> Cache {
        let path = folder.join(FILE_NAME);
        let file = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Cache {
            path,
            file,
            changed: false,
        }
    }

    pub fn get(&self, key: &str, now: i64) -> Option<Validation> {
        let entry = self.file.entries.get(key)?;
        let ttl = match entry.validation.result {
            Outcome::Live => LIVE_TTL,
            Outcome::Revoked => REVOKED_TTL,
            Outcome::Unknown | Outcome::Unsupported => return None,
        };
        if now < entry.stored_at || now.saturating_sub(entry.stored_at) > ttl {
            return None;
        }
        let mut v = entry.validation.clone();
        v.cached = true;
        Some(v)
    }

    pub fn put(&mut self, key: &str, v: &Validation, now: i64) {
        if matches!(v.result, Outcome::Live | Outcome::Revoked) {
            self.file.entries.insert(
                key.to_string(),
                Entry {
                    stored_at: now,
                    validation: v.clone(),
                },
            );
            self.changed = true;
        }
    }

    /// Writes the cache (to a temporary file renamed over the old one, so two runs at once
    /// each leave a whole file), without entries past their life.
    pub fn save(&self) -> std::io::Result<()> {
        if !self.changed {
            return Ok(());
        }
        let now = crate::plan::unix_now();
        let mut entries: Vec<(&String, &Entry)> = self
            .file
            .entries
            .iter()
            .filter(|(_, e)| now.saturating_sub(e.stored_at) <= REVOKED_TTL)
            .collect();
        entries.sort_by_key(|(_, e)| std::cmp::Reverse(e.stored_at));
        entries.truncate(MAX_ENTRIES);
        let kept = File {
            entries: entries
                .into_iter()
                .map(|(k, e)| (k.clone(), e.clone()))
                .collect(),
        };
        if let Some(folder) = self.path.parent() {
            std::fs::create_dir_all(folder)?;
        }
        let temp = self
            .path
            .with_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(&temp, serde_json::to_vec(&kept)?)?;
        std::fs::rename(&temp, &self.path)
    }
}
