//! A request's body and headers read from the runtime's own objects:
//! the body as its stream with a running count (a body over the cap is
//! refused while it is still arriving, and never copied whole into wasm
//! memory, which never shrinks), the headers by iterating them (so every
//! spelling of a name is seen).

use worker::js_sys::{self, Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys::{self, ReadableStreamDefaultReader};
use worker::Request;

/// The runtime's own headers object (a copy to forward).
pub type RawHeaders = web_sys::Headers;

/// Why a body was not read whole.
pub enum Unread {
    /// More than the cap arrived (nothing more is read).
    TooLarge,
    /// The runtime could not read it.
    Failed,
}

/// The whole body of a request whose `Content-Length` is at most the cap:
/// HTTP framing ends it there, so one read of it all is bounded too, and
/// costs one promise instead of a reader's lock and reads.
pub async fn read_declared(req: &Request) -> Result<Vec<u8>, Unread> {
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let buffer =
        JsFuture::from(req.inner().array_buffer().map_err(|_| Unread::Failed)?).await.map_err(|_| Unread::Failed)?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// The request's body, at most `cap` bytes of it: refused once more
/// arrived. The rest of an upload is dropped with the request.
pub async fn read_capped(req: &Request, cap: usize, expected: usize) -> Result<Vec<u8>, Unread> {
    let Some(stream) = req.inner().body() else { return Ok(Vec::new()) };
    let failed = |_: JsValue| Unread::Failed;
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::with_capacity(expected.min(cap));
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(failed)?;
        if Reflect::get(&chunk, &JsValue::from_str("done")).map_err(failed)?.is_truthy() {
            return Ok(body);
        }
        let bytes: Uint8Array = Reflect::get(&chunk, &JsValue::from_str("value")).map_err(failed)?.unchecked_into();
        let start = body.len();
        let end = start + bytes.length() as usize;
        if end > cap {
            return Err(Unread::TooLarge);
        }
        body.resize(end, 0);
        bytes.copy_to(&mut body[start..]);
    }
}

/// A copy of the request's headers (to forward), and every `(name, value)`
/// for which `keep` says so, by iterating the runtime's headers once.
pub fn headers_with(
    req: &Request,
    keep: impl FnMut(&str) -> bool,
) -> Result<(RawHeaders, Vec<(String, String)>), JsValue> {
    let headers = web_sys::Headers::new_with_headers(&req.inner().headers())?;
    let kept = kept_of(&headers, keep)?;
    Ok((headers, kept))
}

/// Every `(name, value)` of the request's headers for which `keep` says
/// so, without a copy (nothing is forwarded).
pub fn headers_matching(req: &Request, keep: impl FnMut(&str) -> bool) -> Result<Vec<(String, String)>, JsValue> {
    kept_of(&req.inner().headers(), keep)
}

/// Iterates the names only, and reads the value of those kept.
fn kept_of(headers: &web_sys::Headers, mut keep: impl FnMut(&str) -> bool) -> Result<Vec<(String, String)>, JsValue> {
    let mut kept = Vec::new();
    let names = js_sys::try_iter(&headers.keys())?.ok_or_else(|| JsValue::from_str("headers are not iterable"))?;
    for name in names {
        let name = name?.as_string().unwrap_or_default();
        if keep(&name) {
            let value = headers.get(&name)?.unwrap_or_default();
            kept.push((name, value));
        }
    }
    Ok(kept)
}
