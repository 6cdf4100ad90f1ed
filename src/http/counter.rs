//! The usage counter: one Durable Object per identity (binding `USAGE`,
//! class `UsageCounter`, SQLite storage), the one writer of that identity's
//! counts. Each consumption reads, decides (`crate::usage::ledger`) and
//! writes without an await in between, so no other request of the object
//! runs inside it and concurrent consumers never pass the limit. Billed
//! units wait in storage and are reported to Stripe in batches by the
//! object's alarm, one call at a time, each batch under one identifier.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use serde::Deserialize;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, SqlStorage, SqlStorageValue, State};

use super::env::config;
use super::log::{Level, Line};
use super::stripe_api::Stripe;
use crate::stripe::meter_event::MeterEvent;
use crate::stripe::meter_report::ReportOutcome;
use crate::stripe::request::StripeRequest;
use crate::usage::ledger::{
    balance, consume, fingerprint, identifier, report_timestamp, retry_delay, status_of, Ask, REPLAY_SECS,
};

/// The object's tables. `meta` holds the epoch (made once) and the
/// identity's Stripe customer; `counts` one row per meter and window;
/// `replays` the answers given under an `Idempotency-Key`; `pending` the
/// billed units not yet in a batch; `batches` the meter events being
/// reported; `reported` the units Stripe acknowledged.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counts (meter TEXT NOT NULL, win TEXT NOT NULL, used INTEGER NOT NULL,
  resets_at INTEGER NOT NULL, PRIMARY KEY (meter, win));
CREATE TABLE IF NOT EXISTS replays (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status INTEGER NOT NULL,
  answer TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, meter TEXT NOT NULL,
  event_name TEXT NOT NULL, amount INTEGER NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS batches (identifier TEXT PRIMARY KEY, meter TEXT NOT NULL, event_name TEXT NOT NULL,
  customer TEXT NOT NULL, value INTEGER NOT NULL, at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL DEFAULT 0, last_error TEXT);
CREATE TABLE IF NOT EXISTS reported (meter TEXT PRIMARY KEY, units INTEGER NOT NULL);
";

/// Batches one alarm reports at most before it schedules the next.
const BATCHES_PER_ALARM: usize = 20;

/// Pending units one batch carries at most.
const UNITS_PER_BATCH: i64 = 1_000;

/// One identity's usage counter.
#[durable_object(alarm)]
pub struct UsageCounter {
    state: State,
    env: Env,
    /// An alarm is reporting (alarms do not overlap; this keeps a second
    /// path from starting a report beside it).
    reporting: Cell<bool>,
    /// The tables exist (made once per instance of the object).
    ready: Cell<bool>,
    /// The customer last written to `meta` by this instance, so an ask that
    /// names the same one writes nothing.
    customer: RefCell<Option<String>>,
}

#[derive(Deserialize)]
struct Used {
    used: i64,
}

#[derive(Deserialize)]
struct Replay {
    fingerprint: String,
    status: i64,
    answer: String,
}

#[derive(Deserialize)]
struct Units {
    units: Option<i64>,
}

#[derive(Deserialize)]
struct Text {
    v: String,
}

#[derive(Deserialize)]
struct PendingMeter {
    meter: String,
    event_name: String,
}

#[derive(Deserialize)]
struct Span {
    first: Option<i64>,
    last: Option<i64>,
    value: Option<i64>,
    at: Option<i64>,
}

#[derive(Deserialize)]
struct Batch {
    identifier: String,
    meter: String,
    event_name: String,
    customer: String,
    value: i64,
    at: i64,
    attempts: i64,
}

#[derive(Deserialize)]
struct NextAt {
    next_at: Option<i64>,
}

fn int(v: i64) -> SqlStorageValue {
    SqlStorageValue::Integer(v)
}

fn text(v: &str) -> SqlStorageValue {
    SqlStorageValue::String(v.to_owned())
}

/// Counts and units fit in `i64` (limits are at most `MAX_UNITS`).
fn units(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl DurableObject for UsageCounter {
    fn new(state: State, env: Env) -> Self {
        UsageCounter { state, env, reporting: Cell::new(false), ready: Cell::new(false), customer: RefCell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let ask: Ask = req.json().await?;
        let sql = self.sql()?;
        let new_customer = ask.customer.as_ref().filter(|c| self.customer.borrow().as_ref() != Some(*c)).cloned();
        let (status, answer, billed_unit) = apply(&sql, &ask, new_customer.is_some())?;
        if new_customer.is_some() {
            *self.customer.borrow_mut() = new_customer;
        }
        if billed_unit && self.state.storage().get_alarm().await?.is_none() {
            let delay = config(&self.env).as_ref().as_ref().map(|c| c.usage_report_interval).unwrap_or(10);
            self.state.storage().set_alarm(Duration::from_secs(delay.max(1) as u64)).await?;
        }
        Ok(Response::from_body(worker::ResponseBody::Body(answer.into_bytes()))?
            .with_status(status)
            .with_headers(json_headers()))
    }

    async fn alarm(&self) -> Result<Response> {
        if self.reporting.replace(true) {
            return Response::ok("already reporting");
        }
        let outcome = self.report().await;
        self.reporting.set(false);
        outcome?;
        Response::ok("reported")
    }
}

fn json_headers() -> worker::Headers {
    let h = worker::Headers::new();
    let _ = h.set("content-type", "application/json");
    h
}

impl UsageCounter {
    /// The object's SQLite storage, its tables made once per instance.
    fn sql(&self) -> Result<SqlStorage> {
        let sql = self.state.storage().sql();
        if !self.ready.get() {
            sql.exec(SCHEMA, None)?;
            self.ready.set(true);
        }
        Ok(sql)
    }

    /// Forms batches of the pending units and reports the due ones, one
    /// call at a time; schedules the next alarm while anything is left.
    async fn report(&self) -> Result<()> {
        let loaded = config(&self.env);
        let config = loaded.as_ref().as_ref().map_err(|p| worker::Error::RustError(p.to_string()))?;
        let sql = self.sql()?;
        let now = (worker::Date::now().as_millis() / 1000) as i64;
        form_batches(&sql)?;
        let stripe = Stripe::new(config).map_err(|e| worker::Error::RustError(e.to_string()))?;
        for _ in 0..BATCHES_PER_ALARM {
            let due: Vec<Batch> = sql
                .exec(
                    "SELECT identifier, meter, event_name, customer, value, at, attempts FROM batches
                     WHERE next_at <= ? ORDER BY at, identifier LIMIT 1",
                    vec![int(now)],
                )?
                .to_array()?;
            let Some(batch) = due.into_iter().next() else { break };
            let event = MeterEvent {
                event_name: &batch.event_name,
                customer: &batch.customer,
                value: batch.value,
                identifier: &batch.identifier,
                timestamp: report_timestamp(batch.at, now),
            };
            let request = StripeRequest::report_meter_event(&event, batch.attempts + 1);
            let outcome = ReportOutcome::of(stripe.send(&request).await);
            let line = Line::new("usage_report", "alarm").field("meter", &batch.meter).field("units", &batch.value);
            match outcome {
                ReportOutcome::Counted | ReportOutcome::AlreadyCounted => {
                    sql.exec("DELETE FROM batches WHERE identifier = ?", vec![text(&batch.identifier)])?;
                    sql.exec(
                        "INSERT INTO reported (meter, units) VALUES (?, ?)
                         ON CONFLICT (meter) DO UPDATE SET units = units + excluded.units",
                        vec![text(&batch.meter), int(batch.value)],
                    )?;
                    line.field("outcome", outcome.as_str()).write();
                }
                ReportOutcome::Failed(code) => {
                    let attempts = batch.attempts + 1;
                    let wait = retry_delay(attempts as u32, config.usage_report_interval);
                    sql.exec(
                        "UPDATE batches SET attempts = ?, next_at = ?, last_error = ? WHERE identifier = ?",
                        vec![int(attempts), int(now + wait), text(code), text(&batch.identifier)],
                    )?;
                    line.field("outcome", "retry_later")
                        .field("code", code)
                        .field("attempts", &attempts)
                        .field("retry_in_s", &wait)
                        .level(Level::Warn)
                        .write();
                }
            }
        }
        form_batches(&sql)?;
        self.schedule_next(&sql, now, config.usage_report_interval).await
    }

    /// The next alarm: when the earliest batch is due, or one interval on
    /// while units wait for a batch (or for a customer).
    async fn schedule_next(&self, sql: &SqlStorage, now: i64, interval: i64) -> Result<()> {
        let next: Vec<NextAt> = sql.exec("SELECT MIN(next_at) AS next_at FROM batches", None)?.to_array()?;
        let waiting: Vec<Units> = sql.exec("SELECT COUNT(*) AS units FROM pending", None)?.to_array()?;
        let batch_at = next.first().and_then(|n| n.next_at);
        let pending = waiting.first().and_then(|w| w.units).unwrap_or(0) > 0;
        let at = match (batch_at, pending) {
            (Some(at), _) => Some(at.max(now + 1)),
            (None, true) => Some(now + interval),
            (None, false) => None,
        };
        if let Some(at) = at {
            self.state.storage().set_alarm(Duration::from_secs((at - now).max(1) as u64)).await?;
        }
        Ok(())
    }
}

/// Applies one ask to the counter's storage, with no await inside: the
/// status, the JSON answer, and whether a billed unit was added.
/// `customer_changed`: the ask names a customer this instance has not
/// written yet.
fn apply(sql: &SqlStorage, ask: &Ask, customer_changed: bool) -> Result<(u16, String, bool)> {
    // The customer with the identity (which never changes), written only
    // when this instance has not written that customer yet.
    if let Some(customer) = ask.customer.as_ref().filter(|_| customer_changed) {
        sql.exec(
            "INSERT INTO meta (k, v) VALUES ('identity', ?) ON CONFLICT (k) DO NOTHING",
            vec![text(ask.identity.as_str())],
        )?;
        sql.exec(
            "INSERT INTO meta (k, v) VALUES ('customer', ?)
             ON CONFLICT (k) DO UPDATE SET v = excluded.v WHERE v <> excluded.v",
            vec![text(customer)],
        )?;
    }
    if let Some(key) = &ask.idempotency_key {
        sql.exec("DELETE FROM replays WHERE at < ?", vec![int(ask.now - REPLAY_SECS)])?;
        let seen: Vec<Replay> =
            sql.exec("SELECT fingerprint, status, answer FROM replays WHERE key = ?", vec![text(key)])?.to_array()?;
        if let Some(seen) = seen.into_iter().next() {
            if seen.fingerprint != fingerprint(&ask.meter, ask.amount) {
                let error = crate::error::ApiError::conflict(
                    "idempotency_key_reused",
                    "this Idempotency-Key was used for another meter or amount",
                );
                return Ok((409, error.to_json(), false));
            }
            return Ok((seen.status as u16, seen.answer, false));
        }
    }
    let rows: Vec<Used> = sql
        .exec("SELECT used FROM counts WHERE meter = ? AND win = ?", vec![text(&ask.meter), text(&ask.window.key)])?
        .to_array()?;
    let used = rows.first().map(|r| r.used.max(0) as u64).unwrap_or(0);
    let (used, consumed) = match ask.amount {
        0 => (used, false),
        amount => match consume(used, amount, ask.limit) {
            Some(after) => {
                sql.exec(
                    "INSERT INTO counts (meter, win, used, resets_at) VALUES (?, ?, ?, ?)
                     ON CONFLICT (meter, win) DO UPDATE SET used = excluded.used",
                    vec![text(&ask.meter), text(&ask.window.key), int(units(after)), int(ask.window.resets_at)],
                )?;
                if let Some(event_name) = &ask.billed_as {
                    sql.exec(
                        "INSERT INTO pending (meter, event_name, amount, at) VALUES (?, ?, ?, ?)",
                        vec![text(&ask.meter), text(event_name), int(units(amount)), int(ask.now)],
                    )?;
                }
                (after, true)
            }
            None => (used, false),
        },
    };
    let mut answer = balance(ask, used, consumed);
    if ask.amount == 0 && ask.billed_as.is_some() {
        let reported: Vec<Units> =
            sql.exec("SELECT units FROM reported WHERE meter = ?", vec![text(&ask.meter)])?.to_array()?;
        let waiting: Vec<Units> = sql
            .exec(
                "SELECT (SELECT COALESCE(SUM(amount), 0) FROM pending WHERE meter = ?1)
                      + (SELECT COALESCE(SUM(value), 0) FROM batches WHERE meter = ?1) AS units",
                vec![text(&ask.meter)],
            )?
            .to_array()?;
        answer.reported = Some(reported.first().and_then(|r| r.units).unwrap_or(0).max(0) as u64);
        answer.unreported = Some(waiting.first().and_then(|r| r.units).unwrap_or(0).max(0) as u64);
    }
    let status = status_of(&answer);
    let body = serde_json::to_string(&answer).map_err(|e| worker::Error::RustError(e.to_string()))?;
    if let Some(key) = &ask.idempotency_key {
        if ask.amount > 0 {
            sql.exec(
                "INSERT INTO replays (key, fingerprint, status, answer, at) VALUES (?, ?, ?, ?, ?)",
                vec![
                    text(key),
                    text(&fingerprint(&ask.meter, ask.amount)),
                    int(i64::from(status)),
                    text(&body),
                    int(ask.now),
                ],
            )?;
        }
    }
    Ok((status, body, consumed && ask.billed_as.is_some()))
}

/// Moves each meter's pending units into one batch, when the meter has no
/// batch being reported and the identity has a customer. The batch is
/// named before it is sent, so every retry sends the same identifier.
fn form_batches(sql: &SqlStorage) -> Result<()> {
    let customer: Vec<Text> = sql.exec("SELECT v FROM meta WHERE k = 'customer'", None)?.to_array()?;
    let Some(customer) = customer.into_iter().next().map(|t| t.v) else { return Ok(()) };
    let epoch = epoch(sql)?;
    let meters: Vec<PendingMeter> = sql
        .exec(
            "SELECT DISTINCT meter, event_name FROM pending
             WHERE meter NOT IN (SELECT meter FROM batches) ORDER BY meter",
            None,
        )?
        .to_array()?;
    for m in meters {
        let span: Vec<Span> = sql
            .exec(
                "SELECT MIN(seq) AS first, MAX(seq) AS last, SUM(amount) AS value, MAX(at) AS at FROM
                   (SELECT seq, amount, at FROM pending WHERE meter = ? AND event_name = ? ORDER BY seq LIMIT ?)",
                vec![text(&m.meter), text(&m.event_name), int(UNITS_PER_BATCH)],
            )?
            .to_array()?;
        let Some(Span { first: Some(first), last: Some(last), value: Some(value), at: Some(at) }) =
            span.into_iter().next()
        else {
            continue;
        };
        let id = identifier_for(sql, &epoch, first)?;
        sql.exec(
            "INSERT INTO batches (identifier, meter, event_name, customer, value, at) VALUES (?, ?, ?, ?, ?, ?)",
            vec![text(&id), text(&m.meter), text(&m.event_name), text(&customer), int(value), int(at)],
        )?;
        sql.exec(
            "DELETE FROM pending WHERE meter = ? AND event_name = ? AND seq BETWEEN ? AND ?",
            vec![text(&m.meter), text(&m.event_name), int(first), int(last)],
        )?;
    }
    Ok(())
}

/// The counter's epoch: made once, when its storage is new.
fn epoch(sql: &SqlStorage) -> Result<String> {
    let found: Vec<Text> = sql.exec("SELECT v FROM meta WHERE k = 'epoch'", None)?.to_array()?;
    if let Some(t) = found.into_iter().next() {
        return Ok(t.v);
    }
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let made = hex::encode(bytes);
    sql.exec("INSERT INTO meta (k, v) VALUES ('epoch', ?)", vec![text(&made)])?;
    Ok(made)
}

/// The identifier of the batch that starts at `first`: the identity is the
/// object's name, kept in `meta` by the first ask.
fn identifier_for(sql: &SqlStorage, epoch: &str, first: i64) -> Result<String> {
    let found: Vec<Text> = sql.exec("SELECT v FROM meta WHERE k = 'identity'", None)?.to_array()?;
    let identity = found.into_iter().next().map(|t| t.v).unwrap_or_default();
    let id =
        crate::identity::IdentityId::parse(&identity).map_err(|_| worker::Error::RustError("no identity".into()))?;
    Ok(identifier(&id, epoch, first))
}
