//! Configuration from the Worker's environment, parsed once per isolate.
//! Vars and secrets cannot change inside an isolate (a new deployment or
//! `wrangler dev` reload starts new isolates), so reading every setting
//! through the runtime again on every request would only cost time.

use std::rc::Rc;

use worker::Env;

use crate::config::{Config, ConfigProblem};

/// The configuration as parsed, or the problem that stops every route.
pub type Loaded = Rc<Result<Config, ConfigProblem>>;

thread_local! {
    static CACHE: std::cell::OnceCell<Loaded> = const { std::cell::OnceCell::new() };
}

/// A var or secret as text. `PLANS` may also be written as a TOML table in
/// wrangler.toml, which arrives as an object: it is turned back into JSON.
fn lookup(env: &Env, name: &str) -> Option<String> {
    if let Ok(v) = env.secret(name) {
        return Some(v.to_string());
    }
    if let Ok(v) = env.var(name) {
        return Some(v.to_string());
    }
    env.object_var::<serde_json::Value>(name).ok().map(|v| v.to_string())
}

/// The configuration, or the one problem that makes every route fail.
pub fn config(env: &Env) -> Loaded {
    CACHE.with(|cache| cache.get_or_init(|| Rc::new(Config::from_lookup(|name| lookup(env, name)))).clone())
}
