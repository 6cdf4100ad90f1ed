//! Kratos: hook payloads, identities, sessions, JSON Patch building, and
//! the API requests with how their answers are read.

pub mod hook;
pub mod identity;
pub mod patch;
pub mod request;
pub mod session;
pub mod traits;
