//! Buying and managing a plan: what `POST /billing/checkout` asks for,
//! which Stripe price that is, and whether the identity goes to Checkout,
//! back to its open Checkout, or to the Billing Portal. Pure: the shell
//! reads the record and talks to Stripe; these functions decide.

pub mod input;
pub mod next;
