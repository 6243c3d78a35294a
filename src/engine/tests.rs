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

/// A format many providers share (a JWT) and one provider's rule for its JWT-shaped tokens.
const BROAD_AND_PROVIDER: &str = r#"
[[rules]]
id = "demo-jwt"
name = "Broad"
provider = "jwt"
kind = "token"
broad = true
keywords = ["eyJ"]
pattern = '''(?P<secret>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})'''

[[rules]]
id = "demo-provider"
name = "Provider"
provider = "demo"
kind = "token"
keywords = ["demo_"]
pattern = '''demo_(?P<secret>eyJ[A-Za-z0-9_.-]{30,})'''
"#;

const DEMO_JWT: &str = "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.c2lnbmF0dXJlcw";

#[test]
fn a_broad_format_gives_way_to_a_provider_rule_that_overlaps_it() {
    let e = engine(BROAD_AND_PROVIDER);
    let found = e.find_all(format!("key = demo_{DEMO_JWT}").as_bytes());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(e.rule_info(found[0].rule).id, "demo-provider");
    // Without the provider's marker the broad rule reports it.
    let found = e.find_all(format!("key = {DEMO_JWT}").as_bytes());
    assert_eq!(e.rule_info(found[0].rule).id, "demo-jwt");
}

#[test]
fn only_generic_rules_give_way_to_a_match_that_was_rejected() {
    // The provider rule rejects its match; the JWT itself is still a JWT.
    let toml = format!("{BROAD_AND_PROVIDER}allow = ['''^eyJhbGciOiJIUzI1\\.''']\n");
    let e = engine(&toml);
    let found = e.find_all(format!("key = demo_{DEMO_JWT}").as_bytes());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(e.rule_info(found[0].rule).id, "demo-jwt");
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

const SCOPED: &str = r#"
[[rules]]
id = "demo-rc-password"
name = "Demo rc file password"
provider = "demo"
kind = "password"
keywords = ["password "]
paths = ['''(?:^|/)\.demorc$''']
weak_values = true
pattern = '''password (?P<secret>\S+)'''
examples = [{ text = "password pass123", secret = "pass123", path = ".demorc" }]
"#;

#[test]
fn scoped_rules_read_only_their_files() {
    let e = engine(SCOPED);
    let text = b"password pass123\n";
    assert_eq!(e.find_all_at(Some("home/.demorc"), text).len(), 1);
    assert!(e.find_all_at(Some("home/notes.txt"), text).is_empty());
    // Without a path (a decoded buffer, a caller that knows none) the rule stays muted.
    assert!(e.find_all(text).is_empty());
    // One scratch across files: scoping follows each file.
    let mut scratch = e.new_scratch();
    for (path, want) in [(".demorc", 1), ("README", 0), ("a/.demorc", 1)] {
        let mut out = Vec::new();
        e.scope_to(path, &mut scratch);
        e.scan(text, &mut scratch, &mut out);
        assert_eq!(out.len(), want, "{path}");
    }
}

#[test]
fn weak_values_are_kept_and_references_dropped() {
    let e = engine(SCOPED);
    let found = |text: &str| e.find_all_at(Some(".demorc"), text.as_bytes()).len();
    for weak in [
        "password password",
        "password changeme",
        "password example1",
    ] {
        assert_eq!(found(weak), 1, "{weak}");
    }
    for reference in [
        "password ${RC_PASSWORD}",
        "password {{rc.pw}}",
        "password <password>",
        "password $RC_PASSWORD",
        "password %RC_PASSWORD%",
        "password ********",
    ] {
        assert_eq!(found(reference), 0, "{reference}");
    }
}

#[test]
fn a_scoped_rule_needs_example_paths_and_valid_path_patterns() {
    let mut set = RuleSet::default();
    let no_path = SCOPED.replace(", path = \".demorc\"", "");
    let err = set.add_file_text("t.toml", &no_path, false).unwrap_err();
    assert!(
        err.to_string().contains("give each example a `path`"),
        "{err}"
    );
    let mut set = RuleSet::default();
    set.add_file_text("t.toml", &SCOPED.replace(r"\.demorc$", "(unclosed"), false)
        .unwrap();
    let err = Engine::new(&set)
        .err()
        .expect("bad paths pattern")
        .to_string();
    assert!(
        err.contains("demo-rc-password") && err.contains("paths"),
        "{err}"
    );
}

#[test]
fn allow_identifiers_drop_a_match_by_what_a_group_captured() {
    let e = engine(
        r#"
[[rules]]
id = "demo-data"
name = "Demo data"
provider = "demo"
kind = "password"
keywords = ["data:"]
pattern = '''data: (?P<field>\w+)=(?P<secret>\w{8,})'''
allow_identifiers = { field = ['''(?i)user$'''] }
"#,
    );
    assert_eq!(e.find_all(b"data: DB_PASSWORD=Zq8vR2pLw7").len(), 1);
    let mut scratch = e.new_scratch();
    scratch.trace(true);
    let mut out = Vec::new();
    e.scan(b"data: DB_USER=etlwriter1", &mut scratch, &mut out);
    assert!(out.is_empty());
    let trace = scratch.take_trace();
    assert!(matches!(&trace[0].dropped, Some(Dropped::AllowIdentifier(g)) if &**g == "field"));
    // Not a look-alike of a credential: the note about dropped look-alikes does not count it.
    assert!(scratch.take_dropped().is_empty());
}
