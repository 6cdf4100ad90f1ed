//! One module per route family.

pub mod healthz;
