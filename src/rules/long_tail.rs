//! The long tail of providers: hundreds of SaaS APIs issue keys of a generic shape (32 hex, 40
//! alphanumerics, a UUID) that only the provider's name beside them identifies. Writing a
//! full rule for each would be hundreds of near-copies; instead a rule file may hold `[[key]]`
//! entries, one line of facts each, which become ordinary rules when the file is loaded:
//!
//! ```toml
//! [[key]]
//! id = "airtable-api-key"
//! name = "Airtable API key"
//! provider = "airtable"
//! keywords = ["airtable"]
//! prefix = "key"            # optional: the value's own literal start
//! shape = "alnum"           # the value's alphabet after the prefix
//! length = 14               # characters after the prefix, or [min, max]
//! description = "Reads and writes every base the account can reach."
//! revoke = "Delete it under Account > API."
//! ```
//!
//! The value must follow a key whose name starts with one of the `keywords` and, unless the
//! value has its own prefix, also says it holds a secret (`AIRTABLE_API_KEY`, `mapboxToken`,
//! `hubspot.accessToken`), then an assignment (`=`, `:`, `:=`, `=>`). Each entry gets
//! generated positive and negative examples, so `sprawl rules check` tests it like any rule.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::{Example, Kind, NegativeExample, Rule};

/// One provider's key, as a long-tail table writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongTailKey {
    id: Spanned<String>,
    name: String,
    provider: String,
    #[serde(default = "api_key")]
    kind: Kind,
    keywords: Vec<String>,
    shape: Shape,
    /// Characters after the prefix: one number or `[min, max]` (not given for a UUID).
    length: Option<Length>,
    /// A literal the value itself starts with (`key`, `pat-`).
    prefix: Option<String>,
    description: String,
    revoke: String,
    /// The provider check `--validate` runs (`[checks.NAME]` of this or a built-in file).
    check: Option<String>,
}

fn api_key() -> Kind {
    Kind::ApiKey
}

/// The alphabet of a value (after its prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// `[0-9a-f]`
    Hex,
    /// `[0-9A-F]`
    UpperHex,
    /// `[0-9a-fA-F]`
    AnyHex,
    /// `[A-Za-z0-9]`
    Alnum,
    /// `[a-z0-9]`
    LowerAlnum,
    /// `[A-Z0-9]`
    UpperAlnum,
    /// `[A-Za-z0-9+/]`, with up to two `=` of padding after.
    Base64,
    /// `[A-Za-z0-9_-]`
    Base64url,
    /// `[0-9]`
    Digits,
    /// `8-4-4-4-12` hex digits.
    Uuid,
}

impl Shape {
    fn class(self) -> &'static str {
        match self {
            Shape::Hex => "[0-9a-f]",
            Shape::UpperHex => "[0-9A-F]",
            Shape::AnyHex | Shape::Uuid => "[0-9a-fA-F]",
            Shape::Alnum => "[A-Za-z0-9]",
            Shape::LowerAlnum => "[a-z0-9]",
            Shape::UpperAlnum => "[A-Z0-9]",
            Shape::Base64 => "[A-Za-z0-9+/]",
            Shape::Base64url => "[A-Za-z0-9_-]",
            Shape::Digits => "[0-9]",
        }
    }

    fn alphabet(self) -> &'static [u8] {
        match self {
            Shape::Hex | Shape::Uuid => b"0123456789abcdef",
            Shape::UpperHex => b"0123456789ABCDEF",
            Shape::AnyHex => b"0123456789abcdefABCDEF",
            Shape::Alnum => b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            Shape::LowerAlnum => b"0123456789abcdefghijklmnopqrstuvwxyz",
            Shape::UpperAlnum => b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            Shape::Base64 => b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/",
            Shape::Base64url => b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-",
            Shape::Digits => b"0123456789",
        }
    }

    /// Shapes whose random values nearly always mix letters and digits: an all-letter or
    /// all-digit value there is a word, a name or a number, not a key.
    fn mixes_letters_and_digits(self) -> bool {
        !matches!(self, Shape::Digits | Shape::Uuid)
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum Length {
    Exact(usize),
    Range([usize; 2]),
}

impl Length {
    fn bounds(self) -> (usize, usize) {
        match self {
            Length::Exact(n) => (n, n),
            Length::Range([a, b]) => (a.min(b), a.max(b)),
        }
    }
}

/// Words one of which a key name must hold (after the provider's name) when the value has no
/// prefix of its own: `AIRTABLE_BASE=app...` names a base, `AIRTABLE_API_KEY` a secret.
const SECRET_WORDS: &str = "key|token|secret|passw|pwd|auth|api|cred|access|bearer";

/// Size of the hex alphabet: the entropy floor assumes no richer one (see `into_rule`).
const HEX_ALPHABET: usize = 16;

/// Characters that would continue a value: one of them right after the value means the value
/// is longer than the shape says, so it is something else.
const CONTINUES_A_VALUE: &str = "[^A-Za-z0-9_+/=-]";

impl LongTailKey {
    pub fn id(&self) -> &str {
        self.id.get_ref()
    }

    /// Where the entry's `id` sits in its file.
    pub fn span_start(&self) -> usize {
        self.id.span().start
    }

    /// The rule this entry stands for. `span` is where the entry sits in its file (for the
    /// rule's origin line); errors are the entry's, as sentences.
    pub fn into_rule(self) -> Result<Rule, String> {
        let span: Range<usize> = self.id.span();
        let id = self.id.get_ref().clone();
        if self.keywords.iter().any(|k| k.len() < 3) {
            return Err("keywords must be at least 3 characters".into());
        }
        let (min, max) = match (self.shape, self.length) {
            (Shape::Uuid, _) => (36, 36),
            (_, Some(length)) => length.bounds(),
            (_, None) => return Err("length is required unless shape = \"uuid\"".into()),
        };
        if min == 0 || max > 512 {
            return Err("length must be between 1 and 512".into());
        }
        let prefix = self.prefix.clone().unwrap_or_default();
        let value = match self.shape {
            Shape::Uuid => {
                let h = Shape::Uuid.class();
                format!("{h}{{8}}-{h}{{4}}-{h}{{4}}-{h}{{4}}-{h}{{12}}")
            }
            Shape::Base64 => format!("{}{{{min},{max}}}={{0,2}}", Shape::Base64.class()),
            shape => format!("{}{{{min},{max}}}", shape.class()),
        };
        let keywords: Vec<String> = self.keywords.iter().map(|k| regex_escape(k)).collect();
        // With its own prefix the value identifies itself; without, the key must say secret.
        let key_name = if prefix.is_empty() {
            format!("[\\w.-]{{0,30}}?(?:{SECRET_WORDS})[\\w.-]{{0,20}}?")
        } else {
            "[\\w.-]{0,40}?".to_string()
        };
        let pattern = format!(
            "(?i)(?:{keywords}){key_name}[\"'`]?\\]?[ \\t]{{0,4}}(?:=|:=|:|=>)[ \\t]{{0,4}}[\"'`]?\
             (?P<secret>(?-i:{prefix}{value}))(?:{CONTINUES_A_VALUE}|$)",
            keywords = keywords.join("|"),
            prefix = regex_escape(&prefix),
        );
        // The floor is that of a hex value at most: a provider documented as "32 alphanumerics"
        // may issue hex, and a floor set by the wider alphabet would drop nearly every such key
        // (and, since a dropped match vetoes the generic rules, report nothing at all).
        let alphabet = self.shape.alphabet().len();
        let min_entropy = 0.75 * (min.min(alphabet).min(HEX_ALPHABET) as f64).log2();
        let mut allow = Vec::new();
        if self.shape.mixes_letters_and_digits() && min >= 12 {
            allow.push(format!("^{}[A-Za-z+/=_-]+$", regex_escape(&prefix)));
            allow.push(format!("^{}[0-9]+$", regex_escape(&prefix)));
        }
        let examples = self.examples(&id, &prefix, min, max);
        let description = format!("{} {}", self.description.trim(), self.revoke.trim());
        Ok(Rule {
            id: Spanned::new(span, id),
            name: self.name,
            provider: self.provider,
            kind: self.kind,
            keywords: self.keywords,
            case_insensitive: true,
            pattern,
            min_entropy: Some(min_entropy),
            format_check: None,
            allow,
            allow_before: Vec::new(),
            allow_identifiers: Default::default(),
            exclude_paths: Vec::new(),
            paths: Vec::new(),
            key_paths: Vec::new(),
            weak_values: false,
            window_before: Some(0),
            window_after: Some(96 + prefix.len() + max),
            description: Some(description),
            generic: false,
            broad: false,
            keyed: true,
            companion: None,
            check: self.check.clone(),
            resolved_check: None,
            examples: examples.0,
            negative_examples: examples.1,
            origin: Default::default(),
        })
    }

    /// Two positives (shortest and longest length) and negatives: a value one character too
    /// long, a key that does not say secret (when there is no prefix), the value without the
    /// provider's name, and a placeholder.
    fn examples(
        &self,
        id: &str,
        prefix: &str,
        min: usize,
        max: usize,
    ) -> (Vec<Example>, Vec<NegativeExample>) {
        let keyword = &self.keywords[0];
        let env = keyword
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect::<String>();
        let first = fake_value(self.shape, id, 1, min);
        let second = fake_value(self.shape, id, 2, max);
        let (first, second) = (format!("{prefix}{first}"), format!("{prefix}{second}"));
        let positives = vec![
            Example {
                text: format!("{env}_API_KEY=\"{first}\"\n"),
                secret: Some(first.clone()),
                path: None,
            },
            Example {
                text: format!("{keyword}.accessToken: {second}\n"),
                secret: Some(second.clone()),
                path: None,
            },
        ];
        // One more character of the alphabet (every alphabet has `7`) after the longest value.
        let too_long = format!("{second}7");
        let mut negatives = vec![
            format!("{env}_API_KEY=\"{too_long}\"\n"),
            format!("SERVICE_API_KEY=\"{first}\"\n"),
            format!("{env}_API_KEY=\"{prefix}{}\"\n", "x".repeat(max)),
        ];
        if prefix.is_empty() {
            negatives.push(format!("{env}_REGION=\"{first}\"\n"));
        }
        (
            positives,
            negatives.into_iter().map(NegativeExample::Text).collect(),
        )
    }
}

/// A value of `len` characters of the shape, the same for the same rule and salt, that passes
/// the rule's own checks (mixed letters and digits, enough entropy).
fn fake_value(shape: Shape, id: &str, salt: u64, len: usize) -> String {
    if shape == Shape::Uuid {
        let hex = fake_value(Shape::Hex, id, salt, 32);
        return format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        );
    }
    let alphabet = shape.alphabet();
    // FNV-1a of the id, then xorshift64: fixed per rule, random enough for entropy checks.
    let mut state = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    loop {
        let value: String = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(alphabet[(state % alphabet.len() as u64) as usize])
            })
            .collect();
        let letters = value.bytes().any(|b| b.is_ascii_alphabetic());
        let digits = value.bytes().any(|b| b.is_ascii_digit());
        let distinct = {
            let mut seen: Vec<u8> = value.bytes().collect();
            seen.sort_unstable();
            seen.dedup();
            seen.len()
        };
        let mixed = !shape.mixes_letters_and_digits() || len < 12 || (letters && digits);
        // Enough distinct characters that no filter of look-alikes (entropy, repeats) drops
        // the value: three quarters of what could be, up to 16 (the entropy floor's widest
        // alphabet); beyond that half, as three quarters made a 64-character base64 value a
        // rare draw, and the retries a tenth of sprawl's start-up.
        let possible = len.min(alphabet.len());
        let needed = if possible <= 16 {
            (possible * 3).div_ceil(4)
        } else {
            12.max(possible / 2)
        };
        if mixed && distinct >= needed {
            return value;
        }
    }
}

/// `text` as a regex literal.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::engine::Engine;
    use crate::engine::examples::check_rules;
    use crate::rules::RuleSet;

    const TABLE: &str = r#"
[[key]]
id = "acme-api-key"
name = "Acme API key"
provider = "acme"
keywords = ["acme"]
shape = "alnum"
length = 32
description = "Reads the account's data."
revoke = "Delete it in the Acme console."

[[key]]
id = "widgets-token"
name = "Widgets token"
provider = "widgets"
kind = "token"
keywords = ["widgets", "wdg"]
prefix = "wdg_"
shape = "hex"
length = [20, 24]
description = "Acts for the user."
revoke = "Revoke it under Settings."

[[key]]
id = "gizmo-key"
name = "Gizmo key"
provider = "gizmo"
keywords = ["gizmo"]
shape = "uuid"
description = "A key."
revoke = "Rotate it."
"#;

    fn table() -> RuleSet {
        let mut set = RuleSet::default();
        set.add_file_text("tail.toml", TABLE, false).unwrap();
        set
    }

    #[test]
    fn entries_become_rules_that_pass_their_generated_examples() {
        let set = table();
        assert_eq!(set.rules.len(), 3);
        assert_eq!(set.rules[0].origin.line, 3, "the entry's line");
        let report = check_rules(&set, |_| true).unwrap();
        let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert_eq!(report.rules_checked, 3);
    }

    #[test]
    fn the_provider_named_by_the_key_outranks_a_shared_prefix() {
        // Two providers issue `wdg_` keys: the one named by the key wins its value.
        let mut set = table();
        set.add_file_text(
            "other.toml",
            r#"
[[rules]]
id = "other-wdg"
name = "Other"
provider = "other"
kind = "token"
keywords = ["wdg_"]
pattern = '''\b(?P<secret>wdg_[0-9a-f]{20,24})\b'''
"#,
            false,
        )
        .unwrap();
        let engine = Engine::new(&set).unwrap();
        let found = engine.find_all(b"WIDGETS_TOKEN=wdg_9f8e7d6c5b4a39281706\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(engine.rule_info(found[0].rule).id, "widgets-token");
    }

    #[test]
    fn a_key_name_must_say_secret_unless_the_value_has_a_prefix() {
        let set = table();
        let engine = Engine::new(&set).unwrap();
        let found = |text: &str| engine.find_all(text.as_bytes()).len();
        let key = "k3N9wQ2mX7vB4pL8zR1tY6uH0jF5dS2a";
        assert_eq!(found(&format!("ACME_API_KEY={key}\n")), 1);
        assert_eq!(found(&format!("\"acmeToken\": \"{key}\"\n")), 1);
        assert_eq!(found(&format!("ACME_ACCOUNT={key}\n")), 0);
        assert_eq!(found(&format!("ACME_API_KEY={key}x\n")), 0, "too long");
        assert_eq!(
            found("ACME_API_KEY=abcdefghijklmnopqrstuvwxyzabcdef\n"),
            0,
            "letters"
        );
        // An entry written as alphanumeric still finds a provider's hex keys.
        assert_eq!(
            found("ACME_API_KEY=9f86d081884c7d659a2feaa0c55ad015\n"),
            1,
            "hex"
        );
        // A prefixed value is identified by it: any key name will do.
        assert_eq!(found("widgets_endpoint = wdg_9f8e7d6c5b4a39281706\n"), 1);
        assert_eq!(
            found("gizmo-secret: 3f1c2b4a-9d8e-4f7a-b6c5-0e1d2c3b4a59\n"),
            1
        );
    }

    #[test]
    fn a_bad_entry_is_an_error_naming_the_file_and_line() {
        let mut set = RuleSet::default();
        let bad = TABLE.replace("length = 32\n", "");
        let err = set
            .add_file_text("tail.toml", &bad, false)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("tail.toml:3"), "{err}");
        assert!(err.contains("length is required"), "{err}");
        let typo = TABLE.replace("shape = \"alnum\"", "shape = \"alphanumeric\"");
        let err = set
            .add_file_text("tail.toml", &typo, false)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("tail.toml:"), "{err}");
    }
}
