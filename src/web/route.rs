//! Which route a request names (spec: "Routes"), decided from its method and
//! path alone, with who may call it. Pure, so the table is unit-tested
//! natively; the shell's router only dispatches the [`Route`] it gets.
//!
//! Path parameters are validated here, where they enter: a route that names
//! an identity carries an [`IdentityId`]. The check of the caller comes
//! before that validation, so an unauthenticated caller learns nothing
//! about which ids are well-formed.

use crate::identity::{IdentityId, IdentityIdError};

/// A route of the bridge, with its validated parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz`.
    Healthz,
    /// `GET /openapi.json`: the OpenAPI 3.1 document of every route.
    OpenApi,
    /// `POST /webhooks/stripe`.
    StripeWebhook,
    /// `POST /hooks/kratos/registration` and `/settings`.
    KratosHook(HookFlow),
    /// `GET /v1/identities/{id}/entitlements`, and `GET /me/entitlements`
    /// for the signed-in identity.
    Entitlements(Who),
    /// `GET /v1/identities/{id}/features/{feature}`.
    Feature(IdentityId, String),
    /// `POST /v1/identities/{id}/sync`.
    Sync(IdentityId),
    /// `POST /v1/identities/{id}/trial`.
    Trial(IdentityId),
    /// `DELETE /v1/identities/{id}`, and `DELETE /me`.
    DeleteAccount(Who),
    /// `GET /gate/{feature}`: the signed-in user's feature check.
    Gate(String),
    /// `POST /billing/checkout`: the signed-in user buys a plan.
    Checkout,
    /// `POST /billing/portal`: the signed-in user manages billing.
    Portal,
    /// `POST /v1/admin/backfill`: one step of the reconciliation walk, now.
    Backfill,
    /// `GET /v1/admin/reconciliation`: the walk's state.
    Reconciliation,
    /// `OPTIONS` on a signed-in user's route: a browser's CORS preflight,
    /// answered for the methods the route takes.
    Preflight(Vec<&'static str>),
    /// `GET /__test/panic`: panics, when `TEST_PANIC_ROUTE` is set (tests only).
    TestPanic,
    /// `/auth/forward`, any method: a proxy asks whether a request may pass.
    AuthForward,
    /// `GET /.well-known/jwks.json`: the keys assertions are signed with.
    Jwks,
    /// `POST /hooks/hydra/token`: Ory Hydra's token hook.
    HydraTokenHook,
    /// `POST /v1/identities/{id}/usage/{meter}`: consume units of a meter.
    Consume(IdentityId, String),
    /// `GET /v1/identities/{id}/usage/{meter}`, and `GET /me/usage/{meter}`
    /// for the signed-in identity: a meter's balance.
    Usage(Who, String),
}

impl Route {
    /// Whether the handler reads the request body itself (bounded). For the
    /// other routes the shell still reads any body sent, with the same
    /// bound, so an oversized one is refused (413) before anything changes.
    pub fn reads_its_body(&self) -> bool {
        matches!(
            self,
            Route::StripeWebhook | Route::KratosHook(_) | Route::Checkout | Route::HydraTokenHook | Route::Consume(..)
        )
    }
}

/// Whose data a route is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// The identity named in the path (server-to-server API).
    Identity(IdentityId),
    /// The identity of the caller's Kratos session.
    SignedIn,
}

/// Which Kratos flow fired a hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookFlow {
    Registration,
    Settings,
}

impl HookFlow {
    /// The flow's name in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            HookFlow::Registration => "registration",
            HookFlow::Settings => "settings",
        }
    }
}

/// Who may call a route; checked by the shell before anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Anyone: `/healthz`, and the hooks and webhooks, which authenticate
    /// their bodies themselves (Kratos' shared secret, Stripe's signature).
    Anyone,
    /// `Authorization: Bearer $BRIDGE_API_TOKEN`.
    ApiClient,
    /// A Kratos session (cookie or `X-Session-Token`).
    SignedInUser,
}

/// A request that names a route: who may call it, and the route (or why its
/// path parameters are invalid, answered only after the caller is checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub caller: Caller,
    /// The route's name for logs, e.g. `GET /v1/identities/{id}/entitlements`
    /// (never the id itself).
    pub name: &'static str,
    pub route: Result<Route, IdentityIdError>,
}

/// The route `method path` names, or `None` for a request that matches no
/// route of the bridge.
pub fn route(method: &str, path: &str) -> Option<Matched> {
    if method == "OPTIONS" {
        if let Some(preflight) = preflight(path) {
            return Some(preflight);
        }
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if segments == ["auth", "forward"] {
        // Proxies ask with GET, or with the original request's own method.
        return Some(Matched { caller: Caller::Anyone, name: "/auth/forward", route: Ok(Route::AuthForward) });
    }
    let id = |raw: &str| IdentityId::parse(raw);
    let (caller, name, route) = match (method, segments.as_slice()) {
        ("GET", ["healthz"]) => (Caller::Anyone, "GET /healthz", Ok(Route::Healthz)),
        ("GET", ["openapi.json"]) => (Caller::Anyone, "GET /openapi.json", Ok(Route::OpenApi)),
        ("POST", ["webhooks", "stripe"]) => (Caller::Anyone, "POST /webhooks/stripe", Ok(Route::StripeWebhook)),
        ("POST", ["hooks", "kratos", "registration"]) => {
            (Caller::Anyone, "POST /hooks/kratos/registration", Ok(Route::KratosHook(HookFlow::Registration)))
        }
        ("POST", ["hooks", "kratos", "settings"]) => {
            (Caller::Anyone, "POST /hooks/kratos/settings", Ok(Route::KratosHook(HookFlow::Settings)))
        }
        ("GET", ["v1", "identities", raw, "entitlements"]) => (
            Caller::ApiClient,
            "GET /v1/identities/{id}/entitlements",
            id(raw).map(|i| Route::Entitlements(Who::Identity(i))),
        ),
        ("GET", ["v1", "identities", raw, "features", feature]) => (
            Caller::ApiClient,
            "GET /v1/identities/{id}/features/{feature}",
            id(raw).map(|i| Route::Feature(i, (*feature).to_owned())),
        ),
        ("POST", ["v1", "identities", raw, "sync"]) => {
            (Caller::ApiClient, "POST /v1/identities/{id}/sync", id(raw).map(Route::Sync))
        }
        ("POST", ["v1", "identities", raw, "trial"]) => {
            (Caller::ApiClient, "POST /v1/identities/{id}/trial", id(raw).map(Route::Trial))
        }
        ("DELETE", ["v1", "identities", raw]) => {
            (Caller::ApiClient, "DELETE /v1/identities/{id}", id(raw).map(|i| Route::DeleteAccount(Who::Identity(i))))
        }
        ("POST", ["v1", "identities", raw, "usage", meter]) if !meter.is_empty() => (
            Caller::ApiClient,
            "POST /v1/identities/{id}/usage/{meter}",
            id(raw).map(|i| Route::Consume(i, (*meter).to_owned())),
        ),
        ("GET", ["v1", "identities", raw, "usage", meter]) if !meter.is_empty() => (
            Caller::ApiClient,
            "GET /v1/identities/{id}/usage/{meter}",
            id(raw).map(|i| Route::Usage(Who::Identity(i), (*meter).to_owned())),
        ),
        ("GET", ["me", "usage", meter]) if !meter.is_empty() => {
            (Caller::SignedInUser, "GET /me/usage/{meter}", Ok(Route::Usage(Who::SignedIn, (*meter).to_owned())))
        }
        ("GET", ["me", "entitlements"]) => {
            (Caller::SignedInUser, "GET /me/entitlements", Ok(Route::Entitlements(Who::SignedIn)))
        }
        ("DELETE", ["me"]) => (Caller::SignedInUser, "DELETE /me", Ok(Route::DeleteAccount(Who::SignedIn))),
        ("GET", ["gate", feature]) if !feature.is_empty() => {
            (Caller::SignedInUser, "GET /gate/{feature}", Ok(Route::Gate((*feature).to_owned())))
        }
        ("POST", ["billing", "checkout"]) => (Caller::SignedInUser, "POST /billing/checkout", Ok(Route::Checkout)),
        ("POST", ["billing", "portal"]) => (Caller::SignedInUser, "POST /billing/portal", Ok(Route::Portal)),
        ("POST", ["v1", "admin", "backfill"]) => (Caller::ApiClient, "POST /v1/admin/backfill", Ok(Route::Backfill)),
        ("GET", ["__test", "panic"]) => (Caller::Anyone, "GET /__test/panic", Ok(Route::TestPanic)),
        ("GET", [".well-known", "jwks.json"]) => (Caller::Anyone, "GET /.well-known/jwks.json", Ok(Route::Jwks)),
        ("POST", ["hooks", "hydra", "token"]) => (Caller::Anyone, "POST /hooks/hydra/token", Ok(Route::HydraTokenHook)),
        ("GET", ["v1", "admin", "reconciliation"]) => {
            (Caller::ApiClient, "GET /v1/admin/reconciliation", Ok(Route::Reconciliation))
        }
        _ => return None,
    };
    Some(Matched { caller, name, route })
}

/// A CORS preflight on `path`: the methods the signed-in user's route there
/// takes, or `None` when no such route is there (a preflight elsewhere is
/// no route of the bridge). Anyone may send one: it grants nothing but to
/// `APP_URL`'s origin.
fn preflight(path: &str) -> Option<Matched> {
    let methods: Vec<&'static str> = ["GET", "POST", "DELETE"]
        .into_iter()
        .filter(|m| route(m, path).is_some_and(|r| r.caller == Caller::SignedInUser))
        .collect();
    let any = !methods.is_empty();
    any.then_some(Matched {
        caller: Caller::Anyone,
        name: "OPTIONS (CORS preflight)",
        route: Ok(Route::Preflight(methods)),
    })
}

/// The message of the 404 for a request no route names: its method when it
/// is one of HTTP's, and the length of its path, never the path itself (a
/// path may hold an email address, and the message is logged).
pub fn no_route_message(method: &str, path: &str) -> String {
    const KNOWN: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"];
    let method = KNOWN.iter().find(|m| m.eq_ignore_ascii_case(method)).copied().unwrap_or("this method");
    format!("no route of the bridge answers {method} on this path ({} bytes); see /openapi.json", path.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab";

    fn id() -> IdentityId {
        IdentityId::parse(ID).unwrap()
    }

    fn ok(method: &str, path: &str) -> (Caller, Route) {
        let m = route(method, path).unwrap_or_else(|| panic!("{method} {path} is a route"));
        (m.caller, m.route.unwrap())
    }

    #[test]
    fn every_route_of_the_spec() {
        assert_eq!(ok("GET", "/healthz"), (Caller::Anyone, Route::Healthz));
        assert_eq!(ok("GET", "/openapi.json"), (Caller::Anyone, Route::OpenApi));
        assert_eq!(ok("POST", "/webhooks/stripe"), (Caller::Anyone, Route::StripeWebhook));
        assert_eq!(
            ok("POST", "/hooks/kratos/registration"),
            (Caller::Anyone, Route::KratosHook(HookFlow::Registration))
        );
        assert_eq!(ok("POST", "/hooks/kratos/settings"), (Caller::Anyone, Route::KratosHook(HookFlow::Settings)));
        let path = format!("/v1/identities/{ID}");
        assert_eq!(
            ok("GET", &format!("{path}/entitlements")),
            (Caller::ApiClient, Route::Entitlements(Who::Identity(id())))
        );
        assert_eq!(
            ok("GET", &format!("{path}/features/export")),
            (Caller::ApiClient, Route::Feature(id(), "export".into()))
        );
        assert_eq!(ok("POST", &format!("{path}/sync")), (Caller::ApiClient, Route::Sync(id())));
        assert_eq!(ok("POST", &format!("{path}/trial")), (Caller::ApiClient, Route::Trial(id())));
        assert_eq!(ok("DELETE", &path), (Caller::ApiClient, Route::DeleteAccount(Who::Identity(id()))));
        assert_eq!(ok("GET", "/me/entitlements"), (Caller::SignedInUser, Route::Entitlements(Who::SignedIn)));
        assert_eq!(ok("DELETE", "/me"), (Caller::SignedInUser, Route::DeleteAccount(Who::SignedIn)));
        assert_eq!(ok("GET", "/gate/export"), (Caller::SignedInUser, Route::Gate("export".into())));
        assert_eq!(ok("POST", "/billing/checkout"), (Caller::SignedInUser, Route::Checkout));
        assert_eq!(ok("POST", "/billing/portal"), (Caller::SignedInUser, Route::Portal));
        assert_eq!(ok("POST", "/v1/admin/backfill"), (Caller::ApiClient, Route::Backfill));
        assert_eq!(ok("GET", "/v1/admin/reconciliation"), (Caller::ApiClient, Route::Reconciliation));
        for method in ["GET", "HEAD", "POST", "DELETE", "OPTIONS", "PROPFIND"] {
            assert_eq!(ok(method, "/auth/forward"), (Caller::Anyone, Route::AuthForward), "{method}");
        }
        assert_eq!(ok("GET", "/.well-known/jwks.json"), (Caller::Anyone, Route::Jwks));
        assert_eq!(ok("POST", "/hooks/hydra/token"), (Caller::Anyone, Route::HydraTokenHook));
        assert_eq!(
            ok("POST", &format!("{path}/usage/exports")),
            (Caller::ApiClient, Route::Consume(id(), "exports".into()))
        );
        assert_eq!(
            ok("GET", &format!("{path}/usage/exports")),
            (Caller::ApiClient, Route::Usage(Who::Identity(id()), "exports".into()))
        );
        assert_eq!(
            ok("GET", "/me/usage/exports"),
            (Caller::SignedInUser, Route::Usage(Who::SignedIn, "exports".into()))
        );
        assert!(route("POST", "/me/usage/exports").is_none(), "nothing consumes from a browser");
    }

    #[test]
    fn bad_ids_are_named_after_the_caller_check_and_names_never_show_ids() {
        let m = route("GET", "/v1/identities/../entitlements").unwrap();
        assert_eq!((m.caller, m.route), (Caller::ApiClient, Err(IdentityIdError::Malformed)));
        let m = route("POST", "/v1/identities/00000000-0000-0000-0000-000000000000/sync").unwrap();
        assert_eq!(m.route, Err(IdentityIdError::Nil));
        let m = route("GET", &format!("/v1/identities/{ID}/entitlements")).unwrap();
        assert!(!m.name.contains(ID));
    }

    #[test]
    fn only_hooks_webhooks_and_checkout_read_their_bodies() {
        assert!(ok("POST", "/webhooks/stripe").1.reads_its_body());
        assert!(ok("POST", "/billing/checkout").1.reads_its_body());
        assert!(!ok("POST", "/billing/portal").1.reads_its_body());
        assert!(ok("POST", "/hooks/kratos/settings").1.reads_its_body());
        assert!(ok("POST", &format!("/v1/identities/{ID}/usage/exports")).1.reads_its_body());
        assert!(!ok("POST", &format!("/v1/identities/{ID}/sync")).1.reads_its_body());
        assert!(!ok("DELETE", "/me").1.reads_its_body());
    }

    #[test]
    fn a_preflight_is_answered_for_the_signed_in_users_routes_only() {
        let methods = |path: &str| match route("OPTIONS", path).map(|m| (m.caller, m.route)) {
            Some((Caller::Anyone, Ok(Route::Preflight(m)))) => Some(m),
            other => {
                assert_eq!(other, None, "{path}");
                None
            }
        };
        assert_eq!(methods("/me/entitlements"), Some(vec!["GET"]));
        assert_eq!(methods("/gate/export"), Some(vec!["GET"]));
        assert_eq!(methods("/me"), Some(vec!["DELETE"]));
        assert_eq!(methods("/billing/checkout"), Some(vec!["POST"]));
        assert_eq!(methods("/billing/portal"), Some(vec!["POST"]));
        for server_only in ["/healthz", "/webhooks/stripe", &format!("/v1/identities/{ID}/entitlements"), "/app/x"] {
            assert_eq!(methods(server_only), None, "{server_only}");
        }
    }

    #[test]
    fn the_no_route_message_never_quotes_the_path() {
        let m = no_route_message("GET", "/ada@example.com/x");
        assert!(!m.contains("ada") && !m.contains('@'), "{m}");
        assert!(m.contains("GET") && m.contains("18 bytes"), "{m}");
        assert!(no_route_message("X@Y.IO", "/").contains("this method"));
    }

    #[test]
    fn other_methods_and_paths_are_no_route() {
        for (method, path) in [
            ("POST", "/healthz"),
            ("GET", "/webhooks/stripe"),
            ("GET", "/"),
            ("GET", "/v1/identities"),
            ("PUT", "/me"),
            ("GET", "/me/entitlements/extra"),
            ("GET", "/gate/"),
            ("POST", "/gate/export"),
            ("GET", "/billing/checkout"),
            ("POST", "/billing"),
        ] {
            assert_eq!(route(method, path), None, "{method} {path}");
        }
    }
}
