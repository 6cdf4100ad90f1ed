//! The reconciliation walk for operators: `POST /v1/admin/backfill` runs one
//! step now (a fresh deployment over an existing Stripe account calls it
//! until `complete` is true) and `GET /v1/admin/reconciliation` shows the
//! walk's state and the last step's figures.

use crate::error::ApiError;
use crate::http::context::Cx;
use crate::http::flows::reconcile::step;
use crate::http::respond::{self, Reply};

/// `POST /v1/admin/backfill`: the state after one step (409 while another
/// step holds the walk).
pub async fn backfill(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    respond::json(200, &step(cx, &cx.store()).await?)
}

/// `GET /v1/admin/reconciliation`.
pub async fn reconciliation(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    respond::json(200, &cx.store().reconcile_state().await?.unwrap_or_default())
}
