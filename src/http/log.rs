//! Structured logs: one JSON line per unit of work, with ids, outcomes and
//! durations only. Never a secret, a token or an email address.

use serde_json::{Map, Value};

/// Writes one JSON log line: `{"at": what, ...fields}`.
pub fn line(what: &str, fields: &[(&str, Value)]) {
    let mut m = Map::with_capacity(fields.len() + 1);
    m.insert("at".into(), Value::from(what));
    for (k, v) in fields {
        m.insert((*k).into(), v.clone());
    }
    worker::console_log!("{}", Value::Object(m));
}
