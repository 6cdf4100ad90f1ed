//! The project's OpenAPI document (`docs/openapi.json`, served at
//! `/openapi.json`) as a test oracle: every answer a test checks through
//! [`assert_documented`] must be one the document describes, so the
//! document cannot drift from the worker.

use std::sync::OnceLock;

use serde_json::{json, Value};

use super::basics::repo_root;

/// The document, read once per test binary.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let text = std::fs::read_to_string(repo_root().join("docs/openapi.json")).expect("read docs/openapi.json");
        serde_json::from_str(&text).expect("docs/openapi.json is JSON")
    })
}

/// The documented path template (`/v1/identities/{id}/sync`) a concrete
/// path (its query ignored) matches: the most literal one, as OpenAPI
/// matches concrete paths before templated ones.
pub fn template_for(path: &str) -> Option<&'static str> {
    let path = path.split('?').next().unwrap_or(path);
    let wanted: Vec<&str> = path.trim_matches('/').split('/').collect();
    let matching = document()["paths"].as_object()?.keys().map(String::as_str).filter(|t| {
        let parts: Vec<&str> = t.trim_matches('/').split('/').collect();
        parts.len() == wanted.len()
            && parts.iter().zip(&wanted).all(|(p, w)| (p.starts_with('{') && !w.is_empty()) || p == w)
    });
    matching.min_by_key(|t| t.matches('{').count())
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {pointer}")),
        None => v,
    }
}

/// Panics unless `method path` answering `status` with `body` is what the
/// document describes (the status is listed, and a JSON body matches its
/// schema).
pub fn assert_documented(method: &str, path: &str, status: u16, body: &Value) {
    let doc = document();
    let template = template_for(path).unwrap_or_else(|| panic!("{path} is not in docs/openapi.json"));
    let operation = &doc["paths"][template][method.to_ascii_lowercase()];
    assert!(operation.is_object(), "{method} {template} is not in docs/openapi.json");
    let response = operation["responses"].get(status.to_string()).unwrap_or_else(|| {
        panic!("{method} {template} answered {status}, which docs/openapi.json does not list: {body}")
    });
    let response = resolve(doc, response);
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        return;
    };
    let mut root = schema.clone();
    if let Some(obj) = root.as_object_mut() {
        obj.insert("components".into(), doc["components"].clone());
    } else {
        root = json!({"allOf": [schema], "components": doc["components"]});
    }
    // The document lets answers gain fields (clients must ignore new ones),
    // but the worker's answers must not drift from it: here, and only here,
    // every documented object refuses fields it does not declare.
    strict(&mut root);
    let validator = jsonschema::draft202012::new(&root).expect("a valid schema in docs/openapi.json");
    let errors: Vec<String> = validator.iter_errors(body).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{method} {path} -> {status} does not match docs/openapi.json: {errors:?}\n{body}");
}

/// Marks every object schema that declares `properties` as closed
/// (`unevaluatedProperties: false`, which sees through `allOf`, `oneOf` and
/// `$ref`), so a field the worker answers and the document does not declare
/// fails the test.
fn strict(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.get("properties").is_some_and(Value::is_object) && !map.contains_key("additionalProperties") {
                map.insert("unevaluatedProperties".into(), Value::Bool(false));
            }
            for (key, value) in map.iter_mut() {
                if key != "examples" && key != "example" {
                    strict(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}
