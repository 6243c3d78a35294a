//! Files that secret scanners write: detect-secrets' `.secrets.baseline`, gitleaks and
//! TruffleHog reports, SARIF logs, sprawl's own baseline. What a generic rule finds there is a
//! digest (`"hashed_secret": "b5198bd9…"`) or a scanner's copy of a finding, not a credential
//! left in code; a specific rule's match (a real `ghp_` token pasted into a report) still
//! counts, since the report then leaks it.

/// Bytes at the start of a file that are enough to recognise a report by its keys.
const SNIFF_LEN: usize = 4096;

/// Which scanner wrote this file, if one evidently did (by its name, else its first keys).
pub fn scanner_file(path: &str, bytes: &[u8]) -> Option<&'static str> {
    let name = path.rsplit(['/', '!']).next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    let by_name = match lower.as_str() {
        ".secrets.baseline" => Some("detect-secrets"),
        ".gitleaksignore" => Some("gitleaks"),
        ".sprawl-baseline.json" => Some("sprawl"),
        _ if lower.ends_with(".sarif") || lower.ends_with(".sarif.json") => Some("SARIF"),
        _ if lower.starts_with("gitleaks") && lower.ends_with(".json") => Some("gitleaks"),
        _ if lower.starts_with("trufflehog") && lower.ends_with(".json") => Some("TruffleHog"),
        _ => None,
    };
    if by_name.is_some() {
        return by_name;
    }
    let head = &bytes[..bytes.len().min(SNIFF_LEN)];
    let has = |key: &str| memchr::memmem::find(head, key.as_bytes()).is_some();
    let first = head.iter().find(|b| !b.is_ascii_whitespace());
    if !matches!(first, Some(b'{' | b'[')) {
        return None;
    }
    if has("\"plugins_used\"") && (has("\"hashed_secret\"") || has("\"results\"")) {
        Some("detect-secrets")
    } else if has("\"RuleID\"") && has("\"Fingerprint\"") {
        Some("gitleaks")
    } else if has("\"DetectorName\"") && has("\"SourceMetadata\"") {
        Some("TruffleHog")
    } else if has("\"schema\": \"sprawl.") || has("\"schema\":\"sprawl.") {
        Some("sprawl")
    } else if has("\"$schema\"") && has("sarif") {
        Some("SARIF")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_recognised_by_name_or_keys() {
        assert_eq!(
            scanner_file(".secrets.baseline", b""),
            Some("detect-secrets")
        );
        assert_eq!(
            scanner_file("a/b/.secrets.baseline", b""),
            Some("detect-secrets")
        );
        assert_eq!(scanner_file("out/results.sarif", b""), Some("SARIF"));
        assert_eq!(scanner_file("gitleaks-report.json", b""), Some("gitleaks"));
        let baseline = br#"{
  "version": "1.5.0",
  "plugins_used": [{"name": "ArtifactoryDetector"}],
  "results": {"x.py": [{"type": "Secret Keyword", "hashed_secret": "b5198bd9"}]}
}"#;
        assert_eq!(
            scanner_file("test_data/baseline.file", baseline),
            Some("detect-secrets")
        );
        let gitleaks =
            br#"[{"RuleID": "github-pat", "Secret": "REDACTED", "Fingerprint": "a:b:1"}]"#;
        assert_eq!(scanner_file("report.json", gitleaks), Some("gitleaks"));
        // Ordinary configuration is not a report.
        assert_eq!(scanner_file("config.json", br#"{"api_key": "x"}"#), None);
        assert_eq!(
            scanner_file("notes.md", b"plugins_used hashed_secret"),
            None
        );
    }
}
