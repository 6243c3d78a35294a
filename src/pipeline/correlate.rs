//! The correlate stage, after every source is read: what can only be said of a finding
//! once the whole run is known, in one fixed order. [`correlate`]: findings from history are
//! dated (first and last seen, from the commits that introduced them; a range's findings from
//! the whole history), places in the inventory's own file are dropped (it names key ids),
//! private keys are paired with the certificates that certify them. [`judge`]: each finding
//! is judged once against the inventory, and the run's counts are made. Whatever else must
//! know every finding before the verdicts (asking providers whether a credential is live)
//! goes between the two.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{Map, Value};

use crate::dates;
use crate::engine::Engine;
use crate::finding::{Finding, FindingSet, Seen, SourceKind, Suppressed};
use crate::inventory::{self, InventoryReport};
use crate::plan::Plan;
use crate::run::{Explained, Run, Summary};
use crate::sources::git::{self, CommitInfo};
use crate::sources::history::GitHistory;
use crate::sources::{Root, WalkOptions};
use crate::suppress::{self, BaselineReport};

/// What the workers left: the findings that count, what was set aside, the totals.
pub struct Found {
    pub findings: FindingSet,
    pub suppressed: Vec<Suppressed>,
    pub summary: Summary,
    pub explained: Vec<Explained>,
}

/// What correlating leaves: findings placed, dated and paired, ready to be judged.
pub struct Correlated {
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Suppressed>,
    pub summary: Summary,
    pub explained: Vec<Explained>,
}

/// Dates the findings from history, drops the inventory's own file and pairs keys with
/// certificates: every fact about a finding that needs the whole run, before any verdict.
pub fn correlate(
    found: Found,
    histories: &[&GitHistory],
    plan: &Plan,
    options: &WalkOptions,
) -> Correlated {
    let Found {
        findings: mut found,
        summary,
        suppressed,
        explained,
    } = found;
    if !histories.is_empty() {
        date_findings(&mut found, histories, plan.now);
        for history in histories.iter().filter(|h| h.range) {
            date_from_full_history(&mut found, history, options);
        }
    }
    let mut findings = found.into_sorted();
    if let Some(inv) = &plan.inventory {
        drop_inventory_file(&mut findings, inv, &plan.targets.roots);
    }
    pair_keys_with_certificates(&mut findings);
    Correlated {
        findings,
        suppressed: suppress::merge(suppressed),
        summary,
        explained,
    }
}

/// Judges each finding once against the inventory and the policy, and makes the run's
/// counts and the inventory's and baseline's reports.
pub fn judge(correlated: Correlated, plan: &Plan, engine: &Engine) -> Run {
    let Correlated {
        mut findings,
        mut suppressed,
        mut summary,
        explained,
    } = correlated;
    let policy = plan.policy();
    let inventory = plan.inventory.as_ref();
    for finding in &mut findings {
        inventory::assess(finding, inventory, policy);
    }
    inventory::reuse::mark(&mut findings, &plan.settings.environments.value);
    let (project, paths) = plan.project();
    let codeowners = inventory::init::Codeowners::find(&project);
    let evidence = inventory::hints::Evidence {
        codeowners: codeowners.as_ref(),
        paths: Some(&paths),
    };
    inventory::hints::add_owner_hints(&mut findings, &evidence);
    let mut distinct = BTreeSet::new();
    for s in &mut suppressed {
        inventory::assess(&mut s.finding, inventory, policy);
        // A credential suppressed at two places (or for two reasons) counts once per kind.
        if distinct.insert((s.kind, s.finding.fingerprint)) {
            *summary.suppressed.entry(s.kind).or_default() += 1;
        }
    }
    let inventory = inventory.map(|inv| InventoryReport::new(inv, &findings));
    let baseline = plan
        .baseline
        .as_ref()
        .map(|b| BaselineReport::new(b, &findings, &suppressed));
    for status in findings.iter().flat_map(|f| &f.assessment.statuses) {
        *summary.statuses.entry(*status).or_default() += 1;
    }
    summary.findings = findings.len() as u64;
    summary.locations = findings.iter().map(|f| f.locations.len() as u64).sum();
    summary.rules = engine.rule_count() as u64;
    summary.problems.sort();
    Run {
        findings,
        suppressed,
        summary,
        inventory,
        baseline,
        explained,
        now: plan.now,
        scan: None,
    }
}

fn seen(c: &CommitInfo) -> Seen {
    Seen {
        commit: c.id.clone(),
        date: dates::rfc3339_utc(c.time),
        author: c.author.clone(),
        time: c.time,
    }
}

/// Fills first_seen, last_seen, in_worktree and age_days from the commits of each finding's
/// git locations. first_seen is the earliest (by committer date) of the commits that
/// introduced the secret, not merely a blob holding it; last_seen the newest commit that
/// wrote a blob holding it.
fn date_findings(findings: &mut FindingSet, histories: &[&GitHistory], now: i64) {
    // commit id -> (repository, index in its topological order)
    let mut where_is: HashMap<&str, (usize, usize)> = HashMap::new();
    for (r, repo) in histories.iter().enumerate() {
        for (i, c) in repo.history.commits.iter().enumerate() {
            where_is.insert(c.id.as_str(), (r, i));
        }
    }
    for finding in findings.iter_mut() {
        let mut per_repo: HashMap<usize, Vec<usize>> = HashMap::new();
        for id in finding.locations.iter().filter_map(|l| l.commit.as_deref()) {
            if let Some(&(r, i)) = where_is.get(id) {
                per_repo.entry(r).or_default().push(i);
            }
        }
        // Commits of the same second are told apart by repository and topological order, so
        // the answer does not depend on the order in which the workers met the locations.
        type Ranked<'c> = ((i64, usize, usize), &'c CommitInfo);
        let (mut first, mut last): (Option<Ranked<'_>>, Option<Ranked<'_>>) = (None, None);
        for (&r, origins) in &per_repo {
            let history = &histories[r].history;
            let ranked = |i: usize| {
                let c = &history.commits[i];
                ((c.time, r, i), c)
            };
            for candidate in git::introducers(&history.commits, origins)
                .into_iter()
                .map(ranked)
            {
                if first.is_none_or(|(key, _)| candidate.0 < key) {
                    first = Some(candidate);
                }
            }
            for candidate in origins.iter().map(|&i| ranked(i)) {
                if last.is_none_or(|(key, _)| candidate.0 > key) {
                    last = Some(candidate);
                }
            }
        }
        let (first, last) = (first.map(|(_, c)| c), last.map(|(_, c)| c));
        finding.first_seen = first.map(seen);
        finding.last_seen = last.map(seen);
        finding.age_days = first.map(|c| (now - c.time).max(0) / 86_400);
        if finding
            .locations
            .iter()
            .any(|l| l.source == SourceKind::File)
        {
            finding.in_worktree = Some(true);
        } else if finding.in_worktree.is_none() {
            finding.in_worktree = Some(false);
        }
    }
}

/// A range scan sees only the range's commits, but a secret it reports may be older: copied
/// from a file committed years ago. Its first_seen then comes from the repository's whole
/// history (as far as the clone has it): every blob is searched for the secrets found, and
/// the earliest commit that introduced one holding it wins. This runs only when a range
/// scan found something, so a clean pull request costs nothing more.
fn date_from_full_history(found: &mut FindingSet, repo: &GitHistory, options: &WalkOptions) {
    let ids: HashSet<&str> = repo.history.commits.iter().map(|c| c.id.as_str()).collect();
    let mut dated: Vec<&mut Finding> = found
        .iter_mut()
        .filter(|f| {
            f.locations
                .iter()
                .any(|l| l.commit.as_deref().is_some_and(|c| ids.contains(c)))
        })
        .collect();
    if dated.is_empty() {
        return;
    }
    let Ok(handle) = git2::Repository::open(&repo.git_dir) else {
        return;
    };
    let shown = repo.git_dir.display().to_string();
    let Ok(full) = git::read_history(&handle, &repo.scope, &shown) else {
        return;
    };
    let secrets: Vec<Vec<u8>> = dated.iter().map(|f| f.secret.expose().to_vec()).collect();
    let needles: Vec<&[u8]> = secrets.iter().map(Vec::as_slice).collect();
    let commits = git::commits_containing(
        &repo.git_dir,
        &full,
        &needles,
        options.threads,
        options.max_file_size,
    );
    for (finding, origins) in dated.iter_mut().zip(commits) {
        let earliest = git::introducers(&full.commits, &origins)
            .into_iter()
            .map(|c| &full.commits[c])
            .min_by_key(|c| c.time);
        if let Some(c) = earliest
            && finding.first_seen.as_ref().is_none_or(|f| c.time < f.time)
        {
            finding.first_seen = Some(seen(c));
        }
    }
}

/// The inventory names credentials by key id (an AWS key id is a finding of its own): its
/// own file is not a place where credentials leak.
pub fn drop_inventory_file(
    findings: &mut Vec<Finding>,
    inventory: &inventory::Inventory,
    roots: &[Root],
) {
    let Ok(file) = std::fs::canonicalize(&inventory.path) else {
        return;
    };
    let shown: Vec<String> = roots
        .iter()
        .filter_map(|root| {
            let base = std::fs::canonicalize(&root.path).ok()?;
            let rel = file.strip_prefix(&base).ok()?;
            Some(root.display_relative(&rel.to_string_lossy().replace('\\', "/")))
        })
        .collect();
    if shown.is_empty() {
        return;
    }
    for finding in findings.iter_mut() {
        finding.locations.retain(|l| !shown.contains(&l.path));
    }
    findings.retain(|f| !f.locations.is_empty());
}

/// The folder part of a location path (`/` or `\` separated; "" at the root).
fn folder(path: &str) -> &str {
    path.rfind(['/', '\\']).map_or("", |i| &path[..i])
}

/// Pairs private keys with the certificates that certify them: same public key, found in
/// the same file or the same folder. The key gains the certificate's thumbprint (so an
/// inventory entry for the certificate owns its key too) and its validity in `facts`.
fn pair_keys_with_certificates(findings: &mut [Finding]) {
    // Certificates by public key: one pass, then one lookup per key.
    let mut certificates: HashMap<&[u8], Vec<usize>> = HashMap::new();
    for (i, finding) in findings.iter().enumerate() {
        if let (Some(pk), true) = (
            finding.lifecycle.public_key.as_deref(),
            finding.lifecycle.facts.contains_key("x509"),
        ) {
            certificates.entry(pk).or_default().push(i);
        }
    }
    if certificates.is_empty() {
        return;
    }

    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (k, key) in findings.iter().enumerate() {
        if !key.lifecycle.facts.contains_key("private_key") {
            continue;
        }
        let Some(candidates) = key
            .lifecycle
            .public_key
            .as_deref()
            .and_then(|pk| certificates.get(pk))
        else {
            continue;
        };
        let files: HashSet<&str> = key.locations.iter().map(|l| l.path.as_str()).collect();
        let folders: HashSet<&str> = key.locations.iter().map(|l| folder(&l.path)).collect();
        // Same file beats same folder; among equals the certificate valid longest (the
        // renewed one), then the lowest thumbprint, so the choice does not depend on order.
        let best = candidates
            .iter()
            .filter_map(|&c| {
                let cert = &findings[c];
                let nearness = cert
                    .locations
                    .iter()
                    .map(|l| {
                        if files.contains(l.path.as_str()) {
                            2
                        } else if folders.contains(folder(&l.path)) {
                            1
                        } else {
                            0
                        }
                    })
                    .max()
                    .unwrap_or(0);
                (nearness > 0).then_some((nearness, cert.lifecycle.expires_at, c))
            })
            .max_by(|a, b| {
                (a.0, a.1)
                    .cmp(&(b.0, b.1))
                    .then_with(|| thumbprint(&findings[b.2]).cmp(thumbprint(&findings[a.2])))
            });
        if let Some((_, _, c)) = best {
            pairs.push((k, c));
        }
    }

    for (k, c) in pairs {
        let x509 = findings[c].lifecycle.facts.get("x509");
        let field = |name: &str| x509.and_then(|x| x.get(name)).cloned();
        let mut certificate = Map::new();
        for name in ["sha256", "subject", "not_after"] {
            if let Some(value) = field(name) {
                certificate.insert(name.to_string(), value);
            }
        }
        let sha256 = thumbprint(&findings[c]).to_string();
        let (not_before, expires_at) = (
            findings[c].lifecycle.not_before,
            findings[c].lifecycle.expires_at,
        );
        let life = &mut findings[k].lifecycle;
        if let Some(Value::Object(pk)) = life.facts.get_mut("private_key") {
            pk.insert("certificate".to_string(), Value::Object(certificate));
        }
        life.push_match_id(sha256);
        if life.expires_at.is_none() && expires_at.is_some() {
            life.not_before = not_before;
            life.expires_at = expires_at;
            life.dated_by_certificate = true;
        }
    }
}

/// A certificate finding's SHA-256 thumbprint (its lifecycle key id).
fn thumbprint(finding: &Finding) -> &str {
    finding.lifecycle.key_id.as_deref().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::engine::RuleInfo;
    use crate::lifecycle::{inspect, test_support};
    use crate::rules::Kind;

    fn finding(kind: Kind, path: &str, secret: &str) -> Finding {
        let rule = Arc::new(RuleInfo {
            id: format!("test-{}", kind.as_str()),
            name: "test".to_string(),
            provider: "test".to_string(),
            kind,
            generic: false,
            standing: crate::engine::Standing::Specific,
            weak_values: false,
            order: 0,
            description: String::new(),
            check: None,
        });
        let mut finding = Finding::for_test(rule, secret.as_bytes(), path);
        finding.lifecycle = inspect("test", secret.as_bytes(), None, &BTreeMap::new());
        finding
    }

    fn paired_certificate(key: &Finding) -> Option<&Value> {
        key.lifecycle.facts.get("private_key")?.get("certificate")
    }

    #[test]
    fn pairs_a_key_with_its_certificate_in_the_same_file() {
        let (cert, key) = test_support::ec_certificate_and_key(1_700_000_000, 90 * 86_400);
        let (other_cert, _) = test_support::ec_certificate_and_key(1_700_000_000, 86_400);
        let mut findings = vec![
            finding(Kind::PrivateKey, "deploy/tls/server.pem", &key),
            finding(Kind::Certificate, "deploy/tls/server.pem", &cert),
            finding(Kind::Certificate, "deploy/tls/server.pem", &other_cert),
        ];
        let thumb = findings[1].lifecycle.key_id.clone().unwrap();
        assert_eq!(findings[0].lifecycle.expires_at, None);
        let expires = findings[1].lifecycle.expires_at;
        pair_keys_with_certificates(&mut findings);
        let key = &findings[0];
        assert!(key.lifecycle.match_ids.contains(&thumb));
        assert_eq!(key.lifecycle.match_ids.len(), 1);
        let paired = paired_certificate(key).unwrap();
        assert_eq!(paired["sha256"], thumb.as_str());
        assert_eq!(paired["not_after"], "2024-02-12T22:13:20Z");
        assert_eq!(paired["subject"], "CN=sprawl test leaf");
        // The key's dates are its certificate's: it proves nothing once that expires.
        assert_eq!(key.lifecycle.expires_at, expires);
        assert!(key.lifecycle.dated_by_certificate);
        // Certificates gain nothing.
        assert!(findings[1].lifecycle.match_ids.len() == 1);
    }

    #[test]
    fn pairs_within_a_folder_and_prefers_the_same_file() {
        let (cert, key) = test_support::ec_certificate_and_key(1_700_000_000, 90 * 86_400);
        let (renewed, _) = test_support::certificate_for(&key, 1_710_000_000, 90 * 86_400);
        let mut findings = vec![
            finding(Kind::Certificate, "certs/server.crt", &cert),
            finding(Kind::PrivateKey, "certs/server.key", &key),
        ];
        let thumb = findings[0].lifecycle.key_id.clone().unwrap();
        pair_keys_with_certificates(&mut findings);
        assert_eq!(findings[1].lifecycle.match_ids, vec![thumb.clone()]);

        // A certificate in the key's own file wins over a later one next to it.
        let mut findings = vec![
            finding(Kind::Certificate, "certs/renewed.crt", &renewed),
            finding(Kind::PrivateKey, "certs/bundle.pem", &key),
            finding(Kind::Certificate, "certs/bundle.pem", &cert),
        ];
        pair_keys_with_certificates(&mut findings);
        assert_eq!(findings[1].lifecycle.match_ids, vec![thumb]);

        // Two in the same folder: the one valid longest.
        let mut findings = vec![
            finding(Kind::Certificate, "certs/a.crt", &cert),
            finding(Kind::Certificate, "certs/b.crt", &renewed),
            finding(Kind::PrivateKey, "certs/server.key", &key),
        ];
        let renewed_thumb = findings[1].lifecycle.key_id.clone().unwrap();
        pair_keys_with_certificates(&mut findings);
        assert_eq!(findings[2].lifecycle.match_ids, vec![renewed_thumb]);
    }

    #[test]
    fn does_not_pair_across_folders_or_keys() {
        let (cert, key) = test_support::ec_certificate_and_key(1_700_000_000, 90 * 86_400);
        let (_, other_key) = test_support::ec_certificate_and_key(1_700_000_000, 86_400);
        let mut findings = vec![
            finding(Kind::Certificate, "a/server.crt", &cert),
            finding(Kind::PrivateKey, "b/server.key", &key),
            finding(Kind::PrivateKey, "a/other.key", &other_key),
        ];
        pair_keys_with_certificates(&mut findings);
        for key in &findings[1..] {
            assert!(key.lifecycle.match_ids.is_empty());
            assert!(paired_certificate(key).is_none());
        }
    }

    #[test]
    fn folders() {
        assert_eq!(folder("a/b/c.pem"), "a/b");
        assert_eq!(folder("c.pem"), "");
        assert_eq!(folder("a\\c.pem"), "a");
    }
}
