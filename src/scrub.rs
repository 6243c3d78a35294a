//! Error messages without the values they quote. A value in the wrong place of a
//! configuration, inventory or baseline file may be a credential pasted there, and an error
//! line is printed and logged: keys and what was expected stay, so the message still says
//! what to fix. A leaf: every parser's error path uses it, it uses nothing of sprawl's.

/// A parser's error message without the values it quotes (`unknown variant `…``, `invalid
/// type: string "…"`).
pub fn without_values(message: &str) -> String {
    static QUOTED_VALUE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"(unknown variant|invalid (?:type|value): [a-z ]+?) (?:`[^`]*`|"(?:[^"\\]|\\.)*"|'[^']*')"#,
        )
        .expect("a valid pattern")
    });
    QUOTED_VALUE.replace_all(message, "$1").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_lose_quoted_values_but_keep_keys() {
        assert_eq!(
            without_values("unknown variant `ghp_x`, expected one of `any`, `none`"),
            "unknown variant, expected one of `any`, `none`"
        );
        assert_eq!(
            without_values(r#"invalid type: string "s3cr\"et", expected u32"#),
            "invalid type: string, expected u32"
        );
        assert_eq!(
            without_values("invalid value: integer `-5`, expected u64"),
            "invalid value: integer, expected u64"
        );
        let kept = "unknown field `fail_onn`, expected one of `rules`";
        assert_eq!(without_values(kept), kept);
    }
}
