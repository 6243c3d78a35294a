//! `--format html`: one page that works offline and alone — a summary (statuses, owners,
//! providers, the inventory's problems), then every credential grouped by owner with the
//! orphaned first, each with its statuses, reasons, owner hints, places and a timeline of
//! its life against policy. Filters and sorting are a small inline script; a Content
//! Security Policy lets only that script run and nothing load.
//!
//! Every text from the scan (paths, key paths, rule names and descriptions, identities) is
//! escaped here, once, by [`esc`]: a file named `<img src=x onerror=...>.env` is text.
//! Secrets are never in it: the HTML report is redacted only (`--show-secrets` is refused).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Write};

use base64::Engine as _;
use sha2::Digest as _;

use super::{Options, Reporter};
use crate::dates::{self, DAY};
use crate::finding::{Finding, Status};
use crate::run::Run;

const CSS: &str = include_str!("html/report.css");
const SCRIPT: &str = include_str!("html/report.js");

/// `--format html`.
pub struct Html(pub Options);

impl Reporter for Html {
    fn write(&self, run: &Run, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(page(run).as_bytes())
    }
}

/// Text made safe for HTML text and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The one script the page may run, by its hash.
fn script_hash() -> String {
    let digest = sha2::Sha256::digest(SCRIPT.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest)
}

fn page(run: &Run) -> String {
    let mut html = String::new();
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{}'; img-src data:; base-uri 'none'; form-action 'none'",
        script_hash()
    );
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>sprawl report</title><style>{CSS}</style></head><body>\n"
    );
    header(&mut html, run);
    html.push_str("<main>\n");
    summary(&mut html, run);
    credentials(&mut html, run);
    html.push_str("</main>\n");
    let _ = write!(
        html,
        "<footer>sprawl {} · secrets are redacted in this report · judged at {}</footer>\n\
         <script>{SCRIPT}</script>\n</body></html>\n",
        env!("CARGO_PKG_VERSION"),
        dates::rfc3339_utc(run.now)
    );
    html
}

fn header(html: &mut String, run: &Run) {
    let s = &run.summary;
    let history = s.history.as_ref().map_or(String::new(), |h| {
        format!(" and {} blobs of {} commits", h.blobs_scanned, h.commits)
    });
    let _ = writeln!(
        html,
        "<header><h1>Credentials found: {}</h1><p class=\"meta\">{} places in {} files{history}, \
         scanned in {:.2} s, judged at {}.</p></header>",
        s.findings,
        s.locations,
        s.files_scanned,
        s.duration_ms as f64 / 1000.0,
        esc(&dates::rfc3339_utc(run.now))
    );
}

const STATUSES: [Status; 6] = [
    Status::Live,
    Status::Orphaned,
    Status::Expired,
    Status::LongLived,
    Status::AmbiguousOwner,
    Status::Owned,
];

fn summary(html: &mut String, run: &Run) {
    html.push_str("<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">");
    for status in STATUSES {
        let n = run.summary.statuses.get(&status).copied().unwrap_or(0);
        if status == Status::Live && run.summary.validation.is_none() {
            continue;
        }
        let _ = write!(
            html,
            "<div class=\"card {s}\" data-status=\"{s}\"><span class=\"n\">{n}</span>{s}</div>",
            s = status.as_str()
        );
    }
    html.push_str("</div><div class=\"columns\">");

    // By owner: who answers for how many, and how many of theirs are in trouble.
    let mut owners: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut providers: BTreeMap<(String, String), u64> = BTreeMap::new();
    for f in &run.findings {
        let entry = owners.entry(owner_label(f)).or_default();
        entry.0 += 1;
        if f.assessment.statuses.iter().any(|s| *s != Status::Owned) {
            entry.1 += 1;
        }
        *providers
            .entry((f.rule.provider.clone(), f.rule.kind.as_str().to_string()))
            .or_default() += 1;
    }
    html.push_str("<div><h3>By owner</h3><table id=\"by-owner\"><thead><tr><th>owner</th><th>credentials</th><th>needing action</th></tr></thead><tbody>");
    for (owner, (n, trouble)) in &owners {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{n}</td><td>{trouble}</td></tr>",
            esc(owner)
        );
    }
    html.push_str("</tbody></table></div>");
    html.push_str("<div><h3>By provider and kind</h3><table id=\"by-provider\"><thead><tr><th>provider</th><th>kind</th><th>credentials</th></tr></thead><tbody>");
    for ((provider, kind), n) in &providers {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{n}</td></tr>",
            esc(provider),
            esc(kind)
        );
    }
    html.push_str("</tbody></table></div>");
    inventory_problems(html, run);
    html.push_str("</div></section>\n");
}

fn inventory_problems(html: &mut String, run: &Run) {
    html.push_str("<div id=\"inventory\"><h3>Inventory</h3>");
    let Some(inv) = &run.inventory else {
        html.push_str(
            "<p>No ownership inventory: every credential is orphaned. \
             <code>sprawl inventory init</code> writes one with owner suggestions.</p></div>",
        );
        return;
    };
    let _ = write!(
        html,
        "<p><code>{}</code>: {} entries.</p><ul>",
        esc(&inv.path),
        inv.entries
    );
    let lists: [(&str, &Vec<String>); 3] = [
        ("stale entries (they match no credential)", &inv.stale),
        (
            "entries whose owner is not defined under owners",
            &inv.dangling_owners,
        ),
        (
            "offboarded or inactive owners who still answer for credentials",
            &inv.offboarded_with_live_credentials,
        ),
    ];
    for (what, items) in lists {
        let shown = if items.is_empty() {
            "none".to_string()
        } else {
            items.iter().map(|i| esc(i)).collect::<Vec<_>>().join(", ")
        };
        let _ = write!(html, "<li>{what}: {shown}</li>");
    }
    html.push_str("</ul></div>");
}

/// The owner a finding is grouped under.
fn owner_label(f: &Finding) -> String {
    if f.assessment.statuses.contains(&Status::AmbiguousOwner) {
        return "several owners (ambiguous)".to_string();
    }
    match &f.assessment.owner {
        Some(o) if o.status == "active" => o.id.clone(),
        Some(o) => format!("{} ({})", o.id, o.status),
        None => "no owner".to_string(),
    }
}

/// Groups in the order to act on them: no owner, owners who are gone, then the rest.
fn group_rank(f: &Finding) -> u8 {
    match &f.assessment.owner {
        None if f.assessment.statuses.contains(&Status::AmbiguousOwner) => 1,
        None => 0,
        Some(o) if o.status != "active" => 1,
        Some(_) => 2,
    }
}

fn credentials(html: &mut String, run: &Run) {
    html.push_str("<section id=\"credentials\"><h2>Credentials</h2>");
    filters(html, run);
    if run.findings.is_empty() {
        html.push_str("<p class=\"empty\">No credentials found.</p></section>");
        return;
    }
    let mut groups: BTreeMap<(u8, String), Vec<&Finding>> = BTreeMap::new();
    for f in &run.findings {
        groups
            .entry((group_rank(f), owner_label(f)))
            .or_default()
            .push(f);
    }
    for ((_, owner), mut findings) in groups {
        findings.sort_by_key(|f| f.assessment.statuses.first().copied());
        let _ = write!(
            html,
            "<section class=\"group\" data-owner=\"{o}\"><h3>{o} · {n}</h3>\
             <table class=\"creds\"><thead><tr>\
             <th data-sort=\"name\">credential</th><th data-sort=\"provider\">provider</th>\
             <th>statuses</th><th data-sort=\"age\" data-type=\"number\">life against policy</th>\
             <th data-sort=\"expires\" data-type=\"number\">expires</th>\
             <th data-sort=\"places\" data-type=\"number\">places</th></tr></thead><tbody>",
            o = esc(&owner),
            n = findings.len()
        );
        for f in findings {
            row(html, f, &owner, run.now);
        }
        html.push_str("</tbody></table></section>\n");
    }
    html.push_str("</section>\n");
}

fn filters(html: &mut String, run: &Run) {
    let statuses: BTreeSet<Status> = run
        .findings
        .iter()
        .flat_map(|f| f.assessment.statuses.iter().copied())
        .collect();
    let owners: BTreeSet<String> = run.findings.iter().map(owner_label).collect();
    let providers: BTreeSet<&str> = run
        .findings
        .iter()
        .map(|f| f.rule.provider.as_str())
        .collect();
    html.push_str("<div class=\"filters\">");
    let select = |html: &mut String, id: &str, label: &str, values: Vec<String>| {
        let _ = write!(
            html,
            "<label>{label}<select id=\"{id}\"><option value=\"\">all</option>"
        );
        for v in values {
            let _ = write!(html, "<option value=\"{v}\">{v}</option>", v = esc(&v));
        }
        html.push_str("</select></label>");
    };
    select(
        html,
        "f-status",
        "status",
        statuses.iter().map(|s| s.as_str().to_string()).collect(),
    );
    select(html, "f-owner", "owner", owners.into_iter().collect());
    select(
        html,
        "f-provider",
        "provider",
        providers.into_iter().map(str::to_string).collect(),
    );
    html.push_str(
        "<label>path<input id=\"f-path\" type=\"search\" placeholder=\"part of a path\"></label>\
         <span id=\"shown\"></span></div>",
    );
}

fn row(html: &mut String, f: &Finding, owner: &str, now: i64) {
    let a = &f.assessment;
    let statuses: Vec<&str> = a.statuses.iter().map(|s| s.as_str()).collect();
    let paths: BTreeSet<&str> = f.locations.iter().map(|l| l.path.as_str()).collect();
    let paths: Vec<&str> = paths.into_iter().collect();
    let expires_key = a.expires_at.map_or(i64::MAX, |e| e).to_string();
    let _ = write!(
        html,
        "<tr class=\"cred\" data-statuses=\"{}\" data-owner=\"{}\" data-provider=\"{}\" \
         data-paths=\"{}\" data-name=\"{}\" data-age=\"{}\" data-expires=\"{expires_key}\" \
         data-places=\"{}\">",
        esc(&statuses.join(" ")),
        esc(owner),
        esc(&f.rule.provider),
        esc(&paths.join("\n")),
        esc(&f.rule.name),
        f.age_days.unwrap_or(-1),
        f.locations.len()
    );
    // The credential, and what there is to know about it, folded under its name.
    let _ = write!(
        html,
        "<td><details><summary><strong>{}</strong> <code>{}</code></summary><div>",
        esc(&f.rule.name),
        esc(&f.redacted)
    );
    let _ = write!(
        html,
        "<div class=\"muted\">rule <code>{}</code> · {} · fingerprint <code>{}</code>",
        esc(&f.rule.id),
        esc(f.rule.kind.as_str()),
        esc(&f.fingerprint.to_string()[..19])
    );
    if let Some(key_id) = &f.key_id {
        let _ = write!(html, " · key id <code>{}</code>", esc(key_id));
    }
    html.push_str("</div>");
    if !a.reasons.is_empty() {
        html.push_str("<ul class=\"reasons\">");
        for r in &a.reasons {
            let _ = write!(html, "<li>{}</li>", esc(r));
        }
        html.push_str("</ul>");
    }
    if !a.owner_hints.is_empty() {
        html.push_str("<div>Who probably owns it:</div><ul class=\"hints\">");
        for h in &a.owner_hints {
            let _ = write!(
                html,
                "<li><strong>{}</strong> <span class=\"muted\">({}: {})</span></li>",
                esc(&h.value),
                esc(h.source.label()),
                esc(&h.detail)
            );
        }
        html.push_str("</ul>");
    }
    html.push_str("<div>Where it is:</div><ul class=\"places\">");
    for l in &f.locations {
        let _ = write!(html, "<li><code>{}:{}</code>", esc(&l.path), l.line);
        if let Some(key_path) = &l.key_path {
            let _ = write!(
                html,
                " <span class=\"muted\">at</span> <code>{}</code>",
                esc(key_path)
            );
        }
        if let Some(commit) = &l.commit {
            let short = commit.get(..12).unwrap_or(commit);
            let day = l.date.as_deref().map_or("", |d| d.get(..10).unwrap_or(d));
            let _ = write!(
                html,
                " <span class=\"muted\">commit {} {}</span>",
                esc(short),
                esc(day)
            );
        }
        html.push_str("</li>");
    }
    html.push_str("</ul>");
    if !f.rule.description.is_empty() {
        let _ = write!(html, "<p class=\"muted\">{}</p>", esc(&f.rule.description));
    }
    html.push_str("</div></details></td>");
    let _ = write!(html, "<td>{}</td><td>", esc(&f.rule.provider));
    for s in &statuses {
        let _ = write!(html, "<span class=\"badge {s}\">{s}</span>");
    }
    html.push_str("</td><td>");
    timeline(html, f, now);
    let expires = a.expires_at.map_or("never".to_string(), dates::date_utc);
    let _ = write!(
        html,
        "</td><td>{}</td><td>{}</td></tr>",
        esc(&expires),
        f.locations.len()
    );
}

/// First seen → now → expiry, against the longest life policy allows, as positioned bars:
/// blue while within policy, red past it, hatched for the life still ahead.
fn timeline(html: &mut String, f: &Finding, now: i64) {
    let a = &f.assessment;
    let start = f
        .first_seen
        .as_ref()
        .map(|s| s.time)
        .or(f.lifecycle.not_before)
        .or(f.lifecycle.issued_at)
        .or_else(|| f.age_days.map(|d| now - d * DAY));
    let max_age = i64::from(a.max_age_days) * DAY;
    let Some(start) = start.filter(|s| *s <= now) else {
        let expiry = a.expires_at.map_or("no expiry".to_string(), |e| {
            format!("expires {}", dates::date_utc(e))
        });
        let _ = write!(
            html,
            "<div class=\"tl-legend\">age unknown · {} · max {} d</div>",
            esc(&expiry),
            a.max_age_days
        );
        return;
    };
    let limit = start.saturating_add(max_age);
    let end_of_life = a.expires_at.unwrap_or(i64::MIN);
    let mut last = now.max(limit).max(end_of_life);
    // Room after the last mark, so "never expires" reads as an open end.
    last = last.saturating_add(((last - start) / 10).max(DAY));
    let span = (last - start).max(1) as f64;
    let pct = |t: i64| ((t.clamp(start, last) - start) as f64 / span * 100.0).clamp(0.0, 100.0);
    html.push_str("<div class=\"timeline\" aria-hidden=\"true\">");
    let within = now.min(limit);
    let _ = write!(
        html,
        "<div class=\"seg lived\" style=\"left:0%;width:{:.2}%\"></div>",
        pct(within)
    );
    if now > limit {
        let _ = write!(
            html,
            "<div class=\"seg over\" style=\"left:{:.2}%;width:{:.2}%\"></div>",
            pct(limit),
            pct(now) - pct(limit)
        );
    }
    let ahead_end = a.expires_at.map_or(last, |e| e.max(now));
    let _ = write!(
        html,
        "<div class=\"seg ahead\" style=\"left:{:.2}%;width:{:.2}%\"></div>",
        pct(now),
        pct(ahead_end) - pct(now)
    );
    let _ = write!(
        html,
        "<span class=\"mark limit\" style=\"left:{:.2}%\" title=\"policy limit\"></span>\
         <span class=\"mark now\" style=\"left:{:.2}%\" title=\"now\"></span>",
        pct(limit),
        pct(now)
    );
    if let Some(e) = a.expires_at {
        let _ = write!(
            html,
            "<span class=\"mark expiry\" style=\"left:{:.2}%\" title=\"expiry\"></span>",
            pct(e)
        );
    }
    html.push_str("</div>");
    let expiry = a.expires_at.map_or("never expires".to_string(), |e| {
        format!("expires {}", dates::date_utc(e))
    });
    let _ = write!(
        html,
        "<div class=\"tl-legend\" title=\"since {}\">{} d old · {} · max {} d{}</div>",
        dates::date_utc(start),
        (now - start) / DAY,
        esc(&expiry),
        a.max_age_days,
        if now > limit { " · past policy" } else { "" }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_never_markup() {
        assert_eq!(
            esc("<img src=x onerror=alert(1)>.env"),
            "&lt;img src=x onerror=alert(1)&gt;.env"
        );
        assert_eq!(esc("</script>\"'&"), "&lt;/script&gt;&quot;&#39;&amp;");
        assert_eq!(esc("a\u{1b}[31m"), "a\u{fffd}[31m");
    }

    #[test]
    fn the_policy_allows_only_the_page_script() {
        let html = page(&Run::default());
        assert!(html.contains(&format!("script-src 'sha256-{}'", script_hash())));
        assert!(html.contains("default-src 'none'"));
        assert!(!html.contains("http://") && !html.contains("https://"));
    }
}
