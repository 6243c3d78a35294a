//! SARIF 2.1.0 for GitHub code scanning and other SARIF consumers, built with serde-sarif.
//!
//! One run; one rule descriptor per rule that fired; one result per location of a finding,
//! so a secret committed in three files is three alerts to clean up (one credential to
//! rotate: all three carry the same partial fingerprint). A location that prints as the same
//! file and region as an earlier one of its finding (the work tree and the commit that added
//! the line) is not repeated. Nothing here reads `Finding::secret`: results name the
//! credential by its redacted form only.
//!
//! The output holds no timestamps or durations, so the same scan gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use serde_json::{Value, json};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location as SarifLocation, Message, MultiformatMessageString,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, Sarif, Suppression, Tool, ToolComponent,
};
use sha2::Digest as _;

use super::{Options, Reporter};
use crate::dates;
use crate::engine::RuleInfo;
use crate::finding::{Finding, Location, Suppressed, SuppressionKind};
use crate::rules::Kind;
use crate::run::Summary;

/// `$schema` of the log: the SARIF 2.1.0 schema as JSON Schema Store serves it.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
pub const SARIF_VERSION: &str = "2.1.0";
const INFORMATION_URI: &str = "https://github.com/sprawl-scanner/sprawl";
/// Every artifact URI is relative to this base: the scanned directory, or the repository
/// root for history. Absolute paths would leak the scanning machine's layout and break
/// GitHub's alert matching, which needs the same path from run to run.
pub const SRCROOT: &str = "%SRCROOT%";
/// Name of sprawl's key in `partialFingerprints`, versioned (`…/v1`) so that a later change
/// of what is hashed can be told apart.
pub const FINGERPRINT_KEY: &str = "sprawlFingerprint/v1";
/// CWE-798, Use of Hard-coded Credentials: GitHub shows `external/cwe/…` tags on alerts.
const CWE_TAG: &str = "external/cwe/cwe-798";
const REMEDIATION: &str =
    "Rotate or revoke the credential, then remove it from the code and its history.";

// GitHub code scanning's upload limits, from docs.github.com "SARIF results exceed one or
// more limits" (code-security/code-scanning/troubleshooting-sarif-uploads/
// results-exceed-limit) and "SARIF support for code scanning". An upload over a maximum is
// rejected whole; below it GitHub keeps only part (the top 5,000 results by severity, 100
// locations per result, 10 tags per rule).

/// Results per run: GitHub rejects more than 25,000 and shows the top 5,000.
pub const MAX_RESULTS_PER_RUN: usize = 25_000;
/// Rules per run. Rules are described only for the results kept, so this holds whenever
/// [`MAX_RESULTS_PER_RUN`] does.
pub const MAX_RULES_PER_RUN: usize = 25_000;
/// Locations per result (GitHub shows 100). sprawl writes one per result.
pub const MAX_LOCATIONS_PER_RESULT: usize = 1_000;
/// Tags per rule (GitHub shows 10). sprawl writes at most five.
pub const MAX_TAGS_PER_RULE: usize = 20;
/// Size of the gzip-compressed SARIF file (docs.github.com "SARIF results file is too
/// large"). Not checked here: 25,000 results compress to far less.
pub const MAX_GZIP_BYTES: usize = 10 * 1024 * 1024;

const _: () = assert!(MAX_RULES_PER_RUN >= MAX_RESULTS_PER_RUN);
const _: () = assert!(MAX_LOCATIONS_PER_RESULT >= 1);

/// One result to write: a place where a finding (or a suppressed one) was seen.
struct Entry<'a> {
    finding: &'a Finding,
    location: &'a Location,
    uri: String,
    suppressed: Option<&'a Suppressed>,
}

/// A place as a SARIF viewer shows it: the file and the region in it.
type Place = (String, usize, usize, usize, usize);

/// The places of `finding`, once each. A history scan can see one place several times: in
/// the work tree and in the commit that added it, or in each rewrite of a file that kept the
/// line. Those print as the same file and region, so they would be duplicate alerts; the
/// first (the work tree's, as locations sort) is kept.
fn entries<'a>(finding: &'a Finding, suppressed: Option<&'a Suppressed>) -> Vec<Entry<'a>> {
    let mut seen: BTreeSet<Place> = BTreeSet::new();
    let mut entries = Vec::with_capacity(finding.locations.len());
    for location in &finding.locations {
        let uri = relative_uri(&location.path);
        let place = (
            uri.clone(),
            location.line,
            location.column,
            location.end_line,
            location.end_column,
        );
        if seen.insert(place) {
            entries.push(Entry {
                finding,
                location,
                uri,
                suppressed,
            });
        }
    }
    entries
}

/// `--format sarif`: the SARIF log of the run.
pub struct SarifReport(pub Options);

impl Reporter for SarifReport {
    fn write(&self, run: &crate::run::Run, out: &mut dyn Write) -> io::Result<()> {
        let mut log = sarif_json(&run.findings, self.0.listed_suppressed(run), &run.summary);
        if let Some(scan) = &run.scan {
            name_what_was_scanned(&mut log, scan);
        }
        serde_json::to_writer_pretty(&mut *out, &log)?;
        writeln!(out)
    }
}

/// What the report covers, in the run: the `scan` object among its properties (without its
/// start time: the same scan gives the same log), and the repository and commit as
/// `versionControlProvenance` (when the repository is a URL).
fn name_what_was_scanned(log: &mut Value, scan: &crate::run::ScanInfo) {
    let Some(run) = log.pointer_mut("/runs/0").and_then(Value::as_object_mut) else {
        return;
    };
    if let (Some(repository), Some(commit)) = (&scan.repository, &scan.commit)
        && repository.contains("://")
    {
        run.insert(
            "versionControlProvenance".into(),
            json!([{"repositoryUri": repository, "revisionId": commit}]),
        );
    }
    if let Some(properties) = run.get_mut("properties").and_then(Value::as_object_mut) {
        let mut scan = json!(scan);
        if let Some(map) = scan.as_object_mut() {
            map.shift_remove("started_at");
        }
        properties.insert("scan".into(), scan);
    }
}

/// The SARIF log of one run: every rule that fired, one result per place a credential was
/// seen. `suppressed` (given with --show-suppressed, else empty) become results with
/// `suppressions`.
///
/// Past [`MAX_RESULTS_PER_RUN`] results, the rest are left out (in the order given: findings
/// first, then suppressed ones) and `run.properties.truncated_results` says how many.
pub fn sarif_json(findings: &[Finding], suppressed: &[Suppressed], summary: &Summary) -> Value {
    let all = findings
        .iter()
        .map(|finding| (finding, None))
        .chain(suppressed.iter().map(|s| (&s.finding, Some(s))))
        .flat_map(|(finding, suppressed)| entries(finding, suppressed));
    let mut kept: Vec<Entry> = Vec::new();
    let mut truncated = 0usize;
    for entry in all {
        if kept.len() < MAX_RESULTS_PER_RUN {
            kept.push(entry);
        } else {
            truncated += 1;
        }
    }

    // Sorted by id, so `ruleIndex` is stable for a given set of rules.
    let mut fired: BTreeMap<&str, &RuleInfo> = BTreeMap::new();
    for entry in &kept {
        fired
            .entry(entry.finding.rule.id.as_str())
            .or_insert(&entry.finding.rule);
    }
    let rule_index: BTreeMap<&str, i64> = fired.keys().zip(0..).map(|(id, i)| (*id, i)).collect();
    let rules: Vec<ReportingDescriptor> =
        fired.values().map(|rule| rule_descriptor(rule)).collect();

    let results: Vec<SarifResult> = kept
        .iter()
        .map(|entry| {
            let index = rule_index
                .get(entry.finding.rule.id.as_str())
                .copied()
                .expect("every kept result's rule is described: `fired` was built from them");
            result(entry, index)
        })
        .collect();

    let version = env!("CARGO_PKG_VERSION");
    let driver = ToolComponent::builder()
        .name("sprawl")
        .information_uri(INFORMATION_URI)
        .semantic_version(version)
        .version(version)
        .rules(rules)
        .build();
    let base = ArtifactLocation::builder()
        .description(text_message(
            "The scanned directory, or the repository root for history scans.",
        ))
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .invocations(vec![
            Invocation::builder().execution_successful(true).build(),
        ])
        .original_uri_base_ids(BTreeMap::from([(SRCROOT.to_string(), base)]))
        // Location columns count characters (Unicode scalar values), not UTF-16 units.
        .column_kind(json!("unicodeCodePoints"))
        .results(results)
        .properties(bag(BTreeMap::from([
            ("findings", json!(summary.findings)),
            ("suppressed", json!(suppressed.len())),
            ("locations", json!(summary.locations)),
            ("files_scanned", json!(summary.files_scanned)),
            ("files_skipped", json!(summary.files_skipped)),
            ("statuses", json!(summary.statuses)),
            ("results", json!(kept.len())),
            ("truncated_results", json!(truncated)),
        ])))
        .build();
    let log = Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!(SARIF_VERSION))
        .runs(vec![run])
        .build();
    serde_json::to_value(&log).expect("SARIF types serialize: every map in them has string keys")
}

/// GitHub's `security-severity` (0.1–10: ≥ 9 critical, ≥ 7 high, ≥ 4 medium): by what the
/// credential opens, one lower for a generic rule, which is more often a false positive.
fn security_severity(rule: &RuleInfo) -> f64 {
    let severity = match rule.kind {
        Kind::PrivateKey => 9.0,
        Kind::ApiKey | Kind::Token | Kind::ConnectionString | Kind::Webhook => 8.0,
        Kind::Password => 7.0,
        // A certificate is public; it is reported for its expiry and its owner.
        Kind::Certificate => 4.0,
    };
    if rule.generic {
        severity - 1.0
    } else {
        severity
    }
}

fn level(severity: f64) -> ResultLevel {
    if severity >= 7.0 {
        ResultLevel::Error
    } else if severity > 4.0 {
        ResultLevel::Warning
    } else {
        ResultLevel::Note
    }
}

fn level_name(level: ResultLevel) -> &'static str {
    match level {
        ResultLevel::Error => "error",
        ResultLevel::Warning => "warning",
        ResultLevel::Note => "note",
        ResultLevel::None => "none",
    }
}

fn rule_descriptor(rule: &RuleInfo) -> ReportingDescriptor {
    let severity = security_severity(rule);
    let description = if rule.description.trim().is_empty() {
        rule.name.as_str()
    } else {
        rule.description.trim()
    };
    let help_text = format!("{description}\n\n{REMEDIATION}");
    let help_markdown = format!(
        "**{}** ({}, {})\n\n{description}\n\n{REMEDIATION}",
        rule.name, rule.provider, rule.kind
    );
    let mut tags: Vec<String> = Vec::new();
    for tag in [
        "security",
        "secret",
        rule.kind.as_str(),
        rule.provider.as_str(),
        CWE_TAG,
    ] {
        // The schema wants tags unique; a provider named like a kind must not repeat it.
        if !tag.is_empty() && !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_string());
        }
    }
    tags.truncate(MAX_TAGS_PER_RULE);
    ReportingDescriptor::builder()
        .id(rule.id.clone())
        .name(pascal_case(&rule.id))
        .short_description(multiformat(&rule.name, None))
        .full_description(multiformat(description, None))
        .help(multiformat(&help_text, Some(help_markdown)))
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level_name(level(severity))))
                .build(),
        )
        .properties(
            PropertyBag::builder()
                .tags(tags)
                .additional_properties(BTreeMap::from([(
                    "security-severity".to_string(),
                    json!(format!("{severity:.1}")),
                )]))
                .build(),
        )
        .build()
}

fn result(entry: &Entry, rule_index: i64) -> SarifResult {
    let finding = entry.finding;
    let location = entry.location;
    let assessment = &finding.assessment;
    let mut properties = BTreeMap::from([
        ("statuses", json!(assessment.statuses)),
        ("reasons", json!(assessment.reasons)),
        ("owner", json!(assessment.owner)),
        ("first_seen", json!(finding.first_seen)),
        ("last_seen", json!(finding.last_seen)),
        (
            "expires_at",
            json!(assessment.expires_at.map(dates::rfc3339_utc)),
        ),
        ("age_days", json!(finding.age_days)),
        ("fingerprint", json!(finding.fingerprint)),
        ("source", json!(location.source)),
    ]);
    if let Some(commit) = &location.commit {
        properties.insert("commit", json!(commit));
    }
    if let Some(v) = &finding.validation {
        properties.insert("validation", super::json::validation_json(v));
    }
    // A credential its provider accepts is an incident, whatever its kind.
    let level = match assessment.statuses.contains(&crate::finding::Status::Live) {
        true => ResultLevel::Error,
        false => level(security_severity(&finding.rule)),
    };
    let mut result = SarifResult::builder()
        .rule_id(finding.rule.id.clone())
        .rule_index(rule_index)
        .level(level)
        .message(text_message(&message(finding)))
        .locations(vec![sarif_location(location, &entry.uri)])
        .partial_fingerprints(BTreeMap::from([(
            FINGERPRINT_KEY.to_string(),
            partial_fingerprint(finding),
        )]))
        .properties(bag(properties))
        .build();
    if let Some(suppressed) = entry.suppressed {
        let kind = match suppressed.kind {
            SuppressionKind::Inline => "inSource",
            SuppressionKind::Config
            | SuppressionKind::Baseline
            | SuppressionKind::TestData
            | SuppressionKind::LocalDefault => "external",
        };
        result.suppressions = Some(vec![
            Suppression::builder()
                .kind(json!(kind))
                .justification(suppressed.reason.clone())
                .build(),
        ]);
    }
    result
}

/// "GitHub personal access token (classic) ghp_… — orphaned, long-lived".
fn message(finding: &Finding) -> String {
    let mut text = finding.rule.name.clone();
    if !finding.redacted.is_empty() {
        text.push(' ');
        text.push_str(&finding.redacted);
    }
    let statuses = &finding.assessment.statuses;
    if !statuses.is_empty() {
        text.push_str(" — ");
        let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        text.push_str(&names.join(", "));
    }
    text
}

/// Hex SHA-256 of `<rule id>:<fingerprint>`: the same for every place, commit and line of
/// one credential, so an alert survives edits around it. It commits to the secret's hash,
/// never to the secret's text.
fn partial_fingerprint(finding: &Finding) -> String {
    let input = format!("{}:{}", finding.rule.id, finding.fingerprint);
    hex(&sha2::Sha256::digest(input.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn sarif_location(location: &Location, uri: &str) -> SarifLocation {
    let number = |n: usize| i64::try_from(n.max(1)).unwrap_or(i64::MAX);
    let region = Region::builder()
        .start_line(number(location.line))
        .start_column(number(location.column))
        .end_line(number(location.end_line.max(location.line)))
        .end_column(number(location.end_column))
        .build();
    let physical = PhysicalLocation::builder()
        .artifact_location(
            ArtifactLocation::builder()
                .uri(uri)
                .uri_base_id(SRCROOT)
                .build(),
        )
        .region(region)
        .build();
    let mut sarif = SarifLocation::builder().physical_location(physical).build();
    if let Some(commit) = &location.commit {
        sarif.properties = Some(bag(BTreeMap::from([("commit", json!(commit))])));
    }
    sarif
}

/// `path` as a relative URI reference under [`SRCROOT`]: `/` separators (a `\` is taken
/// for one), no `.` or `..` segments, no leading `/`, and every byte that is not an
/// unreserved character or a sub-delimiter percent-encoded (so a space is `%20`, a `:`
/// cannot be read as a scheme, and non-ASCII is UTF-8 percent-encoded). A path that leaves
/// the root (`../x`, `/etc/x`) is clamped to it rather than refused: the result still
/// points somewhere under the base, and the scan never fails on a report.
pub(crate) fn relative_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            segment => segments.push(segment),
        }
    }
    if segments.is_empty() {
        return ".".to_string();
    }
    let mut uri = String::with_capacity(path.len() + 8);
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            uri.push('/');
        }
        for &b in segment.as_bytes() {
            // RFC 3986 pchar, less ':' (a colon in a first segment would read as a scheme).
            let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=@".contains(&b);
            if keep {
                uri.push(char::from(b));
            } else {
                uri.push_str(&format!("%{b:02X}"));
            }
        }
    }
    uri
}

/// `github-pat-classic` → `GithubPatClassic`: SARIF's rule `name` is an identifier.
fn pascal_case(id: &str) -> String {
    let name: String = id
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .flat_map(|part| {
            let mut chars = part.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars)
        })
        .collect();
    if name.is_empty() {
        id.to_string()
    } else {
        name
    }
}

fn text_message(text: &str) -> Message {
    Message::builder().text(text).build()
}

fn multiformat(text: &str, markdown: Option<String>) -> MultiformatMessageString {
    let mut message = MultiformatMessageString::builder().text(text).build();
    message.markdown = markdown;
    message
}

fn bag(properties: BTreeMap<&str, Value>) -> PropertyBag {
    PropertyBag::builder()
        .additional_properties(
            properties
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect::<BTreeMap<_, _>>(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::finding::{OwnerRef, Status};

    const SECRET: &[u8] = b"ghp_R3allySecretTokenValue0123456789abcdef";

    fn rule(id: &str, kind: Kind, generic: bool) -> Arc<RuleInfo> {
        Arc::new(RuleInfo {
            id: id.to_string(),
            name: "GitHub personal access token (classic)".to_string(),
            provider: "github".to_string(),
            kind,
            generic,
            standing: if generic {
                crate::engine::Standing::Generic
            } else {
                crate::engine::Standing::Specific
            },
            weak_values: false,
            order: 0,
            description: "Grants the scopes of its user. Revoke it under Settings → Developer \
                          settings → Personal access tokens."
                .to_string(),
            check: None,
        })
    }

    fn finding(secret: &[u8], path: &str) -> Finding {
        let mut f = Finding::for_test(rule("github-pat-classic", Kind::Token, false), secret, path);
        f.redacted = "ghp_…".to_string();
        f.assessment.statuses = vec![Status::Orphaned, Status::LongLived];
        f.assessment.reasons = vec!["no inventory entry names it".to_string()];
        f
    }

    /// The same finding seen again at `line` of `path` (fields beyond these kept as made).
    fn at(finding: &Finding, path: &str, line: usize) -> Location {
        let mut location = finding.locations[0].clone();
        location.path = path.to_string();
        location.line = line;
        location.end_line = line;
        location.column = 5;
        location.end_column = 45;
        location
    }

    fn sarif(findings: &[Finding], suppressed: &[Suppressed]) -> Value {
        sarif_json(findings, suppressed, &Summary::default())
    }

    fn results(log: &Value) -> &Vec<Value> {
        log["runs"][0]["results"].as_array().expect("results array")
    }

    #[test]
    fn log_shape() {
        let log = sarif(&[finding(SECRET, "ci/actions.env")], &[]);
        assert_eq!(log["$schema"], SCHEMA_URI);
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(log["runs"].as_array().map(Vec::len), Some(1));
        let run = &log["runs"][0];
        let driver = &run["tool"]["driver"];
        assert_eq!(driver["name"], "sprawl");
        assert_eq!(driver["semanticVersion"], env!("CARGO_PKG_VERSION"));
        let rule = &driver["rules"][0];
        assert_eq!(rule["id"], "github-pat-classic");
        assert_eq!(rule["name"], "GithubPatClassic");
        assert_eq!(
            rule["shortDescription"]["text"],
            "GitHub personal access token (classic)"
        );
        assert!(
            rule["help"]["text"]
                .as_str()
                .unwrap()
                .ends_with(REMEDIATION)
        );
        assert!(
            rule["help"]["markdown"]
                .as_str()
                .unwrap()
                .contains("Revoke it under")
        );
        assert_eq!(
            rule["properties"]["tags"],
            json!(["security", "secret", "token", "github", CWE_TAG])
        );
        assert_eq!(rule["properties"]["security-severity"], "8.0");
        assert_eq!(rule["defaultConfiguration"]["level"], "error");
        assert_eq!(run["invocations"][0]["executionSuccessful"], true);
        assert_eq!(run["properties"]["truncated_results"], 0);

        let result = &results(&log)[0];
        assert_eq!(result["ruleId"], "github-pat-classic");
        assert_eq!(result["ruleIndex"], 0);
        assert_eq!(result["level"], "error");
        assert_eq!(
            result["message"]["text"],
            "GitHub personal access token (classic) ghp_… — orphaned, long-lived"
        );
        let physical = &result["locations"][0]["physicalLocation"];
        assert_eq!(physical["artifactLocation"]["uri"], "ci/actions.env");
        assert_eq!(physical["artifactLocation"]["uriBaseId"], SRCROOT);
        assert_eq!(physical["region"]["startLine"], 1);
        assert_eq!(
            result["properties"]["statuses"],
            json!(["orphaned", "long-lived"])
        );
        assert_eq!(result["properties"]["owner"], Value::Null);
        assert_eq!(result["properties"]["source"], "file");
        assert!(result.get("suppressions").is_none());
    }

    #[test]
    fn the_secret_never_appears() {
        let mut owned = finding(SECRET, "deploy/app.env");
        owned.assessment.owner = Some(OwnerRef {
            id: "payments".to_string(),
            inventory_id: "release-token".to_string(),
            contact: None,
            status: "active",
        });
        let suppressed = Suppressed {
            finding: finding(b"xoxb-another-Secret-Value-9876543210", "a.env"),
            kind: SuppressionKind::Config,
            reason: "test fixture".to_string(),
        };
        let text = serde_json::to_string(&sarif(&[owned], &[suppressed])).unwrap();
        let other: &[u8] = b"xoxb-another-Secret-Value-9876543210";
        for secret in [SECRET, other] {
            let secret = std::str::from_utf8(secret).unwrap();
            assert!(!text.contains(secret), "secret in SARIF: {text}");
            // Nor a long piece of it (the redacted form keeps only the prefix).
            assert!(
                !text.contains(&secret[..12]),
                "secret prefix in SARIF: {text}"
            );
        }
    }

    #[test]
    fn uris_are_relative_and_encoded() {
        let cases = [
            ("ci/actions.env", "ci/actions.env"),
            ("my dir/a b.env", "my%20dir/a%20b.env"),
            ("src\\win\\x.env", "src/win/x.env"),
            ("./config/db.yml", "config/db.yml"),
            ("././a//b", "a/b"),
            ("/etc/ssl/key.pem", "etc/ssl/key.pem"),
            ("../outside/x.env", "outside/x.env"),
            ("a/../../b", "b"),
            ("C:\\Users\\me\\.env", "C%3A/Users/me/.env"),
            ("é/naïve.env", "%C3%A9/na%C3%AFve.env"),
            ("a#b?c%d[e]", "a%23b%3Fc%25d%5Be%5D"),
            ("<stdin>", "%3Cstdin%3E"),
            ("/", "."),
            ("", "."),
        ];
        for (path, uri) in cases {
            assert_eq!(relative_uri(path), uri, "{path:?}");
            assert!(!uri.starts_with('/') && !uri.contains("..") && !uri.contains('\\'));
        }
        let log = sarif(&[finding(SECRET, "./my dir\\.env")], &[]);
        let artifact = &results(&log)[0]["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(artifact["uri"], "my%20dir/.env");
        assert_eq!(artifact["uriBaseId"], "%SRCROOT%");
    }

    #[test]
    fn partial_fingerprint_survives_line_moves() {
        let before = finding(SECRET, "ci/actions.env");
        let mut after = finding(SECRET, "ci/actions.env");
        after.locations = vec![at(&after, "ci/actions.env", 40)];
        let fp = |f: Finding| results(&sarif(&[f], &[]))[0]["partialFingerprints"].clone();
        let (a, b) = (fp(before), fp(after));
        assert_eq!(a, b);
        let value = a[FINGERPRINT_KEY].as_str().unwrap();
        assert_eq!(value.len(), 64);
        assert!(value.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(
            a,
            fp(finding(
                b"ghp_SomeOtherToken000000000000000000000",
                "ci/actions.env"
            ))
        );
    }

    #[test]
    fn one_result_per_location() {
        let mut f = finding(SECRET, "a.env");
        f.locations = vec![at(&f, "a.env", 1), at(&f, "b/c.env", 7), at(&f, "d.env", 3)];
        f.locations[2].commit = Some("0123456789abcdef0123456789abcdef01234567".to_string());
        let log = sarif(&[f], &[]);
        let results = results(&log);
        assert_eq!(results.len(), 3);
        assert_eq!(
            log["runs"][0]["tool"]["driver"]["rules"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let uris: Vec<&str> = results
            .iter()
            .map(|r| {
                assert_eq!(r["ruleIndex"], 0);
                assert_eq!(r["locations"].as_array().unwrap().len(), 1);
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert_eq!(uris, ["a.env", "b/c.env", "d.env"]);
        let region = &results[1]["locations"][0]["physicalLocation"]["region"];
        assert_eq!(
            region,
            &json!({"endColumn": 45, "endLine": 7, "startColumn": 5, "startLine": 7})
        );
        assert!(results[0]["properties"].get("commit").is_none());
        let commit = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(results[2]["properties"]["commit"], commit);
        assert_eq!(results[2]["locations"][0]["properties"]["commit"], commit);
    }

    #[test]
    fn a_place_seen_in_the_work_tree_and_in_history_is_one_result() {
        let mut f = finding(SECRET, "app/.env");
        let file = at(&f, "app/.env", 3);
        let mut git = file.clone();
        git.commit = Some("0123456789abcdef0123456789abcdef01234567".to_string());
        let mut rewritten = git.clone();
        rewritten.commit = Some("89abcdef0123456789abcdef0123456789abcdef".to_string());
        let mut same_path_spelled_otherwise = file.clone();
        same_path_spelled_otherwise.path = "./app/.env".to_string();
        let elsewhere = at(&f, "app/.env", 9);
        f.locations = vec![file, git, rewritten, same_path_spelled_otherwise, elsewhere];
        let log = sarif(&[f], &[]);
        let results = results(&log);
        assert_eq!(results.len(), 2);
        assert!(results[0]["properties"].get("commit").is_none());
        let line = |r: &Value| r["locations"][0]["physicalLocation"]["region"]["startLine"].clone();
        assert_eq!((line(&results[0]), line(&results[1])), (json!(3), json!(9)));
    }

    #[test]
    fn rules_are_sorted_and_indexed() {
        let mut key =
            Finding::for_test(rule("rsa-private-key", Kind::PrivateKey, false), b"k", "k");
        key.redacted = "-----BEGIN…".to_string();
        let generic = Finding::for_test(rule("generic-password", Kind::Password, true), b"p", "p");
        let cert = Finding::for_test(
            rule("x509-certificate", Kind::Certificate, false),
            b"c",
            "c",
        );
        let log = sarif(&[key, generic, cert, finding(SECRET, "t")], &[]);
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            [
                "generic-password",
                "github-pat-classic",
                "rsa-private-key",
                "x509-certificate"
            ]
        );
        let severities: Vec<&str> = rules
            .iter()
            .map(|r| r["properties"]["security-severity"].as_str().unwrap())
            .collect();
        assert_eq!(severities, ["6.0", "8.0", "9.0", "4.0"]);
        let by_rule: BTreeMap<&str, (&Value, &Value)> = results(&log)
            .iter()
            .map(|r| {
                (
                    r["ruleId"].as_str().unwrap(),
                    (&r["ruleIndex"], &r["level"]),
                )
            })
            .collect();
        assert_eq!(by_rule["rsa-private-key"], (&json!(2), &json!("error")));
        assert_eq!(by_rule["generic-password"], (&json!(0), &json!("warning")));
        assert_eq!(by_rule["x509-certificate"], (&json!(3), &json!("note")));
    }

    #[test]
    fn suppressed_findings_carry_suppressions() {
        let inline = Suppressed {
            finding: finding(SECRET, "a.env"),
            kind: SuppressionKind::Inline,
            reason: "test fixture".to_string(),
        };
        let baseline = Suppressed {
            finding: finding(b"ghp_AnotherOne000000000000000000000000", "b.env"),
            kind: SuppressionKind::Baseline,
            reason: "in baseline .sprawl-baseline.json".to_string(),
        };
        let log = sarif(&[], &[inline, baseline]);
        let results = results(&log);
        assert_eq!(
            results[0]["suppressions"],
            json!([{"kind": "inSource", "justification": "test fixture"}])
        );
        assert_eq!(results[1]["suppressions"][0]["kind"], "external");
        assert_eq!(log["runs"][0]["properties"]["suppressed"], 2);
    }

    #[test]
    fn results_past_the_limit_are_dropped_and_counted() {
        let mut big = finding(SECRET, "a.env");
        big.locations = (1..=MAX_RESULTS_PER_RUN + 2)
            .map(|line| at(&big, "a.env", line))
            .collect();
        let other = finding(b"ghp_Other0000000000000000000000000000000", "z.env");
        let log = sarif(&[big, other], &[]);
        let results = results(&log);
        assert_eq!(results.len(), MAX_RESULTS_PER_RUN);
        assert_eq!(log["runs"][0]["properties"]["truncated_results"], 3);
        assert_eq!(log["runs"][0]["properties"]["results"], MAX_RESULTS_PER_RUN);
        // The order given is kept: the first ones stay.
        let line = |r: &Value| r["locations"][0]["physicalLocation"]["region"]["startLine"].clone();
        assert_eq!(line(&results[0]), 1);
        assert_eq!(line(&results[MAX_RESULTS_PER_RUN - 1]), MAX_RESULTS_PER_RUN);
    }

    #[test]
    fn pascal_case_names() {
        assert_eq!(pascal_case("github-pat-classic"), "GithubPatClassic");
        assert_eq!(pascal_case("aws_access_key.id"), "AwsAccessKeyId");
        assert_eq!(pascal_case("--"), "--");
    }
}
