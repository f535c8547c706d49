//! `nmbrs-sync hris init`: creates the HRIS table of the contract (README, "The HRIS table").

use super::{EXIT_UNUSABLE, load};
use crate::hris::{InitOutcome, schema};
use std::path::Path;

/// `hris`: the HRIS table itself.
#[derive(clap::Args, Debug)]
pub struct HrisArgs {
    #[command(subcommand)]
    pub command: HrisCommand,
}

/// `hris` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum HrisCommand {
    /// Creates the HRIS table (`hris.table`, columns from `hris.columns`) in `hris.database_url`,
    /// and nothing else; an existing table is compared, never changed.
    Init,
}

/// `hris init`: exit 0 when the table was created or already matches, 1 when an existing table
/// differs (each difference named), 2 when the database cannot be reached.
pub async fn run(config: Option<&Path>, args: HrisArgs) -> u8 {
    let HrisCommand::Init = args.command;
    let settings = match load(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let columns = match settings.columns() {
        Ok(c) => c,
        Err((key, message)) => {
            eprintln!("nmbrs-sync: configuration key `{key}`: {message}");
            return EXIT_UNUSABLE;
        }
    };
    let url = &settings.hris.database_url;
    let table = &settings.hris.table;
    let Some(dialect) = schema::Dialect::of_url(url) else {
        eprintln!("nmbrs-sync: `hris.database_url` `{url}` is neither sqlite: nor postgres://");
        return EXIT_UNUSABLE;
    };
    let outcome = crate::hris::init_table(
        url,
        table,
        &columns,
        std::time::Duration::from_secs(settings.hris.busy_timeout_secs),
    )
    .await;
    let mapping = || {
        println!("column mapping (hris.columns; README \"The HRIS table\"):");
        for line in schema::mapping_lines(dialect, &schema::columns(&columns)) {
            println!("  {line}");
        }
    };
    match outcome {
        Ok(InitOutcome::Created) => {
            println!("created table `{table}` in {url}");
            mapping();
            0
        }
        Ok(InitOutcome::Matches) => {
            println!("table `{table}` already exists in {url} and matches; nothing changed");
            mapping();
            0
        }
        Ok(InitOutcome::Differs(differences)) => {
            eprintln!(
                "nmbrs-sync: table `{table}` already exists in {url} and differs from the contract; nothing changed:"
            );
            for d in &differences {
                eprintln!("  - {d}");
            }
            eprintln!(
                "Fix the table (or `hris.columns` / `hris.table`) so that every mapped column exists with a fitting type."
            );
            mapping();
            1
        }
        Err(e) => {
            eprintln!("nmbrs-sync: {e}");
            EXIT_UNUSABLE
        }
    }
}
