//! The compiled matcher: bytes in, raw matches out.
//!
//! Two stages, because regexes over whole files are 150–300× slower than a keyword scan
//! (ENGINE-NOTES.md): one Aho-Corasick DFA over the keywords of every rule scans the input
//! once; only rules whose keywords hit run their regex, and only on a window around each hit.
//! Everything is compiled once per run and shared read-only across threads; each thread
//! brings its own [`Scratch`].

pub mod filters;

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex_automata::meta;
use regex_automata::util::captures::Captures;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, PatternID};

use crate::rules::{FormatCheck, Kind, Rule, RuleError, RuleSet, invalid};

/// Compiled-regex size limit per rule: generous for real rules, but a runaway user pattern
/// (huge counted repetitions) is a clear error instead of gigabytes of automaton.
const REGEX_SIZE_LIMIT: usize = 8 << 20;

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
    /// Load order: when two rules match the same secret, the specific one wins, then the
    /// one loaded first, so the report does not depend on which thread saw what first.
    pub order: u32,
    /// What the credential grants and how to revoke it (SARIF help text).
    pub description: String,
}

impl RuleInfo {
    /// True when this rule should name a credential that `other` also matched.
    pub fn outranks(&self, other: &RuleInfo) -> bool {
        (self.generic, self.order) < (other.generic, other.order)
    }
}

struct CompiledRule {
    info: Arc<RuleInfo>,
    pattern: String,
    /// Compiled on first use for built-in rules (their patterns are compiled by `cargo test`,
    /// and a small scan such as `--staged` touches few rules: compiling all 218 took 70 ms);
    /// compiled up front for user rules, so their errors show before the scan.
    matcher: OnceLock<Option<Matcher>>,
    min_entropy: Option<f64>,
    format_check: Option<FormatCheck>,
    allow: Vec<String>,
    allow_before: Vec<String>,
    exclude_paths: Vec<String>,
    window_before: usize,
    window_after: usize,
    /// `window_before = 0`: the match must begin at the keyword, so each hit gets one
    /// anchored search that fails within a few bytes on `token()` or `tokenizer`, instead
    /// of a scan of a whole window (5× less time on the generic rules in real code).
    anchored: bool,
    companion: Option<CompanionLink>,
}

/// Everything of a rule that is compiled: its pattern and its allow lists.
struct Matcher {
    regex: meta::Regex,
    secret_group: usize,
    identifier_groups: Vec<(Arc<str>, usize)>,
    allow: Vec<regex::bytes::Regex>,
    allow_before: Vec<regex::bytes::Regex>,
    exclude_paths: Vec<regex::bytes::Regex>,
}

impl Matcher {
    fn new(rule: &CompiledRule) -> Result<Matcher, String> {
        let small = |field: &str, patterns: &[String]| {
            patterns
                .iter()
                .map(|pattern| {
                    regex::bytes::RegexBuilder::new(pattern)
                        .unicode(false)
                        .size_limit(REGEX_SIZE_LIMIT)
                        .build()
                        .map_err(|e| format!("{field}: {}", one_line(&e.to_string())))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let allow = small("allow", &rule.allow)?;
        let allow_before = small("allow_before", &rule.allow_before)?;
        let exclude_paths = small("exclude_paths", &rule.exclude_paths)?;
        let regex = compile_pattern(&rule.pattern).map_err(|e| format!("pattern: {e}"))?;
        let group_info = regex.group_info();
        let Some(secret_group) = group_info.to_index(PatternID::ZERO, "secret") else {
            return Err("pattern has no named group `secret`".into());
        };
        let identifier_groups = group_info
            .pattern_names(PatternID::ZERO)
            .enumerate()
            .filter_map(|(index, name)| name.map(|n| (n, index)))
            .filter(|(name, _)| *name != "secret")
            .map(|(name, index)| (Arc::from(name), index))
            .collect();
        Ok(Matcher {
            regex,
            secret_group,
            identifier_groups,
            allow,
            allow_before,
            exclude_paths,
        })
    }
}

struct CompanionLink {
    rule: RuleIdx,
    within: usize,
    identifier: Arc<str>,
}

/// A keyword hit triggers these rules; case-sensitive rules also need the exact bytes.
struct Trigger {
    rule: RuleIdx,
    keyword: Box<[u8]>,
    case_insensitive: bool,
}

impl Trigger {
    /// The keyword's span when it is at `start` in the case the rule asks for.
    fn confirm(&self, hay: &[u8], start: usize) -> Option<Range<usize>> {
        let end = start.checked_add(self.keyword.len())?;
        let found = hay.get(start..end)?;
        let same = if self.case_insensitive {
            found.eq_ignore_ascii_case(&self.keyword)
        } else {
            found == &*self.keyword
        };
        same.then_some(start..end)
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
    /// A generic rule's value that is code, a word, an id or a digest (and why).
    NotASecretValue(&'static str),
    /// A generic rule's match on bytes that this specific rule matched or rejected.
    GaveWay(RuleIdx),
    /// Not a finding of its own: the identifier (key id) of this rule's match beside it.
    PairedWith(RuleIdx),
}

impl Dropped {
    /// Its family in the run's counts of look-alikes (`summary.dropped`).
    pub fn family(&self) -> &'static str {
        match self {
            Dropped::Empty | Dropped::Placeholder(_) => "placeholder",
            Dropped::Entropy { .. } => "entropy",
            Dropped::FormatCheck(_) => "format_check",
            Dropped::AllowPattern | Dropped::AllowBefore => "allow_pattern",
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
    keywords: Option<AhoCorasick>,
    triggers: Vec<Vec<Trigger>>,
    /// For each automaton pattern, the other patterns that are its prefixes: a leftmost-
    /// longest hit on `secret_key` is also a hit on `secret`.
    prefixes: Vec<Vec<usize>>,
    /// The most bytes one match and everything its rule looks at around it can span.
    reach: usize,
}

impl Engine {
    /// Compiles every rule of the set; the first rule that does not compile is the error.
    pub fn new(set: &RuleSet) -> Result<Engine, RuleError> {
        Engine::build(set, AhoCorasickKind::DFA)
    }

    /// Like [`Engine::new`], with a keyword automaton that is faster to build and slower to
    /// run: for a handful of small inputs, such as staged changes.
    pub fn for_small_inputs(set: &RuleSet) -> Result<Engine, RuleError> {
        Engine::build(set, AhoCorasickKind::ContiguousNFA)
    }

    fn build(set: &RuleSet, automaton: AhoCorasickKind) -> Result<Engine, RuleError> {
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
        let prefixes = patterns
            .iter()
            .enumerate()
            .map(|(i, long)| {
                (0..patterns.len())
                    .filter(|&j| j != i && long.starts_with(&patterns[j]))
                    .collect()
            })
            .collect();
        let keywords = if patterns.is_empty() {
            None
        } else {
            // An explicit DFA is ~4× faster than the automatic choice at this pattern count
            // (ENGINE-NOTES.md). Leftmost-longest search is ~30% faster than overlapping
            // search; `collect_windows` recovers the overlapping hits it skips.
            Some(
                AhoCorasick::builder()
                    .kind(Some(automaton))
                    .match_kind(MatchKind::LeftmostLongest)
                    .ascii_case_insensitive(true)
                    .build(&patterns)
                    .map_err(|e| RuleError::Parse {
                        path: "<keywords>".into(),
                        line: 1,
                        column: 1,
                        message: format!("keyword automaton: {e}"),
                    })?,
            )
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
            prefixes,
            reach,
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

    pub fn new_scratch(&self) -> Scratch {
        Scratch {
            open: vec![None; self.rules.len()],
            touched: Vec::new(),
            windows: Vec::new(),
            vetoed: Vec::new(),
            dropped: DropCounts::new(),
            trace: None,
            caches: (0..self.rules.len()).map(|_| None).collect(),
            captures: (0..self.rules.len()).map(|_| None).collect(),
            muted: vec![false; self.rules.len()],
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
    ///
    /// Every occurrence of every keyword is seen although the search does not report
    /// overlapping matches: each search restarts one byte after the previous hit's start, so
    /// a keyword starting inside another is found next, and a hit stands for the keywords
    /// that are its prefixes too.
    fn collect_windows(&self, hay: &[u8], scratch: &mut Scratch) {
        let Some(keywords) = &self.keywords else {
            return;
        };
        let mut at = 0;
        while at < hay.len() {
            let Ok(Some(hit)) =
                keywords.try_find(aho_corasick::Input::new(hay).span(at..hay.len()))
            else {
                break;
            };
            at = hit.start() + 1;
            let pattern = hit.pattern().as_usize();
            for slot in std::iter::once(pattern).chain(self.prefixes[pattern].iter().copied()) {
                for trigger in &self.triggers[slot] {
                    if scratch.muted[trigger.rule.0 as usize] {
                        continue;
                    }
                    let Some(keyword) = trigger.confirm(hay, hit.start()) else {
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
        }
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
                    }),
                _ => Err(Dropped::Empty),
            };
            let at = secret.clone().unwrap_or(m.range());
            if let Err(dropped) = &verdict
                && !rule.info.generic
            {
                scratch.vetoed.push((at.clone(), idx));
                *scratch.dropped.entry(dropped.family()).or_default() += 1;
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
        let mut scratch = self.new_scratch();
        let mut out = Vec::new();
        self.scan(text, &mut scratch, &mut out);
        out
    }
}

/// How far a companion's secret may start before its match's span: companion rules match
/// identifiers (key ids), far shorter than this.
const COMPANION_SPAN_SLACK: usize = 4096;

/// How far back `allow_before` looks: enough for a long key name.
const CONTEXT_BEFORE: usize = 48;

impl Matcher {
    fn allowed_by_context(&self, hay: &[u8], match_start: usize) -> bool {
        if self.allow_before.is_empty() {
            return false;
        }
        let before = &hay[match_start.saturating_sub(CONTEXT_BEFORE)..match_start];
        self.allow_before.iter().any(|re| re.is_match(before))
    }
}

impl CompiledRule {
    fn matcher(&self) -> Option<&Matcher> {
        self.matcher
            .get_or_init(|| Matcher::new(self).ok())
            .as_ref()
    }

    /// Whether the secret passes the rule's checks, and if not, the first that failed.
    fn verdict(&self, matcher: &Matcher, secret: &[u8]) -> Result<(), Dropped> {
        if let Some(min) = self.min_entropy {
            let found = filters::shannon_entropy(secret);
            if found < min {
                return Err(Dropped::Entropy { found, min });
            }
        }
        if let Some(format_check) = self.format_check
            && !filters::check_format(format_check, secret)
        {
            return Err(Dropped::FormatCheck(format_check));
        }
        if matcher.allow.iter().any(|re| re.is_match(secret)) {
            return Err(Dropped::AllowPattern);
        }
        if let Some(marker) = filters::placeholder_marker(secret) {
            return Err(Dropped::Placeholder(marker));
        }
        match self.info.generic {
            true => filters::generic_non_secret(secret)
                .map_or(Ok(()), |why| Err(Dropped::NotASecretValue(why))),
            false => Ok(()),
        }
    }
}

fn compile_rule(rule: &Rule, order: u32) -> Result<CompiledRule, RuleError> {
    let compiled = CompiledRule {
        info: Arc::new(RuleInfo {
            id: rule.id().to_string(),
            name: rule.name.clone(),
            provider: rule.provider.clone(),
            kind: rule.kind,
            generic: rule.generic,
            order,
            description: rule.description.clone().unwrap_or_default(),
        }),
        pattern: rule.pattern.clone(),
        matcher: OnceLock::new(),
        min_entropy: rule.min_entropy,
        format_check: rule.format_check,
        allow: rule.allow.clone(),
        allow_before: rule.allow_before.clone(),
        exclude_paths: rule.exclude_paths.clone(),
        window_before: rule.window_before(),
        window_after: rule.window_after(),
        anchored: rule.window_before() == 0,
        companion: None,
    };
    if !rule.origin.builtin {
        let matcher = Matcher::new(&compiled).map_err(|e| invalid(rule, e))?;
        let _ = compiled.matcher.set(Some(matcher));
    }
    Ok(compiled)
}

/// Compiles with Unicode off (ASCII classes, matching raw bytes): 30× faster to build for
/// ASCII rules and no slower to run. A pattern that needs Unicode classes still gets them.
fn compile_pattern(pattern: &str) -> Result<meta::Regex, String> {
    let build = |unicode: bool| {
        meta::Builder::new()
            .configure(
                meta::Config::new()
                    .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
                    .hybrid_cache_capacity(1 << 20),
            )
            .syntax(syntax::Config::new().unicode(unicode).utf8(false))
            .build(pattern)
            .map_err(|e| one_line(&e.to_string()))
    };
    build(false).or_else(|_| build(true))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

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

    // A generic rule gives way to any specific rule whose secret overlaps its own, whether
    // the specific rule reported those bytes or rejected them.
    let mut specific: Vec<(Range<usize>, RuleIdx)> = matches
        .iter()
        .filter(|m| !rules[m.rule.0 as usize].info.generic)
        .map(|m| (m.secret.clone(), m.rule))
        .chain(vetoed.drain(..))
        .collect();
    specific.sort_by_key(|(r, _)| r.start);
    let overlapping_specific = |r: &Range<usize>| {
        // `specific` is sorted by start; only ranges starting before r.end can overlap.
        let upto = specific.partition_point(|(s, _)| s.start < r.end);
        specific[..upto]
            .iter()
            .find(|(s, _)| s.end > r.start)
            .map(|(_, rule)| *rule)
    };

    for (m, paired) in matches.into_iter().zip(consumed) {
        if let Some(with) = paired {
            mark(&m, Dropped::PairedWith(with));
            continue;
        }
        if rules[m.rule.0 as usize].info.generic
            && let Some(specific) = overlapping_specific(&m.secret)
        {
            mark(&m, Dropped::GaveWay(specific));
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
mod tests {
    use super::*;

    fn engine(toml: &str) -> Engine {
        let mut set = RuleSet::default();
        set.add_file_text("t.toml", toml, false).unwrap();
        Engine::new(&set).unwrap()
    }

    const RULES: &str = r#"
[[rules]]
id = "demo-key-id"
name = "Demo key id"
provider = "demo"
kind = "api-key"
keywords = ["DKID"]
pattern = '''\b(?P<secret>(?P<key_id>DKID[A-Z2-7]{8}))\b'''

[[rules]]
id = "demo-secret"
name = "Demo secret"
provider = "demo"
kind = "api-key"
keywords = ["demo_secret"]
case_insensitive = true
pattern = '''(?i)demo_secret\s*=\s*"(?P<secret>[A-Za-z0-9/+]{16})"'''
companion = { rule = "demo-key-id", within = 200, as = "key_id" }

[[rules]]
id = "demo-generic"
name = "Generic"
provider = "generic"
kind = "password"
keywords = ["password"]
case_insensitive = true
generic = true
pattern = '''(?i)password\s*=\s*"(?P<secret>[^"\s]{8,64})"'''
"#;

    #[test]
    fn finds_secret_and_identifier_groups() {
        let e = engine(RULES);
        let text = b"x = DKIDABCDEFGH;";
        let found = e.find_all(text);
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].secret.clone()], b"DKIDABCDEFGH");
        assert_eq!(found[0].identifiers[0].0.as_ref(), "key_id");
    }

    #[test]
    fn case_sensitive_keywords_need_exact_bytes() {
        let e = engine(RULES);
        assert!(e.find_all(b"dkidABCDEFGH").is_empty());
    }

    #[test]
    fn companion_pairs_into_one_credential() {
        let e = engine(RULES);
        let text = b"id = DKIDABCDEFGH\nDEMO_SECRET = \"q8Zr2LmX9vTn4KpW\"\n";
        let found = e.find_all(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(e.rule_info(found[0].rule).id, "demo-secret");
        let (name, range) = &found[0].identifiers[0];
        assert_eq!(name.as_ref(), "key_id");
        assert_eq!(&text[range.clone()], b"DKIDABCDEFGH");
    }

    #[test]
    fn generic_gives_way_to_specific_on_the_same_bytes() {
        let e = engine(RULES);
        let text = b"password = \"DKIDABCDEFGH\"";
        let found = e.find_all(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(e.rule_info(found[0].rule).id, "demo-key-id");
    }

    #[test]
    fn generic_gives_way_to_a_specific_rule_that_rejected_the_bytes() {
        let e = engine(RULES);
        // The key-id rule matches `DKIDEXAMPLEX` but the placeholder filter rejects it.
        assert!(e.find_all(b"password = \"DKIDEXAMPLEX\"").is_empty());
        assert_eq!(e.find_all(b"password = \"Zq8vR2pLw7xN\"").len(), 1);
    }

    #[test]
    fn keywords_inside_and_at_the_start_of_other_keywords_still_trigger() {
        let toml = r#"
[[rules]]
id = "long-key"
name = "Long"
provider = "demo"
kind = "token"
keywords = ["tok_secret_"]
pattern = '''tok_secret_(?P<secret>[a-z]{8})\b'''

[[rules]]
id = "prefix-key"
name = "Prefix"
provider = "demo"
kind = "token"
keywords = ["tok_"]
pattern = '''tok_(?P<secret>secret_[a-z]{8})\b'''

[[rules]]
id = "infix-key"
name = "Infix"
provider = "demo"
kind = "token"
keywords = ["secret_"]
pattern = '''secret_(?P<secret>[a-z]{8})\b'''
"#;
        let e = engine(toml);
        let mut ids: Vec<String> = e
            .find_all(b"x tok_secret_abcdefgh y")
            .iter()
            .map(|m| e.rule_info(m.rule).id.clone())
            .collect();
        ids.sort();
        assert_eq!(ids, ["infix-key", "long-key", "prefix-key"]);
    }

    #[test]
    fn windows_merge_and_matches_are_not_duplicated() {
        let e = engine(RULES);
        let text = b"DKIDABCDEFGH DKIDABCDEFGH DKIDQRSTUVWX ".repeat(50);
        let found = e.find_all(&text);
        assert_eq!(found.len(), 150);
    }

    #[test]
    fn a_token_cut_by_the_window_edge_is_not_reported_truncated() {
        let toml = r#"
[[rules]]
id = "demo-long"
name = "Long"
provider = "demo"
kind = "token"
keywords = ["tok_"]
window_after = 8
pattern = '''\b(?P<secret>tok_[a-z]{4,40})\b'''
"#;
        let e = engine(toml);
        assert!(e.find_all(b"tok_abcdefghijklmnopqrstuvwxyz").is_empty());
        assert_eq!(e.find_all(b"tok_abcd ").len(), 1);
    }

    #[test]
    fn a_pattern_without_secret_group_is_an_error() {
        let toml = RULES.replace("(?P<secret>[^\"\\s]{8,64})", "([^\"\\s]{8,64})");
        let mut set = RuleSet::default();
        set.add_file_text("t.toml", &toml, false).unwrap();
        let err = Engine::new(&set).err().expect("must fail").to_string();
        assert!(
            err.contains("demo-generic") && err.contains("secret"),
            "{err}"
        );
    }

    #[test]
    fn a_huge_pattern_is_a_clear_error() {
        let toml = RULES.replace("{8,64}", "{8,64}){1000}(?:x");
        let mut set = RuleSet::default();
        set.add_file_text("t.toml", &toml, false).unwrap();
        let err = Engine::new(&set).err().expect("must fail").to_string();
        assert!(err.contains("pattern"), "{err}");
    }
}
