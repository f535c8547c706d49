//! `nmbrs-sync import FILE.csv [--dry-run] [--skip-invalid]`: stages rows from an HR tool's CSV
//! export into the HRIS table; the next sync cycle carries them to Nmbrs (README, "Importing a CSV
//! file").

use super::{EXIT_UNUSABLE, load};
use crate::hris::csv_import::{self, ParsedRow};
use crate::hris::{HrisDb, ImportResult};
use std::path::{Path, PathBuf};

/// `import`: upsert rows of a CSV file into the HRIS table, keyed by `hris_id`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The CSV file: a header line naming HRIS columns (as `hris.columns` names them), `,` or `;`,
    /// UTF-8 (with or without BOM) or Windows-1252, dates `YYYY-MM-DD` or `dd-mm-yyyy`.
    pub file: PathBuf,
    /// Validate and show what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the valid rows even when others are rejected (default: a rejected row means nothing
    /// is written).
    #[arg(long)]
    pub skip_invalid: bool,
}

/// `import`: exit 0 every row valid (and written, unless `--dry-run`); 1 some rows rejected (with
/// `--skip-invalid` the others were written); 2 the file or the database could not be used.
pub async fn run(config: Option<&Path>, args: ImportArgs) -> u8 {
    let settings = match load(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if !settings.hris.write_back {
        eprintln!(
            "nmbrs-sync: `hris.write_back = false`: the HRIS is read-only for nmbrs-sync, so it does not import into it; load the file with the HRIS's own tools"
        );
        return EXIT_UNUSABLE;
    }
    let columns = match settings.columns() {
        Ok(c) => c,
        Err((key, message)) => {
            eprintln!("nmbrs-sync: configuration key `{key}`: {message}");
            return EXIT_UNUSABLE;
        }
    };
    let hris = match HrisDb::open(
        &settings.hris.database_url,
        &settings.hris.table,
        columns,
        std::time::Duration::from_secs(settings.hris.busy_timeout_secs),
    )
    .await
    {
        Ok(h) => h,
        Err(e) => {
            eprintln!("nmbrs-sync: {e}");
            return EXIT_UNUSABLE;
        }
    };
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("nmbrs-sync: cannot read `{}`: {e}", args.file.display());
            return EXIT_UNUSABLE;
        }
    };
    // Headers map to the columns the table has (an optional column it lacks is not importable).
    let parsed = match csv_import::parse(&bytes, hris.columns(), crate::hris::validate::today_utc())
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("nmbrs-sync: `{}`: {e}", args.file.display());
            return EXIT_UNUSABLE;
        }
    };
    println!(
        "read {}: {}, delimiter `{}`, {} rows",
        args.file.display(),
        parsed.encoding,
        parsed.delimiter,
        parsed.rows.len()
    );
    let valid: Vec<&ParsedRow> = parsed.rows.iter().filter(|r| r.row.is_ok()).collect();
    let rows: Vec<csv_import::ImportRow> = valid
        .iter()
        .filter_map(|r| r.row.as_ref().ok().cloned())
        .collect();
    let parse_rejected = parsed.rows.len() - valid.len();
    let (dry_run, skip_invalid) = (args.dry_run, args.skip_invalid);
    let outcome = hris
        .import_rows(&rows, |results| {
            let rejected = parse_rejected
                + results
                    .iter()
                    .filter(|r| matches!(r, ImportResult::Incomplete(_)))
                    .count();
            !dry_run && (rejected == 0 || skip_invalid)
        })
        .await;
    let (results, written) = match outcome {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nmbrs-sync: {e}; nothing was imported");
            return EXIT_UNUSABLE;
        }
    };
    let mut counts = [0usize; 4]; // inserted, updated, unchanged, rejected
    let mut results = results.into_iter();
    for r in &parsed.rows {
        let key = r.row.as_ref().map(|x| x.hris_id.as_str()).unwrap_or("");
        match &r.row {
            Err(problems) => {
                counts[3] += 1;
                for p in problems {
                    println!(
                        "line {}: rejected: column `{}`: {}",
                        r.line, p.column, p.message
                    );
                }
            }
            Ok(_) => match results.next() {
                Some(ImportResult::Inserted) => {
                    counts[0] += 1;
                    println!("line {}: {key}: inserted", r.line);
                }
                Some(ImportResult::Updated(cols)) => {
                    counts[1] += 1;
                    println!("line {}: {key}: updated ({})", r.line, cols.join(", "));
                }
                Some(ImportResult::Unchanged) | None => {
                    counts[2] += 1;
                    println!("line {}: {key}: unchanged", r.line);
                }
                Some(ImportResult::Incomplete(fields)) => {
                    counts[3] += 1;
                    for f in fields {
                        println!(
                            "line {}: rejected: column `{}`: is missing; a new row needs it (it is required to create and match the employee in Nmbrs)",
                            r.line,
                            f.name()
                        );
                    }
                }
            },
        }
    }
    let verb = if written { "" } else { "would be " };
    println!(
        "{} {verb}inserted, {} {verb}updated, {} unchanged, {} rejected",
        counts[0], counts[1], counts[2], counts[3]
    );
    if written {
        println!(
            "written in one transaction; the next sync cycle carries the changes to Nmbrs (`nmbrs-sync sync --once`, or the daemon's schedule)"
        );
    } else if dry_run {
        println!("dry run: nothing written");
    } else {
        println!(
            "nothing written: {} row(s) rejected; fix them and import again, or use --skip-invalid to write the valid rows",
            counts[3]
        );
    }
    if counts[3] > 0 { 1 } else { 0 }
}
