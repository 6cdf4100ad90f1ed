//! What every end-to-end binary needs, with or without a `Stack`: the
//! repository's root, free loopback ports, and answers read as JSON.

use std::collections::hash_map::RandomState;
use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::Value;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Ports handed out by this process: two tests never get the same one.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A free loopback port for a server a test starts (wrangler dev, its
/// inspector). Taken from below Linux's ephemeral range (32768-60999), where
/// port-0 binds (the emulators, workerd's own sockets) never land, so that
/// nothing else grabs it between this check and the server's bind.
pub fn free_port() -> u16 {
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    for attempt in 0u64.. {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(attempt);
        let port = 20_000 + (h.finish() % 12_000) as u16;
        if !handed_out.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            handed_out.insert(port);
            return port;
        }
        assert!(attempt < 10_000, "no free port in 20000..32000");
    }
    unreachable!()
}

/// The answer's status and body: its JSON, or the text as a JSON string.
pub async fn status_json(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, v)
}
