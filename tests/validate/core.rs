//! GitHub, GitLab, Slack, AWS and GCP: the checks the issue names first.

use super::mock::Recorded;
use super::{Answer, Auth, Case, exercise};

#[test]
fn github_user_tokens() {
    exercise(&Case {
        rule: "github-pat-classic",
        secret: "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",
        key_id: None,
        identifiers: &[],
        endpoint: "github",
        prefix: "/api/v3",
        method: "GET",
        path: "/user",
        auth: Auth::Header(
            "authorization",
            "token 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",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[
                ("X-OAuth-Scopes", "repo, read:org"),
                (
                    "GitHub-Authentication-Token-Expiration",
                    "2027-01-31 12:00:00 UTC",
                ),
            ],
            body: r#"{"login":"deploy-bot","id":583231,"type":"User","name":"Deploy Bot"}"#,
        },
        identity: &[("login", "deploy-bot"), ("id", "583231"), ("type", "User")],
        scopes: &["repo", "read:org"],
        expires: Some("2027-01-31T12:00:00Z"),
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}"#,
        },
    });
}

#[test]
fn github_installation_tokens() {
    exercise(&Case {
        rule: "github-app-installation-token",
        secret: "ghs_ZeidJ0qfa74tx0Ar0iZQh0xxrxJPdB3MrF6i",
        key_id: None,
        identifiers: &[],
        endpoint: "github",
        prefix: "",
        method: "GET",
        path: "/installation/repositories?per_page=1",
        auth: Auth::Header(
            "authorization",
            "token ghs_ZeidJ0qfa74tx0Ar0iZQh0xxrxJPdB3MrF6i",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"total_count":3,"repositories":[{"full_name":"acme/infra"}]}"#,
        },
        identity: &[("repositories", "3"), ("first_repository", "acme/infra")],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"message":"Bad credentials"}"#,
        },
    });
}

#[test]
fn gitlab_personal_access_tokens() {
    exercise(&Case {
        rule: "gitlab-pat",
        secret: "glpat-ffRcvy0Dxo5pCJFz2B30",
        key_id: None,
        identifiers: &[],
        endpoint: "gitlab",
        prefix: "",
        method: "GET",
        path: "/api/v4/personal_access_tokens/self",
        auth: Auth::Header("private-token", "glpat-ffRcvy0Dxo5pCJFz2B30"),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"id":42,"name":"ci-release","revoked":false,"created_at":"2026-01-05T09:00:00.000Z","scopes":["api","read_repository"],"user_id":17,"active":true,"expires_at":"2027-01-05"}"#,
        },
        identity: &[
            ("name", "ci-release"),
            ("user_id", "17"),
            ("token_id", "42"),
        ],
        scopes: &["api", "read_repository"],
        expires: Some("2027-01-05T00:00:00Z"),
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"message":"401 Unauthorized"}"#,
        },
    });
}

#[test]
fn slack_tokens() {
    let case = Case {
        rule: "slack-bot-token",
        secret: "xoxb-10263082079-8305494993314-sxgOh1Zf7s92rAFTKSeSar2s",
        key_id: None,
        identifiers: &[],
        endpoint: "slack",
        prefix: "",
        method: "POST",
        path: "/api/auth.test",
        auth: Auth::Header(
            "authorization",
            "Bearer xoxb-10263082079-8305494993314-sxgOh1Zf7s92rAFTKSeSar2s",
        ),
        body: Some(""),
        live: Answer {
            status: 200,
            headers: &[("x-oauth-scopes", "chat:write,channels:read")],
            body: r#"{"ok":true,"url":"https://acme.slack.com/","team":"Acme","user":"release-bot","team_id":"T024BE7LD","user_id":"U0C0NS9HN","bot_id":"B0KJ2DT3Q","is_enterprise_install":false}"#,
        },
        identity: &[
            ("team", "Acme"),
            ("user", "release-bot"),
            ("bot_id", "B0KJ2DT3Q"),
        ],
        scopes: &["chat:write", "channels:read"],
        expires: None,
        // auth.test answers 200 for a bad token too: the body says so.
        revoked: Answer {
            status: 200,
            headers: &[],
            body: r#"{"ok":false,"error":"invalid_auth"}"#,
        },
    };
    exercise(&case);
    let (v, _) = super::ask(
        &case,
        super::mock::Reply::json(200, r#"{"ok":false,"error":"token_revoked"}"#),
    );
    assert_eq!(v.error.as_deref(), Some("HTTP 200: token_revoked"));
}

/// SigV4: the secret access key signs; it is never sent. The signature is made again here
/// from what the server received, with the time the client put in `x-amz-date`.
fn signed_with_sigv4(case: &Case, sent: &Recorded) {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;

    let everything = sent.everything();
    assert!(
        !everything.contains(case.secret),
        "the secret access key was sent"
    );
    let authorization = sent.header("authorization").expect("authorization header");
    let date = sent.header("x-amz-date").expect("x-amz-date header");
    assert!(
        authorization.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential={}/{}/us-east-1/sts/aws4_request, SignedHeaders=",
            case.key_id.unwrap(),
            &date[..8]
        )),
        "{authorization}"
    );
    let signed: Vec<&str> = authorization
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap()
        .split(';')
        .collect();
    let headers: Vec<(&str, &str)> = sent
        .headers
        .iter()
        .filter(|(n, _)| signed.contains(&n.as_str()) && n != "host" && n != "x-amz-date")
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let time = {
        let t = format!(
            "{}-{}-{}T{}:{}:{}Z",
            &date[0..4],
            &date[4..6],
            &date[6..8],
            &date[9..11],
            &date[11..13],
            &date[13..15]
        );
        std::time::UNIX_EPOCH
            + std::time::Duration::from_secs(sprawl::dates::parse_rfc3339(&t).unwrap() as u64)
    };
    let identity = aws_credential_types::Credentials::new(
        case.key_id.unwrap(),
        case.secret,
        None,
        None,
        "test",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("sts")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let host = sent.header("host").unwrap();
    let url = format!("http://{host}{}", sent.path);
    let request = SignableRequest::new(
        "POST",
        url.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(&sent.body),
    )
    .unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let (expected, _) = instructions.into_parts();
    let expected = expected
        .iter()
        .find(|h| h.name() == "authorization")
        .map(|h| h.value().to_string())
        .unwrap();
    assert_eq!(authorization, expected, "the signature does not verify");
}

#[test]
fn aws_access_keys() {
    exercise(&Case {
        rule: "aws-secret-access-key",
        secret: "vqAkiv39BYLDeZsuJXdtjdl8k/wWQkA3+/dD6Eoz",
        key_id: Some("AKIAZSUSOENQGEOCONEW"),
        identifiers: &[],
        endpoint: "aws",
        prefix: "",
        method: "POST",
        path: "/",
        auth: Auth::Custom(signed_with_sigv4),
        body: Some("Action=GetCallerIdentity&Version=2011-06-15"),
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Account":"123456789012","Arn":"arn:aws:iam::123456789012:user/ci-deployer","UserId":"AIDAJQABLZS4A3QDU576Q"},"ResponseMetadata":{"RequestId":"01234567-89ab-cdef-0123-456789abcdef"}}}"#,
        },
        identity: &[
            ("account", "123456789012"),
            ("arn", "arn:aws:iam::123456789012:user/ci-deployer"),
            ("access_key_id", "AKIAZSUSOENQGEOCONEW"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 403,
            headers: &[],
            body: r#"{"Error":{"Code":"InvalidClientTokenId","Message":"The security token included in the request is invalid.","Type":"Sender"},"RequestId":"0"}"#,
        },
    });
}

#[test]
fn aws_without_its_key_id_is_unknown_and_sends_nothing() {
    let rule = super::rules().get("aws-secret-access-key").unwrap();
    let named = rule.resolved_check.clone().unwrap();
    let mock = super::mock::Mock::answering(super::mock::Reply::json(200, "{}"));
    let ids = Default::default();
    let v = sprawl::validate::validate_one(
        &named,
        &sprawl::validate::Credential {
            secret: b"vqAkiv39BYLDeZsuJXdtjdl8k/wWQkA3+/dD6Eoz",
            key_id: None,
            identifiers: &ids,
        },
        &super::settings("aws", mock.url()),
    );
    assert_eq!(v.result, sprawl::validate::Outcome::Unknown);
    assert!(v.error.unwrap().contains("access key id"));
    assert_eq!(mock.connections(), 0);
}

/// A fresh 2048-bit RSA key made for this test (openssl genpkey), tied to no account; in the
/// JSON key file's escaped form, as the rule captures it.
const TEST_SERVICE_ACCOUNT_KEY: &str = "-----BEGIN PRIVATE KEY-----\\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDBuDuDonWX3JJw\\nAFNLm+9I+dDWIxi+T0z1c9tFIGh4HrR7kge6i5momTx8brZA9mLeX/B7tS7qzaNs\\nL0yQ4vZ3uREcHkZHreIV1qy+0QPI0/PE6XfMLPBuwWXG8SwMNqUJkE4GMn4VDHJD\\nrf4oAl85Df22YqDv1AkVLFCnmcspCrNAJnJY2VncQzTMc/jofuD4q2d8pf7Xkj/Q\\nQ6McT16zChL4Ys0ysCpKZ+954N4pfxemfIsNgBK/vvlHP/rZXTvyEGOozexX9ypt\\n4DG8lExJKicki4JwStZ5OKa0qcyaMsFquWDykiI9ggek70VDI+qJDBZvXf6S6b6p\\nNBmsW6z3AgMBAAECggEAGJG9OpzIPVKEYCAqcFR+rMrCaeZZpQl5wUfIb6QEm/eI\\n/IMw57/85R1KRp3kD6kwMPQKFCaOpMkgCQCWvWmLyPN38BEG6OBs5Egt8KWhzT7U\\nlAzoXMT2WZW9ytWbuJDVrbjXrIGK7DB/7YWLzpc+bIYRv6gSsVg7LqxILnmbAsFX\\ntBgKq41p4RDTR82m3stgKArNG15XmYgGqHOFNYbYxVji70HXhcVHfT2nTCvfj9J4\\nIwryJ4Asnch3lf9JM+S6i8BjH99xnxA/P23zgcVR7x/BIGCNa0l8ifL3PIafzhyh\\nj9seR4rGRMeD88KzZBJ7FTJyqABwTntq81KENLQdAQKBgQD9fPylBRzhMV+fFzhS\\nj3y/JNG1r/nIeJnIDEKQuzT9k496FCtnWh8Jw7MgTh0bwxuCcJD/3EfjcJc8Y2zu\\nnwlb6XcRpz1Ic7CpJIVzjlNK2fXVNrrkR+Wh08Y6/gu3zT9jDIPZu90RB29/w5By\\nJnbpqc5BlHx0h7bTUWb3hylzhwKBgQDDo6IULUvzK6sHB0CeU4TAZd52uNrvahHX\\nGqqpI2FkcXnZcQE6vVDnSTJUKm9g9jf5E1SXrs6aTkJt2IZx46lruOyikWDLXDXN\\nbmY7miXJ3A6dUgtToSkXd2MbpuoVJcLW9haKVbhWdfSx6Yr0aZ2BvowwMMasU0bV\\nNORPAy83EQKBgQCwnkhuNlzD7yHf+E7O/5j8mYvgmudgLd+ASkKLE1U9pXXfqnP/\\nhASCSi/hv2t6r3vYa9Qr4fDY4NcPRXtd28OqncXPsAX8GFer0n2FYVJZofouf/7C\\nFfJCygqhiebiPwj+W3b223WRauveSoW3c2OBNUY33VzF2NWi8WHb7/oKuwKBgQCG\\nXxySiS4SPhsA/801MZ4LW6x5lKvjJtJMEOfItiFNkNclLwWuJ5uqz85+morXaSW2\\nsL04VXtX5oqf0ck97iVOdLwrSHjYFGRrzfjv1QdBZyCuk0xuS1Hi6UAsHO/ISKBT\\nbsC6kPfEgs3naMXk66mgFJVLACVk9OnAxMxPLJvAUQKBgGoK4bpucxxPyfM8in+c\\neZItEcVbFxsM/s05UWF98uTbLlCtPhwCZBDtcA6Yp2nEw0SHbFjYduJmOPWOjkE1\\nlaxkRLgMwku0ekGTu0gYN/IDUUyW+/5InTTjJggrpzXgO3sQ20oi0wCm9THW1gju\\nGvy6P82M1DzTKaAPmqF/cGfa\\n-----END PRIVATE KEY-----";

/// The assertion is a JWT signed with the key: verified here with its public half.
fn jwt_assertion(_case: &Case, sent: &Recorded) {
    use base64::Engine as _;
    let body = sent.body_text();
    let fields: std::collections::BTreeMap<&str, &str> = body
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    assert_eq!(
        fields.get("grant_type"),
        Some(&"urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer")
    );
    let jwt = fields.get("assertion").expect("assertion");
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims: serde_json::Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(
        claims["iss"],
        "exporter@billing-prod-4411.iam.gserviceaccount.com"
    );
    assert!(claims["aud"].as_str().unwrap().ends_with("/token"));
    let pem = TEST_SERVICE_ACCOUNT_KEY.replace("\\n", "\n");
    let b64body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64body)
        .unwrap();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
    use ring::signature::KeyPair as _;
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        pair.public_key().as_ref().to_vec(),
    );
    public
        .verify(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &b64.decode(parts[2]).unwrap(),
        )
        .expect("the assertion is signed with the service account's key");
    assert!(
        !sent.everything().contains("PRIVATE KEY"),
        "the key itself was sent"
    );
}

#[test]
fn gcp_service_account_keys() {
    exercise(&Case {
        rule: "google-cloud-service-account-key",
        secret: TEST_SERVICE_ACCOUNT_KEY,
        key_id: Some("838535f2de416705f3524612a53932684a85893f"),
        identifiers: &[(
            "client_email",
            "exporter@billing-prod-4411.iam.gserviceaccount.com",
        )],
        endpoint: "gcp",
        prefix: "",
        method: "POST",
        path: "/token",
        auth: Auth::Custom(jwt_assertion),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"access_token":"ya29.c.fake-access-token","expires_in":3599,"token_type":"Bearer"}"#,
        },
        identity: &[(
            "email",
            "exporter@billing-prod-4411.iam.gserviceaccount.com",
        )],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 400,
            headers: &[],
            body: r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
        },
    });
}

/// Shared Key: HMAC-SHA256 with the account key over the request, computed here again from
/// what the server received (the Storage REST documentation's string to sign).
fn signed_with_shared_key(case: &Case, sent: &Recorded) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    assert!(
        !sent.everything().contains(case.secret),
        "the account key was sent"
    );
    let account = case.key_id.unwrap();
    let authorization = sent.header("authorization").expect("authorization");
    let signature = authorization
        .strip_prefix(&format!("SharedKey {account}:"))
        .unwrap_or_else(|| panic!("{authorization}"));
    let date = sent.header("x-ms-date").expect("x-ms-date");
    let version = sent.header("x-ms-version").expect("x-ms-version");
    let expected_text = format!(
        "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{account}/\ncomp:list\nmaxresults:1"
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &b64.decode(case.secret).unwrap());
    ring::hmac::verify(
        &key,
        expected_text.as_bytes(),
        &b64.decode(signature).unwrap(),
    )
    .expect("the Shared Key signature does not verify");
}

#[test]
fn azure_storage_account_keys() {
    exercise(&Case {
        rule: "azure-storage-connection-string",
        secret: "Z0soKqP1DyxH1JpMEMUa9aRzdoxOXdWspk/tR95YDp+8MXTWWFMbSQWpCTwuztD4UiRAWGs2LNe85uB8cBRgsg==",
        key_id: Some("acmeprodlogs"),
        identifiers: &[],
        endpoint: "azure-storage",
        prefix: "",
        method: "GET",
        path: "/?comp=list&maxresults=1",
        auth: Auth::Custom(signed_with_shared_key),
        body: None,
        live: Answer {
            status: 200,
            headers: &[("Content-Type", "application/xml")],
            body: r#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="https://acmeprodlogs.blob.core.windows.net/"><MaxResults>1</MaxResults><Containers /></EnumerationResults>"#,
        },
        identity: &[("account", "acmeprodlogs")],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 403,
            headers: &[("x-ms-error-code", "AuthenticationFailed")],
            body: "",
        },
    });
}
