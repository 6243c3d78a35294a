//! `reused`: one credential in more than one repository, or under the paths of different
//! environments (`deploy/prod/…` and `deploy/staging/…`, `app.dev.env` and `app.prod.env`):
//! a leak of one is a leak of all, and rotating it means finding every copy (OWASP NHI-9).

use std::collections::BTreeSet;

use crate::finding::{Finding, Status};

/// Environment names and the path words that mean each, in the order they are reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environments(pub Vec<(String, Vec<String>)>);

impl Default for Environments {
    fn default() -> Environments {
        let env = |name: &str, words: &[&str]| {
            (
                name.to_string(),
                words.iter().map(|w| w.to_string()).collect(),
            )
        };
        Environments(vec![
            env("dev", &["dev", "develop", "development", "local"]),
            env("test", &["test", "tests", "testing", "qa"]),
            env("staging", &["staging", "stage", "stg", "preprod", "uat"]),
            env("prod", &["prod", "production", "prd"]),
        ])
    }
}

impl Environments {
    /// The one environment a path's folder and file names say, if exactly one.
    pub fn of(&self, path: &str) -> Option<&str> {
        let words: BTreeSet<String> = path
            .split(['/', '.', '-', '_', '\\', '!'])
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        let mut found = self
            .0
            .iter()
            .filter(|(_, names)| names.iter().any(|n| words.contains(n)))
            .map(|(env, _)| env.as_str());
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }
}

/// Adds `reused`, with its reason, to each finding seen in several repositories or under
/// several environments' paths.
pub fn mark(findings: &mut [Finding], environments: &Environments) {
    for f in findings {
        let repos: BTreeSet<&str> = f
            .locations
            .iter()
            .filter_map(|l| l.repository.as_deref())
            .collect();
        let mut reasons = Vec::new();
        if repos.len() > 1 {
            let list: Vec<&str> = repos.iter().copied().collect();
            reasons.push(format!(
                "reused in {} repositories: {}",
                repos.len(),
                list.join(", ")
            ));
        }
        // Environment → the first place that shows it.
        let mut envs: Vec<(&str, &str)> = Vec::new();
        for l in &f.locations {
            if let Some(env) = environments.of(&l.path)
                && !envs.iter().any(|(e, _)| *e == env)
            {
                envs.push((env, &l.path));
            }
        }
        if envs.len() > 1 {
            envs.sort_by_key(|(env, _)| environments.0.iter().position(|(e, _)| e == env));
            let list: Vec<String> = envs
                .iter()
                .map(|(env, path)| format!("{env} ({path})"))
                .collect();
            reasons.push(format!("reused across environments: {}", list.join(", ")));
        }
        if !reasons.is_empty() {
            let a = &mut f.assessment;
            a.statuses.push(Status::Reused);
            a.statuses.sort();
            a.statuses.dedup();
            a.reasons.extend(reasons);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_one_environment_or_none() {
        let envs = Environments::default();
        assert_eq!(envs.of("deploy/prod/app.env"), Some("prod"));
        assert_eq!(envs.of("config/app.staging.yaml"), Some("staging"));
        assert_eq!(envs.of(".env.development"), Some("dev"));
        assert_eq!(
            envs.of("src/product/config.ts"),
            None,
            "a word, not a prefix"
        );
        assert_eq!(
            envs.of("docs/dev-to-prod.md"),
            None,
            "two environments: neither"
        );
        assert_eq!(envs.of("deploy/app.env"), None);
    }
}
