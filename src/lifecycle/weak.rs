//! Why a password is weak: a password found in a credential file is reported however weak it
//! is (`pass123` in `.netrc` is still a leaked login, and the first one an attacker tries),
//! and the report says why it is weak, so it is changed first.

use serde_json::{Value, json};

use super::Lifecycle;

/// Shorter than this is "short": NIST SP 800-63B asks for 8 at least, and service accounts
/// with generated passwords have no reason to use fewer than 12.
const SHORT: usize = 12;

/// Below this many bits per character, a password of any length repeats itself.
const LOW_ENTROPY: f64 = 2.5;

/// Passwords every cracking list starts with, in lowercase; a password that is one of them,
/// or one of them with digits or symbols after it (`password1!`), is called common.
const COMMON: &[&str] = &[
    "123456",
    "12345678",
    "123456789",
    "1234567890",
    "111111",
    "000000",
    "654321",
    "123123",
    "password",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "pass",
    "passwd",
    "pwd",
    "secret",
    "qwerty",
    "qwertyuiop",
    "asdf",
    "asdfgh",
    "zxcvbn",
    "abc123",
    "letmein",
    "welcome",
    "admin",
    "administrator",
    "root",
    "toor",
    "guest",
    "test",
    "tester",
    "testing",
    "demo",
    "default",
    "changeme",
    "changeit",
    "master",
    "login",
    "user",
    "username",
    "iloveyou",
    "monkey",
    "dragon",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "shadow",
    "superman",
    "trustno1",
    "hunter",
    "hello",
    "whatever",
    "starwars",
    "freedom",
    "mysql",
    "postgres",
    "oracle",
    "database",
    "example",
    "sample",
    "dummy",
    "temp",
    "temporary",
    "access",
    "system",
    "server",
    "manager",
    "service",
    "support",
    "backup",
    "swordfish",
];

/// Adds the `weak` fact (`{"reasons": [...]}`) to a password's facts when it is weak.
pub fn inspect(secret: &[u8], life: &mut Lifecycle) {
    let reasons = reasons(secret);
    if !reasons.is_empty() {
        life.facts
            .insert("weak".into(), json!({ "reasons": reasons }));
    }
}

/// The reasons for the `weak` fact, as a report prints them.
pub fn reasons_of(life: &Lifecycle) -> Vec<String> {
    life.facts
        .get("weak")
        .and_then(|weak| weak.get("reasons"))
        .and_then(Value::as_array)
        .map(|reasons| {
            reasons
                .iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Why this password is weak, most telling first; empty when nothing says so.
fn reasons(secret: &[u8]) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(secret.trim_ascii()) else {
        return Vec::new();
    };
    // A hash (`$6$…`, `$2y$…`) or a key is not a password a person chose.
    if text.starts_with('$') && text.len() > 20 {
        return Vec::new();
    }
    let mut reasons = Vec::new();
    let lower = text.to_ascii_lowercase();
    let stem = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    if COMMON.contains(&lower.as_str()) {
        reasons.push("a common password".to_string());
    } else if !stem.is_empty() && COMMON.contains(&stem) {
        reasons.push("a common password with digits or symbols added".to_string());
    } else if is_word(stem) {
        reasons.push(if stem.len() == lower.len() {
            "a single word".to_string()
        } else {
            "a word with digits or symbols added".to_string()
        });
    }
    let length = text.chars().count();
    if length < SHORT {
        reasons.push(format!("short ({length} characters)"));
    }
    let entropy = crate::engine::filters::shannon_entropy(secret.trim_ascii());
    if length >= 4 && entropy < LOW_ENTROPY {
        reasons.push(format!("few distinct characters ({entropy:.1} bits each)"));
    }
    reasons
}

/// Letters only, or words joined by `_`/`-` (`irc_pass`, `AdminPassword`): what a person
/// types, not what a generator emits.
fn is_word(text: &str) -> bool {
    text.len() >= 3
        && text
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-')
        && text.chars().any(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_say_why() {
        assert_eq!(
            reasons(b"pass123"),
            vec![
                "a common password with digits or symbols added",
                "short (7 characters)"
            ]
        );
        assert_eq!(
            reasons(b"password"),
            vec!["a common password", "short (8 characters)"]
        );
        assert_eq!(
            reasons(b"hunter22")[0],
            "a common password with digits or symbols added"
        );
        assert_eq!(
            reasons(b"AdminPassword123")[0],
            "a word with digits or symbols added"
        );
        assert_eq!(
            reasons(b"aaaa1111aaaa1111")[0],
            "few distinct characters (1.0 bits each)"
        );
    }

    #[test]
    fn strong_passwords_and_hashes_are_not_weak() {
        assert!(reasons(b"Zq8vR2pLw7xNk4Tb").is_empty());
        assert!(reasons(b"$6$rounds=5000$abcdefgh$0123456789abcdefABCDEF").is_empty());
    }

    #[test]
    fn the_fact_reads_back() {
        let mut life = Lifecycle::default();
        inspect(b"letmein", &mut life);
        assert_eq!(
            reasons_of(&life),
            vec!["a common password", "short (7 characters)"]
        );
    }
}
