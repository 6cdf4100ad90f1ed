//! Reading request bodies with a bound, so a huge body costs nothing: the
//! body is refused (413) as soon as more than the cap arrived, whether or
//! not the request named its length (a chunked upload is never read to its
//! end first; `runtime::stream`).

use worker::Request;

use super::headers::header;
use crate::error::ApiError;
use crate::runtime::stream::{read_capped, read_declared, Unread};

/// Webhook and hook bodies are a few KB; Stripe events stay far below this.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

fn too_large() -> ApiError {
    ApiError::new(413, "body_too_large", format!("the body exceeds {MAX_BODY_BYTES} bytes"))
}

/// The raw body bytes, refused (413) once more than [`MAX_BODY_BYTES`]
/// arrived (at once when `Content-Length` says so).
pub async fn read_bounded(req: &mut Request) -> Result<Vec<u8>, ApiError> {
    let declared = header(req, "content-length").and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let read = match declared {
        Some(_) => read_declared(req).await,
        // Chunked: read as it arrives, and refused once past the cap.
        None => read_capped(req, MAX_BODY_BYTES, 0).await,
    };
    read.map_err(|e| match e {
        Unread::TooLarge => too_large(),
        Unread::Failed => ApiError::bad_request("unreadable_body", "the body could not be read"),
    })
}
