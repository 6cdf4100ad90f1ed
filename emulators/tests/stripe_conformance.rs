//! The Stripe emulator checked against Stripe's own documents, not only
//! against itself: every object it answers, in the calls the worker makes
//! (and the rest of what it serves), is compared field by field, recursively,
//! with Stripe's example object of the same `object` type from Stripe's
//! OpenAPI fixtures (`tests/reference/stripe-fixtures.json`, copied from
//! stripe/openapi's `fixtures3.json`; see `tests/reference/README.md`).
//!
//! - Every field the emulator returns must be a field of Stripe's object,
//!   with a compatible JSON type (`null` on either side is compatible,
//!   objects recurse, arrays compare their elements with Stripe's first
//!   element, an object expanded in place of an id is checked as its own
//!   type). Lists and search results must be shaped as Stripe shapes them.
//! - Stripe's full OpenAPI document (several MB) was found in no npm or PyPI
//!   package, so it is not used directly. The fixtures leave out optional
//!   fields; where the emulator returns one of those, it is named in
//!   [`ALLOWED`] with its reason, and where Stripe declares it, the test
//!   checks the declaration in the type declarations that stripe-node (the
//!   `stripe` npm package pinned in package.json, generated from Stripe's
//!   OpenAPI document) ships. An allowance nothing needs any more fails the
//!   test too.
//! - Nothing Stripe always sends is omitted: a fixture field that
//!   stripe-node declares without `?` ([`DECLARATIONS`]) must be in the
//!   emulator's object of that type.
//! - The reverse: the fields the worker reads (its serde structs in
//!   `src/stripe/`, listed in [`WORKER_READS`]) must be in every such object
//!   the emulator answered, and in Stripe's fixture.
//! - Errors carry only fields of stripe-node's `StripeRawError`.

mod stripe_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ksb_emulators::stripe::StripeOptions;
use serde_json::{json, Value};
use stripe_support::{started_with, Answer, Api, Receiver};

const FIXTURES: &str = include_str!("reference/stripe-fixtures.json");

/// A field the emulator returns that Stripe's fixture of that object leaves out.
struct Allowance {
    /// The fixture key (`object`, or `deleted_customer`; `list` for top-level lists).
    object: &'static str,
    /// The field's path inside that object (`a.b`; list elements are `a[]`);
    /// `-name` is a field Stripe always sends that the emulator omits.
    field: &'static str,
    reason: &'static str,
    /// Where stripe-node declares it: a file under `node_modules/stripe/cjs/`
    /// and the lines that open the declaration, outermost first.
    declared: Option<(&'static str, &'static [&'static str])>,
}

/// Deliberate differences from the fixtures, each with its reason.
const ALLOWED: &[Allowance] = &[
    Allowance {
        object: "customer",
        field: "customer_account",
        reason: "an optional customer field of the current API (the Accounts v2 link), always null here; \
                 the fixture predates or omits it",
        declared: Some(("resources/Customers.d.ts", &["export interface Customer {"])),
    },
    Allowance {
        object: "checkout.session",
        field: "payment_method_options.card",
        reason: "Stripe fills the card options of a subscription-mode session; the fixture's options are empty",
        declared: Some((
            "resources/Checkout/Sessions.d.ts",
            &["export declare namespace Session {", "interface PaymentMethodOptions {"],
        )),
    },
    Allowance {
        object: "line_item",
        field: "pricing.price_details",
        reason: "an invoice line of a subscription is priced by a price (`pricing.type: price_details`); \
                 the fixture's line has no price",
        declared: Some((
            "resources/InvoiceLineItems.d.ts",
            &["export declare namespace InvoiceLineItem {", "interface Pricing {"],
        )),
    },
    Allowance {
        object: "event",
        field: "data.previous_attributes",
        reason: "`*.updated` events carry the changed fields' old values; the fixture is a `plan.created` event",
        declared: Some(("resources/Events.d.ts", &["export declare namespace Event {", "interface Data {"])),
    },
    Allowance {
        object: "subscription",
        field: "items.total_count",
        reason: "Stripe's answers include `total_count` on a subscription's embedded item list (as in the API \
                 reference's example subscription); the OpenAPI list schema does not declare it",
        declared: None,
    },
    Allowance {
        object: "invoice",
        field: "lines.total_count",
        reason: "the same for an invoice's embedded `lines` list",
        declared: None,
    },
];

/// What the worker reads of each object (its serde structs in `src/stripe/`):
/// `a.b` walks objects, and every element of arrays and lists' `data`.
const WORKER_READS: &[(&str, &[&str])] = &[
    ("customer", &["id", "object", "email", "name", "metadata"]),
    ("deleted_customer", &["id", "object", "deleted"]),
    (
        "subscription",
        &[
            "id",
            "customer",
            "status",
            "cancel_at_period_end",
            "trial_end",
            "created",
            "metadata",
            "items.data",
            "items.data.price.id",
            "items.data.price.lookup_key",
            "items.data.current_period_end",
        ],
    ),
    ("checkout.session", &["id", "url", "status", "expires_at", "created", "client_reference_id", "metadata"]),
    ("billing_portal.session", &["url"]),
    ("price", &["id", "lookup_key", "active"]),
    ("event", &["id", "object", "type", "livemode", "created", "data.object"]),
    ("invoice", &["id", "customer", "parent.subscription_details.metadata"]),
    ("billing.meter_event", &["event_name", "identifier", "payload"]),
];

/// Where stripe-node declares each object the emulator answers (a file under
/// `node_modules/stripe/cjs/` and the line opening the declaration): a field
/// of the fixture that it declares without `?` is one Stripe always sends,
/// so the emulator must send it too.
const DECLARATIONS: &[(&str, &str, &str)] = &[
    ("customer", "resources/Customers.d.ts", "export interface Customer {"),
    ("deleted_customer", "resources/Customers.d.ts", "export interface DeletedCustomer {"),
    ("subscription", "resources/Subscriptions.d.ts", "export interface Subscription {"),
    ("subscription_item", "resources/SubscriptionItems.d.ts", "export interface SubscriptionItem {"),
    ("price", "resources/Prices.d.ts", "export interface Price {"),
    ("product", "resources/Products.d.ts", "export interface Product {"),
    ("plan", "resources/Plans.d.ts", "export interface Plan {"),
    ("checkout.session", "resources/Checkout/Sessions.d.ts", "export interface Session {"),
    ("billing_portal.session", "resources/BillingPortal/Sessions.d.ts", "export interface Session {"),
    ("event", "resources/Events.d.ts", "export interface EventBase {"),
    ("invoice", "resources/Invoices.d.ts", "export interface Invoice {"),
    ("line_item", "resources/InvoiceLineItems.d.ts", "export interface InvoiceLineItem {"),
    ("billing.meter", "resources/Billing/Meters.d.ts", "export interface Meter {"),
    ("billing.meter_event", "resources/Billing/MeterEvents.d.ts", "export interface MeterEvent {"),
    (
        "billing.meter_event_summary",
        "resources/Billing/MeterEventSummaries.d.ts",
        "export interface MeterEventSummary {",
    ),
];

/// The keys Stripe gives a list and a search result (stripe-node's
/// `ApiList` and `ApiSearchResult` in `lib.d.ts`).
const LIST_KEYS: &[&str] = &["object", "data", "has_more", "url"];
const SEARCH_KEYS: &[&str] = &["object", "data", "has_more", "url", "next_page", "total_count"];

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
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

fn join(rel: &str, key: &str) -> String {
    if rel.is_empty() {
        key.to_string()
    } else {
        format!("{rel}.{key}")
    }
}

fn object_kind(v: &Value) -> Option<&str> {
    v.get("object").and_then(Value::as_str)
}

/// The fixture key of a typed object.
fn fixture_key(v: &Value) -> Option<String> {
    let kind = object_kind(v)?;
    Some(if v.get("deleted") == Some(&Value::Bool(true)) { format!("deleted_{kind}") } else { kind.to_string() })
}

/// Compares answers with the fixtures and collects what differs.
struct Conformance {
    fixtures: Value,
    /// Indexes into [`ALLOWED`] that some answer needed.
    used: BTreeSet<usize>,
    mismatches: Vec<String>,
    /// Every typed object checked, by fixture key: (where, the object).
    seen: BTreeMap<String, Vec<(String, Value)>>,
    /// Per fixture key, the fields Stripe always sends (see [`DECLARATIONS`]).
    always: BTreeMap<String, Vec<String>>,
}

impl Conformance {
    fn new() -> Conformance {
        let fixtures: Value = serde_json::from_str(FIXTURES).expect("stripe-fixtures.json is JSON");
        let mut always = BTreeMap::new();
        for (object, file, opening) in DECLARATIONS {
            let declared = declared_fields(file, &[opening]).unwrap_or_else(|e| panic!("{e}"));
            let fixture = fixtures.get(*object).or_else(|| fixtures.pointer(line_item_pointer(object)));
            let fixture = fixture.and_then(Value::as_object).unwrap_or_else(|| panic!("no fixture of {object}"));
            let sent = fixture.keys().filter(|k| declared.get(*k) == Some(&false)).cloned().collect();
            always.insert(object.to_string(), sent);
        }
        Conformance { fixtures, used: BTreeSet::new(), mismatches: Vec::new(), seen: BTreeMap::new(), always }
    }

    fn allowed(&mut self, object: &str, field: &str) -> bool {
        match ALLOWED.iter().position(|a| a.object == object && a.field == field) {
            Some(i) => {
                self.used.insert(i);
                true
            }
            None => false,
        }
    }

    /// One API answer: a typed object, a list, an error, or (controls) an
    /// object of those.
    fn answer(&mut self, at: &str, body: &Value) {
        match object_kind(body) {
            Some("list" | "search_result") => self.list("list", "", at, body, None),
            Some(_) => self.object(at, body),
            None if body.get("error").is_some() => self.error(at, body),
            None => match body.as_object() {
                Some(fields) if !fields.is_empty() => {
                    for (key, value) in fields {
                        self.answer(&format!("{at}.{key}"), value);
                    }
                }
                _ => {
                    self.mismatches.push(format!("{at}: neither a Stripe object, a list nor an error: {}", short(body)))
                }
            },
        }
    }

    /// A typed object, against the fixture of its type.
    fn object(&mut self, at: &str, v: &Value) {
        let key = fixture_key(v).expect("a typed object");
        self.seen.entry(key.clone()).or_default().push((at.to_string(), v.clone()));
        self.omitted(&key, at, v);
        match self.fixtures.get(&key).cloned() {
            Some(fixture) => self.compare(&key, "", at, v, &fixture),
            None => self.mismatches.push(format!("{at}: a `{key}` object, of which the reference has no fixture")),
        }
    }

    /// A list or search result: Stripe's keys, then each element.
    fn list(&mut self, kind: &str, rel: &str, at: &str, v: &Value, fixture: Option<&Value>) {
        let search = object_kind(v) == Some("search_result");
        let keys = if search { SEARCH_KEYS } else { LIST_KEYS };
        let fields = v.as_object().expect("a list is an object");
        for key in fields.keys() {
            if !keys.contains(&key.as_str()) && !self.allowed(kind, &join(rel, key)) {
                self.mismatches.push(format!("{at}.{key}: not a key of Stripe's {}", object_kind(v).unwrap()));
            }
        }
        for key in &keys[..4] {
            if !fields.contains_key(*key) {
                self.mismatches.push(format!("{at}: Stripe's {} always has `{key}`", object_kind(v).unwrap()));
            }
        }
        if search && !fields.contains_key("next_page") {
            self.mismatches.push(format!("{at}: Stripe's search_result always has `next_page`"));
        }
        let first = fixture.and_then(|f| f.get("data")).and_then(|d| d.get(0)).cloned();
        let Some(data) = v.get("data").and_then(Value::as_array) else {
            self.mismatches.push(format!("{at}.data: not an array"));
            return;
        };
        for (i, element) in data.iter().enumerate() {
            let at = format!("{at}.data[{i}]");
            let own = fixture_key(element).filter(|k| self.fixtures.get(k).is_some());
            match (own, &first) {
                (Some(_), _) => self.object(&at, element),
                (None, Some(first)) => {
                    let inner = object_kind(element).unwrap_or(kind).to_string();
                    let inner_rel = if object_kind(element).is_some() { String::new() } else { join(rel, "data[]") };
                    self.seen.entry(inner.clone()).or_default().push((at.clone(), element.clone()));
                    self.omitted(&inner, &at, element);
                    self.compare(&inner, &inner_rel, &at, element, first);
                }
                (None, None) => {
                    self.mismatches.push(format!("{at}: no fixture to compare it with: {}", short(element)))
                }
            }
        }
    }

    /// The fields Stripe always sends that `v` (a `kind` object) lacks.
    fn omitted(&mut self, kind: &str, at: &str, v: &Value) {
        let Some(always) = self.always.get(kind).cloned() else { return };
        for field in always {
            if v.get(&field).is_none() && !self.allowed(kind, &format!("-{field}")) {
                self.mismatches
                    .push(format!("{at}: Stripe always sends `{field}` in a `{kind}`, the emulator omits it"));
            }
        }
    }

    /// `e` (the emulator's) against `f` (Stripe's), at `rel` inside a `kind` object.
    fn compare(&mut self, kind: &str, rel: &str, at: &str, e: &Value, f: &Value) {
        if e.is_null() || f.is_null() {
            return;
        }
        if let Some(inner) = object_kind(e) {
            if matches!(inner, "list" | "search_result") {
                return self.list(kind, rel, at, e, Some(f));
            }
            if object_kind(f) != Some(inner) {
                // An id expanded into its object, or an object of another type
                // (an event's `data.object`): checked against its own fixture.
                return self.object(at, e);
            }
            if let Some(own) = fixture_key(e).filter(|own| own != kind) {
                self.omitted(&own, at, e);
            }
        }
        match (e, f) {
            (Value::Object(emulated), Value::Object(stripe)) => {
                if rel.rsplit('.').next() == Some("metadata") || (kind, rel) == ("billing.meter_event", "payload") {
                    for (key, value) in emulated {
                        if !value.is_string() {
                            self.mismatches.push(format!("{at}.{key}: a {} in a map of strings", json_type(value)));
                        }
                    }
                    return;
                }
                for (key, value) in emulated {
                    let field = join(rel, key);
                    match stripe.get(key) {
                        Some(theirs) => self.compare(kind, &field, &format!("{at}.{key}"), value, theirs),
                        None if self.allowed(kind, &field) => {}
                        None => self.mismatches.push(format!(
                            "{at}.{key}: `{field}` is not a field of Stripe's `{kind}` (emulator: {})",
                            short(value)
                        )),
                    }
                }
            }
            (Value::Array(emulated), Value::Array(stripe)) => {
                if let Some(first) = stripe.first() {
                    for (i, element) in emulated.iter().enumerate() {
                        self.compare(kind, &format!("{rel}[]"), &format!("{at}[{i}]"), element, first);
                    }
                }
            }
            _ if json_type(e) != json_type(f) => self.mismatches.push(format!(
                "{at}: the emulator gives a {} ({}) where Stripe's `{kind}` has a {} ({})",
                json_type(e),
                short(e),
                json_type(f),
                short(f)
            )),
            _ => {}
        }
    }

    /// `{"error": {...}}` with only fields Stripe's errors have.
    fn error(&mut self, at: &str, body: &Value) {
        let declared =
            declared_fields("Types.d.ts", &["export type StripeRawError = {"]).unwrap_or_else(|e| panic!("{e}"));
        let Some(error) = body["error"].as_object() else {
            return self.mismatches.push(format!("{at}.error: not an object: {}", short(&body["error"])));
        };
        for key in body.as_object().unwrap().keys().filter(|k| *k != "error") {
            self.mismatches.push(format!("{at}.{key}: Stripe's error answers have only `error`"));
        }
        for (key, value) in error {
            if !declared.contains_key(key) {
                self.mismatches.push(format!("{at}.error.{key}: not a field of Stripe's errors (StripeRawError)"));
            } else if !value.is_string() {
                self.mismatches.push(format!("{at}.error.{key}: a {}, Stripe's is a string", json_type(value)));
            }
        }
        for key in ["type", "message"] {
            if !error.contains_key(key) {
                self.mismatches.push(format!("{at}.error: Stripe's errors always have `{key}`"));
            }
        }
    }

    /// The worker's fields: in every object of the type answered, and in the fixture.
    fn worker_reads(&mut self) {
        for (object, paths) in WORKER_READS {
            let seen = self.seen.get(*object).cloned().unwrap_or_default();
            if seen.is_empty() {
                self.mismatches
                    .push(format!("no `{object}` was answered, so the fields the worker reads went unchecked"));
            }
            for path in *paths {
                let fixture = &self.fixtures[*object];
                if let Err(missing) = has_path(fixture, path) {
                    self.mismatches.push(format!(
                        "Stripe's `{object}` fixture has no `{path}` ({missing}), yet the worker reads it"
                    ));
                }
                for (at, value) in &seen {
                    if let Err(missing) = has_path(value, path) {
                        self.mismatches.push(format!(
                            "{at}: the worker reads `{path}`, the emulator's `{object}` lacks {missing}"
                        ));
                    }
                }
            }
        }
    }
}

/// Whether `path` is in `v` (in every element of arrays and lists on the way;
/// an unexpanded id or a null ends the walk as present).
fn has_path(v: &Value, path: &str) -> Result<(), String> {
    let Some((head, rest)) = path.split_once('.').map(|(h, r)| (h, Some(r))).or(Some((path, None))) else {
        return Ok(());
    };
    match v {
        Value::Array(items) => items.iter().try_for_each(|item| has_path(item, path)),
        Value::Object(fields) => match (fields.get(head), rest) {
            (None, _) => Err(format!("`{head}`")),
            (Some(_), None) => Ok(()),
            (Some(inner), Some(rest)) => has_path(inner, rest),
        },
        _ => Ok(()),
    }
}

/// Objects with no fixture of their own, found inside another's.
fn line_item_pointer(object: &str) -> &'static str {
    match object {
        "line_item" => "/invoice/lines/data/0",
        "plan" => "/subscription_item/plan",
        _ => "/-",
    }
}

fn stripe_node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../node_modules/stripe/cjs")
}

/// The fields declared directly in a TypeScript block of stripe-node's
/// `.d.ts` files (name: whether optional, `name?:`): the block opened by the
/// last of `opening` lines, each looked for after the previous one.
fn declared_fields(file: &str, opening: &[&str]) -> Result<BTreeMap<String, bool>, String> {
    let path = stripe_node_dir().join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("{}: {e} (stripe-node is missing: run `npm ci` at the repository root first)", path.display())
    })?;
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0;
    for open in opening {
        let found = lines[start..].iter().position(|line| line.trim_start().starts_with(open));
        start += found.ok_or_else(|| format!("{file}: no `{open}` (after {opening:?})"))? + 1;
    }
    let mut fields = BTreeMap::new();
    let mut depth = 1i32;
    for line in &lines[start..] {
        let trimmed = line.trim();
        if trimmed.starts_with('*') || trimmed.starts_with("/*") || trimmed.starts_with("//") {
            continue;
        }
        if depth == 1 {
            let name: String = trimmed.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            let after = &trimmed[name.len()..];
            if !name.is_empty() && (after.starts_with(':') || after.starts_with("?:")) {
                fields.insert(name, after.starts_with('?'));
            }
        }
        depth += trimmed.matches('{').count() as i32 - trimmed.matches('}').count() as i32;
        if depth <= 0 {
            return Ok(fields);
        }
    }
    Err(format!("{file}: the block {opening:?} never closes"))
}

/// One line per distinct finding (`where: what`), naming where it was seen.
fn grouped(mismatches: &[String]) -> Vec<String> {
    let mut order: Vec<(String, Vec<String>)> = Vec::new();
    for mismatch in mismatches {
        let (at, what) = mismatch.split_once(": ").unwrap_or(("", mismatch));
        match order.iter_mut().find(|(w, _)| w == what) {
            Some((_, seen)) => seen.push(at.to_string()),
            None => order.push((what.to_string(), vec![at.to_string()])),
        }
    }
    order
        .into_iter()
        .map(|(what, seen)| match seen.len() {
            1 if seen[0].is_empty() => what,
            1..=3 => format!("{what} [at {}]", seen.join(", ")),
            n => format!("{what} [at {}, and {} more]", seen[..3].join(", "), n - 3),
        })
        .collect()
}

fn ok(answer: Answer, what: &str) -> Value {
    assert_eq!(answer.status, 200, "{what}: {}", answer.body);
    answer.body
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

/// Drives the emulator through the calls the worker makes and the rest of
/// its API; answers `(label, body)` in order, webhook deliveries included.
async fn drive(api: &Api, receiver: &Receiver) -> Vec<(String, Value)> {
    let mut answers: Vec<(String, Value)> = Vec::new();
    let mut keep = |label: &str, body: Value| {
        answers.push((label.to_string(), body.clone()));
        body
    };
    let identity = "6f1b3c1e-1d2b-4c55-9a0e-0c1f1b2a3d4e";

    let form = format!("email=ann%40example.com&name=Ann&metadata[olympus_identity_id]={identity}");
    let customer = keep("create customer", ok(api.post_idem("/v1/customers", &form, "conf-1").await, "create"));
    let cus = id(&customer);
    keep("replayed create", ok(api.post_idem("/v1/customers", &form, "conf-1").await, "replay"));
    keep(
        "update customer",
        ok(api.post(&format!("/v1/customers/{cus}"), "name=Ann+B&metadata[plan]=pro").await, "update"),
    );
    keep("retrieve customer", ok(api.get(&format!("/v1/customers/{cus}")).await, "retrieve"));
    keep("list by email", ok(api.get("/v1/customers?email=ann%40example.com").await, "list"));
    keep("list page", ok(api.get("/v1/customers?limit=1").await, "page"));
    let query = format!("metadata%5B%27olympus_identity_id%27%5D%3A%27{identity}%27");
    keep("search", ok(api.get(&format!("/v1/customers/search?query={query}")).await, "search"));
    keep(
        "search with total",
        ok(api.get(&format!("/v1/customers/search?query={query}&expand[]=total_count")).await, "search"),
    );

    keep("prices", ok(api.get("/v1/prices?active=true&limit=100").await, "prices"));
    let price = keep("price", ok(api.get("/v1/prices/price_pro_monthly?expand[]=product").await, "price"));
    keep("product", ok(api.get(&format!("/v1/products/{}", id(&price["product"]))).await, "product"));

    let checkout = format!(
        "mode=subscription&customer={cus}&client_reference_id={identity}&line_items[0][price]=price_pro_monthly\
         &line_items[0][quantity]=1&success_url=http%3A%2F%2Flocalhost%2Fok&cancel_url=http%3A%2F%2Flocalhost%2Fno\
         &subscription_data[metadata][olympus_identity_id]={identity}&metadata[olympus_identity_id]={identity}"
    );
    let session = keep("checkout", ok(api.post("/v1/checkout/sessions", &checkout).await, "checkout"));
    let cs = id(&session);
    keep("retrieve checkout", ok(api.get(&format!("/v1/checkout/sessions/{cs}")).await, "checkout"));
    keep("list checkout", ok(api.get(&format!("/v1/checkout/sessions?customer={cus}")).await, "checkout list"));
    let done = keep(
        "complete checkout",
        ok(api.control(&format!("/_emulator/checkout/sessions/{cs}/complete"), json!({})).await, "complete"),
    );
    let sub = id(&done["subscription"]);
    let expired = ok(api.post("/v1/checkout/sessions", &checkout).await, "second checkout");
    keep(
        "expire checkout",
        ok(api.post(&format!("/v1/checkout/sessions/{}/expire", id(&expired)), "").await, "expire"),
    );

    keep(
        "subscriptions",
        ok(
            api.get(&format!("/v1/subscriptions?customer={cus}&status=all&expand[]=data.items.data.price")).await,
            "list",
        ),
    );
    keep(
        "subscription expanded",
        ok(
            api.get(&format!(
                "/v1/subscriptions/{sub}?expand[]=customer&expand[]=latest_invoice&expand[]=items.data.price.product"
            ))
            .await,
            "retrieve",
        ),
    );
    keep("subscription search", ok(api.get("/v1/subscriptions/search?query=status%3A%27active%27").await, "search"));
    keep(
        "cancel at period end",
        ok(api.post(&format!("/v1/subscriptions/{sub}"), "cancel_at_period_end=true").await, "update"),
    );
    keep("resume", ok(api.post(&format!("/v1/subscriptions/{sub}"), "cancel_at_period_end=false").await, "update"));
    keep(
        "portal",
        ok(
            api.post("/v1/billing_portal/sessions", &format!("customer={cus}&return_url=http%3A%2F%2Flocalhost")).await,
            "portal",
        ),
    );
    keep(
        "past due",
        ok(
            api.control(&format!("/_emulator/subscriptions/{sub}/status"), json!({"status": "past_due"})).await,
            "status",
        ),
    );
    keep("renewed", ok(api.control(&format!("/_emulator/subscriptions/{sub}/end_period"), json!({})).await, "period"));
    keep("cancel", ok(api.delete(&format!("/v1/subscriptions/{sub}")).await, "cancel"));
    let direct = keep("create subscription", api.create_subscription(&cus, "&metadata[source]=api").await);
    keep("retrieve subscription", ok(api.get(&format!("/v1/subscriptions/{}", id(&direct))).await, "retrieve"));

    let meter = "display_name=API+calls&event_name=api_calls&default_aggregation[formula]=sum";
    let meter = keep("meter", ok(api.post("/v1/billing/meters", meter).await, "meter"));
    keep("meters", ok(api.get("/v1/billing/meters").await, "meters"));
    let now = api.get("/_emulator/clock").await.body["now"].as_i64().expect("the account clock");
    let event = format!(
        "event_name=api_calls&payload[stripe_customer_id]={cus}&payload[value]=3&identifier=c-1&timestamp={now}"
    );
    keep("meter event", ok(api.post("/v1/billing/meter_events", &event).await, "meter event"));
    let minute = now / 60 * 60;
    let summaries = format!(
        "/v1/billing/meters/{}/event_summaries?customer={cus}&start_time={minute}&end_time={}",
        id(&meter),
        minute + 60
    );
    keep("meter summaries", ok(api.get(&summaries).await, "summaries"));

    let other = api.create_customer("email=bob%40example.com").await;
    keep("delete customer", ok(api.delete(&format!("/v1/customers/{}", id(&other))).await, "delete"));
    keep("retrieve deleted", ok(api.get(&format!("/v1/customers/{}", id(&other))).await, "deleted"));

    let events = keep("events", ok(api.get("/v1/events?limit=100").await, "events"));
    let mut invoices = BTreeSet::new();
    for event in events["data"].as_array().unwrap() {
        if event["data"]["object"]["object"] == "invoice" {
            invoices.insert(id(&event["data"]["object"]));
        }
    }
    assert!(!invoices.is_empty(), "no invoice events: {events}");
    for invoice in invoices {
        keep("invoice", ok(api.get(&format!("/v1/invoices/{invoice}?expand[]=customer")).await, "invoice"));
    }
    let first = id(&events["data"][0]);
    keep("event", ok(api.get(&format!("/v1/events/{first}")).await, "event"));

    let errors = [
        ("404", api.get("/v1/customers/cus_nobody").await),
        ("400 unknown parameter", api.post("/v1/customers", "colour=blue").await),
        ("400 expand", api.get(&format!("/v1/customers/{cus}?expand[]=email")).await),
        ("idempotency mismatch", api.post_idem("/v1/customers", "email=other%40example.com", "conf-1").await),
    ];
    for (label, answer) in errors {
        assert!(answer.status >= 400, "{label}: {}", answer.body);
        keep(label, answer.body);
    }
    let unauthenticated = reqwest::get(format!("{}/v1/customers", api.base)).await.unwrap();
    keep("401", unauthenticated.json().await.unwrap());

    let count = events["data"].as_array().unwrap().len();
    for (i, delivery) in receiver.wait_for(count).await.iter().enumerate() {
        keep(&format!("webhook {i}"), delivery.event());
    }
    answers
}

#[tokio::test]
async fn the_emulators_objects_have_stripes_fields_and_types() {
    let receiver = Receiver::start().await;
    let options = StripeOptions { webhook_url: Some(receiver.url()), ..StripeOptions::default() };
    let (stripe, api) = started_with(options).await;
    let answers = drive(&api, &receiver).await;

    let mut check = Conformance::new();
    for (label, body) in &answers {
        check.answer(label, body);
    }
    check.worker_reads();
    for (i, allowance) in ALLOWED.iter().enumerate() {
        if !check.used.contains(&i) {
            check.mismatches.push(format!(
                "allowance `{}.{}`: no answer needed it, remove it from ALLOWED",
                allowance.object, allowance.field
            ));
        }
    }
    let unseen: Vec<&String> = check
        .fixtures
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !k.starts_with('_') && !k.starts_with("entitlements.") && !check.seen.contains_key(*k))
        .collect();
    assert!(unseen.is_empty(), "fixtures no answer was compared with: {unseen:?}");
    assert!(
        check.mismatches.is_empty(),
        "the Stripe emulator differs from Stripe's fixtures ({} answers checked):\n  {}",
        answers.len(),
        grouped(&check.mismatches).join("\n  ")
    );
    stripe.shutdown().await;
}

#[test]
fn every_allowance_names_a_field_stripe_declares() {
    let mut wrong = Vec::new();
    for allowance in ALLOWED {
        let Some((file, opening)) = allowance.declared else { continue };
        let field = allowance.field.rsplit('.').next().unwrap().trim_start_matches('-');
        match declared_fields(file, opening) {
            Ok(fields) if fields.contains_key(field) => {}
            Ok(fields) => wrong.push(format!(
                "{}.{}: stripe-node's {file} {opening:?} declares no `{field}` (it declares {:?})",
                allowance.object,
                allowance.field,
                fields.keys().collect::<Vec<_>>()
            )),
            Err(e) => wrong.push(e),
        }
        assert!(!allowance.reason.is_empty());
    }
    assert!(wrong.is_empty(), "allowances Stripe does not back:\n  {}", wrong.join("\n  "));
}

/// The check itself can fail: a renamed field, a wrong type, a missing field
/// the worker reads and an unknown list key are each reported by name.
#[test]
fn the_check_reports_renamed_fields_wrong_types_and_missing_reads() {
    let mut check = Conformance::new();
    let mut customer = check.fixtures["customer"].clone();
    let email = customer.as_object_mut().unwrap().remove("email").unwrap();
    customer["e_mail"] = email;
    customer["balance"] = json!("0");
    customer["invoice_settings"]["colour"] = json!("blue");
    let list = json!({"object": "list", "data": [customer], "has_more": false, "url": "/v1/customers", "count": 1});
    check.answer("list", &list);
    check.answer("error", &json!({"error": {"type": "api_error", "message": "x", "hint": "y"}}));
    check.worker_reads();
    let found = check.mismatches.join("\n");
    for expected in [
        "list.data[0].e_mail: `e_mail` is not a field of Stripe's `customer`",
        "list.data[0].balance: the emulator gives a string (\"0\") where Stripe's `customer` has a number",
        "list.data[0].invoice_settings.colour: `invoice_settings.colour` is not a field",
        "list.count: not a key of Stripe's list",
        "error.error.hint: not a field of Stripe's errors",
        "list.data[0]: the worker reads `email`, the emulator's `customer` lacks `email`",
        "no `subscription` was answered",
    ] {
        assert!(found.contains(expected), "missing {expected:?} in:\n{found}");
    }
}
