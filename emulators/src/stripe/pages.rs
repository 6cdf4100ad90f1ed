//! The hosted pages behind Checkout and Portal session URLs: tiny HTML that
//! lets a human (or a browser test) pay or manage a subscription locally.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};

use super::app::{App, Ctx};
use super::form;
use super::ops::{checkout, subscriptions};
use super::resources::checkout::CheckoutStatus;

/// `/checkout/{id}` and `/portal/{id}` with their form actions.
pub(crate) fn page_router() -> Router<App> {
    Router::new()
        .route("/checkout/{id}", get(checkout_page))
        .route("/checkout/{id}/pay", post(pay))
        .route("/portal/{id}", get(portal_page))
        .route("/portal/{id}/subscriptions/{sub}/cancel_at_period_end", post(portal_cancel))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body style=\"font-family:sans-serif;max-width:36em;margin:3em auto\"><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    ))
}

fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, page("Not found", &format!("<p>No such {}.</p>", escape(what)))).into_response()
}

fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_string())]).into_response()
}

async fn checkout_page(State(app): State<App>, Path(id): Path<String>) -> Response {
    let state = app.lock();
    let Some(session) = state.checkout_sessions.get(&id) else {
        return not_found("checkout session");
    };
    match session.status {
        CheckoutStatus::Open => {}
        CheckoutStatus::Complete => return page("Checkout", "<p>This session is complete.</p>").into_response(),
        CheckoutStatus::Expired => {
            return page("Checkout", "<p>This Checkout Session has expired.</p>").into_response()
        }
    }
    let lines: String = session
        .line_items
        .iter()
        .map(|l| {
            let (amount, interval) =
                state.prices.get(&l.price).map_or((0, "month"), |p| (p.unit_amount, p.interval.as_str()));
            format!(
                "<li>{} &times; {}: ${}.{:02} / {}</li>",
                l.quantity,
                escape(&l.price),
                amount / 100,
                amount % 100,
                interval
            )
        })
        .collect();
    let trial = session.trial_period_days.map_or(String::new(), |d| format!("<p>Includes a {d}-day trial.</p>"));
    let cancel = session
        .cancel_url
        .as_deref()
        .map_or(String::new(), |u| format!(" <a id=\"cancel\" href=\"{}\">Cancel</a>", escape(u)));
    let body = format!(
        "<ul>{lines}</ul>{trial}<form method=\"post\" action=\"/checkout/{id}/pay\">\
         <button id=\"pay\" type=\"submit\">Pay and subscribe</button>{cancel}</form>",
        id = escape(&id)
    );
    page("Checkout", &body).into_response()
}

async fn pay(State(app): State<App>, Path(id): Path<String>, Extension(ctx): Extension<Ctx>) -> Response {
    let mut state = app.lock();
    if !state.checkout_sessions.contains_key(&id) {
        return not_found("checkout session");
    }
    match checkout::complete(&mut state, &ctx, &id) {
        Err(err) => {
            (StatusCode::BAD_REQUEST, page("Checkout", &format!("<p>{}</p>", escape(&err.message)))).into_response()
        }
        Ok(_) => match state.checkout_sessions.get(&id).and_then(|s| s.success_url.clone()) {
            Some(url) => see_other(&url.replace("{CHECKOUT_SESSION_ID}", &id)),
            None => page("Checkout", "<p>Thanks, you are subscribed.</p>").into_response(),
        },
    }
}

async fn portal_page(State(app): State<App>, Path(id): Path<String>) -> Response {
    let state = app.lock();
    let Some(session) = state.portal_sessions.get(&id) else {
        return not_found("portal session");
    };
    let mut subs: Vec<_> =
        state.subscriptions.values().filter(|s| s.customer == session.customer && !s.status.is_ended()).collect();
    subs.sort_by_key(|s| s.seq);
    let rows: String = subs
        .iter()
        .map(|s| {
            let price = s.items.first().map_or("", |i| i.price.as_str());
            let (label, value) =
                if s.cancel_at_period_end { ("Don't cancel", "false") } else { ("Cancel at period end", "true") };
            format!(
                "<li>{} ({}, {}) <form style=\"display:inline\" method=\"post\" \
                 action=\"/portal/{pid}/subscriptions/{sid}/cancel_at_period_end\">\
                 <input type=\"hidden\" name=\"value\" value=\"{value}\"><button type=\"submit\">{label}</button></form></li>",
                escape(price),
                s.status.as_str(),
                if s.cancel_at_period_end { "cancels at period end" } else { "renews" },
                pid = escape(&id),
                sid = escape(&s.id),
            )
        })
        .collect();
    let back = session
        .return_url
        .as_deref()
        .map_or(String::new(), |u| format!("<p><a id=\"return\" href=\"{}\">Return</a></p>", escape(u)));
    page("Billing portal", &format!("<ul>{rows}</ul>{back}")).into_response()
}

async fn portal_cancel(
    State(app): State<App>,
    Path((id, sub)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    let cancel = std::str::from_utf8(&body)
        .ok()
        .and_then(|b| form::parse(b).ok())
        .and_then(|v| v.get("value").and_then(|v| v.as_str()).map(|v| v == "true"))
        .unwrap_or(true);
    let mut state = app.lock();
    let Some(customer) = state.portal_sessions.get(&id).map(|p| p.customer.clone()) else {
        return not_found("portal session");
    };
    if state.subscriptions.get(&sub).is_none_or(|s| s.customer != customer) {
        return not_found("subscription");
    }
    let _ = subscriptions::set_cancel_at_period_end(&mut state, &ctx, &sub, cancel);
    see_other(&format!("/portal/{id}"))
}
