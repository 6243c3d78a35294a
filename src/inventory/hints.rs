//! Evidence of who probably owns an orphaned credential: the CODEOWNERS lines that cover its
//! places, the author of the commit that introduced it, the identity its provider reported,
//! and the owners of other credentials in the same folder. Strongest first; `inventory init`
//! writes the first as its suggestion.

use std::collections::BTreeMap;

use serde::Serialize;

use super::init::Codeowners;
use crate::finding::{Finding, Status};
use crate::sources::ProjectPaths;

/// Where a hint comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HintSource {
    /// A CODEOWNERS line covers one of its places: the project says who owns that path.
    Codeowners,
    /// The identity its provider reported (`--validate`): whose account it acts as.
    ProviderIdentity,
    /// An owned credential in the same folder: whoever answers for the neighbour.
    InventoryNeighbour,
    /// The author of the commit that introduced it (history scans).
    CommitAuthor,
}

impl HintSource {
    /// How `inventory init` names the source in its suggestion comment.
    pub fn label(self) -> &'static str {
        match self {
            HintSource::Codeowners => "CODEOWNERS",
            HintSource::ProviderIdentity => "provider identity",
            HintSource::InventoryNeighbour => "owns a credential in the same folder",
            HintSource::CommitAuthor => "introduced it",
        }
    }
}

/// One piece of evidence: who, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerHint {
    pub source: HintSource,
    pub value: String,
    pub detail: String,
}

/// What hints are drawn from besides the findings themselves.
pub struct Evidence<'a> {
    pub codeowners: Option<&'a Codeowners>,
    /// Turns a shown path into one relative to the project root (where CODEOWNERS applies).
    pub paths: Option<&'a ProjectPaths>,
}

/// Fills `owner_hints` on every orphaned finding (strongest first, one per source and value).
pub fn add_owner_hints(findings: &mut [Finding], evidence: &Evidence<'_>) {
    // Owned credentials by folder: (owner, inventory entry, what it is).
    let mut owned: BTreeMap<&str, Vec<(String, String, String)>> = BTreeMap::new();
    let mut hints: Vec<Vec<OwnerHint>> = vec![Vec::new(); findings.len()];
    for f in findings.iter() {
        let Some(owner) = &f.assessment.owner else {
            continue;
        };
        if !f.assessment.statuses.contains(&Status::Owned) {
            continue;
        }
        for l in &f.locations {
            owned.entry(folder(&l.path)).or_default().push((
                owner.id.clone(),
                owner.inventory_id.clone(),
                f.rule.name.clone(),
            ));
        }
    }
    for (f, out) in findings.iter().zip(hints.iter_mut()) {
        if !f.assessment.statuses.contains(&Status::Orphaned) {
            continue;
        }
        if let Some(codeowners) = evidence.codeowners {
            for l in &f.locations {
                let path = match evidence.paths {
                    Some(paths) => paths.project_path(&l.path),
                    None => Some(l.path.clone()),
                };
                let Some(path) = path else { continue };
                if let Some((line, owners)) = codeowners.covering(&path) {
                    push(
                        out,
                        HintSource::Codeowners,
                        owners.join(" "),
                        format!("CODEOWNERS line {line} covers {path}"),
                    );
                }
            }
        }
        if let Some(who) = super::init::provider_identity(f) {
            let check = f
                .validation
                .as_ref()
                .and_then(|v| v.check.as_deref())
                .unwrap_or("provider");
            push(
                out,
                HintSource::ProviderIdentity,
                who,
                format!("the {check} check reported it live as this identity"),
            );
        }
        for l in &f.locations {
            let here = folder(&l.path);
            for (owner, entry, what) in owned.get(here).into_iter().flatten() {
                let shown = if here.is_empty() { "." } else { here };
                push(
                    out,
                    HintSource::InventoryNeighbour,
                    owner.clone(),
                    format!("owns {what} (inventory entry {entry}) in {shown}/"),
                );
            }
        }
        if let Some(seen) = &f.first_seen {
            let short = seen.commit.get(..12).unwrap_or(&seen.commit);
            let day = seen.date.get(..10).unwrap_or(&seen.date);
            push(
                out,
                HintSource::CommitAuthor,
                seen.author.clone(),
                format!("introduced it in {short} on {day}"),
            );
        }
        out.sort_by_key(|h| h.source);
    }
    for (f, h) in findings.iter_mut().zip(hints) {
        f.assessment.owner_hints = h;
    }
}

fn push(out: &mut Vec<OwnerHint>, source: HintSource, value: String, detail: String) {
    if value.is_empty() || out.iter().any(|h| h.source == source && h.value == value) {
        return;
    }
    out.push(OwnerHint {
        source,
        value,
        detail,
    });
}

/// `deploy/app.env` → `deploy`; a top-level file → ``.
fn folder(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}
