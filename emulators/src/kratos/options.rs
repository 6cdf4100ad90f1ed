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
