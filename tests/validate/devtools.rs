//! Developer tooling, observability and package registries: Datadog, Sentry, Postman, Netlify,
//! Vercel, Doppler, Pulumi, Buildkite, LaunchDarkly, Apify, SonarQube Cloud and npm.

use super::{Answer, Auth, Case, exercise};

#[test]
fn datadog_api_keys() {
    exercise(&Case {
        rule: "datadog-api-key",
        secret: "9ef770118948517029b5722c7e62049c",
        key_id: None,
        identifiers: &[],
        endpoint: "datadog",
        prefix: "",
        method: "GET",
        path: "/api/v1/validate",
        auth: Auth::Header("dd-api-key", "9ef770118948517029b5722c7e62049c"),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"valid":true}"#,
        },
        identity: &[],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 403,
            headers: &[],
            body: r#"{"errors":["Forbidden"]}"#,
        },
    });
}

#[test]
fn sentry_user_auth_tokens() {
    exercise(&Case {
        rule: "sentry-user-auth-token",
        secret: "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",
        key_id: None,
        identifiers: &[],
        endpoint: "sentry",
        prefix: "",
        method: "GET",
        path: "/api/0/",
        auth: Auth::Header(
            "authorization",
            "Bearer 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",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"version":"0","auth":{"scopes":["org:read","project:read"]},"user":{"id":"1","name":"Jane Bloggs","username":"jane@example.com","email":"jane@example.com","isActive":true}}"#,
        },
        identity: &[
            ("user_id", "1"),
            ("username", "jane@example.com"),
            ("email", "jane@example.com"),
            ("name", "Jane Bloggs"),
        ],
        scopes: &["org:read", "project:read"],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"detail":"Invalid token"}"#,
        },
    });
}

#[test]
fn sentry_org_auth_tokens() {
    exercise(&Case {
        rule: "sentry-org-auth-token",
        secret: "sntrys_eyJpYXQiOiAxNzE4MDAwMDAwLjEyMzQ1NiwgInVybCI6ICJodHRwczovL3NlbnRyeS5pbyIsICJyZWdpb25fdXJsIjogImh0dHBzOi8vdXMuc2VudHJ5LmlvIiwgIm9yZyI6ICJhY21lLXdlYiJ9_NigimgeL95oAV8ISeI7UQs39pMDuFfycjSoLLWyFjC4",
        key_id: None,
        identifiers: &[],
        endpoint: "sentry",
        prefix: "",
        method: "GET",
        path: "/api/0/",
        auth: Auth::Header(
            "authorization",
            "Bearer sntrys_eyJpYXQiOiAxNzE4MDAwMDAwLjEyMzQ1NiwgInVybCI6ICJodHRwczovL3NlbnRyeS5pbyIsICJyZWdpb25fdXJsIjogImh0dHBzOi8vdXMuc2VudHJ5LmlvIiwgIm9yZyI6ICJhY21lLXdlYiJ9_NigimgeL95oAV8ISeI7UQs39pMDuFfycjSoLLWyFjC4",
        ),
        body: None,
        // An organization token belongs to no user.
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"version":"0","auth":{"scopes":["org:ci","project:releases"]},"user":null}"#,
        },
        identity: &[],
        scopes: &["org:ci", "project:releases"],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"detail":"Invalid token"}"#,
        },
    });
}

#[test]
fn postman_api_keys() {
    exercise(&Case {
        rule: "postman-api-key",
        secret: "PMAK-3e7f66571e4b56946da1fe41-4eab14b87477fd50476fabd0f1b3852716",
        key_id: None,
        identifiers: &[],
        endpoint: "postman",
        prefix: "",
        method: "GET",
        path: "/me",
        auth: Auth::Header(
            "x-api-key",
            "PMAK-3e7f66571e4b56946da1fe41-4eab14b87477fd50476fabd0f1b3852716",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"user":{"id":12345678,"username":"taylor-lee","email":"taylor.lee@example.com","fullName":"Taylor Lee","teamId":123,"teamName":"Acme"}}"#,
        },
        identity: &[
            ("user_id", "12345678"),
            ("username", "taylor-lee"),
            ("email", "taylor.lee@example.com"),
            ("name", "Taylor Lee"),
            ("team", "Acme"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"error":{"name":"AuthenticationError","message":"Invalid API Key. Every request requires a valid API Key to be sent."}}"#,
        },
    });
}

#[test]
fn netlify_access_tokens() {
    exercise(&Case {
        rule: "netlify-access-token",
        secret: "nfp_zro4YbOgTbSAvWyruCknMLeKyov4KTuXLA4G",
        key_id: None,
        identifiers: &[],
        endpoint: "netlify",
        prefix: "",
        method: "GET",
        path: "/api/v1/user",
        auth: Auth::Header(
            "authorization",
            "Bearer nfp_zro4YbOgTbSAvWyruCknMLeKyov4KTuXLA4G",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"id":"5a1f2e3d4c5b6a7980f1e2d3","full_name":"Robin Diaz","email":"robin@acme.test","site_count":7,"created_at":"2021-04-12T09:30:00.000Z"}"#,
        },
        identity: &[
            ("user_id", "5a1f2e3d4c5b6a7980f1e2d3"),
            ("email", "robin@acme.test"),
            ("name", "Robin Diaz"),
            ("sites", "7"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"code":401,"message":"Access Denied"}"#,
        },
    });
}

#[test]
fn vercel_tokens() {
    exercise(&Case {
        rule: "vercel-token",
        secret: "vcp_dlP0QWJFM2kOTGLHAH5bBnZlblCjRRRMG6LmFtyAo0NsvEiYTZd7yrTu",
        key_id: None,
        identifiers: &[],
        endpoint: "vercel",
        prefix: "",
        method: "GET",
        path: "/v2/user",
        auth: Auth::Header(
            "authorization",
            "Bearer vcp_dlP0QWJFM2kOTGLHAH5bBnZlblCjRRRMG6LmFtyAo0NsvEiYTZd7yrTu",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"user":{"id":"AEIIDYVk59zbFF2Sxfyxxmua","email":"me@example.com","name":"John Doe","username":"jdoe","defaultTeamId":"team_nllPyCtREAqxxdyFKbbMDlxd","createdAt":1630748523395}}"#,
        },
        identity: &[
            ("user_id", "AEIIDYVk59zbFF2Sxfyxxmua"),
            ("username", "jdoe"),
            ("email", "me@example.com"),
            ("name", "John Doe"),
            ("default_team", "team_nllPyCtREAqxxdyFKbbMDlxd"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 403,
            headers: &[],
            body: r#"{"error":{"code":"forbidden","message":"Not authorized","invalidToken":true}}"#,
        },
    });
}

#[test]
fn doppler_tokens() {
    exercise(&Case {
        rule: "doppler-token",
        secret: "dp.pt.k6T0YAC14KT5kPFL71svGrgRvObUG5azN3D3e1LCnj7",
        key_id: None,
        identifiers: &[],
        endpoint: "doppler",
        prefix: "",
        method: "GET",
        path: "/v3/me",
        auth: Auth::Header(
            "authorization",
            "Bearer dp.pt.k6T0YAC14KT5kPFL71svGrgRvObUG5azN3D3e1LCnj7",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"workplace":{"slug":"acme","name":"Acme"},"slug":"3f4b1c2a","name":"ci-laptop","type":"personal","created_at":"2026-01-05T09:00:00.000Z","last_seen_at":"2026-02-01T10:00:00.000Z"}"#,
        },
        identity: &[
            ("token_name", "ci-laptop"),
            ("type", "personal"),
            ("workplace", "Acme"),
            ("workplace_slug", "acme"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"messages":["Invalid Auth token"],"success":false}"#,
        },
    });
}

#[test]
fn pulumi_access_tokens() {
    exercise(&Case {
        rule: "pulumi-access-token",
        secret: "pul-3cfa3905f836a2bc71f79c5e9b877873ed53d5d0",
        key_id: None,
        identifiers: &[],
        endpoint: "pulumi",
        prefix: "",
        method: "GET",
        path: "/api/user",
        auth: Auth::Header(
            "authorization",
            "token pul-3cfa3905f836a2bc71f79c5e9b877873ed53d5d0",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"id":"8d1f0a9e","githubLogin":"ops-bot","name":"Ops Bot","email":"ops@acme.test","avatarUrl":"https://example.com/a.png","organizations":[{"name":"Acme","githubLogin":"acme","role":"admin","avatarUrl":""}]}"#,
        },
        identity: &[
            ("login", "ops-bot"),
            ("name", "Ops Bot"),
            ("email", "ops@acme.test"),
            ("first_organization", "acme"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"code":401,"message":"Unauthorized: No credentials provided or are invalid."}"#,
        },
    });
}

#[test]
fn buildkite_api_tokens() {
    exercise(&Case {
        rule: "buildkite-api-token",
        secret: "bkua_c6bc55066527a1760aee1498aa354d33f696f715",
        key_id: None,
        identifiers: &[],
        endpoint: "buildkite",
        prefix: "",
        method: "GET",
        path: "/v2/access-token",
        auth: Auth::Header(
            "authorization",
            "Bearer bkua_c6bc55066527a1760aee1498aa354d33f696f715",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"scopes":["read_builds","read_pipelines"],"uuid":"b63254c0-3271-4a98-8270-7cfbd6c2f14e"}"#,
        },
        identity: &[("token_uuid", "b63254c0-3271-4a98-8270-7cfbd6c2f14e")],
        scopes: &["read_builds", "read_pipelines"],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"message":"Authentication required. Please supply a valid API Access Token."}"#,
        },
    });
}

#[test]
fn launchdarkly_sdk_keys() {
    exercise(&Case {
        rule: "launchdarkly-access-key",
        secret: "sdk-fc85304b-723b-4a87-bbe1-70796a6d24f0",
        key_id: None,
        identifiers: &[],
        endpoint: "launchdarkly",
        prefix: "",
        method: "GET",
        path: "/api/v2/caller-identity",
        auth: Auth::Header("authorization", "sdk-fc85304b-723b-4a87-bbe1-70796a6d24f0"),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"accountId":"5f9a1b2c3d4e5f6a7b8c9d0e","environmentId":"60aa11bb22cc33dd44ee55ff","projectId":"60aa11bb22cc33dd44ee5500","environmentName":"Production","projectName":"Storefront","authKind":"sdk","tokenKind":"server"}"#,
        },
        identity: &[
            ("account_id", "5f9a1b2c3d4e5f6a7b8c9d0e"),
            ("auth_kind", "sdk"),
            ("token_kind", "server"),
            ("project", "Storefront"),
            ("environment", "Production"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"code":"unauthorized","message":"Invalid access token"}"#,
        },
    });
}

#[test]
fn apify_api_tokens() {
    exercise(&Case {
        rule: "apify-api-token",
        secret: "apify_api_m0xVQzJXtw3XVBOsrT5mH3DaWvTrmFLHBMUA",
        key_id: None,
        identifiers: &[],
        endpoint: "apify",
        prefix: "",
        method: "GET",
        path: "/v2/users/me",
        auth: Auth::Header(
            "authorization",
            "Bearer apify_api_m0xVQzJXtw3XVBOsrT5mH3DaWvTrmFLHBMUA",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"data":{"id":"YiKoxjkaS9gjGTqhF","username":"scraper-team","email":"team@acme.test","plan":{"id":"SCALE"}}}"#,
        },
        identity: &[
            ("user_id", "YiKoxjkaS9gjGTqhF"),
            ("username", "scraper-team"),
            ("email", "team@acme.test"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"error":{"type":"token-not-valid","message":"Authentication token is not valid."}}"#,
        },
    });
}

#[test]
fn sonarcloud_tokens() {
    exercise(&Case {
        rule: "sonarcloud-token",
        secret: "sqco_c4kwZvUPtSWetuacmxAP9MluK4axgHGyP1s5oO14zdltnIN884ZDdSkOOCV",
        key_id: None,
        identifiers: &[],
        endpoint: "sonarcloud",
        prefix: "",
        method: "GET",
        path: "/api/authentication/validate",
        auth: Auth::Header(
            "authorization",
            "Bearer sqco_c4kwZvUPtSWetuacmxAP9MluK4axgHGyP1s5oO14zdltnIN884ZDdSkOOCV",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"valid":true}"#,
        },
        identity: &[],
        scopes: &[],
        expires: None,
        // The validate call answers 200 either way; `valid` says which.
        revoked: Answer {
            status: 200,
            headers: &[],
            body: r#"{"valid":false}"#,
        },
    });
}

#[test]
fn npm_access_tokens() {
    exercise(&Case {
        rule: "npm-access-token",
        secret: "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",
        key_id: None,
        identifiers: &[],
        endpoint: "npm",
        prefix: "",
        method: "GET",
        path: "/-/whoami",
        auth: Auth::Header(
            "authorization",
            "Bearer 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",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"username":"release-bot"}"#,
        },
        identity: &[("username", "release-bot")],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"error":"Unauthorized"}"#,
        },
    });
}

#[test]
fn linear_api_keys() {
    exercise(&Case {
        rule: "linear-api-key",
        secret: "lin_api_zb0xHjQGrt9z9CPsjlk9UKUlteOui8i0RFymO8i6",
        key_id: None,
        identifiers: &[],
        endpoint: "linear",
        prefix: "",
        method: "POST",
        path: "/graphql",
        auth: Auth::Header(
            "authorization",
            "lin_api_zb0xHjQGrt9z9CPsjlk9UKUlteOui8i0RFymO8i6",
        ),
        body: Some(r#"{"query":"{ viewer { id name email } }"}"#),
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"data":{"viewer":{"id":"2b0f6f0e-5d3c-4a1e-9b8e-6c1f2d3e4a5b","name":"Release Bot","email":"release-bot@acme.example"}}}"#,
        },
        identity: &[
            ("name", "Release Bot"),
            ("email", "release-bot@acme.example"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"errors":[{"message":"Authentication required, not authenticated","extensions":{"code":"AUTHENTICATION_ERROR"}}]}"#,
        },
    });
}
