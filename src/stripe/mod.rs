//! Stripe: webhook signatures, events, the subscription model and API request building.

pub mod attribution;
pub mod cancel;
pub mod checkout;
pub mod customer;
pub mod event;
pub mod form;
pub mod meter_event;
pub mod meter_report;
pub mod request;
pub mod signature;
pub mod subscription;
