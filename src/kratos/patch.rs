//! JSON Patch (RFC 6902) documents for `PATCH /admin/identities/{id}` that
//! every Kratos version accepts.
//!
//! What Kratos accepts (it applies patches with ory/x `jsonx.ApplyJSONPatch`):
//! - only `add`, `remove` and `replace`: `test`, `move` and `copy` are refused
//!   with 400 "unsupported operation" since ory/x #572 (July 2022), so a
//!   `test`-based compare-and-set is impossible;
//! - never `/id`, `/stateChangedAt`, `/credentials` (we never touch them);
//! - `add` to `/metadata_admin/x` fails while `metadata_admin` is `null` in
//!   versions before ory/x #692 (June 2023).
//!
//! So a key is written like this, depending on the metadata object the
//! caller last read:
//! - an object: `add /metadata_admin/<key>` only. Kratos applies it to the
//!   identity as stored at that moment, so keys other writers added since our
//!   read are kept;
//! - `null` or absent: `add /metadata_admin` with `{<key>: value}`. If another
//!   writer created the object between our read and this patch, its keys
//!   would be replaced; the window is one round trip, and a re-read shows
//!   whether our key stuck;
//! - anything else (a string, a number, an array; not something Kratos or
//!   this bridge writes): replaced by a fresh object `{<key>: value}`, since
//!   a key cannot live inside it.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::identity::{KRATOS_CUSTOMER_KEY, KRATOS_PLAN_KEY};

/// The patch operations the bridge uses; deliberately only those Kratos accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchOpKind {
    Add,
    Remove,
    Replace,
}

/// One RFC 6902 operation; serialises as `{"op", "path", "value"?}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatchOp {
    pub op: PatchOpKind,
    /// A JSON Pointer (RFC 6901), tokens escaped with [`escape_pointer_token`].
    pub path: String,
    /// The value for `add` / `replace` (`Some(Value::Null)` serialises as `null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

impl PatchOp {
    /// An `add` of `value` at `path` (which creates or overwrites a member).
    pub fn add(path: impl Into<String>, value: Value) -> Self {
        Self { op: PatchOpKind::Add, path: path.into(), value: Some(value) }
    }
}

/// Escapes one reference token for a JSON Pointer: `~` -> `~0`, `/` -> `~1`
/// (in that order, as RFC 6901 requires).
fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The patch that sets `metadata_admin.<key>` to `value` given the
/// `metadata_admin` the caller last read (see the module doc for the shapes).
fn set_metadata_admin_key(current: Option<&Value>, key: &str, value: Value) -> Vec<PatchOp> {
    set_key("/metadata_admin", current, key, value)
}

/// The patch that sets `metadata_public.<key>` (e.g. `plan`), like
/// [`set_metadata_admin_key`]. `metadata_public` is visible to the user.
fn set_metadata_public_key(current: Option<&Value>, key: &str, value: Value) -> Vec<PatchOp> {
    set_key("/metadata_public", current, key, value)
}

fn set_key(root: &str, current: Option<&Value>, key: &str, value: Value) -> Vec<PatchOp> {
    match current {
        Some(Value::Object(_)) => vec![PatchOp::add(format!("{root}/{}", escape_pointer_token(key)), value)],
        _ => {
            let mut fresh = Map::new();
            fresh.insert(key.to_string(), value);
            vec![PatchOp::add(root, Value::Object(fresh))]
        }
    }
}

/// False when the metadata object already holds `key` with exactly `value`,
/// so the caller can skip a PATCH that would change nothing.
fn needs_update(current: Option<&Value>, key: &str, value: &Value) -> bool {
    current.and_then(Value::as_object).and_then(|m| m.get(key)) != Some(value)
}

/// The patch that makes `metadata_admin.stripe_customer_id` name
/// `customer_id`, given the `metadata_admin` last read; `None` when it
/// already does.
pub fn link_customer(metadata_admin: Option<&Value>, customer_id: &str) -> Option<Vec<PatchOp>> {
    let value = Value::from(customer_id);
    needs_update(metadata_admin, KRATOS_CUSTOMER_KEY, &value)
        .then(|| set_metadata_admin_key(metadata_admin, KRATOS_CUSTOMER_KEY, value))
}

/// The patch that mirrors the plan into `metadata_public.plan`
/// (`KRATOS_SYNC_PLAN`), given the `metadata_public` last read; `None` when
/// it already says `plan`.
pub fn mirror_plan(metadata_public: Option<&Value>, plan: &str) -> Option<Vec<PatchOp>> {
    let value = Value::from(plan);
    needs_update(metadata_public, KRATOS_PLAN_KEY, &value)
        .then(|| set_metadata_public_key(metadata_public, KRATOS_PLAN_KEY, value))
}

/// The request body for `PATCH /admin/identities/{id}`.
pub fn to_json(ops: &[PatchOp]) -> String {
    // Only strings and `serde_json::Value`s inside: serialising cannot fail.
    serde_json::to_string(ops).expect("a JSON Patch of plain JSON values always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(ops: &[PatchOp]) -> Value {
        serde_json::from_str(&to_json(ops)).unwrap()
    }

    #[test]
    fn over_null_or_absent_writes_the_whole_object() {
        for current in [None, Some(&Value::Null)] {
            let ops = set_metadata_admin_key(current, "stripe_customer_id", json!("cus_1"));
            assert_eq!(
                doc(&ops),
                json!([{"op": "add", "path": "/metadata_admin", "value": {"stripe_customer_id": "cus_1"}}])
            );
        }
    }

    #[test]
    fn over_an_object_touches_only_the_key() {
        let current = json!({"stripe_customer_id": "cus_old", "crm_id": 7});
        let ops = set_metadata_admin_key(Some(&current), "stripe_customer_id", json!("cus_new"));
        assert_eq!(doc(&ops), json!([{"op": "add", "path": "/metadata_admin/stripe_customer_id", "value": "cus_new"}]));
        let empty = json!({});
        let ops = set_metadata_admin_key(Some(&empty), "stripe_customer_id", json!("cus_1"));
        assert_eq!(ops[0].path, "/metadata_admin/stripe_customer_id");
    }

    #[test]
    fn over_a_non_object_replaces_it_with_a_fresh_object() {
        for odd in [json!("cus_legacy"), json!(5), json!(["a"]), json!(true)] {
            let ops = set_metadata_public_key(Some(&odd), "plan", json!("pro"));
            assert_eq!(
                doc(&ops),
                json!([{"op": "add", "path": "/metadata_public", "value": {"plan": "pro"}}]),
                "{odd}"
            );
        }
    }

    #[test]
    fn never_uses_operations_or_paths_kratos_refuses() {
        let obj = json!({"a": 1});
        for current in [None, Some(&Value::Null), Some(&obj)] {
            for op in set_metadata_admin_key(current, "k", json!(1)).iter().chain(&set_metadata_public_key(
                current,
                "k",
                json!(1),
            )) {
                assert_eq!(op.op, PatchOpKind::Add);
                assert!(op.path.starts_with("/metadata_admin") || op.path.starts_with("/metadata_public"));
            }
        }
    }

    #[test]
    fn keys_are_pointer_escaped() {
        assert_eq!(escape_pointer_token("a/b~c"), "a~1b~0c");
        assert_eq!(escape_pointer_token("~1"), "~01");
        let current = json!({});
        let ops = set_metadata_public_key(Some(&current), "plans/v2~x", json!("pro"));
        assert_eq!(ops[0].path, "/metadata_public/plans~1v2~0x");
        // The fresh-object form carries the key unescaped: it is a member name, not a pointer.
        let ops = set_metadata_public_key(None, "plans/v2", json!("pro"));
        assert_eq!(ops[0].value, Some(json!({"plans/v2": "pro"})));
    }

    #[test]
    fn null_values_are_sent_explicitly() {
        let current = json!({"plan": "pro"});
        let ops = set_metadata_public_key(Some(&current), "plan", Value::Null);
        assert_eq!(to_json(&ops), r#"[{"op":"add","path":"/metadata_public/plan","value":null}]"#);
    }

    #[test]
    fn needs_update_only_when_the_value_differs() {
        let current = json!({"stripe_customer_id": "cus_1", "x": 1});
        assert!(!needs_update(Some(&current), "stripe_customer_id", &json!("cus_1")));
        assert!(needs_update(Some(&current), "stripe_customer_id", &json!("cus_2")));
        assert!(needs_update(Some(&current), "plan", &json!("pro")));
        assert!(needs_update(None, "plan", &json!("pro")));
        assert!(needs_update(Some(&Value::Null), "plan", &json!("pro")));
        assert!(needs_update(Some(&json!("pro")), "plan", &json!("pro")));
        // A key explicitly holding null matches a null value; an absent key does not.
        assert!(!needs_update(Some(&json!({"plan": null})), "plan", &Value::Null));
        assert!(needs_update(Some(&json!({})), "plan", &Value::Null));
    }

    #[test]
    fn link_and_plan_patches_are_skipped_when_already_true() {
        let admin = json!({"stripe_customer_id": "cus_1", "crm_id": 7});
        assert_eq!(link_customer(Some(&admin), "cus_1"), None);
        let ops = link_customer(Some(&admin), "cus_2").unwrap();
        assert_eq!(doc(&ops), json!([{"op": "add", "path": "/metadata_admin/stripe_customer_id", "value": "cus_2"}]));
        let ops = link_customer(None, "cus_2").unwrap();
        assert_eq!(
            doc(&ops),
            json!([{"op": "add", "path": "/metadata_admin", "value": {"stripe_customer_id": "cus_2"}}])
        );
        let public = json!({"plan": "pro"});
        assert_eq!(mirror_plan(Some(&public), "pro"), None);
        let ops = mirror_plan(Some(&public), "free").unwrap();
        assert_eq!(doc(&ops), json!([{"op": "add", "path": "/metadata_public/plan", "value": "free"}]));
    }
}
