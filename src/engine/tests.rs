//! Tests of the engine: keywords, windows, companions, overlaps and limits.

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
