//! `--validate`: asks each credential's provider whether it still authenticates, and who it
//! is, what it may do and when it ends. Runs after deduplication, once per distinct
//! credential (never per place), before the inventory's verdicts, so that a provider's
//! expiry feeds `expired` and `long-lived` and `live` joins the statuses.
//!
//! Nothing here runs without `--validate` (or `sprawl validate`): the HTTP client is made in
//! [`validate_all`] and [`validate_one`] only, so a scan without the flag opens no connection.

mod cache;
mod check;
pub mod http;
mod sign;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::rules::NamedCheck;

pub use check::Identifiers;

/// What the provider said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It authenticates.
    Live,
    /// The provider says it does not authenticate (bad, revoked or expired).
    Revoked,
    /// No answer that says either: network error, timeout, rate limit, 5xx, odd answer.
    Unknown,
    /// No check for this rule.
    Unsupported,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Live => "live",
            Outcome::Revoked => "revoked",
            Outcome::Unknown => "unknown",
            Outcome::Unsupported => "unsupported",
        }
    }
}

/// One credential's validation. Holds nothing secret: identity is what the provider calls the
/// credential's owner (a login, an ARN, a team), never a token it returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    pub result: Outcome,
    /// When the provider was asked (seconds since the epoch, the real clock).
    pub checked_at: i64,
    #[serde(default)]
    pub identity: BTreeMap<String, String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The expiry the provider reports.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// When the provider says it was made.
    #[serde(default)]
    pub created_at: Option<i64>,
    #[serde(default)]
    pub error: Option<String>,
    /// The check that asked (`github`), absent for `unsupported`.
    #[serde(default)]
    pub check: Option<String>,
    /// Taken from the results cache rather than asked again.
    #[serde(skip)]
    pub cached: bool,
}

impl Validation {
    fn new(result: Outcome, checked_at: i64) -> Validation {
        Validation {
            result,
            checked_at,
            identity: BTreeMap::new(),
            scopes: Vec::new(),
            expires_at: None,
            created_at: None,
            error: None,
            check: None,
            cached: false,
        }
    }

    fn unknown(checked_at: i64, error: String) -> Validation {
        Validation {
            error: Some(error),
            ..Validation::new(Outcome::Unknown, checked_at)
        }
    }

    pub fn unsupported(checked_at: i64) -> Validation {
        Validation::new(Outcome::Unsupported, checked_at)
    }

    /// Removes the secret from every text the answer gave (a provider that echoes it).
    fn scrub(&mut self, secret: &[u8]) {
        let Ok(secret) = std::str::from_utf8(secret) else {
            return;
        };
        if secret.len() < 4 {
            return;
        }
        let clean = |text: &mut String| {
            if text.contains(secret) {
                *text = text.replace(secret, "[secret]");
            }
        };
        self.identity.values_mut().for_each(clean);
        self.scopes.iter_mut().for_each(clean);
        if let Some(error) = &mut self.error {
            clean(error);
        }
    }
}

/// What a check sends: the secret and what was found beside it.
pub struct Credential<'a> {
    pub secret: &'a [u8],
    pub key_id: Option<&'a str>,
    pub identifiers: &'a Identifiers,
}

/// How validation runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--validate-endpoint NAME=URL`: a new base for the checks of endpoint NAME.
    pub endpoints: BTreeMap<String, String>,
    /// Each request's bound (connect, send, answer).
    pub timeout: Duration,
    /// All requests together.
    pub budget: Duration,
    /// The folder of the results cache; `None`: neither read nor written.
    pub cache: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            endpoints: BTreeMap::new(),
            timeout: Duration::from_secs(10),
            budget: Duration::from_secs(300),
            cache: None,
        }
    }
}

/// Parses `NAME=URL` (`github=https://ghe.acme.io/api/v3`).
pub fn parse_endpoint(text: &str) -> Result<(String, String), String> {
    let Some((name, url)) = text.split_once('=') else {
        return Err(format!(
            "'{text}' is not NAME=URL (like github=https://ghe.acme.io/api/v3)"
        ));
    };
    let name = name.trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!(
            "'{name}' is not an endpoint name (like github, gitlab, vault)"
        ));
    }
    crate::rules::check::base_is_safe(url.trim())?;
    Ok((
        name.to_string(),
        url.trim().trim_end_matches('/').to_string(),
    ))
}

/// Counts for the summary line.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Counts {
    pub live: u64,
    pub revoked: u64,
    pub unknown: u64,
    pub unsupported: u64,
    /// Results taken from the cache.
    pub cached: u64,
}

/// Checks every finding whose rule has a check, at most once per distinct credential, and
/// puts the result on the finding; a provider's expiry and creation date join its lifecycle.
pub fn validate_all(findings: &mut [Finding], settings: &Settings) -> Counts {
    let now = unix_now();
    let mut cache = settings.cache.as_deref().map(cache::Cache::open);
    let mut results: Vec<Option<Validation>> = vec![None; findings.len()];
    let mut jobs = Vec::new();
    for (index, finding) in findings.iter().enumerate() {
        let Some(named) = finding.rule.check.as_deref() else {
            results[index] = Some(Validation::unsupported(now));
            continue;
        };
        let base = settings.endpoints.get(named.endpoint()).map(String::as_str);
        let key = cache::key(named, base, finding);
        if let Some(hit) = cache.as_ref().and_then(|c| c.get(&key, now)) {
            results[index] = Some(hit);
            continue;
        }
        jobs.push((index, named, base, key));
    }
    // Interleave the endpoints, so one slow provider does not hold every worker.
    jobs.sort_by_key(|(index, named, ..)| (named.endpoint().to_string(), *index));
    let mut turn: HashMap<String, usize> = HashMap::new();
    let mut ordered: Vec<(usize, _)> = jobs
        .into_iter()
        .map(|job| {
            let n = turn.entry(job.1.endpoint().to_string()).or_default();
            *n += 1;
            (*n, job)
        })
        .collect();
    ordered.sort_by_key(|(n, job)| (*n, job.0));
    let jobs: Vec<_> = ordered.into_iter().map(|(_, job)| job).collect();

    if !jobs.is_empty() {
        let client = http::Client::new(settings.timeout, settings.budget);
        let next = AtomicUsize::new(0);
        let done = Mutex::new(Vec::new());
        let workers = jobs.len().min(8);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((index, named, base, _)) = jobs.get(i) else {
                            break;
                        };
                        let finding = &findings[*index];
                        let credential = Credential {
                            secret: finding.secret.expose(),
                            key_id: finding.key_id.as_deref(),
                            identifiers: &finding.identifiers,
                        };
                        let mut v = check::run(named, &credential, *base, &client, now);
                        v.check = Some(named.name.clone());
                        done.lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((i, v));
                    }
                });
            }
        });
        let done = done
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (i, v) in done {
            let (index, _, _, key) = &jobs[i];
            if let Some(cache) = cache.as_mut() {
                cache.put(key, &v, now);
            }
            results[*index] = Some(v);
        }
    }
    if let Some(cache) = &cache {
        // A cache that cannot be written costs the next run time, not this run its report.
        let _ = cache.save();
    }

    let mut counts = Counts::default();
    for (finding, v) in findings.iter_mut().zip(results) {
        let Some(v) = v else { continue };
        match v.result {
            Outcome::Live => counts.live += 1,
            Outcome::Revoked => counts.revoked += 1,
            Outcome::Unknown => counts.unknown += 1,
            Outcome::Unsupported => counts.unsupported += 1,
        }
        counts.cached += u64::from(v.cached);
        apply(finding, v);
    }
    counts
}

/// The provider's dates join what the credential says of its own life.
fn apply(finding: &mut Finding, v: Validation) {
    let life = &mut finding.lifecycle;
    if v.result == Outcome::Live {
        // Clamped again: a cached result is read from a file anyone could have edited.
        let clamp = crate::lifecycle::clamp_time;
        if let Some(expires) = v.expires_at.map(clamp) {
            life.expires_at = Some(life.expires_at.map_or(expires, |own| own.min(expires)));
            life.expiry_from_provider = life.expires_at == Some(expires);
        }
        if life.issued_at.is_none() {
            life.issued_at = v.created_at.map(clamp);
        }
    }
    finding.validation = Some(v);
}

/// `sprawl validate`: one secret, checked now (no cache: this is how a rotation is confirmed).
pub fn validate_one(
    named: &NamedCheck,
    credential: &Credential<'_>,
    settings: &Settings,
) -> Validation {
    let client = http::Client::new(settings.timeout, settings.budget);
    let base = settings.endpoints.get(named.endpoint()).map(String::as_str);
    let mut v = check::run(named, credential, base, &client, unix_now());
    v.check = Some(named.name.clone());
    v
}

fn unix_now() -> i64 {
    crate::plan::unix_now()
}

#[cfg(test)]
mod tests;
