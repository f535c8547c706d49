//! `nmbrs-sync` command line (docs/SPEC.md, "Command line"). Parsing and exit codes live here; each
//! command's work lives in `nmbrs_sync::commands`.

use clap::{Parser, Subcommand};
use nmbrs_sync::commands;
use std::path::PathBuf;
use std::process::ExitCode;

/// Keeps an HRIS table and Visma Nmbrs payroll in agreement.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// Configuration file layered over the built-in defaults (env NMBRS_SYNC__SECTION__KEY overrides it).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The daemon: cycles on `sync.schedule` until SIGTERM/SIGINT; never two cycles at once.
    Run,
    /// First authorization: prints the Nmbrs consent link, reads the address the browser was sent
    /// back to (or the code) from stdin, stores the refresh token in the state database.
    Authorize,
    /// Checks config, both databases, token, subscription key, scopes and company access.
    Doctor {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One sync cycle, then exit (0 all agreed, 1 some records failed, 2 nothing could be synced).
    Sync {
        /// Run one cycle and exit (the only mode of this command; the daemon is `run`).
        #[arg(long, required = true)]
        once: bool,
        /// Plan and audit the plan; send no write to either side.
        #[arg(long)]
        dry_run: bool,
    },
    /// Demonstration on the built-in sandbox: no credentials, no network.
    Demo,
    /// The Nmbrs sandbox as a standalone server on 127.0.0.1.
    Sandbox {
        /// Port to listen on (0 = any free port).
        #[arg(long, default_value_t = 8089)]
        port: u16,
        /// Added latency per API call, milliseconds.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Requests/s before answering 429 with Retry-After.
        #[arg(long)]
        rate_limit: Option<u32>,
        /// Fraction of API calls answered with a random 5xx (0.0–1.0).
        #[arg(long, default_value_t = 0.0)]
        error_rate: f64,
        /// Fraction of API calls whose connection is dropped (0.0–1.0).
        #[arg(long, default_value_t = 0.0)]
        drop_rate: f64,
        /// Largest page size served.
        #[arg(long, default_value_t = 100)]
        max_page_size: u32,
    },
    /// Read the audit log.
    Audit {
        /// Only this run.
        #[arg(long)]
        run: Option<i64>,
        /// Only this Nmbrs employeeId.
        #[arg(long)]
        employee: Option<String>,
        /// Only this HRIS hris_id.
        #[arg(long)]
        hris_id: Option<String>,
        /// Only this action (create, update, pull, conflict, error, ...).
        #[arg(long)]
        action: Option<String>,
        /// Only rows at or after this UTC time (RFC 3339, e.g. 2026-11-29T00:00:00Z).
        #[arg(long)]
        since: Option<String>,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
        /// Check the hash chain of the whole log instead of listing rows (exit 1 if broken).
        #[arg(long)]
        verify: bool,
    },
    /// Last runs, open conflicts, failing and quarantined records.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Release a quarantined record so the next cycle tries it again.
    Release {
        /// The record's hris_id.
        hris_id: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nmbrs-sync: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(async move {
        let config = cli.config.as_deref();
        match cli.command {
            Command::Run => commands::run_daemon(config).await,
            Command::Authorize => commands::authorize::run(config).await,
            Command::Doctor { json } => commands::doctor(config, json).await,
            Command::Sync { once: _, dry_run } => commands::sync_once(config, dry_run).await,
            Command::Demo => commands::demo::run().await,
            Command::Sandbox {
                port,
                latency_ms,
                rate_limit,
                error_rate,
                drop_rate,
                max_page_size,
            } => {
                commands::sandbox(
                    port,
                    latency_ms,
                    rate_limit,
                    error_rate,
                    drop_rate,
                    max_page_size,
                )
                .await
            }
            Command::Audit {
                run,
                employee,
                hris_id,
                action,
                since,
                json,
                verify,
            } => {
                let filter = nmbrs_sync::state::audit::AuditFilter {
                    run_id: run,
                    employee_id: employee,
                    hris_id,
                    action,
                    since,
                    limit: None,
                };
                commands::audit(config, filter, json, verify).await
            }
            Command::Status { json } => commands::status(config, json).await,
            Command::Release { hris_id } => commands::release(config, &hris_id).await,
        }
    });
    ExitCode::from(code)
}
