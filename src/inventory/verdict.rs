//! A finding's statuses against the inventory and the policy: owned or orphaned (and why),
//! ambiguous, expired, long-lived, with the reasons as sentences and the age.

use super::{Entry, Inventory, OwnerStatus};
use crate::dates::{self, DAY};
use crate::finding::{Assessment, Finding, OwnerRef, Status};

/// What the statuses are decided against: the time and the fallback policy.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub now: i64,
    /// `--max-age-days`, used when neither the entry nor the inventory's defaults set one.
    pub max_age_days: u32,
}

/// Decides a finding's statuses from its own facts, its history and the inventory, and
/// fills `age_days` (from the newest of first-seen, issue, creation and rotation dates).
pub fn assess(finding: &mut Finding, inventory: Option<&Inventory>, policy: Policy) {
    let mut a = Assessment::default();
    let now = policy.now;
    let matched = inventory
        .map(|inv| inv.matches(finding))
        .unwrap_or_default();
    let entry = match matched.as_slice() {
        [] => {
            a.statuses.push(Status::Orphaned);
            a.reasons.push(match inventory {
                Some(_) => "no inventory entry names it".into(),
                None => "no ownership inventory (see sprawl inventory init)".into(),
            });
            None
        }
        [entry] => {
            a.matched_by = Some(entry.selector.name());
            if let Some(inv) = inventory {
                owner_status(&mut a, inv, entry);
            }
            Some(*entry)
        }
        several => {
            a.statuses.push(Status::AmbiguousOwner);
            let ids: Vec<&str> = several.iter().map(|e| e.id.as_str()).collect();
            a.reasons.push(format!(
                "{} inventory entries name it by {}: {}",
                several.len(),
                several[0].selector.name(),
                ids.join(", ")
            ));
            None
        }
    };
    a.max_age_days = inventory.map_or(policy.max_age_days, |inv| {
        inv.max_age_days(entry, policy.max_age_days)
    });
    lifetime_status(&mut a, finding, entry, now);
    if let Some(v) = &finding.validation
        && v.result == crate::validate::Outcome::Live
    {
        a.statuses.push(Status::Live);
        let who = v
            .identity
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        a.reasons.push(match who.is_empty() {
            true => "its provider accepts it".to_string(),
            false => format!("its provider accepts it ({who})"),
        });
    }

    let renewed = entry.and_then(Entry::renewed);
    let since = [
        finding.first_seen.as_ref().map(|s| s.time),
        renewed,
        finding.lifecycle.issued_at,
    ]
    .into_iter()
    .flatten()
    .max();
    finding.age_days = since.map(|t| (now - t).max(0) / DAY);
    a.statuses.sort();
    a.statuses.dedup();
    finding.assessment = a;
}

fn owner_status(a: &mut Assessment, inv: &Inventory, entry: &Entry) {
    let Some(owner_id) = entry.owner.as_deref() else {
        a.statuses.push(Status::Orphaned);
        a.reasons
            .push(format!("inventory entry '{}' names no owner", entry.id));
        return;
    };
    let owner = inv.owner(owner_id);
    a.owner = Some(OwnerRef {
        id: owner_id.to_string(),
        inventory_id: entry.id.clone(),
        contact: owner.and_then(|o| o.contact.clone()),
        status: owner.map_or("undefined", |o| o.status.as_str()),
    });
    match owner {
        None => {
            a.statuses.push(Status::Orphaned);
            a.reasons.push(format!(
                "owner '{owner_id}' of entry '{}' is not defined under owners",
                entry.id
            ));
        }
        Some(o) if o.status != OwnerStatus::Active => {
            a.statuses.push(Status::Orphaned);
            a.reasons
                .push(format!("owner '{owner_id}' is {}", o.status.as_str()));
        }
        Some(_) => a.statuses.push(Status::Owned),
    }
}

/// Expired, long-lived, or neither, with the reason.
fn lifetime_status(a: &mut Assessment, finding: &Finding, entry: Option<&Entry>, now: i64) {
    let life = &finding.lifecycle;
    let max_age = i64::from(a.max_age_days) * DAY;
    let max_text = a.max_age_days;
    let intrinsic = life.expires_at;
    let listed = entry.and_then(|e| e.expires);
    a.expires_at = match (intrinsic, listed) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    if let Some(expires) = a.expires_at
        && expires < now
    {
        a.statuses.push(Status::Expired);
        let source = match (intrinsic == Some(expires), life.dated_by_certificate) {
            (true, _) if life.expiry_from_provider => "the provider's expiry",
            (true, true) => "its certificate's expiry",
            (true, false) => "its own expiry",
            (false, _) => "the inventory's expiry",
        };
        a.reasons.push(format!(
            "expired {} ago on {} ({source})",
            fmt_days((now - expires) / DAY),
            dates::date_utc(expires)
        ));
        return;
    }
    if let Some(bound) = &life.type_lifetime {
        // Temporary by nature: it dies on its own, whatever the text says.
        if bound.seconds <= max_age {
            return;
        }
    }
    // A stated validity window: the credential's own, else the inventory's.
    let window = life
        .stated_lifetime()
        .map(|w| match life.dated_by_certificate {
            true => (w, "its certificate is valid for"),
            false => (w, "valid for"),
        })
        .or_else(|| {
            let e = entry?;
            Some((e.expires? - e.renewed()?, "the inventory gives it"))
        });
    if let Some((window, what)) = window {
        if window > max_age {
            a.statuses.push(Status::LongLived);
            a.reasons.push(format!(
                "{what} {} (max {max_text})",
                fmt_days(window / DAY)
            ));
        }
        return;
    }
    if let Some(expires) = a.expires_at {
        // An expiry without a start: what is left of its life is a lower bound of it.
        if expires - now > max_age {
            a.statuses.push(Status::LongLived);
            a.reasons.push(format!(
                "expires in {} (max {max_text})",
                fmt_days((expires - now) / DAY)
            ));
        }
        return;
    }
    if let Some(bound) = &life.type_lifetime {
        if bound.seconds > max_age {
            a.statuses.push(Status::LongLived);
            a.reasons.push(format!(
                "{} outlives policy (max {max_text} days)",
                bound.reason
            ));
        }
        return;
    }
    // Nothing bounds its life: only a recent rotation recorded in the inventory excuses it.
    let renewed = entry.and_then(Entry::renewed);
    if let Some(renewed) = renewed
        && now - renewed <= max_age
    {
        return;
    }
    a.statuses.push(Status::LongLived);
    let since = match (renewed, &finding.first_seen) {
        (Some(r), _) => format!("last rotated {} ago", fmt_days((now - r) / DAY)),
        (None, Some(seen)) => format!(
            "first seen {} ago",
            fmt_days((now - seen.time).max(0) / DAY)
        ),
        (None, None) => "no known rotation".into(),
    };
    a.reasons
        .push(format!("no expiry and {since} (max {max_text})"));
}

/// `1 day`, `1,204 days`
pub(super) fn fmt_days(days: i64) -> String {
    let number = fmt_number(days);
    if days.abs() == 1 {
        format!("{number} day")
    } else {
        format!("{number} days")
    }
}

/// `1,204`
fn fmt_number(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}
