//! Outbound HTTP to Stripe and Kratos: one request with a deadline, its
//! status and body. Every failure to get an answer becomes a 502/504-style
//! `ApiError` so that the caller's caller (Stripe, Kratos) retries.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use worker::{Delay, Fetch, Headers, Method, Request, RequestInit};

use crate::error::ApiError;

/// How long one upstream call may take. Kratos waits 30 s for a hook and
/// Stripe about 20 s for a webhook answer, so this leaves room for a few.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(8);

/// An upstream answer: status and raw body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Runs `fut` unless `limit` passes first.
pub async fn with_timeout<F: Future>(limit: Duration, fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut delay = pin!(Delay::from(limit));
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

/// Sends one request. `service` names the upstream in error messages.
pub async fn send(
    service: &'static str,
    method: Method,
    url: &str,
    headers: Headers,
    body: Option<String>,
) -> Result<Answer, ApiError> {
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers);
    if let Some(body) = body {
        init.with_body(Some(body.into()));
    }
    let request = Request::new_with_init(url, &init)
        .map_err(|e| ApiError::config(format!("{service}: cannot build a request for {url}: {e}")))?;
    let call = async {
        let mut response = Fetch::Request(request).send().await?;
        let body = response.bytes().await?;
        Ok::<_, worker::Error>(Answer { status: response.status_code(), body })
    };
    match with_timeout(UPSTREAM_TIMEOUT, call).await {
        Some(Ok(answer)) => Ok(answer),
        Some(Err(e)) => Err(ApiError::upstream("upstream_unreachable", format!("{service} could not be reached: {e}"))),
        None => Err(ApiError::new(
            504,
            "upstream_timeout",
            format!("{service} did not answer within {} s", UPSTREAM_TIMEOUT.as_secs()),
        )),
    }
}

/// Waits, for backing off between attempts.
pub async fn sleep(d: Duration) {
    Delay::from(d).await
}
