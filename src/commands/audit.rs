//! `nmbrs-sync audit`: reads or verifies the audit log (`crate::state::audit`).

use super::{EXIT_UNUSABLE, open_state};
use crate::state::audit::{AuditFilter, ChainCheck, query, verify_chain};
use std::path::Path;

/// `audit`: read the audit log.
#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// Only this run.
    #[arg(long)]
    pub run: Option<i64>,
    /// Only this Nmbrs employeeId.
    #[arg(long)]
    pub employee: Option<String>,
    /// Only this HRIS hris_id.
    #[arg(long)]
    pub hris_id: Option<String>,
    /// Only this action (create, update, pull, conflict, error, ...).
    #[arg(long)]
    pub action: Option<String>,
    /// Only rows at or after this UTC time (RFC 3339, e.g. 2026-11-29T00:00:00Z).
    #[arg(long)]
    pub since: Option<String>,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Check the hash chain of the whole log instead of listing rows (exit 1 if broken).
    #[arg(long)]
    pub verify: bool,
}

/// `audit`: lists rows (table or JSON lines) or verifies the hash chain.
pub async fn run(config: Option<&Path>, args: AuditArgs) -> u8 {
    let filter = AuditFilter {
        run_id: args.run,
        employee_id: args.employee,
        hris_id: args.hris_id,
        action: args.action,
        since: args.since,
        limit: None,
    };
    let (json, verify) = (args.json, args.verify);
    let state = match open_state(config).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    if verify {
        return match verify_chain(state.pool()).await {
            Ok(ChainCheck::Intact { rows }) => {
                println!("audit log intact: {rows} rows, hash chain verified");
                0
            }
            Ok(ChainCheck::Broken { row_id, reason }) => {
                println!("audit log TAMPERED: row {row_id}: {reason}");
                1
            }
            Err(e) => {
                eprintln!("nmbrs-sync: {e}");
                EXIT_UNUSABLE
            }
        };
    }
    let rows = match query(state.pool(), &filter).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nmbrs-sync: {e}");
            return EXIT_UNUSABLE;
        }
    };
    if json {
        for r in &rows {
            println!("{}", serde_json::to_string(r).unwrap_or_default());
        }
    } else {
        println!(
            "{:>6} {:>4} {:<24} {:<13} {:<14} {:<38} {:<8} details",
            "id", "run", "at (UTC)", "action", "hris_id", "employee_id", "http"
        );
        for r in &rows {
            let http = match (&r.http_method, r.http_status) {
                (Some(m), Some(s)) => format!("{m} {s}"),
                (Some(m), None) => format!("{m} -"),
                _ => String::new(),
            };
            let details = [r.fields.as_deref(), r.message.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            println!(
                "{:>6} {:>4} {:<24} {:<13} {:<14} {:<38} {:<8} {}{}",
                r.id,
                r.run_id.map(|x| x.to_string()).unwrap_or_default(),
                r.at,
                r.action,
                r.hris_id.as_deref().unwrap_or(""),
                r.employee_id.as_deref().unwrap_or(""),
                http,
                if r.dry_run { "[dry run] " } else { "" },
                details
            );
        }
    }
    0
}
