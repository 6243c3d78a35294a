//! JSON Web Tokens (RFC 7519): the header's algorithm and key id, and the registered claims
//! that say who issued the token, for whom, and when it lives. No other claim is copied:
//! payloads carry personal data.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::pem::{STANDARD, URL_SAFE};
use super::{Lifecycle, clamp_time};

/// A header or payload longer than this is not decoded (a JWT is a bearer header, not a
/// document).
const MAX_PART: usize = 64 * 1024;

/// Reads a JWT (`eyJ…`) or a base64-encoded one (`ZXlK…`, as in Kubernetes Secret data).
/// Anything that does not decode to two JSON objects leaves `life` unchanged.
pub(super) fn inspect(text: &[u8], life: &mut Lifecycle) {
    if text.starts_with(b"ZXlK") {
        if let Ok(inner) = STANDARD.decode(text.trim_ascii())
            && inner.starts_with(b"eyJ")
        {
            inspect(super::trim(&inner), life);
        }
        return;
    }
    let mut parts = text.split(|&b| b == b'.');
    let (Some(header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    let (Some(header), Some(payload)) = (decode_object(header), decode_object(payload)) else {
        return;
    };

    let string = |map: &Map<String, Value>, name: &str| {
        map.get(name).and_then(Value::as_str).map(str::to_string)
    };
    let iss = string(&payload, "iss");
    let sub = string(&payload, "sub");
    life.issued_at = numeric_date(payload.get("iat"));
    life.not_before = numeric_date(payload.get("nbf"));
    life.expires_at = numeric_date(payload.get("exp"));

    let mut facts = Map::new();
    for name in ["alg", "kid", "typ"] {
        if let Some(value) = string(&header, name) {
            facts.insert(name.into(), json!(value));
        }
    }
    if let Some(iss) = &iss {
        facts.insert("iss".into(), json!(iss));
    }
    if let Some(sub) = &sub {
        facts.insert("sub".into(), json!(sub));
    }
    match payload.get("aud") {
        Some(Value::String(aud)) => {
            facts.insert("aud".into(), json!(aud));
        }
        Some(Value::Array(auds)) => {
            let auds: Vec<&Value> = auds.iter().filter(|a| a.is_string()).collect();
            facts.insert("aud".into(), json!(auds));
        }
        _ => {}
    }
    facts.insert("has_exp".into(), json!(life.expires_at.is_some()));
    life.facts.insert("jwt".into(), Value::Object(facts));

    life.key_id = match (iss, sub) {
        (Some(iss), Some(sub)) => Some(format!("{iss}|{sub}")),
        (iss, _) => iss,
    };
}

/// base64url (or standard base64, padded or not) of a JSON object.
fn decode_object(part: &[u8]) -> Option<Map<String, Value>> {
    if part.len() > MAX_PART {
        return None;
    }
    let bytes = URL_SAFE
        .decode(part)
        .or_else(|_| STANDARD.decode(part))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A NumericDate: seconds since the epoch, integer or not; anything else is ignored.
fn numeric_date(value: Option<&Value>) -> Option<i64> {
    let number = value?.as_number()?;
    let seconds = match number.as_i64() {
        Some(i) => i,
        // `as` saturates and maps NaN to 0; serde_json never yields NaN or infinities.
        None => number.as_f64()?.floor() as i64,
    };
    Some(clamp_time(seconds))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD as PADDED, URL_SAFE_NO_PAD};

    use super::super::inspect as inspect_secret;
    use super::*;

    fn token(header: &str, payload: &str) -> String {
        format!(
            "{}.{}.c2lnbmF0dXJlLW5vdC1yZWFsLXRlc3Qtb25seQ",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    fn read(text: &str) -> Lifecycle {
        inspect_secret("jwt-token", text.as_bytes(), None, &BTreeMap::new())
    }

    #[test]
    fn reads_times_and_identity() {
        let t = token(
            r#"{"alg":"RS256","kid":"key-2024","typ":"JWT"}"#,
            r#"{"iss":"https://issuer.test","sub":"svc-build","aud":["api","web",3],"iat":1700000000,"nbf":1700000060,"exp":1700003600,"email":"someone@test.invalid"}"#,
        );
        let life = read(&t);
        assert_eq!(life.issued_at, Some(1_700_000_000));
        assert_eq!(life.not_before, Some(1_700_000_060));
        assert_eq!(life.expires_at, Some(1_700_003_600));
        assert_eq!(
            life.key_id.as_deref(),
            Some("https://issuer.test|svc-build")
        );
        assert_eq!(
            life.facts["jwt"],
            json!({"alg": "RS256", "kid": "key-2024", "typ": "JWT", "iss": "https://issuer.test",
                   "sub": "svc-build", "aud": ["api", "web"], "has_exp": true})
        );
        // Other claims never leave the token.
        assert!(!Value::Object(life.facts).to_string().contains("someone"));
    }

    #[test]
    fn missing_exp_float_exp_and_issuer_alone() {
        let life = read(&token(
            r#"{"alg":"HS256"}"#,
            r#"{"iss":"kubernetes/serviceaccount","aud":"x","iat":"soon"}"#,
        ));
        assert_eq!(life.expires_at, None);
        assert_eq!(life.issued_at, None);
        assert_eq!(life.facts["jwt"]["has_exp"], false);
        assert_eq!(life.facts["jwt"]["aud"], "x");
        assert_eq!(life.key_id.as_deref(), Some("kubernetes/serviceaccount"));

        let life = read(&token(
            r#"{"alg":"none"}"#,
            r#"{"exp":1700003600.75,"sub":"only"}"#,
        ));
        assert_eq!(life.expires_at, Some(1_700_003_600));
        assert_eq!(life.key_id, None);
        assert_eq!(life.facts["jwt"]["has_exp"], true);

        let life = read(&token(r#"{"alg":"none"}"#, r#"{"exp":1e300,"iat":-1e300}"#));
        assert_eq!(life.expires_at, Some(super::super::MAX_TIME));
        assert_eq!(life.issued_at, Some(super::super::MIN_TIME));
        assert!(life.stated_lifetime().is_some());
    }

    #[test]
    fn standard_base64_padding_and_wrapped_tokens() {
        let header = PADDED.encode(r#"{"alg":"ES256","typ":"JWT"}"#);
        let payload = PADDED.encode(r#"{"iss":"a?b>","exp":1700000000}"#);
        assert!(payload.contains('/') || payload.contains('+') || payload.ends_with('='));
        let life = read(&format!("{header}.{payload}.sig"));
        assert_eq!(life.expires_at, Some(1_700_000_000));

        let t = token(
            r#"{"alg":"HS256"}"#,
            r#"{"iss":"wrapped","exp":1700000000}"#,
        );
        let wrapped = PADDED.encode(&t);
        assert!(wrapped.starts_with("ZXlK"));
        assert_eq!(read(&wrapped), read(&t));
    }

    #[test]
    fn garbage_gives_default() {
        for text in [
            "eyJhbGciOiJIUzI1NiJ9",
            "eyJhbGciOiJIUzI1NiJ9.eyJ.sig",
            "eyJhbGciOiJIUzI1NiJ9.W10.sig",
            "eyJ!!!.eyJ???.sig",
            "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.a.b.c",
            "ZXlK!!",
        ] {
            assert_eq!(read(text), Lifecycle::default(), "{text}");
        }
    }
}
