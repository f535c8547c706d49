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

/// Runs the binary off the async runtime (the sandbox it talks to lives on this runtime).
async fn run_async(dir: &Path, env: &[(String, String)], args: &[&str]) -> (i32, String, String) {
    let (dir, env) = (dir.to_owned(), env.to_owned());
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&dir, &env, &args)
    })
    .await
    .expect("join")
}

/// Last names of the employees of a sandbox company.
fn last_names(app: &crate::common::TestApp, company_id: &str) -> Vec<String> {
    let mut names: Vec<String> = app
        .employees(company_id)
        .iter()
        .map(|e| {
            crate::common::pi_field(e, "basicInfo", "lastName")
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    names.sort();
    names
}

/// The issue's "done when": from an empty directory, `hris init`, an import of CSV files with good
/// and bad rows (a BOM and `;`; Windows-1252 "Renée"), then `sync --once` against the sandbox: the
/// good rows exist in Nmbrs, the bad ones are listed with line and column, nothing is half-imported.
#[tokio::test]
async fn empty_directory_to_nmbrs_through_init_import_and_one_cycle() {
    let app = crate::common::TestApp::spawn().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = app.env();
    env.retain(|(k, _)| !k.contains("DATABASE_URL"));
    env.extend(hris_env(dir.path()));
    env.push((
        "NMBRS_SYNC__STATE__DATABASE_URL".into(),
        format!("sqlite:{}", dir.path().join("state.db").display()),
    ));
    let (code, out, err) = run_async(dir.path(), &env, &["hris", "init"]).await;
    assert_eq!(code, 0, "{out}{err}");

    // UTF-8 with BOM, `;`, Windows line ends, Dutch dates; two bad rows.
    let mut good_and_bad = b"\xEF\xBB\xBFhris_id;company_number;employee_number;first_name;last_name;birth_date;private_email;employee_type\r\n".to_vec();
    good_and_bad.extend_from_slice(
        "E-1;1;1001;Anna;de Vries;14-03-1985;anna@example.com;payroll\r\n\
         E-2;1;1002;Bram;Bakker;31-02-1990;;payroll\r\n\
         E-3;2;1003;Chris;Visser;1979-11-02;;payroll\r\n\
         E-4;2;1004;Dirk;Mulder;1980-01-01;dirk@@example;payroll\r\n"
            .as_bytes(),
    );
    std::fs::write(dir.path().join("staff.csv"), &good_and_bad).expect("write csv");
    // Excel's "CSV" on a Western Windows: Windows-1252, `,`.
    std::fs::write(
        dir.path().join("excel.csv"),
        b"hris_id,company_number,employee_number,first_name,last_name,birth_date,employee_type\r\nE-5,2,1005,Ren\xe9e,Jansen,1992-07-15,payroll\r\n",
    )
    .expect("write csv");

    let hris_count = || async {
        let pool = nmbrs_sync::db::open_sqlite(&env_url(dir.path()), 1)
            .await
            .expect("db");
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM hris_employees")
            .fetch_one(&pool)
            .await
            .expect("count")
    };

    // All or nothing: two rejected rows, nothing written.
    let (code, out, err) = run_async(dir.path(), &env, &["import", "staff.csv"]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("UTF-8 with BOM, delimiter `;`, 4 rows"),
        "{out}"
    );
    assert!(
        out.contains("line 3: rejected: column `birth_date`: `31-02-1990` is not a real date"),
        "{out}"
    );
    assert!(
        out.contains("line 5: rejected: column `private_email`"),
        "{out}"
    );
    assert!(out.contains("nothing written"), "{out}");
    assert_eq!(hris_count().await, 0, "nothing half-imported");

    // The dry run with --skip-invalid writes nothing either.
    let (code, out, _) = run_async(
        dir.path(),
        &env,
        &["import", "staff.csv", "--skip-invalid", "--dry-run"],
    )
    .await;
    assert_eq!(code, 1);
    assert!(out.contains("2 would be inserted"), "{out}");
    assert_eq!(hris_count().await, 0);

    let (code, out, _) =
        run_async(dir.path(), &env, &["import", "staff.csv", "--skip-invalid"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("line 2: E-1: inserted") && out.contains("line 4: E-3: inserted"),
        "{out}"
    );
    assert_eq!(hris_count().await, 2);

    let (code, out, err) = run_async(dir.path(), &env, &["import", "excel.csv"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Windows-1252"), "{out}");

    // Again: every row unchanged; a changed cell is an update naming its column.
    let (code, out, _) = run_async(dir.path(), &env, &["import", "excel.csv"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("line 2: E-5: unchanged"), "{out}");

    let (code, out, err) = run_async(dir.path(), &env, &["sync", "--once"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(last_names(&app, &app.company1), ["de Vries"]);
    assert_eq!(last_names(&app, &app.company2), ["Jansen", "Visser"]);
    let renee = app
        .employees(&app.company2)
        .into_iter()
        .find(|e| crate::common::pi_field(e, "basicInfo", "lastName") == "Jansen")
        .expect("Renée");
    assert_eq!(
        crate::common::pi_field(&renee, "basicInfo", "firstName"),
        "Renée"
    );

    // An update staged by import reaches Nmbrs on the next cycle.
    std::fs::write(
        dir.path().join("excel.csv"),
        b"hris_id;company_number;last_name\r\nE-5;2;Jansen-de Boer\r\n",
    )
    .expect("write csv");
    let (code, out, _) = run_async(dir.path(), &env, &["import", "excel.csv"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("line 2: E-5: updated (last_name)"), "{out}");
    let (code, _, _) = run_async(dir.path(), &env, &["sync", "--once"]).await;
    assert_eq!(code, 0);
    assert_eq!(
        last_names(&app, &app.company2),
        ["Jansen-de Boer", "Visser"]
    );
}

fn env_url(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("hris.db").display())
}

/// The `sh` block after `<!-- readme-test: NAME -->` in README.md.
pub fn readme_block(name: &str) -> String {
    let readme = include_str!("../../README.md");
    let marker = format!("<!-- readme-test: {name} -->");
    let start = readme
        .find(&marker)
        .unwrap_or_else(|| panic!("README has no `{marker}`"));
    let rest = &readme[start + marker.len()..];
    let body = rest
        .trim_start()
        .strip_prefix("```sh\n")
        .unwrap_or_else(|| panic!("`{marker}` is not followed by a ```sh block"));
    body[..body.find("\n```").expect("block ends")].to_owned()
}

/// Runs a README block in a fresh `bash` in `dir` with `nmbrs-sync` on the PATH and `env` set.
pub async fn run_readme_block(
    name: &str,
    dir: &Path,
    env: &[(String, String)],
) -> (i32, String, String) {
    let script = readme_block(name);
    let bin_dir = Path::new(BIN).parent().expect("bin dir").to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = setup::command("bash", dir, env);
    cmd.env("PATH", path).arg("-c").arg(script);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("bash runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// README "The first hour, step by step", run as written (the sandbox stands in for Nmbrs: the
/// test supplies the `nmbrs.*` variables the README says to set).
#[tokio::test]
async fn readme_first_hour_runs_as_written() {
    let app = crate::common::TestApp::spawn().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = app.env();
    env.retain(|(k, _)| !k.contains("DATABASE_URL"));
    let (code, out, err) = run_readme_block("first-hour", dir.path(), &env).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!err.contains("command not found"), "{err}");
    assert!(out.contains("created table `hris_employees`"), "{out}");
    assert!(
        out.contains("line 3: rejected: column `birth_date`: `31-02-1990` is not a real date"),
        "{out}"
    );
    assert!(out.contains("line 3: E-2: inserted"), "{out}");
    assert_eq!(last_names(&app, &app.company1), ["Bakker", "de Vries"]);
    assert!(dir.path().join("hris.db").exists() && dir.path().join("nmbrs-sync-state.db").exists());
}

/// README "PostgreSQL as the HRIS", run as written against the test server (`PGHOST`, `PGPORT`,
/// `PGUSER` name it, as the README asks): `hris init` in a schema, a read-only view for a user who
/// may only read it, `doctor` saying so, and a cycle that creates the employee without writing the
/// HRIS. Under `CI=true` a missing server fails it.
#[tokio::test]
async fn readme_postgres_runs_as_written() {
    let admin = match crate::common::postgres::admin_url() {
        Ok(u) => u,
        Err(why) if std::env::var("CI").as_deref() != Ok("true") => {
            println!("SKIPPED (PostgreSQL): {why}");
            return;
        }
        Err(why) => panic!("PostgreSQL is required in CI: {why}"),
    };
    let admin = reqwest::Url::parse(&admin).expect("admin url");
    let app = crate::common::TestApp::spawn().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = app.env();
    env.retain(|(k, _)| !k.contains("DATABASE_URL") && !k.contains("HRIS__TABLE"));
    env.push((
        "PGHOST".into(),
        admin.host_str().unwrap_or("127.0.0.1").into(),
    ));
    env.push(("PGPORT".into(), admin.port().unwrap_or(5432).to_string()));
    env.push(("PGUSER".into(), admin.username().to_owned()));
    let (code, out, err) = run_readme_block("postgres", dir.path(), &env).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("created table `hr.employees`"), "{out}");
    assert!(
        out.contains("read-only (hris.write_back = false)")
            && out.contains("the database user cannot write the table"),
        "{out}"
    );
    assert_eq!(last_names(&app, &app.company1), ["Jansen"]);
    let pool = sqlx::PgPool::connect(&{
        let mut u = admin.clone();
        u.set_path("/hris");
        u.to_string()
    })
    .await
    .expect("connect");
    let id: Option<String> =
        sqlx::query_scalar("SELECT nmbrs_employee_id FROM hr.employees WHERE hris_id = 'E-9'")
            .fetch_one(&pool)
            .await
            .expect("row");
    assert_eq!(id, None, "a read-only HRIS is never written");
}
