//! Stripe's request encoding: `application/x-www-form-urlencoded` with
//! bracket nesting (`metadata[olympus_identity_id]=...`, `line_items[0][price]=...`).

/// An ordered list of form fields for a Stripe API call. Order is kept so that
/// the same call always encodes to the same bytes (Stripe compares the
/// parameters of a replayed `Idempotency-Key`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key=value`; `key` may already carry brackets (`metadata[plan]`).
    pub fn field(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push((key.into(), value.into()));
        self
    }

    /// Adds the field only when there is a value.
    pub fn field_opt(self, key: impl Into<String>, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.field(key, v),
            None => self,
        }
    }

    /// Adds `metadata[name]=value`.
    pub fn metadata(self, name: &str, value: impl Into<String>) -> Self {
        self.field(format!("metadata[{name}]"), value)
    }

    /// The fields in order, unencoded.
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The encoded body (or query string, without the `?`).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            percent_encode_into(k, &mut out);
            out.push('=');
            percent_encode_into(v, &mut out);
        }
        out
    }
}

pub use crate::upstream::{percent_encode, percent_encode_into};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_and_specials_are_encoded_in_order() {
        let f = Form::new()
            .field("email", "a+b@example.com")
            .metadata("olympus_identity_id", "9f1c")
            .field("line_items[0][price]", "price_1")
            .field_opt("name", None::<String>)
            .field("name", "Zoë O'Neil");
        assert_eq!(
            f.encode(),
            "email=a%2Bb%40example.com&metadata%5Bolympus_identity_id%5D=9f1c&line_items%5B0%5D%5Bprice%5D=price_1&name=Zo%C3%AB%20O%27Neil"
        );
    }

    #[test]
    fn empty_form_encodes_to_nothing() {
        assert_eq!(Form::new().encode(), "");
        assert!(Form::new().is_empty());
    }
}
