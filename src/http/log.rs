//! Structured logs: one JSON line per unit of work, with ids, outcomes and
//! durations only. Never a secret, a token or an email address.

use serde_json::Value;

/// Writes one JSON log line: `{"at": what, ...fields}`, written straight
/// into one string (a line per request: no map is built for it).
pub fn line(what: &str, fields: &[(&str, Value)]) {
    let mut out = String::with_capacity(128);
    out.push_str("{\"at\":");
    push_json(&mut out, &Value::from(what));
    for (k, v) in fields {
        out.push(',');
        push_json(&mut out, &Value::from(*k));
        out.push(':');
        push_json(&mut out, v);
    }
    out.push('}');
    worker::console_log!("{}", out);
}

fn push_json(out: &mut String, v: &Value) {
    // Serialising a Value into a String cannot fail.
    out.push_str(&serde_json::to_string(v).unwrap_or_default());
}
