//! The browser registration flow as a browser meets it: redirects, cookies
//! and form posts (no `Accept: application/json`), and what Kratos refuses.
//! The JSON side is driven by Ory's own client in `official_clients.rs`.

#[path = "kratos_support.rs"]
mod kratos_support;

use kratos_support::{get, post, start};
use ksb_emulators::kratos::KratosEmulator;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::{json, Value};

const UI: &str = "http://127.0.0.1:9/registration";
const HOME: &str = "http://127.0.0.1:9/";

async fn browser_kratos(same_site: &str) -> KratosEmulator {
    let k = start(None).await;
    let settings = json!({"registration_ui_url": UI, "default_return_url": HOME, "cookie_same_site": same_site});
    let (status, body) = post(&format!("{}/_emulator/browser", k.admin_url()), settings).await;
    assert_eq!(status, 200, "{body}");
    k
}

/// A client that, like a browser's fetch of a page, does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).no_proxy().build().unwrap()
}

fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect()
}

/// Starts a flow as a link would: 303 to the UI with `?flow=`, and the
/// anti-CSRF cookie. Answers (flow id, cookie pair, csrf token).
async fn start_flow(k: &KratosEmulator, return_to: &str) -> (String, String, String) {
    let url = format!("{}/self-service/registration/browser?return_to={}", k.public_url(), return_to);
    let r = browser().get(url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()[LOCATION].to_str().unwrap().to_string();
    let id = location.strip_prefix(&format!("{UI}?flow=")).expect("sent to the registration UI").to_string();
    let cookie = set_cookies(&r)[0].split(';').next().unwrap().to_string();
    assert!(cookie.starts_with("csrf_token_"), "{cookie}");
    let flow_url = format!("{}/self-service/registration/flows?id={id}", k.public_url());
    let flow: Value = browser().get(flow_url).header(COOKIE, &cookie).send().await.unwrap().json().await.unwrap();
    let token = flow["ui"]["nodes"][0]["attributes"]["value"].as_str().unwrap().to_string();
    (id, cookie, token)
}

async fn submit(k: &KratosEmulator, id: &str, cookie: &str, form: &str) -> reqwest::Response {
    browser()
        .post(format!("{}/self-service/registration?flow={id}", k.public_url()))
        .header(COOKIE, cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_form_post_registers_sets_the_session_cookie_and_returns() {
    let k = browser_kratos("None").await;
    let return_to = "http://127.0.0.1:9/app/?x=1";
    let (id, cookie, token) = start_flow(&k, "http%3A%2F%2F127.0.0.1%3A9%2Fapp%2F%3Fx%3D1").await;
    let form = format!(
        "csrf_token={token}&traits.email=form%40example.com&traits.name.first=Ada&password=correct+horse+battery&method=password"
    );
    let r = submit(&k, &id, &cookie, &form).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], return_to);
    let session = set_cookies(&r).into_iter().find(|c| c.starts_with("ory_kratos_session=")).expect("a session cookie");
    assert!(session.ends_with("; Path=/; Max-Age=86400; HttpOnly; SameSite=None; Secure"), "{session}");
    let pair = session.split(';').next().unwrap().to_string();
    let whoami =
        browser().get(format!("{}/sessions/whoami", k.public_url())).header(COOKIE, &pair).send().await.unwrap();
    let whoami: Value = whoami.json().await.unwrap();
    assert_eq!(whoami["identity"]["traits"], json!({"email": "form@example.com", "name": {"first": "Ada"}}));

    // The flow is used up; a signed-in browser starting another goes home.
    assert_eq!(submit(&k, &id, &cookie, &form).await.status(), 404);
    let again = browser()
        .get(format!("{}/self-service/registration/browser", k.public_url()))
        .header(COOKIE, &pair)
        .send()
        .await
        .unwrap();
    assert_eq!((again.status().as_u16(), again.headers()[LOCATION].to_str().unwrap()), (303, HOME));
}

#[tokio::test]
async fn invalid_submissions_return_to_the_ui_and_forged_ones_are_refused() {
    let k = browser_kratos("Lax").await;
    let (id, cookie, token) = start_flow(&k, "").await;
    let short = format!("csrf_token={token}&traits.email=a%40example.com&password=short&method=password");
    let r = submit(&k, &id, &cookie, &short).await;
    assert_eq!(
        (r.status().as_u16(), r.headers()[LOCATION].to_str().unwrap()),
        (303, format!("{UI}?flow={id}").as_str())
    );
    let flow_url = format!("{}/self-service/registration/flows?id={id}", k.public_url());
    let flow: Value = browser().get(&flow_url).header(COOKIE, &cookie).send().await.unwrap().json().await.unwrap();
    let email = &flow["ui"]["nodes"][1];
    assert_eq!(email["attributes"]["value"], "a@example.com", "the email is shown again");
    assert_eq!(flow["ui"]["nodes"][4]["messages"][0]["id"], 4000032);

    let valid =
        format!("csrf_token={token}&traits.email=a%40example.com&password=correct+horse+battery&method=password");
    let forged = valid.replace(&token, "forged");
    let r = submit(&k, &id, &cookie, &forged).await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["id"], "security_csrf_violation");
    assert_eq!(submit(&k, &id, "csrf_token_0=other", &valid).await.status(), 403, "another browser's cookie");
    let (status, body) =
        get(&format!("{}/self-service/registration/browser?return_to=https%3A%2F%2Fevil.example%2F", k.public_url()))
            .await;
    assert_eq!((status, &body["error"]["id"]), (400, &json!("self_service_flow_return_to_forbidden")));
    assert_eq!(submit(&k, &id, &cookie, &valid).await.status(), 303, "the genuine form still works");
}
