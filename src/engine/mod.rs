//! The compiled matcher: bytes in, raw matches out.
//!
//! Two stages, because regexes over whole files are 150–300× slower than a keyword scan
//! (ENGINE-NOTES.md): one prefilter over the keywords of every rule ([`keywords`]) scans the
//! input once; only rules whose keywords hit run their regex, and only on a window around
//! each hit.
//! Everything is compiled once per run and shared read-only across threads; each thread
//! brings its own [`Scratch`].

mod compile;
pub mod examples;
pub mod filters;
mod keywords;

use compile::{CompanionLink, CompiledRule, Matcher, Trigger, compile_rule};
use keywords::{Hit, Keywords};

use std::ops::Range;
use std::sync::Arc;

use regex_automata::meta;
use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input};

use crate::rules::{FormatCheck, Kind, RuleError, RuleSet, invalid};

/// Index of a rule in [`Engine::rules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleIdx(pub u32);

/// What a report needs to know about a rule, shared by every finding of it.
#[derive(Debug)]
pub struct RuleInfo {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub kind: Kind,
    pub generic: bool,
    /// How much the match alone says about the provider, to settle overlaps.
    pub standing: Standing,
    /// A credential-file field rule (`weak_values`): when it and a format rule match the
    /// same value, the format rule names it (an allow comment naming it keeps working).
    pub weak_values: bool,
    /// Load order: when two rules match the same secret, the specific one wins, then the
    /// one loaded first, so the report does not depend on which thread saw what first.
    pub order: u32,
    /// What the credential grants and how to revoke it (SARIF help text).
    pub description: String,
    /// What `--validate` asks the provider, if the rule has a check.
    pub check: Option<Arc<crate::rules::NamedCheck>>,
}

impl RuleInfo {
    /// The facts of `rule`, the `order`-th loaded.
    pub fn of(rule: &crate::rules::Rule, order: u32) -> RuleInfo {
        RuleInfo {
            id: rule.id().to_string(),
            name: rule.name.clone(),
            provider: rule.provider.clone(),
            kind: rule.kind,
            generic: rule.generic,
            standing: if rule.generic {
                Standing::Generic
            } else if rule.broad {
                Standing::Broad
            } else if rule.keyed {
                Standing::Keyed
            } else {
                Standing::Specific
            },
            weak_values: rule.weak_values,
            order,
            description: rule.description.clone().unwrap_or_default(),
            check: rule.resolved_check.clone(),
        }
    }
}

/// What a rule's match says about whose credential it is, strongest first. When two rules
/// match the same bytes the stronger names the finding; a weaker match that overlaps a
/// stronger one gives way (a generic one also to a stronger match its checks rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Standing {
    /// A long-tail entry: the provider's name in the key name, and the value's shape.
    Keyed,
    /// A provider's own format (prefix, checksum, structure).
    Specific,
    /// A format many providers share (a JWT).
    Broad,
    /// Found by a key name only (`password = …`).
    Generic,
}

impl RuleInfo {
    /// True when this rule should name a credential that `other` also matched.
    pub fn outranks(&self, other: &RuleInfo) -> bool {
        (self.standing, self.weak_values, self.order)
            < (other.standing, other.weak_values, other.order)
    }
}

/// One confirmed match of one rule in one input, as byte ranges into that input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMatch {
    pub rule: RuleIdx,
    /// The whole regex match.
    pub span: Range<usize>,
    /// The `secret` group.
    pub secret: Range<usize>,
    /// Non-secret identifiers: named groups other than `secret`, plus companions.
    pub identifiers: Vec<(Arc<str>, Range<usize>)>,
}

/// Why the engine set aside a candidate that its rule's regex matched.
#[derive(Debug, Clone, PartialEq)]
pub enum Dropped {
    /// The `secret` group matched nothing.
    Empty,
    /// Fewer bits per byte than the rule's `min_entropy`.
    Entropy { found: f64, min: f64 },
    /// The rule's format check failed (a checksum, a JWT header, a PEM body).
    FormatCheck(FormatCheck),
    /// A placeholder marker in the secret's own material.
    Placeholder(&'static str),
    /// One of the rule's `allow` patterns matched the secret.
    AllowPattern,
    /// The rule's `allow_before` matched the text before it.
    AllowBefore,
    /// One of the rule's `allow_identifiers` matched what this group captured.
    AllowIdentifier(Arc<str>),
    /// A generic rule's value that is code, a word, an id or a digest (and why).
    NotASecretValue(&'static str),
    /// A generic rule's match on bytes that this specific rule matched or rejected.
    GaveWay(RuleIdx),
    /// Not a finding of its own: the identifier (key id) of this rule's match beside it.
    PairedWith(RuleIdx),
}

/// Every [`Dropped::family`], in a fixed order (the history cache stores counts by it).
pub const DROP_FAMILIES: [&str; 6] = [
    "placeholder",
    "entropy",
    "format_check",
    "allow_pattern",
    "not_a_secret_value",
    "overlap",
];

impl Dropped {
    /// Its family in the run's counts of look-alikes (`summary.dropped`).
    pub fn family(&self) -> &'static str {
        match self {
            Dropped::Empty | Dropped::Placeholder(_) => "placeholder",
            Dropped::Entropy { .. } => "entropy",
            Dropped::FormatCheck(_) => "format_check",
            Dropped::AllowPattern | Dropped::AllowBefore | Dropped::AllowIdentifier(_) => {
                "allow_pattern"
            }
            Dropped::NotASecretValue(_) => "not_a_secret_value",
            Dropped::GaveWay(_) | Dropped::PairedWith(_) => "overlap",
        }
    }
}

/// A candidate of one scan, kept or dropped, for `sprawl explain`.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub rule: RuleIdx,
    pub secret: Range<usize>,
    pub dropped: Option<Dropped>,
}

/// Candidates of specific (non-generic) rules that a check dropped, by [`Dropped::family`]:
/// look-alikes of real credentials (a token with a bad checksum, `AKIA…EXAMPLE`), which a
/// user testing sprawl with a hand-typed token wants to hear about. Generic rules' drops
/// (every `password = getPassword()`) are not counted.
pub type DropCounts = std::collections::BTreeMap<&'static str, u64>;

/// Per-thread working memory, reused across inputs so the hot path does not allocate.
pub struct Scratch {
    open: Vec<Option<Range<usize>>>,
    touched: Vec<RuleIdx>,
    windows: Vec<(RuleIdx, Range<usize>)>,
    /// Secrets that a specific rule's regex matched but its filters rejected (a look-alike
    /// with a bad checksum, a placeholder): generic rules must not report those bytes either.
    vetoed: Vec<(Range<usize>, RuleIdx)>,
    dropped: DropCounts,
    /// Every candidate with its verdict, when `sprawl explain` asks (see [`Scratch::trace`]).
    trace: Option<Vec<Candidate>>,
    caches: Vec<Option<meta::Cache>>,
    captures: Vec<Option<Captures>>,
    /// Rules the caller left out of scans with this scratch (see [`Scratch::mute`]).
    muted: Vec<bool>,
    /// Keyword hits of the input at hand.
    hits: Vec<Hit>,
}

impl Scratch {
    /// Leaves `rule` out of the following scans with this scratch (or brings it back): for
    /// rules whose matches the caller knows it would drop for the input at hand, such as a
    /// rule that only stands in configuration files.
    pub fn mute(&mut self, rule: RuleIdx, muted: bool) {
        if let Some(slot) = self.muted.get_mut(rule.0 as usize) {
            *slot = muted;
        }
    }

    /// Starts (or stops) recording every candidate of the following scans with its verdict.
    pub fn trace(&mut self, on: bool) {
        self.trace = on.then(|| self.trace.take().unwrap_or_default());
    }

    /// The candidates recorded since the last call (tracing stays on).
    pub fn take_trace(&mut self) -> Vec<Candidate> {
        self.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The look-alikes dropped since the last call.
    pub fn take_dropped(&mut self) -> DropCounts {
        std::mem::take(&mut self.dropped)
    }
}

pub struct Engine {
    rules: Vec<CompiledRule>,
    keywords: Option<Keywords>,
    triggers: Vec<Vec<Trigger>>,
    /// The most bytes one match and everything its rule looks at around it can span.
    reach: usize,
    /// Rules that read only files of some names (`paths`): muted in a fresh scratch, and
    /// unmuted by [`Engine::scope_to`] for a path that one of their patterns matches.
    scoped: ScopedRules,
}

/// Every scoped rule's path patterns in one set, so a file's path is matched once.
#[derive(Default)]
struct ScopedRules {
    paths: Option<regex::bytes::RegexSet>,
    /// For each pattern of `paths`, its rule.
    rule_of: Vec<RuleIdx>,
    rules: Vec<RuleIdx>,
}

impl Engine {
    /// Compiles every rule of the set; the first rule that does not compile is the error.
    pub fn new(set: &RuleSet) -> Result<Engine, RuleError> {
        let mut rules = Vec::with_capacity(set.rules.len());
        for (order, rule) in set.rules.iter().enumerate() {
            rules.push(compile_rule(rule, order as u32)?);
        }
        // Companions refer to rules by id; resolve them to indices once.
        for (idx, rule) in set.rules.iter().enumerate() {
            if let Some(companion) = &rule.companion {
                let Some(target) = set.rules.iter().position(|r| r.id() == companion.rule) else {
                    return Err(invalid(
                        rule,
                        format!("companion rule '{}' is not loaded", companion.rule),
                    ));
                };
                rules[idx].companion = Some(CompanionLink {
                    rule: RuleIdx(target as u32),
                    within: companion.within,
                    identifier: Arc::from(companion.identifier.as_str()),
                });
            }
        }

        // One automaton pattern per distinct lowercase keyword; each lists the rules it triggers.
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut triggers: Vec<Vec<Trigger>> = Vec::new();
        for (idx, rule) in set.rules.iter().enumerate() {
            for keyword in &rule.keywords {
                let lower = keyword.as_bytes().to_ascii_lowercase();
                let slot = match patterns.iter().position(|p| *p == lower) {
                    Some(slot) => slot,
                    None => {
                        patterns.push(lower);
                        triggers.push(Vec::new());
                        patterns.len() - 1
                    }
                };
                triggers[slot].push(Trigger {
                    rule: RuleIdx(idx as u32),
                    keyword: keyword.as_bytes().into(),
                    case_insensitive: rule.case_insensitive,
                });
            }
        }
        let keywords = if patterns.is_empty() {
            None
        } else {
            Some(Keywords::new(&patterns).map_err(|e| RuleError::Parse {
                path: "<keywords>".into(),
                line: 1,
                column: 1,
                message: format!("keyword prefilter: {e}"),
            })?)
        };
        let reach = set
            .rules
            .iter()
            .zip(&rules)
            .map(|(rule, compiled)| {
                let keyword = rule.keywords.iter().map(String::len).max().unwrap_or(0);
                let companion = compiled
                    .companion
                    .as_ref()
                    .map_or(0, |c| c.within + COMPANION_SPAN_SLACK);
                compiled.window_before + keyword + compiled.window_after + companion
            })
            .max()
            .unwrap_or(0)
            + CONTEXT_BEFORE;
        Ok(Engine {
            rules,
            keywords,
            triggers,
            reach,
            scoped: scoped_rules(set)?,
        })
    }

    /// Compiles every rule now (built-in ones are otherwise compiled on first use), so a
    /// broken pattern is reported by id instead of silently never matching.
    pub fn compile_all(&self, set: &RuleSet) -> Result<(), RuleError> {
        for (compiled, rule) in self.rules.iter().zip(&set.rules) {
            if compiled.matcher().is_none() {
                return Err(match Matcher::new(compiled) {
                    Err(e) => invalid(rule, e),
                    Ok(_) => invalid(rule, "pattern did not compile"),
                });
            }
        }
        Ok(())
    }

    /// Removes the matches of rules that exclude this input's path.
    pub fn drop_excluded_paths(&self, path: &str, matches: &mut Vec<RawMatch>) {
        matches.retain(|m| !self.excludes_path(m.rule, path));
    }

    /// Whether `rule` skips inputs at `path` (its `exclude_paths`).
    pub fn excludes_path(&self, rule: RuleIdx, path: &str) -> bool {
        self.rules[rule.0 as usize].matcher().is_some_and(|c| {
            c.exclude_paths
                .iter()
                .any(|re| re.is_match(path.as_bytes()))
        })
    }

    /// Whether `rule` names the key paths its values stand under (`key_paths`).
    pub fn has_key_paths(&self, rule: RuleIdx) -> bool {
        !self.rules[rule.0 as usize].key_paths.is_empty()
    }

    /// Whether a value at `key_path` may be a match of `rule` (always, for a rule without
    /// `key_paths`).
    pub fn allows_key_path(&self, rule: RuleIdx, key_path: &str) -> bool {
        self.rules[rule.0 as usize].matcher().is_none_or(|c| {
            c.key_paths.is_empty()
                || c.key_paths
                    .iter()
                    .any(|re| re.is_match(key_path.as_bytes()))
        })
    }

    /// How many bytes around a match the engine may read to find it (the longest rule window
    /// with its keyword, companion and context): inputs scanned in pieces must overlap by at
    /// least this much for no match to be cut.
    pub fn reach(&self) -> usize {
        self.reach
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Whether a rule of this id is loaded (`sprawl:allow <rule-id>` comments name one).
    pub fn has_rule(&self, id: &str) -> bool {
        self.find_rule(id).is_some()
    }

    /// The loaded rule with this id.
    pub fn find_rule(&self, id: &str) -> Option<RuleIdx> {
        self.rules
            .iter()
            .position(|r| r.info.id == id)
            .map(|i| RuleIdx(i as u32))
    }

    pub fn rule_info(&self, idx: RuleIdx) -> &Arc<RuleInfo> {
        &self.rules[idx.0 as usize].info
    }

    /// Readies `scratch` for an input at `path`: the rules that read only some files run
    /// when the path is one of theirs, and stay muted otherwise.
    pub fn scope_to(&self, path: &str, scratch: &mut Scratch) {
        let Some(paths) = &self.scoped.paths else {
            return;
        };
        for &rule in &self.scoped.rules {
            scratch.mute(rule, true);
        }
        for pattern in paths.matches(path.as_bytes()).iter() {
            scratch.mute(self.scoped.rule_of[pattern], false);
        }
    }

    pub fn new_scratch(&self) -> Scratch {
        let mut muted = vec![false; self.rules.len()];
        for rule in &self.scoped.rules {
            muted[rule.0 as usize] = true;
        }
        Scratch {
            open: vec![None; self.rules.len()],
            touched: Vec::new(),
            windows: Vec::new(),
            vetoed: Vec::new(),
            dropped: DropCounts::new(),
            trace: None,
            caches: (0..self.rules.len()).map(|_| None).collect(),
            captures: (0..self.rules.len()).map(|_| None).collect(),
            muted,
            hits: Vec::new(),
        }
    }

    /// Appends to `out` every match in `hay`, after filters, companion pairing and the
    /// rule that generic rules give way to specific ones.
    pub fn scan(&self, hay: &[u8], scratch: &mut Scratch, out: &mut Vec<RawMatch>) {
        let first = out.len();
        self.collect_windows(hay, scratch);
        let windows = std::mem::take(&mut scratch.windows);
        for (rule, window) in &windows {
            self.confirm(*rule, hay, window.clone(), scratch, out);
        }
        scratch.windows = windows;
        scratch.windows.clear();
        if out.len() > first {
            let matches: Vec<RawMatch> = out.drain(first..).collect();
            postprocess(
                &self.rules,
                matches,
                &mut scratch.vetoed,
                out,
                scratch.trace.as_mut(),
            );
        }
        scratch.vetoed.clear();
    }

    /// Stage one: keyword hits become per-rule windows, merged as they arrive (hits come in
    /// order of their start, so a rule's next window either extends its open one or starts anew).
    fn collect_windows(&self, hay: &[u8], scratch: &mut Scratch) {
        let Some(keywords) = &self.keywords else {
            return;
        };
        let mut hits = std::mem::take(&mut scratch.hits);
        hits.clear();
        keywords.find_all(hay, &mut hits);
        for &(hit_start, pattern) in &hits {
            for trigger in &self.triggers[pattern as usize] {
                if scratch.muted[trigger.rule.0 as usize] {
                    continue;
                }
                let Some(keyword) = trigger.confirm(hay, hit_start) else {
                    continue;
                };
                let rule = &self.rules[trigger.rule.0 as usize];
                let start = keyword.start.saturating_sub(rule.window_before);
                let end = (keyword.end + rule.window_after).min(hay.len());
                if rule.anchored {
                    scratch.windows.push((trigger.rule, start..end));
                    continue;
                }
                let open_slot = &mut scratch.open[trigger.rule.0 as usize];
                match open_slot {
                    Some(open) if start <= open.end => {
                        open.end = open.end.max(end);
                    }
                    Some(open) => {
                        scratch.windows.push((trigger.rule, open.clone()));
                        *open = start..end;
                    }
                    None => {
                        *open_slot = Some(start..end);
                        scratch.touched.push(trigger.rule);
                    }
                }
            }
        }
        scratch.hits = hits;
        for rule in scratch.touched.drain(..) {
            if let Some(open) = scratch.open[rule.0 as usize].take() {
                scratch.windows.push((rule, open));
            }
        }
    }

    /// Stage two: the rule's regex on one window, then the secret's filters.
    fn confirm(
        &self,
        idx: RuleIdx,
        hay: &[u8],
        window: Range<usize>,
        scratch: &mut Scratch,
        out: &mut Vec<RawMatch>,
    ) {
        let rule = &self.rules[idx.0 as usize];
        let Some(matcher) = rule.matcher() else {
            return; // a built-in pattern that does not compile: cargo test forbids it
        };
        let cache =
            scratch.caches[idx.0 as usize].get_or_insert_with(|| matcher.regex.create_cache());
        let caps =
            scratch.captures[idx.0 as usize].get_or_insert_with(|| matcher.regex.create_captures());
        // Look-around (`\b`) sees bytes outside the window, so a token cut by the window
        // edge fails to match instead of matching a truncated secret.
        let mut input = Input::new(hay).range(window.clone());
        if rule.anchored {
            input = input.anchored(Anchored::Yes);
        }
        while input.start() <= window.end {
            matcher.regex.search_captures_with(cache, &input, caps);
            let Some(m) = caps.get_match() else {
                break;
            };
            let next = if m.is_empty() { m.end() + 1 } else { m.end() };
            let secret = caps.get_group(matcher.secret_group).map(|s| s.range());
            let verdict = match &secret {
                Some(secret) if !secret.is_empty() => rule
                    .verdict(matcher, &hay[secret.clone()])
                    .and_then(|()| match matcher.allowed_by_context(hay, m.start()) {
                        true => Err(Dropped::AllowBefore),
                        false => Ok(()),
                    })
                    .and_then(|()| match matcher.allowed_identifier(hay, caps) {
                        Some(group) => Err(Dropped::AllowIdentifier(group)),
                        None => Ok(()),
                    }),
                _ => Err(Dropped::Empty),
            };
            let at = secret.clone().unwrap_or(m.range());
            if let Err(dropped) = &verdict
                && !rule.info.generic
            {
                scratch.vetoed.push((at.clone(), idx));
                // A Secret's user-name entry is not a look-alike of a credential.
                if !matches!(dropped, Dropped::AllowIdentifier(_)) {
                    *scratch.dropped.entry(dropped.family()).or_default() += 1;
                }
            }
            if let Some(trace) = &mut scratch.trace {
                trace.push(Candidate {
                    rule: idx,
                    secret: at,
                    dropped: verdict.clone().err(),
                });
            }
            if let Some(secret) = secret.filter(|_| verdict.is_ok()) {
                let identifiers = matcher
                    .identifier_groups
                    .iter()
                    .filter_map(|(name, group)| {
                        caps.get_group(*group).map(|s| (name.clone(), s.range()))
                    })
                    .collect();
                out.push(RawMatch {
                    rule: idx,
                    span: m.range(),
                    secret,
                    identifiers,
                });
            }
            if rule.anchored || next > window.end {
                break;
            }
            input.set_start(next);
        }
    }

    /// Every match in `text`, for rule examples and tests.
    pub fn find_all(&self, text: &[u8]) -> Vec<RawMatch> {
        self.find_all_at(None, text)
    }

    /// Every match in `text` as the content of a file at `path` (rules that read only some
    /// files see it when the path is theirs), with the rules' path exclusions applied.
    pub fn find_all_at(&self, path: Option<&str>, text: &[u8]) -> Vec<RawMatch> {
        let mut scratch = self.new_scratch();
        let mut out = Vec::new();
        if let Some(path) = path {
            self.scope_to(path, &mut scratch);
        }
        self.scan(text, &mut scratch, &mut out);
        if let Some(path) = path {
            self.drop_excluded_paths(path, &mut out);
        }
        out
    }
}

/// The path patterns of the rules that read only some files, compiled into one set.
fn scoped_rules(set: &RuleSet) -> Result<ScopedRules, RuleError> {
    let mut scoped = ScopedRules::default();
    let mut patterns = Vec::new();
    for (idx, rule) in set.rules.iter().enumerate() {
        if rule.paths.is_empty() {
            continue;
        }
        for pattern in &rule.paths {
            // Each alone first, so a bad pattern is reported with its rule.
            regex::bytes::Regex::new(pattern).map_err(|e| {
                invalid(
                    rule,
                    format!("paths: {}", compile::one_line(&e.to_string())),
                )
            })?;
            patterns.push(pattern.as_str());
            scoped.rule_of.push(RuleIdx(idx as u32));
        }
        scoped.rules.push(RuleIdx(idx as u32));
    }
    if !patterns.is_empty() {
        scoped.paths = Some(
            regex::bytes::RegexSetBuilder::new(&patterns)
                .size_limit(compile::REGEX_SIZE_LIMIT * 4)
                .build()
                .map_err(|e| RuleError::Parse {
                    path: "<paths>".into(),
                    line: 1,
                    column: 1,
                    message: format!("rule paths: {}", compile::one_line(&e.to_string())),
                })?,
        );
    }
    Ok(scoped)
}

/// How far a companion's secret may start before its match's span: companion rules match
/// identifiers (key ids), far shorter than this.
const COMPANION_SPAN_SLACK: usize = 4096;

/// How far back `allow_before` looks: enough for a long key name.
const CONTEXT_BEFORE: usize = 48;

/// Companion pairing and generic-vs-specific overlap, on the matches of one input; the
/// matches set aside here are marked in `trace` when there is one.
fn postprocess(
    rules: &[CompiledRule],
    mut matches: Vec<RawMatch>,
    vetoed: &mut Vec<(Range<usize>, RuleIdx)>,
    out: &mut Vec<RawMatch>,
    mut trace: Option<&mut Vec<Candidate>>,
) {
    matches.sort_by_key(|m| (m.secret.start, m.secret.end, m.rule));
    matches.dedup_by(|a, b| a.rule == b.rule && a.secret == b.secret);
    let mut mark = |m: &RawMatch, dropped: Dropped| {
        if let Some(trace) = trace.as_deref_mut()
            && let Some(c) = trace
                .iter_mut()
                .find(|c| c.rule == m.rule && c.secret == m.secret && c.dropped.is_none())
        {
            c.dropped = Some(dropped);
        }
    };

    // Companion pairing. Candidates are searched only near the match (matches are sorted by
    // secret start), so a file with thousands of key ids stays linear.
    let mut consumed: Vec<Option<RuleIdx>> = vec![None; matches.len()];
    for i in 0..matches.len() {
        let Some(link) = &rules[matches[i].rule.0 as usize].companion else {
            continue;
        };
        let span = matches[i].span.clone();
        let from = span
            .start
            .saturating_sub(link.within + COMPANION_SPAN_SLACK);
        let first = matches.partition_point(|c| c.secret.start < from);
        let nearest = matches[first..]
            .iter()
            .enumerate()
            .take_while(|(_, c)| c.secret.start <= span.end + link.within)
            .filter(|(_, c)| c.rule == link.rule)
            .map(|(k, c)| (first + k, distance(&span, &c.span)))
            .filter(|&(_, d)| d <= link.within)
            .min_by_key(|&(_, d)| d);
        if let Some((j, _)) = nearest {
            consumed[j] = Some(matches[i].rule);
            let value = matches[j].secret.clone();
            let name = link.identifier.clone();
            let m = &mut matches[i];
            m.identifiers.retain(|(n, _)| *n != name);
            m.identifiers.push((name, value));
        }
    }

    // A match gives way to an overlapping match of a stronger rule (see [`Standing`]); a
    // generic one also to a stronger rule that rejected those bytes (a look-alike with a bad
    // checksum is not a password either).
    let standing = |rule: RuleIdx| rules[rule.0 as usize].info.standing;
    let mut stronger: Vec<(Range<usize>, RuleIdx, bool)> = matches
        .iter()
        .filter(|m| standing(m.rule) != Standing::Generic)
        .map(|m| (m.secret.clone(), m.rule, false))
        .chain(vetoed.drain(..).map(|(range, rule)| (range, rule, true)))
        .collect();
    stronger.sort_by_key(|(r, _, _)| r.start);
    let overlapping_stronger = |r: &Range<usize>, own: Standing| {
        // `stronger` is sorted by start; only ranges starting before r.end can overlap.
        let upto = stronger.partition_point(|(s, _, _)| s.start < r.end);
        stronger[..upto]
            .iter()
            .filter(|(s, _, _)| s.end > r.start)
            .find(|(_, rule, rejected)| {
                standing(*rule) < own && (!rejected || own == Standing::Generic)
            })
            .map(|(_, rule, _)| *rule)
    };

    for (m, paired) in matches.into_iter().zip(consumed) {
        if let Some(with) = paired {
            mark(&m, Dropped::PairedWith(with));
            continue;
        }
        if let Some(stronger) = overlapping_stronger(&m.secret, standing(m.rule)) {
            mark(&m, Dropped::GaveWay(stronger));
            continue;
        }
        out.push(m);
    }
}

fn distance(a: &Range<usize>, b: &Range<usize>) -> usize {
    if a.end <= b.start {
        b.start - a.end
    } else {
        a.start.saturating_sub(b.end)
    }
}

#[cfg(test)]
mod tests;
