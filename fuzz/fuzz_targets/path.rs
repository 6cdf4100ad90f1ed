//! Path normalisation (src/edge/path.rs).
//!
//! Input: a raw request path. Checks that normalising never panics and that
//! a normalised path is absolute, has no empty, `.` or `..` segment and no
//! trailing slash (but `/`), and is its own normalisation (idempotent).
#![no_main]

use kratos_stripe_bridge::edge::path::normalize;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else { return };
    let Ok(normal) = normalize(raw) else { return };
    assert!(normal.starts_with('/'));
    assert!(normal == "/" || !normal.ends_with('/'));
    assert!(!normal.contains('\\'));
    if normal != "/" {
        for segment in normal[1..].split('/') {
            assert!(!matches!(segment, "" | "." | ".."), "segment {segment:?} in {normal:?}");
        }
    }
    assert_eq!(normalize(&normal).as_ref(), Ok(&normal), "normalising {raw:?} twice differs");
});
