//! Stripe: webhook signatures, events, the subscription model and API request building.

pub mod form;
pub mod signature;
pub mod subscription;
pub mod event;
pub mod customer;
pub mod request;
pub mod cancel;
pub mod attribution;
