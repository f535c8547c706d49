//! `nmbrs-sync forget HRIS_ID`: erasure at a person's request (`crate::state::privacy`).

use super::{EXIT_UNUSABLE, open_state};
use crate::record::{LinkStatus, printable};
use std::path::Path;

/// `forget`: erase what the state database holds about one person and stop syncing them.
#[derive(clap::Args, Debug)]
pub struct ForgetArgs {
    /// The person's HRIS hris_id.
    pub hris_id: String,
}

/// `forget HRIS_ID`: erases the person's values from the snapshot and the audit log (the chain
/// stays provable; a `forget` row records the erasure) and leaves a tombstone so no later cycle
/// creates, links, pulls or imports them again until `nmbrs-sync release HRIS_ID`. The HRIS row
/// and the Nmbrs employee are not touched: they are the employer's records.
pub async fn run(config: Option<&Path>, args: ForgetArgs) -> u8 {
    let hris_id = args.hris_id.as_str();
    let shown = printable(hris_id);
    let state = match open_state(config).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    // A create whose POST may have landed has no employee id yet: the tombstone could not keep
    // that employee from being imported, so the cycle settles it first.
    match state.link(hris_id).await {
        Ok(Some(l)) if l.status == LinkStatus::PendingCreate => {
            println!(
                "{shown} has a create in flight (status pending_create): run a cycle first (`nmbrs-sync sync --once`), then forget it"
            );
            return 1;
        }
        Ok(_) => {}
        Err(e) => {
            eprintln!("nmbrs-sync: {e}");
            return EXIT_UNUSABLE;
        }
    }
    match state.forget(hris_id).await {
        Ok(r) => {
            println!(
                "{shown} forgotten: the values of {} audit rows{} erased; the audit chain stays verifiable and a `forget` row records the erasure. It is not synced again (no create, link, pull or import{}) until `nmbrs-sync release {shown}`. The HRIS row and the Nmbrs employee are untouched: remove them there if the person's data must go from those systems too.",
                r.audit_rows,
                if r.had_link {
                    " and the record's snapshot"
                } else {
                    ""
                },
                r.employee_id
                    .as_deref()
                    .map(|e| format!(" of Nmbrs employee {e}"))
                    .unwrap_or_default()
            );
            0
        }
        Err(e) => {
            eprintln!("nmbrs-sync: {e}");
            EXIT_UNUSABLE
        }
    }
}
