//! What sprawl reads out of a credential: JWT headers and claims, PEM blocks, X.509
//! certificates, private keys (PKCS#8, PKCS#1, SEC1, OpenSSH, PuTTY), Azure SAS fields,
//! AWS key ids, GitHub prefixes, GCP service-account JSON.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use sprawl::lifecycle::inspect;

const RULES: [&str; 6] = [
    "jwt-token",
    "x509-certificate",
    "azure-sas-token",
    "aws-access-key-id",
    "github-pat-classic",
    "gcp-service-account-key",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, secret)) = data.split_first() else {
        return;
    };
    let rule = RULES[pick as usize % RULES.len()];
    let _ = inspect(rule, secret, None, &BTreeMap::new());
    // The SAS fields arrive as captured text: feed the same bytes as each.
    let text = String::from_utf8_lossy(secret).into_owned();
    let identifiers: BTreeMap<String, String> = ["expiry", "start", "policy", "permissions"]
        .iter()
        .map(|k| (k.to_string(), text.clone()))
        .collect();
    let _ = inspect("azure-sas-token", b"sig", Some(&text), &identifiers);
});
