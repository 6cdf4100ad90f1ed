//! Reading the email address and display name out of Kratos identity traits.
//! Hooks and the admin API deliver the same `traits` object, so both go
//! through these rules and link a customer identically however it was read.

use serde_json::Value;

/// Why no usable email address could be read from the traits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailError {
    /// `traits.email` is absent, not a string, or blank.
    Missing,
    /// `traits.email` is not shaped like `local@domain`.
    Invalid,
}

/// `traits.email`, trimmed. It must hold exactly one `@` with something on
/// both sides and no whitespace; the identity schema validated it already,
/// this only guards against schemas that do not.
pub fn email(traits: &Value) -> Result<String, EmailError> {
    let raw = traits.get("email").and_then(Value::as_str).map(str::trim).unwrap_or("");
    if raw.is_empty() {
        return Err(EmailError::Missing);
    }
    let mut halves = raw.split('@');
    let (local, domain) = match (halves.next(), halves.next(), halves.next()) {
        (Some(l), Some(d), None) => (l, d),
        _ => return Err(EmailError::Invalid),
    };
    if local.is_empty() || domain.is_empty() || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(EmailError::Invalid);
    }
    Ok(raw.to_string())
}

/// The display name, from the first of these shapes that yields text:
/// `traits.name` as a string, `traits.name.{first,last}`, or
/// `traits.{first_name,last_name}`. Non-empty parts are trimmed and joined
/// with one space; `None` when there is no name at all.
pub fn name(traits: &Value) -> Option<String> {
    let name = traits.get("name");
    let candidates = [
        name.and_then(Value::as_str).and_then(|s| join(&[Some(s)])),
        name.and_then(|n| join(&[str_at(n, "first"), str_at(n, "last")])),
        join(&[str_at(traits, "first_name"), str_at(traits, "last_name")]),
    ];
    candidates.into_iter().flatten().next()
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn join(parts: &[Option<&str>]) -> Option<String> {
    let kept: Vec<&str> = parts.iter().flatten().map(|p| p.trim()).filter(|p| !p.is_empty()).collect();
    if kept.is_empty() {
        None
    } else {
        Some(kept.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn email_is_trimmed() {
        assert_eq!(email(&json!({"email": "  ada@example.com \n"})), Ok("ada@example.com".into()));
    }

    #[test]
    fn email_missing_shapes() {
        assert_eq!(email(&json!({})), Err(EmailError::Missing));
        assert_eq!(email(&json!({"email": null})), Err(EmailError::Missing));
        assert_eq!(email(&json!({"email": 42})), Err(EmailError::Missing));
        assert_eq!(email(&json!({"email": "   "})), Err(EmailError::Missing));
        assert_eq!(email(&Value::Null), Err(EmailError::Missing));
    }

    #[test]
    fn email_invalid_shapes() {
        for bad in ["ada", "ada@@example.com", "a@b@c", "@example.com", "ada@", "ada lovelace@example.com"] {
            assert_eq!(email(&json!({"email": bad})), Err(EmailError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn name_as_plain_string() {
        assert_eq!(name(&json!({"name": " Ada Lovelace "})), Some("Ada Lovelace".into()));
    }

    #[test]
    fn name_as_first_last_object() {
        assert_eq!(name(&json!({"name": {"first": "Ada", "last": "Lovelace"}})), Some("Ada Lovelace".into()));
        assert_eq!(name(&json!({"name": {"first": "Ada", "last": ""}})), Some("Ada".into()));
        assert_eq!(name(&json!({"name": {"last": "Lovelace"}})), Some("Lovelace".into()));
    }

    #[test]
    fn name_as_first_name_last_name() {
        assert_eq!(name(&json!({"first_name": "Ada", "last_name": "Lovelace"})), Some("Ada Lovelace".into()));
        assert_eq!(name(&json!({"first_name": " ", "last_name": "Lovelace"})), Some("Lovelace".into()));
    }

    #[test]
    fn blank_name_string_falls_back_to_other_shapes() {
        assert_eq!(name(&json!({"name": "", "first_name": "Ada"})), Some("Ada".into()));
    }

    #[test]
    fn no_name_is_none() {
        assert_eq!(name(&json!({"email": "ada@example.com"})), None);
        assert_eq!(name(&json!({"name": {"first": "", "last": " "}})), None);
        assert_eq!(name(&json!({"name": 7, "first_name": null})), None);
    }
}
