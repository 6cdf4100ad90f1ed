//! The Kratos admin API (identities) and public API (`/sessions/whoami`).

use worker::{Headers, Method};

use super::upstream::{self, Answer};
use crate::config::{Config, Secret};
use crate::error::ApiError;
use crate::kratos::identity::{parse_identity, Identity};
use crate::kratos::patch::{self, PatchOp};
use crate::kratos::session::{parse_whoami, Credentials, SessionIdentity};
use crate::stripe::form::percent_encode;

/// What a JSON Patch came to.
pub enum Patched {
    Done,
    /// Kratos refused the patch (400/409), e.g. because the identity changed
    /// shape between our read and the patch: re-read and retry.
    Refused,
    NotFound,
}

/// A Kratos client for one request's lifetime.
pub struct Kratos<'a> {
    admin_url: &'a str,
    token: Option<&'a Secret>,
}

fn header_error(e: worker::Error) -> ApiError {
    ApiError::new(500, "internal", e.to_string())
}

fn failed(what: &str, a: &Answer) -> ApiError {
    if a.status >= 500 || a.status == 429 {
        ApiError::upstream("kratos_error", format!("Kratos answered {} to {what}", a.status))
    } else {
        ApiError::upstream("kratos_refused", format!("Kratos refused {what} with {}", a.status))
    }
}

impl<'a> Kratos<'a> {
    pub fn admin(config: &'a Config) -> Result<Kratos<'a>, ApiError> {
        let admin_url = config.kratos_admin_url.as_ref().map_err(|p| ApiError::from(p.clone()))?;
        Ok(Kratos { admin_url, token: config.kratos_admin_token.as_ref() })
    }

    fn headers(&self, json_body: bool) -> Result<Headers, ApiError> {
        let h = Headers::new();
        h.set("accept", "application/json").map_err(header_error)?;
        if json_body {
            h.set("content-type", "application/json").map_err(header_error)?;
        }
        if let Some(t) = self.token {
            h.set("authorization", &format!("Bearer {}", t.expose())).map_err(header_error)?;
        }
        Ok(h)
    }

    fn identity_url(&self, id: &str) -> String {
        format!("{}/admin/identities/{}", self.admin_url, percent_encode(id))
    }

    /// The identity, with `metadata_admin`; `None` when Kratos has none.
    pub async fn identity(&self, id: &str) -> Result<Option<Identity>, ApiError> {
        let a = upstream::send("Kratos", Method::Get, &self.identity_url(id), self.headers(false)?, None).await?;
        match a.status {
            200 => parse_identity(&a.body)
                .map(Some)
                .map_err(|_| ApiError::upstream("kratos_bad_answer", "Kratos answered an identity we cannot read")),
            404 => Ok(None),
            _ => Err(failed("an identity read", &a)),
        }
    }

    /// Applies a JSON Patch to an identity.
    pub async fn patch(&self, id: &str, ops: &[PatchOp]) -> Result<Patched, ApiError> {
        let body = patch::to_json(ops);
        let a = upstream::send("Kratos", Method::Patch, &self.identity_url(id), self.headers(true)?, Some(body)).await?;
        match a.status {
            200 | 204 => Ok(Patched::Done),
            404 => Ok(Patched::NotFound),
            400 | 409 => Ok(Patched::Refused),
            _ => Err(failed("an identity patch", &a)),
        }
    }

    /// Deletes an identity; `false` when it was already gone.
    pub async fn delete_identity(&self, id: &str) -> Result<bool, ApiError> {
        let a = upstream::send("Kratos", Method::Delete, &self.identity_url(id), self.headers(false)?, None).await?;
        match a.status {
            200 | 204 => Ok(true),
            404 => Ok(false),
            _ => Err(failed("an identity deletion", &a)),
        }
    }
}

/// Asks Kratos' public API who the caller is; `None` when not signed in.
pub async fn whoami(config: &Config, credentials: &Credentials) -> Result<Option<SessionIdentity>, ApiError> {
    let public_url = config.kratos_public_url.as_ref().map_err(|p| ApiError::from(p.clone()))?;
    let h = Headers::new();
    h.set("accept", "application/json").map_err(header_error)?;
    h.set(credentials.header_name(), credentials.header_value()).map_err(header_error)?;
    let a = upstream::send("Kratos", Method::Get, &format!("{public_url}/sessions/whoami"), h, None).await?;
    match a.status {
        200 => match parse_whoami(&a.body) {
            Ok(s) if s.active => Ok(Some(s)),
            Ok(_) => Ok(None),
            Err(_) => Err(ApiError::upstream("kratos_bad_answer", "Kratos answered a session we cannot read")),
        },
        401 | 403 => Ok(None),
        _ => Err(failed("a session check", &a)),
    }
}
