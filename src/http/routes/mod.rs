//! One module per route family.

pub mod healthz;
pub mod identities;
pub mod kratos_hooks;
pub mod me;
pub mod stripe_webhook;
