//! The soak: many identities live a whole billing life at once (register,
//! change their profile, check out, change plans, renew, fail a payment,
//! recover, cancel) while Stripe fails a seeded 20% of API calls (500, 429,
//! hangs, a few hangs past the worker's upstream deadline), duplicates,
//! reorders and delays webhook deliveries, and Kratos' admin and session
//! APIs fail now and then. Stripe redelivers failed events (the emulator's
//! `retry_failed`, called until nothing is left failing), Kratos retries
//! hooks (3 attempts; a hook that still failed is fired again), and the
//! driver, playing the user's browser and the app, retries its own calls
//! that got a fault's 5xx.
//!
//! At the end: exactly one Stripe customer per identity, linked both ways;
//! every KV record equals what Stripe holds (plan, status, access, period,
//! features, subscription, customer, not pending), and re-reading Stripe
//! changes nothing; every event's last delivery was acknowledged; every
//! identity's last hook call of each flow succeeded; every 5xx the worker
//! answered was caused by an injected fault. Meanwhile every identity uses
//! a billed meter (`api_calls`) from several requests at once, with
//! Idempotency-Keys the driver retries under; at the end the Stripe
//! emulator counted exactly the units each identity was granted, once. It
//! prints its figures and fails on any mismatch.
//!
//! Size: `KSB_SOAK_IDENTITIES` (default 30); `KSB_SOAK_SEED` (default 1)
//! seeds the faults and the shuffles. The full run (README, "Soak"):
//! `KSB_SOAK_IDENTITIES=300 scripts/soak.sh`.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::basics::{status_json, unix_now};
use common::calls::Delivery as Attempt;
use common::openapi::assert_documented;
use common::stack::*;
use kratos_stripe_bridge::entitlements::record::{Access, Entitlement};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

/// How many identities run their lives at once.
const CONCURRENCY: usize = 8;
/// The share of Stripe API calls that fail.
const FAULT_RATE: f64 = 0.2;
/// How long a random hang holds its call before it answers 500.
const HANG_MS: u64 = 1_200;
/// Hangs longer than the worker's upstream deadline (8 s): it answers 504.
const LONG_HANGS: u32 = 3;
/// A driver call is retried at most this often.
const DRIVER_ATTEMPTS: u32 = 40;
/// `retry_failed` rounds before the soak gives up on a failing event.
const REDELIVERY_ROUNDS: u32 = 60;
/// A failed hook is fired again at most this often.
const HOOK_REFIRES: u32 = 20;
/// Concurrent consumptions of the billed meter per identity and round.
const USES_PER_ROUND: usize = 4;
/// How long the billed units may take to reach Stripe once faults stop.
const REPORT_DEADLINE: Duration = Duration::from_secs(120);

/// The soak's catalogue: the spec example's plans, plus a billed meter
/// free identities may use 12 units of a month.
const SOAK_PLANS: &str = r#"{
  "default_plan": "free",
  "meters": { "api_calls": { "reset": "month", "stripe_event_name": "api_calls" } },
  "plans": {
    "free":       { "rank": 0, "features": ["basic_feature"], "limits": { "api_calls": 12 } },
    "pro":        { "rank": 1, "features": ["basic_feature", "premium_feature"], "prices": ["pro_monthly", "pro_yearly"],
                    "limits": { "api_calls": "unlimited" } },
    "enterprise": { "rank": 2, "features": ["*"], "prices": ["enterprise_monthly"], "limits": { "api_calls": "unlimited" } }
  },
  "past_due_features": ["basic_feature"],
  "trial": { "days": 14, "plan": "pro" }
}"#;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Counters the concurrent steps share.
#[derive(Default)]
struct Figures {
    /// Driver calls to the worker retried after a 5xx.
    worker_retries: AtomicU64,
    /// Driver calls to the Stripe API retried after a fault.
    stripe_retries: AtomicU64,
    /// Hooks fired again after Kratos' 3 attempts all failed.
    hook_refires: AtomicU64,
    /// Kratos faults armed (each is consumed by one call).
    kratos_faults: AtomicU64,
    /// Consumptions of the billed meter: made, and refused (402).
    uses: AtomicU64,
    uses_refused: AtomicU64,
    /// Units granted per identity: what Stripe must count, once.
    granted: std::sync::Mutex<BTreeMap<String, u64>>,
}

struct Soak {
    stack: Stack,
    figures: Figures,
    limit: Semaphore,
}

/// One identity and how far its life went.
#[derive(Clone, Debug, Default)]
struct User {
    n: usize,
    id: String,
    token: String,
    subscription: String,
    item: String,
}

impl User {
    /// How the life ends: 0 canceled now, 1 canceled at period end (still
    /// running), 2 canceled at period end and the period over.
    fn ending(&self) -> usize {
        self.n % 3
    }
}

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Runs `step` for every user, at most [`CONCURRENCY`] at once; the users
/// come back in their order.
async fn each<F, Fut>(soak: &Arc<Soak>, users: Vec<User>, step: F) -> Vec<User>
where
    F: Fn(Arc<Soak>, User) -> Fut,
    Fut: Future<Output = User> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for user in users {
        let fut = step(soak.clone(), user);
        let soak = soak.clone();
        tasks.spawn(async move {
            let _permit = soak.limit.acquire().await.expect("the semaphore is never closed");
            fut.await
        });
    }
    let mut done = Vec::new();
    while let Some(user) = tasks.join_next().await {
        done.push(user.expect("a soak step panicked"));
    }
    done.sort_by_key(|u| u.n);
    done
}

impl Soak {
    fn stack(&self) -> &Stack {
        &self.stack
    }

    /// A call of the user's browser to the worker with the session token,
    /// retried while a fault makes it 5xx; the answer must be documented.
    async fn as_user(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        for attempt in 1..=DRIVER_ATTEMPTS {
            let mut r = self.stack.http.request(method.clone(), self.stack.url(path)).header("X-Session-Token", token);
            if let Some(body) = &body {
                r = r.json(body);
            }
            let (status, v) = status_json(r.send().await.expect("the worker answers")).await;
            assert_documented(method.as_str(), path, status, &v);
            if status < 500 || attempt == DRIVER_ATTEMPTS {
                return (status, v);
            }
            count(&self.figures.worker_retries);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        unreachable!()
    }

    /// A Stripe API call the app makes (as the Billing Portal would), with
    /// an Idempotency-Key, retried while a fault answers 429 or 5xx.
    async fn stripe(&self, method: Method, path: &str, form: &[(&str, &str)], key: &str) -> Value {
        for _ in 0..DRIVER_ATTEMPTS {
            let r = self
                .stack
                .http
                .request(method.clone(), self.stack.stripe_url(path))
                .bearer_auth(STRIPE_KEY)
                .header("Idempotency-Key", key)
                .form(form)
                .send()
                .await
                .expect("the Stripe emulator answers");
            let (status, v) = status_json(r).await;
            if (200..300).contains(&status) {
                return v;
            }
            assert!(status == 429 || status >= 500, "Stripe {path} answered {status}: {v}");
            count(&self.figures.stripe_retries);
        }
        panic!("Stripe {path} failed {DRIVER_ATTEMPTS} times");
    }

    /// Fires `flow`'s hook again until it succeeds (Kratos' 3 attempts each).
    async fn refire_until_ok(&self, flow: &str, id: &str) {
        for _ in 0..HOOK_REFIRES {
            count(&self.figures.hook_refires);
            let body = json!({"flow": flow, "identity_id": id});
            let results =
                self.stack.control(Method::POST, self.stack.kratos_admin("/_emulator/hooks/fire"), body).await;
            if results[0]["ok"] == true {
                return;
            }
        }
        panic!("the {flow} hook of {id} failed {HOOK_REFIRES} times in a row");
    }

    /// Consumes `amount` units of the billed meter under `key`, retried
    /// under the same key while a fault makes it 5xx: the units granted.
    async fn consume(&self, id: &str, amount: u64, key: &str) -> u64 {
        let path = format!("/v1/identities/{id}/usage/api_calls");
        for attempt in 1..=DRIVER_ATTEMPTS {
            let r = self
                .stack
                .http
                .post(self.stack.url(&path))
                .bearer_auth(BRIDGE_API_TOKEN)
                .header("Idempotency-Key", key)
                .json(&json!({"amount": amount}))
                .send()
                .await
                .expect("the worker answers");
            let (status, v) = status_json(r).await;
            assert_documented("POST", "/v1/identities/{id}/usage/{meter}", status, &v);
            match status {
                200 => return amount,
                402 => {
                    count(&self.figures.uses_refused);
                    return 0;
                }
                500.. if attempt < DRIVER_ATTEMPTS => count(&self.figures.worker_retries),
                _ => panic!("consuming {amount} for {id} answered {status}: {v}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        unreachable!()
    }

    async fn kratos_fault(&self, count: u64, path_prefix: &str, method: &str) {
        let rule = json!({"count": count, "kind": "500", "path_prefix": path_prefix, "method": method});
        self.stack.control(Method::POST, self.stack.kratos_admin("/_emulator/faults"), rule).await;
        self.figures.kratos_faults.fetch_add(count, Ordering::Relaxed);
    }

    async fn clear_kratos_faults(&self) {
        let r = self.stack.http.delete(self.stack.kratos_admin("/_emulator/faults")).send().await.unwrap();
        assert!(r.status().is_success());
    }
}

// The steps of a life.

async fn register(soak: Arc<Soak>, mut user: User) -> User {
    let email = format!("soak{}@example.com", user.n);
    let flow = soak.stack().register(&email, "Soak", &format!("User{}", user.n)).await;
    user.id = flow["identity"]["id"].as_str().expect("the identity was stored").to_string();
    if flow["hook"]["ok"] != true {
        soak.refire_until_ok("registration", &user.id).await;
    }
    user.token = match flow["session_token"].as_str() {
        Some(token) => token.to_string(),
        None => {
            let body = json!({"identity_id": user.id});
            let session = soak.stack().control(Method::POST, soak.stack().kratos_admin("/_emulator/sessions"), body);
            session.await["session_token"].as_str().expect("a session").to_string()
        }
    };
    user
}

/// The app uses the billed meter for the user: several consumptions at
/// once, each under its own key (sent twice: a client's retry).
async fn use_product(soak: Arc<Soak>, user: User) -> User {
    static ROUND: AtomicU64 = AtomicU64::new(0);
    let round = ROUND.fetch_add(1, Ordering::Relaxed);
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..USES_PER_ROUND {
        let (soak, id) = (soak.clone(), user.id.clone());
        let amount = 1 + ((user.n + k) % 3) as u64;
        let key = format!("soak-{round}-{k}");
        tasks.spawn(async move {
            let granted = soak.consume(&id, amount, &key).await;
            assert_eq!(soak.consume(&id, amount, &key).await, granted, "a replay answers as the first time");
            count(&soak.figures.uses);
            granted
        });
    }
    let mut granted = 0;
    while let Some(units) = tasks.join_next().await {
        granted += units.expect("a consumption panicked");
    }
    *soak.figures.granted.lock().unwrap().entry(user.id.clone()).or_default() += granted;
    user
}

async fn change_profile(soak: Arc<Soak>, user: User) -> User {
    let traits = json!({"email": format!("soak{}@example.com", user.n), "name": {"first": "Renamed", "last": "User"}});
    let body = json!({"identity_id": user.id, "traits": traits});
    let flow = soak.stack().control(Method::POST, soak.stack().kratos_admin("/_emulator/flows/settings"), body).await;
    if flow["hook"]["ok"] != true {
        soak.refire_until_ok("settings", &user.id).await;
    }
    user
}

async fn check_out(soak: Arc<Soak>, mut user: User) -> User {
    let (status, answer) =
        soak.as_user(Method::POST, "/billing/checkout", &user.token, Some(json!({"plan": "pro"}))).await;
    assert_eq!((status, answer["kind"].as_str()), (200, Some("checkout")), "{}: {answer}", user.id);
    let url = answer["url"].as_str().expect("a Checkout URL");
    let session = url.rsplit('/').next().expect("the session id ends the URL");
    let path = format!("/_emulator/checkout/sessions/{session}/complete");
    let done = soak.stack().stripe_control(&path, json!({})).await;
    user.subscription = done["subscription"]["id"].as_str().expect("a subscription").to_string();
    user.item = done["subscription"]["items"]["data"][0]["id"].as_str().expect("an item").to_string();
    user
}

async fn upgrade(soak: Arc<Soak>, user: User) -> User {
    let form = [("items[0][id]", user.item.as_str()), ("items[0][price]", "price_enterprise_monthly")];
    let path = format!("/v1/subscriptions/{}", user.subscription);
    soak.stripe(Method::POST, &path, &form, &format!("upgrade-{}", user.id)).await;
    user
}

async fn renew(soak: Arc<Soak>, user: User) -> User {
    soak.stack().stripe_control(&format!("/_emulator/subscriptions/{}/end_period", user.subscription), json!({})).await;
    user
}

async fn set_status(soak: Arc<Soak>, user: User, status: &'static str) -> User {
    let path = format!("/_emulator/subscriptions/{}/status", user.subscription);
    soak.stack().stripe_control(&path, json!({"status": status})).await;
    user
}

async fn cancel(soak: Arc<Soak>, user: User) -> User {
    let path = format!("/v1/subscriptions/{}", user.subscription);
    let key = format!("cancel-{}", user.id);
    if user.ending() == 0 {
        soak.stripe(Method::DELETE, &path, &[], &key).await;
    } else {
        soak.stripe(Method::POST, &path, &[("cancel_at_period_end", "true")], &key).await;
    }
    if user.ending() == 2 {
        renew(soak, user.clone()).await;
    }
    user
}

/// How the events of a step reach the worker: held and flushed shuffled,
/// each twice; or sent as they happen, each twice, after a delay.
#[derive(Clone, Copy)]
enum Delivery {
    Shuffled,
    Delayed,
}

impl Delivery {
    async fn before(self, stack: &Stack) {
        let config = match self {
            Delivery::Shuffled => json!({"mode": "manual"}),
            Delivery::Delayed => json!({"mode": "immediate", "duplicate": true, "delay_ms": 150}),
        };
        stack.stripe_control("/_emulator/delivery", config).await;
    }

    async fn after(self, stack: &Stack, seed: u64) {
        if let Delivery::Shuffled = self {
            let flush = json!({"order": "shuffle", "seed": seed, "duplicate": true});
            stack.stripe_control("/_emulator/events/flush", flush).await;
        }
    }
}

/// Event ids without an acknowledged last attempt (never tried, or failed).
fn unsettled(events: &[Value], attempts: &[Attempt]) -> Vec<String> {
    let mut last: HashMap<&str, bool> = HashMap::new();
    for a in attempts {
        last.insert(a.event_id.as_str(), a.ok);
    }
    events
        .iter()
        .filter_map(|e| e["id"].as_str())
        .filter(|id| last.get(id) != Some(&true))
        .map(str::to_string)
        .collect()
}

/// Stripe redelivers until every event's last attempt was acknowledged,
/// with the faults still armed; answers how many rounds it took.
async fn redeliver_until_settled(stack: &Stack) -> u32 {
    stack.stripe_control("/_emulator/delivery", json!({"mode": "immediate", "duplicate": false, "delay_ms": 0})).await;
    stack.stripe_control("/_emulator/events/flush", json!({"order": "shuffle", "seed": 99})).await;
    for round in 0..REDELIVERY_ROUNDS {
        let events = stack.stripe_state().await["events"].as_array().cloned().unwrap_or_default();
        let left = unsettled(&events, &stack.deliveries().await);
        if left.is_empty() {
            return round;
        }
        stack.stripe_control("/_emulator/events/retry_failed", json!({})).await;
        // Deliveries still in flight (immediate mode) land meanwhile.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    panic!("events still failing after {REDELIVERY_ROUNDS} redelivery rounds\n{}", stack.wrangler_log());
}

/// The plan a Stripe price buys in the test catalogue (`PLANS`).
fn plan_of_price(price: &Value) -> &'static str {
    match price["lookup_key"].as_str().or(price["id"].as_str()) {
        Some("pro_monthly" | "pro_yearly" | "price_pro_monthly" | "price_pro_yearly") => "pro",
        Some("enterprise_monthly" | "price_enterprise_monthly") => "enterprise",
        other => panic!("a price outside the catalogue: {other:?}"),
    }
}

/// The features a plan grants at an access level (`PLANS`).
fn features(plan: &str, access: Access) -> Vec<String> {
    let names: &[&str] = match (plan, access) {
        (_, Access::Limited) | ("free", _) | (_, Access::None) => &["basic_feature"],
        ("pro", _) => &["basic_feature", "premium_feature"],
        _ => &["*"],
    };
    names.iter().map(|s| s.to_string()).collect()
}

/// What the record must say, derived from the identity's one subscription
/// as Stripe holds it: the README's access rules, read independently of
/// the worker's code.
#[derive(Debug, PartialEq)]
struct Expected {
    plan: String,
    status: String,
    access: Access,
    features: Vec<String>,
    current_period_end: Option<i64>,
    cancel_at_period_end: bool,
    subscription_id: Option<String>,
    stripe_customer_id: Option<String>,
    pending: bool,
}

fn expected(sub: &Value, customer: &str, now: i64) -> Expected {
    let item = &sub["items"]["data"][0];
    let period_end = item["current_period_end"].as_i64().expect("an item's period end");
    let cancel_at_period_end = sub["cancel_at_period_end"] == true;
    let status = sub["status"].as_str().expect("a status").to_string();
    let running = now < period_end;
    let access = match status.as_str() {
        _ if cancel_at_period_end && !running => Access::None,
        "active" | "trialing" => Access::Full,
        "past_due" => Access::Limited,
        "canceled" if running => Access::Full,
        _ => Access::None,
    };
    let plan = if access == Access::None { "free" } else { plan_of_price(&item["price"]) };
    Expected {
        plan: plan.to_string(),
        features: features(plan, access),
        status,
        access,
        current_period_end: Some(period_end),
        cancel_at_period_end,
        subscription_id: sub["id"].as_str().map(str::to_string),
        stripe_customer_id: Some(customer.to_string()),
        pending: false,
    }
}

fn found(record: &Entitlement) -> Expected {
    Expected {
        plan: record.plan.clone(),
        status: record.status.as_str().to_string(),
        access: record.access,
        features: record.features.clone(),
        current_period_end: record.current_period_end,
        cancel_at_period_end: record.cancel_at_period_end,
        subscription_id: record.subscription_id.clone(),
        stripe_customer_id: record.stripe_customer_id.clone(),
        pending: record.pending,
    }
}

/// A worker 5xx and whether an injected fault explains it: a Stripe 500 or
/// 429 (or a key a hanging call still held), a Kratos 500, or a deadline.
fn fault_cause(line: &Value) -> Option<&'static str> {
    let upstream = &line["upstream"];
    match (upstream["service"].as_str(), upstream["status"].as_u64(), line["error"].as_str()) {
        (_, _, Some("upstream_timeout")) => Some("timeout"),
        (Some("stripe"), Some(500), _) => Some("stripe 500"),
        (Some("stripe"), Some(429), _) => Some("stripe 429"),
        (Some("stripe"), Some(409), _) if upstream["code"] == "idempotency_key_in_use" => Some("stripe key in use"),
        (Some("kratos"), Some(500), _) => Some("kratos 500"),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_soak_with_faults_ends_with_kv_equal_to_stripe() {
    let identities = env_number("KSB_SOAK_IDENTITIES", 30) as usize;
    let seed = env_number("KSB_SOAK_SEED", 1);
    let started = Instant::now();
    let options = StackOptions::default()
        .var("ENTITLEMENT_CACHE_TTL", "0")
        .var("PLANS", SOAK_PLANS)
        .var("USAGE_REPORT_INTERVAL", "1");
    let soak = Arc::new(Soak {
        stack: Stack::start_with(options).await,
        figures: Figures::default(),
        limit: Semaphore::new(CONCURRENCY),
    });
    let stack = soak.stack();
    let meter = [("display_name", "API calls"), ("event_name", "api_calls"), ("default_aggregation[formula]", "sum")];
    stack.stripe_api(Method::POST, "/v1/billing/meters", &meter).await;
    let faults = json!({"rate": FAULT_RATE, "kinds": ["500", "429", "hang"], "seed": seed, "hang_ms": HANG_MS});
    stack.stripe_control("/_emulator/faults", faults).await;

    let mut users: Vec<User> = (0..identities).map(|n| User { n, ..User::default() }).collect();
    let steps: [(&str, Delivery); 11] = [
        ("register", Delivery::Shuffled),
        ("use the product", Delivery::Delayed),
        ("use the product", Delivery::Shuffled),
        ("change profile", Delivery::Delayed),
        ("check out", Delivery::Shuffled),
        ("use the product", Delivery::Delayed),
        ("upgrade", Delivery::Delayed),
        ("renew", Delivery::Shuffled),
        ("fail a payment", Delivery::Delayed),
        ("recover", Delivery::Shuffled),
        ("cancel", Delivery::Delayed),
    ];
    for (round, (name, delivery)) in steps.into_iter().enumerate() {
        let step_started = Instant::now();
        delivery.before(stack).await;
        let n = identities as u64;
        users = match name {
            "register" => {
                soak.kratos_fault(n.div_ceil(10), "/admin/identities/", "PATCH").await;
                each(&soak, users, register).await
            }
            "change profile" => each(&soak, users, change_profile).await,
            "use the product" => each(&soak, users, use_product).await,
            "check out" => {
                soak.kratos_fault(n.div_ceil(10), "/sessions/whoami", "GET").await;
                each(&soak, users, check_out).await
            }
            "upgrade" => each(&soak, users, upgrade).await,
            "renew" => each(&soak, users, renew).await,
            "fail a payment" => each(&soak, users, |s, u| set_status(s, u, "past_due")).await,
            "recover" => {
                let long = json!({"count": LONG_HANGS, "kind": "hang", "hang_ms": 9_000});
                stack.stripe_control("/_emulator/faults", long).await;
                each(&soak, users, |s, u| set_status(s, u, "active")).await
            }
            _ => each(&soak, users, cancel).await,
        };
        soak.clear_kratos_faults().await;
        delivery.after(stack, seed + round as u64).await;
        eprintln!("soak: {name} done in {:.1} s", step_started.elapsed().as_secs_f64());
    }

    // Stripe retries what failed, faults still armed; then they stop.
    let redelivery_rounds = redeliver_until_settled(stack).await;
    let clear = stack.http.delete(stack.stripe_url("/_emulator/faults")).send().await.expect("disarm");
    let injected: Value = clear.json().await.expect("the fault figures");
    let state = stack.stripe_state().await;
    let attempts = stack.deliveries().await;
    let events = state["events"].as_array().cloned().unwrap_or_default();
    assert!(unsettled(&events, &attempts).is_empty(), "an event's last delivery failed");
    let mut mismatches: Vec<String> = Vec::new();

    // One customer per identity, linked both ways.
    let mut customers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in state["customers"].as_array().expect("customers").iter().filter(|c| c["deleted"] != true) {
        let owner = c["metadata"]["olympus_identity_id"].as_str().unwrap_or("(none)").to_string();
        customers.entry(owner).or_default().push(c["id"].as_str().unwrap_or_default().to_string());
    }
    let ids: HashSet<&str> = users.iter().map(|u| u.id.as_str()).collect();
    for (owner, list) in &customers {
        if !ids.contains(owner.as_str()) {
            mismatches.push(format!("customers {list:?} belong to no identity of the soak ({owner})"));
        }
    }
    let first = &users[0];
    assert_eq!(
        stack.customers_of(&first.id).await.len(),
        customers.get(&first.id).map_or(0, Vec::len),
        "the state dump and the harness agree"
    );

    // Every record equals what Stripe holds.
    let subscriptions: HashMap<&str, &Value> = state["subscriptions"]
        .as_array()
        .expect("subscriptions")
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s))
        .collect();
    let now = unix_now();
    for user in &users {
        let Some([customer]) = customers.get(&user.id).map(Vec::as_slice) else {
            mismatches.push(format!("{}: customers {:?}, not exactly one", user.id, customers.get(&user.id)));
            continue;
        };
        let (_, identity) = stack.kratos_identity(&user.id).await;
        if identity["metadata_admin"]["stripe_customer_id"] != customer.as_str() {
            mismatches.push(format!("{}: Kratos links {} not {customer}", user.id, identity["metadata_admin"]));
        }
        let query = [("customer", customer.as_str()), ("status", "all")];
        let listed = stack.stripe_api(Method::GET, "/v1/subscriptions", &query).await;
        let listed = listed["data"].as_array().cloned().unwrap_or_default();
        let sub = subscriptions[user.subscription.as_str()];
        if listed.len() != 1 || listed[0]["id"] != sub["id"] || listed[0]["customer"] != customer.as_str() {
            mismatches.push(format!("{}: Stripe lists {listed:?} for {customer}", user.id));
            continue;
        }
        let want = expected(sub, customer, now);
        let record = stack.entitlement(&user.id).await;
        if found(&record) != want {
            mismatches.push(format!("{}: KV holds {:?}\n  Stripe says {want:?}", user.id, found(&record)));
        }
        let synced = stack.sync(&user.id).await;
        if found(&synced) != found(&record) {
            mismatches.push(format!("{}: a sync changed {:?}\n  into {:?}", user.id, found(&record), found(&synced)));
        }
    }

    // Stripe counted exactly the units each identity was granted, once.
    let granted = soak.figures.granted.lock().unwrap().clone();
    let deadline = Instant::now() + REPORT_DEADLINE;
    let billed_left = loop {
        let meter_events = stack.control(Method::GET, stack.stripe_url("/_emulator/meter_events"), json!(null)).await;
        let mut counted: BTreeMap<String, u64> = BTreeMap::new();
        for t in meter_events["totals"].as_array().expect("meter totals") {
            let customer = t["customer"].as_str().unwrap_or_default().to_string();
            *counted.entry(customer).or_default() += t["value"].as_u64().unwrap_or(0);
        }
        let mut left = Vec::new();
        for user in &users {
            let customer = customers.get(&user.id).and_then(|c| c.first()).cloned().unwrap_or_default();
            let want = granted.get(&user.id).copied().unwrap_or(0);
            let got = counted.get(&customer).copied().unwrap_or(0);
            if got > want {
                mismatches.push(format!("{}: Stripe counted {got} units, {want} were granted", user.id));
            }
            if got != want {
                // Reading the balance hands the counter the identity's customer.
                let path = format!("/v1/identities/{}/usage/api_calls", user.id);
                let r = stack.http.get(stack.url(&path)).bearer_auth(BRIDGE_API_TOKEN).send().await.unwrap();
                left.push(format!("{}: {got} of {want} counted; the counter: {}", user.id, r.text().await.unwrap()));
            }
        }
        if left.is_empty() || Instant::now() > deadline || mismatches.iter().any(|m| m.contains("Stripe counted")) {
            break left;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    mismatches.extend(billed_left);
    let granted_total: u64 = granted.values().sum();

    // Every hook's last call per identity and flow succeeded.
    let kratos: Value =
        stack.http.get(stack.kratos_admin("/_emulator/state")).send().await.unwrap().json().await.unwrap();
    let hook_calls = kratos["hook_calls"].as_array().cloned().unwrap_or_default();
    let mut last_hook: BTreeMap<(String, String), bool> = BTreeMap::new();
    for call in &hook_calls {
        let flow = call["flow"].as_str().unwrap_or_default().to_string();
        let key = (call["identity_id"].as_str().unwrap_or_default().to_string(), flow);
        last_hook.insert(key, call["status"].as_u64().is_some_and(|s| s < 400));
    }
    for user in &users {
        for flow in ["registration", "settings"] {
            if last_hook.get(&(user.id.clone(), flow.to_string())) != Some(&true) {
                mismatches.push(format!("{}: the last {flow} hook call did not succeed", user.id));
            }
        }
    }
    let hook_failures = hook_calls.iter().filter(|c| c["status"].as_u64().is_none_or(|s| s >= 400)).count();
    let hook_retries = hook_calls.iter().filter(|c| c["attempt"].as_u64() > Some(1)).count();

    // No 5xx but those the faults caused.
    let log = stack
        .log_when("every identity's sync line", |l| {
            l.matches(r#""route":"POST /v1/identities/{id}/sync""#).count() >= users.len()
        })
        .await;
    let mut caused: BTreeMap<&str, u64> = BTreeMap::new();
    for line in worker_lines(&log).into_iter().filter(|l| l.starts_with(r#"{"at":"request""#)) {
        let line: Value = serde_json::from_str(line).expect("a JSON log line");
        if line["status"].as_u64().is_some_and(|s| s >= 500) {
            match fault_cause(&line) {
                Some(cause) => *caused.entry(cause).or_default() += 1,
                None => mismatches.push(format!("a 5xx no fault caused: {line}")),
            }
        }
    }
    let worker_5xx: u64 = caused.values().sum();
    let stripe_faults = injected["injected_total"].as_u64().unwrap_or(0);
    let kratos_faults = get(&soak.figures.kratos_faults);
    if worker_5xx > stripe_faults + kratos_faults {
        mismatches.push(format!("{worker_5xx} worker 5xx for {} faults", stripe_faults + kratos_faults));
    }

    // A duplicate: an attempt after the event was acknowledged; a retry: one after its last attempt failed.
    let mut last_ok: HashMap<&str, bool> = HashMap::new();
    let (mut duplicates, mut webhook_retries) = (0, 0);
    for a in &attempts {
        let ok = a.ok;
        match last_ok.insert(a.event_id.as_str(), ok) {
            Some(true) => duplicates += 1,
            Some(false) => webhook_retries += 1,
            None => {}
        }
    }
    let failed_deliveries = attempts.iter().filter(|a| !a.ok).count();
    eprintln!(
        "soak figures: identities {identities}, events {}, deliveries {} ({failed_deliveries} failed, {duplicates} \
         duplicates, {webhook_retries} retries of a failed delivery, {redelivery_rounds} retry_failed rounds), \
         Stripe faults {} (by kind {}), Kratos faults {kratos_faults}, Kratos hook calls {} ({hook_failures} failed, \
         {hook_retries} Kratos retries, {} re-fired hooks), driver retries {} (worker 5xx) + {} (Stripe API), \
         worker 5xx {worker_5xx} (by cause {caused:?}), metered uses {} ({} refused, {granted_total} units \
         granted and counted by Stripe), mismatches {}, {:.1} s",
        events.len(),
        attempts.len(),
        stripe_faults,
        injected["injected"],
        hook_calls.len(),
        get(&soak.figures.hook_refires),
        get(&soak.figures.worker_retries),
        get(&soak.figures.stripe_retries),
        get(&soak.figures.uses),
        get(&soak.figures.uses_refused),
        mismatches.len(),
        started.elapsed().as_secs_f64(),
    );
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
    assert!(events.len() >= 10 * identities, "{} events for {identities} identities", events.len());
    assert!(stripe_faults > 0 && webhook_retries > 0 && hook_failures > 0, "the faults were felt");
    assert!(duplicates > 0 && caused.contains_key("timeout"), "duplicates and deadlines were exercised");
    assert!(get(&soak.figures.uses_refused) > 0 && granted_total > 0, "free limits refused and units were billed");
}

/// The soak's fault mode at its extreme: while every Stripe call fails,
/// the registration hook and the events fail with 5xx the faults explain
/// and nothing is half-linked; once Stripe is back, a hook fired again and
/// Stripe's redelivery leave one customer and a record equal to Stripe's.
#[tokio::test(flavor = "multi_thread")]
async fn an_outage_of_every_stripe_call_is_repaired_by_retries() {
    let stack = Stack::start().await;
    stack.stripe_control("/_emulator/faults", json!({"rate": 1, "kinds": ["500", "429"], "seed": 5})).await;
    let flow = stack.register("outage@example.com", "Out", "Age").await;
    let id = flow["identity"]["id"].as_str().unwrap().to_string();
    let statuses: Vec<u64> =
        flow["hook"]["attempts"].as_array().unwrap().iter().filter_map(|a| a["status"].as_u64()).collect();
    assert_eq!(statuses.len(), 3, "Kratos tried 3 times: {flow}");
    assert!(statuses.iter().all(|s| *s == 503), "each a retryable 503: {flow}");
    assert!(stack.customers_of(&id).await.is_empty(), "no customer while Stripe fails");

    stack.stripe_control("/_emulator/faults", json!({"rate": 0})).await;
    let fired = stack.control(
        Method::POST,
        stack.kratos_admin("/_emulator/hooks/fire"),
        json!({"flow": "registration", "identity_id": id}),
    );
    assert_eq!(fired.await[0]["ok"], true);
    let customers = stack.customers_of(&id).await;
    assert_eq!(customers.len(), 1, "{customers:?}");
    let customer = customers[0]["id"].as_str().unwrap();

    // The customer subscribes while Stripe fails again: the event fails, then is redelivered.
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
    let sub = stack
        .stripe_api(
            Method::POST,
            "/v1/subscriptions",
            &[("customer", customer), ("items[0][price]", "price_pro_monthly")],
        )
        .await;
    stack.stripe_control("/_emulator/faults", json!({"rate": 1, "kinds": ["500"]})).await;
    let flushed = stack.stripe_control("/_emulator/events/flush", json!({})).await;
    let attempts = flushed.as_array().cloned().unwrap_or_default();
    assert!(!attempts.is_empty() && attempts.iter().all(|a| a["ok"] == false), "{attempts:?}");
    assert_eq!(stack.entitlement(&id).await.plan, "free", "nothing learned while Stripe fails");
    let figures = stack.http.delete(stack.stripe_url("/_emulator/faults")).send().await.unwrap();
    let figures: Value = figures.json().await.unwrap();
    assert!(figures["injected_total"].as_u64() >= Some(3 + attempts.len() as u64), "{figures}");
    stack.stripe_control("/_emulator/events/retry_failed", json!({})).await;
    let state = stack.stripe_state().await;
    assert!(unsettled(state["events"].as_array().unwrap(), &stack.deliveries().await).is_empty());
    let record = stack.entitlement(&id).await;
    assert_eq!(found(&record), expected(&sub, customer, unix_now()), "{record:?}");
}
