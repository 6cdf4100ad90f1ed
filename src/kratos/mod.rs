//! Kratos: hook payloads, identities, JSON Patch building and sessions.

pub mod hook;
pub mod identity;
pub mod patch;
pub mod session;
pub mod traits;
pub mod uuid;
