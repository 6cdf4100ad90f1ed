//! Metered limits (spec: "Metered limits"): plans that sell amounts. The
//! meters and limits of `PLANS` (`meter`), which window a moment falls in
//! (`window`), and the counter's decisions, which one Durable Object per
//! identity applies to its storage (`ledger`).

pub mod ledger;
pub mod meter;
pub mod window;
