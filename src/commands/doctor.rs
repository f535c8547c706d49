//! `nmbrs-sync doctor` (`crate::doctor` does the checks).

use super::load;
use std::path::Path;

/// `doctor`: checks config, both databases, token, subscription key, scopes and company access.
#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `doctor`: exit 0 when every check passes, 1 otherwise.
pub async fn run(config: Option<&Path>, args: DoctorArgs) -> u8 {
    let settings = match load(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let checks = crate::doctor::run(&settings).await;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&checks).unwrap_or_default()
        );
    } else {
        print!("{}", crate::doctor::render(&checks));
    }
    if checks.iter().all(|c| c.ok) { 0 } else { 1 }
}
