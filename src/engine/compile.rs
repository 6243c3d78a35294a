//! Rules compiled for matching: each rule's pattern (a linear-time regex over bytes, ASCII
//! classes), its allow lists, checks and windows; and the keyword triggers the automaton
//! reports. Compiled once per run and shared read-only across threads.

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use regex_automata::PatternID;
use regex_automata::meta;
use regex_automata::util::syntax;

use super::{CONTEXT_BEFORE, Dropped, RuleIdx, RuleInfo, filters};
use crate::rules::{FormatCheck, Rule, RuleError, invalid};

/// Compiled-regex size limit per rule: generous for real rules, but a runaway user pattern
/// (huge counted repetitions) is a clear error instead of gigabytes of automaton.
pub(super) const REGEX_SIZE_LIMIT: usize = 8 << 20;

pub(super) struct CompiledRule {
    pub(super) info: Arc<RuleInfo>,
    pub(super) pattern: String,
    /// Compiled on first use for built-in rules (their patterns are compiled by `cargo test`,
    /// and a small scan such as `--staged` touches few rules: compiling all 218 took 70 ms);
    /// compiled up front for user rules, so their errors show before the scan.
    pub(super) matcher: OnceLock<Option<Matcher>>,
    pub(super) min_entropy: Option<f64>,
    pub(super) format_check: Option<FormatCheck>,
    pub(super) allow: Vec<String>,
    pub(super) allow_before: Vec<String>,
    pub(super) allow_identifiers: Vec<(String, Vec<String>)>,
    pub(super) exclude_paths: Vec<String>,
    pub(super) key_paths: Vec<String>,
    /// Values in a field the file's format defines as a credential: no entropy floor, and
    /// only references and stand-ins are dropped (see [`filters::reference_marker`]).
    pub(super) weak_values: bool,
    pub(super) window_before: usize,
    pub(super) window_after: usize,
    /// `window_before = 0`: the match must begin at the keyword, so each hit gets one
    /// anchored search that fails within a few bytes on `token()` or `tokenizer`, instead
    /// of a scan of a whole window (5× less time on the generic rules in real code).
    pub(super) anchored: bool,
    pub(super) companion: Option<CompanionLink>,
}

/// Everything of a rule that is compiled: its pattern and its allow lists.
pub(super) struct Matcher {
    pub(super) regex: meta::Regex,
    pub(super) secret_group: usize,
    pub(super) identifier_groups: Vec<(Arc<str>, usize)>,
    pub(super) allow: Vec<regex::bytes::Regex>,
    pub(super) allow_before: Vec<regex::bytes::Regex>,
    /// By index of the named group: what it may not capture.
    pub(super) allow_identifiers: Vec<(usize, Vec<regex::bytes::Regex>)>,
    pub(super) exclude_paths: Vec<regex::bytes::Regex>,
    pub(super) key_paths: Vec<regex::bytes::Regex>,
}

impl Matcher {
    pub(super) fn new(rule: &CompiledRule) -> Result<Matcher, String> {
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
        let key_paths = small("key_paths", &rule.key_paths)?;
        let regex = compile_pattern(&rule.pattern).map_err(|e| format!("pattern: {e}"))?;
        let group_info = regex.group_info();
        let Some(secret_group) = group_info.to_index(PatternID::ZERO, "secret") else {
            return Err("pattern has no named group `secret`".into());
        };
        let mut allow_identifiers = Vec::new();
        for (name, patterns) in &rule.allow_identifiers {
            let Some(group) = group_info.to_index(PatternID::ZERO, name) else {
                return Err(format!(
                    "allow_identifiers: the pattern has no group `{name}`"
                ));
            };
            allow_identifiers.push((group, small("allow_identifiers", patterns)?));
        }
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
            allow_identifiers,
            exclude_paths,
            key_paths,
        })
    }
}

pub(super) struct CompanionLink {
    pub(super) rule: RuleIdx,
    pub(super) within: usize,
    pub(super) identifier: Arc<str>,
}

/// A keyword hit triggers these rules; case-sensitive rules also need the exact bytes.
pub(super) struct Trigger {
    pub(super) rule: RuleIdx,
    pub(super) keyword: Box<[u8]>,
    pub(super) case_insensitive: bool,
}

impl Trigger {
    /// The keyword's span when it is at `start` in the case the rule asks for.
    pub(super) fn confirm(&self, hay: &[u8], start: usize) -> Option<Range<usize>> {
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

impl Matcher {
    /// The group whose capture one of the rule's `allow_identifiers` matched, if any.
    pub(super) fn allowed_identifier(
        &self,
        hay: &[u8],
        caps: &regex_automata::util::captures::Captures,
    ) -> Option<Arc<str>> {
        for (group, patterns) in &self.allow_identifiers {
            let Some(span) = caps.get_group(*group) else {
                continue;
            };
            if patterns.iter().any(|re| re.is_match(&hay[span.range()])) {
                let name = self
                    .identifier_groups
                    .iter()
                    .find(|(_, g)| g == group)
                    .map_or_else(|| Arc::from("identifier"), |(n, _)| n.clone());
                return Some(name);
            }
        }
        None
    }

    pub(super) fn allowed_by_context(&self, hay: &[u8], match_start: usize) -> bool {
        if self.allow_before.is_empty() {
            return false;
        }
        let before = &hay[match_start.saturating_sub(CONTEXT_BEFORE)..match_start];
        self.allow_before.iter().any(|re| re.is_match(before))
    }
}

impl CompiledRule {
    pub(super) fn matcher(&self) -> Option<&Matcher> {
        self.matcher
            .get_or_init(|| Matcher::new(self).ok())
            .as_ref()
    }

    /// Whether the secret passes the rule's checks, and if not, the first that failed.
    pub(super) fn verdict(&self, matcher: &Matcher, secret: &[u8]) -> Result<(), Dropped> {
        if self.weak_values {
            if matcher.allow.iter().any(|re| re.is_match(secret)) {
                return Err(Dropped::AllowPattern);
            }
            return filters::reference_marker(secret)
                .map_or(Ok(()), |m| Err(Dropped::Placeholder(m)));
        }
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

pub(super) fn compile_rule(rule: &Rule, order: u32) -> Result<CompiledRule, RuleError> {
    let compiled = CompiledRule {
        info: Arc::new(RuleInfo::of(rule, order)),
        pattern: rule.pattern.clone(),
        matcher: OnceLock::new(),
        min_entropy: rule.min_entropy,
        format_check: rule.format_check,
        allow: rule.allow.clone(),
        allow_before: rule.allow_before.clone(),
        allow_identifiers: rule
            .allow_identifiers
            .iter()
            .map(|(name, patterns)| (name.clone(), patterns.clone()))
            .collect(),
        exclude_paths: rule.exclude_paths.clone(),
        key_paths: rule.key_paths.clone(),
        weak_values: rule.weak_values,
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
pub(super) fn compile_pattern(pattern: &str) -> Result<meta::Regex, String> {
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

pub(super) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
