//! `nmbrs-sync status` (`crate::report` builds the report).

use super::{EXIT_UNUSABLE, open_state};
use std::path::Path;

/// `status`: last runs, open conflicts, failing and quarantined records.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `status`: last runs, open conflicts, failing and quarantined records, token expiry.
pub async fn run(config: Option<&Path>, args: StatusArgs) -> u8 {
    let state = match open_state(config).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    match crate::report::status(&state).await {
        Ok(report) => {
            if args.json {
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
