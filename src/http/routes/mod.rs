//! One module per route family; each handler returns
//! `Result<Reply, ApiError>` and the router answers the error.

pub mod admin;
pub mod billing;
pub mod gate;
pub mod gateway;
pub mod healthz;
pub mod identities;
pub mod kratos_hooks;
pub mod stripe_webhook;
pub mod usage;
