//! `ksb-emulators`: runs the Stripe and Kratos emulators for the local run
//! (`scripts/dev.sh`) until interrupted, on fixed loopback ports.
//!
//! Flags: see `HELP` below (`ksb-emulators --help`).

use std::process::ExitCode;

use ksb_emulators::{kratos, stripe};

struct Args {
    stripe_port: u16,
    kratos_admin_port: u16,
    kratos_public_port: u16,
    worker_url: String,
    stripe_api_key: String,
    stripe_webhook_secret: String,
    kratos_webhook_secret: String,
    kratos_admin_token: Option<String>,
    browser: kratos::BrowserOptions,
}

const HELP: &str = "ksb-emulators: the local Stripe and Kratos emulators (scripts/dev.sh runs them)

Usage: cargo run -p ksb-emulators -- [flags]   (or target/debug/ksb-emulators [flags])

Serves, on 127.0.0.1, until Ctrl-C: Stripe's API (/v1/..., key sk_test_emulator)
with its hosted Checkout and Portal pages, and Kratos' admin API (/admin/...)
and public API (/sessions/whoami, /self-service/registration/...). Each has
JSON controls under /_emulator/ (no auth): emulators/README.md lists them.
Prints `ready` once both listen.

Flags (all optional):
  --stripe-port N                   Stripe API (default 12111); 0 disables the Stripe emulator
  --kratos-admin-port N             Kratos admin API (default 4434)
  --kratos-public-port N            Kratos public API (default 4433)
  --worker-url URL                  where hooks and webhooks go (default http://127.0.0.1:8787)
  --stripe-api-key KEY              the key the Stripe emulator accepts (default sk_test_emulator)
  --stripe-webhook-secret S         signs webhook events (default whsec_dev)
  --kratos-webhook-secret S         sent as `Authorization: Bearer S` on hooks (default dev-kratos-hook-secret)
  --kratos-admin-token T            required on the admin API when given
  --kratos-registration-ui-url URL  the page that renders browser registration flows
  --kratos-return-url URL           where browsers land after a flow (its origin may be a return_to)
  --kratos-allowed-return-url URL   a further allowed return_to prefix (repeatable)
  --kratos-cookie-same-site S       the session cookie's SameSite: Lax (default), Strict or None
  -h, --help                        prints this

Example: the emulators alone, for a worker on :8787 with .dev.vars' defaults
  cargo run -p ksb-emulators -- --kratos-registration-ui-url http://127.0.0.1:3000/registration
";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        stripe_port: 12111,
        kratos_admin_port: 4434,
        kratos_public_port: 4433,
        worker_url: "http://127.0.0.1:8787".into(),
        stripe_api_key: "sk_test_emulator".into(),
        stripe_webhook_secret: "whsec_dev".into(),
        kratos_webhook_secret: "dev-kratos-hook-secret".into(),
        kratos_admin_token: None,
        browser: kratos::BrowserOptions::default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        if !HELP.contains(&format!("  {flag} ")) || !flag.starts_with("--") {
            return Err(format!("unknown flag {flag}"));
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let port = |v: &str| v.parse::<u16>().map_err(|_| format!("{flag}: not a port: {v}"));
        match flag.as_str() {
            "--stripe-port" => a.stripe_port = port(&value)?,
            "--kratos-admin-port" => a.kratos_admin_port = port(&value)?,
            "--kratos-public-port" => a.kratos_public_port = port(&value)?,
            "--worker-url" => a.worker_url = value.trim_end_matches('/').to_string(),
            "--stripe-api-key" => a.stripe_api_key = value,
            "--stripe-webhook-secret" => a.stripe_webhook_secret = value,
            "--kratos-webhook-secret" => a.kratos_webhook_secret = value,
            "--kratos-admin-token" => a.kratos_admin_token = Some(value),
            "--kratos-registration-ui-url" => a.browser.registration_ui_url = Some(value),
            "--kratos-return-url" => a.browser.default_return_url = Some(value),
            "--kratos-allowed-return-url" => a.browser.allowed_return_urls.push(value),
            "--kratos-cookie-same-site" => a.browser.cookie_same_site = value.parse()?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("ksb-emulators: {e}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };

    let stripe = if args.stripe_port == 0 {
        None
    } else {
        let options = stripe::StripeOptions {
            api_key: args.stripe_api_key.clone(),
            webhook_url: Some(format!("{}/webhooks/stripe", args.worker_url)),
            webhook_secret: args.stripe_webhook_secret.clone(),
            port: args.stripe_port,
            ..stripe::StripeOptions::default()
        };
        match stripe::start(options).await {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("ksb-emulators: cannot start the Stripe emulator on port {}: {e}", args.stripe_port);
                return ExitCode::FAILURE;
            }
        }
    };

    let hooks = kratos::HookOptions {
        registration_url: Some(format!("{}/hooks/kratos/registration", args.worker_url)),
        settings_url: Some(format!("{}/hooks/kratos/settings", args.worker_url)),
        auth: Some(("Authorization".into(), format!("Bearer {}", args.kratos_webhook_secret))),
        ..kratos::HookOptions::default()
    };
    let kratos_options = kratos::KratosOptions {
        admin_token: args.kratos_admin_token.clone(),
        hooks,
        browser: args.browser,
        admin_port: args.kratos_admin_port,
        public_port: args.kratos_public_port,
    };
    let kratos = match kratos::start(kratos_options).await {
        Ok(k) => k,
        Err(e) => {
            eprintln!("ksb-emulators: cannot start the Kratos emulator: {e}");
            return ExitCode::FAILURE;
        }
    };

    if let Some(s) = &stripe {
        println!("stripe        {}", s.url());
    }
    println!("kratos admin  {}", kratos.admin_url());
    println!("kratos public {}", kratos.public_url());
    println!("ready");

    let _ = tokio::signal::ctrl_c().await;
    if let Some(s) = stripe {
        s.shutdown().await;
    }
    kratos.shutdown().await;
    ExitCode::SUCCESS
}
