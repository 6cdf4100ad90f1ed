//! Local, stateful emulators of the two services kratos-stripe-bridge talks to.
//!
//! They exist so that the worker can be run and tested end to end with no
//! network: the Stripe emulator speaks Stripe's wire format and sends signed
//! webhook events; the Kratos emulator serves the admin identities API and
//! `/sessions/whoami`, and fires registration/settings web hooks as Kratos does.
//! Both bind to loopback only.

pub mod holds;
pub mod kratos;
pub mod server;
pub mod stripe;
