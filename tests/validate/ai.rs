//! AI and ML platforms (OpenAI, Anthropic, Hugging Face, Replicate, Groq, Perplexity, xAI,
//! OpenRouter, Cerebras, Together AI, Tavily) and Google API keys against the Gemini API.

use super::{Answer, Auth, Case, exercise};

const OPENAI_KEY: &str = "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";
const OPENAI_ADMIN_KEY: &str = "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";
const ANTHROPIC_KEY: &str = "sk-ant-api03-VcvZt59Ie8TotM6jw62SIDEAXkevHYmz3AxZNhSLgSpzeh2rxjP8wY4p9myKKgyblkWvx_HgL_RL5ndXVNv5YN1b2S82rAA";
const ANTHROPIC_ADMIN_KEY: &str = "sk-ant-admin01-4DRmu-gSCNM5gvEdySY45xJhrGF796dMMfTIRmQ5gX6IuzIWU9E89PPdu3xagJZGSVUoEwtioZZKFgjphFHzCmIQMVJ7TAA";

#[test]
fn openai_api_keys() {
    exercise(&Case {
        rule: "openai-api-key",
        secret: OPENAI_KEY,
        key_id: None,
        identifiers: &[],
        endpoint: "openai",
        prefix: "",
        method: "GET",
        path: "/v1/models",
        auth: Auth::Header(
            "authorization",
            "Bearer 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",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[
                ("openai-organization", "acme-research"),
                ("openai-version", "2020-10-01"),
            ],
            body: r#"{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"system"}]}"#,
        },
        identity: &[("organization", "acme-research")],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"error":{"message":"Incorrect API key provided: sk-proj-********************_Cd. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
        },
    });
}

#[test]
fn openai_admin_keys() {
    exercise(&Case {
        rule: "openai-admin-key",
        secret: OPENAI_ADMIN_KEY,
        key_id: None,
        identifiers: &[],
        endpoint: "openai",
        prefix: "",
        method: "GET",
        path: "/v1/organization/projects?limit=1",
        auth: Auth::Header(
            "authorization",
            "Bearer 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",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"object":"list","data":[{"id":"proj_abc","object":"organization.project","name":"Project example","created_at":1711471533,"archived_at":null,"status":"active"}],"first_id":"proj_abc","last_id":"proj_abc","has_more":true}"#,
        },
        identity: &[
            ("first_project", "Project example"),
            ("first_project_id", "proj_abc"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
        },
    });
}

#[test]
fn anthropic_api_keys() {
    exercise(&Case {
        rule: "anthropic-api-key",
        secret: ANTHROPIC_KEY,
        key_id: None,
        identifiers: &[],
        endpoint: "anthropic",
        prefix: "",
        method: "GET",
        path: "/v1/models?limit=1",
        auth: Auth::Header("x-api-key", ANTHROPIC_KEY),
        body: None,
        live: Answer {
            status: 200,
            headers: &[
                ("request-id", "req_018EeWyXxfu5pfWkrYcMdjWG"),
                (
                    "anthropic-organization-id",
                    "12345678-1234-5678-1234-567812345678",
                ),
            ],
            body: r#"{"data":[{"type":"model","id":"claude-opus-4-6","display_name":"Claude Opus 4.6","created_at":"2026-02-04T00:00:00Z"}],"has_more":true,"first_id":"claude-opus-4-6","last_id":"claude-opus-4-6"}"#,
        },
        identity: &[("organization_id", "12345678-1234-5678-1234-567812345678")],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
        },
    });
}

#[test]
fn anthropic_sends_the_api_version() {
    let case = anthropic_admin_case();
    let (_, sent) = super::ask(
        &case,
        super::mock::Reply::json(200, r#"{"id":"x","name":"y","type":"organization"}"#),
    );
    assert_eq!(sent[0].header("anthropic-version"), Some("2023-06-01"));
}

fn anthropic_admin_case() -> Case {
    Case {
        rule: "anthropic-admin-key",
        secret: ANTHROPIC_ADMIN_KEY,
        key_id: None,
        identifiers: &[],
        endpoint: "anthropic",
        prefix: "",
        method: "GET",
        path: "/v1/organizations/me",
        auth: Auth::Header("x-api-key", ANTHROPIC_ADMIN_KEY),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"id":"12345678-1234-5678-1234-567812345678","name":"Organization Name","type":"organization"}"#,
        },
        identity: &[
            ("organization", "Organization Name"),
            ("organization_id", "12345678-1234-5678-1234-567812345678"),
            ("type", "organization"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
        },
    }
}

#[test]
fn anthropic_admin_keys() {
    exercise(&anthropic_admin_case());
}

#[test]
fn huggingface_tokens() {
    exercise(&Case {
        rule: "huggingface-token",
        secret: "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",
        key_id: None,
        identifiers: &[],
        endpoint: "huggingface",
        prefix: "",
        method: "GET",
        path: "/api/whoami-v2",
        auth: Auth::Header(
            "authorization",
            "Bearer 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",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"type":"user","id":"62f264b9f3c90f4b6514a269","name":"hub.js","fullname":"@huggingface/hub CI bot","email":"ci@example.com","emailVerified":true,"canPay":false,"isPro":false,"periodEnd":null,"orgs":[],"auth":{"type":"access_token","accessToken":{"displayName":"ci-hub.js","role":"write","createdAt":"2026-01-15T10:00:00.000Z"}}}"#,
        },
        identity: &[
            ("name", "hub.js"),
            ("type", "user"),
            ("fullname", "@huggingface/hub CI bot"),
            ("token_name", "ci-hub.js"),
        ],
        scopes: &["write"],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"error":"Invalid credentials in Authorization header"}"#,
        },
    });
}

#[test]
fn replicate_tokens() {
    exercise(&Case {
        rule: "replicate-api-token",
        secret: "r8_7GVOvqJ9GNCF7Oa2R7CtbmFuKw1zj96iwgeWC",
        key_id: None,
        identifiers: &[],
        endpoint: "replicate",
        prefix: "",
        method: "GET",
        path: "/v1/account",
        auth: Auth::Header(
            "authorization",
            "Bearer r8_7GVOvqJ9GNCF7Oa2R7CtbmFuKw1zj96iwgeWC",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"type":"organization","username":"acme","name":"Acme Corp, Inc.","github_url":"https://github.com/acme"}"#,
        },
        identity: &[
            ("type", "organization"),
            ("username", "acme"),
            ("name", "Acme Corp, Inc."),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"title":"Unauthenticated","detail":"You did not pass a valid authentication token","status":401}"#,
        },
    });
}

#[test]
fn groq_keys() {
    exercise(&Case {
        rule: "groq-api-key",
        secret: "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",
        key_id: None,
        identifiers: &[],
        endpoint: "groq",
        prefix: "",
        method: "GET",
        path: "/openai/v1/models",
        auth: Auth::Header(
            "authorization",
            "Bearer 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",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"object":"list","data":[{"id":"llama-3.3-70b-versatile","object":"model","created":1733447754,"owned_by":"Meta","active":true,"context_window":131072}]}"#,
        },
        identity: &[],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}"#,
        },
    });
}

#[test]
fn perplexity_keys() {
    exercise(&Case {
        rule: "perplexity-api-key",
        secret: "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",
        key_id: None,
        identifiers: &[],
        endpoint: "perplexity",
        prefix: "",
        method: "GET",
        path: "/v1/async/sonar",
        auth: Auth::Header(
            "authorization",
            "Bearer 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",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"requests":[],"next_token":null}"#,
        },
        identity: &[],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"error":{"message":"Invalid API key","type":"invalid_api_key","code":401}}"#,
        },
    });
}

#[test]
fn xai_keys() {
    exercise(&Case {
        rule: "xai-api-key",
        secret: "xai-czWpZApRoXH18mKyEIqcuLgFOaQ5uaxqCliMzuEWCuCPjBbRJESqTmYIHxNhpXbNYjrM0pWQI5Z8RxJt",
        key_id: None,
        identifiers: &[],
        endpoint: "xai",
        prefix: "",
        method: "GET",
        path: "/v1/api-key",
        auth: Auth::Header(
            "authorization",
            "Bearer xai-czWpZApRoXH18mKyEIqcuLgFOaQ5uaxqCliMzuEWCuCPjBbRJESqTmYIHxNhpXbNYjrM0pWQI5Z8RxJt",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"redacted_api_key":"xai-...RxJt","user_id":"59fbe5f2-040b-46d5-8325-868bb8f23eb2","name":"My API Key","create_time":"2024-01-01T12:55:18.139305Z","modify_time":"2024-08-28T17:20:12.343321Z","modified_by":"3d38b4dc-4eb7-4785-ae26-c3fa8997ffc7","team_id":"5ea6f6bd-7815-4b8a-9135-28b2d7ba6722","acls":["api-key:model:*","api-key:endpoint:*"],"api_key_id":"ae1e1841-4326-4b36-a8a9-8a1a7237db11","team_blocked":false,"api_key_blocked":false,"api_key_disabled":false}"#,
        },
        identity: &[
            ("name", "My API Key"),
            ("api_key_id", "ae1e1841-4326-4b36-a8a9-8a1a7237db11"),
            ("user_id", "59fbe5f2-040b-46d5-8325-868bb8f23eb2"),
            ("team_id", "5ea6f6bd-7815-4b8a-9135-28b2d7ba6722"),
            ("api_key_blocked", "false"),
            ("api_key_disabled", "false"),
            ("team_blocked", "false"),
        ],
        scopes: &["api-key:model:*", "api-key:endpoint:*"],
        expires: None,
        revoked: Answer {
            status: 400,
            headers: &[],
            body: r#"{"code":"Client specified an invalid argument","error":"Incorrect API key provided: xa***Jt. You can obtain an API key from https://console.x.ai."}"#,
        },
    });
}

#[test]
fn openrouter_keys() {
    exercise(&Case {
        rule: "openrouter-api-key",
        secret: "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",
        key_id: None,
        identifiers: &[],
        endpoint: "openrouter",
        prefix: "",
        method: "GET",
        path: "/api/v1/key",
        auth: Auth::Header(
            "authorization",
            "Bearer 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",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"data":{"label":"sk-or-v1-8e2...3c6","limit":100,"usage":25.5,"limit_remaining":74.5,"limit_reset":"monthly","is_free_tier":false,"is_provisioning_key":false,"creator_user_id":"user_2dHFtVWx2n56w6HkM0000000000","expires_at":"2027-12-31T23:59:59Z"}}"#,
        },
        identity: &[
            ("creator_user_id", "user_2dHFtVWx2n56w6HkM0000000000"),
            ("usage", "25.5"),
            ("limit", "100"),
            ("limit_remaining", "74.5"),
            ("is_free_tier", "false"),
        ],
        scopes: &[],
        expires: Some("2027-12-31T23:59:59Z"),
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"error":{"message":"User not found.","code":401}}"#,
        },
    });
}

#[test]
fn cerebras_keys() {
    exercise(&Case {
        rule: "cerebras-api-key",
        secret: "csk-7zxg02vdhldsun7av8bppxx71c9jeqqa3qifpuw23ydesok5",
        key_id: None,
        identifiers: &[],
        endpoint: "cerebras",
        prefix: "",
        method: "GET",
        path: "/v1/models",
        auth: Auth::Header(
            "authorization",
            "Bearer csk-7zxg02vdhldsun7av8bppxx71c9jeqqa3qifpuw23ydesok5",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"object":"list","data":[{"id":"llama-3.3-70b","object":"model","created":0,"owned_by":"Meta"}]}"#,
        },
        identity: &[],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"message":"Wrong API Key","type":"invalid_request_error","param":"api_key","code":"wrong_api_key"}"#,
        },
    });
}

#[test]
fn togetherai_keys() {
    exercise(&Case {
        rule: "togetherai-api-key",
        secret: "tgp_v1_WVOsfXHFReW0BvctVMIAxCAak9g0wUIW6RwiJ0leIrL",
        key_id: None,
        identifiers: &[],
        endpoint: "togetherai",
        prefix: "",
        method: "GET",
        path: "/v1/models",
        auth: Auth::Header(
            "authorization",
            "Bearer tgp_v1_WVOsfXHFReW0BvctVMIAxCAak9g0wUIW6RwiJ0leIrL",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"[{"id":"Austism/chronos-hermes-13b","object":"model","created":1692896905,"type":"chat","display_name":"Chronos Hermes (13B)","organization":"Austism","context_length":2048}]"#,
        },
        identity: &[],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"error":{"message":"Invalid API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
        },
    });
}

#[test]
fn tavily_keys() {
    exercise(&Case {
        rule: "tavily-api-key",
        secret: "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",
        key_id: None,
        identifiers: &[],
        endpoint: "tavily",
        prefix: "",
        method: "GET",
        path: "/usage",
        auth: Auth::Header(
            "authorization",
            "Bearer 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",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"key":{"usage":150,"limit":1000},"account":{"current_plan":"Bootstrap","plan_usage":500,"plan_limit":15000,"paygo_usage":25,"paygo_limit":100}}"#,
        },
        identity: &[
            ("plan", "Bootstrap"),
            ("key_usage", "150"),
            ("key_limit", "1000"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"detail":{"error":"Unauthorized: missing or invalid API key."}}"#,
        },
    });
}

fn gemini_case(rule: &'static str, secret: &'static str) -> Case {
    Case {
        rule,
        secret,
        key_id: None,
        identifiers: &[],
        endpoint: "gemini",
        prefix: "",
        method: "GET",
        path: "/v1beta/models?pageSize=1",
        auth: Auth::Header("x-goog-api-key", secret),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"models":[{"name":"models/gemini-2.5-flash","displayName":"Gemini 2.5 Flash","inputTokenLimit":1048576,"supportedGenerationMethods":["generateContent","countTokens"]}],"nextPageToken":"Chltb2RlbHMvZ2VtaW5pLTIuNS1mbGFzaA=="}"#,
        },
        identity: &[("first_model", "models/gemini-2.5-flash")],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 400,
            headers: &[],
            body: r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#,
        },
    }
}

#[test]
fn google_api_keys_against_gemini() {
    exercise(&gemini_case(
        "google-api-key",
        "AIzaSyLBczQnOEimRW__kHo19ikfPhj3FBb_Ab-",
    ));
    exercise(&gemini_case(
        "google-gemini-api-key",
        "AQ.Ab8RN6KvG5KPyyRdyO57Ojp6HQ6iTlY8K_qy0VptOtRY_l31pn",
    ));
}

#[test]
fn gemini_403_is_not_a_verdict() {
    // A real key that may not call the Generative Language API: neither live nor revoked.
    let case = gemini_case("google-api-key", "AIzaSyLBczQnOEimRW__kHo19ikfPhj3FBb_Ab-");
    let (v, _) = super::ask(
        &case,
        super::mock::Reply::json(
            403,
            r#"{"error":{"code":403,"message":"Generative Language API has not been used in project 123 before or it is disabled.","status":"PERMISSION_DENIED"}}"#,
        ),
    );
    assert_eq!(v.result, sprawl::validate::Outcome::Unknown, "{v:?}");
}
