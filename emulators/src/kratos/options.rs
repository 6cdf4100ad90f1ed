//! How a test or the local dev run configures the Kratos emulator.

use std::time::Duration;

/// Start-up configuration of [`super::KratosEmulator`].
///
/// Exists so that tests can choose the same knobs an operator sets in a real
/// `kratos.yml` (admin auth, web hook targets) plus the ports to bind.
#[derive(Debug, Clone, Default)]
pub struct KratosOptions {
    /// When `Some`, the admin API requires `Authorization: Bearer <token>`
    /// (Ory Network personal access token style) and answers 401 otherwise.
    pub admin_token: Option<String>,
    /// The registration/settings `after` web hooks.
    pub hooks: HookOptions,
    /// Browser self-service flows and the session cookie.
    pub browser: BrowserOptions,
    /// Port of the admin listener; 0 picks a free one.
    pub admin_port: u16,
    /// Port of the public listener; 0 picks a free one.
    pub public_port: u16,
}

/// The `web_hook` configuration Kratos would have for the registration and
/// settings (profile) `after` hooks; replaceable at run time through
/// `POST /_emulator/hooks`.
#[derive(Debug, Clone)]
pub struct HookOptions {
    /// Where the registration `after` web hook POSTs; `None` = no hook.
    pub registration_url: Option<String>,
    /// Where the settings `after` (profile) web hook POSTs; `None` = no hook.
    pub settings_url: Option<String>,
    /// Header name and value sent with every hook call (`auth.type: api_key`,
    /// `in: header`), e.g. `("Authorization", "Bearer s3cret")`.
    pub auth: Option<(String, String)>,
    /// Emulates `response.parse: true`: the hook runs before the identity is
    /// persisted (registration: with the nil UUID as `identity.id`), a final
    /// failure aborts the flow and a `200 {"identity": ..}` answer may change
    /// traits and metadata.
    pub parse: bool,
    /// Timeout of one attempt (Kratos: 30 s).
    pub timeout: Duration,
    /// Pause between attempts (real Kratos waits longer; tests want speed).
    pub retry_backoff: Duration,
}

impl Default for HookOptions {
    fn default() -> Self {
        HookOptions {
            registration_url: None,
            settings_url: None,
            auth: None,
            parse: false,
            timeout: Duration::from_secs(30),
            retry_backoff: Duration::from_millis(100),
        }
    }
}

/// What `kratos.yml` says about browsers: where the registration UI is,
/// where browsers may return to, and how the session cookie is written.
#[derive(Debug, Clone, Default)]
pub struct BrowserOptions {
    /// `selfservice.flows.registration.ui_url`: the page that renders a flow.
    pub registration_ui_url: Option<String>,
    /// `selfservice.default_browser_return_url`: where a browser lands after
    /// a flow without `return_to`; its origin is an allowed `return_to`.
    pub default_return_url: Option<String>,
    /// `selfservice.allowed_return_urls`: further `return_to` prefixes.
    pub allowed_return_urls: Vec<String>,
    /// `session.cookie.same_site` (Kratos' default: `Lax`).
    pub cookie_same_site: SameSite,
    /// `session.cookie.domain`; `None` = host-only.
    pub cookie_domain: Option<String>,
}

/// A cookie's `SameSite` attribute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on same-site requests and top-level cross-site GET navigations.
    #[default]
    Lax,
    /// Sent on same-site requests only.
    Strict,
    /// Sent on every request (browsers require `Secure` with it): the
    /// setting of deployments whose app and Kratos are on different sites.
    None,
}

impl std::fmt::Display for SameSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SameSite::Lax => "Lax",
            SameSite::Strict => "Strict",
            SameSite::None => "None",
        })
    }
}

impl std::str::FromStr for SameSite {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "lax" => Ok(SameSite::Lax),
            "strict" => Ok(SameSite::Strict),
            "none" => Ok(SameSite::None),
            other => Err(format!("SameSite must be Lax, Strict or None, not {other:?}")),
        }
    }
}
