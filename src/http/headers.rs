//! Reading a request's headers, the one way every handler does it.

use worker::Request;

/// The header's value, or `None` when it is absent (or the runtime could
/// not read it, which for a request's own headers it never fails to).
pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}
