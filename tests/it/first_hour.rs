//! The first hour with one's own data (issue 14): `hris init` on an empty directory, a CSV import with
//! good and bad rows, then a cycle against the sandbox; and the README's command blocks run as written.

use crate::common::setup::{self, BIN};
use std::path::Path;

/// Runs the binary in `dir` with `env` (and nothing else of this process's `NMBRS_SYNC*`).
fn run(dir: &Path, env: &[(String, String)], args: &[&str]) -> (i32, String, String) {
    let out = setup::command(BIN, dir, env)
        .args(args)
        .output()
        .expect("run nmbrs-sync");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn hris_env(dir: &Path) -> Vec<(String, String)> {
    vec![(
        "NMBRS_SYNC__HRIS__DATABASE_URL".into(),
        format!("sqlite:{}", dir.join("hris.db").display()),
    )]
}

/// `hris init` creates the table in an empty directory, is a no-op the second time, and names what
/// differs in a table it did not make (changing nothing).
#[tokio::test]
async fn hris_init_creates_the_table_once_and_names_differences() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = hris_env(dir.path());
    let (code, out, err) = run(dir.path(), &env, &["hris", "init"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("created table `hris_employees`"), "{out}");
    assert!(
        out.contains("hris_id                  → \"hris_id\" TEXT PRIMARY KEY"),
        "{out}"
    );
    let pool = nmbrs_sync::db::open_sqlite(&env[0].1, 1).await.expect("db");
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info('hris_employees')")
            .fetch_all(&pool)
            .await
            .expect("columns");
    assert_eq!(names.len(), 35, "{names:?}");
    let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master")
        .fetch_one(&pool)
        .await
        .expect("tables");
    // The table and its primary key's index, nothing else.
    assert_eq!(tables, 2);

    let (code, out, _) = run(dir.path(), &env, &["hris", "init"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("already exists") && out.contains("matches"),
        "{out}"
    );

    // A column renamed in the config is missing from the existing table: named, nothing changed.
    let mut renamed = env.clone();
    renamed.push((
        "NMBRS_SYNC__HRIS__COLUMNS__LAST_NAME".into(),
        "surname".into(),
    ));
    sqlx::query("ALTER TABLE hris_employees DROP COLUMN hours_per_week")
        .execute(&pool)
        .await
        .expect("drop");
    let (code, _, err) = run(dir.path(), &renamed, &["hris", "init"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("column `surname` (hris.columns.last_name) is missing"),
        "{err}"
    );
    assert!(err.contains("column `hours_per_week`"), "{err}");
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM pragma_table_info('hris_employees')")
        .fetch_one(&pool)
        .await
        .expect("columns");
    assert_eq!(after, 34, "nothing added");
}
