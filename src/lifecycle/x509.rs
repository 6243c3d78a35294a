//! X.509 certificates: validity, identity and the public key they certify (RFC 5280).

use serde_json::{Map, Value, json};
use x509_parser::public_key::PublicKey;

use super::keys::{OID_RSA_PSS, rsa_public_modulus};
use super::pem::Pem;
use super::{Lifecycle, clamp_time, hex, sha256_hex, strip_leading_zeros};
use crate::dates::{DAY, rfc3339_utc};

/// Reads the first certificate of a PEM block. A body that is not a certificate leaves
/// `life` unchanged.
pub(super) fn inspect(pem: &Pem, life: &mut Lifecycle) {
    let Some(der) = pem.der.as_deref() else {
        return;
    };
    // A TRUSTED CERTIFICATE carries OpenSSL trust settings after the certificate.
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return;
    };
    let certificate_der = cert.as_raw();
    let sha256 = sha256_hex(certificate_der);
    let serial = hex(strip_serial(cert.raw_serial()));
    let not_before = clamp_time(cert.validity().not_before.timestamp());
    let not_after = clamp_time(cert.validity().not_after.timestamp());
    let is_ca = cert
        .basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|bc| bc.value.ca);
    let self_signed = cert.subject().as_raw() == cert.issuer().as_raw();

    let mut facts = Map::new();
    facts.insert("subject".into(), json!(cert.subject().to_string()));
    facts.insert("issuer".into(), json!(cert.issuer().to_string()));
    facts.insert("serial".into(), json!(serial));
    facts.insert("sha256".into(), json!(sha256));
    facts.insert("not_before".into(), json!(rfc3339_utc(not_before)));
    facts.insert("not_after".into(), json!(rfc3339_utc(not_after)));
    facts.insert("is_ca".into(), json!(is_ca));
    facts.insert("self_signed".into(), json!(self_signed));
    facts.insert(
        "validity_days".into(),
        json!(not_after.saturating_sub(not_before) / DAY),
    );
    life.facts.insert("x509".into(), Value::Object(facts));

    life.issued_at = Some(not_before);
    life.not_before = Some(not_before);
    life.expires_at = Some(not_after);
    life.key_id = Some(sha256);
    life.push_match_id(serial);

    // The same bytes `keys` reads from the private half: RSA modulus, EC point, DSA y,
    // else the raw key (Ed25519).
    let spki = cert.public_key();
    let raw = spki.subject_public_key.data.as_ref();
    life.public_key = Some(match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => strip_leading_zeros(rsa.modulus).to_vec(),
        Ok(PublicKey::DSA(y)) => strip_leading_zeros(y).to_vec(),
        _ if spki.algorithm.algorithm.as_bytes() == OID_RSA_PSS => {
            rsa_public_modulus(raw).unwrap_or_else(|| raw.to_vec())
        }
        _ => raw.to_vec(),
    });
}

/// The serial as OpenSSL prints it: DER's sign-keeping leading zero bytes removed, but
/// at least one byte.
fn strip_serial(serial: &[u8]) -> &[u8] {
    match strip_leading_zeros(serial) {
        [] => serial
            .get(serial.len().saturating_sub(1)..)
            .unwrap_or_default(),
        s => s,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use base64::Engine as _;

    use super::super::pem::STANDARD;
    use super::super::test_support::ec_certificate_and_key;
    use super::super::{inspect, pem};
    use super::*;

    fn der_of(pem_text: &str) -> Vec<u8> {
        pem::decode(pem_text.as_bytes()).unwrap().der.unwrap()
    }

    #[test]
    fn reads_validity_identity_and_thumbprint() {
        let (cert, _) = ec_certificate_and_key(1_700_000_000, 398 * DAY);
        let life = inspect("x509-certificate", cert.as_bytes(), None, &BTreeMap::new());
        assert_eq!(life.not_before, Some(1_700_000_000));
        assert_eq!(life.issued_at, Some(1_700_000_000));
        assert_eq!(life.expires_at, Some(1_700_000_000 + 398 * DAY));
        assert_eq!(life.stated_lifetime(), Some(398 * DAY));
        let x = &life.facts["x509"];
        assert_eq!(x["subject"], "CN=sprawl test leaf");
        assert_eq!(x["issuer"], "CN=sprawl test CA");
        assert_eq!(x["serial"], "0a1b2c");
        assert_eq!(x["not_before"], "2023-11-14T22:13:20Z");
        assert_eq!(x["not_after"], "2024-12-16T22:13:20Z");
        assert_eq!(x["is_ca"], false);
        assert_eq!(x["self_signed"], false);
        assert_eq!(x["validity_days"], 398);
        let thumb = sha256_hex(&der_of(&cert));
        assert_eq!(x["sha256"], thumb.as_str());
        assert_eq!(life.key_id.as_deref(), Some(thumb.as_str()));
        assert_eq!(life.match_ids, vec!["0a1b2c".to_string()]);
        // An uncompressed P-256 point.
        let pk = life.public_key.unwrap();
        assert_eq!((pk.len(), pk[0]), (65, 4));
        let keys: Vec<&str> = x.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "subject",
                "issuer",
                "serial",
                "sha256",
                "not_before",
                "not_after",
                "is_ca",
                "self_signed",
                "validity_days"
            ]
        );
    }

    #[test]
    fn escaped_and_wrapped_certificates_read_the_same() {
        let (cert, _) = ec_certificate_and_key(1_600_000_000, 30 * DAY);
        let plain = inspect("x", cert.as_bytes(), None, &BTreeMap::new());
        assert!(plain.facts.contains_key("x509"));

        let json = cert.replace('\n', "\\n");
        assert_eq!(inspect("x", json.as_bytes(), None, &BTreeMap::new()), plain);
        let json_in_json = cert.replace('\n', "\\\\n");
        assert_eq!(
            inspect("x", json_in_json.as_bytes(), None, &BTreeMap::new()),
            plain
        );
        let indented = format!("  {}", cert.replace('\n', "\n      "));
        assert_eq!(
            inspect("x", indented.as_bytes(), None, &BTreeMap::new()),
            plain
        );

        let wrapped = STANDARD.encode(&cert);
        assert!(wrapped.starts_with("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"));
        assert_eq!(
            inspect(
                "x509-certificate-base64",
                wrapped.as_bytes(),
                None,
                &BTreeMap::new()
            ),
            plain
        );
        let folded = wrapped
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\n    ");
        assert_eq!(
            inspect("x", folded.as_bytes(), None, &BTreeMap::new()),
            plain
        );
    }

    #[test]
    fn self_signed_ca_and_far_future_expiry() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::default();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(9999, 12, 31);
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x00, 0x80, 0x01]));
        let cert = params.self_signed(&key).unwrap().pem();
        let life = inspect("x", cert.as_bytes(), None, &BTreeMap::new());
        let x = &life.facts["x509"];
        assert_eq!(x["is_ca"], true);
        assert_eq!(x["self_signed"], true);
        assert_eq!(x["serial"], "8001");
        assert_eq!(x["not_after"], "9999-12-31T00:00:00Z");
        assert_eq!(life.not_before, Some(1_577_836_800));
    }

    #[test]
    fn garbage_bodies_give_nothing() {
        let text =
            "-----BEGIN CERTIFICATE-----\nMIIBzzCCAXWgAwIBAgIUZZZZ\n-----END CERTIFICATE-----";
        assert_eq!(
            inspect("x", text.as_bytes(), None, &BTreeMap::new()),
            Lifecycle::default()
        );
    }
}
