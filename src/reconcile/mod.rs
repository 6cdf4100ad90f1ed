//! Reconciliation: a walk over every Stripe customer, one bounded step at a
//! time (the cron, or `POST /v1/admin/backfill`), that brings KV back to
//! Stripe's truth when a webhook was lost, links customers made by hand,
//! and reports what it cannot fix. Pure: the walk's state and what to do
//! with each customer; the shell (`http::flows::reconcile`) reads and
//! writes.

pub mod customer;
pub mod walk;
