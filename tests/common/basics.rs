//! What every end-to-end binary needs, with or without a `Stack`: the
//! repository's root, free loopback ports, the clock, processes that stop
//! with their children, and answers read as JSON.

use std::collections::hash_map::RandomState;
use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Child;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// Seconds since the Unix epoch, as Stripe and the worker count time.
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("the clock is after 1970").as_secs() as i64
}

/// A child started in its own process group (`wrangler dev`, `scripts/dev.sh`),
/// stopped with everything it started when this is dropped or [`stop`]ped.
///
/// [`stop`]: ProcessGroup::stop
pub struct ProcessGroup(Option<Child>);

impl ProcessGroup {
    /// Takes a child spawned with `process_group(0)`.
    pub fn new(child: Child) -> Self {
        Self(Some(child))
    }

    /// SIGTERM to the whole group, up to 5 s to exit, then SIGKILL.
    pub fn stop(&mut self) {
        let Some(mut child) = self.0.take() else { return };
        let leader = child.id();
        signal_group(leader, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // The leader may be gone while its children still run.
        signal_group(leader, libc::SIGKILL);
        let _ = child.wait();
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Signals the whole process group of `leader`. Refuses anything but a real
/// child's group.
fn signal_group(leader: u32, signal: libc::c_int) {
    let pgid = leader as libc::pid_t;
    if pgid > 1 {
        // SAFETY: kill(2) with a negative pid signals that process group only.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}
