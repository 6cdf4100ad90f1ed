//! A strict RFC 6902 JSON Patch engine (with RFC 6901 pointers).
//!
//! Strict on purpose: `add` below a `null` member fails, `replace`/`remove`
//! of a missing member fails, and a patch is all or nothing. An emulator that
//! is stricter than some Kratos versions keeps the worker on the patches that
//! work against every version.

use std::fmt;

use serde_json::{Map, Value};

/// Why a patch document was refused or could not be applied; the text is
/// what the emulator reports in Kratos' error `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError(pub String);

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A parsed RFC 6901 JSON Pointer, kept with its source text for messages
/// and path policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    raw: String,
    tokens: Vec<String>,
}

impl Pointer {
    /// Parses `""` (the whole document) or `/a/b~1c`.
    pub fn parse(raw: &str) -> Result<Pointer, PatchError> {
        if raw.is_empty() {
            return Ok(Pointer { raw: String::new(), tokens: Vec::new() });
        }
        let Some(rest) = raw.strip_prefix('/') else {
            return Err(PatchError(format!("JSON pointer must be empty or start with a \"/\": {raw:?}")));
        };
        let tokens = rest.split('/').map(unescape).collect::<Result<Vec<_>, _>>()?;
        Ok(Pointer { raw: raw.to_string(), tokens })
    }

    /// The pointer as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The unescaped reference tokens.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    fn is_proper_prefix_of(&self, other: &Pointer) -> bool {
        self.tokens.len() < other.tokens.len() && other.tokens.starts_with(&self.tokens)
    }
}

fn unescape(token: &str) -> Result<String, PatchError> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c != '~' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => out.push('~'),
            Some('1') => out.push('/'),
            _ => return Err(PatchError(format!("invalid escape in JSON pointer token {token:?}"))),
        }
    }
    Ok(out)
}

/// The six operation kinds of RFC 6902.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// `add`
    Add,
    /// `remove`
    Remove,
    /// `replace`
    Replace,
    /// `move`
    Move,
    /// `copy`
    Copy,
    /// `test`
    Test,
}

impl OpKind {
    /// The `op` string.
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Add => "add",
            OpKind::Remove => "remove",
            OpKind::Replace => "replace",
            OpKind::Move => "move",
            OpKind::Copy => "copy",
            OpKind::Test => "test",
        }
    }

    fn parse(op: &str) -> Option<OpKind> {
        Some(match op {
            "add" => OpKind::Add,
            "remove" => OpKind::Remove,
            "replace" => OpKind::Replace,
            "move" => OpKind::Move,
            "copy" => OpKind::Copy,
            "test" => OpKind::Test,
            _ => return None,
        })
    }
}

/// One operation of a patch document.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    /// What to do.
    pub kind: OpKind,
    /// The target location.
    pub path: Pointer,
    /// The source location of `move` and `copy`.
    pub from: Option<Pointer>,
    /// The value of `add`, `replace` and `test` (`Null` otherwise).
    pub value: Value,
}

/// Parses a JSON Patch document (an array of operation objects).
pub fn parse_patch(doc: &Value) -> Result<Vec<PatchOp>, PatchError> {
    let Some(items) = doc.as_array() else {
        return Err(PatchError("a JSON patch document must be an array of operations".into()));
    };
    items.iter().map(parse_op).collect()
}

fn parse_op(item: &Value) -> Result<PatchOp, PatchError> {
    let obj = item.as_object().ok_or_else(|| PatchError("a JSON patch operation must be an object".into()))?;
    let op = obj.get("op").and_then(Value::as_str).unwrap_or("");
    let kind = OpKind::parse(op).ok_or_else(|| PatchError(format!("Unexpected kind: {op}")))?;
    let path = pointer_field(obj, "path")?;
    let from = match kind {
        OpKind::Move | OpKind::Copy => Some(pointer_field(obj, "from")?),
        _ => None,
    };
    let value = match kind {
        OpKind::Add | OpKind::Replace | OpKind::Test => {
            obj.get("value").cloned().ok_or_else(|| PatchError(format!("{op} operation, missing value field")))?
        }
        _ => Value::Null,
    };
    Ok(PatchOp { kind, path, from, value })
}

fn pointer_field(obj: &Map<String, Value>, name: &str) -> Result<Pointer, PatchError> {
    let raw =
        obj.get(name).and_then(Value::as_str).ok_or_else(|| PatchError(format!("operation missing {name} field")))?;
    Pointer::parse(raw)
}

/// Applies `ops` in order to a copy of `doc`; on any failure `doc` is left as
/// it was and the first error is returned (RFC 6902 atomicity).
pub fn apply_patch(doc: &Value, ops: &[PatchOp]) -> Result<Value, PatchError> {
    let mut work = doc.clone();
    for op in ops {
        apply_op(&mut work, op)?;
    }
    Ok(work)
}

fn apply_op(doc: &mut Value, op: &PatchOp) -> Result<(), PatchError> {
    let path = &op.path;
    match op.kind {
        OpKind::Add => add(doc, path, op.value.clone()),
        OpKind::Remove => remove(doc, path).map(|_| ()),
        OpKind::Replace => {
            let slot = get_mut(doc, path.tokens()).ok_or_else(|| {
                PatchError(format!("replace operation does not apply: doc is missing key: {}", path.as_str()))
            })?;
            *slot = op.value.clone();
            Ok(())
        }
        OpKind::Move => {
            let from = op.from.as_ref().ok_or_else(|| PatchError("move operation missing from".into()))?;
            if from.is_proper_prefix_of(path) {
                return Err(PatchError(format!("move operation cannot move {} into its own child", from.as_str())));
            }
            let value = remove(doc, from)?;
            add(doc, path, value)
        }
        OpKind::Copy => {
            let from = op.from.as_ref().ok_or_else(|| PatchError("copy operation missing from".into()))?;
            let value = get(doc, from.tokens()).cloned().ok_or_else(|| {
                PatchError(format!("copy operation does not apply: doc is missing from path: {}", from.as_str()))
            })?;
            add(doc, path, value)
        }
        OpKind::Test => match get(doc, path.tokens()) {
            Some(actual) if json_equal(actual, &op.value) => Ok(()),
            _ => Err(PatchError(format!("testing value {} failed: test failed", path.as_str()))),
        },
    }
}

fn add(doc: &mut Value, path: &Pointer, value: Value) -> Result<(), PatchError> {
    let missing = || PatchError(format!("add operation does not apply: doc is missing path: {:?}", path.as_str()));
    let Some((last, parent_tokens)) = path.tokens().split_last() else {
        *doc = value;
        return Ok(());
    };
    match get_mut(doc, parent_tokens).ok_or_else(missing)? {
        Value::Object(map) => {
            map.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(items) => {
            let index = if last == "-" { items.len() } else { array_index(last).ok_or_else(missing)? };
            if index > items.len() {
                return Err(missing());
            }
            items.insert(index, value);
            Ok(())
        }
        _ => Err(missing()),
    }
}

fn remove(doc: &mut Value, path: &Pointer) -> Result<Value, PatchError> {
    let missing = || PatchError(format!("remove operation does not apply: doc is missing path: {:?}", path.as_str()));
    let (last, parent_tokens) = path.tokens().split_last().ok_or_else(missing)?;
    match get_mut(doc, parent_tokens).ok_or_else(missing)? {
        Value::Object(map) => map.remove(last).ok_or_else(missing),
        Value::Array(items) => {
            let index = array_index(last).filter(|i| *i < items.len()).ok_or_else(missing)?;
            Ok(items.remove(index))
        }
        _ => Err(missing()),
    }
}

/// An RFC 6901 array index: `0` or digits without a leading zero.
fn array_index(token: &str) -> Option<usize> {
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    if !digits || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    token.parse().ok()
}

fn get<'a>(doc: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    tokens.iter().try_fold(doc, |cur, t| match cur {
        Value::Object(map) => map.get(t),
        Value::Array(items) => array_index(t).and_then(|i| items.get(i)),
        _ => None,
    })
}

fn get_mut<'a>(doc: &'a mut Value, tokens: &[String]) -> Option<&'a mut Value> {
    tokens.iter().try_fold(doc, |cur, t| match cur {
        Value::Object(map) => map.get_mut(t),
        Value::Array(items) => array_index(t).and_then(move |i| items.get_mut(i)),
        _ => None,
    })
}

/// RFC 6902 equality: numbers compare by value (`1` equals `1.0`), objects
/// ignore member order, arrays compare element-wise.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
            (Some(i), Some(j), _, _) => i == j,
            (_, _, Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(doc: Value, patch: Value) -> Result<Value, PatchError> {
        apply_patch(&doc, &parse_patch(&patch)?)
    }

    #[test]
    fn add_into_null_parent_fails() {
        let err = run(json!({"m": null}), json!([{"op": "add", "path": "/m/x", "value": 1}]));
        assert!(err.is_err());
    }

    #[test]
    fn add_whole_object_replaces_null() {
        let out = run(json!({"m": null}), json!([{"op": "add", "path": "/m", "value": {"x": 1}}])).unwrap();
        assert_eq!(out, json!({"m": {"x": 1}}));
    }

    #[test]
    fn array_add_remove_and_append() {
        let out = run(
            json!({"a": [1, 2]}),
            json!([
                {"op": "add", "path": "/a/0", "value": 0},
                {"op": "add", "path": "/a/-", "value": 3},
                {"op": "remove", "path": "/a/1"}
            ]),
        )
        .unwrap();
        assert_eq!(out, json!({"a": [0, 2, 3]}));
        assert!(run(json!({"a": [1]}), json!([{"op": "add", "path": "/a/01", "value": 0}])).is_err());
        assert!(run(json!({"a": [1]}), json!([{"op": "add", "path": "/a/2", "value": 0}])).is_err());
    }

    #[test]
    fn replace_and_remove_need_existing_member() {
        assert!(run(json!({}), json!([{"op": "replace", "path": "/x", "value": 1}])).is_err());
        assert!(run(json!({}), json!([{"op": "remove", "path": "/x"}])).is_err());
        let out = run(json!({"x": 1}), json!([{"op": "replace", "path": "/x", "value": 2}])).unwrap();
        assert_eq!(out, json!({"x": 2}));
    }

    #[test]
    fn move_copy_and_escapes() {
        let out = run(
            json!({"a/b": {"c": 1}, "t~": 2}),
            json!([
                {"op": "copy", "from": "/a~1b/c", "path": "/d"},
                {"op": "move", "from": "/t~0", "path": "/e"}
            ]),
        )
        .unwrap();
        assert_eq!(out, json!({"a/b": {"c": 1}, "d": 1, "e": 2}));
        assert!(run(json!({"a": {}}), json!([{"op": "move", "from": "/a", "path": "/a/b"}])).is_err());
    }

    #[test]
    fn test_op_compares_values_and_is_atomic() {
        let doc = json!({"n": 1, "o": {"a": 1, "b": [1, 2]}});
        let ok = json!([{"op": "test", "path": "/n", "value": 1.0}, {"op": "test", "path": "/o", "value": {"b": [1, 2], "a": 1}}]);
        assert!(run(doc.clone(), ok).is_ok());
        let bad = json!([{"op": "add", "path": "/z", "value": 1}, {"op": "test", "path": "/n", "value": 2}]);
        assert!(run(doc.clone(), bad).is_err());
        assert!(run(doc, json!([{"op": "test", "path": "/missing", "value": null}])).is_err());
    }

    #[test]
    fn malformed_documents_are_refused() {
        assert!(parse_patch(&json!({"op": "add"})).is_err());
        assert!(parse_patch(&json!([{"op": "frobnicate", "path": "/a"}])).is_err());
        assert!(parse_patch(&json!([{"op": "add", "path": "/a"}])).is_err());
        assert!(parse_patch(&json!([{"op": "add", "path": "a", "value": 1}])).is_err());
        assert!(parse_patch(&json!([{"op": "add", "path": "/a", "value": null}])).is_ok());
    }
}
