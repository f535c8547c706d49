//! Crash points for the crash tests: `NMBRS_SYNC_FAILPOINT=name:n` aborts the process (like a
//! SIGKILL: no destructors, no flush) the n-th time execution reaches [`hit`]`("name")`.
//!
//! The names mark the windows that matter for "nothing lost, nothing duplicated" (issue 4):
//! `after_intent`, `after_post`, `after_link`, `after_write_intent`, `after_get`, `after_put`,
//! `after_pull`, `after_import_intent`, `after_import_insert`, `before_commit` (inside a record's state transaction: link + snapshot +
//! audit rows written, not committed). Unset, a hit costs one
//! atomic load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Environment variable that arms a crash point.
pub const ENV: &str = "NMBRS_SYNC_FAILPOINT";

static ARMED: OnceLock<Option<(String, u64)>> = OnceLock::new();
static HITS: AtomicU64 = AtomicU64::new(0);

fn armed() -> &'static Option<(String, u64)> {
    ARMED.get_or_init(|| {
        let v = std::env::var(ENV).ok()?;
        let (name, n) = v.split_once(':').unwrap_or((v.as_str(), "1"));
        Some((name.to_owned(), n.parse().unwrap_or(1)))
    })
}

/// Aborts the process if `name` is armed and this is its n-th hit.
pub fn hit(name: &str) {
    if let Some((armed, n)) = armed()
        && armed == name
        && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
        eprintln!("failpoint {name} (hit {n}): aborting the process");
        std::process::abort();
    }
}
