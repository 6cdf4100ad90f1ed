//! End to end: the proxy configurations of `examples/proxies`, run as they
//! are shipped (nginx's template rendered as its README says, the Caddyfile
//! filled from the environment) on free loopback ports, in front of an echo
//! app, asking the worker's `/auth/forward` under `wrangler dev`. Each must
//! let only what the bridge allows reach the app, with the bridge's identity
//! headers and never a client's. Traefik is not packaged by Debian, so its
//! configuration is documented, not run (examples/proxies/README.md).
//!
//! The proxies come from `KSB_NGINX` and `KSB_CADDY` (scripts/test.sh
//! installs Debian's and exports them: `ensure_proxies`), else the PATH.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::basics::{free_port, repo_root, status_json, ProcessGroup};
use common::calls::User;
use common::origin::Origin;
use common::stack::*;
use reqwest::Method;
use serde_json::{json, Value};

const RULES: &str = r#"[
  {"path": "/reports/*", "feature": "premium_feature"},
  {"path": "/app/*", "session": "required"}
]"#;
const LOGIN_URL: &str = "http://127.0.0.1:9/login";

/// A proxy under test, stopped (with its folder removed) when dropped.
struct Proxy {
    url: String,
    dir: PathBuf,
    log: PathBuf,
    process: Option<ProcessGroup>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `KSB_<NAME>` when set, else `name` found on the PATH.
fn binary(env: &str, name: &str) -> String {
    if let Ok(path) = std::env::var(env) {
        return path;
    }
    let found = Command::new("sh").args(["-c", &format!("command -v {name}")]).output().expect("run sh");
    let mut path = String::from_utf8_lossy(&found.stdout).trim().to_string();
    // Debian puts nginx in /usr/sbin, which is not on a user's PATH.
    let sbin = format!("/usr/sbin/{name}");
    if path.is_empty() && Path::new(&sbin).exists() {
        path = sbin;
    }
    assert!(!path.is_empty(), "no {name}: run ./scripts/test.sh once (it installs Debian's {name}), or set {env}");
    path
}

fn proxy_dir(name: &str, port: u16) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ksb-{name}-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the proxy's folder");
    dir
}

/// Starts `cmd` (its output into `log`) and waits until `port` accepts.
fn spawn(mut cmd: Command, name: &str, port: u16, dir: PathBuf, log: PathBuf) -> Proxy {
    let out = std::fs::File::create(&log).expect("create the proxy's log");
    cmd.stdin(Stdio::null()).stdout(out.try_clone().unwrap()).stderr(out);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("start {name}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{name} exited ({status}):\n{}", std::fs::read_to_string(&log).unwrap_or_default());
        }
        assert!(Instant::now() < deadline, "{name} did not listen on {port} within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    Proxy { url: format!("http://127.0.0.1:{port}"), dir, log, process: Some(ProcessGroup::new(child)) }
}

fn host_port(url: &str) -> &str {
    url.strip_prefix("http://").expect("a loopback http:// URL")
}

/// nginx with `examples/proxies/nginx.conf.template`, rendered as its README
/// says (envsubst of LISTEN, BRIDGE_URL, APP), as the current user, in the
/// foreground, everything it writes in its own folder.
fn start_nginx(bridge_url: &str, app: &str) -> Proxy {
    let port = free_port();
    let dir = proxy_dir("nginx", port);
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let template = std::fs::read_to_string(repo_root().join("examples/proxies/nginx.conf.template")).unwrap();
    let conf = template
        .replace("${LISTEN}", &format!("127.0.0.1:{port}"))
        .replace("${BRIDGE_URL}", bridge_url)
        .replace("${APP}", host_port(app));
    assert!(!conf.contains("${"), "a placeholder was left unrendered");
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let mut cmd = Command::new(binary("KSB_NGINX", "nginx"));
    cmd.arg("-p").arg(&dir).arg("-c").arg(&conf_path).arg("-e").arg(dir.join("error.log"));
    // As root, nginx's workers would switch to `nobody`: stay the current user.
    let globals = if unsafe { libc::getuid() } == 0 { "daemon off; user root;" } else { "daemon off;" };
    cmd.args(["-g", globals]);
    let log = dir.join("error.log");
    spawn(cmd, "nginx", port, dir, log)
}

/// Caddy with `examples/proxies/Caddyfile` as it is, filled from the
/// environment; no admin endpoint, its state in its own folder.
fn start_caddy(bridge_url: &str, app: &str) -> Proxy {
    let port = free_port();
    let dir = proxy_dir("caddy", port);
    let mut cmd = Command::new(binary("KSB_CADDY", "caddy"));
    cmd.args(["run", "--adapter", "caddyfile", "--config"])
        .arg(repo_root().join("examples/proxies/Caddyfile"))
        .env("SITE", format!("http://127.0.0.1:{port}"))
        .env("BRIDGE", host_port(bridge_url))
        .env("APP", host_port(app))
        .env("CADDY_ADMIN", "off")
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"));
    let log = dir.join("caddy.log");
    spawn(cmd, "caddy", port, dir, log)
}

/// A request through the proxy, as a client sends it.
async fn through(proxy: &Proxy, path: &str, headers: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, Value) {
    let client = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut r = client.get(format!("{}{path}", proxy.url));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let r = r.send().await.unwrap_or_else(|e| panic!("GET {path} through the proxy: {e}"));
    let h = r.headers().clone();
    let (status, body) = status_json(r).await;
    (status, h, body)
}

/// The echo app answered (418, `x-origin: yes`): the request reached it.
fn reached_app(h: &reqwest::header::HeaderMap) -> bool {
    h.get("x-origin").is_some_and(|v| v == "yes")
}

/// A header as the app received it (the echo's `headers`), empty ones as none.
fn at_app<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body["headers"][name].as_str().filter(|v| !v.is_empty())
}

async fn subscribe_pro(stack: &Stack, user: &User) {
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
    let form = [("customer", user.customer.as_str()), ("items[0][price]", "price_pro_monthly")];
    stack.stripe_api(Method::POST, "/v1/subscriptions", &form).await;
    assert_eq!(stack.sync(&user.id).await.plan, "pro");
}

/// Everything a proxy in front of the app must do with the bridge's answers.
async fn the_proxy_lets_through_only_what_the_bridge_allows(name: &str, start: fn(&str, &str) -> Proxy) {
    let options = StackOptions::default().var("GATE_ROUTES", RULES).var("LOGIN_URL", LOGIN_URL);
    let stack = Stack::start_with(options).await;
    let app = Origin::start().await;
    let free = stack.user(&format!("{name}-free@example.com")).await;
    let pro = stack.user(&format!("{name}-pro@example.com")).await;
    subscribe_pro(&stack, &pro).await;
    let proxy = start(&stack.worker_url, &app.url);
    let fail = |what: &str| format!("{name}: {what}\n{}", std::fs::read_to_string(&proxy.log).unwrap_or_default());

    // An ungated path: passed for anyone, with no identity.
    let (status, h, body) = through(&proxy, "/pricing?plan=pro", &[]).await;
    assert!(reached_app(&h), "{}", fail(&format!("/pricing did not reach the app: {status} {body}")));
    assert_eq!((body["path"].as_str(), body["query"].as_str()), (Some("/pricing"), Some("plan=pro")));
    assert_eq!((at_app(&body, "x-identity-id"), at_app(&body, "x-plan")), (None, None), "{body}");

    // Signed out on a path that needs a session: 401 JSON for an API
    // client, the login page (with the URL to return to) for a browser.
    let (status, h, body) = through(&proxy, "/app/home", &[]).await;
    assert!(!reached_app(&h));
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")), "{}", fail(&body.to_string()));
    let (status, h, _) = through(&proxy, "/app/home?tab=1", &[("Accept", "text/html")]).await;
    let location = h.get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert_eq!(status, 302, "{}", fail("a browser without a session"));
    let here = proxy.url.replace(':', "%3A").replace('/', "%2F");
    assert_eq!(location, format!("{LOGIN_URL}?return_to={here}%2Fapp%2Fhome%3Ftab%3D1"));

    // Free on a premium path: 403 with the reason, a browser to pricing.
    let free_session = [("X-Session-Token", free.token.as_str())];
    let (status, h, body) = through(&proxy, "/reports/q3", &free_session).await;
    assert!(!reached_app(&h));
    assert_eq!((status, body["reason"].as_str()), (403, Some("no_subscription")), "{}", fail(&body.to_string()));
    let (status, h, _) = through(&proxy, "/reports/q3", &[free_session[0], ("Accept", "text/html")]).await;
    assert_eq!((status, h.get("location").and_then(|v| v.to_str().ok())), (302, Some(PRICING_URL)));
    // ... and signed in on a path that needs only a session: passed, as free.
    let (_, h, body) = through(&proxy, "/app/home", &free_session).await;
    assert!(reached_app(&h), "{}", fail(&body.to_string()));
    assert_eq!((at_app(&body, "x-identity-id"), at_app(&body, "x-plan")), (Some(free.id.as_str()), Some("free")));

    // Pro on the premium path: the app gets the bridge's identity headers.
    let pro_session = [("X-Session-Token", pro.token.as_str())];
    let (_, h, body) = through(&proxy, "/reports/q3?x=1", &pro_session).await;
    assert!(reached_app(&h), "{}", fail(&body.to_string()));
    assert_eq!(body["path"], "/reports/q3");
    assert_eq!(
        (at_app(&body, "x-identity-id"), at_app(&body, "x-plan"), at_app(&body, "x-access")),
        (Some(pro.id.as_str()), Some("pro"), Some("full")),
        "{body}"
    );

    // A client's own identity headers never reach the app as it sent them:
    // on the premium path, an ungated one, as free or pro, in any spelling.
    for (path, token) in [("/reports/q3", &pro.token), ("/app/home", &free.token), ("/pricing", &free.token)] {
        for forged in [("X-Plan", "enterprise"), ("x_plan", "enterprise"), ("X-Identity-Id", pro.id.as_str())] {
            let (status, h, body) = through(&proxy, path, &[("X-Session-Token", token.as_str()), forged]).await;
            if reached_app(&h) {
                let plan = body["headers"]["x-plan"].as_str().or(body["headers"]["x_plan"].as_str());
                assert_ne!(plan, Some("enterprise"), "{name}: {path} {forged:?} reached the app: {body}");
                assert!(
                    token == &pro.token || at_app(&body, "x-identity-id") != Some(pro.id.as_str()),
                    "{name}: {path} {forged:?}: {body}"
                );
            } else {
                assert_eq!(status, 403, "{path} {forged:?}: {body}");
            }
        }
    }

    // Every decision came from the bridge's /auth/forward.
    let route = r#""route":"/auth/forward""#;
    let asked = |log: &str| worker_lines(log).iter().filter(|l| l.contains(route)).count();
    stack.log_when("ten /auth/forward request lines", |log| asked(log) >= 10).await;
    drop(proxy);
}

#[tokio::test(flavor = "multi_thread")]
async fn nginx_with_the_example_configuration() {
    the_proxy_lets_through_only_what_the_bridge_allows("nginx", start_nginx).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn caddy_with_the_example_caddyfile() {
    the_proxy_lets_through_only_what_the_bridge_allows("caddy", start_caddy).await;
}
