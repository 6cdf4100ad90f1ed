//! The end-to-end stack: the built wasm worker under `wrangler dev`, with
//! the Stripe and Kratos emulators, all on free loopback ports, all stopped
//! when the [`Stack`] is dropped. Each test gets its own stack (and its own
//! local KV), so tests never see each other's state.
//!
//! This is what every binary that runs the worker needs; the calls a test
//! makes to the emulators and the worker's API are in `calls.rs`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ksb_emulators::kratos::{self, HookOptions, KratosEmulator, KratosOptions};
use ksb_emulators::stripe::{self, StripeEmulator, StripeOptions};

use super::basics::{free_port, repo_root, ProcessGroup};

pub const STRIPE_KEY: &str = "sk_test_emulator";
pub const STRIPE_WEBHOOK_SECRET: &str = "whsec_e2e_current";
pub const KRATOS_WEBHOOK_SECRET: &str = "e2e-kratos-hook-secret";
pub const BRIDGE_API_TOKEN: &str = "e2e-bridge-api-token";
pub const KRATOS_ADMIN_TOKEN: &str = "ory_pat_e2e";
pub const APP_URL: &str = "http://127.0.0.1:9/app";
pub const PRICING_URL: &str = "http://127.0.0.1:9/pricing";

/// The catalogue the end-to-end tests run with (the spec's example).
pub const PLANS: &str = kratos_stripe_bridge::entitlements::plans::EXAMPLE_PLANS;

/// Builds the worker once per test binary, unless the test command already
/// did (it sets `KSB_BUILT=1`).
fn ensure_built() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let index = repo_root().join("build/index.js");
        if std::env::var("KSB_BUILT").as_deref() == Ok("1") && index.exists() {
            return;
        }
        let status = Command::new("bash")
            .arg(repo_root().join("scripts/build.sh"))
            .current_dir(repo_root())
            .status()
            .expect("run scripts/build.sh");
        assert!(status.success(), "scripts/build.sh failed");
        assert!(index.exists(), "the build did not write build/index.js");
    });
}

fn compatibility_date() -> String {
    let toml = std::fs::read_to_string(repo_root().join("wrangler.toml")).expect("read wrangler.toml");
    toml.lines()
        .find_map(|l| l.strip_prefix("compatibility_date"))
        .and_then(|rest| rest.split('"').nth(1))
        .expect("compatibility_date in wrangler.toml")
        .to_string()
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).expect("a TOML basic string is a JSON string")
}

/// What a test may change before the stack starts.
pub struct StackOptions {
    /// Extra or overriding worker vars (`PLANS`, `ENVIRONMENT`, ...).
    pub vars: Vec<(String, String)>,
    pub stripe: StripeOptions,
    pub kratos_hooks: HookOptions,
    /// Start the worker even if `/healthz` does not answer 200 (config tests).
    pub expect_unhealthy: bool,
    /// `BRIDGE_PATH_PREFIX`: the bridge's routes (hooks, webhooks, the API)
    /// are called below it; see [`Stack::bridge_url`].
    pub bridge_prefix: String,
    /// Registers the worker under this name in a dev registry of the
    /// stack's own (`WRANGLER_REGISTRY_PATH`), so that a worker started with
    /// [`Stack::start_worker`] reaches it through a Service Binding
    /// (`[[services]] service = <name>`). None: the usual test name.
    pub service_name: Option<String>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            vars: Vec::new(),
            stripe: StripeOptions { webhook_secret: STRIPE_WEBHOOK_SECRET.into(), ..StripeOptions::default() },
            kratos_hooks: HookOptions::default(),
            bridge_prefix: String::new(),
            expect_unhealthy: false,
            service_name: None,
        }
    }
}

impl StackOptions {
    pub fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.push((name.into(), value.into()));
        self
    }
}

/// A running worker with its emulators.
pub struct Stack {
    pub stripe: StripeEmulator,
    pub kratos: KratosEmulator,
    pub worker_url: String,
    /// `worker_url` and `BRIDGE_PATH_PREFIX`: where the bridge's own routes are.
    pub bridge_base: String,
    pub http: reqwest::Client,
    /// `wrangler dev`, started once the stack knows the worker's vars.
    wrangler: Option<ProcessGroup>,
    /// The vars the test set (over [`Stack::worker_vars`]' defaults).
    overrides: Vec<(String, String)>,
    /// [`StackOptions::service_name`].
    service_name: Option<String>,
    dir: PathBuf,
}

impl Stack {
    pub async fn start() -> Stack {
        Self::start_with(StackOptions::default()).await
    }

    pub async fn start_with(options: StackOptions) -> Stack {
        ensure_built();
        let port = free_port();
        let worker_url = format!("http://127.0.0.1:{port}");
        let bridge_base = format!("{worker_url}{}", options.bridge_prefix);

        let mut stripe_options = options.stripe;
        stripe_options.webhook_url = Some(format!("{bridge_base}/webhooks/stripe"));
        let stripe = stripe::start(stripe_options).await.expect("start the Stripe emulator");

        let mut hooks = options.kratos_hooks;
        hooks.registration_url = Some(format!("{bridge_base}/hooks/kratos/registration"));
        hooks.settings_url = Some(format!("{bridge_base}/hooks/kratos/settings"));
        hooks.auth = Some(("Authorization".into(), format!("Bearer {KRATOS_WEBHOOK_SECRET}")));
        let kratos = kratos::start(KratosOptions {
            admin_token: Some(KRATOS_ADMIN_TOKEN.into()),
            hooks,
            ..KratosOptions::default()
        })
        .await
        .expect("start the Kratos emulator");

        let dir = std::env::temp_dir().join(format!("ksb-e2e-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the stack's folder");
        let http = reqwest::Client::builder().no_proxy().build().expect("an HTTP client");
        let overrides = options.vars;
        let service_name = options.service_name;
        let mut stack =
            Stack { stripe, kratos, worker_url, bridge_base, http, wrangler: None, overrides, service_name, dir };
        let config = write_config(&stack.dir, &stack.worker_vars(stack.overrides.clone()), stack.name());
        stack.wrangler = Some(spawn_wrangler(&config, port, &stack.dir, stack.registry().as_deref()));
        stack.wait_ready(options.expect_unhealthy).await;
        stack
    }

    /// The worker's vars: the tests' settings, with this stack's emulators as
    /// its upstreams, then `overrides` (which win).
    fn worker_vars(&self, overrides: Vec<(String, String)>) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = vec![
            ("ENVIRONMENT".into(), "test".into()),
            ("STRIPE_API_BASE".into(), self.stripe.url()),
            ("STRIPE_SECRET_KEY".into(), STRIPE_KEY.into()),
            ("STRIPE_WEBHOOK_SECRET".into(), STRIPE_WEBHOOK_SECRET.into()),
            ("KRATOS_WEBHOOK_SECRET".into(), KRATOS_WEBHOOK_SECRET.into()),
            ("KRATOS_ADMIN_TOKEN".into(), KRATOS_ADMIN_TOKEN.into()),
            ("BRIDGE_API_TOKEN".into(), BRIDGE_API_TOKEN.into()),
            ("KRATOS_ADMIN_URL".into(), self.kratos.admin_url()),
            ("KRATOS_PUBLIC_URL".into(), self.kratos.public_url()),
            ("PLANS".into(), PLANS.into()),
            ("PRICING_URL".into(), PRICING_URL.into()),
            ("APP_URL".into(), APP_URL.into()),
        ];
        for (k, v) in overrides {
            vars.retain(|(name, _)| *name != k);
            vars.push((k, v));
        }
        vars
    }

    /// Stops `wrangler dev` and starts it again on the same port with the
    /// same persistence directory: local KV and Durable Objects survive, as
    /// they survive a developer's restart.
    pub async fn restart_worker(&mut self) {
        self.restart_worker_with(&[]).await;
    }

    /// [`Stack::restart_worker`] with `vars` set over the ones it ran with
    /// (as a developer edits `.dev.vars` and restarts).
    pub async fn restart_worker_with(&mut self, vars: &[(&str, &str)]) {
        if let Some(mut wrangler) = self.wrangler.take() {
            wrangler.stop();
        }
        for (name, value) in vars {
            self.overrides.retain(|(n, _)| n != name);
            self.overrides.push((name.to_string(), value.to_string()));
        }
        let config = write_config(&self.dir, &self.worker_vars(self.overrides.clone()), self.name());
        let port: u16 = self.worker_url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("the worker's port");
        self.wrangler = Some(spawn_wrangler(&config, port, &self.dir, self.registry().as_deref()));
        self.wait_ready(false).await;
    }

    async fn wait_ready(&self, expect_unhealthy: bool) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(r) = self.http.get(self.bridge_url("/healthz")).send().await {
                if r.status() == 200 || expect_unhealthy {
                    return;
                }
                let body = r.text().await.unwrap_or_default();
                panic!("the worker is unhealthy: {body}\n{}", self.wrangler_log());
            }
            if Instant::now() > deadline {
                panic!("wrangler dev did not answer within 90 s\n{}", self.wrangler_log());
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// The wrangler log once `ready` holds for it (wrangler writes request
    /// and console lines a moment after answering). Panics, naming `what`,
    /// when it does not hold within 20 s: a test never goes on to check a
    /// log that lacks what it waited for.
    pub async fn log_when(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.wrangler_log();
            if ready(&log) {
                return log;
            }
            if Instant::now() > deadline {
                panic!("the worker's log did not show {what} within 20 s:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What wrangler and the worker printed (for failure messages).
    pub fn wrangler_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("wrangler.log")).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.worker_url)
    }

    /// A route of the bridge (below `BRIDGE_PATH_PREFIX` when one is set).
    pub fn bridge_url(&self, path: &str) -> String {
        format!("{}{path}", self.bridge_base)
    }

    /// The worker's `name` in its wrangler.toml.
    fn name(&self) -> &str {
        self.service_name.as_deref().unwrap_or("kratos-stripe-bridge-e2e")
    }

    /// The stack's own dev registry, when the worker is registered as a service.
    fn registry(&self) -> Option<PathBuf> {
        self.service_name.as_ref().map(|_| self.dir.join("registry"))
    }

    /// Starts another worker (`config`, its wrangler.toml) under its own
    /// `wrangler dev` on a free port, with `vars` (`--var`), in this stack's
    /// dev registry, so its Service Binding to [`StackOptions::service_name`]
    /// reaches this stack's worker. Waits until it answers; stopped when the
    /// answered [`ExtraWorker`] is dropped.
    pub async fn start_worker(&self, config: &Path, vars: &[(&str, &str)]) -> ExtraWorker {
        let registry = self.registry().expect("start_worker needs StackOptions::service_name");
        let port = free_port();
        let dir = self.dir.join(format!("worker-{port}"));
        std::fs::create_dir_all(&dir).expect("create the worker's folder");
        let log_path = dir.join("wrangler.log");
        let log = std::fs::File::create(&log_path).expect("create the worker's log");
        let mut cmd = wrangler_dev(config, port, &dir);
        for (k, v) in vars {
            cmd.arg("--var").arg(format!("{k}:{v}"));
        }
        quiet_wrangler(&mut cmd)
            .env("WRANGLER_REGISTRY_PATH", &registry)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let process = ProcessGroup::new(cmd.spawn().expect("start wrangler dev for the extra worker"));
        let worker = ExtraWorker { url: format!("http://127.0.0.1:{port}"), log: log_path, _process: process };
        let deadline = Instant::now() + Duration::from_secs(90);
        while self.http.get(&worker.url).send().await.is_err() {
            assert!(Instant::now() < deadline, "the extra worker did not answer within 90 s\n{}", worker.log());
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        worker
    }
}

/// A worker [`Stack::start_worker`] started beside the bridge.
pub struct ExtraWorker {
    pub url: String,
    log: PathBuf,
    _process: ProcessGroup,
}

impl ExtraWorker {
    /// What its wrangler printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// wrangler without telemetry, update checks or its one outbound call.
fn quiet_wrangler(cmd: &mut Command) -> &mut Command {
    cmd.env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("WRANGLER_SEND_METRICS", "false")
        .env("WRANGLER_SEND_ERROR_REPORTS", "false")
        .env("NO_UPDATE_NOTIFIER", "1")
        .env("CI", "true")
}

fn write_config(dir: &Path, vars: &[(String, String)], name: &str) -> PathBuf {
    let path = dir.join("wrangler.toml");
    let mut f = std::fs::File::create(&path).expect("write the test wrangler.toml");
    let main = repo_root().join("build/index.js");
    writeln!(f, "name = {}", toml_string(name)).unwrap();
    writeln!(f, "main = {}", toml_string(&main.to_string_lossy())).unwrap();
    writeln!(f, "compatibility_date = \"{}\"", compatibility_date()).unwrap();
    writeln!(f, "[[kv_namespaces]]\nbinding = \"BILLING_KV\"\nid = \"e2e\"").unwrap();
    writeln!(f, "[[durable_objects.bindings]]\nname = \"USAGE\"\nclass_name = \"UsageCounter\"").unwrap();
    writeln!(f, "[[migrations]]\ntag = \"v1\"\nnew_sqlite_classes = [\"UsageCounter\"]").unwrap();
    writeln!(f, "[vars]").unwrap();
    for (k, v) in vars {
        writeln!(f, "{k} = {}", toml_string(v)).unwrap();
    }
    path
}

/// `wrangler dev` of `config` on `port`, its inspector on a free port and its
/// local state in `dir`'s `state`: what every worker a test starts shares.
fn wrangler_dev(config: &Path, port: u16, dir: &Path) -> Command {
    let mut cmd = Command::new(repo_root().join("node_modules/.bin/wrangler"));
    cmd.args(["dev", "--config"])
        .arg(config)
        .args(["--ip", "127.0.0.1", "--port", &port.to_string()])
        .args(["--inspector-port", &free_port().to_string()])
        .arg("--persist-to")
        .arg(dir.join("state"))
        .args(["--show-interactive-dev-session=false", "--log-level", "log"]);
    cmd
}

/// Starts `wrangler dev` on `port` with `config`, in its own process group,
/// its output in `dir`'s `wrangler.log` and its local KV in `dir`'s `state`;
/// registered in `registry` when given (else wrangler's own dev registry).
fn spawn_wrangler(config: &Path, port: u16, dir: &Path, registry: Option<&Path>) -> ProcessGroup {
    // Appended to: a restarted worker's lines follow the first run's.
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("wrangler.log"))
        .expect("open wrangler.log");
    let mut cmd = wrangler_dev(config, port, dir);
    // GET /__scheduled fires the cron (the reconciliation walk).
    cmd.arg("--test-scheduled")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone log handle"))
        .stderr(log);
    quiet_wrangler(&mut cmd);
    if let Some(registry) = registry {
        cmd.env("WRANGLER_REGISTRY_PATH", registry);
    }
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    ProcessGroup::new(cmd.spawn().expect("start wrangler dev (run scripts/test.sh once to install it)"))
}

/// What no log line of the worker may contain, whatever the test did: a
/// secret, a session credential, an email address. Checked on every
/// stack's log when it stops, so the whole end-to-end suite asserts it.
pub fn forbidden_in(line: &str) -> Option<String> {
    let secrets = [STRIPE_KEY, STRIPE_WEBHOOK_SECRET, KRATOS_WEBHOOK_SECRET, BRIDGE_API_TOKEN, KRATOS_ADMIN_TOKEN];
    if let Some(s) = secrets.iter().find(|s| line.contains(*s)) {
        return Some(format!("the secret {s}"));
    }
    for credential in ["ory_st_", "ory_kratos_session=", "ory_session_"] {
        if line.contains(credential) {
            return Some(format!("a session credential ({credential}...)"));
        }
    }
    let bytes = line.as_bytes();
    for (i, _) in line.match_indices('@') {
        let local = i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || b"._%+-".contains(&bytes[i - 1]));
        let domain: String =
            line[i + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-').collect();
        if local && domain.contains('.') && !domain.starts_with('.') {
            return Some("an email address".into());
        }
    }
    None
}

/// The worker's own log lines (`{"at": ...}`), whichever console method
/// wrote them: wrangler prints `console.warn` and `console.error` lines
/// behind a coloured `▲ [WARNING]` or `✘ [ERROR]` mark, which is cut away.
pub fn worker_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter_map(|l| {
            let line = &l[l.find(r#"{"at":"#)?..];
            Some(line.rfind('}').map_or(line, |end| &line[..=end]))
        })
        .collect()
}

impl Stack {
    /// Panics when a worker log line (`{"at": ...}`) holds what
    /// [`forbidden_in`] names.
    fn assert_clean_log(&self) {
        let log = self.wrangler_log();
        for line in worker_lines(&log) {
            if let Some(what) = forbidden_in(line) {
                panic!("a worker log line holds {what}: {line}");
            }
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(wrangler) = self.wrangler.as_mut() {
            wrangler.stop();
        }
        if !std::thread::panicking() {
            self.assert_clean_log();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
