//! The README's run command: `scripts/dev.sh` brings up the emulators and
//! `wrangler dev`, answers `/healthz` from the wasm worker, and a sign-up in
//! the Kratos emulator reaches the worker and the Stripe emulator, and the
//! example app it serves takes a browser through sign-up and Checkout.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::basics::{free_port, repo_root, status_json, ProcessGroup};
use common::browser::run_scenario;
use kratos_stripe_bridge::entitlements::record::Entitlement;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn the_run_command_serves_the_worker_with_its_emulators() {
    let (worker, stripe, admin, public, app) = (free_port(), free_port(), free_port(), free_port(), free_port());
    let dir = std::env::temp_dir().join(format!("ksb-dev-{worker}"));
    std::fs::create_dir_all(&dir).unwrap();
    let log_path = dir.join("dev.log");
    let log = std::fs::File::create(&log_path).unwrap();
    // Its own persistence and no developer's .dev.vars: nothing of an
    // earlier run or of a local setup can make this pass.
    let (state, no_vars) = (dir.join("state"), dir.join("empty.dev.vars"));
    std::fs::write(&no_vars, "").unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("scripts/dev.sh"))
        .current_dir(repo_root())
        .env("KSB_PORT", worker.to_string())
        .env("KSB_STRIPE_PORT", stripe.to_string())
        .env("KSB_KRATOS_ADMIN_PORT", admin.to_string())
        .env("KSB_KRATOS_PUBLIC_PORT", public.to_string())
        .env("KSB_APP_PORT", app.to_string())
        .env("KSB_PERSIST_TO", &state)
        .env("KSB_DEV_VARS", &no_vars)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let _running = ProcessGroup::new(cmd.spawn().expect("start scripts/dev.sh"));

    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(240);
    let health = loop {
        if let Ok(r) = http.get(format!("http://127.0.0.1:{worker}/healthz")).send().await {
            break status_json(r).await;
        }
        assert!(Instant::now() < deadline, "dev.sh did not serve /healthz:\n{}", read_log());
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(health.0, 200, "{}\n{}", health.1, read_log());
    assert_eq!(health.1["ok"], true);
    assert!(read_log().contains("Try it:"), "dev.sh prints how to try it");

    // The README's first steps: sign up in the Kratos emulator, read the entitlements.
    let r = http
        .post(format!("http://127.0.0.1:{admin}/_emulator/flows/registration"))
        .json(&json!({"traits": {"email": "ada@example.com", "name": {"first": "Ada", "last": "Lovelace"}}}))
        .send()
        .await
        .unwrap();
    let flow: Value = r.json().await.unwrap();
    assert_eq!(flow["hook"]["ok"], true, "{flow}\n{}", read_log());
    let id = flow["identity"]["id"].as_str().unwrap();
    let r = http
        .get(format!("http://127.0.0.1:{worker}/v1/identities/{id}/entitlements"))
        .bearer_auth("dev-bridge-token")
        .send()
        .await
        .unwrap();
    let (status, e) = status_json(r).await;
    assert_eq!(status, 200, "{e}");
    let e: Entitlement = serde_json::from_value(e).expect("an entitlement record");
    assert_eq!(e.plan, "free", "{e:?}");
    assert!(e.stripe_customer_id.as_deref().is_some_and(|c| c.starts_with("cus_")), "{e:?}");

    // The README's cron line: the walk runs now (a run that started after
    // the cron fired), and its state says so.
    let fired = common::basics::unix_now();
    let r = http.get(format!("http://127.0.0.1:{worker}/__scheduled?cron=*/5+*+*+*+*")).send().await.unwrap();
    assert!(r.status().is_success(), "the cron fires under dev.sh: {}", r.status());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = http
            .get(format!("http://127.0.0.1:{worker}/v1/admin/reconciliation"))
            .bearer_auth("dev-bridge-token")
            .send()
            .await
            .unwrap();
        let (_, state) = status_json(r).await;
        if state["last_run"]["started_at"].as_i64() >= Some(fired) {
            assert!(state["last_run"]["scanned"].as_u64() >= Some(1), "the walk saw the customer: {state}");
            break;
        }
        assert!(Instant::now() < deadline, "the walk did not run: {state}\n{}", read_log());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The tour's browser half: the example app on KSB_APP_PORT, in Chromium.
    let urls = [app, worker, stripe].map(|p| format!("http://127.0.0.1:{p}"));
    let vars = [("APP_URL", &urls[0]), ("BRIDGE_URL", &urls[1]), ("STRIPE_URL", &urls[2])];
    let mut vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(("EMAIL", "grace@example.com"));
    run_scenario("upgrade", "dev-script", &vars).await;

    let persisted = std::fs::read_dir(&state).map(|d| d.count()).unwrap_or(0);
    assert!(persisted > 0, "wrangler dev kept its state in KSB_PERSIST_TO\n{}", read_log());
    drop(_running);
    let _ = std::fs::remove_dir_all(&dir);
}
