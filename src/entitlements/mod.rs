//! Plans and entitlements: the catalogue (`PLANS`), plan derivation and feature decisions.

pub mod plans;
