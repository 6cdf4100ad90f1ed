//! `/v1/billing/meters` (create, list, retrieve, update, deactivate,
//! reactivate, event summaries) and `POST /v1/billing/meter_events`.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::{json, Value};

use crate::stripe::app::App;
use crate::stripe::errors::{ApiError, ApiResult};
use crate::stripe::expand::expand;
use crate::stripe::ids;
use crate::stripe::list::paginate;
use crate::stripe::ops::meters::{self, NewMeter, NewMeterEvent, DEFAULT_CUSTOMER_KEY, DEFAULT_VALUE_KEY};
use crate::stripe::params::Params;
use crate::stripe::resources::meter::Formula;

use super::items::prefixed;

/// Stripe's longest `event_name` and `identifier` for a meter event.
const MAX_EVENT_STRING: usize = 100;

/// How far back a meter event's `timestamp` may lie: 35 calendar days.
const MAX_AGE: i64 = 35 * 24 * 60 * 60;

/// How far ahead it may lie: 5 minutes, for clock drift.
const MAX_AHEAD: i64 = 5 * 60;

/// The sub-hash `key` with its keys limited to `allowed`; errors name the
/// nested parameter (`customer_mapping[type]`). `None` when absent.
fn nested(params: &Params, key: &str, allowed: &[&str]) -> Result<Option<Params>, ApiError> {
    if !params.0.contains_key(key) {
        return Ok(None);
    }
    let child = params.child(key)?;
    child.only(allowed).map_err(|e| prefixed(e, key))?;
    Ok(Some(child))
}

/// A required non-empty string inside the sub-hash `key`.
fn nested_str(child: &Params, key: &str, field: &str) -> Result<String, ApiError> {
    child.required_str(field).map(str::to_string).map_err(|e| prefixed(e, key))
}

/// `POST /v1/billing/meters`
pub(crate) async fn create(State(app): State<App>, Extension(params): Extension<Params>) -> ApiResult {
    params.only(&[
        "display_name",
        "event_name",
        "default_aggregation",
        "customer_mapping",
        "value_settings",
        "event_time_window",
    ])?;
    let display_name = params.required_str("display_name")?.to_string();
    let event_name = params.required_str("event_name")?.to_string();
    let aggregation = nested(&params, "default_aggregation", &["formula"])?
        .ok_or_else(|| ApiError::missing("default_aggregation"))?;
    let formula = nested_str(&aggregation, "default_aggregation", "formula")?;
    let formula = Formula::parse(&formula).ok_or_else(|| {
        ApiError::invalid(
            "default_aggregation[formula]",
            "parameter_invalid_string",
            format!("Invalid default_aggregation[formula]: must be one of count, last, or sum (got `{formula}`)."),
        )
    })?;
    let customer_key = match nested(&params, "customer_mapping", &["type", "event_payload_key"])? {
        None => DEFAULT_CUSTOMER_KEY.to_string(),
        Some(mapping) => {
            let kind = nested_str(&mapping, "customer_mapping", "type")?;
            if kind != "by_id" {
                return Err(ApiError::invalid(
                    "customer_mapping[type]",
                    "parameter_invalid_string",
                    format!("Invalid customer_mapping[type]: must be by_id (got `{kind}`)."),
                ));
            }
            nested_str(&mapping, "customer_mapping", "event_payload_key")?
        }
    };
    let value_key = match nested(&params, "value_settings", &["event_payload_key"])? {
        None => DEFAULT_VALUE_KEY.to_string(),
        Some(settings) => nested_str(&settings, "value_settings", "event_payload_key")?,
    };
    if params.0.contains_key("event_time_window") {
        // Pre-aggregated meters replace earlier events of a window with the
        // latest one; refused rather than counted as raw events.
        return Err(ApiError::invalid(
            "event_time_window",
            "parameter_unknown",
            "event_time_window (pre-aggregated meters) is accepted by Stripe but not modelled by the Stripe emulator."
                .to_string(),
        ));
    }
    let mut state = app.lock();
    let new = NewMeter { display_name, event_name, formula, customer_key, value_key };
    Ok(Json(meters::create(&mut state, new)?))
}

/// `GET /v1/billing/meters?status=`: newest first.
pub(crate) async fn list(State(app): State<App>, Extension(params): Extension<Params>) -> ApiResult {
    params.only(&["status", "limit", "starting_after", "ending_before"])?;
    let active = match params.str("status")? {
        None => None,
        Some("active") => Some(true),
        Some("inactive") => Some(false),
        Some(other) => {
            return Err(ApiError::invalid(
                "status",
                "parameter_invalid_string",
                format!("Invalid status: must be one of active or inactive (got `{other}`)."),
            ))
        }
    };
    let state = app.lock();
    let mut found: Vec<_> = state.meters.values().filter(|m| active.is_none_or(|a| m.active == a)).collect();
    found.sort_by_key(|m| std::cmp::Reverse(m.seq));
    let items = found.into_iter().map(|m| (m.id.clone(), m.to_json(state.livemode))).collect();
    let mut page = paginate(items, &params, "/v1/billing/meters", "billing.meter")?;
    expand(&state, &mut page, &params.expand());
    Ok(Json(page))
}

/// `GET /v1/billing/meters/{id}`
pub(crate) async fn retrieve(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let state = app.lock();
    let meter = state.meters.get(&id).ok_or_else(|| ApiError::no_such("billing.meter", &id))?;
    Ok(Json(meter.to_json(state.livemode)))
}

/// `POST /v1/billing/meters/{id}`: only `display_name` can change.
pub(crate) async fn update(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    params.only(&["display_name"])?;
    let display_name = match params.str("display_name")? {
        None => None,
        Some(_) => Some(params.required_str("display_name")?.to_string()),
    };
    let mut state = app.lock();
    Ok(Json(meters::rename(&mut state, &id, display_name)?))
}

/// `POST /v1/billing/meters/{id}/deactivate`: its events stop counting.
pub(crate) async fn deactivate(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    params.only(&[])?;
    let mut state = app.lock();
    Ok(Json(meters::set_active(&mut state, &id, false)?))
}

/// `POST /v1/billing/meters/{id}/reactivate`
pub(crate) async fn reactivate(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    params.only(&[])?;
    let mut state = app.lock();
    Ok(Json(meters::set_active(&mut state, &id, true)?))
}

/// A required Unix time aligned with a minute, as summaries require.
fn minute_time(params: &Params, key: &str) -> Result<i64, ApiError> {
    let at = params.int(key)?.ok_or_else(|| ApiError::missing(key))?;
    if at.rem_euclid(60) != 0 {
        return Err(ApiError::invalid(
            key,
            "parameter_invalid_integer",
            format!("{key} must be aligned with minute boundaries."),
        ));
    }
    Ok(at)
}

/// `GET /v1/billing/meters/{id}/event_summaries?customer=&start_time=&end_time=`:
/// one `billing.meter_event_summary` for the whole range (per-hour or
/// per-day `value_grouping_window` is not modelled).
pub(crate) async fn event_summaries(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    params.only(&[
        "customer",
        "start_time",
        "end_time",
        "value_grouping_window",
        "limit",
        "starting_after",
        "ending_before",
    ])?;
    let customer = params.required_str("customer")?.to_string();
    let start = minute_time(&params, "start_time")?;
    let end = minute_time(&params, "end_time")?;
    if start >= end {
        return Err(ApiError::invalid(
            "end_time",
            "parameter_invalid_integer",
            "end_time must be after start_time.".to_string(),
        ));
    }
    if params.0.contains_key("value_grouping_window") {
        return Err(ApiError::invalid(
            "value_grouping_window",
            "parameter_unknown",
            "value_grouping_window is accepted by Stripe but not modelled by the Stripe emulator.".to_string(),
        ));
    }
    let state = app.lock();
    let meter = state.meters.get(&id).ok_or_else(|| ApiError::no_such("billing.meter", &id))?;
    if !state.customers.contains_key(&customer) {
        return Err(ApiError::no_such_param("customer", &customer, "customer"));
    }
    let prefix = if state.livemode { "mtrusg_" } else { "mtrusg_test_" };
    let summary_id = ids::new_id(prefix, 32);
    let summary = json!({
        "id": summary_id,
        "object": "billing.meter_event_summary",
        "aggregated_value": meters::aggregate(&state, meter, &customer, start, end),
        "end_time": end,
        "livemode": state.livemode,
        "meter": meter.id,
        "start_time": start
    });
    let url = format!("/v1/billing/meters/{id}/event_summaries");
    Ok(Json(paginate(vec![(summary_id, summary)], &params, &url, "billing.meter_event_summary")?))
}

/// `payload[...]`: a hash of strings (dimensions beyond the two keys are kept).
fn payload(params: &Params) -> Result<BTreeMap<String, String>, ApiError> {
    if !params.0.contains_key("payload") {
        return Err(ApiError::missing("payload"));
    }
    let mut payload = BTreeMap::new();
    for (key, value) in params.child("payload")?.0 {
        let Value::String(value) = value else {
            let param = format!("payload[{key}]");
            return Err(ApiError::invalid(&param, "parameter_invalid_string", format!("Invalid string: {param}")));
        };
        payload.insert(key, value);
    }
    Ok(payload)
}

/// The non-empty value of `payload[key]`.
fn payload_value<'a>(payload: &'a BTreeMap<String, String>, key: &str) -> Result<&'a str, ApiError> {
    let param = format!("payload[{key}]");
    match payload.get(key).map(String::as_str) {
        None | Some("") => Err(ApiError::missing(&param)),
        Some(value) => Ok(value),
    }
}

/// An optional sign and digits only: `"3"`, `"-2"`, never `"1.5"`, `"1e3"` or `" 3"`.
fn whole_number(raw: &str) -> Option<i64> {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

/// A string parameter within Stripe's 100 characters.
fn short(key: &str, value: &str) -> Result<(), ApiError> {
    if value.chars().count() > MAX_EVENT_STRING {
        return Err(ApiError::invalid(
            key,
            "parameter_invalid_string",
            format!("Invalid {key}: must be at most {MAX_EVENT_STRING} characters."),
        ));
    }
    Ok(())
}

/// `timestamp` (default now), within 35 days back and 5 minutes ahead of `now`.
fn event_time(timestamp: Option<i64>, now: i64) -> Result<i64, ApiError> {
    let Some(at) = timestamp else {
        return Ok(now);
    };
    let (earliest, latest) = (now - MAX_AGE, now + MAX_AHEAD);
    let message = if at < earliest {
        // Stripe's words, as observed by its users.
        format!(
            "The event timestamp cannot be more than 35 days in past. Expected a timestamp greater than or equal to \
             {earliest}."
        )
    } else if at > latest {
        format!(
            "The event timestamp cannot be more than 5 minutes in the future. Expected a timestamp less than or \
             equal to {latest}."
        )
    } else {
        return Ok(at);
    };
    Err(ApiError::bad_request(message).param("timestamp"))
}

/// `POST /v1/billing/meter_events`: checks what Stripe checks on arrival
/// (names, payload keys of the event's meter, whole-number value, timestamp
/// window), then takes the event in (see `ops::meters`).
pub(crate) async fn create_event(State(app): State<App>, Extension(params): Extension<Params>) -> ApiResult {
    params.only(&["event_name", "payload", "identifier", "timestamp"])?;
    let event_name = params.required_str("event_name")?.to_string();
    short("event_name", &event_name)?;
    // An empty string unsets a parameter on Stripe: as if none was sent.
    let identifier = params.str("identifier")?.filter(|id| !id.is_empty()).map(str::to_string);
    if let Some(identifier) = &identifier {
        short("identifier", identifier)?;
    }
    let timestamp = params.int("timestamp")?;
    let payload = payload(&params)?;

    let mut state = app.lock();
    let timestamp = event_time(timestamp, state.now())?;
    let (customer_key, value_key) = meters::payload_keys(&state, &event_name);
    let customer = payload_value(&payload, &customer_key)?.to_string();
    let raw = payload_value(&payload, &value_key)?;
    let value = whole_number(raw).ok_or_else(|| {
        ApiError::invalid(
            &format!("payload[{value_key}]"),
            "parameter_invalid_integer",
            format!("Invalid payload[{value_key}]: `{raw}`. Meter event values only accept whole numbers."),
        )
    })?;
    let event = NewMeterEvent { event_name, identifier, payload, customer, value, timestamp };
    Ok(Json(meters::record(&mut state, event)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_whole_numbers_and_may_be_negative() {
        assert_eq!(whole_number("25"), Some(25));
        assert_eq!(whole_number("-3"), Some(-3));
        assert_eq!(whole_number("007"), Some(7));
        for bad in ["1.5", "1.0", "1e3", " 3", "+3", "", "-", "3 ", "0x10", "99999999999999999999"] {
            assert_eq!(whole_number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_timestamp_window_is_35_days_back_and_5_minutes_ahead() {
        let now = 1_800_000_000;
        assert_eq!(event_time(None, now).unwrap(), now);
        assert!(event_time(Some(now - MAX_AGE), now).is_ok());
        assert!(event_time(Some(now + MAX_AHEAD), now).is_ok());
        assert_eq!(event_time(Some(now - MAX_AGE - 1), now).unwrap_err().param.as_deref(), Some("timestamp"));
        assert!(event_time(Some(now + MAX_AHEAD + 1), now).is_err());
    }
}
