//! End to end: the worker's decisions where the app already checks
//! identity. `/auth/forward` answers proxies (Traefik and Caddy's
//! `X-Forwarded-*`, nginx's `X-Original-*`) with the same rules as edge gate
//! mode; `X-Bridge-Assertion` is a JWS every origin can verify, checked here
//! with the `jsonwebtoken` crate (not the worker's code) against the
//! worker's own `/.well-known/jwks.json`, through expiry, audience and a
//! key rotation; Ory Hydra's token hook puts the plan into tokens.

mod common;

use common::basics::status_json;
use common::calls::User;
use common::openapi::assert_documented;
use common::origin::Origin;
use common::stack::*;
use jsonwebtoken::{decode, decode_header, jwk::Jwk, DecodingKey, Validation};
use reqwest::Method;
use serde_json::{json, Value};

const RULES: &str = r#"[
  {"path": "/app/reports/*", "feature": "premium_feature"},
  {"path": "/app/*", "session": "required"}
]"#;
const LOGIN_URL: &str = "http://127.0.0.1:9/login";

/// A P-256 key made for these tests (Web Crypto `generateKey`).
const EC_KEY: &str = r#"{"kty":"EC","crv":"P-256","kid":"k1","x":"BFecD-5KSgxnt3G5ZU_4avcWdVtnUYCQzI2mLaII8JA","y":"R54ANSj1oPTttVcrM8D0mpQrPEJBUolFbomo1hsoEc8","d":"41xz88IkkaP51ffqHDXmezRxrwcz3wnIWsRfXDWwjV8"}"#;
const EC_PUBLIC: &str = r#"{"kty":"EC","crv":"P-256","kid":"k1","x":"BFecD-5KSgxnt3G5ZU_4avcWdVtnUYCQzI2mLaII8JA","y":"R54ANSj1oPTttVcrM8D0mpQrPEJBUolFbomo1hsoEc8","alg":"ES256","use":"sig"}"#;
/// RFC 8037 appendix A's Ed25519 key.
const ED_KEY: &str = r#"{"kty":"OKP","crv":"Ed25519","kid":"e1","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// `/auth/forward` as a proxy calls it: its status, headers and body.
async fn ask(stack: &Stack, headers: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut r = no_redirects().get(stack.url("/auth/forward"));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let r = r.send().await.unwrap();
    let headers = r.headers().clone();
    let (status, body) = status_json(r).await;
    if !body.is_string() || status != 302 {
        assert_documented("GET", "/auth/forward", status, if status == 302 { &Value::Null } else { &body });
    }
    (status, headers, body)
}

fn value(h: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    h.get(name).map(|v| v.to_str().unwrap().to_owned())
}

/// The claims of `token` once `jsonwebtoken` verified it with the key of
/// its `kid` in `jwks`, for `audience`.
fn verified(token: &str, jwks: &Value, audience: &str) -> Result<Value, jsonwebtoken::errors::Error> {
    verified_at_any_time(token, jwks, audience, true)
}

/// [`verified`], with its times checked only when `times` is true.
fn verified_at_any_time(
    token: &str,
    jwks: &Value,
    audience: &str,
    times: bool,
) -> Result<Value, jsonwebtoken::errors::Error> {
    let header = decode_header(token)?;
    let kid = header.kid.clone().expect("a kid in the header");
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()).expect("the kid is served");
    let jwk: Jwk = serde_json::from_value(jwk.clone()).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.leeway = 0;
    validation.validate_exp = times;
    validation.validate_nbf = times;
    validation.set_required_spec_claims(&["exp", "nbf", "iat", "aud", "iss", "sub"]);
    decode::<Value>(token, &DecodingKey::from_jwk(&jwk)?, &validation).map(|d| d.claims)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_asks_and_the_rules_of_edge_gate_mode_answer() {
    let options = StackOptions::default().var("GATE_ROUTES", RULES).var("LOGIN_URL", LOGIN_URL);
    let stack = Stack::start_with(options).await;
    let traefik = |uri: &'static str| {
        vec![
            ("X-Forwarded-Method", "GET"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "app.example.com"),
            ("X-Forwarded-Uri", uri),
        ]
    };
    // Ungated: allowed, for nobody in particular.
    let (status, h, body) = ask(&stack, &traefik("/public/page?x=1")).await;
    assert_eq!((status, body["allowed"].as_bool()), (200, Some(true)), "{body}");
    assert_eq!(value(&h, "x-identity-id"), None);
    // No session: 401, or a browser to LOGIN_URL with the original URL.
    let (status, _, body) = ask(&stack, &traefik("/app/home")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")), "{body}");
    let mut browser = traefik("/app/home?tab=1");
    browser.push(("Accept", "text/html"));
    let (status, h, _) = ask(&stack, &browser).await;
    assert_eq!(status, 302);
    assert_eq!(
        value(&h, "location").as_deref(),
        Some("http://127.0.0.1:9/login?return_to=https%3A%2F%2Fapp.example.com%2Fapp%2Fhome%3Ftab%3D1")
    );
    // The paths as origins read them: any case, `;` parameters.
    for uri in ["/APP/home", "/app;jsessionid=1/home", "/public/..;/app/home"] {
        let (status, _, body) = ask(&stack, &traefik(uri)).await;
        assert_eq!(status, 401, "{uri}: {body}");
    }
    // A session: 200 with who it is.
    let User { token, id, .. } = stack.user("proxied@example.com").await;
    let mut signed_in = traefik("/app/home");
    signed_in.push(("X-Session-Token", token.as_str()));
    // A client's own identity headers, in any spelling, on any path: the
    // proxy replaces only those it copies, by their own name (a client's
    // `X_Plan` would reach an app that reads it as `X-Plan`): refused.
    for (path, forged) in [
        ("/app/home", ("X-Identity-Id", "0e000000-0000-4000-8000-000000000000")),
        ("/app/home", ("X_Plan", "enterprise")),
        ("/public/page", ("x_access", "full")),
        ("/public/page", ("X-BRIDGE-ASSERTION", "forged")),
    ] {
        let mut with = traefik(path);
        with.extend([("X-Session-Token", token.as_str()), forged]);
        let (status, h, body) = ask(&stack, &with).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("identity_headers_sent")),
            "{forged:?}: {body}"
        );
        assert_eq!(value(&h, "x-identity-id"), None);
    }
    let (status, h, body) = ask(&stack, &signed_in).await;
    assert_eq!((status, body["identity_id"].as_str()), (200, Some(id.as_str())), "{body}");
    assert_eq!(
        (value(&h, "x-identity-id"), value(&h, "x-plan"), value(&h, "x-access")),
        (Some(id.clone()), Some("free".into()), Some("none".into()))
    );
    assert_eq!(value(&h, "x-bridge-assertion"), None, "no key: no assertion, and never the client's");
    // A feature the plan lacks: 403 with the reason (nginx passes 403), a browser to pricing.
    let mut reports = traefik("/app/reports/q3");
    reports.push(("X-Session-Token", token.as_str()));
    let (status, _, body) = ask(&stack, &reports).await;
    assert_eq!((status, body["reason"].as_str()), (403, Some("no_subscription")), "{body}");
    reports.push(("Accept", "text/html"));
    let (status, h, _) = ask(&stack, &reports).await;
    assert_eq!((status, value(&h, "location").as_deref()), (302, Some(PRICING_URL)));
    // nginx names them X-Original-*; the method matters as edge mode reads it.
    let nginx = [("X-Original-Method", "HEAD"), ("X-Original-URI", "/app/reports/q3"), ("X-Session-Token", &token)];
    let (status, _, body) = ask(&stack, &nginx).await;
    assert_eq!(status, 403, "HEAD is judged as GET too: {body}");
    let (status, _, body) = ask(&stack, &[("X-Forwarded-Method", "GET")]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("forwarded_uri_missing")), "{body}");
    // nginx passes the client's own X-Forwarded-* beside the X-Original-*
    // it sets: two readings of the request, so it is refused, never
    // decided on the client's.
    let smuggled = [("X-Forwarded-Uri", "/public"), ("X-Original-URI", "/app/reports/q3"), ("X-Session-Token", &token)];
    let (status, _, body) = ask(&stack, &smuggled).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("forwarded_headers_conflict")), "{body}");
    let methods = [("X-Forwarded-Method", "GET"), ("X-Original-Method", "DELETE"), ("X-Original-URI", "/app/home")];
    let (status, _, body) = ask(&stack, &methods).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("forwarded_headers_conflict")), "{body}");
    // Any method the proxy uses (Envoy, Traefik's preserveRequestMethod).
    let r = no_redirects().post(stack.url("/auth/forward")).header("X-Forwarded-Uri", "/public").send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn assertions_verify_with_a_jwt_library_and_expire_and_rotate() {
    let origin = Origin::start().await;
    let options = StackOptions::default()
        .var("ORIGIN_URL", &origin.url)
        .var("GATE_ROUTES", RULES)
        .var("ASSERTION_SIGNING_KEY", EC_KEY)
        .var("ASSERTION_TTL", "2");
    let stack = Stack::start_with(options).await;
    let (status, jwks) = status_json(stack.http.get(stack.url("/.well-known/jwks.json")).send().await.unwrap()).await;
    assert_documented("GET", "/.well-known/jwks.json", status, &jwks);
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(1), "{jwks}");
    assert_eq!(jwks["keys"][0]["d"], Value::Null, "never the private part: {jwks}");
    let User { token, id, .. } = stack.user("signed@example.com").await;
    let seen = |r: reqwest::Response| async { status_json(r).await.1 };
    let get = |path: &'static str, headers: Vec<(&'static str, String)>| {
        let mut r = no_redirects().get(stack.url(path));
        for (k, v) in headers {
            r = r.header(k, v);
        }
        r.send()
    };
    let session = vec![("X-Session-Token", token.clone())];
    // A gated request reaches the origin with an assertion the library verifies.
    let at_origin = seen(get("/app/home", session.clone()).await.unwrap()).await;
    let assertion = at_origin["headers"]["x-bridge-assertion"]
        .as_str()
        .unwrap_or_else(|| panic!("an assertion: {at_origin}\n{}", stack.wrangler_log()))
        .to_owned();
    let claims = verified(&assertion, &jwks, &origin.url).expect("verified for the origin's audience");
    assert_eq!(
        (claims["sub"].as_str(), claims["plan"].as_str(), claims["access"].as_str()),
        (Some(id.as_str()), Some("free"), Some("none"))
    );
    assert_eq!(claims["features"], json!(["basic_feature"]));
    assert_eq!(claims["iss"].as_str(), Some(stack.worker_url.as_str()), "the worker's origin by default");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 2, "ASSERTION_TTL");
    assert_eq!(decode_header(&assertion).unwrap().alg, jsonwebtoken::Algorithm::ES256);
    assert!(verified(&assertion, &jwks, "https://another.example").is_err(), "another audience refuses it");
    // The same identity and record soon after: the same token, no new signature.
    let again = seen(get("/app/home", session.clone()).await.unwrap()).await;
    assert_eq!(again["headers"]["x-bridge-assertion"].as_str(), Some(assertion.as_str()));
    // An ungated request carries none, and a client-sent one never reaches the origin.
    let forged = vec![("X-Bridge-Assertion", "forged".to_owned()), ("x_bridge_assertion", "forged".to_owned())];
    let ungated = seen(get("/public", forged.clone()).await.unwrap()).await;
    let names: Vec<String> = ungated["headers"].as_object().unwrap().keys().map(|k| k.replace('_', "-")).collect();
    assert!(!names.contains(&"x-bridge-assertion".to_string()), "{ungated}");
    // Expired after its lifetime: the library refuses it, and a new one is made.
    // Past `exp` in whole seconds, as the library counts them.
    tokio::time::sleep(std::time::Duration::from_millis(3_500)).await;
    let err = verified(&assertion, &jwks, &origin.url).unwrap_err();
    assert_eq!(err.kind(), &jsonwebtoken::errors::ErrorKind::ExpiredSignature);
    let later = seen(get("/app/home", session).await.unwrap()).await;
    let fresh = later["headers"]["x-bridge-assertion"].as_str().unwrap().to_owned();
    assert_ne!(fresh, assertion);
    assert!(verified(&fresh, &jwks, &origin.url).is_ok());
    // /auth/forward carries one too, for the audience the proxy names.
    let (status, h, _) = ask(&stack, &[("X-Forwarded-Uri", "/app/home"), ("X-Session-Token", &token)]).await;
    assert_eq!(status, 200);
    let from_forward = value(&h, "x-bridge-assertion").expect("an assertion from /auth/forward");
    assert!(verified(&from_forward, &jwks, &origin.url).is_ok(), "ORIGIN_URL's origin is the audience");
    drop(stack);

    // The key is rotated to Ed25519, the old one still served: the token
    // the old key signed verifies until it expires, and new ones are EdDSA.
    let options = StackOptions::default()
        .var("ORIGIN_URL", &origin.url)
        .var("GATE_ROUTES", RULES)
        .var("ASSERTION_SIGNING_KEY", ED_KEY)
        .var("ASSERTION_PREVIOUS_KEYS", EC_PUBLIC)
        .var("ASSERTION_AUDIENCE", "https://app.example.com")
        .var("ASSERTION_ISSUER", "https://billing.example.com");
    let rotated = Stack::start_with(options).await;
    let (_, jwks) = status_json(rotated.http.get(rotated.url("/.well-known/jwks.json")).send().await.unwrap()).await;
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, ["e1", "k1"]);
    let by_old_key = verified_at_any_time(&fresh, &jwks, &origin.url, false);
    assert!(by_old_key.is_ok(), "a token of the old key verifies with the rotated JWKS: {by_old_key:?}");
    let User { token, .. } = rotated.user("rotated@example.com").await;
    let mut r = no_redirects().get(rotated.url("/app/home")).header("X-Session-Token", &token);
    r = r.header("accept", "application/json");
    let at_origin = status_json(r.send().await.unwrap()).await.1;
    let assertion = at_origin["headers"]["x-bridge-assertion"].as_str().unwrap();
    assert_eq!(decode_header(assertion).unwrap().alg, jsonwebtoken::Algorithm::EdDSA);
    let claims = verified(assertion, &jwks, "https://app.example.com").expect("EdDSA, verified");
    assert_eq!(claims["iss"], "https://billing.example.com");
}

#[tokio::test(flavor = "multi_thread")]
async fn hydras_token_hook_puts_the_plan_into_tokens() {
    let plain = Stack::start().await;
    let (status, body) =
        status_json(plain.http.post(plain.url("/hooks/hydra/token")).body("{}").send().await.unwrap()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "off without HYDRA_HOOK_SECRET");
    drop(plain);

    let stack = Stack::start_with(StackOptions::default().var("HYDRA_HOOK_SECRET", "e2e-hydra-hook-secret")).await;
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
    let User { id, .. } = stack.user("oauth@example.com").await;
    // The body Hydra posts (ory/hydra oauth2/token_hook.go), the subject in
    // session.id_token.subject and a pairwise `sub` in the claims.
    let hook_body = |subject: &str, grants: &[&str]| {
        json!({
            "session": {
                "id_token": {
                    "id_token_claims": {"jti": "", "iss": "http://hydra:4444/", "sub": "pairwise-7f3a", "aud": ["app-client"],
                        "ext": {"email_verified": true}},
                    "headers": {"extra": {}},
                    "subject": subject
                },
                "extra": {"tenant": "acme"},
                "client_id": "app-client",
                "consent_challenge": "",
                "exclude_not_before_claim": false,
                "allowed_top_level_claims": [],
                "mirror_top_level_claims": true
            },
            "request": {"client_id": "app-client", "requested_scopes": ["openid"], "granted_scopes": ["openid"],
                "granted_audience": [], "grant_types": grants, "payload": {"grant_type": grants}}
        })
    };
    let post = |body: Value, secret: &'static str| {
        stack.http.post(stack.url("/hooks/hydra/token")).bearer_auth(secret).json(&body).send()
    };
    let requests_before =
        stack.control(Method::GET, stack.stripe_url("/_emulator/requests"), json!(null)).await["total"].clone();
    let (status, _) = status_json(post(hook_body(&id, &["authorization_code"]), "wrong").await.unwrap()).await;
    assert_eq!(status, 401);
    let (status, claims) =
        status_json(post(hook_body(&id, &["authorization_code"]), "e2e-hydra-hook-secret").await.unwrap()).await;
    assert_documented("POST", "/hooks/hydra/token", status, &claims);
    assert_eq!(status, 200, "{claims}");
    assert_eq!(
        claims,
        json!({"session": {
            "access_token": {"tenant": "acme", "plan": "free", "access": "none", "features": ["basic_feature"]},
            "id_token": {"email_verified": true, "plan": "free"}
        }}),
        "Hydra's own claims come back beside the plan's"
    );
    let requests_after =
        stack.control(Method::GET, stack.stripe_url("/_emulator/requests"), json!(null)).await["total"].clone();
    assert_eq!(requests_before, requests_after, "Stripe is not called");
    // A client_credentials token has no user: left as it is.
    let r = post(hook_body("app-client", &["client_credentials"]), "e2e-hydra-hook-secret").await.unwrap();
    assert_eq!(r.status(), 204);
    // Once subscribed, the next token (a refresh) carries the new plan.
    let cus = stack.customers_of(&id).await[0]["id"].as_str().unwrap().to_string();
    stack
        .stripe_api(Method::POST, "/v1/subscriptions", &[("customer", &cus), ("items[0][price]", "price_pro_monthly")])
        .await;
    assert_eq!(stack.sync(&id).await.plan, "pro");
    let (_, claims) =
        status_json(post(hook_body(&id, &["refresh_token"]), "e2e-hydra-hook-secret").await.unwrap()).await;
    assert_eq!(claims["session"]["access_token"]["plan"], "pro");
    assert_eq!(claims["session"]["id_token"]["plan"], "pro");
    let (status, body) = status_json(post(json!({"nope": 1}), "e2e-hydra-hook-secret").await.unwrap()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_token_hook_body")));
}

/// `kratos/plan-claims.jsonnet` evaluated as Kratos' session tokenizer does:
/// `std.extVar('session')` is the session, the answer's `claims` go into
/// the JWT.
fn tokenizer_claims(session: &Value) -> Value {
    let mapper = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/kratos/plan-claims.jsonnet")).unwrap();
    let arena = rsjsonnet_lang::arena::Arena::new();
    let mut jsonnet = rsjsonnet_front::Session::new(&arena);
    let session_thunk =
        jsonnet.load_virt_file("<session>", session.to_string().into_bytes()).expect("the session is JSON");
    let name = jsonnet.program().intern_str("session");
    jsonnet.program_mut().add_ext_var(name, &session_thunk);
    let thunk = jsonnet.load_virt_file("plan-claims.jsonnet", mapper).expect("the mapper parses");
    let value = jsonnet.eval_value(&thunk).expect("the mapper evaluates");
    let out = jsonnet.manifest_json(&value, false).expect("the mapper's answer is JSON");
    serde_json::from_str(&out).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kratos_claims_mapper_puts_the_mirrored_plan_into_session_jwts() {
    let stack = Stack::start_with(StackOptions::default().var("KRATOS_SYNC_PLAN", "true")).await;
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
    let User { token, id, .. } = stack.user("tokenize@example.com").await;
    let whoami = || async {
        let r = stack
            .http
            .get(format!("{}/sessions/whoami", stack.kratos.public_url()))
            .header("X-Session-Token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()
    };
    let before = whoami().await;
    assert_eq!(before["identity"]["id"], id.as_str());
    let claims = tokenizer_claims(&before);
    assert!(claims["claims"].is_object(), "Kratos refuses a mapper without a claims object: {claims}");
    assert_eq!(claims["claims"].get("plan"), None, "no plan mirrored yet, no plan claim: {claims}");

    let cus = stack.customers_of(&id).await[0]["id"].as_str().unwrap().to_string();
    stack
        .stripe_api(Method::POST, "/v1/subscriptions", &[("customer", &cus), ("items[0][price]", "price_pro_monthly")])
        .await;
    assert_eq!(stack.sync(&id).await.plan, "pro");
    let after = whoami().await;
    assert_eq!(after["identity"]["metadata_public"]["plan"], "pro", "KRATOS_SYNC_PLAN mirrors the plan: {after}");
    assert!(after["identity"].get("metadata_admin").is_none_or(Value::is_null), "whoami never shows metadata_admin");
    assert_eq!(tokenizer_claims(&after), json!({"claims": {"plan": "pro"}}));
}
