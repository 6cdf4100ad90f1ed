//! The browser tests' side of the harness: the example app
//! (`examples/app/server.mjs`) on a free loopback port, and one scenario of
//! `tests/browser/flows.mjs` run in Debian's Chromium through playwright-core.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::basics::{repo_root, ProcessGroup};

/// The example app, stopped when dropped.
pub struct ExampleApp {
    pub url: String,
    _process: ProcessGroup,
}

impl ExampleApp {
    /// Starts `node examples/app/server.mjs` on `port` (chosen before the
    /// stack, whose vars name it) and waits until it answers.
    pub async fn start(port: u16, bridge_url: &str, kratos_public_url: &str) -> ExampleApp {
        let url = format!("http://127.0.0.1:{port}");
        let mut cmd = Command::new("node");
        cmd.arg(repo_root().join("examples/app/server.mjs"))
            .env("PORT", port.to_string())
            .env("APP_URL", &url)
            .env("BRIDGE_URL", bridge_url)
            .env("KRATOS_PUBLIC_URL", kratos_public_url)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let process = ProcessGroup::new(cmd.spawn().expect("start node examples/app/server.mjs"));
        let http = reqwest::Client::builder().no_proxy().build().expect("an HTTP client");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{url}/pricing")).send().await.is_err() {
            assert!(Instant::now() < deadline, "the example app did not answer on {url} within 20 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        ExampleApp { url, _process: process }
    }
}

/// Where a run's screenshots go: `target/browser/<label>/`.
pub fn screenshots(label: &str) -> PathBuf {
    repo_root().join("target/browser").join(label)
}

/// The Chromium to drive: `KSB_CHROMIUM` (the test command exports it after
/// installing Debian's), else `chromium` on the PATH.
fn chromium() -> String {
    if let Ok(path) = std::env::var("KSB_CHROMIUM") {
        return path;
    }
    let found = Command::new("sh").args(["-c", "command -v chromium"]).output().expect("run sh");
    let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
    assert!(
        !path.is_empty(),
        "no Chromium: run ./scripts/test.sh once (it installs Debian's chromium), or set KSB_CHROMIUM"
    );
    path
}

/// Runs one scenario of `tests/browser/flows.mjs` with `vars`, its
/// screenshots in `target/browser/<label>/`; panics with the script's
/// account of the failed step, else answers its summary.
pub async fn run_scenario(scenario: &str, label: &str, vars: &[(&str, &str)]) -> Value {
    let shots = screenshots(label);
    let _ = std::fs::remove_dir_all(&shots);
    // Not std's: the emulators answer the browser on this test's runtime.
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(repo_root().join("tests/browser/flows.mjs"))
        .current_dir(repo_root())
        .env("SCENARIO", scenario)
        .env("KSB_CHROMIUM", chromium())
        .env("SHOTS", &shots);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.kill_on_drop(true);
    let out = cmd.output().await.expect("run node tests/browser/flows.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "browser scenario {scenario} failed:\n{stderr}\n{stdout}");
    let last = stdout.lines().last().unwrap_or("");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("scenario {scenario} printed no summary ({e}): {stdout}"))
}
