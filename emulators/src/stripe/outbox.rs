//! The outermost layer: gives each request an event outbox and delivers what
//! it collected only once the response body has been handed to the client.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};
use tokio::sync::oneshot;

use super::app::{App, Ctx};
use super::webhooks::dispatch_after;

/// A response body that signals, by being dropped, that the answer is out.
struct NotifyOnDrop {
    inner: Body,
    _answered: oneshot::Sender<()>,
}

impl HttpBody for NotifyOnDrop {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Middleware: inserts a [`Ctx`] and schedules delivery of its events.
pub(crate) async fn outbox_layer(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let ctx = Ctx::default();
    request.extensions_mut().insert(ctx.clone());
    let response = next.run(request).await;
    let events = ctx.take_events();
    if events.is_empty() {
        return response;
    }
    let (answered, on_answered) = oneshot::channel();
    dispatch_after(app, events, on_answered);
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Body::new(NotifyOnDrop { inner: body, _answered: answered }))
}
