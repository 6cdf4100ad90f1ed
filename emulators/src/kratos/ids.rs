//! Identifiers and secrets the emulator mints: UUIDs v4 and session tokens.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// The nil UUID Kratos puts into `identity.id` of a parsing registration hook,
/// which runs before the identity exists.
pub const NIL_UUID: &str = "00000000-0000-0000-0000-000000000000";

/// A random UUID v4 in its lowercase hyphenated form, like Kratos' ids.
pub fn new_uuid() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// A fresh session token in Ory Network's `ory_st_` form.
pub fn new_session_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let token: String =
        random_bytes::<32>().iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
    format!("ory_st_{token}")
}

/// `N` bytes from the OS generator; should the OS refuse, a hash of the clock
/// and a counter keeps ids unique (they are test data, not key material).
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    if getrandom::fill(&mut buf).is_ok() {
        return buf;
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let mut filled = 0;
    while filled < N {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let digest = Sha256::new().chain_update(nanos.to_le_bytes()).chain_update(n.to_le_bytes()).finalize();
        let take = (N - filled).min(digest.len());
        buf[filled..filled + take].copy_from_slice(&digest[..take]);
        filled += take;
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_is_version_4_and_unique() {
        let a = new_uuid();
        let b = new_uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn session_token_has_ory_prefix() {
        let t = new_session_token();
        assert!(t.starts_with("ory_st_"));
        assert_eq!(t.len(), 7 + 32);
        assert!(t[7..].chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
