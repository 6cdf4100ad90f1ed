//! The bridge's units of work, shared by several routes. Each is written so
//! that running it again after a failure midway completes it, and running it
//! twice changes nothing more than running it once.

pub mod deletion;
pub mod link;
pub mod reconcile;
pub mod record;
pub mod rules;
pub mod sync;
pub mod usage;
