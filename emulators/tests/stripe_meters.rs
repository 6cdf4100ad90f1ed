//! Billing meters and v1 meter events: Stripe's shapes, its checks on
//! arrival (payload keys, whole-number values, the 35-day / 5-minute
//! timestamp window), its refusal of a reused identifier, the asynchronous
//! outcomes (unknown customer, no meter) that answer 200 yet count nothing,
//! Idempotency-Key replays and faults, and the counted totals; then the same
//! routes driven by Stripe's official Node client.

mod stripe_support;

use serde_json::{json, Value};
use stripe_support::{run_node, started, Answer, Api};

const DAY: i64 = 24 * 60 * 60;

/// Creates a `sum` meter for `event_name` (plus `extra` form fields).
async fn meter(api: &Api, event_name: &str, extra: &str) -> Value {
    let form = format!("display_name=Usage&event_name={event_name}&default_aggregation[formula]=sum{extra}");
    let answer = api.post("/v1/billing/meters", &form).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

async fn customer(api: &Api) -> String {
    api.create_customer("email=usage%40example.com").await["id"].as_str().unwrap().to_string()
}

/// `POST /v1/billing/meter_events` with the default payload keys.
async fn report(api: &Api, event_name: &str, customer: &str, value: &str, extra: &str) -> Answer {
    let form = format!("event_name={event_name}&payload[stripe_customer_id]={customer}&payload[value]={value}{extra}");
    api.post("/v1/billing/meter_events", &form).await
}

/// `GET /_emulator/meter_events`.
async fn meter_events(api: &Api) -> Value {
    let response = api.http.get(format!("{}/_emulator/meter_events", api.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The account's "now", from `GET /_emulator/clock`.
async fn now(api: &Api) -> i64 {
    let response = api.http.get(format!("{}/_emulator/clock", api.base)).send().await.unwrap();
    response.json::<Value>().await.unwrap()["now"].as_i64().unwrap()
}

fn assert_invalid(answer: &Answer, param: &str) {
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.body["error"]["type"], "invalid_request_error", "{}", answer.body);
    assert_eq!(answer.body["error"]["param"], param, "{}", answer.body);
}

#[tokio::test]
async fn a_meter_answers_in_stripes_shape_and_owns_its_event_name_while_active() {
    let (_stripe, api) = started().await;
    let plain = meter(&api, "api_calls", "").await;
    let id = plain["id"].as_str().unwrap();
    assert!(id.starts_with("mtr_"), "{id}");
    assert_eq!(plain["object"], "billing.meter");
    assert_eq!(plain["status"], "active");
    assert_eq!(plain["livemode"], false);
    assert_eq!(plain["display_name"], "Usage");
    assert_eq!(plain["event_name"], "api_calls");
    assert_eq!(plain["default_aggregation"], json!({"formula": "sum"}));
    assert_eq!(plain["customer_mapping"], json!({"event_payload_key": "stripe_customer_id", "type": "by_id"}));
    assert_eq!(plain["value_settings"], json!({"event_payload_key": "value"}));
    assert_eq!(plain["status_transitions"], json!({"deactivated_at": null}));
    assert_eq!(plain["event_time_window"], Value::Null);
    assert!(plain["created"].as_i64().unwrap() > 0 && plain["updated"] == plain["created"]);

    let custom = meter(
        &api,
        "tokens",
        "&customer_mapping[type]=by_id&customer_mapping[event_payload_key]=account&value_settings[event_payload_key]=n",
    )
    .await;
    assert_eq!(custom["customer_mapping"], json!({"event_payload_key": "account", "type": "by_id"}));
    assert_eq!(custom["value_settings"], json!({"event_payload_key": "n"}));

    let fetched = api.get(&format!("/v1/billing/meters/{id}")).await;
    assert_eq!((fetched.status, &fetched.body), (200, &plain));
    let listed = api.get("/v1/billing/meters?limit=1").await;
    assert_eq!(listed.body["object"], "list");
    assert_eq!(listed.body["url"], "/v1/billing/meters");
    assert_eq!(listed.body["has_more"], true);
    assert_eq!(listed.body["data"][0]["id"], custom["id"], "newest first");
    assert_eq!(api.get("/v1/billing/meters/mtr_nope").await.status, 404);

    // One event name, one active meter.
    let taken = api
        .post("/v1/billing/meters", "display_name=Again&event_name=api_calls&default_aggregation[formula]=count")
        .await;
    assert_invalid(&taken, "event_name");
    assert!(taken.body["error"]["message"].as_str().unwrap().contains(id), "{}", taken.body);

    // Deactivating frees the name; the old meter cannot come back while another has it.
    let off = api.post(&format!("/v1/billing/meters/{id}/deactivate"), "").await;
    assert_eq!((off.status, off.body["status"].as_str()), (200, Some("inactive")), "{}", off.body);
    assert!(off.body["status_transitions"]["deactivated_at"].is_i64());
    assert_eq!(api.get("/v1/billing/meters?status=inactive").await.body["data"][0]["id"], id);
    meter(&api, "api_calls", "").await;
    assert_invalid(&api.post(&format!("/v1/billing/meters/{id}/reactivate"), "").await, "event_name");
    let renamed = api.post(&format!("/v1/billing/meters/{id}"), "display_name=Old+calls").await;
    assert_eq!(renamed.body["display_name"], "Old calls");
    assert_eq!(
        api.post(&format!("/v1/billing/meters/{id}"), "event_name=x").await.status,
        400,
        "only the name changes"
    );
}

#[tokio::test]
async fn meter_creation_checks_its_parameters() {
    let (_stripe, api) = started().await;
    // Each case is a valid request with one field dropped, changed or added.
    const VALID: &str = "display_name=A&event_name=a&default_aggregation[formula]=sum";
    let without = |field: &str| VALID.split('&').filter(|p| !p.starts_with(field)).collect::<Vec<_>>().join("&");
    let cases = [
        (without("display_name"), "display_name", "parameter_missing"),
        (without("event_name"), "event_name", "parameter_missing"),
        (without("default_aggregation"), "default_aggregation", "parameter_missing"),
        (VALID.replace("=sum", "=max"), "default_aggregation[formula]", "parameter_invalid_string"),
        (format!("{VALID}&default_aggregation[x]=1"), "default_aggregation[x]", "parameter_unknown"),
        (
            format!("{VALID}&customer_mapping[type]=by_email&customer_mapping[event_payload_key]=c"),
            "customer_mapping[type]",
            "parameter_invalid_string",
        ),
        (format!("{VALID}&customer_mapping[type]=by_id"), "customer_mapping[event_payload_key]", "parameter_missing"),
        (format!("{VALID}&value_settings[x]=v"), "value_settings[x]", "parameter_unknown"),
    ];
    for (form, param, code) in cases {
        let answer = api.post("/v1/billing/meters", &form).await;
        assert_invalid(&answer, param);
        assert_eq!(answer.body["error"]["code"], code, "{form}: {}", answer.body);
    }
    assert_eq!(api.get("/v1/billing/meters").await.body["data"], json!([]), "nothing was created");
}

#[tokio::test]
async fn accepted_events_answer_stripes_object_and_add_up_per_customer() {
    let (_stripe, api) = started().await;
    meter(&api, "api_calls", "").await;
    let (ann, bob) = (customer(&api).await, customer(&api).await);
    let at = now(&api).await - 60;
    let first =
        report(&api, "api_calls", &ann, "3", &format!("&identifier=e-1&timestamp={at}&payload[region]=eu")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.body,
        json!({
            "object": "billing.meter_event",
            "created": first.body["created"],
            "event_name": "api_calls",
            "identifier": "e-1",
            "livemode": false,
            "payload": {"stripe_customer_id": ann, "value": "3", "region": "eu"},
            "timestamp": at
        })
    );
    assert!(first.body["created"].as_i64().unwrap() >= at);

    // No identifier: one is generated; no timestamp: now.
    let second = report(&api, "api_calls", &ann, "4", "").await;
    assert_eq!(second.status, 200, "{}", second.body);
    let generated = second.body["identifier"].as_str().unwrap();
    assert_eq!(generated.len(), 36, "UUID-like: {generated}");
    assert!(second.body["timestamp"].as_i64().unwrap() >= at + 60);
    assert_eq!(report(&api, "api_calls", &bob, "10", "").await.status, 200);
    // A negative value is accepted (a correction) and counts.
    assert_eq!(report(&api, "api_calls", &bob, "-2", "").await.status, 200);

    let seen = meter_events(&api).await;
    // Totals come ordered by customer id, which is random here.
    let mut expected = vec![
        json!({"customer": ann, "event_name": "api_calls", "value": 7, "events": 2}),
        json!({"customer": bob, "event_name": "api_calls", "value": 8, "events": 2}),
    ];
    expected.sort_by_key(|t| t["customer"].as_str().unwrap().to_string());
    assert_eq!(seen["totals"], Value::Array(expected));
    let events = seen["events"].as_array().unwrap();
    assert_eq!(events.len(), 4);
    assert_eq!(events[0]["identifier"], "e-1");
    assert_eq!(events[0]["customer"], ann.as_str());
    assert_eq!(events[0]["value"], 3);
    assert_eq!(events[0]["timestamp"], at);
    assert_eq!(events[0]["counted"], true);
    assert_eq!(events[0]["reason"], Value::Null);
    assert_eq!(events[1]["identifier"], generated);
}

#[tokio::test]
async fn a_reused_identifier_is_refused_as_stripe_refuses_it_and_counts_once() {
    let (_stripe, api) = started().await;
    meter(&api, "api_calls", "").await;
    let ann = customer(&api).await;
    assert_eq!(report(&api, "api_calls", &ann, "5", "&identifier=usage-42").await.status, 200);

    // Same identifier, even with another value or customer: Stripe's 400.
    for value in ["5", "6"] {
        let again = report(&api, "api_calls", &ann, value, "&identifier=usage-42").await;
        assert_eq!(again.status, 400, "{}", again.body);
        let message = "An event already exists with identifier usage-42.";
        assert_eq!(again.body, json!({"error": {"type": "invalid_request_error", "message": message}}));
        assert_eq!(again.headers["stripe-should-retry"], "false");
    }

    let seen = meter_events(&api).await;
    assert_eq!(seen["totals"], json!([{"customer": ann, "event_name": "api_calls", "value": 5, "events": 1}]));
    let events = seen["events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "the refused duplicates are listed: {seen}");
    for refused in &events[1..] {
        assert_eq!(
            (&refused["counted"], &refused["reason"], &refused["refused"]),
            (&json!(false), &json!("duplicate_identifier"), &json!(true))
        );
    }
    assert_eq!(events[0]["refused"], false);
}

#[tokio::test]
async fn timestamps_must_lie_within_35_days_back_and_5_minutes_ahead_of_the_accounts_clock() {
    let (_stripe, api) = started().await;
    meter(&api, "api_calls", "").await;
    let ann = customer(&api).await;
    let t0 = now(&api).await;

    let too_old = report(&api, "api_calls", &ann, "1", &format!("&timestamp={}", t0 - 35 * DAY - 120)).await;
    assert_invalid(&too_old, "timestamp");
    let message = too_old.body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("The event timestamp cannot be more than 35 days in past."), "{message}");
    let too_new = report(&api, "api_calls", &ann, "1", &format!("&timestamp={}", t0 + 5 * 60 + 120)).await;
    assert_invalid(&too_new, "timestamp");
    assert_invalid(&report(&api, "api_calls", &ann, "1", "&timestamp=soon").await, "timestamp");

    let oldest = t0 - 35 * DAY + 120;
    let old = report(&api, "api_calls", &ann, "1", &format!("&identifier=old&timestamp={oldest}")).await;
    assert_eq!(old.status, 200, "{}", old.body);
    assert_eq!(report(&api, "api_calls", &ann, "1", &format!("&timestamp={}", t0 + 4 * 60)).await.status, 200);

    // Two days later on the account's clock, the same timestamp is too old,
    // and one two days ahead of the first "now" is current.
    let advanced = api.control("/_emulator/clock", json!({"advance_seconds": 2 * DAY})).await;
    assert_eq!(advanced.status, 200, "{}", advanced.body);
    assert_eq!(advanced.body["offset_seconds"], 2 * DAY);
    assert!(now(&api).await >= t0 + 2 * DAY);
    assert_invalid(&report(&api, "api_calls", &ann, "1", &format!("&timestamp={oldest}")).await, "timestamp");
    let later = report(&api, "api_calls", &ann, "1", &format!("&timestamp={}", t0 + 2 * DAY)).await;
    assert_eq!(later.status, 200, "{}", later.body);
    assert!(later.body["created"].as_i64().unwrap() >= t0 + 2 * DAY, "created reads the account's clock");

    assert_eq!(meter_events(&api).await["totals"][0]["events"], 3, "refused events are not taken in");
}

#[tokio::test]
async fn the_payload_must_carry_the_meters_keys_and_a_whole_number() {
    let (_stripe, api) = started().await;
    meter(&api, "api_calls", "").await;
    meter(
        &api,
        "tokens",
        "&customer_mapping[type]=by_id&customer_mapping[event_payload_key]=account&value_settings[event_payload_key]=n",
    )
    .await;
    let ann = customer(&api).await;

    let cases = [
        ("event_name=api_calls&payload[value]=1".to_string(), "payload[stripe_customer_id]", "parameter_missing"),
        (format!("event_name=api_calls&payload[stripe_customer_id]={ann}"), "payload[value]", "parameter_missing"),
        (
            format!("event_name=api_calls&payload[stripe_customer_id]={ann}&payload[value]="),
            "payload[value]",
            "parameter_missing",
        ),
        ("event_name=api_calls".to_string(), "payload", "parameter_missing"),
        (format!("payload[stripe_customer_id]={ann}&payload[value]=1"), "event_name", "parameter_missing"),
        // The meter's own keys, not the defaults.
        (
            format!("event_name=tokens&payload[stripe_customer_id]={ann}&payload[value]=1"),
            "payload[account]",
            "parameter_missing",
        ),
        (format!("event_name=tokens&payload[account]={ann}&payload[value]=1"), "payload[n]", "parameter_missing"),
        (
            format!("event_name=api_calls&payload[stripe_customer_id]={ann}&payload[value]=1&bogus=1"),
            "bogus",
            "parameter_unknown",
        ),
    ];
    for (form, param, code) in &cases {
        let answer = api.post("/v1/billing/meter_events", form).await;
        assert_invalid(&answer, param);
        assert_eq!(answer.body["error"]["code"], *code, "{form}: {}", answer.body);
    }
    for fraction in ["1.5", "2.0", "1e3", "ten", "%2B3"] {
        let answer = report(&api, "api_calls", &ann, fraction, "").await;
        assert_invalid(&answer, "payload[value]");
        assert_eq!(answer.body["error"]["code"], "parameter_invalid_integer");
    }
    let long = "x".repeat(101);
    assert_invalid(&report(&api, "api_calls", &ann, "1", &format!("&identifier={long}")).await, "identifier");
    assert_eq!(report(&api, "api_calls", &ann, "1", &format!("&identifier={}", &long[..100])).await.status, 200);

    let custom =
        api.post("/v1/billing/meter_events", &format!("event_name=tokens&payload[account]={ann}&payload[n]=9")).await;
    assert_eq!(custom.status, 200, "{}", custom.body);
    let totals = meter_events(&api).await["totals"].clone();
    assert_eq!(
        totals,
        json!([
            {"customer": ann, "event_name": "api_calls", "value": 1, "events": 1},
            {"customer": ann, "event_name": "tokens", "value": 9, "events": 1},
        ])
    );
}

#[tokio::test]
async fn unknown_customers_and_meterless_names_are_accepted_but_count_nothing() {
    let (_stripe, api) = started().await;
    let calls = meter(&api, "api_calls", "").await;
    let ann = customer(&api).await;

    let unknown = report(&api, "api_calls", "cus_nobody", "3", "&identifier=u-1").await;
    assert_eq!(unknown.status, 200, "validated asynchronously, as on Stripe: {}", unknown.body);
    let no_meter = report(&api, "no_such_meter", &ann, "3", "&identifier=u-2").await;
    assert_eq!(no_meter.status, 200, "{}", no_meter.body);
    let gone = api.create_customer("email=gone%40example.com").await["id"].as_str().unwrap().to_string();
    api.delete(&format!("/v1/customers/{gone}")).await;
    assert_eq!(report(&api, "api_calls", &gone, "3", "&identifier=u-3").await.status, 200);
    api.post(&format!("/v1/billing/meters/{}/deactivate", calls["id"].as_str().unwrap()), "").await;
    assert_eq!(report(&api, "api_calls", &ann, "3", "&identifier=u-4").await.status, 200);

    let seen = meter_events(&api).await;
    assert_eq!(seen["totals"], json!([]));
    let reasons: Vec<_> = seen["events"].as_array().unwrap().iter().map(|e| e["reason"].clone()).collect();
    assert_eq!(
        reasons,
        vec![json!("customer_not_found"), json!("no_meter"), json!("customer_not_found"), json!("archived_meter")]
    );
    // Their identifiers are taken all the same.
    assert_eq!(report(&api, "no_such_meter", &ann, "3", "&identifier=u-2").await.status, 400);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_the_event_counts_once() {
    let (_stripe, api) = started().await;
    meter(&api, "api_calls", "").await;
    let ann = customer(&api).await;
    let form = format!("event_name=api_calls&payload[stripe_customer_id]={ann}&payload[value]=2");
    let first = api.post_idem("/v1/billing/meter_events", &form, "key-1").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = api.post_idem("/v1/billing/meter_events", &form, "key-1").await;
    assert_eq!((again.status, &again.body), (200, &first.body), "the generated identifier is replayed too");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let other = api.post_idem("/v1/billing/meter_events", &format!("{form}0"), "key-1").await;
    assert_eq!((other.status, other.body["error"]["type"].as_str()), (400, Some("idempotency_error")));
    assert_eq!(meter_events(&api).await["totals"][0]["events"], 1);
}

#[tokio::test]
async fn an_executed_500_then_a_retry_with_the_same_identifier_counts_once() {
    let (_stripe, api) = started().await;
    meter(&api, "api_calls", "").await;
    let ann = customer(&api).await;
    let form = format!("event_name=api_calls&payload[stripe_customer_id]={ann}&payload[value]=7&identifier=batch-1");
    let armed = api
        .control(
            "/_emulator/faults",
            json!({"kind": "500", "saved": true, "executed": true, "path_prefix": "/v1/billing/meter_events"}),
        )
        .await;
    assert_eq!(armed.status, 200, "{}", armed.body);

    // The event was taken in, but the caller saw a 500.
    let failed = api.post_idem("/v1/billing/meter_events", &form, "send-1").await;
    assert_eq!((failed.status, failed.body["error"]["type"].as_str()), (500, Some("api_error")));
    // A retry with the same key gets the saved 500; one with a new key, the duplicate refusal.
    let replayed = api.post_idem("/v1/billing/meter_events", &form, "send-1").await;
    assert_eq!((replayed.status, replayed.headers["idempotent-replayed"].to_str().unwrap()), (500, "true"));
    let retried = api.post_idem("/v1/billing/meter_events", &form, "send-2").await;
    assert_eq!(retried.status, 400, "{}", retried.body);
    assert_eq!(retried.body["error"]["message"], "An event already exists with identifier batch-1.");

    // A 500 before execution takes nothing in: the retry is the one that counts.
    api.control("/_emulator/faults", json!({"kind": "500", "path_prefix": "/v1/billing/meter_events"})).await;
    let other = format!("event_name=api_calls&payload[stripe_customer_id]={ann}&payload[value]=1&identifier=batch-2");
    assert_eq!(api.post("/v1/billing/meter_events", &other).await.status, 500);
    assert_eq!(api.post("/v1/billing/meter_events", &other).await.status, 200);
    // Faults can target the meters alone, and other paths are untouched.
    api.control("/_emulator/faults", json!({"kind": "429", "path_prefix": "/v1/billing/meters"})).await;
    assert_eq!(report(&api, "api_calls", &ann, "1", "").await.status, 200);
    assert_eq!(api.get("/v1/billing/meters").await.status, 429);

    let seen = meter_events(&api).await;
    assert_eq!(seen["totals"], json!([{"customer": ann, "event_name": "api_calls", "value": 9, "events": 3}]));
}

#[tokio::test]
async fn event_summaries_aggregate_by_the_meters_formula() {
    let (_stripe, api) = started().await;
    let sum = meter(&api, "api_calls", "").await;
    let last = api
        .post("/v1/billing/meters", "display_name=Seats&event_name=seats&default_aggregation[formula]=last")
        .await
        .body;
    let count = api
        .post("/v1/billing/meters", "display_name=Logins&event_name=logins&default_aggregation[formula]=count")
        .await
        .body;
    let (ann, bob) = (customer(&api).await, customer(&api).await);
    let start = (now(&api).await / 60 - 10) * 60;
    for (name, value, offset) in [
        ("api_calls", "5", 0),
        ("api_calls", "7", 60),
        ("seats", "3", 0),
        ("seats", "2", 120),
        ("logins", "40", 0),
        ("logins", "1", 60),
    ] {
        assert_eq!(report(&api, name, &ann, value, &format!("&timestamp={}", start + offset)).await.status, 200);
    }
    report(&api, "api_calls", &bob, "100", &format!("&timestamp={start}")).await;
    let summary = |m: &Value, customer: &str, from: i64, to: i64| {
        format!(
            "/v1/billing/meters/{}/event_summaries?customer={customer}&start_time={from}&end_time={to}",
            m["id"].as_str().unwrap()
        )
    };
    let answer = api.get(&summary(&sum, &ann, start, start + 600)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["object"], "list");
    let first = &answer.body["data"][0];
    assert_eq!(first["object"], "billing.meter_event_summary");
    assert_eq!((first["aggregated_value"].as_i64(), first["meter"].clone()), (Some(12), sum["id"].clone()));
    assert_eq!((first["start_time"].as_i64(), first["end_time"].as_i64()), (Some(start), Some(start + 600)));
    assert!(first["id"].as_str().unwrap().starts_with("mtrusg_"));
    let value = |a: Answer| a.body["data"][0]["aggregated_value"].as_i64();
    assert_eq!(value(api.get(&summary(&sum, &ann, start, start + 60)).await), Some(5), "end_time is exclusive");
    assert_eq!(value(api.get(&summary(&last, &ann, start, start + 600)).await), Some(2));
    assert_eq!(value(api.get(&summary(&count, &ann, start, start + 600)).await), Some(2));
    assert_eq!(value(api.get(&summary(&sum, &bob, start + 60, start + 600)).await), Some(0));

    assert_invalid(&api.get(&summary(&sum, &ann, start + 1, start + 600)).await, "start_time");
    assert_invalid(&api.get(&summary(&sum, "cus_nobody", start, start + 600)).await, "customer");
    let missing =
        api.get(&format!("/v1/billing/meters/{}/event_summaries?customer={ann}", sum["id"].as_str().unwrap())).await;
    assert_invalid(&missing, "start_time");
}

#[tokio::test]
async fn the_state_dump_includes_meters_and_meter_events() {
    let (_stripe, api) = started().await;
    let created = meter(&api, "api_calls", "").await;
    let ann = customer(&api).await;
    report(&api, "api_calls", &ann, "4", "&identifier=d-1").await;
    let state = api.state().await;
    assert_eq!(state["meters"], json!([created]));
    assert_eq!(state["meter_events"][0]["identifier"], "d-1");
    assert_eq!(state["meter_totals"], json!([{"customer": ann, "event_name": "api_calls", "value": 4, "events": 1}]));
    assert_eq!(state["events"].as_array().unwrap().len(), 1, "meters emit no events (only customer.created)");
}

/// Runs `emulators/tests/official_client/meter_events.mjs` with Stripe's
/// official Node client (the `stripe` npm package pinned in package.json)
/// against the emulator, then checks what the client parsed and what the
/// emulator counted.
#[tokio::test]
async fn the_official_node_client_creates_meters_and_events_and_parses_the_answers() {
    let (stripe, api) = started().await;
    let seen = run_node("meter_events.mjs", &[&stripe.url()], &["stripe"]).await;

    let customer = seen["customer"]["id"].as_str().unwrap();
    assert_eq!(seen["customer"]["object"], "customer");
    let meter = &seen["meter"];
    assert_eq!(meter["object"], "billing.meter");
    assert_eq!(meter["event_name"], "api_calls");
    assert_eq!(meter["default_aggregation"]["formula"], "sum");
    assert_eq!(meter["status"], "active");
    assert_eq!(seen["retrieved"]["id"], meter["id"]);
    assert_eq!(seen["listed"], json!({"object": "list", "ids": [meter["id"]], "has_more": false}));

    let first = &seen["first"];
    assert_eq!(first["object"], "billing.meter_event");
    assert_eq!(first["identifier"], "node-usage-1");
    assert_eq!(first["payload"], json!({"stripe_customer_id": customer, "value": "3"}));
    assert_eq!(first["timestamp"], seen["timestamp"]);
    assert_eq!(first["livemode"], false);

    // The second send with the same identifier: Stripe's refusal, as the client types it.
    let duplicate = &seen["duplicate"];
    assert_eq!(duplicate["type"], "StripeInvalidRequestError", "{duplicate}");
    assert_eq!(duplicate["rawType"], "invalid_request_error");
    assert_eq!(duplicate["statusCode"], 400);
    assert_eq!(duplicate["message"], "An event already exists with identifier node-usage-1.");
    assert_eq!(duplicate["shouldRetry"], "false");
    assert_eq!(duplicate["requestId"].as_str().map(|r| r.starts_with("req_")), Some(true), "{duplicate}");

    assert_eq!(seen["summary"]["object"], "billing.meter_event_summary");
    assert_eq!(seen["summary"]["aggregated_value"], 3);
    assert_eq!(seen["summary"]["meter"], meter["id"]);

    let counted = meter_events(&api).await;
    assert_eq!(counted["totals"], json!([{"customer": customer, "event_name": "api_calls", "value": 3, "events": 1}]));
    let requests = api.http.get(format!("{}/_emulator/requests", api.base)).send().await.unwrap();
    let requests: Value = requests.json().await.unwrap();
    assert_eq!(requests["by_route"]["POST /v1/billing/meter_events"], 2, "the client did not retry: {requests}");
    stripe.shutdown().await;
}
