//! The bridge as its callers reach it, decided without the runtime: which
//! route a request names and who may call it (`route`), what a browser may
//! do from another origin (`cors`) or another site (`site`), and how the
//! signed-in user's gate answers (`gate`).

pub mod cors;
pub mod gate;
pub mod route;
pub mod site;
