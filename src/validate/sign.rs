//! The two checks that must sign rather than send: AWS (SigV4 over STS GetCallerIdentity,
//! by the `aws-sigv4` crate the AWS SDKs use) and GCP (an RS256 JWT assertion made with the
//! service account's key, by `ring`). Both sign with the real clock, not `--now`: a provider
//! refuses a signature dated elsewhere.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;

use super::http::Request;

/// Adds the SigV4 headers (`authorization`, `x-amz-date`) for the key pair to `request`.
pub fn aws_sigv4(request: &mut Request, key_id: &str, secret: &str) -> Result<(), String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;

    let identity =
        aws_credential_types::Credentials::new(key_id, secret, None, None, "sprawl").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("sts")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|_| "cannot sign the AWS request".to_string())?
        .into();
    let body = request.body.clone().unwrap_or_default();
    let signable = SignableRequest::new(
        request.method.as_str(),
        request.url.as_str(),
        request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(&body),
    )
    .map_err(|_| "cannot sign the AWS request".to_string())?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|_| "cannot sign the AWS request".to_string())?
        .into_parts();
    let (headers, _) = instructions.into_parts();
    for header in headers {
        request
            .headers
            .push((header.name().to_string(), header.value().to_string()));
    }
    Ok(())
}

/// Appends `assertion=<JWT>` to the token request's form: a JWT for `email`, signed with the
/// service account's private key (PEM, possibly with the `\n` escapes of its JSON file).
pub fn gcp_assertion(request: &mut Request, private_key: &str, email: &str) -> Result<(), String> {
    let der = pem_body(private_key).ok_or("the service account key is not a PEM private key")?;
    let key = ring::signature::RsaKeyPair::from_pkcs8(&der)
        .or_else(|_| ring::signature::RsaKeyPair::from_der(&der))
        .map_err(|_| "the service account key is not an RSA key ring can read".to_string())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(r#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": email,
        "scope": "https://www.googleapis.com/auth/cloud-platform.read-only",
        "aud": request.url,
        "iat": now,
        "exp": now + 300,
    });
    let claims = b64.encode(claims.to_string());
    let signing_input = format!("{header}.{claims}");
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "cannot sign the GCP assertion".to_string())?;
    let assertion = format!("{signing_input}.{}", b64.encode(signature));
    let body = request.body.get_or_insert_with(Vec::new);
    if !body.is_empty() {
        body.push(b'&');
    }
    body.extend_from_slice(b"assertion=");
    body.extend_from_slice(assertion.as_bytes());
    Ok(())
}

/// The DER inside a PEM block, accepting JSON's `\n` escapes for line breaks.
fn pem_body(text: &str) -> Option<Vec<u8>> {
    let text = text.replace("\\n", "\n");
    let start = text.find("-----BEGIN ")?;
    let after = &text[start..];
    let body_start = after.find('\n')? + 1;
    let body_end = after.find("-----END ")?;
    let body: String = after
        .get(body_start..body_end)?
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\\')
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// The version of the Storage REST API the request speaks (its Shared Key format).
const AZURE_STORAGE_VERSION: &str = "2021-08-06";

/// Adds `x-ms-date`, `x-ms-version` and `Authorization: SharedKey account:signature` to a
/// Blob service request: HMAC-SHA256, keyed with the base64-decoded account key, over the
/// verb, the standard headers, the `x-ms-` headers and the account's resource.
pub fn azure_shared_key(request: &mut Request, account: &str, key: &str) -> Result<(), String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(key.trim())
        .map_err(|_| "the storage account key is not base64".to_string())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    request
        .headers
        .push(("x-ms-date".into(), crate::dates::http_date(now)));
    request
        .headers
        .push(("x-ms-version".into(), AZURE_STORAGE_VERSION.into()));
    let string_to_sign = azure_string_to_sign(request, account);
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key),
        string_to_sign.as_bytes(),
    );
    let signature = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
    request.headers.push((
        "Authorization".into(),
        format!("SharedKey {account}:{signature}"),
    ));
    Ok(())
}

/// The Shared Key string to sign (Storage services, version 2009-09-19 and later).
fn azure_string_to_sign(request: &Request, account: &str) -> String {
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    };
    let length = request.body.as_ref().map_or(0, Vec::len);
    let length = if length == 0 {
        String::new()
    } else {
        length.to_string()
    };
    let mut ms: Vec<(String, &str)> = request
        .headers
        .iter()
        .filter(|(n, _)| n.to_ascii_lowercase().starts_with("x-ms-"))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim()))
        .collect();
    ms.sort();
    // The path and query after the host.
    let after_scheme = request.url.split_once("://").map_or("", |(_, rest)| rest);
    let path_and_query = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut params: Vec<(String, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (n.to_ascii_lowercase(), v)
        })
        .collect();
    params.sort();
    let mut text = String::new();
    for part in [
        request.method.as_str(),
        header("content-encoding"),
        header("content-language"),
        &length,
        header("content-md5"),
        header("content-type"),
        header("date"),
        header("if-modified-since"),
        header("if-match"),
        header("if-none-match"),
        header("if-unmodified-since"),
        header("range"),
    ] {
        text.push_str(part);
        text.push('\n');
    }
    for (name, value) in ms {
        text.push_str(&format!("{name}:{value}\n"));
    }
    text.push_str(&format!("/{account}{path}"));
    for (name, value) in params {
        text.push_str(&format!("\n{name}:{value}"));
    }
    text
}
