//! The human report: one block per credential with every place it was seen, then a summary.

use std::io::{self, Write};

use super::{Options, Reporter, plural};
use crate::dates;
use crate::finding::{Finding, Location, SourceKind, Status, SuppressionKind};
use crate::inventory::InventoryReport;
use crate::run::{Run, Summary};

/// ANSI styling, or none when the output is not a terminal.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// `--format text`: one block per credential, grouped by its most pressing status, then
/// what was suppressed (when asked), the problems, the inventory's and baseline's lines, and
/// the summary line.
pub struct Text(pub Options);

impl Reporter for Text {
    fn write(&self, run: &Run, out: &mut dyn Write) -> io::Result<()> {
        write_text(out, run, self.0)
    }
}

fn write_text(out: &mut dyn Write, run: &Run, options: Options) -> io::Result<()> {
    let style = Style {
        color: options.color,
    };
    let (findings, summary) = (&run.findings, &run.summary);
    let show_secrets = options.show_secrets;
    let suppressed = options.listed_suppressed(run);
    // Grouped by the most pressing status: orphaned first, owned last.
    let primary = |f: &Finding| f.assessment.statuses.first().copied();
    let mut order: Vec<&Finding> = findings.iter().collect();
    order.sort_by_key(|f| primary(f));
    let mut current = None;
    for finding in order {
        if primary(finding) != current {
            current = primary(finding);
            let count = findings.iter().filter(|f| primary(f) == current).count();
            let title = current.map_or("findings", Status::as_str);
            writeln!(
                out,
                "{}",
                style.paint("1", &format!("── {title} ({count}) ──"))
            )?;
            writeln!(out)?;
        }
        write_finding(out, finding, style, show_secrets)?;
    }
    if !suppressed.is_empty() {
        let title = format!("── suppressed ({}) ──", suppressed.len());
        writeln!(out, "{}", style.paint("1", &title))?;
        writeln!(out)?;
        for s in suppressed {
            writeln!(
                out,
                "  {}",
                style.paint("2", &format!("suppressed: {}", s.reason))
            )?;
            write_finding(out, &s.finding, style, show_secrets)?;
        }
    }
    for problem in &summary.problems {
        writeln!(
            out,
            "{}",
            style.paint(
                "2",
                &format!(
                    "skipped {}: {}",
                    printable(&problem.path),
                    printable(&problem.problem)
                )
            )
        )?;
    }
    if let Some(inventory) = &run.inventory {
        writeln!(out, "{}", inventory_line(inventory))?;
    }
    if let Some(b) = &run.baseline {
        let mut line = format!(
            "baseline {}: {} new, {} known, {} fixed",
            printable(&b.path),
            b.new,
            b.known,
            b.fixed.len()
        );
        if b.not_judged > 0 {
            line.push_str(&format!(
                " · {} not judged (the scan read part of the project)",
                if b.not_judged == 1 {
                    "1 entry".to_string()
                } else {
                    format!("{} entries", b.not_judged)
                }
            ));
        }
        for fixed in &b.fixed {
            let at = fixed.locations.first().map_or(String::new(), |l| {
                format!(" at {}:{}", printable(&l.path), l.line)
            });
            line.push_str(&format!("\n  fixed: {} {}{at}", fixed.rule, fixed.redacted));
        }
        writeln!(out, "{line}")?;
    }
    if let Some(note) = dropped_note(summary) {
        writeln!(out, "{}", style.paint("2", &note))?;
    }
    writeln!(out, "{}", summary_line(summary))
}

/// A hand-typed token with a wrong checksum finds nothing: say so, where the user looks.
fn dropped_note(s: &Summary) -> Option<String> {
    let n: u64 = s.dropped.values().sum();
    (n > 0).then(|| {
        format!(
            "note: {} dropped by checksum or placeholder checks; `sprawl explain PATH` shows {}",
            if n == 1 {
                "1 look-alike of a credential was".to_string()
            } else {
                format!("{n} look-alikes of credentials were")
            },
            if n == 1 { "it" } else { "them" }
        )
    })
}

/// `inventory sprawl-inventory.yaml: 6 entries · stale: a, b · undefined owners: c`
fn inventory_line(inventory: &InventoryReport) -> String {
    let mut line = format!(
        "inventory {}: {}",
        printable(&inventory.path),
        plural(inventory.entries as u64, "entry", "entries")
    );
    if !inventory.stale.is_empty() {
        line.push_str(&format!(" · stale: {}", inventory.stale.join(", ")));
    }
    if !inventory.not_judged.is_empty() {
        line.push_str(&format!(
            " · {} not judged (the scan read part of the project)",
            plural(inventory.not_judged.len() as u64, "entry", "entries")
        ));
    }
    if !inventory.dangling_owners.is_empty() {
        line.push_str(&format!(
            " · undefined owners: {}",
            inventory.dangling_owners.join(", ")
        ));
    }
    if !inventory.offboarded_with_live_credentials.is_empty() {
        line.push_str(&format!(
            " · offboarded owners with live credentials: {}",
            inventory.offboarded_with_live_credentials.join(", ")
        ));
    }
    line
}

/// A file name or key as the terminal should see it: control characters (a newline in a
/// file name, an escape sequence a hostile repository planted) are written escaped, so
/// each place stays on one line and nothing reaches the terminal as a command.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

fn write_finding(
    out: &mut dyn Write,
    finding: &Finding,
    style: Style,
    show_secrets: bool,
) -> io::Result<()> {
    let rule = &finding.rule;
    writeln!(
        out,
        "{}  {}  {}",
        style.paint("1;31", &rule.name),
        style.paint("2", &format!("[{}]", rule.id)),
        style.paint("33", &format!("{} · {}", rule.kind, rule.provider)),
    )?;
    let fp = finding.fingerprint.to_string();
    let shown = if show_secrets {
        String::from_utf8_lossy(finding.secret.expose()).into_owned()
    } else {
        finding.redacted.clone()
    };
    let mut facts = format!("  {}  {}", shown, style.paint("2", &fp[..19.min(fp.len())]));
    if let Some(key_id) = &finding.key_id {
        facts.push_str(&format!("  key_id {key_id}"));
    }
    for (name, value) in &finding.identifiers {
        facts.push_str(&format!("  {name} {value}"));
    }
    writeln!(out, "{facts}")?;
    let a = &finding.assessment;
    let statuses: Vec<&str> = a.statuses.iter().map(|s| s.as_str()).collect();
    let mut verdict = format!("  {}", style.paint("1;35", &statuses.join(" · ")));
    match &a.owner {
        Some(owner) if owner.status == "active" => {
            verdict.push_str(&format!("  owner {} ({})", owner.id, owner.inventory_id));
        }
        Some(owner) => {
            verdict.push_str(&format!("  owner {} is {}", owner.id, owner.status));
        }
        None => {}
    }
    if let Some(expires) = a.expires_at {
        verdict.push_str(&format!("  expires {}", dates::date_utc(expires)));
    }
    if let Some(age) = finding.age_days {
        verdict.push_str(&format!("  age {age} d"));
    }
    writeln!(out, "{verdict}")?;
    for reason in &a.reasons {
        writeln!(out, "    {}", style.paint("2", reason))?;
    }
    for hint in &a.owner_hints {
        let line = format!(
            "owner hint: {} ({})",
            printable(&hint.value),
            printable(&hint.detail)
        );
        writeln!(out, "    {}", style.paint("36", &line))?;
    }
    if let Some(v) = &finding.validation {
        write_validation(out, v, style)?;
    }
    let weak = crate::lifecycle::weak::reasons_of(&finding.lifecycle);
    if !weak.is_empty() {
        let line = format!("weak password: {}", weak.join(", "));
        writeln!(out, "    {}", style.paint("33", &line))?;
    }
    write_history(out, finding, style)?;
    write_places(out, finding, style)?;
    writeln!(out)
}

/// What the provider said: `provider: revoked (HTTP 401)`, or its identity and scopes.
fn write_validation(
    out: &mut dyn Write,
    v: &crate::validate::Validation,
    style: Style,
) -> io::Result<()> {
    use crate::validate::Outcome;
    let mut line = format!("provider: {}", v.result.as_str());
    if v.result == Outcome::Unsupported {
        line.push_str(" (no check for this rule)");
    }
    if let Some(error) = &v.error {
        line.push_str(&format!(" ({})", printable(error)));
    }
    if !v.scopes.is_empty() {
        line.push_str(&format!(" · scopes {}", printable(&v.scopes.join(", "))));
    }
    if let Some(expires) = v.expires_at {
        line.push_str(&format!(" · expires {}", dates::date_utc(expires)));
    }
    if v.cached {
        line.push_str(" · cached");
    }
    let color = match v.result {
        Outcome::Live => "1;31",
        Outcome::Revoked => "32",
        Outcome::Unknown | Outcome::Unsupported => "2",
    };
    writeln!(out, "    {}", style.paint(color, &line))
}

/// For a credential found in history: who introduced it and when, and whether it is gone.
fn write_history(out: &mut dyn Write, finding: &Finding, style: Style) -> io::Result<()> {
    if let Some(seen) = &finding.first_seen {
        let line = format!(
            "introduced in {} by {} on {}",
            short_commit(&seen.commit),
            printable(&seen.author),
            day(&seen.date)
        );
        writeln!(out, "  {}", style.paint("2", &line))?;
    }
    if finding.in_worktree == Some(false)
        && let Some(last) = &finding.last_seen
    {
        let line = format!(
            "no longer in the work tree; last written in {} on {} (still in history)",
            short_commit(&last.commit),
            day(&last.date)
        );
        writeln!(out, "  {}", style.paint("2", &line))?;
    }
    Ok(())
}

/// Most commits listed for one place; the rest are counted.
const COMMITS_PER_PLACE: usize = 3;

/// Each place once (file, line, column, key path), and, when the credential was also seen
/// in history, where it lives there: the work tree, staged, or the commits (oldest first)
/// that wrote it at that place.
fn write_places(out: &mut dyn Write, finding: &Finding, style: Style) -> io::Result<()> {
    let with_history = finding
        .locations
        .iter()
        .any(|l| l.source != SourceKind::File);
    let mut places: Vec<(&Location, Vec<&Location>)> = Vec::new();
    for location in &finding.locations {
        let same = |(p, _): &&mut (&Location, Vec<&Location>)| {
            (&p.path, p.line, p.column, &p.key_path, &p.decoded)
                == (
                    &location.path,
                    location.line,
                    location.column,
                    &location.key_path,
                    &location.decoded,
                )
        };
        match places.iter_mut().find(same) {
            Some((_, seen_at)) => seen_at.push(location),
            None => places.push((location, vec![location])),
        }
    }
    for (place, seen_at) in places {
        let mut at = format!("{}:{}:{}", printable(&place.path), place.line, place.column);
        if let Some(key_path) = &place.key_path {
            at.push_str(&format!("  {}", printable(key_path)));
        }
        let mut line = format!("  {}", style.paint("36", &at));
        if !place.decoded.is_empty() {
            let layers = format!("(decoded: {})", place.decoded.join(" > "));
            line.push_str(&format!("  {}", style.paint("2", &layers)));
        }
        if with_history {
            line.push_str(&format!(
                "  {}",
                style.paint("2", &where_it_lives(&seen_at))
            ));
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// `work tree · 3f2a1bc 2024-02-01 · 9e8d7c6 2024-05-01 · +4 more commits`
fn where_it_lives(seen_at: &[&Location]) -> String {
    let mut parts: Vec<String> = Vec::new();
    if seen_at.iter().any(|l| l.source == SourceKind::File) {
        parts.push("work tree".into());
    }
    if seen_at.iter().any(|l| l.source == SourceKind::Staged) {
        parts.push("staged".into());
    }
    let mut commits: Vec<(&str, &str)> = seen_at
        .iter()
        .filter_map(|l| Some((l.date.as_deref().unwrap_or(""), l.commit.as_deref()?)))
        .collect();
    commits.sort();
    commits.dedup();
    for (date, commit) in commits.iter().take(COMMITS_PER_PLACE) {
        parts.push(format!("{} {}", short_commit(commit), day(date)));
    }
    if commits.len() > COMMITS_PER_PLACE {
        parts.push(format!(
            "+{} more",
            plural(
                (commits.len() - COMMITS_PER_PLACE) as u64,
                "commit",
                "commits"
            )
        ));
    }
    parts.join(" · ")
}

/// The 7-character short form of a commit id, as `git log --oneline` shows it.
fn short_commit(id: &str) -> &str {
    id.get(..7).unwrap_or(id)
}

/// `2024-02-01` of an RFC 3339 date.
fn day(date: &str) -> &str {
    date.get(..10).unwrap_or(date)
}

/// `3 credentials in 5 places · 1,234 files (12.3 MB) scanned in 0.42 s · 2 skipped (...)`
pub fn summary_line(s: &Summary) -> String {
    // History blobs are counted apart from files: a range scan reads no file at all.
    let history = s.history.as_ref().map_or(String::new(), |h| {
        format!(
            " + {} of {} ({})",
            plural(h.blobs_scanned, "blob", "blobs"),
            plural(h.commits, "commit", "commits"),
            human_bytes(h.blob_bytes_scanned)
        )
    });
    let partial = match &s.history {
        Some(h) if h.partial => {
            " · history partial: a shallow clone, so first-seen dates are lower bounds"
        }
        _ => "",
    };
    let mut line = format!(
        "sprawl: {} in {} · {} ({}){history} scanned in {:.2} s{partial}",
        plural(s.findings, "credential", "credentials"),
        plural(s.locations, "place", "places"),
        plural(s.files_scanned, "file", "files"),
        human_bytes(s.bytes_scanned),
        s.duration_ms as f64 / 1000.0,
    );
    if s.archives.opened > 0 {
        line.push_str(&format!(
            " · {} opened ({} scanned)",
            plural(s.archives.opened, "archive", "archives"),
            plural(s.archives.entries, "entry", "entries")
        ));
    }
    if s.configs.malformed_as_text > 0 {
        line.push_str(&format!(
            " · {} scanned as text",
            plural(
                s.configs.malformed_as_text,
                "malformed config file",
                "malformed config files"
            )
        ));
    }
    if let Some(v) = &s.validation {
        let cached = match v.cached {
            0 => String::new(),
            n => format!(", {n} from cache"),
        };
        line.push_str(&format!(
            " · validated: {} live, {} revoked, {} unknown, {} without a check{cached}",
            v.live, v.revoked, v.unknown, v.unsupported
        ));
    }
    if !s.statuses.is_empty() {
        let counts: Vec<String> = s
            .statuses
            .iter()
            .map(|(status, n)| format!("{n} {status}"))
            .collect();
        line.push_str(&format!(" · {}", counts.join(", ")));
    }
    let suppressed: u64 = s.suppressed.values().sum();
    if suppressed > 0 {
        let parts: Vec<String> = s
            .suppressed
            .iter()
            .map(|(kind, n)| format!("{n} {}", kind_name(*kind)))
            .collect();
        line.push_str(&format!(
            " · {suppressed} suppressed ({})",
            parts.join(", ")
        ));
    }
    if s.files_skipped > 0 {
        let k = &s.skipped;
        let parts: Vec<String> = [
            (k.too_large, "too large"),
            (k.binary, "binary"),
            (k.unreadable, "unreadable"),
            (k.broken_link, "broken link"),
            (k.archive_limit, "archive limit"),
            (k.not_a_file, "not a regular file"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        line.push_str(&format!(
            " · {} skipped ({})",
            s.files_skipped,
            parts.join(", ")
        ));
    }
    line
}

fn kind_name(kind: SuppressionKind) -> &'static str {
    match kind {
        SuppressionKind::Inline => "inline",
        SuppressionKind::Config => "allow list",
        SuppressionKind::Baseline => "baseline",
        SuppressionKind::TestData => "test data",
        SuppressionKind::LocalDefault => "local default",
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_reads_naturally() {
        let mut s = Summary {
            findings: 1,
            locations: 3,
            files_scanned: 12,
            bytes_scanned: 12_300_000,
            duration_ms: 420,
            ..Summary::default()
        };
        s.files_skipped = 2;
        s.skipped.binary = 2;
        assert_eq!(
            summary_line(&s),
            "sprawl: 1 credential in 3 places · 12 files (12.3 MB) scanned in 0.42 s · 2 skipped (2 binary)"
        );
    }
}
