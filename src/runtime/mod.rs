//! The one room where the worker calls the JavaScript runtime directly
//! instead of through workers-rs. Whoever upgrades `worker` (or changes
//! `compatibility_date`) reviews this folder: each departure, why it was
//! made, and the end-to-end test that guards it.
//!
//! | file | departure from workers-rs | why | guarded by |
//! | --- | --- | --- | --- |
//! | `export.rs` | hand-written `fetch` and `scheduled` exports instead of `#[event]`, both entering through `enter` | a request the isolate's caches can answer is answered inside the runtime's call, with no promise, task or microtask; both entries turn an error into the same JSON 500, and a panic answers a JSON 500 to the requests in flight (the module is then re-instantiated, as the `#[event]` shim does) | `e2e_gate` (cached checks), `e2e_health::a_panic_answers_a_json_500_and_the_worker_goes_on` |
//! | `first_poll.rs` | the first poll's waker relays to the task that polls on | some futures keep the first waker they see; pure, unit-tested natively | its unit tests, `e2e_gate::kratos_hanging_past_the_deadline_is_a_504_at_the_deadline` |
//! | `timer.rs` | one `setTimeout` callback per isolate for every deadline, instead of `worker::Delay` | `Delay` makes a closure and a `clearTimeout` per timer and keeps the first waker | `e2e_gate::kratos_hanging_past_the_deadline_is_a_504_at_the_deadline`, `e2e_edge::an_origin_slower_than_the_deadline_is_a_504_at_the_deadline` |
//! | `response.rs` | the runtime's `Response` built from a response init made once per isolate and status; a response's text read with the runtime's `text()` | each runtime call crosses from wasm to JS, and `worker::Response` makes several per header and reads a body through a stream reader | every e2e answer (the OpenAPI check, `X-Request-Id`); `e2e_usage` (the usage counter's answers) |
//! | `forward.rs` | edge gate mode hands the origin's answer back as the runtime's own promise, raced against `scheduler.wait`, settled by two callbacks made once per isolate | the body streams natively and no Rust task waits on the origin | `e2e_edge` (forwarding, the 502, the 504 at 30 s) |
//! | `crypto.rs` | signing with Web Crypto's `crypto.subtle`, called by name | workers-rs wraps no SubtleCrypto; Web Crypto adds nothing to the wasm | `e2e_gateway` (every assertion verified with a JWT library) |
//! | `stream.rs` | a request body read as the runtime's stream with a running count (with a `Content-Length` within the cap, with one `arrayBuffer()`); a request's headers read by iterating the runtime's `Headers` | a body over the cap is refused before the upload ends; every spelling of a header name is seen | `e2e_health::a_chunked_upload_is_refused_as_soon_as_it_passes_the_cap`, `e2e_edge::identity_headers_are_removed_under_every_spelling` |
//!
//! Outside this folder only `http/log.rs` (the console) names `js_sys` or
//! `web_sys`.

pub mod first_poll;

#[cfg(target_arch = "wasm32")]
pub mod crypto;
#[cfg(target_arch = "wasm32")]
pub mod export;
#[cfg(target_arch = "wasm32")]
pub mod forward;
#[cfg(target_arch = "wasm32")]
pub mod response;
#[cfg(target_arch = "wasm32")]
pub mod stream;
#[cfg(target_arch = "wasm32")]
pub mod timer;
