//! `nmbrs-sync run`: the daemon (`crate::daemon`).

use super::{EXIT_UNUSABLE, load};
use std::path::Path;

/// `run`: the daemon until SIGTERM/SIGINT; exit 0 after a clean stop, 2 if it cannot start.
pub async fn run(config: Option<&Path>) -> u8 {
    let shutdown = crate::shutdown::on_signal();
    let settings = match load(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match crate::daemon::run(settings, shutdown).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("nmbrs-sync: {e:#}");
            EXIT_UNUSABLE
        }
    }
}
