//! The end-to-end harness every test binary shares: `basics` (ports, the
//! clock, processes), `browser` (the example app, browser scenarios),
//! `stack` (the worker under `wrangler dev` with its emulators), `calls` (what a test asks of them), `openapi` (every answer
//! checked against `/openapi.json`) and `origin` (an app behind the worker).
#![allow(dead_code)] // each binary uses the part of the harness it needs

pub mod basics;
pub mod browser;
pub mod calls;
pub mod openapi;
pub mod origin;
pub mod stack;
