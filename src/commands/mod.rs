//! The work behind each CLI command, one file per command. Each takes its clap arguments whole and
//! returns the process exit code; errors are reported here, at the edge, with what to do about them.

pub mod audit;
pub mod authorize;
pub mod demo;
pub mod doctor;
pub mod forget;
pub mod hris;
pub mod import;
pub mod release;
pub mod run;
pub mod sandbox;
pub mod status;
pub mod sync;

use crate::config::Settings;
use crate::state::StateDb;
use std::path::Path;

/// Exit code: nothing could be done (bad config, credentials refused, database unreachable).
pub const EXIT_UNUSABLE: u8 = 2;

/// Loads the settings (naming the bad key and its source on failure) and starts logging.
pub(crate) fn load(config: Option<&Path>) -> Result<Settings, u8> {
    match Settings::load(config) {
        Ok(s) => {
            crate::telemetry::init_logging(&s.log.level, s.log.format);
            crate::fields::set_phone_region(s.phone_region());
            Ok(s)
        }
        Err(e) => {
            eprintln!("nmbrs-sync: {e}");
            Err(EXIT_UNUSABLE)
        }
    }
}

/// Loads the settings and opens the state database (for the read-only commands).
pub(crate) async fn open_state(config: Option<&Path>) -> Result<StateDb, u8> {
    let settings = load(config)?;
    StateDb::open(&settings.state.database_url)
        .await
        .map_err(|e| {
            eprintln!("nmbrs-sync: {e}");
            EXIT_UNUSABLE
        })
}
