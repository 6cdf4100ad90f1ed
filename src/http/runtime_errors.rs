//! How the Workers runtime's own failures become [`ApiError`]s, so handlers
//! pass them on with `?` like the core's errors.

use worker::kv::KvError;

use crate::error::ApiError;

/// A runtime call that failed inside the worker (building headers or a
/// response): a 500, since retrying the same request will not help.
impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::internal(format!("the Workers runtime failed: {e}"))
    }
}

/// KV could not be read or written: 503, so Stripe and Kratos retry.
impl From<KvError> for ApiError {
    fn from(e: KvError) -> Self {
        ApiError::unavailable("kv_unavailable", format!("BILLING_KV failed: {e}"))
    }
}
