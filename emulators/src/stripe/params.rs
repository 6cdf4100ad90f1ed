//! Typed reading of a request's parsed parameters, with Stripe's validation
//! errors (`parameter_missing`, `parameter_unknown`, `parameter_invalid_*`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::errors::ApiError;

/// The parsed query string and form body of one API request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(pub Map<String, Value>);

/// Stripe's metadata limits: keys, key length and value length (in characters).
pub(crate) const METADATA_MAX_KEYS: usize = 50;
pub(crate) const METADATA_MAX_KEY_CHARS: usize = 40;
pub(crate) const METADATA_MAX_VALUE_CHARS: usize = 500;

/// A metadata write under a parameter (`metadata`, `subscription_data[metadata]`):
/// `metadata=` clears everything, otherwise keys are set (and a key set to
/// `""` is removed). Keys and values are within Stripe's lengths; the number
/// of keys is checked against the result, once merged.
#[derive(Debug, Clone)]
pub(crate) struct MetadataUpdate {
    param: String,
    change: MetadataChange,
}

#[derive(Debug, Clone)]
enum MetadataChange {
    Clear,
    Set(Vec<(String, String)>),
}

impl MetadataUpdate {
    /// `current` with the update merged in as Stripe merges it, or a 400
    /// naming the parameter when the result would hold more than 50 keys.
    pub(crate) fn applied_to(self, current: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ApiError> {
        let mut target = current.clone();
        match self.change {
            MetadataChange::Clear => target.clear(),
            MetadataChange::Set(pairs) => {
                for (k, v) in pairs {
                    if v.is_empty() {
                        target.remove(&k);
                    } else {
                        target.insert(k, v);
                    }
                }
            }
        }
        if target.len() > METADATA_MAX_KEYS {
            return Err(ApiError::bad_request(format!(
                "Metadata can have up to {METADATA_MAX_KEYS} keys, but you've set {}.",
                target.len()
            ))
            .param(self.param));
        }
        Ok(target)
    }
}

impl Params {
    /// A sub-hash such as `subscription_data`, or an empty one.
    pub(crate) fn child(&self, key: &str) -> Result<Params, ApiError> {
        match self.0.get(key) {
            None => Ok(Params::default()),
            Some(Value::Object(map)) => Ok(Params(map.clone())),
            Some(Value::Array(items)) => Ok(Params(indexed(items))),
            Some(_) => Err(ApiError::invalid(key, "parameter_invalid_hash", format!("Invalid hash: {key}"))),
        }
    }

    /// Rejects any top-level key not in `allowed` (`expand` is always allowed).
    pub(crate) fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| k.as_str() != "expand" && !allowed.contains(&k.as_str())) {
            Some(unknown) => Err(ApiError::unknown_param(unknown)),
            None => Ok(()),
        }
    }

    /// A string parameter, if present.
    pub(crate) fn str(&self, key: &str) -> Result<Option<&str>, ApiError> {
        match self.0.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(ApiError::invalid(key, "parameter_invalid_string", format!("Invalid string: {key}"))),
        }
    }

    /// A required, non-empty string parameter.
    pub(crate) fn required_str(&self, key: &str) -> Result<&str, ApiError> {
        match self.str(key)? {
            None => Err(ApiError::missing(key)),
            Some("") => Err(ApiError::invalid(
                key,
                "parameter_invalid_empty",
                format!("You passed an empty string for '{key}'. We assume empty values are an attempt to unset a parameter; however '{key}' cannot be unset. You should remove '{key}' from your request or supply a non-empty value."),
            )),
            Some(s) => Ok(s),
        }
    }

    /// A nullable string field being written: `Some(None)` means "unset" (`""`).
    pub(crate) fn nullable_str(&self, key: &str) -> Result<Option<Option<String>>, ApiError> {
        Ok(self.str(key)?.map(|s| if s.is_empty() { None } else { Some(s.to_string()) }))
    }

    /// An integer parameter, if present.
    pub(crate) fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.str(key)? {
            None => Ok(None),
            Some(s) => s
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::invalid(key, "parameter_invalid_integer", format!("Invalid integer: {s}"))),
        }
    }

    /// A boolean parameter (`true` / `false`), if present.
    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.str(key)? {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(s) => Err(ApiError::invalid(key, "parameter_invalid_boolean", format!("Invalid boolean: {s}"))),
        }
    }

    /// A list parameter (`x[]=..` or `x[0][..]=..`), if present.
    pub(crate) fn list(&self, key: &str) -> Result<Option<Vec<Value>>, ApiError> {
        match self.0.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items.clone())),
            Some(Value::Object(map)) if map.keys().all(|k| k.parse::<usize>().is_ok()) => {
                let mut entries: Vec<(usize, Value)> =
                    map.iter().filter_map(|(k, v)| k.parse().ok().map(|i| (i, v.clone()))).collect();
                entries.sort_by_key(|(i, _)| *i);
                Ok(Some(entries.into_iter().map(|(_, v)| v).collect()))
            }
            Some(_) => Err(ApiError::invalid(key, "parameter_invalid_array", format!("Invalid array: {key}"))),
        }
    }

    /// The `expand[]` paths requested.
    pub(crate) fn expand(&self) -> Vec<String> {
        match self.list("expand") {
            Ok(Some(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        }
    }

    /// A metadata write under `key` (usually `metadata`), named `key` in errors.
    pub(crate) fn metadata(&self, key: &str) -> Result<Option<MetadataUpdate>, ApiError> {
        self.metadata_as(key, key)
    }

    /// A metadata write under `key`, named `param` in errors (for nested
    /// hashes such as `subscription_data[metadata]`).
    pub(crate) fn metadata_as(&self, key: &str, param: &str) -> Result<Option<MetadataUpdate>, ApiError> {
        let invalid = || ApiError::invalid(param, "parameter_invalid_hash", format!("Invalid hash: {param}"));
        let change = match self.0.get(key) {
            None => return Ok(None),
            Some(Value::String(s)) if s.is_empty() => MetadataChange::Clear,
            Some(Value::Object(_)) | Some(Value::Array(_)) => {
                let map = self.child(key).map_err(|_| invalid())?;
                let mut pairs = Vec::new();
                for (k, v) in map.0 {
                    let Value::String(v) = v else {
                        return Err(invalid());
                    };
                    if k.chars().count() > METADATA_MAX_KEY_CHARS {
                        return Err(ApiError::bad_request(format!(
                            "Invalid key: {k} must be a string under {METADATA_MAX_KEY_CHARS} characters"
                        ))
                        .param(param));
                    }
                    if v.chars().count() > METADATA_MAX_VALUE_CHARS {
                        return Err(ApiError::bad_request(format!(
                            "Invalid val: {v} must be a string under {METADATA_MAX_VALUE_CHARS} characters"
                        ))
                        .param(param));
                    }
                    pairs.push((k, v));
                }
                MetadataChange::Set(pairs)
            }
            Some(_) => return Err(invalid()),
        };
        Ok(Some(MetadataUpdate { param: param.to_string(), change }))
    }

    /// The metadata of an object being created from `key` (empty when absent).
    pub(crate) fn new_metadata(&self, key: &str, param: &str) -> Result<BTreeMap<String, String>, ApiError> {
        match self.metadata_as(key, param)? {
            None => Ok(BTreeMap::new()),
            Some(update) => update.applied_to(&BTreeMap::new()),
        }
    }

    /// `limit` for list endpoints: default 10, between 1 and 100.
    pub(crate) fn limit(&self) -> Result<usize, ApiError> {
        match self.int("limit")? {
            None => Ok(10),
            Some(n) if (1..=100).contains(&n) => Ok(n as usize),
            Some(_) => Err(ApiError::invalid(
                "limit",
                "parameter_invalid_integer",
                "This value must be greater than or equal to 1 and less than or equal to 100.".to_string(),
            )),
        }
    }
}

fn indexed(items: &[Value]) -> Map<String, Value> {
    items.iter().enumerate().map(|(i, v)| (i.to_string(), v.clone())).collect()
}
