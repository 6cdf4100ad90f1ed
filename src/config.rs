//! The deployment's configuration (spec: "Bindings and configuration"), read
//! from a lookup function so that it stays pure: the shell passes a closure
//! over `env.var` / `env.secret`, tests pass a map.
//!
//! A bad `PLANS` makes the whole configuration invalid (every route answers
//! the same clear 500, and `/healthz` says why); a missing secret only fails
//! the routes that need it.

use std::fmt;

use crate::entitlements::plans::Plans;
use crate::error::ApiError;
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

/// The parsed configuration. Optional settings are `Result`s so that a route
/// that needs one answers a clear `invalid_config` error naming it.
#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub plans: Plans,
    pub stripe_api_base: String,
    pub stripe_secret_key: Result<Secret, ConfigProblem>,
    pub stripe_webhook_secrets: Result<WebhookSecrets, ConfigProblem>,
    pub kratos_webhook_secret: Result<Secret, ConfigProblem>,
    pub kratos_admin_token: Option<Secret>,
    pub bridge_api_token: Result<Secret, ConfigProblem>,
    pub kratos_admin_url: Result<String, ConfigProblem>,
    pub kratos_public_url: Result<String, ConfigProblem>,
    pub pricing_url: Result<String, ConfigProblem>,
    pub app_url: Result<String, ConfigProblem>,
    /// `DELETION_CANCEL`: how account deletion cancels subscriptions.
    pub deletion_cancel: CancelMode,
    /// `DELETE_STRIPE_CUSTOMER=true`: account deletion also deletes the
    /// Stripe customer (off by default: invoices stay for tax records).
    pub delete_stripe_customer: bool,
    /// `KRATOS_SYNC_PLAN=true`: write the plan to the identity's
    /// `metadata_public.plan` so apps can read it from the session.
    pub kratos_sync_plan: bool,
}

/// Names of every setting, in the order `/healthz` reports them.
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
    "DELETION_CANCEL",
    "DELETE_STRIPE_CUSTOMER",
    "KRATOS_SYNC_PLAN",
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

impl Config {
    /// Reads every setting through `get` (a var or secret by name, `None`
    /// when unset). Fails on what makes behaviour wrong everywhere: `PLANS`,
    /// `STRIPE_API_BASE` and the behaviour switches.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigProblem> {
        let plans_json = required("PLANS", get("PLANS"))?;
        let plans = Plans::parse(&plans_json).map_err(|e| ConfigProblem { name: "PLANS", message: e.to_string() })?;
        let environment = Environment::from_var(get("ENVIRONMENT").as_deref());
        let stripe_api_base = match non_empty(get("STRIPE_API_BASE")) {
            None => DEFAULT_STRIPE_API_BASE.to_string(),
            some => url("STRIPE_API_BASE", some)?,
        };
        let stripe_webhook_secrets = required("STRIPE_WEBHOOK_SECRET", get("STRIPE_WEBHOOK_SECRET")).and_then(|v| {
            WebhookSecrets::parse(&v)
                .map_err(|e| ConfigProblem { name: "STRIPE_WEBHOOK_SECRET", message: e.to_string() })
        });
        let deletion_cancel = match non_empty(get("DELETION_CANCEL")).as_deref() {
            None | Some("now") => CancelMode::Now,
            Some("period_end") => CancelMode::PeriodEnd,
            Some(_) => {
                return Err(ConfigProblem { name: "DELETION_CANCEL", message: "must be now or period_end".into() })
            }
        };
        Ok(Config {
            deletion_cancel,
            delete_stripe_customer: flag("DELETE_STRIPE_CUSTOMER", get("DELETE_STRIPE_CUSTOMER"))?,
            kratos_sync_plan: flag("KRATOS_SYNC_PLAN", get("KRATOS_SYNC_PLAN"))?,
            environment,
            plans,
            stripe_api_base,
            stripe_secret_key: stripe_key(get("STRIPE_SECRET_KEY"), environment),
            stripe_webhook_secrets,
            kratos_webhook_secret: required("KRATOS_WEBHOOK_SECRET", get("KRATOS_WEBHOOK_SECRET")).map(Secret::new),
            kratos_admin_token: non_empty(get("KRATOS_ADMIN_TOKEN")).map(Secret::new),
            bridge_api_token: required("BRIDGE_API_TOKEN", get("BRIDGE_API_TOKEN")).map(Secret::new),
            kratos_admin_url: url("KRATOS_ADMIN_URL", get("KRATOS_ADMIN_URL")),
            kratos_public_url: url("KRATOS_PUBLIC_URL", get("KRATOS_PUBLIC_URL")),
            pricing_url: url("PRICING_URL", get("PRICING_URL")),
            app_url: url("APP_URL", get("APP_URL")),
        })
    }

    /// Every problem with the optional settings, for `/healthz`.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        let mut note = |r: Result<(), &ConfigProblem>| {
            if let Err(p) = r {
                out.push(p.clone());
            }
        };
        note(self.stripe_secret_key.as_ref().map(|_| ()));
        note(self.stripe_webhook_secrets.as_ref().map(|_| ()));
        note(self.kratos_webhook_secret.as_ref().map(|_| ()));
        note(self.bridge_api_token.as_ref().map(|_| ()));
        note(self.kratos_admin_url.as_ref().map(|_| ()));
        note(self.kratos_public_url.as_ref().map(|_| ()));
        note(self.pricing_url.as_ref().map(|_| ()));
        note(self.app_url.as_ref().map(|_| ()));
        out
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
        assert_eq!(c.kratos_admin_url.unwrap(), "http://127.0.0.1:4434");
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
    fn keys_must_match_the_environment() {
        let mut m = full();
        m.insert("STRIPE_SECRET_KEY", "sk_live_abc".into());
        let c = load(&m).unwrap();
        let p = c.stripe_secret_key.unwrap_err();
        assert!(p.message.contains("live-mode key"), "{}", p.message);
        m.insert("ENVIRONMENT", "production".into());
        let c = load(&m).unwrap();
        assert!(c.stripe_secret_key.is_ok());
        assert!(c.environment.accepts_livemode(true));
        assert!(!c.environment.accepts_livemode(false));
    }

    #[test]
    fn missing_secrets_are_named_and_never_shown() {
        let mut m = full();
        m.remove("BRIDGE_API_TOKEN");
        m.insert("APP_URL", "app.example.com".into());
        let c = load(&m).unwrap();
        let names: Vec<_> = c.problems().iter().map(|p| p.name).collect();
        assert_eq!(names, ["BRIDGE_API_TOKEN", "APP_URL"]);
        assert!(!format!("{c:?}").contains("hook-secret"));
    }

    #[test]
    fn behaviour_switches_default_off_and_refuse_typos() {
        let c = load(&full()).unwrap();
        assert_eq!(c.deletion_cancel, CancelMode::Now);
        assert!(!c.delete_stripe_customer && !c.kratos_sync_plan);
        let mut m = full();
        m.insert("DELETION_CANCEL", "period_end".into());
        m.insert("KRATOS_SYNC_PLAN", "true".into());
        let c = load(&m).unwrap();
        assert_eq!(c.deletion_cancel, CancelMode::PeriodEnd);
        assert!(c.kratos_sync_plan);
        m.insert("DELETE_STRIPE_CUSTOMER", "yes".into());
        assert_eq!(load(&m).unwrap_err().name, "DELETE_STRIPE_CUSTOMER");
    }
}
