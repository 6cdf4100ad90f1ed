//! What calls to Stripe and Kratos share: the HTTP method, and why a call
//! got no answer at all. Each service's requests (`stripe::request`,
//! `kratos::request`) know how their answers are read; the shell only sends
//! them and hands back the status and body.

/// The HTTP methods the upstream APIs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    /// The method name as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

use crate::error::{redact_emails, ApiError, UpstreamDetail};

/// What an upstream answered, as the shell hands it to the request that
/// reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// When Stripe replayed a result saved under the Idempotency-Key
    /// (`Idempotent-Replayed: true`): the request that first got it
    /// (`Original-Request`, else `Request-Id`).
    pub replay_of: Option<String>,
}

/// Why a call got no answer. Both are worth retrying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// The connection failed (refused, reset, DNS); the runtime's words.
    Unreachable(String),
    /// No answer within the deadline (seconds).
    Timeout(u64),
}

/// How a call failed, in the terms both services' errors share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No connection.
    Unreachable,
    /// No answer within the deadline.
    Timeout,
    /// An answer the call cannot read.
    BadAnswer,
    /// An error answer, which each service classifies itself.
    Answered,
}

/// A service's error kinds: which of them stand for the failures both
/// services share.
pub trait ErrorKind: Copy + PartialEq {
    /// The service's name in messages (`Stripe`, `Kratos`).
    const SERVICE: &'static str;
    /// Its id in error answers and logs (`stripe`, `kratos`).
    const ID: &'static str;
    /// No connection.
    const UNREACHABLE: Self;
    /// No answer within the deadline.
    const TIMEOUT: Self;
    /// An answer the call cannot read.
    const BAD_ANSWER: Self;

    /// The failure in the terms both services share.
    fn failure(self) -> Failure {
        match self {
            k if k == Self::UNREACHABLE => Failure::Unreachable,
            k if k == Self::TIMEOUT => Failure::Timeout,
            k if k == Self::BAD_ANSWER => Failure::BadAnswer,
            _ => Failure::Answered,
        }
    }
}

/// A classified failure of one call to Stripe or Kratos: the service's own
/// kind (`StripeErrorKind`, `KratosErrorKind`: what the caller does next),
/// which call, the status, and what the service's error body said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError<K> {
    pub kind: K,
    /// The HTTP status; `None` when no answer arrived.
    pub status: Option<u16>,
    /// The call, as `METHOD /path` without the query string.
    pub call: Option<String>,
    /// What the error body said (boxed: errors stay small to pass around).
    pub said: Box<Said>,
    /// The request whose saved answer this is, when it is an idempotent
    /// replay (see [`Answer::replay_of`]).
    pub replay_of: Option<String>,
}

/// The fields of an upstream's error body. Its `message` may echo request
/// values (an email address, for one): it leaves the worker only through
/// [`CallError::detail`], which redacts them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Said {
    /// Stripe's `error.type`, e.g. `invalid_request_error`.
    pub error_type: Option<String>,
    /// Stripe's `error.code` (`resource_missing`); Kratos' `error.id` or `error.status`.
    pub code: Option<String>,
    /// Stripe's `error.param`: which parameter was wrong.
    pub param: Option<String>,
    /// The upstream's message (Kratos: `reason` first), or why an answer was
    /// unreadable, or the transport's words.
    pub message: Option<String>,
}

impl<K: ErrorKind> CallError<K> {
    /// An error answer the service classified as `kind`.
    pub fn answered(kind: K, status: u16, said: Said) -> Self {
        Self { kind, status: Some(status), call: None, said: Box::new(said), replay_of: None }
    }

    /// An answer the call cannot read (`why` names the parser's error).
    pub fn bad_answer(status: u16, why: String) -> Self {
        Self::answered(K::BAD_ANSWER, status, Said { message: Some(why), ..Said::default() })
    }

    /// A call that got no answer.
    pub fn no_answer(t: Transport) -> Self {
        let (kind, why) = match t {
            Transport::Unreachable(why) => (K::UNREACHABLE, why),
            Transport::Timeout(secs) => (K::TIMEOUT, format!("no answer within {secs} s")),
        };
        let said = Said { message: Some(why), ..Said::default() };
        Self { kind, status: None, call: None, said: Box::new(said), replay_of: None }
    }

    /// The same error, naming the call (`METHOD /path`, query dropped).
    pub fn during(mut self, method: Method, path: &str) -> Self {
        self.call = Some(format!("{} {}", method.as_str(), path_only(path)));
        self
    }

    /// What the upstream said, for the error answer and the log.
    pub fn detail(&self) -> UpstreamDetail {
        UpstreamDetail {
            service: K::ID,
            status: self.status,
            error_type: self.said.error_type.clone(),
            code: self.said.code.clone(),
            param: self.said.param.clone(),
            message: self.said.message.as_deref().map(redact_emails),
        }
    }

    /// The answer for this failure: the shared cases (timeout, no
    /// connection, unreadable answer) here, error answers by `classify`.
    pub fn to_api_error(
        &self,
        bad_answer_code: &'static str,
        classify: impl FnOnce(K, String) -> ApiError,
    ) -> ApiError {
        let message = self.to_string();
        let api = match self.kind.failure() {
            Failure::Timeout => ApiError::new(504, "upstream_timeout", message),
            Failure::Unreachable => ApiError::upstream("upstream_unreachable", message),
            Failure::BadAnswer => ApiError::upstream(bad_answer_code, message),
            Failure::Answered => classify(self.kind, message),
        };
        api.with_upstream(self.detail())
    }
}

/// A safe one-line description: the service, the call (no query), the
/// status and the service's own code; never its message.
impl<K: ErrorKind> std::fmt::Display for CallError<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.said.code.as_deref().or(self.said.error_type.as_deref());
        f.write_str(&describe(K::SERVICE, self.call.as_deref(), self.kind.failure(), self.status, code))
    }
}

impl<K: ErrorKind + std::fmt::Debug> std::error::Error for CallError<K> {}

/// A safe one-line description of a failed call, e.g. `Stripe answered GET
/// /v1/subscriptions with 400 (parameter_unknown)`: the service, the call
/// (no query), the status and the service's own code; never its message.
fn describe(service: &str, call: Option<&str>, failure: Failure, status: Option<u16>, code: Option<&str>) -> String {
    let call = call.unwrap_or("a call");
    match failure {
        Failure::Unreachable => format!("{service} could not be reached for {call}"),
        Failure::Timeout => format!("{service} did not answer {call} in time"),
        Failure::BadAnswer => format!("{service} answered {call} with something unreadable"),
        Failure::Answered => match code {
            Some(code) => format!("{service} answered {call} with {} ({code})", status.unwrap_or(0)),
            None => format!("{service} answered {call} with {}", status.unwrap_or(0)),
        },
    }
}

/// The path without its query string, for messages and logs (a query may
/// carry values such as an email address).
pub fn path_only(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

/// Percent-encodes everything but RFC 3986 unreserved characters (so `[`,
/// `]`, `'` and `:` in search queries are encoded too, which Stripe accepts).
pub fn percent_encode_into(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
}

/// Percent-encodes one value (for a path segment or a query value).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    percent_encode_into(s, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_and_paths_without_queries() {
        assert_eq!(Method::Patch.as_str(), "PATCH");
        assert_eq!(path_only("/v1/customers?email=a%40b.c"), "/v1/customers");
        assert_eq!(path_only("/v1/customers/cus_1"), "/v1/customers/cus_1");
    }

    #[test]
    fn failures_are_described_without_messages() {
        let d = |f, code| describe("Stripe", Some("GET /v1/x"), f, Some(400), code);
        assert_eq!(
            d(Failure::Answered, Some("parameter_unknown")),
            "Stripe answered GET /v1/x with 400 (parameter_unknown)"
        );
        assert_eq!(d(Failure::Answered, None), "Stripe answered GET /v1/x with 400");
        assert_eq!(d(Failure::Timeout, None), "Stripe did not answer GET /v1/x in time");
        assert_eq!(
            describe("Kratos", None, Failure::Unreachable, None, None),
            "Kratos could not be reached for a call"
        );
    }
}
