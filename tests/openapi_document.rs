//! `docs/openapi.json` is complete, checked natively against the source:
//! every route of the route table is documented and every documented
//! operation is a route; every operation has a unique `operationId` and
//! tags; the error codes it lists are exactly the ones the worker can
//! answer; every answer names `X-Request-Id`; answers may gain fields; the
//! examples are valid. (The end-to-end tests check real answers against it.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use kratos_stripe_bridge::web::route::{route, Route};
use serde_json::Value;

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The catch-all path of edge gate mode: any path no route names.
const EDGE: &str = "/{originPath}";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn document() -> Value {
    let text = std::fs::read_to_string(root().join("docs/openapi.json")).expect("read docs/openapi.json");
    serde_json::from_str(&text).expect("docs/openapi.json is JSON")
}

/// Every operation: (path, method, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            if METHODS.contains(&method.as_str()) {
                out.push((path.clone(), method.clone(), op.clone()));
            }
        }
    }
    out
}

/// A source file without its unit tests (their literals are not answers).
fn source_without_tests(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literals of `text`, with where each starts.
fn literals(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            let start = i + 1;
            let mut j = start;
            while j < bytes.len() && bytes[j] != b'"' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            out.push((i, text[start..j.min(text.len())].to_owned()));
            i = j + 1;
        } else if text[i..].starts_with("//") {
            i += text[i..].find('\n').unwrap_or(text.len() - i);
        } else if text[i..].starts_with("'\"'") {
            i += 3;
        } else {
            i += 1;
        }
    }
    out
}

fn is_code(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Error types whose `code()` never reaches an answer: their errors are
/// folded into the upstream's `stripe_bad_answer` / `kratos_bad_answer`,
/// with the code in the message only.
const CODES_NOT_ANSWERED: [&str; 3] = ["CustomerError", "IdentityError", "SessionError"];

/// Every error code the worker's source can answer with: the codes given to
/// `ApiError`'s constructors (`new(status, "code", ..)`, `bad_request("code",
/// ..)`, ...), the fixed codes of `unauthorized`, `config` and `internal`,
/// the bad-answer codes of `to_api_error`, error bodies written as JSON
/// text, and the codes each error type's `fn code` returns (they become
/// answers through `From<..> for ApiError`), but for [`CODES_NOT_ANSWERED`].
fn codes_in_source() -> BTreeMap<String, String> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut codes = BTreeMap::new();
    let mut found = |code: &str, at: &Path| {
        codes.entry(code.to_owned()).or_insert_with(|| at.strip_prefix(root()).unwrap().display().to_string());
    };
    const TAKES_A_CODE: [&str; 7] = [
        "ApiError::bad_request(",
        "ApiError::not_found(",
        "ApiError::conflict(",
        "ApiError::upstream(",
        "ApiError::unavailable(",
        "ApiError::new(",
        "to_api_error(",
    ];
    const FIXED: [(&str, &str); 3] = [
        ("ApiError::unauthorized(", "unauthorized"),
        ("ApiError::config(", "invalid_config"),
        ("ApiError::internal(", "internal"),
    ];
    for file in &files {
        let text = source_without_tests(file);
        let lits = literals(&text);
        for call in TAKES_A_CODE {
            for (at, _) in text.match_indices(call) {
                // The first literal after the call's opening parenthesis, when
                // it comes before the call's first comma-free argument ends.
                let after = at + call.len();
                let args = &text[after..];
                let first_arg_end = if call == "ApiError::new(" {
                    // Skip the status.
                    args.find(',').map(|c| c + 1).unwrap_or(0)
                } else {
                    0
                };
                let arg = args[first_arg_end..].trim_start();
                if let Some(rest) = arg.strip_prefix('"') {
                    let code = &rest[..rest.find('"').expect("a closed literal")];
                    assert!(is_code(code), "{}: {call}\"{code}\" is not a code", file.display());
                    found(code, file);
                }
            }
        }
        for (call, code) in FIXED {
            if text.contains(call) {
                found(code, file);
            }
        }
        for (_, lit) in &lits {
            if let Some(rest) = lit.strip_prefix("{\\\"error\\\":{\\\"code\\\":\\\"") {
                found(&rest[..rest.find('\\').unwrap()], file);
            }
        }
        // `fn code` in an `impl Type` block: every literal it returns.
        for (at, _) in text.match_indices("fn code(") {
            let owner = text[..at].rfind("\nimpl ").map(|i| &text[i + 6..at]).expect("fn code in an impl");
            let owner = owner.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap_or_default();
            if CODES_NOT_ANSWERED.contains(&owner) {
                continue;
            }
            let body = &text[at..];
            let end = body.find("\n    }").expect("the end of fn code");
            for (_, lit) in literals(&body[..end]) {
                assert!(is_code(&lit), "{}: {owner}::code returns {lit:?}", file.display());
                found(&lit, file);
            }
        }
    }
    codes
}

#[test]
fn the_error_code_enum_is_exactly_what_the_worker_answers() {
    let doc = document();
    let documented: BTreeSet<String> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("components.schemas.ErrorCode.enum")
        .iter()
        .map(|c| c.as_str().expect("a code").to_owned())
        .collect();
    let source = codes_in_source();
    assert!(source.len() > 40, "the scan finds the worker's codes: {source:?}");
    let missing: Vec<_> = source.iter().filter(|(c, _)| !documented.contains(*c)).collect();
    assert!(missing.is_empty(), "codes the worker answers that ErrorCode does not list (code, where): {missing:?}");
    let stale: Vec<_> = documented.iter().filter(|c| !source.contains_key(*c)).collect();
    assert!(stale.is_empty(), "ErrorCode lists codes the worker never answers: {stale:?}");
    assert_eq!(
        doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["$ref"],
        "#/components/schemas/ErrorCode"
    );
}

#[test]
fn the_code_scan_reads_calls_and_code_functions() {
    let codes = codes_in_source();
    for (code, from) in [
        ("body_too_large", "ApiError::new"),
        ("signature_mismatch", "SignatureError::code"),
        ("path_above_root", "PathRefusal::code"),
        ("stripe_bad_answer", "to_api_error"),
        ("kratos_auth", "a classify closure"),
        ("invalid_config", "ApiError::config"),
        ("internal", "the panic answer"),
    ] {
        assert!(codes.contains_key(code), "{code} ({from}) is found: {codes:?}");
    }
    assert!(!codes.contains_key("kratos_invalid_session"), "a code folded into kratos_bad_answer is no answer");
}

#[test]
fn every_operation_has_a_unique_operation_id_and_declared_tags() {
    let doc = document();
    let declared: BTreeSet<&str> =
        doc["tags"].as_array().expect("top-level tags").iter().map(|t| t["name"].as_str().unwrap()).collect();
    let mut ids = BTreeSet::new();
    for (path, method, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
        let tags = op["tags"].as_array().unwrap_or_else(|| panic!("{method} {path} has no tags"));
        assert!(!tags.is_empty(), "{method} {path} has no tags");
        for t in tags {
            assert!(declared.contains(t.as_str().unwrap()), "{method} {path}: tag {t} is not declared");
        }
        assert!(op["summary"].is_string(), "{method} {path} has no summary");
    }
}

/// A concrete path for a documented template.
fn concrete(template: &str) -> String {
    template
        .replace("{id}", "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab")
        .replace("{feature}", "premium_feature")
        .replace("{meter}", "exports")
}

/// The route names of `src/web/route.rs`' table: `GET /healthz`, ...,
/// and `/auth/forward` (any method).
fn route_names() -> BTreeSet<String> {
    let text = source_without_tests(&root().join("src/web/route.rs"));
    literals(&text)
        .into_iter()
        .map(|(_, l)| l)
        .filter(|l| {
            let mut parts = l.splitn(2, ' ');
            let (first, rest) = (parts.next().unwrap_or(""), parts.next());
            (["GET", "POST", "DELETE", "PUT", "PATCH"].contains(&first) && rest.is_some_and(|p| p.starts_with('/')))
                || l == "/auth/forward"
        })
        .collect()
}

#[test]
fn every_route_of_the_table_is_documented_and_every_operation_is_a_route() {
    let doc = document();
    let names = route_names();
    assert!(names.len() >= 20, "the table's names are found: {names:?}");
    for name in &names {
        if name == "GET /__test/panic" {
            // A test hook (TEST_PANIC_ROUTE), refused in production.
            continue;
        }
        let (method, path) = name.split_once(' ').unwrap_or(("GET", name));
        let op = &doc["paths"][path][method.to_ascii_lowercase()];
        assert!(op.is_object(), "the route {name} is not in docs/openapi.json");
        // The name is the route's own: the table answers it there.
        let matched = route(method, &concrete(path)).unwrap_or_else(|| panic!("{name} is no route"));
        assert_eq!(&matched.name, name);
    }
    for (path, method, _) in operations(&doc) {
        let upper = method.to_ascii_uppercase();
        if path == EDGE {
            // No route of the bridge: what edge gate mode forwards.
            assert!(route(&upper, "/reports/q3").is_none());
            continue;
        }
        let matched =
            route(&upper, &concrete(&path)).unwrap_or_else(|| panic!("{upper} {path} is documented but no route"));
        match upper.as_str() {
            "OPTIONS" => assert!(matches!(matched.route, Ok(Route::Preflight(_))), "{path}: a preflight"),
            _ => assert!(
                names.contains(matched.name) && (matched.name == format!("{upper} {path}") || path == "/auth/forward"),
                "{upper} {path} is documented as another route ({})",
                matched.name
            ),
        }
    }
}

#[test]
fn every_answer_names_its_request_id_and_every_route_its_config_error() {
    let doc = document();
    let header_ref = "#/components/headers/RequestId";
    for name in ["Error", "Preflight"] {
        assert_eq!(doc["components"]["responses"][name]["headers"]["X-Request-Id"]["$ref"], header_ref, "{name}");
    }
    for (path, method, op) in operations(&doc) {
        let responses = op["responses"].as_object().unwrap();
        for (status, r) in responses {
            if r.get("$ref").is_some() || (path == EDGE && status == "default") {
                // A shared answer (which names it), or the origin's own.
                continue;
            }
            assert_eq!(r["headers"]["X-Request-Id"]["$ref"], header_ref, "{method} {path} {status}");
        }
        if method != "options" {
            assert!(responses.contains_key("500"), "{method} {path}: 500 invalid_config is answered on every route");
        }
    }
    let servers = &doc["servers"][0];
    assert!(servers["url"].as_str().unwrap().contains("{prefix}"), "BRIDGE_PATH_PREFIX is a server variable");
    assert!(servers["variables"]["prefix"].is_object());
}

/// Answers may gain fields: no answer schema closes its objects (the
/// end-to-end validator closes them itself, so the worker cannot drift).
#[test]
fn answer_schemas_tolerate_new_fields() {
    fn closed(v: &Value, at: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if map.get("additionalProperties") == Some(&Value::Bool(false))
                    || map.get("unevaluatedProperties") == Some(&Value::Bool(false))
                {
                    out.push(at.to_owned());
                }
                for (k, v) in map {
                    closed(v, &format!("{at}/{k}"), out);
                }
            }
            Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| closed(v, &format!("{at}/{i}"), out)),
            _ => {}
        }
    }
    let doc = document();
    let mut found = Vec::new();
    closed(&doc["components"]["schemas"], "components/schemas", &mut found);
    closed(&doc["components"]["responses"], "components/responses", &mut found);
    for (path, method, op) in operations(&doc) {
        closed(&op["responses"], &format!("{method} {path}"), &mut found);
    }
    assert!(found.is_empty(), "closed answer schemas: {found:?}");
}

/// The examples of the document's schemas and error answers are valid
/// instances of them.
#[test]
fn the_examples_match_their_schemas() {
    let doc = document();
    let validate = |schema: &Value, example: &Value, what: &str| {
        let mut root = schema.clone();
        root.as_object_mut().expect("an object schema").insert("components".into(), doc["components"].clone());
        let v = jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("{what}: {e}"));
        let errors: Vec<String> = v.iter_errors(example).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{what}: {errors:?}\n{example}");
    };
    let mut seen = 0;
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        for example in schema["examples"].as_array().into_iter().flatten() {
            validate(schema, example, &format!("components.schemas.{name}"));
            seen += 1;
        }
    }
    let error = serde_json::json!({"$ref": "#/components/schemas/Error"});
    for (name, ex) in
        doc["components"]["responses"]["Error"]["content"]["application/json"]["examples"].as_object().unwrap()
    {
        validate(&error, &ex["value"], &format!("the Error example {name}"));
        seen += 1;
    }
    assert!(seen > 15, "{seen} examples");
    assert!(
        doc["components"]["schemas"]["Entitlement"]["examples"].is_array(),
        "the entitlement record has an example"
    );
}
