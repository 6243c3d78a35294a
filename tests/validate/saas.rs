//! SaaS providers: Stripe, SendGrid, Twilio, Mailchimp, Discord, Telegram, Airtable, Dropbox,
//! Figma, Notion, ClickUp, Contentful, Asana, Close and Bitbucket.

use super::mock::Reply;
use super::{Answer, Auth, Case, exercise, uses_check};
use sprawl::validate::Outcome;

#[test]
fn stripe_secret_keys() {
    exercise(&Case {
        rule: "stripe-secret-key",
        secret: "sk_live_ljSOfkqfAT45Uytuy6CeTX84",
        key_id: None,
        identifiers: &[],
        endpoint: "stripe",
        prefix: "",
        method: "GET",
        path: "/v1/account",
        auth: Auth::Header("authorization", "Bearer sk_live_ljSOfkqfAT45Uytuy6CeTX84"),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"id":"acct_1Nv0FGQ9RKHgCVdK","object":"account","country":"US","email":"billing@acme.test","settings":{"dashboard":{"display_name":"Acme","timezone":"Etc/UTC"}}}"#,
        },
        identity: &[
            ("account_id", "acct_1Nv0FGQ9RKHgCVdK"),
            ("email", "billing@acme.test"),
            ("country", "US"),
            ("name", "Acme"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"error":{"message":"Invalid API Key provided: sk_live_****TX84","type":"invalid_request_error"}}"#,
        },
    });
}

#[test]
fn stripe_restricted_and_test_keys() {
    uses_check(
        &["stripe-restricted-key", "stripe-test-secret-key"],
        "stripe-restricted",
    );
    let case = Case {
        rule: "stripe-restricted-key",
        secret: "rk_live_A2dgfolqqS5k2Ar8A88j7Qo0",
        key_id: None,
        identifiers: &[],
        endpoint: "stripe",
        prefix: "",
        method: "GET",
        path: "/v1/balance",
        auth: Auth::Header("authorization", "Bearer rk_live_A2dgfolqqS5k2Ar8A88j7Qo0"),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"object":"balance","available":[{"amount":0,"currency":"usd"}],"livemode":true,"pending":[{"amount":0,"currency":"usd"}]}"#,
        },
        identity: &[("livemode", "true")],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"error":{"message":"Expired API Key provided: rk_live_****Qo0","type":"invalid_request_error"}}"#,
        },
    };
    exercise(&case);
    // A key that authenticates but may not read the balance is still live.
    let (v, _) = super::ask(
        &case,
        Reply::json(
            403,
            r#"{"error":{"message":"The provided key 'rk_live_****Qo0' does not have the required permissions for this endpoint on account 'acct_1Nv0FGQ9RKHgCVdK'.","type":"invalid_request_error"}}"#,
        ),
    );
    assert_eq!(v.result, Outcome::Live, "{v:?}");
}

#[test]
fn sendgrid_api_keys() {
    exercise(&Case {
        rule: "sendgrid-api-key",
        secret: "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",
        key_id: Some("6RpAgNEl4xNyXgcLpn7cYZ"),
        identifiers: &[],
        endpoint: "sendgrid",
        prefix: "",
        method: "GET",
        path: "/v3/scopes",
        auth: Auth::Header(
            "authorization",
            "Bearer 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",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"scopes":["mail.send","alerts.read"]}"#,
        },
        identity: &[],
        scopes: &["mail.send", "alerts.read"],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"errors":[{"field":null,"message":"authorization required"}]}"#,
        },
    });
}

#[test]
fn twilio_auth_tokens() {
    let case = Case {
        rule: "twilio-auth-token",
        secret: "0c6bca8628f1b78c231a9c0eacd26085",
        key_id: Some("ACb3b205db572a44f20acaa8c846df0460"),
        identifiers: &[],
        endpoint: "twilio",
        prefix: "",
        method: "GET",
        path: "/2010-04-01/Accounts/ACb3b205db572a44f20acaa8c846df0460.json",
        auth: Auth::Basic(
            "ACb3b205db572a44f20acaa8c846df0460",
            "0c6bca8628f1b78c231a9c0eacd26085",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"sid":"ACb3b205db572a44f20acaa8c846df0460","friendly_name":"ops@acme.test","status":"active","type":"Full","owner_account_sid":"ACb3b205db572a44f20acaa8c846df0460","date_created":"Thu, 30 Jul 2015 20:00:00 +0000"}"#,
        },
        identity: &[
            ("account_sid", "ACb3b205db572a44f20acaa8c846df0460"),
            ("friendly_name", "ops@acme.test"),
            ("status", "active"),
            ("type", "Full"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"code":20003,"detail":"Your AccountSid or AuthToken was incorrect.","message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}"#,
        },
    };
    exercise(&case);
    // Without the account SID beside the token there is nothing to ask.
    let lone = Case {
        key_id: None,
        ..case
    };
    let (v, sent) = super::ask(&lone, Reply::json(200, "{}"));
    assert!(sent.is_empty(), "no request without the account SID");
    assert_eq!(v.result, Outcome::Unknown, "{v:?}");
}

#[test]
fn mailchimp_api_keys() {
    exercise(&Case {
        rule: "mailchimp-api-key",
        secret: "9c3924b3c4e3b5e3d6073afafb43e54c-us14",
        key_id: None,
        identifiers: &[("dc", "us14")],
        endpoint: "mailchimp",
        prefix: "",
        method: "GET",
        path: "/3.0/",
        auth: Auth::Basic("anystring", "9c3924b3c4e3b5e3d6073afafb43e54c-us14"),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"account_id":"8d3a3db4d97663a9074efcc16","login_id":"25694619","account_name":"Acme","email":"news@acme.test","username":"acme-news","role":"owner"}"#,
        },
        identity: &[
            ("account_id", "8d3a3db4d97663a9074efcc16"),
            ("account_name", "Acme"),
            ("email", "news@acme.test"),
            ("username", "acme-news"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"type":"https://mailchimp.com/developer/marketing/docs/errors/","title":"API Key Invalid","status":401,"detail":"Your API key may be invalid, or you've attempted to access the wrong datacenter."}"#,
        },
    });
}

#[test]
fn mailchimp_data_centre_is_the_host() {
    // The key's -usNN suffix is captured as `dc` and names the API host.
    let found = super::rules()
        .get("mailchimp-api-key")
        .expect("rule")
        .resolved_check
        .clone()
        .expect("check");
    assert_eq!(found.spec.base, "https://{id.dc}.api.mailchimp.com");
}

#[test]
fn discord_bot_tokens() {
    exercise(&Case {
        rule: "discord-bot-token",
        secret: "NTA2NzYxMDY5NzYxODY0NzQ2.1IumgC.NGDkdVEXz9ecY-Z58BADJeyfpxhoqyDxj",
        key_id: None,
        identifiers: &[],
        endpoint: "discord",
        prefix: "",
        method: "GET",
        path: "/api/v10/users/@me",
        auth: Auth::Header(
            "authorization",
            "Bot NTA2NzYxMDY5NzYxODY0NzQ2.1IumgC.NGDkdVEXz9ecY-Z58BADJeyfpxhoqyDxj",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"id":"506761069761864746","username":"release-bot","discriminator":"0","global_name":null,"bot":true,"verified":true}"#,
        },
        identity: &[
            ("id", "506761069761864746"),
            ("username", "release-bot"),
            ("bot", "true"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"message":"401: Unauthorized","code":0}"#,
        },
    });
}

#[test]
fn telegram_bot_tokens() {
    let case = Case {
        rule: "telegram-bot-token",
        secret: "2908047956:AAcDhITxhmn01bAluYsnSK9Taysxw3IIcNm",
        key_id: None,
        identifiers: &[("bot_id", "2908047956")],
        endpoint: "telegram",
        prefix: "",
        method: "GET",
        path: "/bot2908047956:AAcDhITxhmn01bAluYsnSK9Taysxw3IIcNm/getMe",
        auth: Auth::InPath,
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"ok":true,"result":{"id":2908047956,"is_bot":true,"first_name":"Deploy","username":"acme_deploy_bot","can_join_groups":true}}"#,
        },
        identity: &[
            ("id", "2908047956"),
            ("username", "acme_deploy_bot"),
            ("first_name", "Deploy"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#,
        },
    };
    exercise(&case);
    let (v, _) = super::ask(
        &case,
        Reply::json(
            401,
            r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#,
        ),
    );
    assert_eq!(v.error.as_deref(), Some("HTTP 401: Unauthorized"));
}

#[test]
fn airtable_personal_access_tokens() {
    exercise(&Case {
        rule: "airtable-personal-access-token",
        secret: "pat0eHEXwq3CZYReV.650bdf6593d1b61b4b171b2f3a9f889eeaf77ee09a4496e0ed7afceaa86dc3f3",
        key_id: Some("0eHEXwq3CZYReV"),
        identifiers: &[],
        endpoint: "airtable",
        prefix: "",
        method: "GET",
        path: "/v0/meta/whoami",
        auth: Auth::Header(
            "authorization",
            "Bearer pat0eHEXwq3CZYReV.650bdf6593d1b61b4b171b2f3a9f889eeaf77ee09a4496e0ed7afceaa86dc3f3",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"id":"usrL2PNC5o3H4lBEi","email":"ops@acme.test","scopes":["data.records:read","schema.bases:read","user.email:read"]}"#,
        },
        identity: &[("id", "usrL2PNC5o3H4lBEi"), ("email", "ops@acme.test")],
        scopes: &["data.records:read", "schema.bases:read", "user.email:read"],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"error":{"type":"AUTHENTICATION_REQUIRED","message":"Authentication required"}}"#,
        },
    });
}

#[test]
fn dropbox_access_tokens() {
    uses_check(
        &[
            "dropbox-long-lived-access-token",
            "dropbox-short-lived-access-token",
        ],
        "dropbox",
    );
    exercise(&Case {
        rule: "dropbox-long-lived-access-token",
        secret: "cG4ZJiCCVBKAAAAAAAAAAY0dXO5PcjfZ2b30m8kvm_W8mdAd3Vss1mMN7QoIQH1Y",
        key_id: None,
        identifiers: &[],
        endpoint: "dropbox",
        prefix: "",
        method: "POST",
        path: "/2/users/get_current_account",
        auth: Auth::Header(
            "authorization",
            "Bearer cG4ZJiCCVBKAAAAAAAAAAY0dXO5PcjfZ2b30m8kvm_W8mdAd3Vss1mMN7QoIQH1Y",
        ),
        body: Some(""),
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"account_id":"dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc","name":{"given_name":"Franz","surname":"Ferdinand","familiar_name":"Franz","display_name":"Franz Ferdinand (Personal)","abbreviated_name":"FF"},"email":"franz@acme.test","email_verified":true,"disabled":false,"country":"US","account_type":{".tag":"business"}}"#,
        },
        identity: &[
            ("account_id", "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"),
            ("email", "franz@acme.test"),
            ("name", "Franz Ferdinand (Personal)"),
            ("account_type", "business"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"error_summary":"invalid_access_token/..","error":{".tag":"invalid_access_token"}}"#,
        },
    });
}

#[test]
fn figma_personal_access_tokens() {
    exercise(&Case {
        rule: "figma-personal-access-token",
        secret: "figd_on_YTR2fHHkTNelT5hLRmvH9gkEqTW3LGhur_wut",
        key_id: None,
        identifiers: &[],
        endpoint: "figma",
        prefix: "",
        method: "GET",
        path: "/v1/me",
        auth: Auth::Header(
            "x-figma-token",
            "figd_on_YTR2fHHkTNelT5hLRmvH9gkEqTW3LGhur_wut",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"id":"1048829834398403719","email":"design@acme.test","handle":"Acme Design","img_url":"https://s3-alpha.figma.com/profile/1048829834398403719"}"#,
        },
        identity: &[
            ("id", "1048829834398403719"),
            ("handle", "Acme Design"),
            ("email", "design@acme.test"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 403,
            headers: &[],
            body: r#"{"status":403,"err":"Invalid token"}"#,
        },
    });
}

#[test]
fn notion_integration_tokens() {
    let case = Case {
        rule: "notion-api-token",
        secret: "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",
        key_id: None,
        identifiers: &[],
        endpoint: "notion",
        prefix: "",
        method: "GET",
        path: "/v1/users/me",
        auth: Auth::Header(
            "authorization",
            "Bearer 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",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"object":"user","id":"16d84278-ab0e-484c-9bdd-b35da3bd8905","name":"pied piper","avatar_url":null,"type":"bot","bot":{"owner":{"type":"user","user":{"object":"user","id":"5389a034-eb5c-47b5-8a9e-f79c99ef166c","name":"christine makenotion","type":"person","person":{"email":"christine@acme.test"}}},"workspace_name":"Acme"}}"#,
        },
        identity: &[
            ("id", "16d84278-ab0e-484c-9bdd-b35da3bd8905"),
            ("name", "pied piper"),
            ("type", "bot"),
            ("workspace", "Acme"),
            ("owner_email", "christine@acme.test"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"object":"error","status":401,"code":"unauthorized","message":"API token is invalid."}"#,
        },
    };
    exercise(&case);
    let (_, sent) = super::ask(&case, Reply::json(200, r#"{"object":"user"}"#));
    assert_eq!(sent[0].header("notion-version"), Some("2022-06-28"));
}

#[test]
fn clickup_personal_tokens() {
    exercise(&Case {
        rule: "clickup-personal-token",
        secret: "pk_73996987_29WNHZYCP506B8J1KAD8ITTKPKM2MC1N",
        key_id: None,
        identifiers: &[("user_id", "73996987")],
        endpoint: "clickup",
        prefix: "",
        method: "GET",
        path: "/api/v2/user",
        auth: Auth::Header(
            "authorization",
            "pk_73996987_29WNHZYCP506B8J1KAD8ITTKPKM2MC1N",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r##"{"user":{"id":73996987,"username":"Ops Bot","email":"ops@acme.test","color":"#000000","profilePicture":null}}"##,
        },
        identity: &[
            ("id", "73996987"),
            ("username", "Ops Bot"),
            ("email", "ops@acme.test"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"err":"Token invalid","ECODE":"OAUTH_025"}"#,
        },
    });
}

#[test]
fn contentful_personal_access_tokens() {
    exercise(&Case {
        rule: "contentful-personal-access-token",
        secret: "CFPAT-Ek3PXfKHja5UfYEuHWKSu8DsAnRfwV5srCLFfHHQcMZ",
        key_id: None,
        identifiers: &[],
        endpoint: "contentful",
        prefix: "",
        method: "GET",
        path: "/users/me",
        auth: Auth::Header(
            "authorization",
            "Bearer CFPAT-Ek3PXfKHja5UfYEuHWKSu8DsAnRfwV5srCLFfHHQcMZ",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"firstName":"Dwight","lastName":"Schrute","email":"dwight@acme.test","activated":true,"sys":{"type":"User","id":"exampleuserid","version":1}}"#,
        },
        identity: &[
            ("id", "exampleuserid"),
            ("email", "dwight@acme.test"),
            ("first_name", "Dwight"),
            ("last_name", "Schrute"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"requestId":"4f8c0d2a","message":"The access token you sent could not be found or is invalid.","sys":{"type":"Error","id":"AccessTokenInvalid"}}"#,
        },
    });
}

#[test]
fn asana_personal_access_tokens() {
    exercise(&Case {
        rule: "asana-personal-access-token",
        secret: "2/3458789883003400/9293278789603320:3c847b4fe3dbb2133fa72aebaad67794",
        key_id: None,
        identifiers: &[],
        endpoint: "asana",
        prefix: "",
        method: "GET",
        path: "/api/1.0/users/me",
        auth: Auth::Header(
            "authorization",
            "Bearer 2/3458789883003400/9293278789603320:3c847b4fe3dbb2133fa72aebaad67794",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"data":{"gid":"3458789883003400","email":"pm@acme.test","name":"Greg Sanchez","resource_type":"user","workspaces":[{"gid":"1126509132283071","name":"Acme Workspace","resource_type":"workspace"}]}}"#,
        },
        identity: &[
            ("gid", "3458789883003400"),
            ("name", "Greg Sanchez"),
            ("email", "pm@acme.test"),
            ("workspace", "Acme Workspace"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"errors":[{"message":"Not Authorized","help":"For more information on API status codes and how to handle them, read the docs on errors: https://developers.asana.com/docs/errors"}]}"#,
        },
    });
}

#[test]
fn close_api_keys() {
    exercise(&Case {
        rule: "close-crm-api-key",
        secret: "api_kC5VySS4ISZiojPfMuh5uq.GUtmH8W6fkhRmy05IM2IcX",
        key_id: None,
        identifiers: &[],
        endpoint: "close",
        prefix: "",
        method: "GET",
        path: "/api/v1/me/",
        auth: Auth::Basic("api_kC5VySS4ISZiojPfMuh5uq.GUtmH8W6fkhRmy05IM2IcX", ""),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"id":"user_N6KhMpzHRCYQHdn4gRNIFNN5JExnsrprKA6ekxM63XA","email":"anthony@acme.test","first_name":"Anthony","last_name":"Nemitz","organizations":[{"id":"orga_RbREgmiiwcr1w2b4cOnCMQaQPSIFxMqAD2Dh243uxcH","name":"Acme Sales"}]}"#,
        },
        identity: &[
            ("id", "user_N6KhMpzHRCYQHdn4gRNIFNN5JExnsrprKA6ekxM63XA"),
            ("email", "anthony@acme.test"),
            ("first_name", "Anthony"),
            ("organization", "Acme Sales"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"error":"The API key you provided is invalid."}"#,
        },
    });
}

#[test]
fn bitbucket_app_passwords() {
    let case = Case {
        rule: "bitbucket-app-password",
        secret: "ATBBVwunKiMhaV6Ye2aeQ3vGlZmO7365C84A",
        key_id: None,
        identifiers: &[("username", "jdoe")],
        endpoint: "bitbucket",
        prefix: "",
        method: "GET",
        path: "/2.0/user",
        auth: Auth::Basic("jdoe", "ATBBVwunKiMhaV6Ye2aeQ3vGlZmO7365C84A"),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"type":"user","username":"jdoe","display_name":"Jane Doe","account_id":"557058:c0b72ad0-1cb5-4018-9cdc-0cde8492c443","uuid":"{d301aafa-d676-4ee0-88be-962be7417567}"}"#,
        },
        identity: &[
            ("username", "jdoe"),
            ("display_name", "Jane Doe"),
            ("account_id", "557058:c0b72ad0-1cb5-4018-9cdc-0cde8492c443"),
            ("uuid", "{d301aafa-d676-4ee0-88be-962be7417567}"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"type":"error","error":{"message":"Invalid credentials"}}"#,
        },
    };
    exercise(&case);
    // An app password without the `account` scope authenticates but may not read /user.
    let (v, _) = super::ask(
        &case,
        Reply::json(
            403,
            r#"{"type":"error","error":{"message":"Your credentials lack one or more required privilege scopes.","detail":{"granted":["repository"],"required":["account"]}}}"#,
        ),
    );
    assert_eq!(v.result, Outcome::Live, "{v:?}");
    // Without a user name beside it there is nothing to ask.
    let lone = Case {
        identifiers: &[],
        ..case
    };
    let (v, sent) = super::ask(&lone, Reply::json(200, "{}"));
    assert!(sent.is_empty(), "no request without the user name");
    assert_eq!(v.result, Outcome::Unknown, "{v:?}");
}

/// The identifiers a scan of `text` (as the file `path`) finds beside `rule`'s credential.
fn identifiers_found(path: &str, text: &str, rule: &str) -> Vec<(String, String)> {
    let engine = sprawl::engine::Engine::new(super::rules()).expect("engine");
    let mut matches = engine.find_all(text.as_bytes());
    let (findings, _) =
        sprawl::enrich::findings_for_input(&engine, path, text.as_bytes(), &mut matches, &[], true);
    let finding = findings
        .iter()
        .find(|f| f.rule.id == rule)
        .unwrap_or_else(|| panic!("{rule} not found in {text}"));
    finding.identifiers.clone().into_iter().collect()
}

#[test]
fn scans_capture_what_the_checks_need() {
    let pair = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    // Bitbucket: the user name of a clone URL, or of a sibling setting.
    assert_eq!(
        identifiers_found(
            "deploy.sh",
            "git clone https://jdoe:ATBBVwunKiMhaV6Ye2aeQ3vGlZmO7365C84A@bitbucket.org/acme/app.git\n",
            "bitbucket-app-password"
        ),
        pair("username", "jdoe")
    );
    assert_eq!(
        identifiers_found(
            ".env",
            "BITBUCKET_USERNAME=jdoe\nBITBUCKET_APP_PASSWORD=ATBBz7Gi7wEHNfBINCKeNrsqV7ZvC2826299\n",
            "bitbucket-app-password"
        ),
        pair("username", "jdoe")
    );
    // Mailchimp: the data centre suffix names the API host.
    assert_eq!(
        identifiers_found(
            ".env",
            "MAILCHIMP_API_KEY=9c3924b3c4e3b5e3d6073afafb43e54c-us14\n",
            "mailchimp-api-key"
        ),
        pair("dc", "us14")
    );
}
