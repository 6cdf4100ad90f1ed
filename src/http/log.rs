//! Structured logs, the one way the worker writes them: one JSON line per
//! unit of work, `{"at": what, "request_id", ...fields}`, with ids,
//! outcomes and durations only (never a secret, a token, an email address
//! or anything else a client sent). Failures are written with
//! `console.warn` (a refusal) or `console.error` (the bridge or an upstream
//! failed), so that Workers Logs shows their level. Every line type is
//! listed in `docs/operations.md`.

use serde::Serialize;
use worker::wasm_bindgen::JsValue;
use worker::web_sys::console;

/// How bad what a line tells is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    /// Refused or skipped, by the caller's doing.
    Warn,
    /// Failed: the bridge, its configuration or an upstream.
    Error,
}

impl Level {
    /// The level of a failure answered with `status`.
    pub fn of_status(status: u16) -> Level {
        match status {
            500.. => Level::Error,
            400.. => Level::Warn,
            _ => Level::Info,
        }
    }
}

/// One log line, written straight into one string as fields are added (no
/// map is built for it), and handed to the runtime by [`Line::write`].
pub struct Line {
    out: Vec<u8>,
    level: Level,
}

impl Line {
    /// A line of type `what` for the request `request_id`.
    pub fn new(what: &str, request_id: &str) -> Line {
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(b"{\"at\":");
        push_json(&mut out, what);
        Line { out, level: Level::Info }.field("request_id", request_id)
    }

    /// Adds `"key": value`.
    pub fn field<T: Serialize + ?Sized>(mut self, key: &str, value: &T) -> Line {
        self.out.push(b',');
        push_json(&mut self.out, key);
        self.out.push(b':');
        push_json(&mut self.out, value);
        self
    }

    /// Writes the line at `level`.
    pub fn level(self, level: Level) -> Line {
        Line { level, ..self }
    }

    /// Writes the line to the worker's log.
    pub fn write(mut self) {
        self.out.push(b'}');
        // serde_json writes UTF-8 only, so the lossy path is never taken.
        let text = String::from_utf8(self.out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        let text = JsValue::from_str(&text);
        match self.level {
            Level::Info => console::log_1(&text),
            Level::Warn => console::warn_1(&text),
            Level::Error => console::error_1(&text),
        }
    }
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
