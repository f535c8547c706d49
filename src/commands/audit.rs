//! `nmbrs-sync audit`: reads, verifies or prunes the audit log (`crate::state::audit`), and exports
//! what the state database holds about one person (`crate::state::privacy`).

use super::{EXIT_UNUSABLE, load, open_state};
use crate::state::audit::{AuditFilter, ChainCheck, query, verify_chain};
use std::path::{Path, PathBuf};

/// `audit`: read the audit log.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
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
    /// Subject access: everything the state database holds about one person (an HRIS hris_id or
    /// a Nmbrs employeeId), written to the file of `--export`.
    #[arg(long, value_name = "HRIS_ID|EMPLOYEE_ID", requires = "export")]
    pub subject: Option<String>,
    /// The JSON file `--subject` writes (created 0600: it holds personal data).
    #[arg(long, value_name = "FILE.json", requires = "subject")]
    pub export: Option<PathBuf>,
}

/// `audit prune`.
#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Erase the personal values of audit rows older than `audit.retention_days` now (every cycle
    /// does it too); the chain stays verifiable and a `prune` row records it.
    Prune,
}

/// `audit`: lists rows (table or JSON lines), verifies the hash chain, prunes, or exports a subject.
pub async fn run(config: Option<&Path>, args: AuditArgs) -> u8 {
    if let Some(AuditCommand::Prune) = args.command {
        return prune(config).await;
    }
    if let (Some(subject), Some(file)) = (&args.subject, &args.export) {
        return export(config, subject, file).await;
    }
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
            Ok(ChainCheck::Intact { rows, redacted }) => {
                println!(
                    "audit log intact: {rows} rows, hash chain verified; {redacted} rows with personal values erased (retention or erasure, on record)"
                );
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
            let erased = r
                .redacted_by
                .map(|by| format!("[values erased by row {by}]"));
            let details = [r.fields.as_deref(), r.message.as_deref(), erased.as_deref()]
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

/// `audit prune`: retention now.
async fn prune(config: Option<&Path>) -> u8 {
    let settings = match load(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let state = match open_state(config).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let days = settings.audit.retention_days;
    if days == 0 {
        println!("audit.retention_days is 0: personal values are kept; nothing erased");
        return 0;
    }
    match state
        .prune_audit(days, time::OffsetDateTime::now_utc(), None)
        .await
    {
        Ok(n) => {
            println!(
                "erased the personal values of {n} audit rows older than {days} days (audit.retention_days); `nmbrs-sync audit --verify` still proves the chain"
            );
            0
        }
        Err(e) => {
            eprintln!("nmbrs-sync: {e}");
            EXIT_UNUSABLE
        }
    }
}

/// `audit --subject ID --export FILE`: subject access.
async fn export(config: Option<&Path>, subject: &str, file: &Path) -> u8 {
    let state = match open_state(config).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let data = match state.subject_export(subject).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            println!(
                "the state database holds nothing about {}: no link and no audit row names it as hris_id or employeeId",
                crate::record::printable(subject)
            );
            return 1;
        }
        Err(e) => {
            eprintln!("nmbrs-sync: {e}");
            return EXIT_UNUSABLE;
        }
    };
    let text = match serde_json::to_string_pretty(&data) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("nmbrs-sync: cannot serialise the export: {e}");
            return EXIT_UNUSABLE;
        }
    };
    if let Err(e) = write_private(file, text.as_bytes()) {
        eprintln!(
            "nmbrs-sync: cannot write `{}`: {e}; choose a writable path that does not exist yet",
            file.display()
        );
        return EXIT_UNUSABLE;
    }
    println!(
        "wrote {} (link: {}, {} audit rows) — it holds personal data: hand it to the person and delete it",
        file.display(),
        if data.link.is_some() { "yes" } else { "none" },
        data.audit_rows.len()
    );
    0
}

/// Writes a new file readable by this user only (an existing file is not overwritten).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
