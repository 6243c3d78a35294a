//! What a run says of the inventory: entries that matched nothing (stale), entries it could
//! not judge, undefined owners, offboarded owners who still answer for a credential.

use std::collections::BTreeSet;

use super::Inventory;
use crate::finding::Finding;

/// The inventory-level facts of a run: what the file promised that the scan did not find,
/// and what it got wrong.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct InventoryReport {
    pub path: String,
    pub entries: usize,
    /// Entries that matched no finding: the credential is gone, or the entry is wrong.
    pub stale: Vec<String>,
    /// Entries the scan could not judge: it read part of the project (a folder, a range of
    /// commits, staged changes) and they may name credentials outside it.
    pub not_judged: Vec<String>,
    /// Entries whose owner is not defined under `owners`.
    pub dangling_owners: Vec<String>,
    /// Owners who are not active yet answer for credentials still present.
    pub offboarded_with_live_credentials: Vec<String>,
}

impl InventoryReport {
    pub fn new(inventory: &Inventory, findings: &[Finding]) -> InventoryReport {
        let mut matched: BTreeSet<&str> = BTreeSet::new();
        let mut offboarded: BTreeSet<String> = BTreeSet::new();
        for finding in findings {
            for entry in inventory.matches(finding) {
                matched.insert(&entry.id);
            }
            let live = finding.in_worktree != Some(false);
            if let Some(owner) = &finding.assessment.owner
                && live
                && matches!(owner.status, "offboarded" | "inactive")
            {
                offboarded.insert(owner.id.clone());
            }
        }
        InventoryReport {
            path: inventory.path.clone(),
            entries: inventory.entries.len(),
            stale: inventory
                .entries
                .iter()
                .filter(|e| !matched.contains(e.id.as_str()) && inventory.judged_by_scan(e))
                .map(|e| e.id.clone())
                .collect(),
            not_judged: inventory
                .entries
                .iter()
                .filter(|e| !matched.contains(e.id.as_str()) && !inventory.judged_by_scan(e))
                .map(|e| e.id.clone())
                .collect(),
            dangling_owners: inventory
                .entries
                .iter()
                .filter(|e| {
                    e.owner
                        .as_deref()
                        .is_some_and(|o| inventory.owner(o).is_none())
                })
                .map(|e| e.id.clone())
                .collect(),
            offboarded_with_live_credentials: offboarded.into_iter().collect(),
        }
    }
}
