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
    Doctor(commands::doctor::DoctorArgs),
    /// One sync cycle, then exit (0 all agreed, 1 some records failed, 2 nothing could be synced).
    Sync(commands::sync::SyncArgs),
    /// Demonstration on the built-in sandbox: no credentials, no network.
    Demo,
    /// The Nmbrs sandbox as a standalone server on 127.0.0.1.
    Sandbox(commands::sandbox::SandboxArgs),
    /// The HRIS table: `hris init` creates it as the sync expects it.
    Hris(commands::hris::HrisArgs),
    /// Upsert rows of a CSV file (an HR tool's export) into the HRIS table; the next cycle syncs them.
    Import(commands::import::ImportArgs),
    /// Read, verify or prune the audit log; export what it holds about one person (--subject).
    Audit(commands::audit::AuditArgs),
    /// Last runs, open conflicts, failing and quarantined records.
    Status(commands::status::StatusArgs),
    /// Release a quarantined record so the next cycle tries it again, or lift the tombstone of a
    /// forgotten one.
    Release(commands::release::ReleaseArgs),
    /// Erase what the state database holds about one person (their values in snapshots and the
    /// audit log) and stop syncing them until `release`.
    Forget(commands::forget::ForgetArgs),
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
            Command::Run => commands::run::run(config).await,
            Command::Authorize => commands::authorize::run(config).await,
            Command::Doctor(args) => commands::doctor::run(config, args).await,
            Command::Sync(args) => commands::sync::run(config, args).await,
            Command::Demo => commands::demo::run().await,
            Command::Sandbox(args) => commands::sandbox::run(args).await,
            Command::Hris(args) => commands::hris::run(config, args).await,
            Command::Import(args) => commands::import::run(config, args).await,
            Command::Audit(args) => commands::audit::run(config, args).await,
            Command::Status(args) => commands::status::run(config, args).await,
            Command::Release(args) => commands::release::run(config, args).await,
            Command::Forget(args) => commands::forget::run(config, args).await,
        }
    });
    ExitCode::from(code)
}
