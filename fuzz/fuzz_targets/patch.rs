//! JSON Patch building (src/kratos/patch.rs).
//!
//! Input: a value (customer id or plan name), a newline, then the metadata
//! object as last read (absent when it is not JSON). Checks that building
//! never panics and that the patch does what it claims: it is `None` exactly
//! when the key already holds the value; applied (RFC 6902 `add`, as Kratos
//! does) to an identity with that metadata, it sets the key, keeps every
//! other key of an object, and leaves nothing more to patch; and its JSON
//! body is a list of `add` operations that reads back as the same patch.
#![no_main]

use kratos_stripe_bridge::kratos::patch::{link_customer, mirror_plan, to_json, PatchOp, PatchOpKind};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};

/// Applies `add` operations to `doc` as RFC 6902 says (members only; the
/// bridge never patches array elements).
fn apply(doc: &mut Value, ops: &[PatchOp]) {
    for op in ops {
        assert_eq!(op.op, PatchOpKind::Add, "the bridge only adds");
        let path = op.path.strip_prefix('/').expect("a pointer starts with /");
        let tokens: Vec<String> = path.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect();
        let (last, parents) = tokens.split_last().expect("a pointer has a token");
        let mut at = &mut *doc;
        for t in parents {
            at = at.get_mut(t.as_str()).expect("add needs the parent to exist");
        }
        let object = at.as_object_mut().expect("add into an object");
        object.insert(last.clone(), op.value.clone().expect("add carries a value"));
    }
}

fn check(
    root: &str,
    key: &str,
    meta: Option<&Value>,
    value: &str,
    build: fn(Option<&Value>, &str) -> Option<Vec<PatchOp>>,
) {
    let ops = build(meta, value);
    let holds =
        meta.and_then(|m| m.get(key)).and_then(Value::as_str) == Some(value) && meta.is_some_and(Value::is_object);
    assert_eq!(ops.is_none(), holds, "a patch is skipped exactly when the key holds the value");
    let Some(ops) = ops else { return };
    let mut identity = Map::new();
    identity.insert("id".into(), json!("1d000000-0000-4000-8000-000000000001"));
    if let Some(m) = meta {
        identity.insert(root.into(), m.clone());
    }
    let mut doc = Value::Object(identity);
    apply(&mut doc, &ops);
    let after = &doc[root];
    assert_eq!(after[key].as_str(), Some(value));
    if let Some(Value::Object(before)) = meta {
        for (k, v) in before {
            if k != key {
                assert_eq!(after.get(k), Some(v), "the patch lost key {k}");
            }
        }
    }
    assert!(build(Some(after), value).is_none(), "after the patch, nothing is left to patch");
    let body: Value = serde_json::from_str(&to_json(&ops)).expect("the patch body is JSON");
    let list = body.as_array().expect("a JSON Patch is a list");
    assert_eq!(list.len(), ops.len());
    for (item, op) in list.iter().zip(&ops) {
        assert_eq!(item["op"], "add");
        assert_eq!(item["path"].as_str(), Some(op.path.as_str()));
        assert_eq!(item.get("value"), op.value.as_ref());
    }
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let Ok(value) = std::str::from_utf8(&data[..split]) else { return };
    let meta: Option<Value> = data.get(split + 1..).and_then(|rest| serde_json::from_slice(rest).ok());
    check("metadata_admin", "stripe_customer_id", meta.as_ref(), value, link_customer);
    check("metadata_public", "plan", meta.as_ref(), value, mirror_plan);
});
