//! The Kratos emulator checked against Kratos' own OpenAPI document
//! (`tests/reference/kratos-api.json`, Ory's `spec/api.json`; see
//! `tests/reference/README.md`), not only against itself: every answer of
//! the routes the emulator serves is validated against the schema the
//! document gives for that route, method and status (or its `default`),
//! `$ref`s resolved: JSON types, `nullable`, `enum`, the `date-time` and
//! `uuid` formats, `required` fields, and no field the schema does not
//! declare (Kratos' schemas list every field they send). The fields the
//! worker reads (`src/kratos/`) must be in the answers and in the schemas.

#[path = "kratos_support.rs"]
mod support;

use ksb_emulators::kratos::KratosEmulator;
use reqwest::Method;
use serde_json::{json, Value};
use support::*;

const API: &str = include_str!("reference/kratos-api.json");

/// What the worker reads (`src/kratos/identity.rs`, `session.rs`,
/// `request.rs`): (schema, paths), `a.b` walking objects and arrays.
const WORKER_READS: &[(&str, &[&str])] = &[
    (
        "identity",
        &[
            "id",
            "traits",
            "metadata_public",
            "metadata_admin",
            "verifiable_addresses.value",
            "verifiable_addresses.verified",
            "verifiable_addresses.via",
        ],
    ),
    ("session", &["active", "identity.id"]),
    ("errorGeneric", &["error.message", "error.reason", "error.status"]),
];

struct Validator {
    doc: Value,
    mismatches: Vec<String>,
    /// Answers validated, by the schema they were validated as.
    seen: Vec<(String, String, Value)>,
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

/// RFC 3339 as Go writes it: `2006-01-02T15:04:05(.frac)(Z|+hh:mm)`.
fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let mut ok = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    let mut i = 19;
    if ok && b[i] == b'.' {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        ok = i > start;
    }
    let zone = &s[i.min(s.len())..];
    ok && (zone == "Z"
        || (zone.len() == 6 && (zone.starts_with('+') || zone.starts_with('-')) && zone.as_bytes()[3] == b':'))
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

impl Validator {
    fn new() -> Validator {
        Validator {
            doc: serde_json::from_str(API).expect("kratos-api.json is JSON"),
            mismatches: Vec::new(),
            seen: Vec::new(),
        }
    }

    /// Follows `$ref`s (`#/components/...`) to the schema itself.
    fn resolve(&self, schema: &Value) -> Value {
        let mut schema = schema.clone();
        for _ in 0..16 {
            let Some(target) = schema.get("$ref").and_then(Value::as_str) else { return schema };
            let pointer = target.strip_prefix('#').unwrap_or_else(|| panic!("an external $ref: {target}"));
            schema = self.doc.pointer(pointer).unwrap_or_else(|| panic!("a dangling $ref: {target}")).clone();
        }
        panic!("a $ref cycle of more than 16 steps")
    }

    /// The schema the document gives the answer of `method path` with
    /// `status` (or the operation's `default`); `None` for no body.
    fn response(&mut self, method: &str, path: &str, status: u16) -> Option<Value> {
        let operation = self.doc["paths"][path][method.to_lowercase()].clone();
        if operation.is_null() {
            self.mismatches.push(format!("{method} {path}: not an operation of the document"));
            return None;
        }
        let responses = &operation["responses"];
        let Some(response) = responses.get(status.to_string()).or_else(|| responses.get("default")) else {
            self.mismatches.push(format!("{method} {path}: the document has no {status} answer (nor a default)"));
            return None;
        };
        let response = self.resolve(response);
        response.pointer("/content/application~1json/schema").cloned()
    }

    /// One answer of `method path`: its status and body against the document.
    fn answer(&mut self, label: &str, method: &str, path: &str, status: u16, body: &Value) {
        let schema = self.response(method, path, status);
        match (schema, body) {
            (None, Value::Null) => {}
            (None, body) => self
                .mismatches
                .push(format!("{label}: the document's {status} has no body, the emulator sent {}", short(body))),
            (Some(_), Value::Null) => {
                self.mismatches.push(format!("{label}: the document's {status} has a body, the emulator sent none"))
            }
            (Some(schema), body) => {
                let name =
                    schema.get("$ref").and_then(Value::as_str).map(|r| r.rsplit('/').next().unwrap().to_string());
                let name = name.unwrap_or_else(|| format!("{method} {path} {status}"));
                self.seen.push((name, label.to_string(), body.clone()));
                self.validate(label, body, &schema);
            }
        }
    }

    fn validate(&mut self, at: &str, v: &Value, schema: &Value) {
        let schema = self.resolve(schema);
        // A `oneOf` with a discriminator names its branch (`uiNodeAttributes`
        // by `node_type`): check the value against that branch.
        if let Some(property) = schema.pointer("/discriminator/propertyName").and_then(Value::as_str) {
            let tag = v.get(property).and_then(Value::as_str).unwrap_or("");
            match schema.pointer(&format!("/discriminator/mapping/{tag}")).and_then(Value::as_str) {
                Some(target) => return self.validate(at, v, &json!({ "$ref": target })),
                None => {
                    self.mismatches.push(format!("{at}: `{property}` {tag:?} names no branch of the document's oneOf"));
                    return;
                }
            }
        }
        for keyword in ["allOf", "oneOf", "anyOf", "not"] {
            if schema.get(keyword).is_some() {
                self.mismatches.push(format!("{at}: the schema uses `{keyword}`, which this check does not read"));
                return;
            }
        }
        if v.is_null() {
            if schema.get("nullable") != Some(&Value::Bool(true)) && schema.get("type").is_some() {
                self.mismatches
                    .push(format!("{at}: null, where the document has a {} that is not nullable", schema["type"]));
            }
            return;
        }
        if let Some(expected) = schema.get("type").and_then(Value::as_str) {
            let actual = json_type(v);
            if actual != expected && !(expected == "number" && actual == "integer") {
                self.mismatches.push(format!("{at}: a {actual} ({}), where the document has a {expected}", short(v)));
                return;
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            if !allowed.contains(v) {
                self.mismatches.push(format!(
                    "{at}: {} is not one of the document's {}",
                    short(v),
                    short(&Value::Array(allowed.clone()))
                ));
            }
        }
        if let (Some(format), Some(text)) = (schema.get("format").and_then(Value::as_str), v.as_str()) {
            let ok = match format {
                "date-time" => is_date_time(text),
                "uuid" | "uuid4" => is_uuid(text),
                _ => true,
            };
            if !ok {
                self.mismatches.push(format!("{at}: {text:?} is not a {format}"));
            }
        }
        match v {
            Value::Object(fields) => {
                let properties = schema.get("properties").and_then(Value::as_object);
                for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                    let required = required.as_str().unwrap();
                    if !fields.contains_key(required) {
                        self.mismatches.push(format!("{at}.{required}: required by the document, missing"));
                    }
                }
                let additional = schema.get("additionalProperties");
                for (key, value) in fields {
                    let at = format!("{at}.{key}");
                    match (properties.and_then(|p| p.get(key)), additional) {
                        (Some(property), _) => self.validate(&at, value, property),
                        (None, Some(extra)) if extra.is_object() => self.validate(&at, value, extra),
                        (None, Some(Value::Bool(false))) => {
                            self.mismatches.push(format!("{at}: the document allows no fields here"))
                        }
                        (None, _) if properties.is_some() => self
                            .mismatches
                            .push(format!("{at}: not a field of the document's schema ({})", short(value))),
                        (None, _) => {}
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item) = schema.get("items") {
                    for (i, value) in items.iter().enumerate() {
                        self.validate(&format!("{at}[{i}]"), value, item);
                    }
                }
            }
            _ => {}
        }
    }

    /// The worker's fields: in every answer validated as that schema, and
    /// declared by the schema.
    fn worker_reads(&mut self) {
        for (name, paths) in WORKER_READS {
            let answers: Vec<(String, Value)> =
                self.seen.iter().filter(|(n, _, _)| n == name).map(|(_, at, v)| (at.clone(), v.clone())).collect();
            if answers.is_empty() {
                self.mismatches
                    .push(format!("no answer was a `{name}`, so the fields the worker reads went unchecked"));
            }
            for path in *paths {
                if !self.declares(&json!({"$ref": format!("#/components/schemas/{name}")}), path) {
                    self.mismatches
                        .push(format!("the document's `{name}` declares no `{path}`, yet the worker reads it"));
                }
                for (at, value) in &answers {
                    if let Err(missing) = present(value, path) {
                        self.mismatches
                            .push(format!("{at}: the worker reads `{path}`, the emulator's `{name}` lacks {missing}"));
                    }
                }
            }
        }
    }

    fn declares(&self, schema: &Value, path: &str) -> bool {
        let schema = self.resolve(schema);
        if let Some(items) = schema.get("items") {
            return self.declares(items, path);
        }
        let (head, rest) = path.split_once('.').map_or((path, None), |(h, r)| (h, Some(r)));
        match (schema.pointer(&format!("/properties/{head}")), rest) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(inner), Some(rest)) => self.declares(inner, rest),
        }
    }
}

/// Whether `path` is in `v` (in every element of arrays on the way).
fn present(v: &Value, path: &str) -> Result<(), String> {
    let (head, rest) = path.split_once('.').map_or((path, None), |(h, r)| (h, Some(r)));
    match v {
        Value::Array(items) => items.iter().try_for_each(|item| present(item, path)),
        Value::Object(fields) => match (fields.get(head), rest) {
            (None, _) => Err(format!("`{head}`")),
            (Some(_), None) => Ok(()),
            (Some(inner), Some(rest)) => present(inner, rest),
        },
        _ => Ok(()),
    }
}

/// One call: (label, method, the document's path, status, body).
type Call = (String, &'static str, &'static str, u16, Value);

async fn drive(k: &KratosEmulator) -> Vec<Call> {
    let admin = k.admin_url();
    let mut calls: Vec<Call> = Vec::new();
    let mut record = |label: &str, method: &'static str, path: &'static str, (status, body): (u16, Value)| {
        calls.push((label.to_string(), method, path, status, body.clone()));
        (status, body)
    };
    let identities = "/admin/identities";
    let one = "/admin/identities/{id}";

    let create = json!({
        "schema_id": "default",
        "traits": traits("conform@example.com"),
        "metadata_public": {"plan": "free"},
        "external_id": "ext-conform-1",
    });
    let (status, created) =
        record("create", "POST", identities, post(&format!("{admin}{identities}"), create.clone()).await);
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    record("create again", "POST", identities, post(&format!("{admin}{identities}"), create).await);
    record("create invalid", "POST", identities, post(&format!("{admin}{identities}"), json!({"traits": {}})).await);
    record("get", "GET", one, get(&format!("{admin}/admin/identities/{id}")).await);
    record(
        "get with credentials",
        "GET",
        one,
        get(&format!("{admin}/admin/identities/{id}?include_credential=password")).await,
    );
    record(
        "get missing",
        "GET",
        one,
        get(&format!("{admin}/admin/identities/00000000-0000-4000-8000-000000000000")).await,
    );
    record("list", "GET", identities, get(&format!("{admin}{identities}")).await);
    record(
        "list by identifier",
        "GET",
        identities,
        get(&format!("{admin}{identities}?credentials_identifier=conform%40example.com")).await,
    );
    record(
        "by external id",
        "GET",
        "/admin/identities/by/external/{externalID}",
        get(&format!("{admin}/admin/identities/by/external/ext-conform-1")).await,
    );
    let link = json!([
        {"op": "add", "path": "/metadata_admin", "value": {"stripe_customer_id": "cus_conform"}},
        {"op": "replace", "path": "/metadata_public", "value": {"plan": "pro"}},
    ]);
    let (status, patched) = record("patch", "PATCH", one, patch(&format!("{admin}/admin/identities/{id}"), link).await);
    assert_eq!(status, 200, "{patched}");
    let denied = json!([{"op": "replace", "path": "/id", "value": "x"}]);
    record("patch denied", "PATCH", one, patch(&format!("{admin}/admin/identities/{id}"), denied).await);
    let missing = format!("{admin}/admin/identities/00000000-0000-4000-8000-000000000000");
    record("patch missing", "PATCH", one, patch(&missing, json!([])).await);

    let (seeded, token) = seed_identity(k, "whoami@example.com").await;
    let seeded_id = seeded["id"].as_str().unwrap();
    let (status, verified) = post(&format!("{admin}/_emulator/identities/{seeded_id}/verify"), json!({})).await;
    assert_eq!(status, 200, "{verified}");
    record("get verified", "GET", one, get(&format!("{admin}/admin/identities/{seeded_id}")).await);
    let whoami = format!("{}/sessions/whoami", k.public_url());
    let with_token = call(Method::GET, &whoami, None, &[("X-Session-Token", &token)]).await;
    record("whoami", "GET", "/sessions/whoami", with_token);
    record("whoami anonymous", "GET", "/sessions/whoami", get(&whoami).await);
    let sessions = format!("{admin}/admin/identities/{seeded_id}/sessions");
    record(
        "delete sessions",
        "DELETE",
        "/admin/identities/{id}/sessions",
        call(Method::DELETE, &sessions, None, &[]).await,
    );
    let revoked = call(Method::GET, &whoami, None, &[("X-Session-Token", &token)]).await;
    record("whoami revoked", "GET", "/sessions/whoami", revoked);

    let public = k.public_url();
    let json_accept = [("Accept", "application/json")];
    let start = format!("{public}/self-service/registration/browser");
    let (status, flow) = record(
        "browser registration",
        "GET",
        "/self-service/registration/browser",
        call(Method::GET, &start, None, &json_accept).await,
    );
    assert_eq!(status, 200, "{flow}");
    let forbidden = format!("{start}?return_to=https%3A%2F%2Felsewhere.example%2F");
    let refused = call(Method::GET, &forbidden, None, &json_accept).await;
    record("browser registration, return_to refused", "GET", "/self-service/registration/browser", refused);
    let flow_id = flow["id"].as_str().unwrap();
    let flows = format!("{public}/self-service/registration/flows?id={flow_id}");
    record("registration flow without its cookie", "GET", "/self-service/registration/flows", get(&flows).await);
    let submit = format!("{public}/self-service/registration?flow={flow_id}");
    let body = json!({"method": "password", "password": "correct horse battery", "traits": traits("flow@example.com")});
    let forged = call(Method::POST, &submit, Some(body), &json_accept).await;
    record("registration without its cookie", "POST", "/self-service/registration", forged);

    let url = format!("{admin}/admin/identities/{id}");
    record("delete", "DELETE", one, call(Method::DELETE, &url, None, &[]).await);
    record("delete again", "DELETE", one, call(Method::DELETE, &url, None, &[]).await);
    calls
}

#[tokio::test]
async fn the_emulators_answers_follow_kratos_openapi_document() {
    let k = start(None).await;
    let calls = drive(&k).await;
    let guarded = start(Some("ory_pat_conform")).await;
    let refused = get(&format!("{}/admin/identities", guarded.admin_url())).await;
    assert_eq!(refused.0, 401, "{}", refused.1);

    let mut check = Validator::new();
    for (label, method, path, status, body) in &calls {
        check.answer(label, method, path, *status, body);
    }
    check.answer("without the admin token", "GET", "/admin/identities", refused.0, &refused.1);
    check.worker_reads();
    let statuses: Vec<String> = calls.iter().map(|(l, _, _, s, _)| format!("{l} {s}")).collect();
    assert!(
        check.mismatches.is_empty(),
        "the Kratos emulator differs from Kratos' OpenAPI document ({} answers: {}):\n  {}",
        calls.len() + 1,
        statuses.join(", "),
        check.mismatches.join("\n  ")
    );
}

/// The check itself can fail: a renamed field, a wrong type, a missing
/// required field, a bad format and an undeclared status are each reported.
#[test]
fn the_check_reports_unknown_fields_wrong_types_and_missing_required_ones() {
    let mut check = Validator::new();
    let identity = json!({
        "id": "not-a-uuid",
        "schema_id": "default",
        "traits": {},
        "state": "asleep",
        "created_at": "yesterday",
        "metadata_admn": null,
        "verifiable_addresses": [{"value": "a@b.c", "verified": "yes", "via": "email"}],
    });
    check.answer("broken", "GET", "/admin/identities/{id}", 200, &identity);
    check.answer("teapot", "GET", "/sessions/whoami", 418, &json!({"error": {"code": 418}}));
    check.answer("no such route", "GET", "/admin/teapots", 200, &json!({}));
    let node = |attributes: Value| json!({"type": "input", "group": "default", "attributes": attributes, "messages": [], "meta": {}});
    let flow = json!({
        "id": "00000000-0000-4000-8000-000000000000", "type": "browser", "state": "choose_method",
        "expires_at": "2026-12-03T00:56:38Z", "issued_at": "2026-12-03T00:56:38Z", "request_url": "http://x/",
        "ui": {"action": "http://x/", "method": "POST", "nodes": [
            node(json!({"node_type": "input", "name": "a", "type": "hidden"})),
            node(json!({"node_type": "blink", "name": "b"})),
        ]},
    });
    check.answer("flow", "GET", "/self-service/registration/flows", 200, &flow);
    let found = check.mismatches.join("\n");
    for expected in [
        "broken.schema_url: required by the document, missing",
        "broken.id: \"not-a-uuid\" is not a uuid",
        "broken.state: \"asleep\" is not one of the document's",
        "broken.created_at: \"yesterday\" is not a date-time",
        "broken.metadata_admn: not a field of the document's schema",
        "broken.verifiable_addresses[0].verified: a string (\"yes\"), where the document has a boolean",
        "broken.verifiable_addresses[0].status: required by the document, missing",
        "teapot.error.message: required by the document, missing",
        "GET /admin/teapots: not an operation of the document",
        "flow.ui.nodes[0].attributes.disabled: required by the document, missing",
        "flow.ui.nodes[1].attributes: `node_type` \"blink\" names no branch of the document's oneOf",
    ] {
        assert!(found.contains(expected), "missing {expected:?} in:\n{found}");
    }
    assert!(is_date_time("2026-12-03T00:56:38.972057Z") && is_date_time("2026-12-03T00:56:38+01:00"));
    assert!(!is_date_time("2026-12-03 00:56:38Z"));
}
