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
