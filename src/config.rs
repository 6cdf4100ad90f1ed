//! The deployment's configuration (spec: "Bindings and configuration"), read
//! from a lookup function so that it stays pure: the shell passes a closure
//! over `env.var` / `env.secret`, tests pass a map.
//!
//! A bad `PLANS` makes the whole configuration invalid (every route answers
//! the same clear 500, and `/healthz` says why); a missing secret only fails
//! the routes that need it.

use std::fmt;

use crate::edge::rules::GateRoutes;
use crate::entitlements::plans::Plans;
use crate::error::ApiError;
use crate::gateway::assertion::{parse_previous_keys, SigningKey, DEFAULT_TTL_SECS, MAX_TTL_SECS};
pub use crate::secret::Secret;
pub use crate::stripe::cancel::CancelMode;
use crate::stripe::signature::WebhookSecrets;

/// Which Stripe mode the deployment runs in; decides which keys and events
/// are accepted so that test and live data never mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// `ENVIRONMENT=production`: `sk_live_` keys and live events only.
    Production,
    /// Anything else: `sk_test_` keys and test events only.
    Test,
}

impl Environment {
    fn from_var(v: Option<&str>) -> Self {
        match v.map(str::trim) {
            Some("production") => Self::Production,
            _ => Self::Test,
        }
    }

    /// Whether an event's `livemode` belongs to this environment.
    pub fn accepts_livemode(self, livemode: bool) -> bool {
        livemode == (self == Self::Production)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Test => "test",
        }
    }
}

/// One named setting that is wrong or missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub name: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl From<ConfigProblem> for ApiError {
    fn from(p: ConfigProblem) -> Self {
        ApiError::config(p.to_string())
    }
}

/// A setting that only some routes need: missing or invalid, it fails
/// those routes (with `?`, as an `invalid_config` error naming it) and
/// `/healthz`, never the others.
#[derive(Debug, Clone)]
pub struct Setting<T>(Result<T, ConfigProblem>);

impl<T> Setting<T> {
    /// The value, or the problem that stops the route needing it.
    pub fn get(&self) -> Result<&T, ConfigProblem> {
        self.0.as_ref().map_err(Clone::clone)
    }

    /// What is wrong with it, if anything.
    pub fn problem(&self) -> Option<&ConfigProblem> {
        self.0.as_ref().err()
    }
}

impl<T> From<Result<T, ConfigProblem>> for Setting<T> {
    fn from(r: Result<T, ConfigProblem>) -> Self {
        Setting(r)
    }
}

/// What account deletion does with the Stripe customer (`DELETE_STRIPE_CUSTOMER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerOnDeletion {
    /// The default: the customer stays, for invoices and tax records.
    Keep,
    /// `DELETE_STRIPE_CUSTOMER=true`.
    Delete,
}

/// Whether the plan is mirrored into Kratos (`KRATOS_SYNC_PLAN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanMirror {
    /// The default: the plan lives in KV only.
    Off,
    /// `KRATOS_SYNC_PLAN=true`: also `metadata_public.plan`, so apps can read
    /// it from the session.
    MetadataPublic,
}

/// The parsed configuration. Settings only some routes need are
/// [`Setting`]s, so a route that needs a missing one answers a clear
/// `invalid_config` error naming it.
#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub plans: Plans,
    pub stripe_api_base: String,
    pub stripe_secret_key: Setting<Secret>,
    pub stripe_webhook_secrets: Setting<WebhookSecrets>,
    pub kratos_webhook_secret: Setting<Secret>,
    pub kratos_admin_token: Option<Secret>,
    pub bridge_api_token: Setting<Secret>,
    pub kratos_admin_url: Setting<String>,
    pub kratos_public_url: Setting<String>,
    /// `DELETION_CANCEL`: how account deletion cancels subscriptions.
    pub deletion_cancel: CancelMode,
    /// `DELETE_STRIPE_CUSTOMER`.
    pub customer_on_deletion: CustomerOnDeletion,
    /// `KRATOS_SYNC_PLAN`.
    pub plan_mirror: PlanMirror,
    /// `PRICING_URL`: where `/gate` sends a denied browser.
    pub pricing_url: Setting<String>,
    /// `APP_URL`: the app's origin is trusted for cookie-authenticated
    /// changes (cross-site protection), beside the worker's own.
    pub app_url: Setting<String>,
    /// `SESSION_CACHE_TTL`: seconds a whoami answer is reused in the isolate.
    pub session_cache_ttl: u64,
    /// `ENTITLEMENT_CACHE_TTL`: seconds a KV record is reused in the isolate.
    pub entitlement_cache_ttl: u64,
    /// `RECONCILE_STALE_AFTER`: seconds after which the walk re-syncs a record.
    pub reconcile_stale_after: i64,
    /// `RECONCILE_PAGES_PER_RUN`: customer pages (100 each) per step, 1..=100.
    pub reconcile_pages_per_run: u32,
    /// `RECONCILE_CANCEL_ORPHANS`: cancel the subscriptions of customers
    /// whose identity no longer exists.
    pub reconcile_cancel_orphans: bool,
    /// `GATE_ROUTES`, `LOGIN_URL` and `ORIGIN_URL`: what edge gate mode and
    /// `/auth/forward` decide with.
    pub gate: GateConfig,
    /// `ASSERTION_*`: the signed assertion of who is asking.
    pub assertion: AssertionConfig,
    /// `HYDRA_HOOK_SECRET`: Hydra's token hook is served only with it.
    pub hydra_hook_secret: Option<Secret>,
    /// `BRIDGE_PATH_PREFIX`: the bridge's own routes live below it (e.g.
    /// `/_bridge`); `None` for the root.
    pub bridge_path_prefix: Option<String>,
    /// `TEST_PANIC_ROUTE`: `GET /__test/panic` panics, so that the tests can
    /// show what a panic answers; refused with `ENVIRONMENT=production`.
    pub test_panic_route: bool,
    /// `TEST_CLOCK_OFFSET`: seconds added to the clock the records are
    /// judged by (a trial's or a period's end), so that the tests can read a
    /// record after it ended; refused with `ENVIRONMENT=production`.
    pub test_clock_offset: i64,
    /// `USAGE_REPORT_INTERVAL`: seconds between a billed unit's consumption
    /// and its batch's report to Stripe, and the first retry's wait.
    pub usage_report_interval: i64,
}

/// The gate's settings, shared by edge gate mode and `/auth/forward`.
#[derive(Debug, Clone, Default)]
pub struct GateConfig {
    /// `ORIGIN_URL`, without a trailing slash: edge gate mode is on when set.
    pub origin_url: Option<String>,
    /// `GATE_ROUTES` (no rule when unset: everything passes as is).
    pub gate_routes: GateRoutes,
    /// `LOGIN_URL`: where a browser without a session is sent.
    pub login_url: Option<String>,
}

fn gate_config(get: &impl Fn(&str) -> Option<String>, plans: &Plans) -> Result<GateConfig, ConfigProblem> {
    let gate_routes = match non_empty(get("GATE_ROUTES")) {
        Some(json) => {
            GateRoutes::parse(&json, plans).map_err(|message| ConfigProblem { name: "GATE_ROUTES", message })?
        }
        None => GateRoutes::default(),
    };
    let optional_url = |name: &'static str| match non_empty(get(name)) {
        Some(v) => url(name, Some(v)).map(Some),
        None => Ok(None),
    };
    Ok(GateConfig { origin_url: optional_url("ORIGIN_URL")?, gate_routes, login_url: optional_url("LOGIN_URL")? })
}

/// The signed assertion's settings.
#[derive(Debug, Clone, Default)]
pub struct AssertionConfig {
    /// `ASSERTION_SIGNING_KEY`: assertions are made only with it.
    pub key: Option<SigningKey>,
    /// `ASSERTION_PREVIOUS_KEYS`: served beside it during a rotation.
    pub previous: Vec<serde_json::Value>,
    /// `ASSERTION_ISSUER` (default: the worker's origin).
    pub issuer: Option<String>,
    /// `ASSERTION_AUDIENCE` (default: `ORIGIN_URL`'s origin, else the
    /// origin the proxy names).
    pub audience: Option<String>,
    /// `ASSERTION_TTL`: seconds, 1 to 300, default 60.
    pub ttl: u64,
}

fn assertion_config(get: &impl Fn(&str) -> Option<String>) -> Result<AssertionConfig, ConfigProblem> {
    let key = match non_empty(get("ASSERTION_SIGNING_KEY")) {
        Some(v) => {
            Some(SigningKey::parse(&v).map_err(|message| ConfigProblem { name: "ASSERTION_SIGNING_KEY", message })?)
        }
        None => None,
    };
    let previous = match non_empty(get("ASSERTION_PREVIOUS_KEYS")) {
        Some(v) => {
            parse_previous_keys(&v).map_err(|message| ConfigProblem { name: "ASSERTION_PREVIOUS_KEYS", message })?
        }
        None => Vec::new(),
    };
    let ttl = seconds("ASSERTION_TTL", get("ASSERTION_TTL"), DEFAULT_TTL_SECS)?;
    if !(1..=MAX_TTL_SECS).contains(&ttl) {
        return Err(ConfigProblem { name: "ASSERTION_TTL", message: format!("must be 1 to {MAX_TTL_SECS} seconds") });
    }
    let optional_url = |name: &'static str| match non_empty(get(name)) {
        Some(v) => url(name, Some(v)).map(Some),
        None => Ok(None),
    };
    Ok(AssertionConfig {
        key,
        previous,
        issuer: optional_url("ASSERTION_ISSUER")?,
        audience: optional_url("ASSERTION_AUDIENCE")?,
        ttl,
    })
}

fn path_prefix(v: Option<String>) -> Result<Option<String>, ConfigProblem> {
    let Some(v) = non_empty(v) else { return Ok(None) };
    let normal = crate::edge::path::normalize(&v).ok();
    match normal {
        Some(n) if n == v && n != "/" => Ok(Some(n)),
        _ => Err(ConfigProblem {
            name: "BRIDGE_PATH_PREFIX",
            message: "must be a normalised path like /_bridge (no trailing slash)".into(),
        }),
    }
}

/// Names of every setting the worker reads (a test checks that
/// [`Config::from_lookup`] asks for exactly these).
pub const SETTINGS: &[&str] = &[
    "PLANS",
    "ENVIRONMENT",
    "STRIPE_API_BASE",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "KRATOS_WEBHOOK_SECRET",
    "KRATOS_ADMIN_TOKEN",
    "BRIDGE_API_TOKEN",
    "KRATOS_ADMIN_URL",
    "KRATOS_PUBLIC_URL",
    "PRICING_URL",
    "APP_URL",
    "SESSION_CACHE_TTL",
    "ENTITLEMENT_CACHE_TTL",
    "DELETION_CANCEL",
    "DELETE_STRIPE_CUSTOMER",
    "KRATOS_SYNC_PLAN",
    "RECONCILE_STALE_AFTER",
    "RECONCILE_PAGES_PER_RUN",
    "RECONCILE_CANCEL_ORPHANS",
    "ORIGIN_URL",
    "GATE_ROUTES",
    "LOGIN_URL",
    "BRIDGE_PATH_PREFIX",
    "ASSERTION_SIGNING_KEY",
    "ASSERTION_PREVIOUS_KEYS",
    "ASSERTION_ISSUER",
    "ASSERTION_AUDIENCE",
    "ASSERTION_TTL",
    "HYDRA_HOOK_SECRET",
    "TEST_PANIC_ROUTE",
    "TEST_CLOCK_OFFSET",
    "USAGE_REPORT_INTERVAL",
];

pub const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com";

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn required(name: &'static str, v: Option<String>) -> Result<String, ConfigProblem> {
    non_empty(v).ok_or_else(|| ConfigProblem { name, message: "is not set".into() })
}

fn url(name: &'static str, v: Option<String>) -> Result<String, ConfigProblem> {
    let v = required(name, v)?;
    if !(v.starts_with("http://") || v.starts_with("https://")) {
        return Err(ConfigProblem { name, message: "must be an http:// or https:// URL".into() });
    }
    Ok(v.trim_end_matches('/').to_string())
}

/// Seconds, `default` when unset; `0` disables the cache it sets.
fn seconds(name: &'static str, v: Option<String>, default: u64) -> Result<u64, ConfigProblem> {
    match non_empty(v) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| ConfigProblem { name, message: "must be a whole number of seconds".into() }),
    }
}

/// The default of `SESSION_CACHE_TTL` and `ENTITLEMENT_CACHE_TTL`.
pub const DEFAULT_CACHE_TTL_SECS: u64 = 5;

/// The default of `RECONCILE_STALE_AFTER`: the recipes' "refresh hourly".
pub const DEFAULT_RECONCILE_STALE_AFTER_SECS: u64 = 3600;

/// The default of `RECONCILE_PAGES_PER_RUN`.
pub const DEFAULT_RECONCILE_PAGES: u32 = 5;

/// The default of `USAGE_REPORT_INTERVAL`.
pub const DEFAULT_USAGE_REPORT_INTERVAL_SECS: i64 = 10;

fn usage_report_interval(v: Option<String>) -> Result<i64, ConfigProblem> {
    let name = "USAGE_REPORT_INTERVAL";
    match non_empty(v) {
        None => Ok(DEFAULT_USAGE_REPORT_INTERVAL_SECS),
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=3600).contains(n))
            .ok_or_else(|| ConfigProblem { name, message: "must be a whole number of seconds from 1 to 3600".into() }),
    }
}

fn pages(v: Option<String>) -> Result<u32, ConfigProblem> {
    let name = "RECONCILE_PAGES_PER_RUN";
    match non_empty(v) {
        None => Ok(DEFAULT_RECONCILE_PAGES),
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ConfigProblem { name, message: "must be a whole number from 1 to 100".into() }),
    }
}

fn flag(name: &'static str, v: Option<String>) -> Result<bool, ConfigProblem> {
    match non_empty(v).as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(ConfigProblem { name, message: "must be true or false".into() }),
    }
}

fn stripe_key(v: Option<String>, env: Environment) -> Result<Secret, ConfigProblem> {
    let name = "STRIPE_SECRET_KEY";
    let key = required(name, v)?;
    let (want, other) = match env {
        Environment::Production => ("live", "test"),
        Environment::Test => ("test", "live"),
    };
    let ok = [format!("sk_{want}_"), format!("rk_{want}_")].iter().any(|p| key.starts_with(p.as_str()));
    if ok {
        return Ok(Secret::new(key));
    }
    let mixed = [format!("sk_{other}_"), format!("rk_{other}_")].iter().any(|p| key.starts_with(p.as_str()));
    let message = if mixed {
        format!("is a {other}-mode key but ENVIRONMENT is {}; test and live must not mix", env.as_str())
    } else {
        format!("must start with sk_{want}_ (or rk_{want}_) for ENVIRONMENT={}", env.as_str())
    };
    Err(ConfigProblem { name, message })
}

/// `PLANS`, parsed and validated.
fn plans(v: Option<String>) -> Result<Plans, ConfigProblem> {
    let json = required("PLANS", v)?;
    Plans::parse(&json).map_err(|e| ConfigProblem { name: "PLANS", message: e.to_string() })
}

/// `STRIPE_WEBHOOK_SECRET`: one or more `whsec_...`, comma-separated.
fn webhook_secrets(v: Option<String>) -> Result<WebhookSecrets, ConfigProblem> {
    let name = "STRIPE_WEBHOOK_SECRET";
    WebhookSecrets::parse(&required(name, v)?).map_err(|e| ConfigProblem { name, message: e.to_string() })
}

/// `DELETION_CANCEL`: `now` (the default) or `period_end`.
fn deletion_cancel(v: Option<String>) -> Result<CancelMode, ConfigProblem> {
    match non_empty(v).as_deref() {
        None | Some("now") => Ok(CancelMode::Now),
        Some("period_end") => Ok(CancelMode::PeriodEnd),
        Some(_) => Err(ConfigProblem { name: "DELETION_CANCEL", message: "must be now or period_end".into() }),
    }
}

/// `TEST_PANIC_ROUTE`: a test hook, never in production.
fn test_panic_route(v: Option<String>, environment: Environment) -> Result<bool, ConfigProblem> {
    let on = flag("TEST_PANIC_ROUTE", v)?;
    if on && environment == Environment::Production {
        let message = "is a test hook and must not be set with ENVIRONMENT=production".into();
        return Err(ConfigProblem { name: "TEST_PANIC_ROUTE", message });
    }
    Ok(on)
}

/// `TEST_CLOCK_OFFSET`: a test hook, never in production.
fn test_clock_offset(v: Option<String>, environment: Environment) -> Result<i64, ConfigProblem> {
    let name = "TEST_CLOCK_OFFSET";
    let Some(v) = non_empty(v) else { return Ok(0) };
    if environment == Environment::Production {
        return Err(ConfigProblem {
            name,
            message: "is a test hook and must not be set with ENVIRONMENT=production".into(),
        });
    }
    v.parse().map_err(|_| ConfigProblem { name, message: "must be a whole number of seconds".into() })
}

impl Config {
    /// Reads every setting through `get` (a var or secret by name, `None`
    /// when unset). Fails on what makes behaviour wrong everywhere: `PLANS`,
    /// `STRIPE_API_BASE` and the behaviour switches.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigProblem> {
        let plans = plans(get("PLANS"))?;
        let environment = Environment::from_var(get("ENVIRONMENT").as_deref());
        let stripe_api_base = match non_empty(get("STRIPE_API_BASE")) {
            None => DEFAULT_STRIPE_API_BASE.to_string(),
            some => url("STRIPE_API_BASE", some)?,
        };
        let reconcile_stale_after =
            seconds("RECONCILE_STALE_AFTER", get("RECONCILE_STALE_AFTER"), DEFAULT_RECONCILE_STALE_AFTER_SECS)?;
        let gate = gate_config(&get, &plans)?;
        let test_panic_route = test_panic_route(get("TEST_PANIC_ROUTE"), environment)?;
        Ok(Config {
            test_panic_route,
            test_clock_offset: test_clock_offset(get("TEST_CLOCK_OFFSET"), environment)?,
            usage_report_interval: usage_report_interval(get("USAGE_REPORT_INTERVAL"))?,
            gate,
            assertion: assertion_config(&get)?,
            hydra_hook_secret: non_empty(get("HYDRA_HOOK_SECRET")).map(Secret::new),
            bridge_path_prefix: path_prefix(get("BRIDGE_PATH_PREFIX"))?,
            reconcile_stale_after: i64::try_from(reconcile_stale_after).unwrap_or(i64::MAX),
            reconcile_pages_per_run: pages(get("RECONCILE_PAGES_PER_RUN"))?,
            reconcile_cancel_orphans: flag("RECONCILE_CANCEL_ORPHANS", get("RECONCILE_CANCEL_ORPHANS"))?,
            session_cache_ttl: seconds("SESSION_CACHE_TTL", get("SESSION_CACHE_TTL"), DEFAULT_CACHE_TTL_SECS)?,
            entitlement_cache_ttl: seconds(
                "ENTITLEMENT_CACHE_TTL",
                get("ENTITLEMENT_CACHE_TTL"),
                DEFAULT_CACHE_TTL_SECS,
            )?,
            pricing_url: url("PRICING_URL", get("PRICING_URL")).into(),
            app_url: url("APP_URL", get("APP_URL")).into(),
            deletion_cancel: deletion_cancel(get("DELETION_CANCEL"))?,
            customer_on_deletion: match flag("DELETE_STRIPE_CUSTOMER", get("DELETE_STRIPE_CUSTOMER"))? {
                true => CustomerOnDeletion::Delete,
                false => CustomerOnDeletion::Keep,
            },
            plan_mirror: match flag("KRATOS_SYNC_PLAN", get("KRATOS_SYNC_PLAN"))? {
                true => PlanMirror::MetadataPublic,
                false => PlanMirror::Off,
            },
            environment,
            plans,
            stripe_api_base,
            stripe_secret_key: stripe_key(get("STRIPE_SECRET_KEY"), environment).into(),
            stripe_webhook_secrets: webhook_secrets(get("STRIPE_WEBHOOK_SECRET")).into(),
            kratos_webhook_secret: required("KRATOS_WEBHOOK_SECRET", get("KRATOS_WEBHOOK_SECRET"))
                .map(Secret::new)
                .into(),
            kratos_admin_token: non_empty(get("KRATOS_ADMIN_TOKEN")).map(Secret::new),
            bridge_api_token: required("BRIDGE_API_TOKEN", get("BRIDGE_API_TOKEN")).map(Secret::new).into(),
            kratos_admin_url: url("KRATOS_ADMIN_URL", get("KRATOS_ADMIN_URL")).into(),
            kratos_public_url: url("KRATOS_PUBLIC_URL", get("KRATOS_PUBLIC_URL")).into(),
        })
    }

    /// Every problem with the optional settings, for `/healthz`.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        [
            self.stripe_secret_key.problem(),
            self.stripe_webhook_secrets.problem(),
            self.kratos_webhook_secret.problem(),
            self.bridge_api_token.problem(),
            self.kratos_admin_url.problem(),
            self.kratos_public_url.problem(),
            self.pricing_url.problem(),
            self.app_url.problem(),
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const PLANS: &str = r#"{"default_plan":"free","plans":{"free":{"rank":0,"features":["basic_feature"]},"pro":{"rank":1,"features":["basic_feature","premium_feature"],"prices":["pro_monthly"]}},"past_due_features":["basic_feature"]}"#;

    fn full() -> HashMap<&'static str, String> {
        HashMap::from([
            ("PLANS", PLANS.to_string()),
            ("STRIPE_SECRET_KEY", "sk_test_abc".to_string()),
            ("STRIPE_WEBHOOK_SECRET", "whsec_old, whsec_new".to_string()),
            ("KRATOS_WEBHOOK_SECRET", "hook-secret".to_string()),
            ("BRIDGE_API_TOKEN", "api-token".to_string()),
            ("KRATOS_ADMIN_URL", "http://127.0.0.1:4434/".to_string()),
            ("KRATOS_PUBLIC_URL", "http://127.0.0.1:4433".to_string()),
            ("PRICING_URL", "https://app.example.com/pricing".to_string()),
            ("APP_URL", "https://app.example.com".to_string()),
        ])
    }

    fn load(m: &HashMap<&'static str, String>) -> Result<Config, ConfigProblem> {
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn a_complete_configuration_has_no_problems() {
        let c = load(&full()).unwrap();
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        assert_eq!(c.environment, Environment::Test);
        assert_eq!(c.stripe_api_base, DEFAULT_STRIPE_API_BASE);
        assert_eq!(c.kratos_admin_url.get().unwrap(), "http://127.0.0.1:4434");
    }

    #[test]
    fn bad_plans_fails_the_whole_configuration_with_its_name() {
        let mut m = full();
        m.insert("PLANS", "{not json".into());
        let p = load(&m).unwrap_err();
        assert_eq!(p.name, "PLANS");
        assert!(p.to_string().starts_with("PLANS: "));
        m.remove("PLANS");
        assert_eq!(load(&m).unwrap_err().message, "is not set");
    }

    #[test]
    fn reads_exactly_the_listed_settings() {
        let asked = std::cell::RefCell::new(Vec::new());
        let m = full();
        Config::from_lookup(|k| {
            asked.borrow_mut().push(k.to_string());
            m.get(k).cloned()
        })
        .unwrap();
        let mut asked = asked.into_inner();
        asked.sort();
        asked.dedup();
        let mut listed: Vec<String> = SETTINGS.iter().map(|s| s.to_string()).collect();
        listed.sort();
        assert_eq!(asked, listed);
    }

    #[test]
    fn keys_must_match_the_environment() {
        let mut m = full();
        m.insert("STRIPE_SECRET_KEY", "sk_live_abc".into());
        let c = load(&m).unwrap();
        let p = c.stripe_secret_key.get().unwrap_err();
        assert!(p.message.contains("live-mode key"), "{}", p.message);
        m.insert("ENVIRONMENT", "production".into());
        let c = load(&m).unwrap();
        assert!(c.stripe_secret_key.get().is_ok());
        assert!(c.environment.accepts_livemode(true));
        assert!(!c.environment.accepts_livemode(false));
    }

    #[test]
    fn missing_secrets_are_named_and_never_shown() {
        let mut m = full();
        m.remove("BRIDGE_API_TOKEN");
        m.insert("KRATOS_PUBLIC_URL", "kratos:4433".into());
        let c = load(&m).unwrap();
        let names: Vec<_> = c.problems().iter().map(|p| p.name).collect();
        assert_eq!(names, ["BRIDGE_API_TOKEN", "KRATOS_PUBLIC_URL"]);
        let e = ApiError::from(c.bridge_api_token.get().unwrap_err());
        assert_eq!((e.status, e.code), (500, "invalid_config"));
        assert!(e.message.starts_with("BRIDGE_API_TOKEN: "), "{}", e.message);
        assert!(!format!("{c:?}").contains("hook-secret"));
    }

    #[test]
    fn behaviour_switches_default_off_and_refuse_typos() {
        let c = load(&full()).unwrap();
        assert_eq!(c.deletion_cancel, CancelMode::Now);
        assert_eq!((c.customer_on_deletion, c.plan_mirror), (CustomerOnDeletion::Keep, PlanMirror::Off));
        let mut m = full();
        m.insert("DELETION_CANCEL", "period_end".into());
        m.insert("KRATOS_SYNC_PLAN", "true".into());
        let c = load(&m).unwrap();
        assert_eq!(c.deletion_cancel, CancelMode::PeriodEnd);
        assert_eq!(c.plan_mirror, PlanMirror::MetadataPublic);
        assert_eq!((c.session_cache_ttl, c.entitlement_cache_ttl), (5, 5));
        m.insert("SESSION_CACHE_TTL", "0".into());
        assert_eq!(load(&m).unwrap().session_cache_ttl, 0);
        m.insert("ENTITLEMENT_CACHE_TTL", "soon".into());
        assert_eq!(load(&m).unwrap_err().name, "ENTITLEMENT_CACHE_TTL");
        m.remove("ENTITLEMENT_CACHE_TTL");
        m.insert("DELETE_STRIPE_CUSTOMER", "yes".into());
        assert_eq!(load(&m).unwrap_err().name, "DELETE_STRIPE_CUSTOMER");
    }

    #[test]
    fn edge_gate_mode_needs_an_origin_and_valid_rules() {
        let c = load(&full()).unwrap();
        assert!(c.gate.origin_url.is_none() && c.bridge_path_prefix.is_none(), "off by default");
        let mut m = full();
        m.insert("GATE_ROUTES", r#"[{"path": "/app/*", "session": "required"}]"#.into());
        assert!(!load(&m).unwrap().gate.gate_routes.is_empty(), "rules without an origin: for /auth/forward");
        m.insert("ORIGIN_URL", "https://app.example.com/".into());
        m.insert("LOGIN_URL", "https://app.example.com/login".into());
        m.insert("BRIDGE_PATH_PREFIX", "/_bridge".into());
        let c = load(&m).unwrap();
        let edge = c.gate;
        assert_eq!(
            (edge.origin_url.as_deref(), edge.login_url.as_deref()),
            (Some("https://app.example.com"), Some("https://app.example.com/login"))
        );
        assert!(!edge.gate_routes.is_empty());
        assert_eq!(c.bridge_path_prefix.as_deref(), Some("/_bridge"));
        m.insert("GATE_ROUTES", r#"[{"path": "/app/*", "session": "maybe"}]"#.into());
        let e = load(&m).unwrap_err();
        assert!(e.name == "GATE_ROUTES" && e.message.contains("rule 0"), "{e:?}");
        m.remove("GATE_ROUTES");
        for bad in ["_bridge", "/_bridge/", "/", "/a/../b"] {
            m.insert("BRIDGE_PATH_PREFIX", bad.into());
            assert_eq!(load(&m).unwrap_err().name, "BRIDGE_PATH_PREFIX", "{bad}");
        }
        m.insert("BRIDGE_PATH_PREFIX", "/_bridge".into());
        m.insert("ORIGIN_URL", "app.example.com".into());
        assert_eq!(load(&m).unwrap_err().name, "ORIGIN_URL");
    }

    #[test]
    fn assertions_are_off_by_default_and_their_settings_checked() {
        let c = load(&full()).unwrap();
        assert!(c.assertion.key.is_none() && c.assertion.previous.is_empty() && c.hydra_hook_secret.is_none());
        assert_eq!(c.assertion.ttl, 60);
        let mut m = full();
        m.insert("ASSERTION_SIGNING_KEY", r#"{"kty":"OKP","crv":"Ed25519","kid":"e1","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#.into());
        m.insert("ASSERTION_TTL", "120".into());
        let c = load(&m).unwrap();
        assert_eq!((c.assertion.key.unwrap().kid.as_str(), c.assertion.ttl), ("e1", 120));
        assert!(!format!("{:?}", load(&m).unwrap()).contains("nWGxne"), "the private key never shows");
        for (name, bad) in [
            ("ASSERTION_TTL", "301"),
            ("ASSERTION_TTL", "0"),
            ("ASSERTION_SIGNING_KEY", "{}"),
            ("ASSERTION_AUDIENCE", "app"),
        ] {
            let mut m = m.clone();
            m.insert(name, bad.into());
            assert_eq!(load(&m).unwrap_err().name, name, "{bad}");
        }
    }

    #[test]
    fn the_test_clock_offset_is_zero_whole_seconds_and_never_in_production() {
        assert_eq!(load(&full()).unwrap().test_clock_offset, 0);
        let mut m = full();
        m.insert("TEST_CLOCK_OFFSET", "1296000".into());
        assert_eq!(load(&m).unwrap().test_clock_offset, 1_296_000);
        m.insert("TEST_CLOCK_OFFSET", "-60".into());
        assert_eq!(load(&m).unwrap().test_clock_offset, -60);
        m.insert("TEST_CLOCK_OFFSET", "1.5".into());
        assert_eq!(load(&m).unwrap_err().name, "TEST_CLOCK_OFFSET");
        m.insert("TEST_CLOCK_OFFSET", "60".into());
        m.insert("ENVIRONMENT", "production".into());
        m.insert("STRIPE_SECRET_KEY", "sk_live_abc".into());
        assert_eq!(load(&m).unwrap_err().name, "TEST_CLOCK_OFFSET");
    }

    #[test]
    fn the_test_panic_route_is_off_and_never_in_production() {
        assert!(!load(&full()).unwrap().test_panic_route);
        let mut m = full();
        m.insert("TEST_PANIC_ROUTE", "true".into());
        assert!(load(&m).unwrap().test_panic_route);
        m.insert("ENVIRONMENT", "production".into());
        m.insert("STRIPE_SECRET_KEY", "sk_live_abc".into());
        assert_eq!(load(&m).unwrap_err().name, "TEST_PANIC_ROUTE");
    }

    #[test]
    fn the_walk_defaults_to_hourly_five_pages_and_reporting_only() {
        let c = load(&full()).unwrap();
        assert_eq!((c.reconcile_stale_after, c.reconcile_pages_per_run, c.reconcile_cancel_orphans), (3600, 5, false));
        let mut m = full();
        m.insert("RECONCILE_STALE_AFTER", "0".into());
        m.insert("RECONCILE_PAGES_PER_RUN", "2".into());
        m.insert("RECONCILE_CANCEL_ORPHANS", "true".into());
        let c = load(&m).unwrap();
        assert_eq!((c.reconcile_stale_after, c.reconcile_pages_per_run, c.reconcile_cancel_orphans), (0, 2, true));
        for bad in ["0", "101", "many"] {
            m.insert("RECONCILE_PAGES_PER_RUN", bad.into());
            assert_eq!(load(&m).unwrap_err().name, "RECONCILE_PAGES_PER_RUN", "{bad}");
        }
    }
}
