//! Structured logs: one JSON line per unit of work, with ids, outcomes and
//! durations only. Never a secret, a token or an email address.

use serde::Serialize;
use serde_json::Value;
use worker::wasm_bindgen::JsValue;
use worker::web_sys::console;

/// One log line, `{"at": what, ...fields}`, written straight into one
/// string as fields are added (no map is built for it), and handed to the
/// runtime by [`Line::write`].
pub struct Line(Vec<u8>);

impl Line {
    pub fn new(what: &str) -> Line {
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(b"{\"at\":");
        push_json(&mut out, what);
        Line(out)
    }

    /// Adds `"key": value`.
    pub fn field<T: Serialize + ?Sized>(mut self, key: &str, value: &T) -> Line {
        self.0.push(b',');
        push_json(&mut self.0, key);
        self.0.push(b':');
        push_json(&mut self.0, value);
        self
    }

    /// Writes the line to the worker's log.
    pub fn write(mut self) {
        self.0.push(b'}');
        // serde_json writes UTF-8 only, so the lossy path is never taken.
        let text = String::from_utf8(self.0).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        console::log_1(&JsValue::from_str(&text));
    }
}

/// Writes one JSON log line of `fields`: see [`Line`].
pub fn line(what: &str, fields: &[(&str, Value)]) {
    fields.iter().fold(Line::new(what), |line, (k, v)| line.field(k, v)).write();
}

fn push_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    // Serialising these values cannot fail; were it to, the field is
    // written as null so the line stays JSON.
    let mark = out.len();
    if serde_json::to_writer(&mut *out, v).is_err() {
        out.truncate(mark);
        out.extend_from_slice(b"null");
    }
}
