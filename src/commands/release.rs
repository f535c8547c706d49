//! `nmbrs-sync release HRIS_ID`: an operator ends a quarantine, or lifts the tombstone of a
//! forgotten record (`nmbrs-sync forget`).

use super::{EXIT_UNUSABLE, open_state};
use crate::record::LinkStatus;
use crate::state::AuditEntry;
use std::path::Path;

/// `release`: release a quarantined record so the next cycle tries it again.
#[derive(clap::Args, Debug)]
pub struct ReleaseArgs {
    /// The record's hris_id.
    pub hris_id: String,
}

/// `release HRIS_ID`: ends a quarantine; the next cycle tries the record again.
pub async fn run(config: Option<&Path>, args: ReleaseArgs) -> u8 {
    let hris_id = args.hris_id.as_str();
    let state = match open_state(config).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let result: Result<u8, crate::state::StateError> = async {
        let mut tx = state.begin().await?;
        let Some(mut link) = tx.get_link(hris_id).await? else {
            println!("no record with hris_id {hris_id} in the state database");
            return Ok(1);
        };
        if link.status == LinkStatus::Forgotten {
            // The record becomes new to the planner: matched (or created) again next cycle. Its
            // erased values stay erased.
            tx.delete_link(hris_id).await?;
            tx.audit(
                &AuditEntry::new(None, "release")
                    .hris(Some(hris_id))
                    .employee(link.employee_id.as_deref())
                    .message("erasure tombstone lifted by an operator; the next cycle matches or creates the record as new"),
            )
            .await?;
            tx.commit().await?;
            println!(
                "{hris_id} released from its erasure tombstone; the next cycle matches or creates it as a new record"
            );
            return Ok(0);
        }
        if link.status != LinkStatus::Quarantined {
            println!(
                "{hris_id} is not quarantined (status {}); nothing to release",
                link.status
            );
            return Ok(0);
        }
        link.status = if link.create_intent.is_some() {
            LinkStatus::PendingCreate
        } else if link.employee_id.is_some() {
            LinkStatus::Linked
        } else {
            LinkStatus::Failed
        };
        link.failures = 0;
        link.quarantined_hash = None;
        tx.put_link(&link).await?;
        tx.audit(
            &AuditEntry::new(None, "release")
                .hris(Some(hris_id))
                .employee(link.employee_id.as_deref())
                .message("released from quarantine by an operator"),
        )
        .await?;
        tx.commit().await?;
        println!("{hris_id} released; the next cycle tries it again");
        Ok(0)
    }
    .await;
    result.unwrap_or_else(|e| {
        eprintln!("nmbrs-sync: {e}");
        EXIT_UNUSABLE
    })
}
