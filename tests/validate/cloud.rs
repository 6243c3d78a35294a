//! Cloud and infrastructure providers: Cloudflare, DigitalOcean, Heroku, Linode, UpCloud, Scalingo,
//! Val Town, HashiCorp Vault and HCP Terraform, Azure DevOps.

use super::mock::{Recorded, Reply};
use super::{Answer, Auth, Case, exercise, uses_check};
use sprawl::validate::Outcome;

#[test]
fn cloudflare_user_api_tokens() {
    let case = Case {
        rule: "cloudflare-api-token",
        secret: "cfut_AKa5KSDqt4T5YmHbpekihYGhZnyG7W5T3QxMJcF06dab7ec2",
        key_id: None,
        identifiers: &[],
        endpoint: "cloudflare",
        prefix: "",
        method: "GET",
        path: "/client/v4/user/tokens/verify",
        auth: Auth::Header(
            "authorization",
            "Bearer cfut_AKa5KSDqt4T5YmHbpekihYGhZnyG7W5T3QxMJcF06dab7ec2",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"success":true,"errors":[],"messages":[{"code":10000,"message":"This API Token is valid and active","type":null}],"result":{"id":"f267e341f3dd4697bd3b9f71dd96247f","status":"active","not_before":"2026-01-01T00:00:00Z","expires_on":"2027-01-01T00:00:00Z"}}"#,
        },
        identity: &[
            ("token_id", "f267e341f3dd4697bd3b9f71dd96247f"),
            ("status", "active"),
        ],
        scopes: &[],
        expires: Some("2027-01-01T00:00:00Z"),
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"success":false,"errors":[{"code":1000,"message":"Invalid API Token"}],"messages":[],"result":null}"#,
        },
    };
    exercise(&case);
    // A disabled or expired token still answers 200: its status says it no longer works.
    let (v, _) = super::ask(
        &case,
        Reply::json(
            200,
            r#"{"success":true,"errors":[],"messages":[],"result":{"id":"f267e341f3dd4697bd3b9f71dd96247f","status":"disabled"}}"#,
        ),
    );
    assert_eq!(v.result, Outcome::Revoked, "{v:?}");
    // Account-owned tokens answer 401 at the user endpoint: they have no check of this kind.
    let account = super::rules().get("cloudflare-account-api-token").unwrap();
    assert!(account.resolved_check.is_none());
}

#[test]
fn digitalocean_tokens() {
    exercise(&Case {
        rule: "digitalocean-personal-access-token",
        secret: "dop_v1_10dba97bbe4bccb100fd18c7982802c62840a2e19cb468e3044d3a73a9dfe2bb",
        key_id: None,
        identifiers: &[],
        endpoint: "digitalocean",
        prefix: "",
        method: "GET",
        path: "/v2/account",
        auth: Auth::Header(
            "authorization",
            "Bearer dop_v1_10dba97bbe4bccb100fd18c7982802c62840a2e19cb468e3044d3a73a9dfe2bb",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"account":{"droplet_limit":25,"floating_ip_limit":5,"email":"sammy@acme.io","name":"Sammy the Shark","uuid":"b6fr89dbf6d9156cace5f3c78dc9851d957381ef","email_verified":true,"status":"active","status_message":" ","team":{"uuid":"5df3e3004a17e242b7c20ca6c9fc25b701a47ece","name":"My Team"}}}"#,
        },
        identity: &[
            ("email", "sammy@acme.io"),
            ("uuid", "b6fr89dbf6d9156cace5f3c78dc9851d957381ef"),
            ("status", "active"),
            ("team", "My Team"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"id":"unauthorized","message":"Unable to authenticate you."}"#,
        },
    });
    uses_check(
        &[
            "digitalocean-personal-access-token",
            "digitalocean-oauth-token",
        ],
        "digitalocean",
    );
    // A refresh token is spent by using it: never sent.
    let refresh = super::rules().get("digitalocean-refresh-token").unwrap();
    assert!(refresh.resolved_check.is_none());
}

fn heroku_headers(case: &Case, sent: &Recorded) {
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {}", case.secret).as_str())
    );
    assert_eq!(
        sent.header("accept"),
        Some("application/vnd.heroku+json; version=3")
    );
}

#[test]
fn heroku_api_keys() {
    exercise(&Case {
        rule: "heroku-api-key",
        secret: "HRKU-AA_LStGsM5UK27uAIugpYwWE8lLmITZGzBJgUMLY1H85_____wlTq0muUpRF",
        key_id: None,
        identifiers: &[],
        endpoint: "heroku",
        prefix: "",
        method: "GET",
        path: "/account",
        auth: Auth::Custom(heroku_headers),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"allow_tracking":true,"beta":false,"created_at":"2012-01-01T12:00:00Z","email":"deploy@acme.io","id":"01234567-89ab-cdef-0123-456789abcdef","last_login":"2026-01-01T12:00:00Z","name":"Deploy Bot","two_factor_authentication":true,"verified":true}"#,
        },
        identity: &[
            ("email", "deploy@acme.io"),
            ("id", "01234567-89ab-cdef-0123-456789abcdef"),
            ("name", "Deploy Bot"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"id":"unauthorized","message":"Invalid credentials provided."}"#,
        },
    });
    uses_check(&["heroku-api-key", "heroku-api-key-legacy"], "heroku");
}

#[test]
fn linode_tokens() {
    exercise(&Case {
        rule: "linode-api-token",
        secret: "24322749a3d71bb74d14eaf61974f1855f205188e199e29f6bf6a9a581c80fa2",
        key_id: None,
        identifiers: &[],
        endpoint: "linode",
        prefix: "",
        method: "GET",
        path: "/v4/profile",
        auth: Auth::Header(
            "authorization",
            "Bearer 24322749a3d71bb74d14eaf61974f1855f205188e199e29f6bf6a9a581c80fa2",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"uid":1234,"username":"ops-acme","email":"ops@acme.io","restricted":false,"two_factor_auth":true,"timezone":"UTC","authentication_type":"password"}"#,
        },
        identity: &[
            ("username", "ops-acme"),
            ("email", "ops@acme.io"),
            ("uid", "1234"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"errors":[{"reason":"Invalid Token"}]}"#,
        },
    });
}

#[test]
fn upcloud_tokens() {
    exercise(&Case {
        rule: "upcloud-api-token",
        secret: "ucat_LKH8WPLDCIPL0AXOWKGEAY6BAN",
        key_id: None,
        identifiers: &[],
        endpoint: "upcloud",
        prefix: "",
        method: "GET",
        path: "/1.3/account",
        auth: Auth::Header("authorization", "Bearer ucat_LKH8WPLDCIPL0AXOWKGEAY6BAN"),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"account":{"credits":9972.2324,"username":"acme-api","resource_limits":{"cores":200,"memory":1048576,"networks":100,"public_ipv4":100,"public_ipv6":100,"storage_hdd":10240,"storage_ssd":10240}}}"#,
        },
        identity: &[("username", "acme-api")],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"error":{"error_code":"AUTHENTICATION_FAILED","error_message":"Authentication failed using the given username and password."}}"#,
        },
    });
}

#[test]
fn scalingo_tokens() {
    let case = Case {
        rule: "scalingo-api-token",
        secret: "tk-us-UDZtqxgQI-X8pIKl2T_YIrBImDyn2FfQ6OcOs1ufYvLyonGe",
        key_id: None,
        identifiers: &[],
        endpoint: "scalingo",
        prefix: "",
        method: "POST",
        path: "/v1/tokens/exchange",
        auth: Auth::Basic("", "tk-us-UDZtqxgQI-X8pIKl2T_YIrBImDyn2FfQ6OcOs1ufYvLyonGe"),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"token":"eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ1cy0xMjMifQ.bearer-minted-by-the-exchange"}"#,
        },
        identity: &[],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"error":"invalid token"}"#,
        },
    };
    exercise(&case);
    // The bearer token the exchange mints is a credential too: it is not kept.
    let (v, _) = super::ask(&case, Reply::json(200, case.live.body));
    assert!(
        !format!("{v:?}").contains("bearer-minted-by-the-exchange"),
        "{v:?}"
    );
}

#[test]
fn valtown_tokens() {
    exercise(&Case {
        rule: "valtown-api-token",
        secret: "vtwn_PEVFhnLy0ZEIMhxnmCIk8iJPGJ82YWDM",
        key_id: None,
        identifiers: &[],
        endpoint: "valtown",
        prefix: "",
        method: "GET",
        path: "/v1/me",
        auth: Auth::Header(
            "authorization",
            "Bearer vtwn_PEVFhnLy0ZEIMhxnmCIk8iJPGJ82YWDM",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"id":"00000000-0000-0000-0000-000000000000","bio":"Hello world","username":"tmcw","email":"example@acme.io","profileImageUrl":null,"tier":"pro","type":"user","url":"https://www.val.town/u/tmcw","links":{"self":"https://api.val.town/v1/users/00000000-0000-0000-0000-000000000000"}}"#,
        },
        identity: &[
            ("id", "00000000-0000-0000-0000-000000000000"),
            ("username", "tmcw"),
            ("email", "example@acme.io"),
            ("tier", "pro"),
            ("type", "user"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"message":"Unauthorized"}"#,
        },
    });
}

#[test]
fn vault_tokens() {
    // A root token: no TTL, no expiry. The answer repeats the token in data.id.
    let case = Case {
        rule: "vault-token-in-context",
        secret: "s.JElzxFLPmQ9IciljxUkkyjKK",
        key_id: None,
        identifiers: &[],
        endpoint: "vault",
        prefix: "",
        method: "GET",
        path: "/v1/auth/token/lookup-self",
        auth: Auth::Header("x-vault-token", "s.JElzxFLPmQ9IciljxUkkyjKK"),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"request_id":"3c2a4b7e-0f0e-4a7b-9a3e-7e3a1f0c2b11","lease_id":"","renewable":false,"lease_duration":0,"data":{"accessor":"8609694a-cdbc-db9b-d345-e782dbb562ed","creation_time":1700000000,"creation_ttl":0,"display_name":"root","entity_id":"","expire_time":null,"explicit_max_ttl":0,"id":"s.JElzxFLPmQ9IciljxUkkyjKK","meta":null,"num_uses":0,"orphan":true,"path":"auth/token/root","policies":["root"],"ttl":0,"type":"service"},"wrap_info":null,"warnings":null,"auth":null}"#,
        },
        identity: &[
            ("display_name", "root"),
            ("type", "service"),
            ("path", "auth/token/root"),
        ],
        scopes: &["root"],
        expires: None,
        revoked: Answer {
            status: 403,
            headers: &[],
            body: r#"{"errors":["permission denied"]}"#,
        },
    };
    exercise(&case);
    let (v, _) = super::ask(&case, Reply::json(200, case.live.body));
    assert_eq!(
        v.created_at,
        Some(1_700_000_000),
        "creation_time is when it was made"
    );
    assert!(!v.identity.contains_key("entity_id"), "{:?}", v.identity);

    // A token with a TTL: the seconds left say when it ends, whatever expire_time says.
    let batch = Case {
        rule: "vault-batch-token",
        secret: "hvb.AAAAAQHWr2hCabCeK9d_JpxAbNLoCQlZAhYvZFvxz_5NBPwzzqYDJleWSgPrl9FeAci2bCD39BvBSVv19K7POU1bidG5rEAPhb12fuVRVU5NOIk7oXy98Wszfq2WU9z3kkWy_6UXxSv8zbxSNLJdXRG9c5s9",
        auth: Auth::Header(
            "x-vault-token",
            "hvb.AAAAAQHWr2hCabCeK9d_JpxAbNLoCQlZAhYvZFvxz_5NBPwzzqYDJleWSgPrl9FeAci2bCD39BvBSVv19K7POU1bidG5rEAPhb12fuVRVU5NOIk7oXy98Wszfq2WU9z3kkWy_6UXxSv8zbxSNLJdXRG9c5s9",
        ),
        live: Answer {
            status: 200,
            headers: &[],
            body: "",
        },
        ..case
    };
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (v, sent) = super::ask(
        &batch,
        Reply::json(
            200,
            r#"{"data":{"creation_time":1523979354,"display_name":"ldap2-tesla","entity_id":"7d2e3179-f69b-450c-7179-ac8ee8bd8ca9","expire_time":"2018-05-19T11:35:54.466476215-04:00","path":"auth/ldap2/login/tesla","policies":["default","testgroup2-policy"],"ttl":3600,"type":"batch"}}"#,
        ),
    );
    super::assert_request(&batch, &sent[0]);
    assert_eq!(v.result, Outcome::Live);
    assert_eq!(
        v.identity.get("entity_id").map(String::as_str),
        Some("7d2e3179-f69b-450c-7179-ac8ee8bd8ca9")
    );
    assert_eq!(v.scopes, ["default", "testgroup2-policy"]);
    let expires = v.expires_at.expect("the TTL gives an expiry");
    assert!(
        (before + 3600..=before + 3600 + 60).contains(&expires),
        "{expires} is not an hour from {before}"
    );
    uses_check(
        &[
            "vault-service-token",
            "vault-batch-token",
            "vault-token-in-context",
        ],
        "vault",
    );
    // Recovery tokens only work against a Vault in recovery mode; unseal keys are no tokens.
    for id in ["vault-recovery-token", "vault-unseal-key"] {
        assert!(super::rules().get(id).unwrap().resolved_check.is_none());
    }
}

#[test]
fn terraform_cloud_tokens() {
    exercise(&Case {
        rule: "terraform-cloud-api-token",
        secret: "YBNJYHhz6EYiNE.atlasv1.9G7vAojAttVeTg8XiM8s7d4V85NRpEvm3BHZvC7e2lhd83P0DILQrtPXTkbbPjSDP91",
        key_id: None,
        identifiers: &[],
        endpoint: "terraform",
        prefix: "",
        method: "GET",
        path: "/api/v2/account/details",
        auth: Auth::Header(
            "authorization",
            "Bearer YBNJYHhz6EYiNE.atlasv1.9G7vAojAttVeTg8XiM8s7d4V85NRpEvm3BHZvC7e2lhd83P0DILQrtPXTkbbPjSDP91",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"data":{"id":"user-V3R563qtJNcExAkN","type":"users","attributes":{"username":"admin","is-service-account":false,"avatar-url":"https://www.gravatar.com/avatar/9babb00091b97b9ce9538c45807fd35f?s=100&d=mm","two-factor":{"enabled":false,"verified":false},"email":"admin@acme.io","unconfirmed-email":null},"relationships":{"authentication-tokens":{"links":{"related":"/api/v2/users/user-V3R563qtJNcExAkN/authentication-tokens"}}},"links":{"self":"/api/v2/users/user-V3R563qtJNcExAkN"}}}"#,
        },
        identity: &[
            ("id", "user-V3R563qtJNcExAkN"),
            ("username", "admin"),
            ("email", "admin@acme.io"),
            ("service_account", "false"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"errors":[{"status":"401","title":"unauthorized"}]}"#,
        },
    });
}

#[test]
fn azure_devops_pats() {
    exercise(&Case {
        rule: "azure-devops-pat",
        secret: "HxpxvJIBT1737rMMwUff7JHKdEitD7ja1EMbtHZNj2N0rVYw1HaoJQQJ9DBKXrPsabjBL9KSi1nCAZDOhxiB",
        key_id: None,
        identifiers: &[],
        endpoint: "azure-devops",
        prefix: "",
        method: "GET",
        path: "/_apis/profile/profiles/me?api-version=7.1-preview.3",
        auth: Auth::Basic(
            "",
            "HxpxvJIBT1737rMMwUff7JHKdEitD7ja1EMbtHZNj2N0rVYw1HaoJQQJ9DBKXrPsabjBL9KSi1nCAZDOhxiB",
        ),
        body: None,
        live: Answer {
            status: 200,
            headers: &[],
            body: r#"{"displayName":"Build Agent","publicAlias":"d6245f20-2af8-44f4-9451-8107cb2767db","emailAddress":"build@contoso.com","coreRevision":1647,"timeStamp":"2026-01-05T09:00:00.1837+00:00","id":"d6245f20-2af8-44f4-9451-8107cb2767db","revision":1647}"#,
        },
        identity: &[
            ("display_name", "Build Agent"),
            ("email", "build@contoso.com"),
            ("id", "d6245f20-2af8-44f4-9451-8107cb2767db"),
        ],
        scopes: &[],
        expires: None,
        revoked: Answer {
            status: 401,
            headers: &[],
            body: r#"{"message":"TF400813: The user is not authorized to access this resource."}"#,
        },
    });
    uses_check(
        &["azure-devops-pat", "azure-devops-pat-legacy"],
        "azure-devops",
    );
}
