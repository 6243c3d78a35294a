//! `sprawl inventory init`: a starter inventory with one entry per credential found, for
//! people to fill in. Re-running appends entries for new credentials only and leaves every
//! existing line (their owners, comments, order) as it was.

use std::path::Path;

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::Inventory;
use crate::dates;
use crate::finding::Finding;

/// Where CODEOWNERS may live, in the order GitHub looks.
const CODEOWNERS_PATHS: [&str; 3] = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];

/// A CODEOWNERS file: gitignore-like patterns, the last matching line wins.
pub struct Codeowners {
    /// Each pattern's matcher, its owners, and its line number in the file.
    lines: Vec<(Gitignore, Vec<String>, usize)>,
}

impl Codeowners {
    /// The first CODEOWNERS file found under `root`, if any (an unreadable one is no hint).
    pub fn find(root: &Path) -> Option<Codeowners> {
        let text = CODEOWNERS_PATHS
            .iter()
            .find_map(|p| std::fs::read_to_string(root.join(p)).ok())?;
        Some(Codeowners::parse(root, &text))
    }

    pub fn parse(root: &Path, text: &str) -> Codeowners {
        let mut lines = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            // GitLab sections (`[Docs]`) carry no pattern.
            if line.is_empty() || line.starts_with('#') || line.starts_with('[') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let Some(pattern) = parts.next() else {
                continue;
            };
            let owners: Vec<String> = parts
                .take_while(|p| !p.starts_with('#'))
                .map(str::to_string)
                .collect();
            let mut builder = GitignoreBuilder::new(root);
            if builder.add_line(None, pattern).is_err() {
                continue;
            }
            if let Ok(matcher) = builder.build() {
                lines.push((matcher, owners, number + 1));
            }
        }
        Codeowners { lines }
    }

    /// The owners of a path relative to the root (none when the last match lists none).
    pub fn owners_of(&self, path: &str) -> Option<&[String]> {
        self.covering(path).map(|(_, owners)| owners)
    }

    /// The line that decides a path's owners, and those owners (none when it lists none).
    pub fn covering(&self, path: &str) -> Option<(usize, &[String])> {
        self.lines
            .iter()
            .rev()
            .find(|(m, ..)| m.matched_path_or_any_parents(path, false).is_ignore())
            .map(|(_, owners, line)| (*line, owners.as_slice()))
            .filter(|(_, o)| !o.is_empty())
    }
}

/// The suggestion written beside `owner: null`: the strongest owner hint (CODEOWNERS, the
/// provider's identity, a neighbour's owner, the author who introduced it) and its source.
pub fn suggest_owner(finding: &Finding) -> Option<String> {
    let hint = finding.assessment.owner_hints.first()?;
    Some(format!("{} ({})", hint.value, hint.source.label()))
}

/// The identity a provider reported for a live credential, by the field that best names
/// a person or an account: `login deploy-bot`, `arn arn:aws:iam::…:user/ci`.
pub fn provider_identity(finding: &Finding) -> Option<String> {
    let v = finding.validation.as_ref()?;
    if v.result != crate::validate::Outcome::Live {
        return None;
    }
    [
        "email", "login", "user", "username", "name", "arn", "team", "account",
    ]
    .iter()
    .find_map(|field| Some(format!("{field} {}", v.identity.get(*field)?)))
}

/// A new inventory file holding one entry per finding.
pub fn new_inventory(findings: &[Finding], suggest: impl Fn(&Finding) -> Option<String>) -> String {
    let mut out = String::from(
        "# sprawl ownership inventory: who answers for each credential of this repository.\n\
         # It holds no secret: credentials are named by a non-secret key id or by the SHA-256\n\
         # of the secret (sprawl scan --format json prints both). Define owners, set each\n\
         # entry's owner, purpose and dates, then commit it. `sprawl inventory init` again\n\
         # adds entries for new credentials and keeps your edits.\n\
         version: 1\n\
         defaults:\n  max_age_days: 90\n\
         owners:\n\
         # - {id: payments, contact: payments@example.com, status: active}\n\
         #   status: active | offboarded | inactive\n\
         credentials:\n",
    );
    let mut taken = Taken::default();
    for finding in findings {
        out.push_str(&entry_text(finding, "  ", &mut taken, &suggest));
    }
    out
}

/// Entry ids and selectors already written: one entry per key id (an AWS key id names both
/// the id finding and its secret key; two entries would make both ambiguous).
#[derive(Default)]
struct Taken {
    ids: Vec<String>,
    selectors: std::collections::HashSet<String>,
}

/// Appends entries for the findings no entry of `existing` names, keeping its text intact.
/// Returns the new text and how many entries were added.
pub fn merge(
    text: &str,
    existing: &Inventory,
    findings: &[Finding],
    suggest: impl Fn(&Finding) -> Option<String>,
) -> (String, usize) {
    let new: Vec<&Finding> = findings
        .iter()
        .filter(|f| existing.matches(f).is_empty())
        .collect();
    if new.is_empty() {
        return (text.to_string(), 0);
    }
    let mut taken = Taken {
        ids: existing.entries.iter().map(|e| e.id.clone()).collect(),
        ..Taken::default()
    };
    let lines: Vec<&str> = text.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.trim_end().starts_with("credentials:"));
    let Some(header) = header else {
        // No credentials key yet: add one at the end.
        let mut out = text.trim_end_matches('\n').to_string();
        out.push_str("\ncredentials:\n");
        for f in &new {
            out.push_str(&entry_text(f, "  ", &mut taken, &suggest));
        }
        return (out, new.len());
    };
    // The block ends at the next line that starts a top-level key.
    let end = lines[header + 1..]
        .iter()
        .position(|l| {
            let first = l.chars().next();
            first.is_some_and(|c| !c.is_whitespace() && c != '#' && c != '-')
        })
        .map_or(lines.len(), |i| header + 1 + i);
    let indent = lines[header + 1..end]
        .iter()
        .find(|l| l.trim_start().starts_with("- "))
        .map_or("  ".to_string(), |l| {
            l[..l.len() - l.trim_start().len()].to_string()
        });
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i == header && line.trim_end() != "credentials:" {
            // `credentials: []`: the list is about to hold entries.
            out.push_str("credentials:\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
        if i + 1 == end {
            for f in &new {
                out.push_str(&entry_text(f, &indent, &mut taken, &suggest));
            }
        }
    }
    (out, new.len())
}

fn entry_text(
    finding: &Finding,
    indent: &str,
    taken: &mut Taken,
    suggest: &impl Fn(&Finding) -> Option<String>,
) -> String {
    let fp = finding.fingerprint.to_string();
    let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let key_id = finding.key_id.as_ref();
    let selector = match key_id {
        Some(k) => format!("{{key_id: {}}}", q(k)),
        None => format!("{{fingerprint: {}}}", q(&fp)),
    };
    if !taken.selectors.insert(selector.clone()) {
        return String::new();
    }
    let short = fp.get(7..13).unwrap_or("");
    let mut id = format!("{}-{short}", finding.rule.id);
    let mut n = 2;
    while taken.ids.contains(&id) {
        id = format!("{}-{short}-{n}", finding.rule.id);
        n += 1;
    }
    taken.ids.push(id.clone());
    let mut out = String::new();
    if let Some(at) = finding.locations.first() {
        let mut seen = format!("{} at {}:{}", finding.rule.name, at.path, at.line);
        if let Some(first) = &finding.first_seen {
            let short_commit = first.commit.get(..10).unwrap_or(&first.commit);
            seen.push_str(&format!(
                " (first seen {} in {short_commit})",
                &first.date[..10.min(first.date.len())]
            ));
        }
        out.push_str(&format!("{indent}# {}\n", one_line(&seen)));
    }
    out.push_str(&format!("{indent}- id: {}\n", q(&id)));
    let pad = format!("{indent}  ");
    match suggest(finding) {
        Some(who) => out.push_str(&format!(
            "{pad}owner: null  # suggested: {}\n",
            one_line(&who)
        )),
        None => out.push_str(&format!("{pad}owner: null\n")),
    }
    out.push_str(&format!("{pad}purpose: null\n"));
    out.push_str(&format!("{pad}match: {selector}\n"));
    if let Some(first) = &finding.first_seen {
        out.push_str(&format!("{pad}created: {}\n", dates::date_utc(first.time)));
    } else if let Some(issued) = finding.lifecycle.issued_at {
        out.push_str(&format!("{pad}created: {}\n", dates::date_utc(issued)));
    }
    out
}

/// Comments hold one line: paths and names with newlines must not break the YAML.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
