//! `nmbrs-sync sync --once [--dry-run]` (docs/SPEC.md, "Command line").

use super::{EXIT_UNUSABLE, load};
use crate::hris::HrisError;
use crate::sync::{CycleError, Syncer};
use std::path::Path;

/// `sync`: one sync cycle, then exit (0 all agreed, 1 some records failed, 2 nothing could be synced).
#[derive(clap::Args, Debug)]
pub struct SyncArgs {
    /// Run one cycle and exit (the only mode of this command; the daemon is `run`).
    #[arg(long, required = true)]
    pub once: bool,
    /// Plan and audit the plan; send no write to either side.
    #[arg(long)]
    pub dry_run: bool,
}

/// `sync --once [--dry-run]`: one cycle; exit 0 / 1 / 2 as docs/SPEC.md says. Ctrl-C or SIGTERM finishes
/// the records in flight and marks the run `interrupted`.
pub async fn run(config: Option<&Path>, args: SyncArgs) -> u8 {
    let settings = match load(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    // One cycle at a time per state database, whether from a daemon or another `sync --once`.
    let _lock = match crate::state::lock::StateLock::acquire(&settings.state.database_url) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("nmbrs-sync: {e}");
            return EXIT_UNUSABLE;
        }
    };
    let state_url = settings.state.database_url.clone();
    let syncer = match Syncer::new(settings).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("nmbrs-sync: {e}");
            // A busy HRIS is an outage of this run, not a configuration error: record the run.
            if matches!(e, CycleError::Hris(HrisError::Busy { .. })) {
                record_failed_run(&state_url, args.dry_run, &e.to_string()).await;
            }
            return EXIT_UNUSABLE;
        }
    };
    let shutdown = crate::shutdown::on_signal();
    match syncer.run_cycle("once", args.dry_run, &shutdown).await {
        Ok(report) => {
            println!("{}", report.summary());
            if let Some(e) = &report.error {
                eprintln!("nmbrs-sync: {e}");
            }
            report.status.exit_code() as u8
        }
        Err(e) => {
            eprintln!("nmbrs-sync: {e}");
            EXIT_UNUSABLE
        }
    }
}

/// A run that could not start, recorded as `failed` with its reason (best effort: the state
/// database may be the thing that is down).
async fn record_failed_run(state_url: &str, dry_run: bool, reason: &str) {
    if let Ok(state) = crate::state::StateDb::open(state_url).await
        && let Ok(id) = state.start_run("once", dry_run).await
    {
        let _ = state.finish_run(id, "failed", "{}", 0, Some(reason)).await;
    }
}
