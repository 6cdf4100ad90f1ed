//! Reading request bodies with a bound, so a huge body costs nothing.

use worker::Request;

use super::headers::header;
use crate::error::ApiError;

/// Webhook and hook bodies are a few KB; Stripe events stay far below this.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

fn too_large() -> ApiError {
    ApiError::new(413, "body_too_large", format!("the body exceeds {MAX_BODY_BYTES} bytes"))
}

/// The raw body bytes, refused (413) past [`MAX_BODY_BYTES`].
pub async fn read_bounded(req: &mut Request) -> Result<Vec<u8>, ApiError> {
    let declared = header(req, "content-length").and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let body = req.bytes().await.map_err(|_| ApiError::bad_request("unreadable_body", "the body could not be read"))?;
    if body.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(body)
}
