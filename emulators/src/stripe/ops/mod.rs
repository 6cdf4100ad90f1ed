//! State changes shared by the API routes, the test controls and the hosted
//! pages; each records the events Stripe would send for it.

pub(crate) mod checkout;
pub(crate) mod customers;
pub(crate) mod invoices;
pub(crate) mod lifecycle;
pub(crate) mod meters;
pub(crate) mod subscriptions;
