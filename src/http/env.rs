//! Configuration from the Worker's environment, parsed once per isolate and
//! reused while the raw values stay the same.

use std::cell::RefCell;
use std::rc::Rc;

use worker::Env;

use crate::config::{Config, ConfigProblem, SETTINGS};

/// The configuration as parsed, or the problem that stops every route.
pub type Loaded = Rc<Result<Config, ConfigProblem>>;

/// The raw values last seen, with what they parsed to.
type Cached = Option<(Vec<Option<String>>, Loaded)>;

thread_local! {
    static CACHE: RefCell<Cached> = const { RefCell::new(None) };
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
    let raw: Vec<Option<String>> = SETTINGS.iter().map(|name| lookup(env, name)).collect();
    CACHE.with(|cache| {
        if let Some((seen, parsed)) = cache.borrow().as_ref() {
            if *seen == raw {
                return parsed.clone();
            }
        }
        let parsed =
            Rc::new(Config::from_lookup(|name| SETTINGS.iter().position(|s| *s == name).and_then(|i| raw[i].clone())));
        *cache.borrow_mut() = Some((raw, parsed.clone()));
        parsed
    })
}
