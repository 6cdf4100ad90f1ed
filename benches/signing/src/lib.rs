//! One signature of a JWS signing input, with a RustCrypto crate compiled to
//! wasm: `p256` (ES256) with feature `es256`, `ed25519-dalek` (EdDSA) with
//! feature `eddsa`. With neither, the same exports do trivial work: the
//! baseline that both the size and the time deltas are taken against.
//!
//! Plain C ABI exports, no wasm-bindgen; run.mjs reads the input and the
//! last signature from the module's memory:
//! - `algs()`: which algorithms this build signs with (bit 0: ES256, bit 1: EdDSA);
//! - `sign_n(alg, n)`: signs [`INPUT`] `n` times with algorithm `alg` (0:
//!   the baseline's trivial work), leaves the last signature (64 bytes,
//!   `r||s` for ES256) at `sig_ptr()`, and answers a value folded from every
//!   signature; an algorithm this build lacks panics (a formatted message: so
//!   the baseline holds the panic and integer formatting code that any Rust
//!   worker has, and the crypto builds' delta does not count it);
//! - `input_ptr()`, `input_len()`, `sig_ptr()`.

use std::hint::black_box;

/// `alg` of `sign_n`, and the bits of `algs()`.
pub const ES256: u32 = 1;
pub const EDDSA: u32 = 2;

/// A compact JWS signing input of the shape the bridge signs (header `{"alg":
/// "ES256","kid":"k1","typ":"JWT"}`, then the claims iss, aud, sub, plan,
/// access, features, iat, nbf, exp), 372 bytes. Both algorithms sign it.
pub const INPUT: &[u8] = concat!(
    "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.",
    "eyJpc3MiOiJodHRwczovL2JyaWRnZS5leGFtcGxlLmNvbSIsImF1ZCI6Imh0dHBzOi8vYXBwLmV4YW1wbGUuY29tIiwic3ViIjoiNmYx",
    "YzJkM2UtNGI1YS00YzZkLThlN2YtOWEwYjFjMmQzZTRmIiwicGxhbiI6InBybyIsImFjY2VzcyI6ImZ1bGwiLCJmZWF0dXJlcyI6WyJi",
    "YXNpY19mZWF0dXJlIiwicHJlbWl1bV9mZWF0dXJlIl0sImlhdCI6MTc2NzIyNTYwMCwibmJmIjoxNzY3MjI1NjAwLCJleHAiOjE3Njcy",
    "MjU2NjB9",
)
.as_bytes();

/// The last signature, read by run.mjs from the module's memory.
static mut SIG: [u8; 64] = [0; 64];

#[cfg(feature = "es256")]
mod es256 {
    use std::sync::OnceLock;

    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::{Signature, SigningKey};

    /// The test key's `d` (the P-256 JWK `kid: k1` of the e2e tests and
    /// benchmarks, `41xz88Ik...DWwjV8`), a big-endian scalar.
    const D: [u8; 32] = [
        0xe3, 0x5c, 0x73, 0xf3, 0xc2, 0x24, 0x91, 0xa3, 0xf9, 0xd5, 0xf7, 0xea, 0x1c, 0x35, 0xe6, 0x7b, 0x34, 0x71,
        0xaf, 0x07, 0x33, 0xdf, 0x09, 0xc8, 0x5a, 0xc4, 0x5f, 0x5c, 0x35, 0xb0, 0x8d, 0x5f,
    ];

    /// Made once per instance, as the worker imports its key once per
    /// isolate (making it computes the public key: a scalar multiplication).
    static KEY: OnceLock<SigningKey> = OnceLock::new();

    /// RFC 6979 deterministic ECDSA over SHA-256: no random number needed.
    pub fn sign(msg: &[u8]) -> [u8; 64] {
        let key = KEY.get_or_init(|| SigningKey::from_bytes(&D.into()).unwrap_or_else(|_| std::process::abort()));
        let sig: Signature = key.sign(msg);
        sig.to_bytes().into()
    }
}

#[cfg(feature = "eddsa")]
mod eddsa {
    use std::sync::OnceLock;

    use ed25519_dalek::{Signer, SigningKey};

    /// The test key's `d` (RFC 8037 appendix A.1, `nWGxne_9...uf2A`).
    const D: [u8; 32] = [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49,
        0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
    ];

    /// Made once per instance (it expands the seed and computes the public key).
    static KEY: OnceLock<SigningKey> = OnceLock::new();

    /// Ed25519 (RFC 8032): deterministic, no random number needed.
    pub fn sign(msg: &[u8]) -> [u8; 64] {
        KEY.get_or_init(|| SigningKey::from_bytes(&D)).sign(msg).to_bytes()
    }
}

/// The baseline's "signature": the input's first 64 bytes, turned by `i`.
fn trivial(msg: &[u8], i: u32) -> [u8; 64] {
    let mut sig = [0u8; 64];
    for (s, m) in sig.iter_mut().zip(msg) {
        *s = m ^ i as u8;
    }
    sig
}

/// The algorithms this build signs with (bits `ES256`, `EDDSA`); 0 for the baseline.
#[no_mangle]
pub extern "C" fn algs() -> u32 {
    (if cfg!(feature = "es256") { ES256 } else { 0 }) | (if cfg!(feature = "eddsa") { EDDSA } else { 0 })
}

/// Signs [`INPUT`] `n` times with `alg` (0: the baseline's trivial work),
/// keeps the last signature at `sig_ptr()` and answers a fold of all of them.
/// `black_box` keeps the compiler from assuming the input, and so from
/// computing a signature once for all `n`.
#[no_mangle]
pub extern "C" fn sign_n(alg: u32, n: u32) -> u32 {
    let mut acc = 0u32;
    let mut sig = [0u8; 64];
    for i in 0..n {
        let msg = black_box(INPUT);
        sig = match black_box(alg) {
            #[cfg(feature = "es256")]
            ES256 => es256::sign(msg),
            #[cfg(feature = "eddsa")]
            EDDSA => eddsa::sign(msg),
            0 => trivial(msg, i),
            other => panic!("sign_n: algorithm {other} is not in this build (algs() = {})", algs()),
        };
        acc = acc.rotate_left(5) ^ u32::from_le_bytes([sig[0], sig[21], sig[42], sig[63]]);
    }
    // SAFETY: a wasm instance runs one call at a time; nothing else holds a
    // reference to SIG (run.mjs copies it out of memory between calls).
    unsafe { *std::ptr::addr_of_mut!(SIG) = sig };
    acc
}

#[no_mangle]
pub extern "C" fn input_ptr() -> *const u8 {
    INPUT.as_ptr()
}

#[no_mangle]
pub extern "C" fn input_len() -> u32 {
    INPUT.len() as u32
}

#[no_mangle]
pub extern "C" fn sig_ptr() -> *const u8 {
    std::ptr::addr_of!(SIG).cast()
}
