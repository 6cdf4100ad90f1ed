//! Reading request bodies with a bound, so a huge body costs nothing: the
//! body is read as the runtime's stream, chunk by chunk with a running
//! count, and refused (413) as soon as the count passes the cap, whether
//! or not the request named its length (a chunked upload is never read to
//! its end first, nor copied whole into wasm memory, which never shrinks).

use worker::js_sys::{Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys::ReadableStreamDefaultReader;
use worker::Request;

use super::headers::header;
use crate::error::ApiError;

/// Webhook and hook bodies are a few KB; Stripe events stay far below this.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

fn too_large() -> ApiError {
    ApiError::new(413, "body_too_large", format!("the body exceeds {MAX_BODY_BYTES} bytes"))
}

fn unreadable(_: JsValue) -> ApiError {
    ApiError::bad_request("unreadable_body", "the body could not be read")
}

/// The raw body bytes, refused (413) once more than [`MAX_BODY_BYTES`]
/// arrived (at once when `Content-Length` says so).
pub async fn read_bounded(req: &mut Request) -> Result<Vec<u8>, ApiError> {
    let declared = header(req, "content-length").and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let Some(stream) = req.inner().body() else { return Ok(Vec::new()) };
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::with_capacity(declared.unwrap_or(0));
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(unreadable)?;
        if Reflect::get(&chunk, &JsValue::from_str("done")).map_err(unreadable)?.is_truthy() {
            return Ok(body);
        }
        let bytes: Uint8Array = Reflect::get(&chunk, &JsValue::from_str("value")).map_err(unreadable)?.unchecked_into();
        let start = body.len();
        let end = start + bytes.length() as usize;
        if end > MAX_BODY_BYTES {
            // Not read further: the rest of the upload is dropped with the
            // request once the answer is sent.
            return Err(too_large());
        }
        body.resize(end, 0);
        bytes.copy_to(&mut body[start..]);
    }
}
