//! Plans and entitlements: the catalogue (`PLANS`), plan derivation and feature decisions.

pub mod derive;
pub mod feature;
pub mod pending;
pub mod plans;
pub mod record;
