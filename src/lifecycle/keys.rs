//! Private keys: their format, algorithm, whether a passphrase protects them, and the public
//! half (to pair a key with its certificate). Keys have no expiry of their own.
//!
//! Formats: PKCS#1 `RSA PRIVATE KEY` (RFC 8017 A.1.2), SEC1 `EC PRIVATE KEY` (RFC 5915),
//! OpenSSL's traditional `DSA PRIVATE KEY`, PKCS#8 `PRIVATE KEY` / `ENCRYPTED PRIVATE KEY`
//! (RFC 5958), legacy `Proc-Type: 4,ENCRYPTED` headers (RFC 1421), OpenSSH
//! (`PROTOCOL.key`), OpenPGP secret keys (RFC 4880 / 9580) and PuTTY `.ppk` files.

use base64::Engine as _;
use serde_json::{Map, Value, json};
use x509_parser::asn1_rs::{Any, Class, FromDer, Tag};

use super::pem::{Pem, STANDARD, unescape_layout};
use super::{Lifecycle, clamp_time, strip_leading_zeros};
use crate::dates::rfc3339_utc;

/// DER contents of the algorithm OIDs a PKCS#8 key may name.
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
pub(super) const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
const OID_X25519: &[u8] = &[0x2b, 0x65, 0x6e];
const OID_X448: &[u8] = &[0x2b, 0x65, 0x6f];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_ED448: &[u8] = &[0x2b, 0x65, 0x71];

/// What one key reveals; becomes `facts["private_key"]`.
#[derive(Default)]
struct KeyFacts {
    format: &'static str,
    algorithm: Option<String>,
    encrypted: Option<bool>,
    /// `SHA256:…` as `ssh-keygen -lf` prints it (OpenSSH and PuTTY keys).
    fingerprint: Option<String>,
    /// Creation time (OpenPGP keys).
    created: Option<i64>,
    public_key: Option<Vec<u8>>,
}

impl KeyFacts {
    fn new(format: &'static str, algorithm: Option<&str>, encrypted: bool) -> KeyFacts {
        KeyFacts {
            format,
            algorithm: algorithm.map(str::to_string),
            encrypted: Some(encrypted),
            ..KeyFacts::default()
        }
    }

    fn apply(self, life: &mut Lifecycle) {
        let mut facts = Map::new();
        facts.insert("format".into(), json!(self.format));
        if let Some(algorithm) = self.algorithm {
            facts.insert("algorithm".into(), json!(algorithm));
        }
        if let Some(encrypted) = self.encrypted {
            facts.insert("encrypted".into(), json!(encrypted));
        }
        if let Some(created) = self.created {
            facts.insert("created".into(), json!(rfc3339_utc(created)));
            life.issued_at = Some(created);
        }
        if let Some(fingerprint) = self.fingerprint {
            facts.insert("fingerprint".into(), json!(fingerprint));
            life.key_id = Some(fingerprint.clone());
            life.push_match_id(fingerprint);
        }
        life.facts
            .insert("private_key".into(), Value::Object(facts));
        if let Some(pk) = self.public_key.filter(|pk| !pk.is_empty()) {
            life.public_key = Some(pk);
        }
    }
}

/// Reads a PEM private key of any label ending in `PRIVATE KEY`, or an OpenPGP block.
pub(super) fn inspect_pem(pem: &Pem, life: &mut Lifecycle) {
    let legacy_encrypted = pem
        .header("Proc-Type")
        .is_some_and(|v| v.to_ascii_uppercase().contains("ENCRYPTED"));
    let der = pem.der.as_deref().filter(|_| !legacy_encrypted);
    let facts = match pem.label.as_str() {
        "RSA PRIVATE KEY" => {
            let mut f = KeyFacts::new("pkcs1", Some("rsa"), legacy_encrypted);
            f.public_key = der.and_then(pkcs1_modulus);
            f
        }
        "EC PRIVATE KEY" => {
            let mut f = KeyFacts::new("sec1", Some("ec"), legacy_encrypted);
            f.public_key = der.and_then(sec1_public_point);
            f
        }
        "DSA PRIVATE KEY" => {
            let mut f = KeyFacts::new("openssl-dsa", Some("dsa"), legacy_encrypted);
            f.public_key = der.and_then(dsa_public_value);
            f
        }
        "PRIVATE KEY" => {
            let mut f = KeyFacts::new("pkcs8", None, legacy_encrypted);
            if let Some((algorithm, pk)) = der.and_then(pkcs8) {
                f.algorithm = algorithm.map(str::to_string);
                f.public_key = pk;
            }
            f
        }
        "ENCRYPTED PRIVATE KEY" => KeyFacts::new("pkcs8-encrypted", None, true),
        "OPENSSH PRIVATE KEY" => openssh(pem),
        "PGP PRIVATE KEY BLOCK" => pgp(pem),
        label => KeyFacts::new("pem", None, legacy_encrypted || label.contains("ENCRYPTED")),
    };
    facts.apply(life);
}

// ---------------------------------------------------------------------------------------
// DER (PKCS#1, SEC1, PKCS#8), read with asn1-rs's generic `Any`.

fn any(input: &[u8]) -> Option<(&[u8], Any<'_>)> {
    Any::from_der(input).ok()
}

fn is_universal(item: &Any, tag: Tag) -> bool {
    item.class() == Class::Universal && item.tag() == tag
}

fn is_context(item: &Any, number: u32) -> bool {
    item.class() == Class::ContextSpecific && item.tag().0 == number
}

/// The elements of the SEQUENCE at the start of `der` (at most 16: no key format has more).
fn sequence(der: &[u8]) -> Option<Vec<Any<'_>>> {
    let (_, outer) = any(der)?;
    if !is_universal(&outer, Tag::Sequence) {
        return None;
    }
    let mut items = Vec::new();
    let mut rest = outer.data;
    while !rest.is_empty() && items.len() < 16 {
        let (next, item) = any(rest)?;
        items.push(item);
        rest = next;
    }
    Some(items)
}

/// The bits of a BIT STRING's contents (after its unused-bits octet).
fn bit_string_bits(contents: &[u8]) -> Option<Vec<u8>> {
    contents
        .get(1..)
        .filter(|b| !b.is_empty())
        .map(<[u8]>::to_vec)
}

fn integer(item: Option<&Any>) -> Option<Vec<u8>> {
    let item = item.filter(|i| is_universal(i, Tag::Integer))?;
    Some(strip_leading_zeros(item.data).to_vec()).filter(|v| !v.is_empty())
}

/// RSAPrivateKey ::= SEQUENCE { version, modulus, publicExponent, … }: the modulus.
fn pkcs1_modulus(der: &[u8]) -> Option<Vec<u8>> {
    let items = sequence(der)?;
    items.first().filter(|v| is_universal(v, Tag::Integer))?;
    integer(items.get(1))
}

/// RSAPublicKey ::= SEQUENCE { modulus, publicExponent }: the modulus.
pub(super) fn rsa_public_modulus(der: &[u8]) -> Option<Vec<u8>> {
    integer(sequence(der)?.first())
}

/// DSAPrivateKey ::= SEQUENCE { version, p, q, g, y, x } (OpenSSL): the public value y.
fn dsa_public_value(der: &[u8]) -> Option<Vec<u8>> {
    integer(sequence(der)?.get(4))
}

/// ECPrivateKey ::= SEQUENCE { version, privateKey, [0] parameters OPTIONAL,
/// [1] publicKey BIT STRING OPTIONAL }: the public point.
fn sec1_public_point(der: &[u8]) -> Option<Vec<u8>> {
    let items = sequence(der)?;
    let tagged = items.iter().skip(2).find(|i| is_context(i, 1))?;
    let (_, bits) = any(tagged.data)?;
    if !is_universal(&bits, Tag::BitString) {
        return None;
    }
    bit_string_bits(bits.data)
}

/// PrivateKeyInfo / OneAsymmetricKey ::= SEQUENCE { version, AlgorithmIdentifier,
/// privateKey OCTET STRING, [0] attributes OPTIONAL, [1] publicKey OPTIONAL }: the
/// algorithm's name and the public key (from the inner key, else the v2 `publicKey`).
fn pkcs8(der: &[u8]) -> Option<(Option<&'static str>, Option<Vec<u8>>)> {
    let items = sequence(der)?;
    items.first().filter(|v| is_universal(v, Tag::Integer))?;
    let algorithm = items.get(1).filter(|i| is_universal(i, Tag::Sequence))?;
    let (_, oid) = any(algorithm.data)?;
    if !is_universal(&oid, Tag::Oid) {
        return None;
    }
    let inner = items
        .get(2)
        .filter(|i| is_universal(i, Tag::OctetString))?
        .data;
    let outer_public = items
        .iter()
        .skip(3)
        .find(|i| is_context(i, 1))
        .and_then(|i| bit_string_bits(i.data));
    let (name, public) = match oid.data {
        OID_RSA => (Some("rsa"), pkcs1_modulus(inner)),
        OID_RSA_PSS => (Some("rsa-pss"), pkcs1_modulus(inner)),
        OID_EC => (Some("ec"), sec1_public_point(inner)),
        OID_DSA => (Some("dsa"), None),
        OID_ED25519 => (Some("ed25519"), None),
        OID_ED448 => (Some("ed448"), None),
        OID_X25519 => (Some("x25519"), None),
        OID_X448 => (Some("x448"), None),
        _ => (None, None),
    };
    Some((name, public.or(outer_public)))
}

// ---------------------------------------------------------------------------------------
// SSH public key blobs (RFC 4253 §6.6, RFC 5656, RFC 8709), shared by OpenSSH and PuTTY.

/// Big-endian length-prefixed fields, as SSH and OpenPGP write them.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    /// An SSH `string`: uint32 length, then the bytes.
    fn string(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u32()?).ok()?;
        self.take(len)
    }
}

/// Algorithm name, public key (RSA modulus, EC point, raw EdDSA key, DSA y) and
/// `SHA256:` fingerprint of an SSH public key blob.
fn ssh_public_key(blob: &[u8]) -> (Option<String>, Option<Vec<u8>>, Option<String>) {
    let mut r = Reader(blob);
    let Some(kind) = r.string().and_then(|k| std::str::from_utf8(k).ok()) else {
        return (None, None, None);
    };
    let (algorithm, public) = match kind {
        "ssh-rsa" => ("rsa", r.string().and_then(|_e| r.string())),
        "ssh-dss" => (
            "dsa",
            r.string()
                .and_then(|_p| r.string())
                .and_then(|_q| r.string())
                .and_then(|_g| r.string()),
        ),
        "ssh-ed25519" => ("ed25519", r.string()),
        "ssh-ed448" => ("ed448", r.string()),
        "sk-ssh-ed25519@openssh.com" => ("ed25519-sk", r.string()),
        k if k.starts_with("ecdsa-sha2-") => ("ec", r.string().and_then(|_curve| r.string())),
        k if k.starts_with("sk-ecdsa-sha2-") => ("ec-sk", r.string().and_then(|_curve| r.string())),
        k if k.len() <= 64 && k.bytes().all(|b| b.is_ascii_graphic()) => (k, None),
        _ => return (None, None, None),
    };
    let public = public.map(|p| strip_leading_zeros(p).to_vec());
    let fingerprint = {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(blob);
        format!(
            "SHA256:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
        )
    };
    (Some(algorithm.to_string()), public, Some(fingerprint))
}

/// `openssh-key-v1\0`, string ciphername, string kdfname, string kdfoptions, uint32 N,
/// N public key blobs, then the (maybe encrypted) private part.
fn openssh(pem: &Pem) -> KeyFacts {
    let mut facts = KeyFacts::new("openssh", None, false);
    facts.encrypted = None;
    // The header is readable even when the rest of the body is damaged.
    let bytes = pem.der.clone().or_else(|| {
        let whole = pem.body.len() / 4 * 4;
        let first_line = pem.body.len().min(64) / 4 * 4;
        [whole, first_line]
            .into_iter()
            .find_map(|n| STANDARD.decode(pem.body.get(..n)?).ok())
    });
    let Some(bytes) = bytes else {
        return facts;
    };
    let Some(rest) = bytes.strip_prefix(b"openssh-key-v1\0") else {
        return facts;
    };
    let mut r = Reader(rest);
    let Some(cipher) = r.string() else {
        return facts;
    };
    facts.encrypted = Some(cipher != b"none");
    let public = r
        .string()
        .and_then(|_kdf| r.string())
        .and_then(|_kdf_options| r.u32())
        .filter(|&n| n >= 1)
        .and_then(|_| r.string());
    if let Some(blob) = public {
        (facts.algorithm, facts.public_key, facts.fingerprint) = ssh_public_key(blob);
    }
    facts
}

/// A PuTTY `.ppk` file: `PuTTY-User-Key-File-N: <algorithm>`, `Encryption: none|aes256-cbc`,
/// and the public key blob in the `Public-Lines` that follow.
pub(super) fn inspect_putty(text: &[u8], life: &mut Lifecycle) {
    let text = unescape_layout(text);
    let text = String::from_utf8_lossy(&text);
    let mut facts = KeyFacts::new("putty", None, false);
    facts.encrypted = None;
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name {
            n if n.starts_with("PuTTY-User-Key-File-") => {}
            "Encryption" => facts.encrypted = Some(value != "none"),
            "Public-Lines" => {
                let count = value.parse::<usize>().unwrap_or(0).min(64);
                let base64: String = lines.by_ref().take(count).collect();
                if let Ok(blob) = STANDARD.decode(base64) {
                    (facts.algorithm, facts.public_key, facts.fingerprint) = ssh_public_key(&blob);
                }
                break;
            }
            _ => {}
        }
    }
    facts.apply(life);
}

// ---------------------------------------------------------------------------------------
// OpenPGP (RFC 4880 §4.2, §5.5.3; RFC 9580 §5.5.3).

/// The first Secret-Key packet: version, creation time, algorithm, and the S2K usage
/// octet (0: not protected; anything else: protected by a passphrase).
fn pgp(pem: &Pem) -> KeyFacts {
    let mut facts = KeyFacts::new("pgp", None, false);
    facts.encrypted = None;
    let Some(der) = pem.der.as_deref() else {
        return facts;
    };
    let Some(body) = first_packet(der, 5) else {
        return facts;
    };
    let mut r = Reader(body);
    let Some(version) = r.u8() else {
        return facts;
    };
    let Some(created) = r.u32() else {
        return facts;
    };
    facts.created = Some(clamp_time(i64::from(created)));
    if version == 3 {
        // v3: two octets of validity days, then RSA only.
        let _ = r.u16();
    }
    let Some(algorithm) = r.u8() else {
        return facts;
    };
    let mut name = match algorithm {
        1..=3 => "rsa",
        16 | 20 => "elgamal",
        17 => "dsa",
        18 => "ecdh",
        19 => "ec",
        22 => "eddsa",
        25 => "x25519",
        26 => "x448",
        27 => "ed25519",
        28 => "ed448",
        _ => "",
    };
    let usage = match version {
        // v5 and v6 state the length of the public key material.
        5 | 6 => r
            .u32()
            .and_then(|len| r.take(usize::try_from(len).ok()?))
            .and_then(|_| r.u8()),
        3 | 4 => skip_public_material(&mut r, algorithm, &mut name).and_then(|_| r.u8()),
        _ => None,
    };
    if !name.is_empty() {
        facts.algorithm = Some(name.to_string());
    }
    facts.encrypted = usage.map(|u| u != 0);
    facts
}

/// The body of the first packet with `tag`, among the first few.
fn first_packet(mut data: &[u8], tag: u8) -> Option<&[u8]> {
    for _ in 0..8 {
        let mut r = Reader(data);
        let first = r.u8()?;
        if first & 0x80 == 0 {
            return None;
        }
        let (this_tag, len) = if first & 0x40 != 0 {
            let l0 = usize::from(r.u8()?);
            let len = match l0 {
                0..=191 => Some(l0),
                192..=223 => Some(((l0 - 192) << 8) + usize::from(r.u8()?) + 192),
                255 => usize::try_from(r.u32()?).ok(),
                // Partial body lengths: read what is there.
                _ => None,
            };
            (first & 0x3f, len)
        } else {
            let len = match first & 0x03 {
                0 => Some(usize::from(r.u8()?)),
                1 => Some(usize::from(r.u16()?)),
                2 => usize::try_from(r.u32()?).ok(),
                _ => None,
            };
            ((first >> 2) & 0x0f, len)
        };
        let len = len.unwrap_or(r.0.len()).min(r.0.len());
        let body = r.take(len)?;
        if this_tag == tag {
            return Some(body);
        }
        data = r.0;
    }
    None
}

/// Skips a v4 key's public MPIs (and curve OIDs) to reach the S2K usage octet; names a
/// legacy EdDSA key by its curve.
fn skip_public_material(r: &mut Reader, algorithm: u8, name: &mut &'static str) -> Option<()> {
    /// 1.3.6.1.4.1.11591.15.1, Ed25519 in the legacy EdDSA encoding.
    const OID_ED25519_LEGACY: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01];
    fn mpi(r: &mut Reader) -> Option<()> {
        let bits = usize::from(r.u16()?);
        r.take(bits.div_ceil(8)).map(|_| ())
    }
    match algorithm {
        1..=3 => (0..2).try_for_each(|_| mpi(r)),
        16 | 20 => (0..3).try_for_each(|_| mpi(r)),
        17 => (0..4).try_for_each(|_| mpi(r)),
        18 | 19 | 22 => {
            let oid_len = usize::from(r.u8()?);
            let oid = r.take(oid_len)?;
            if algorithm == 22 && oid == OID_ED25519_LEGACY {
                *name = "ed25519";
            }
            mpi(r)?;
            if algorithm == 18 {
                let kdf_len = usize::from(r.u8()?);
                r.take(kdf_len)?;
            }
            Some(())
        }
        25 => r.take(32).map(|_| ()),
        26 => r.take(56).map(|_| ()),
        27 => r.take(32).map(|_| ()),
        28 => r.take(57).map(|_| ()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use base64::engine::general_purpose::STANDARD as B64;
    use rcgen::PublicKeyData;

    use super::super::test_support::certificate_for;
    use super::super::{inspect, pem};
    use super::*;

    fn read(text: &str) -> Lifecycle {
        inspect("private-key", text.as_bytes(), None, &BTreeMap::new())
    }

    fn armor(label: &str, headers: &str, der: &[u8]) -> String {
        let body = B64.encode(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{headers}{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    #[test]
    fn pkcs8_ec_key_matches_its_certificate() {
        let key = rcgen::KeyPair::generate().unwrap();
        let key_pem = key.serialize_pem();
        assert!(key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let life = read(&key_pem);
        assert_eq!(
            life.facts["private_key"],
            json!({"format": "pkcs8", "algorithm": "ec", "encrypted": false})
        );
        assert_eq!(life.expires_at, None);
        assert_eq!(life.public_key.as_deref(), Some(key.public_key_raw()));

        let (cert, _) = certificate_for(&key_pem, 1_700_000_000, 86_400);
        let cert_life = read(&cert);
        assert_eq!(cert_life.public_key, life.public_key);

        // Escaped in JSON, and base64-wrapped, it reads the same.
        assert_eq!(read(&key_pem.replace('\n', "\\n")), life);
        let wrapped = B64.encode(&key_pem);
        assert!(wrapped.starts_with("LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t"));
        assert_eq!(read(&wrapped), life);
    }

    #[test]
    fn pkcs8_ed25519_key_uses_its_v2_public_key() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let life = read(&key.serialize_pem());
        assert_eq!(life.facts["private_key"]["algorithm"], "ed25519");
        assert_eq!(life.public_key.as_deref(), Some(key.der_bytes()));
        let (cert, _) = certificate_for(&key.serialize_pem(), 0, 86_400);
        assert_eq!(read(&cert).public_key, life.public_key);
    }

    #[test]
    fn sec1_key_gives_its_point() {
        // The SEC1 key inside ring's PKCS#8 document, re-armored as `EC PRIVATE KEY`.
        let key = rcgen::KeyPair::generate().unwrap();
        let pkcs8_der = key.serialize_der();
        let items = sequence(&pkcs8_der).unwrap();
        let sec1 = items[2].data.to_vec();
        let life = read(&armor("EC PRIVATE KEY", "", &sec1));
        assert_eq!(
            life.facts["private_key"],
            json!({"format": "sec1", "algorithm": "ec", "encrypted": false})
        );
        assert_eq!(life.public_key.as_deref(), Some(key.public_key_raw()));
    }

    /// A DER INTEGER / SEQUENCE writer for fake RSA structures (no real key needed: the
    /// parser reads structure, not mathematics).
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(content);
        out
    }

    fn fake_modulus() -> Vec<u8> {
        // High bit set, so DER needs the leading zero the parsers must strip.
        let mut m: Vec<u8> = (0..256u32).map(|i| (i * 37 + 11) as u8).collect();
        m[0] = 0xc3;
        m
    }

    fn fake_pkcs1(modulus: &[u8]) -> Vec<u8> {
        let mut positive = vec![0];
        positive.extend_from_slice(modulus);
        let fields = [
            der(0x02, &[0]),
            der(0x02, &positive),
            der(0x02, &[1, 0, 1]),
            der(0x02, &[5; 128]),
        ]
        .concat();
        der(0x30, &fields)
    }

    struct FakeRsaPublicKey(Vec<u8>);

    impl rcgen::PublicKeyData for FakeRsaPublicKey {
        fn der_bytes(&self) -> &[u8] {
            &self.0
        }
        fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
            &rcgen::PKCS_RSA_SHA256
        }
    }

    #[test]
    fn pkcs1_and_pkcs8_rsa_keys_pair_with_an_rsa_certificate() {
        let modulus = fake_modulus();
        let pkcs1 = fake_pkcs1(&modulus);
        let life = read(&armor("RSA PRIVATE KEY", "", &pkcs1));
        assert_eq!(
            life.facts["private_key"],
            json!({"format": "pkcs1", "algorithm": "rsa", "encrypted": false})
        );
        assert_eq!(life.public_key.as_deref(), Some(&modulus[..]));

        let rsa_alg = der(0x30, &[der(0x06, OID_RSA), vec![0x05, 0x00]].concat());
        let pkcs8 = der(
            0x30,
            &[der(0x02, &[0]), rsa_alg, der(0x04, &pkcs1)].concat(),
        );
        let life8 = read(&armor("PRIVATE KEY", "", &pkcs8));
        assert_eq!(life8.facts["private_key"]["algorithm"], "rsa");
        assert_eq!(life8.public_key.as_deref(), Some(&modulus[..]));

        // A certificate for that RSA public key, signed by an EC test CA.
        let mut positive = vec![0];
        positive.extend_from_slice(&modulus);
        let rsa_public = der(
            0x30,
            &[der(0x02, &positive), der(0x02, &[1, 0, 1])].concat(),
        );
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let issuer = rcgen::Issuer::new(rcgen::CertificateParams::default(), ca_key);
        let cert = rcgen::CertificateParams::default()
            .signed_by(&FakeRsaPublicKey(rsa_public), &issuer)
            .unwrap();
        assert_eq!(read(&cert.pem()).public_key.as_deref(), Some(&modulus[..]));
    }

    #[test]
    fn encryption_is_read_from_labels_and_headers() {
        let pkcs1 = fake_pkcs1(&fake_modulus());
        let legacy = armor(
            "RSA PRIVATE KEY",
            "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\n",
            &pkcs1,
        );
        let life = read(&legacy);
        assert_eq!(
            life.facts["private_key"],
            json!({"format": "pkcs1", "algorithm": "rsa", "encrypted": true})
        );
        // An encrypted body is never read for a public key.
        assert_eq!(life.public_key, None);
        assert_eq!(read(&legacy.replace('\n', "\\n")), life);

        let ec = armor(
            "EC PRIVATE KEY",
            "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\n",
            &[1, 2, 3],
        );
        assert_eq!(read(&ec).facts["private_key"]["encrypted"], true);

        let pkcs8 = armor(
            "ENCRYPTED PRIVATE KEY",
            "",
            &der(0x30, &der(0x04, &[9; 40])),
        );
        assert_eq!(
            read(&pkcs8).facts["private_key"],
            json!({"format": "pkcs8-encrypted", "encrypted": true})
        );
        let dsa = armor("DSA PRIVATE KEY", "", &[1, 2, 3]);
        assert_eq!(
            read(&dsa).facts["private_key"],
            json!({"format": "openssl-dsa", "algorithm": "dsa", "encrypted": false})
        );
    }

    fn ssh_string(bytes: &[u8]) -> Vec<u8> {
        let mut out = (bytes.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(bytes);
        out
    }

    fn openssh_key(cipher: &str, kdf: &str, kdf_options: &[u8]) -> (String, Vec<u8>) {
        let public = [ssh_string(b"ssh-ed25519"), ssh_string(&[7; 32])].concat();
        let blob = [
            b"openssh-key-v1\0".to_vec(),
            ssh_string(cipher.as_bytes()),
            ssh_string(kdf.as_bytes()),
            ssh_string(kdf_options),
            1u32.to_be_bytes().to_vec(),
            ssh_string(&public),
            ssh_string(&[0x5a; 136]),
        ]
        .concat();
        let body = B64.encode(blob);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(70)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let text = format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
            lines.join("\n")
        );
        (text, public)
    }

    #[test]
    fn openssh_keys_state_their_cipher() {
        let (plain, public) = openssh_key("none", "none", b"");
        assert!(plain.contains("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"));
        let life = read(&plain);
        let fingerprint = {
            use sha2::Digest as _;
            format!(
                "SHA256:{}",
                base64::engine::general_purpose::STANDARD_NO_PAD
                    .encode(sha2::Sha256::digest(&public))
            )
        };
        assert_eq!(
            life.facts["private_key"],
            json!({"format": "openssh", "algorithm": "ed25519", "encrypted": false, "fingerprint": fingerprint})
        );
        assert_eq!(life.public_key, Some(vec![7; 32]));
        assert_eq!(life.key_id.as_deref(), Some(fingerprint.as_str()));

        let (encrypted, _) = openssh_key("aes256-ctr", "bcrypt", &[0; 24]);
        assert!(encrypted.contains("b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0"));
        assert_eq!(read(&encrypted).facts["private_key"]["encrypted"], true);

        // Only the known first line, the rest damaged: the cipher still reads.
        for (prefix, expected) in [
            ("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", false),
            ("b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0", true),
        ] {
            let text = format!(
                "-----BEGIN OPENSSH PRIVATE KEY-----\\n{prefix}AAAA\\n!!damaged!!\\n-----END OPENSSH PRIVATE KEY-----"
            );
            let life = read(&text);
            assert_eq!(life.facts["private_key"]["encrypted"], expected, "{prefix}");
        }
    }

    fn pgp_block(usage: u8) -> String {
        let mut packet = vec![4];
        packet.extend(1_600_000_000u32.to_be_bytes());
        packet.push(22);
        packet.push(9);
        packet.extend([0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01]);
        packet.extend([0x01, 0x07]);
        packet.push(0x40);
        packet.extend([3; 32]);
        packet.push(usage);
        packet.extend([1; 20]);
        let mut data = vec![0xc5, packet.len() as u8];
        data.extend(packet);
        let body = B64.encode(&data);
        format!(
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: test\n\n{body}\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----\n"
        )
    }

    #[test]
    fn pgp_secret_keys() {
        let life = read(&pgp_block(0));
        assert_eq!(
            life.facts["private_key"],
            json!({"format": "pgp", "algorithm": "ed25519", "encrypted": false, "created": "2020-09-13T12:26:40Z"})
        );
        assert_eq!(life.issued_at, Some(1_600_000_000));
        assert_eq!(
            read(&pgp_block(254)).facts["private_key"]["encrypted"],
            true
        );
        let garbage =
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nAAAA\n-----END PGP PRIVATE KEY BLOCK-----";
        assert_eq!(read(garbage).facts["private_key"], json!({"format": "pgp"}));
    }

    #[test]
    fn putty_keys() {
        let public = [ssh_string(b"ssh-ed25519"), ssh_string(&[9; 32])].concat();
        let text = format!(
            "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: aes256-cbc\nComment: test\nPublic-Lines: 2\n{}\n{}\nKey-Derivation: Argon2id\nPrivate-Lines: 1\nAAAA\nPrivate-MAC: 00",
            &B64.encode(&public)[..40],
            &B64.encode(&public)[40..]
        );
        let life = read(&text);
        assert_eq!(life.facts["private_key"]["format"], "putty");
        assert_eq!(life.facts["private_key"]["algorithm"], "ed25519");
        assert_eq!(life.facts["private_key"]["encrypted"], true);
        assert_eq!(life.public_key, Some(vec![9; 32]));
        let plain = read(&text.replace("aes256-cbc", "none").replace('\n', "\\r\\n"));
        assert_eq!(plain.facts["private_key"]["encrypted"], false);
    }

    #[test]
    fn truncated_der_never_panics() {
        let key = rcgen::KeyPair::generate().unwrap().serialize_der();
        for end in 0..key.len() {
            let _ = pkcs8(&key[..end]);
            let _ = sec1_public_point(&key[..end]);
            let _ = pkcs1_modulus(&key[..end]);
        }
        let block = pgp_block(0);
        let der = pem::decode(block.as_bytes()).unwrap().der.unwrap();
        for end in 0..der.len() {
            let _ = first_packet(&der[..end], 5);
        }
    }
}
