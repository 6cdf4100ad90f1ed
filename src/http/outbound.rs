//! Outbound HTTP to Stripe and Kratos: one request with a deadline, its
//! status and body. What the answer means is the core request's business
//! (`StripeRequest::read`, `KratosRequest::read`); a call that gets no
//! answer is a [`Transport`] failure.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use worker::{Fetch, Headers, Method, Request, RequestInit};

use crate::runtime::timer::Deadline;

use crate::upstream::{self as core, Answer, Transport};

/// How long one upstream call may take. Kratos waits 30 s for a hook and
/// Stripe about 20 s for a webhook answer, so this leaves room for a few.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(8);

/// Runs `fut` unless `limit` passes first.
pub async fn with_timeout<F: Future>(limit: Duration, fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut delay = pin!(Deadline::after(limit));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if delay.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

fn method(m: core::Method) -> Method {
    match m {
        core::Method::Get => Method::Get,
        core::Method::Post => Method::Post,
        core::Method::Patch => Method::Patch,
        core::Method::Delete => Method::Delete,
    }
}

/// Sends one request: its answer (status, body, and whether it replays a
/// result saved under its Idempotency-Key), or why none came.
pub async fn send(m: core::Method, url: &str, headers: Headers, body: Option<String>) -> Result<Answer, Transport> {
    let mut init = RequestInit::new();
    init.with_method(method(m)).with_headers(headers);
    if let Some(body) = body {
        init.with_body(Some(body.into()));
    }
    let request = Request::new_with_init(url, &init)
        .map_err(|e| Transport::Unreachable(format!("cannot build a request for {}: {e}", core::path_only(url))))?;
    let call = async {
        let mut response = Fetch::Request(request).send().await?;
        let header = |name: &str| response.headers().get(name).ok().flatten();
        let replay_of = match header("idempotent-replayed").as_deref() {
            Some("true") => header("original-request").or_else(|| header("request-id")).or_else(|| Some(String::new())),
            _ => None,
        };
        let body = response.bytes().await?;
        Ok::<_, worker::Error>(Answer { status: response.status_code(), body, replay_of })
    };
    match with_timeout(UPSTREAM_TIMEOUT, call).await {
        Some(Ok(answer)) => Ok(answer),
        Some(Err(e)) => Err(Transport::Unreachable(e.to_string())),
        None => Err(Transport::Timeout(UPSTREAM_TIMEOUT.as_secs())),
    }
}

/// Waits, for backing off between attempts.
pub async fn sleep(d: Duration) {
    Deadline::after(d).await
}
