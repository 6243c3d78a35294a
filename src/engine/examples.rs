//! Rule self-tests, run through the compiled engine: every rule's `examples` must yield a finding of that rule (with exactly
//! the example's secret when one is given) and its `negative_examples` must yield none.
//! `cargo test` runs them for the built-in rules; `sprawl rules check` for any rule file.

use std::fmt;

use super::Engine;
use crate::rules::{RuleError, RuleSet};

/// One example that did not behave as its rule promised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleFailure {
    pub rule_id: String,
    pub origin: String,
    pub example: String,
    pub problem: String,
}

impl fmt::Display for ExampleFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Examples are fakes, but keep the line short and single: show where, not the whole text.
        let mut text: String = self.example.chars().take(60).collect();
        if text.len() < self.example.len() {
            text.push('…');
        }
        write!(
            f,
            "{}: rule '{}': {}: {}",
            self.origin,
            self.rule_id,
            self.problem,
            text.escape_debug()
        )
    }
}

/// The outcome of checking some rules.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub rules_checked: usize,
    pub examples_run: usize,
    pub failures: Vec<ExampleFailure>,
}

/// Runs the examples of the rules whose ids pass `wanted`, each rule alone (plus its
/// companion), so one rule's examples do not depend on the rest of the set.
pub fn check_rules(set: &RuleSet, wanted: impl Fn(&str) -> bool) -> Result<CheckReport, RuleError> {
    let mut report = CheckReport::default();
    for rule in set.rules.iter().filter(|r| wanted(r.id())) {
        let mut alone = RuleSet::default();
        if let Some(companion) = &rule.companion
            && let Some(other) = set.get(&companion.rule)
        {
            alone.rules.push(other.clone());
        }
        alone.rules.push(rule.clone());
        let engine = Engine::new(&alone)?;
        engine.compile_all(&alone)?;
        report.rules_checked += 1;
        // A negative example of a rule that reads only some files is tried in the first
        // example's file unless it names its own.
        let home = rule.examples.first().and_then(|e| e.path.as_deref());
        let own = |path: Option<&str>, text: &str| -> Vec<String> {
            engine
                .find_all_at(path, text.as_bytes())
                .into_iter()
                .filter(|m| engine.rule_info(m.rule).id == rule.id())
                .map(|m| String::from_utf8_lossy(&text.as_bytes()[m.secret]).into_owned())
                .collect()
        };
        let fail = |example: &str, problem: String| ExampleFailure {
            rule_id: rule.id().to_string(),
            origin: rule.origin.to_string(),
            example: example.to_string(),
            problem,
        };
        if rule.examples.is_empty() {
            report
                .failures
                .push(fail("", "rule has no positive examples".into()));
        }
        for example in &rule.examples {
            report.examples_run += 1;
            let secrets = own(example.path.as_deref(), &example.text);
            match &example.secret {
                _ if secrets.is_empty() => report
                    .failures
                    .push(fail(&example.text, "example produced no finding".into())),
                Some(want) if !secrets.iter().any(|s| s == want) => report.failures.push(fail(
                    &example.text,
                    format!(
                        "example's secret was not found (found {} other secret(s) of lengths {:?})",
                        secrets.len(),
                        secrets.iter().map(String::len).collect::<Vec<_>>()
                    ),
                )),
                _ => {}
            }
        }
        for negative in &rule.negative_examples {
            report.examples_run += 1;
            if !own(negative.path().or(home), negative.text()).is_empty() {
                report.failures.push(fail(
                    negative.text(),
                    "negative example produced a finding".into(),
                ));
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_rule_passes_its_examples() {
        let set = RuleSet::builtin().expect("built-in rules parse");
        let report = check_rules(&set, |_| true).expect("built-in rules compile");
        let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(report.rules_checked == set.rules.len());
    }

    #[test]
    fn failures_name_the_rule_and_the_example() {
        let mut set = RuleSet::default();
        set.add_file_text(
            "demo.toml",
            r#"
[[rules]]
id = "demo-token"
name = "Demo"
provider = "demo"
kind = "token"
keywords = ["demo_"]
pattern = '''\b(?P<secret>demo_[a-z0-9]{8})\b'''
examples = [{ text = "demo_abc", secret = "demo_abc" }, { text = "k=demo_a1b2c3d4", secret = "demo_a1b2c3d4" }]
negative_examples = ["demo_q9w8e7r6"]
"#,
            false,
        )
        .unwrap();
        let report = check_rules(&set, |_| true).unwrap();
        assert_eq!(report.examples_run, 3);
        let lines: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("demo.toml:3: rule 'demo-token': example produced no finding")
        );
        assert!(lines[1].contains("negative example produced a finding"));
    }
}
