//! Every Kratos API call the bridge makes, as plain data the shell sends,
//! and how its answer is read: a `KratosRequest<T>` turns Kratos' status and
//! body into a `T` or a classified [`KratosError`], as `stripe::request`
//! does for Stripe. Admin calls go to `KRATOS_ADMIN_URL` with the optional
//! `KRATOS_ADMIN_TOKEN`; the session check goes to `KRATOS_PUBLIC_URL` with
//! the user's own credentials.

use serde::Deserialize;

use super::identity::{parse_identity, parse_identity_list, Identity};
use super::patch::{self, PatchOp};
use super::session::{parse_whoami, Credentials, SessionIdentity};
use crate::error::ApiError;
use crate::identity::IdentityId;
pub use crate::upstream::Method;
use crate::upstream::{percent_encode, CallError, ErrorKind, Said, Transport};

/// Which Kratos listener a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `KRATOS_ADMIN_URL`, authorised with `KRATOS_ADMIN_TOKEN` when set.
    Admin,
    /// `KRATOS_PUBLIC_URL`, authorised with the user's session.
    Public,
}

/// Reads a Kratos answer: the statuses that mean something for a call
/// become its output (or why the body is unreadable); `None` leaves the
/// answer to [`classify_kratos_error`].
type Reader<T> = fn(u16, &[u8]) -> Option<Result<T, String>>;

/// One Kratos call whose answer reads as a `T`.
#[derive(Debug, Clone)]
pub struct KratosRequest<T> {
    pub api: Api,
    pub method: Method,
    /// From the listener's root, e.g. `/admin/identities/{id}`.
    pub path: String,
    /// A JSON body (sent with `Content-Type: application/json`).
    pub json: Option<String>,
    /// The user's session, for [`Api::Public`] calls (its `Debug` is redacted).
    pub credentials: Option<Credentials>,
    read: Reader<T>,
}

/// What a JSON Patch of an identity came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patched {
    Done,
    /// Kratos refused the patch (400/409), e.g. because the identity changed
    /// shape between our read and the patch: re-read and retry.
    Refused,
    /// No such identity (deleted meanwhile).
    NotFound,
}

/// What deleting an identity came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Deleted,
    /// Kratos had no such identity (a retried deletion).
    AlreadyGone,
}

fn identity_answer(status: u16, body: &[u8]) -> Option<Result<Option<Identity>, String>> {
    match status {
        200 => Some(parse_identity(body).map(Some).map_err(|e| e.to_string())),
        404 => Some(Ok(None)),
        _ => None,
    }
}

fn identities_answer(status: u16, body: &[u8]) -> Option<Result<Vec<Identity>, String>> {
    match status {
        200 => Some(parse_identity_list(body).map_err(|e| e.to_string())),
        _ => None,
    }
}

fn patch_answer(status: u16, _: &[u8]) -> Option<Result<Patched, String>> {
    match status {
        200 | 204 => Some(Ok(Patched::Done)),
        404 => Some(Ok(Patched::NotFound)),
        400 | 409 => Some(Ok(Patched::Refused)),
        _ => None,
    }
}

fn delete_answer(status: u16, _: &[u8]) -> Option<Result<Deleted, String>> {
    match status {
        200 | 204 => Some(Ok(Deleted::Deleted)),
        404 => Some(Ok(Deleted::AlreadyGone)),
        _ => None,
    }
}

fn whoami_answer(status: u16, body: &[u8]) -> Option<Result<Option<SessionIdentity>, String>> {
    match status {
        200 => Some(parse_whoami(body).map(|s| s.active.then_some(s)).map_err(|e| e.to_string())),
        // No session, an expired one, or one needing a second factor.
        401 | 403 => Some(Ok(None)),
        _ => None,
    }
}

fn identity_path(id: &IdentityId) -> String {
    // An IdentityId is hex and dashes: nothing to escape.
    format!("/admin/identities/{id}")
}

impl KratosRequest<Option<Identity>> {
    /// `GET /admin/identities/{id}`: the identity with `metadata_admin`;
    /// `None` when Kratos has none.
    pub fn identity(id: &IdentityId) -> Self {
        Self::admin(Method::Get, identity_path(id), None, identity_answer)
    }
}

impl KratosRequest<Vec<Identity>> {
    /// `GET /admin/identities?credentials_identifier=...`: the identities
    /// that sign in with this identifier (an email), exact match.
    pub fn identities_with_identifier(identifier: &str) -> Self {
        let path = format!("/admin/identities?credentials_identifier={}", percent_encode(identifier));
        Self::admin(Method::Get, path, None, identities_answer)
    }

    /// `GET /admin/identities?page_size=1`: the cheapest authorised admin
    /// call, which tells whether Kratos accepts `KRATOS_ADMIN_TOKEN` (the
    /// deep health check).
    pub fn any_identity() -> Self {
        Self::admin(Method::Get, "/admin/identities?page_size=1".into(), None, identities_answer)
    }
}

fn no_session_answer(status: u16, _: &[u8]) -> Option<Result<bool, String>> {
    match status {
        401 => Some(Ok(true)),
        200 => Some(Ok(false)),
        _ => None,
    }
}

impl KratosRequest<bool> {
    /// `GET /sessions/whoami` with no session: `true` when Kratos answers
    /// that there is none (401), as the public API does (the deep health
    /// check: reachable, and Kratos).
    pub fn whoami_without_session() -> Self {
        Self {
            api: Api::Public,
            method: Method::Get,
            path: "/sessions/whoami".into(),
            json: None,
            credentials: None,
            read: no_session_answer,
        }
    }
}

impl KratosRequest<Patched> {
    /// `PATCH /admin/identities/{id}` with a JSON Patch.
    pub fn patch_identity(id: &IdentityId, ops: &[PatchOp]) -> Self {
        Self::admin(Method::Patch, identity_path(id), Some(patch::to_json(ops)), patch_answer)
    }
}

impl KratosRequest<Deleted> {
    /// `DELETE /admin/identities/{id}`.
    pub fn delete_identity(id: &IdentityId) -> Self {
        Self::admin(Method::Delete, identity_path(id), None, delete_answer)
    }
}

impl KratosRequest<Option<SessionIdentity>> {
    /// `GET /sessions/whoami` with the user's cookie or session token: the
    /// signed-in identity, or `None` when the session is missing, expired or
    /// inactive.
    pub fn whoami(credentials: Credentials) -> Self {
        Self {
            api: Api::Public,
            method: Method::Get,
            path: "/sessions/whoami".into(),
            json: None,
            credentials: Some(credentials),
            read: whoami_answer,
        }
    }
}

impl<T> KratosRequest<T> {
    fn admin(method: Method, path: String, json: Option<String>, read: Reader<T>) -> Self {
        Self { api: Api::Admin, method, path, json, credentials: None, read }
    }

    /// The full URL under the listener's base URL.
    pub fn url(&self, base: &str) -> String {
        format!("{}{}", base.trim_end_matches('/'), self.path)
    }

    /// What this call's answer means.
    pub fn read(&self, status: u16, body: &[u8]) -> Result<T, KratosError> {
        let result = match (self.read)(status, body) {
            Some(Ok(v)) => return Ok(v),
            Some(Err(why)) => KratosError::bad_answer(status, why),
            None => classify_kratos_error(status, body),
        };
        Err(result.during(self.method, &self.path))
    }

    /// The error for a call that got no answer.
    pub fn no_answer(&self, transport: Transport) -> KratosError {
        KratosError::no_answer(transport).during(self.method, &self.path)
    }
}

/// What kind of failure a Kratos call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KratosErrorKind {
    /// 5xx or 429: Kratos is failing or busy; retryable.
    Server,
    /// 401 / 403 on the admin API: `KRATOS_ADMIN_TOKEN` is wrong or missing.
    Auth,
    /// Another 4xx this call does not expect: retrying will not help.
    Refused,
    /// An answer this call cannot read; retryable.
    BadAnswer,
    /// No connection; retryable.
    Unreachable,
    /// No answer within the deadline; retryable.
    Timeout,
}

/// A classified failure of a Kratos call.
pub type KratosError = CallError<KratosErrorKind>;

impl ErrorKind for KratosErrorKind {
    const SERVICE: &'static str = "Kratos";
    const ID: &'static str = "kratos";
    const UNREACHABLE: Self = Self::Unreachable;
    const TIMEOUT: Self = Self::Timeout;
    const BAD_ANSWER: Self = Self::BadAnswer;
}

/// 503 when Kratos is failing (Kratos and Stripe retry), 504 on a timeout,
/// 502 otherwise; always with what Kratos said.
impl From<KratosError> for ApiError {
    fn from(e: KratosError) -> ApiError {
        e.to_api_error("kratos_bad_answer", |kind, message| match kind {
            KratosErrorKind::Server => ApiError::unavailable("kratos_unavailable", format!("{message}; retry later")),
            KratosErrorKind::Auth => ApiError::upstream("kratos_auth", format!("{message}; check KRATOS_ADMIN_TOKEN")),
            _ => ApiError::upstream("kratos_refused", message),
        })
    }
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorInner,
}

#[derive(Deserialize, Default)]
struct ErrorInner {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Classifies a Kratos answer the call did not expect, from its status and
/// its body (`{"error": {"id", "code", "status", "reason", "message"}}`; any
/// other body is classified by status alone).
pub fn classify_kratos_error(status: u16, body: &[u8]) -> KratosError {
    let inner = serde_json::from_slice::<ErrorBody>(body).unwrap_or_default().error;
    let kind = match status {
        429 | 500.. => KratosErrorKind::Server,
        401 | 403 => KratosErrorKind::Auth,
        _ => KratosErrorKind::Refused,
    };
    let said = Said { code: inner.id.or(inner.status), message: inner.reason.or(inner.message), ..Said::default() };
    KratosError::answered(kind, status, said)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab";

    fn id() -> IdentityId {
        IdentityId::parse(ID).unwrap()
    }

    #[test]
    fn identity_reads_found_and_missing() {
        let r = KratosRequest::identity(&id());
        assert_eq!(
            (r.api, r.method, r.url("http://k:4434/")),
            (Api::Admin, Method::Get, format!("http://k:4434/admin/identities/{ID}"))
        );
        let found =
            r.read(200, format!(r#"{{"id":"{ID}","metadata_admin":{{"stripe_customer_id":"cus_1"}}}}"#).as_bytes());
        assert_eq!(found.unwrap().unwrap().stripe_customer_id(), Some("cus_1"));
        assert_eq!(r.read(404, b"{}").unwrap(), None);
        let e = r.read(200, b"<html>").unwrap_err();
        assert_eq!((e.kind, e.status), (KratosErrorKind::BadAnswer, Some(200)));
        assert!(e.said.message.unwrap().contains("kratos_invalid_identity"), "the parser's code is kept");
    }

    #[test]
    fn identities_by_email_encode_the_identifier() {
        let r = KratosRequest::identities_with_identifier("ann+test@example.com");
        assert_eq!(r.path, "/admin/identities?credentials_identifier=ann%2Btest%40example.com");
        assert_eq!(r.read(200, format!(r#"[{{"id":"{ID}"}}]"#).as_bytes()).unwrap().len(), 1);
        assert_eq!(r.read(200, b"[]").unwrap(), vec![]);
        assert!(r.read(500, b"{}").is_err());
    }

    #[test]
    fn patch_and_delete_answers() {
        let ops = [PatchOp::add("/metadata_admin", json!({"stripe_customer_id": "cus_1"}))];
        let r = KratosRequest::patch_identity(&id(), &ops);
        assert_eq!(r.method, Method::Patch);
        assert_eq!(serde_json::from_str::<serde_json::Value>(r.json.as_deref().unwrap()).unwrap()[0]["op"], "add");
        assert_eq!(r.read(200, b"{}").unwrap(), Patched::Done);
        assert_eq!(r.read(409, b"{}").unwrap(), Patched::Refused);
        assert_eq!(r.read(400, b"{}").unwrap(), Patched::Refused);
        assert_eq!(r.read(404, b"{}").unwrap(), Patched::NotFound);
        let d = KratosRequest::delete_identity(&id());
        assert_eq!((d.read(204, b"").unwrap(), d.read(404, b"").unwrap()), (Deleted::Deleted, Deleted::AlreadyGone));
    }

    #[test]
    fn whoami_is_none_unless_an_active_session() {
        let r = KratosRequest::whoami(Credentials::Token("ory_st_secret".into()));
        assert_eq!((r.api, r.path.as_str()), (Api::Public, "/sessions/whoami"));
        assert!(!format!("{r:?}").contains("ory_st_secret"), "credentials never show in Debug");
        let active = format!(r#"{{"active":true,"identity":{{"id":"{ID}"}}}}"#);
        assert_eq!(r.read(200, active.as_bytes()).unwrap().unwrap().identity_id, id());
        let inactive = format!(r#"{{"active":false,"identity":{{"id":"{ID}"}}}}"#);
        assert_eq!(r.read(200, inactive.as_bytes()).unwrap(), None);
        assert_eq!(r.read(401, b"{}").unwrap(), None);
        assert_eq!(r.read(403, b"{}").unwrap(), None);
        assert_eq!(r.read(500, b"{}").unwrap_err().kind, KratosErrorKind::Server);
    }

    #[test]
    fn unexpected_answers_keep_what_kratos_said() {
        let body = br#"{"error":{"id":"forbidden","code":403,"status":"Forbidden","reason":"The token for ada@example.com is not valid","message":"The requested action was forbidden"}}"#;
        let e = KratosRequest::identity(&id()).read(403, body).unwrap_err();
        assert_eq!((e.kind, e.said.code.as_deref()), (KratosErrorKind::Auth, Some("forbidden")));
        let api = ApiError::from(e);
        assert_eq!((api.status, api.code), (502, "kratos_auth"));
        assert_eq!(
            api.message,
            format!("Kratos answered GET /admin/identities/{ID} with 403 (forbidden); check KRATOS_ADMIN_TOKEN")
        );
        let detail = api.upstream.as_deref().unwrap();
        assert_eq!(detail.message.as_deref(), Some("The token for <redacted> is not valid"));
        assert_eq!(classify_kratos_error(429, b"").kind, KratosErrorKind::Server);
        assert_eq!(
            classify_kratos_error(422, br#"{"error":{"status":"Unprocessable Entity"}}"#).said.code.as_deref(),
            Some("Unprocessable Entity")
        );
        assert_eq!(ApiError::from(classify_kratos_error(502, b"")).status, 503);
    }

    #[test]
    fn no_answer_is_named() {
        let r = KratosRequest::delete_identity(&id());
        let api = ApiError::from(r.no_answer(Transport::Timeout(8)));
        assert_eq!((api.status, api.code), (504, "upstream_timeout"));
        assert!(api.message.contains("DELETE /admin/identities/"), "{}", api.message);
    }
}
