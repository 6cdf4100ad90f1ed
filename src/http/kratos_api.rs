//! Sends the core's `KratosRequest`s to the admin API (with the optional
//! `KRATOS_ADMIN_TOKEN`) or the public API (with the user's session), and
//! hands back the typed answer the request reads.

use worker::Headers;

use super::outbound;
use crate::config::{Config, Secret};
use crate::error::ApiError;
use crate::kratos::request::{Api, KratosError, KratosRequest};
use crate::upstream::Transport;

/// A Kratos client for one request's lifetime.
pub struct Kratos<'a> {
    config: &'a Config,
}

impl<'a> Kratos<'a> {
    pub fn new(config: &'a Config) -> Kratos<'a> {
        Kratos { config }
    }

    fn base(&self, api: Api) -> Result<&'a str, ApiError> {
        let url = match api {
            Api::Admin => self.config.kratos_admin_url.get()?,
            Api::Public => self.config.kratos_public_url.get()?,
        };
        Ok(url.as_str())
    }

    fn headers<T>(&self, r: &KratosRequest<T>, token: Option<&Secret>) -> Result<Headers, Transport> {
        let h = Headers::new();
        let set = |k: &str, v: &str| h.set(k, v).map_err(|e| Transport::Unreachable(e.to_string()));
        set("accept", "application/json")?;
        if r.json.is_some() {
            set("content-type", "application/json")?;
        }
        if let Some(t) = token {
            set("authorization", &format!("Bearer {}", t.expose()))?;
        }
        if let Some(c) = &r.credentials {
            set(c.header_name(), c.header_value())?;
        }
        Ok(h)
    }

    /// Sends `r` and reads its answer. A missing `KRATOS_*_URL` is the
    /// configuration error naming it.
    pub async fn send<T>(&self, r: &KratosRequest<T>) -> Result<T, ApiError> {
        let base = self.base(r.api)?;
        let token = match r.api {
            Api::Admin => self.config.kratos_admin_token.as_ref(),
            Api::Public => None,
        };
        Ok(self.send_to(base, token, r).await?)
    }

    async fn send_to<T>(&self, base: &str, token: Option<&Secret>, r: &KratosRequest<T>) -> Result<T, KratosError> {
        let headers = self.headers(r, token).map_err(|t| r.no_answer(t))?;
        match outbound::send(r.method, &r.url(base), headers, r.json.clone()).await {
            Ok(answer) => r.read(answer.status, &answer.body),
            Err(t) => Err(r.no_answer(t)),
        }
    }
}
