//! The work behind each CLI command. Each returns the process exit code; errors are reported here,
//! at the edge, with what to do about them.

pub mod authorize;
pub mod demo;

use crate::config::{LogFormat, Settings};
use crate::record::LinkStatus;
use crate::state::audit::{AuditFilter, ChainCheck, query, verify_chain};
use crate::state::{AuditEntry, StateDb};
use crate::sync::Syncer;
use nmbrs_sandbox::{FaultOptions, Sandbox, SandboxOptions, seed_default};
use std::path::Path;
use std::time::Duration;

/// Exit code: nothing could be done (bad config, credentials refused, database unreachable).
pub const EXIT_UNUSABLE: u8 = 2;

fn load(config: Option<&Path>) -> Result<Settings, u8> {
    match Settings::load(config) {
        Ok(s) => {
            crate::telemetry::init_logging(&s.log.level, s.log.format);
            Ok(s)
        }
        Err(e) => {
            eprintln!("nmbrs-sync: {e}");
            Err(EXIT_UNUSABLE)
        }
    }
}

/// Loads the settings and opens the state database (for the read-only commands).
async fn open_state(config: Option<&Path>) -> Result<StateDb, u8> {
    let settings = load(config)?;
    StateDb::open(&settings.state.database_url)
        .await
        .map_err(|e| {
            eprintln!("nmbrs-sync: {e}");
            EXIT_UNUSABLE
        })
}

/// `sync --once [--dry-run]`: one cycle; exit 0 / 1 / 2 as docs/SPEC.md says. Ctrl-C or SIGTERM finishes
/// the records in flight and marks the run `interrupted`.
pub async fn sync_once(config: Option<&Path>, dry_run: bool) -> u8 {
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
    let syncer = match Syncer::new(settings).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("nmbrs-sync: {e}");
            return EXIT_UNUSABLE;
        }
    };
    let shutdown = crate::shutdown::on_signal();
    match syncer.run_cycle("once", dry_run, &shutdown).await {
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

/// `run`: the daemon until SIGTERM/SIGINT; exit 0 after a clean stop, 2 if it cannot start.
pub async fn run_daemon(config: Option<&Path>) -> u8 {
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

/// `doctor`: exit 0 when every check passes, 1 otherwise.
pub async fn doctor(config: Option<&Path>, json: bool) -> u8 {
    let settings = match load(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let checks = crate::doctor::run(&settings).await;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&checks).unwrap_or_default()
        );
    } else {
        print!("{}", crate::doctor::render(&checks));
    }
    if checks.iter().all(|c| c.ok) { 0 } else { 1 }
}

/// `sandbox`: serves the seeded sandbox until Ctrl-C / SIGTERM.
pub async fn sandbox(
    port: u16,
    latency_ms: u64,
    rate_limit: Option<u32>,
    error_rate: f64,
    drop_rate: f64,
    max_page_size: u32,
) -> u8 {
    let shutdown = crate::shutdown::on_signal();
    crate::telemetry::init_logging("info", LogFormat::Text);
    let options = SandboxOptions {
        latency: Duration::from_millis(latency_ms),
        rate_limit_per_sec: rate_limit,
        max_page_size,
        faults: FaultOptions {
            error_rate,
            drop_rate,
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    };
    let sandbox = Sandbox::new(options);
    let refresh_token = seed_default(&sandbox);
    let running = match sandbox.start(port).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nmbrs-sync: cannot listen on 127.0.0.1:{port}: {e}; pick another --port");
            return EXIT_UNUSABLE;
        }
    };
    // These are the sandbox's own throw-away credentials, printed so a config can be rehearsed.
    println!(
        "Nmbrs sandbox listening (Ctrl-C to stop). Companies \"1\" and \"2\". Point nmbrs-sync at it with:"
    );
    println!(
        "  export NMBRS_SYNC__NMBRS__BASE_URL={}",
        running.base_url()
    );
    println!(
        "  export NMBRS_SYNC__NMBRS__TOKEN_URL={}",
        running.token_url()
    );
    println!(
        "  export NMBRS_SYNC__NMBRS__CLIENT_ID={}",
        nmbrs_sandbox::DEFAULT_CLIENT_ID
    );
    println!(
        "  export NMBRS_SYNC__NMBRS__CLIENT_SECRET={}",
        nmbrs_sandbox::DEFAULT_CLIENT_SECRET
    );
    println!(
        "  export NMBRS_SYNC__NMBRS__SUBSCRIPTION_KEY={}",
        nmbrs_sandbox::DEFAULT_SUBSCRIPTION_KEY
    );
    println!("  export NMBRS_SYNC__NMBRS__REFRESH_TOKEN={refresh_token}");
    println!(
        "(the refresh token rotates on first use; nmbrs-sync keeps the newest in its state database)"
    );
    println!(
        "To rehearse `nmbrs-sync authorize` instead of the refresh token (the sandbox consents at once):"
    );
    println!(
        "  export NMBRS_SYNC__NMBRS__AUTHORIZE_URL={}",
        running.authorize_url()
    );
    println!("  export NMBRS_SYNC__NMBRS__REDIRECT_URI=http://127.0.0.1/callback");
    shutdown.cancelled().await;
    running.shutdown().await;
    0
}

/// `audit`: lists rows (table or JSON lines) or verifies the hash chain.
pub async fn audit(config: Option<&Path>, filter: AuditFilter, json: bool, verify: bool) -> u8 {
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

/// `status`: last runs, open conflicts, failing and quarantined records, token expiry.
pub async fn status(config: Option<&Path>, json: bool) -> u8 {
    let state = match open_state(config).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    match crate::report::status(&state).await {
        Ok(report) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            } else {
                print!("{}", report.render());
            }
            0
        }
        Err(e) => {
            eprintln!("nmbrs-sync: {e}");
            EXIT_UNUSABLE
        }
    }
}

/// `release HRIS_ID`: ends a quarantine; the next cycle tries the record again.
pub async fn release(config: Option<&Path>, hris_id: &str) -> u8 {
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
