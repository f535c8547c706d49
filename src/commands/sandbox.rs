//! `nmbrs-sync sandbox`: the in-repo Nmbrs imitation (`nmbrs_sandbox`) as a standalone server.

use super::EXIT_UNUSABLE;
use crate::config::LogFormat;
use nmbrs_sandbox::{FaultOptions, Sandbox, SandboxOptions, seed_default};
use std::time::Duration;

/// `sandbox`: the Nmbrs sandbox as a standalone server on 127.0.0.1.
#[derive(clap::Args, Debug)]
pub struct SandboxArgs {
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 8089)]
    pub port: u16,
    /// Added latency per API call, milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Requests/s before answering 429 with Retry-After.
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// Fraction of API calls answered with a random 5xx (0.0–1.0).
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Fraction of API calls whose connection is dropped (0.0–1.0).
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Largest page size served.
    #[arg(long, default_value_t = 100)]
    pub max_page_size: u32,
}

/// `sandbox`: serves the seeded sandbox until Ctrl-C / SIGTERM.
pub async fn run(args: SandboxArgs) -> u8 {
    let SandboxArgs {
        port,
        latency_ms,
        rate_limit,
        error_rate,
        drop_rate,
        max_page_size,
    } = args;
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
