//! What a key's name says: that its value is a secret (`db_password`, `clientSecret`,
//! `API_KEY`), or which non-secret identifier it is (`DB_USER` is a user name, `PGHOST` is
//! not split but `db_host` is a host). Names are compared as lowercase word tokens, split at
//! `_ - . / : space` and at camelCase humps, so `spring.datasource.password`,
//! `SPRING_DATASOURCE_PASSWORD` and `springDatasourcePassword` read alike.

/// Lowercase word tokens of a key name.
pub fn tokens(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        // `dbPassword` | `HTTPProxy` (the last capital of a run starts the next word).
        let hump = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(char::is_lowercase))
            });
        if hump && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    // Glued words: `dbpassword`, `clientsecret`, `authtoken`.
    let mut split = Vec::with_capacity(out.len());
    for token in out {
        match GLUED_SUFFIXES
            .iter()
            .find(|s| token.len() > s.len() + 1 && token.ends_with(**s))
        {
            Some(suffix) => {
                split.push(token[..token.len() - suffix.len()].to_string());
                split.push((*suffix).to_string());
            }
            None => split.push(token),
        }
    }
    split
}

/// Secret words recognised at the end of a longer token (`dbpassword`). Not `pass`
/// (`bypass`, `compass`) nor `auth` (`oauth`).
const GLUED_SUFFIXES: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "credentials",
];

/// One-token names of a secret.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "pass",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "secretkey",
    "clientsecret",
    "auth",
    "credential",
    "credentials",
];

/// Two-token names of a secret (`api_key`, `access-key`, `privateKey`).
const SECRET_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("access", "key"),
    ("private", "key"),
    ("secret", "key"),
    ("client", "secret"),
];

/// Words after a secret word that make the key describe the secret instead of holding it:
/// `password_file`, `token_url`, `secret_name`, `access_key_id`, `token_expiry`.
const NOT_THE_SECRET: &[&str] = &[
    "file",
    "path",
    "dir",
    "url",
    "uri",
    "endpoint",
    "id",
    "ids",
    "name",
    "names",
    "type",
    "kind",
    "length",
    "len",
    "size",
    "min",
    "max",
    "expiry",
    "expires",
    "expiration",
    "expire",
    "ttl",
    "timeout",
    "lifetime",
    "validity",
    "header",
    "prefix",
    "suffix",
    "env",
    "var",
    "variable",
    "ref",
    "reference",
    "arn",
    "hash",
    "hashed",
    "digest",
    "policy",
    "enabled",
    "enable",
    "disabled",
    "required",
    "optional",
    "rotation",
    "count",
    "provider",
    "method",
    "mode",
    "format",
    "version",
    "store",
    "helper",
    "helpers",
    "manager",
    "field",
    "source",
    "location",
    "mount",
    "hint",
    "label",
    "description",
    "regex",
    "pattern",
    "rule",
    "rules",
    "strength",
    "reset",
    "command",
    "cmd",
    "script",
    "template",
    "encoding",
    "placeholder",
    "prompt",
    "request",
    "response",
    "backend",
    "storage",
    "user",
    "username",
    "email",
    "host",
    "port",
    "scope",
    "scopes",
    "audience",
    "issuer",
    "cache",
    "class",
    "handler",
    "service",
    "server",
    "index",
    "position",
];

/// Words before `token` that name a token which is no credential: pagination, idempotency,
/// CSRF and tokenizer tokens (`next_token`, `ClientToken`, `pad_token`).
const NOT_A_CREDENTIAL_TOKEN: &[&str] = &[
    "next",
    "page",
    "pagination",
    "continuation",
    "client",
    "change",
    "sync",
    "cancel",
    "csrf",
    "xsrf",
    "idempotency",
    "verification",
    "request",
    "max",
    "num",
    "type",
    "kind",
    "count",
    "pad",
    "bos",
    "eos",
    "unk",
    "sep",
    "cls",
    "mask",
    "start",
    "end",
    "special",
];

/// Where the first secret word starts and where the last one ends, if the tokens name a secret.
fn secret_span(tokens: &[String]) -> Option<(usize, usize)> {
    let mut first = None;
    let mut last_end = 0;
    let mut i = 0;
    while i < tokens.len() {
        let pair = tokens.get(i + 1).is_some_and(|next| {
            SECRET_PAIRS
                .iter()
                .any(|(a, b)| tokens[i] == *a && next == b)
        });
        let width = if pair {
            2
        } else if SECRET_WORDS.contains(&tokens[i].as_str()) {
            1
        } else {
            0
        };
        if width > 0 {
            first.get_or_insert(i);
            last_end = i + width;
            i += width;
        } else {
            i += 1;
        }
    }
    first.map(|f| (f, last_end))
}

/// Words before a secret word that make the key hold a digest of the secret, not the secret:
/// `hashed_secret` (every entry of a detect-secrets baseline), `sha256_password`.
const DIGEST_OF: &[&str] = &[
    "hash",
    "hashed",
    "digest",
    "sha1",
    "sha256",
    "sha512",
    "md5",
    "checksum",
    "fingerprint",
];

/// True when a key of these tokens holds a secret: it has a secret word, no word just before
/// it says the value is a digest of it, and no word after the last one says it only describes
/// the secret.
pub fn tokens_name_secret(tokens: &[String]) -> bool {
    let Some((start, end)) = secret_span(tokens) else {
        return false;
    };
    if start > 0 && DIGEST_OF.contains(&tokens[start - 1].as_str()) {
        return false;
    }
    if tokens[end - 1] == "token"
        && end >= 2
        && NOT_A_CREDENTIAL_TOKEN.contains(&tokens[end - 2].as_str())
    {
        return false;
    }
    // `secret_key` and `api_key` end in `key`, which is part of the secret's name.
    !tokens[end..]
        .iter()
        .any(|t| NOT_THE_SECRET.contains(&t.as_str()))
}

/// What a key's secret is, by the last secret word of its name: it decides which generic rule
/// the structured reading stands in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    Password,
    Secret,
    Token,
}

impl SecretKind {
    /// The id of the generic rule for this kind of key.
    pub fn generic_rule(self) -> &'static str {
        match self {
            SecretKind::Password => "generic-password",
            SecretKind::Secret => "generic-secret",
            SecretKind::Token => "generic-token",
        }
    }
}

/// The kind of secret a key of this name holds, if it holds one.
pub fn secret_kind(name: &str) -> Option<SecretKind> {
    let tokens = tokens(name);
    if !tokens_name_secret(&tokens) {
        return None;
    }
    let (_, end) = secret_span(&tokens)?;
    Some(match tokens[end - 1].as_str() {
        "token" => SecretKind::Token,
        "password" | "passwd" | "passphrase" | "pwd" | "pass" | "auth" | "credential"
        | "credentials" => SecretKind::Password,
        _ => SecretKind::Secret,
    })
}

/// The tokens before the secret's name: `db` of `DB_PASSWORD`, `aws` of
/// `aws_secret_access_key`. Without a secret word, all tokens but the last.
pub fn owner_prefix(tokens: &[String]) -> &[String] {
    match secret_span(tokens) {
        Some((first, _)) => &tokens[..first],
        None => &tokens[..tokens.len().saturating_sub(1)],
    }
}

/// Identifier roles by the tokens a key ends with, longest first, and how many of those
/// tokens still name the owner (`db` of `DB_NAME` says whose name it is).
const ROLES: &[(&[&str], &str, usize)] = &[
    (&["access", "key", "id"], "key_id", 0),
    (&["accesskeyid"], "key_id", 0),
    (&["key", "id"], "key_id", 0),
    (&["client", "id"], "client_id", 0),
    (&["clientid"], "client_id", 0),
    (&["app", "id"], "client_id", 0),
    (&["application", "id"], "client_id", 0),
    (&["tenant", "id"], "tenant", 0),
    (&["tenantid"], "tenant", 0),
    (&["account", "name"], "account", 0),
    (&["account", "id"], "account", 0),
    (&["project", "id"], "project", 0),
    (&["user", "name"], "username", 0),
    (&["user", "id"], "username", 0),
    (&["db", "name"], "database", 1),
    (&["database", "name"], "database", 1),
    (&["host", "name"], "host", 0),
    (&["initial", "catalog"], "database", 0),
    (&["data", "source"], "host", 0),
    (&["user"], "username", 0),
    (&["username"], "username", 0),
    (&["userid"], "username", 0),
    (&["login"], "username", 0),
    (&["uid"], "username", 0),
    (&["host"], "host", 0),
    (&["hostname"], "host", 0),
    (&["server"], "host", 0),
    (&["address"], "host", 0),
    (&["addr"], "host", 0),
    (&["port"], "port", 0),
    (&["database"], "database", 0),
    (&["db"], "database", 0),
    (&["dbname"], "database", 0),
    (&["catalog"], "database", 0),
    (&["tenant"], "tenant", 0),
    (&["account"], "account", 0),
    (&["project"], "project", 0),
    (&["registry"], "registry", 0),
    (&["email"], "email", 0),
    (&["url"], "url", 0),
    (&["uri"], "url", 0),
    (&["endpoint"], "url", 0),
    (&["repository"], "url", 0),
    (&["id"], "id", 0),
];

/// The identifier a key of these tokens holds, and the tokens that name its owner (`db` of
/// `db_user`).
pub fn role(tokens: &[String]) -> Option<(&'static str, &[String])> {
    ROLES.iter().find_map(|(suffix, role, owner_part)| {
        let n = suffix.len();
        let matches = tokens.len() >= n
            && tokens[tokens.len() - n..]
                .iter()
                .zip(suffix.iter())
                .all(|(t, s)| t == s);
        matches.then(|| (*role, &tokens[..tokens.len() - n + owner_part]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> Vec<String> {
        tokens(name)
    }

    #[test]
    fn tokens_split_case_separators_and_glued_words() {
        assert_eq!(
            t("spring.datasource.password"),
            ["spring", "datasource", "password"]
        );
        assert_eq!(t("DB_PASSWORD"), ["db", "password"]);
        assert_eq!(t("clientSecret"), ["client", "secret"]);
        assert_eq!(t("HTTPProxyPassword"), ["http", "proxy", "password"]);
        assert_eq!(t("dbpassword"), ["db", "password"]);
        assert_eq!(t("ClearTextPassword"), ["clear", "text", "password"]);
        assert_eq!(
            t("aws_secret_access_key"),
            ["aws", "secret", "access", "key"]
        );
        assert_eq!(t("tokenizer"), ["tokenizer"]);
    }

    #[test]
    fn secret_names() {
        for name in [
            "password",
            "DB_PASSWORD",
            "client_secret",
            "apiKey",
            "API_KEY",
            "SECRET_KEY",
            "aws_secret_access_key",
            "ansible_become_pass",
            "pwd",
            "auth",
            "_authToken",
            "ClearTextPassword",
            "mavenPassword",
            "id_token",
            "credentials",
        ] {
            assert!(secret_kind(name).is_some(), "{name}");
        }
        for name in [
            "password_file",
            "token_url",
            "secret_name",
            "aws_access_key_id",
            "author",
            "authority",
            "tokenizer",
            "passenger",
            "username",
            "token_type",
            "auth_method",
            "password_hash",
            "hashed_secret",
            "sha256Password",
            "value",
            "oauth",
        ] {
            assert!(secret_kind(name).is_none(), "{name}");
        }
    }

    #[test]
    fn secret_kinds() {
        assert_eq!(secret_kind("DB_PASSWORD"), Some(SecretKind::Password));
        assert_eq!(
            secret_kind("ansible_become_pass"),
            Some(SecretKind::Password)
        );
        assert_eq!(secret_kind("SECRET_KEY"), Some(SecretKind::Secret));
        assert_eq!(secret_kind("apiKey"), Some(SecretKind::Secret));
        assert_eq!(secret_kind("access_token"), Some(SecretKind::Token));
        assert_eq!(secret_kind("username"), None);
    }

    #[test]
    fn roles_and_owners() {
        let toks = t("DB_USER");
        assert_eq!(role(&toks), Some(("username", &toks[..1])));
        assert_eq!(role(&t("aws_access_key_id")).map(|r| r.0), Some("key_id"));
        assert_eq!(role(&t("DB_NAME")), Some(("database", &t("db")[..])));
        assert_eq!(role(&t("DB_HOST")), Some(("host", &t("db")[..])));
        assert_eq!(role(&t("POSTGRES_DB")).map(|r| r.0), Some("database"));
        assert_eq!(role(&t("clientId")).map(|r| r.0), Some("client_id"));
        assert_eq!(role(&t("spring.datasource.url")).map(|r| r.0), Some("url"));
        assert_eq!(role(&t("region")), None);
        assert_eq!(owner_prefix(&t("DB_PASSWORD")), ["db"]);
        assert_eq!(owner_prefix(&t("aws_secret_access_key")), ["aws"]);
        assert_eq!(
            owner_prefix(&t("ansible_become_pass")),
            ["ansible", "become"]
        );
    }
}
