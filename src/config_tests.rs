use super::*;
use std::collections::HashMap;

fn env(vars: &[(&str, &str)]) -> config::Environment {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    config::Environment::with_prefix(ENV_PREFIX).source(Some(map))
}

#[test]
fn built_in_defaults_load() {
    let s = Settings::load_with_env(None, env(&[])).expect("defaults load");
    assert_eq!(s.hris.table, "hris_employees");
    assert_eq!(s.sync.conflict_policy, ConflictPolicy::HrisWins);
    assert!(s.sync.import_from_nmbrs);
    assert_eq!(
        s.columns().expect("columns").fields[Field::LastName.index()].as_deref(),
        Some("last_name")
    );
}

#[test]
fn env_overrides_nested_keys_and_secrets_are_redacted() {
    let s = Settings::load_with_env(
        None,
        env(&[
            ("NMBRS_SYNC__NMBRS__BASE_URL", "http://127.0.0.1:9/api"),
            ("NMBRS_SYNC__NMBRS__SUBSCRIPTION_KEY", "12345"),
            ("NMBRS_SYNC__NMBRS__CLIENT_SECRET", "very-secret-value"),
            ("NMBRS_SYNC__NMBRS__REFRESH_TOKEN", "rt-secret-value"),
            ("NMBRS_SYNC__NMBRS__PAGE_SIZE", "7"),
            ("NMBRS_SYNC__HRIS__COLUMNS__LAST_NAME", "surname"),
            ("NMBRS_SYNC__SYNC__FIELD_OWNER__GENDER", "nmbrs"),
            ("NMBRS_SYNC__SYNC__CONFLICT_POLICY", "manual"),
        ]),
    )
    .expect("loads");
    assert_eq!(s.nmbrs.base_url, "http://127.0.0.1:9/api");
    assert_eq!(s.nmbrs.page_size, 7);
    assert_eq!(s.sync.conflict_policy, ConflictPolicy::Manual);
    assert_eq!(s.field_owners()[Field::Gender.index()], FieldOwner::Nmbrs);
    assert_eq!(
        s.columns().expect("columns").fields[Field::LastName.index()].as_deref(),
        Some("surname")
    );
    let secrets = s.secrets().expect("secrets");
    assert_eq!(secrets.subscription_key.expose_secret(), "12345");
    let debug = format!("{s:?} {secrets:?}");
    for secret in ["very-secret-value", "rt-secret-value", "12345"] {
        assert!(!debug.contains(secret), "Debug output leaks {secret}");
    }
}

#[test]
fn bad_values_name_the_key_and_origin() {
    let err = Settings::load_with_env(
        None,
        env(&[("NMBRS_SYNC__SYNC__CONFLICT_POLICY", "coin_flip")]),
    )
    .expect_err("must fail");
    assert!(err.to_string().contains("conflict_policy"), "{err}");
    let err = Settings::load_with_env(None, env(&[("NMBRS_SYNC__NMBRS__MAX_CONCURRENCY", "0")]))
        .expect_err("must fail");
    let msg = err.to_string();
    assert!(
        msg.contains("nmbrs.max_concurrency") && msg.contains("NMBRS_SYNC__NMBRS__MAX_CONCURRENCY"),
        "{msg}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[nmbrs]\npage_size = 0\n").expect("write");
    let err = Settings::load_with_env(Some(&file), env(&[])).expect_err("must fail");
    let msg = err.to_string();
    assert!(
        msg.contains("nmbrs.page_size") && msg.contains("bad.toml"),
        "{msg}"
    );
    let err = Settings::load_with_env(
        None,
        env(&[("NMBRS_SYNC__HRIS__COLUMNS__LAST_NAME", "x; DROP TABLE y")]),
    )
    .expect_err("must fail");
    assert!(err.to_string().contains("hris.columns.last_name"), "{err}");
    let err = Settings::load_with_env(
        None,
        env(&[("NMBRS_SYNC__SYNC__FIELD_OWNER__SALARY", "hris")]),
    )
    .expect_err("must fail");
    assert!(err.to_string().contains("sync.field_owner.salary"), "{err}");
    let err = Settings::load_with_env(
        None,
        env(&[("NMBRS_SYNC__SYNC__SCHEDULE", "every tuesday")]),
    )
    .expect_err("must fail");
    assert!(err.to_string().contains("sync.schedule"), "{err}");
}

#[test]
fn missing_secret_names_key_and_env_var() {
    let s = Settings::load_with_env(None, env(&[])).expect("loads");
    let err = s.secrets().expect_err("no secrets configured");
    assert!(
        err.to_string().contains("NMBRS_SYNC__NMBRS__CLIENT_SECRET"),
        "{err}"
    );
}

#[test]
fn secret_files_are_read_and_trimmed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("key");
    std::fs::write(&path, "from-file\n").expect("write");
    let got = secret("nmbrs.subscription_key", &None, &Some(path.clone())).expect("reads");
    assert_eq!(got.expose_secret(), "from-file");
    let direct = Some(SecretString::from("from-env"));
    let got = secret("nmbrs.subscription_key", &direct, &Some(path)).expect("reads");
    assert_eq!(
        got.expose_secret(),
        "from-env",
        "a value given directly overrides the file"
    );
}

#[test]
fn a_misspelt_key_is_refused_naming_it_its_source_and_the_nearest_known_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("typo.toml");
    std::fs::write(&file, "[sync]\nconflict_polcy = \"manual\"\n").expect("write");
    let msg = Settings::load_with_env(Some(&file), env(&[]))
        .expect_err("refused")
        .to_string();
    assert!(
        msg.contains("sync.conflict_polcy")
            && msg.contains("typo.toml")
            && msg.contains("did you mean `sync.conflict_policy`"),
        "{msg}"
    );
    let msg = Settings::load_with_env(None, env(&[("NMBRS_SYNC__SYNC__RUN_AT_STRAT", "true")]))
        .expect_err("refused")
        .to_string();
    assert!(
        msg.contains("sync.run_at_strat")
            && msg.contains("NMBRS_SYNC__SYNC__RUN_AT_STRAT")
            && msg.contains("did you mean `sync.run_at_start`"),
        "{msg}"
    );
    let msg = Settings::load_with_env(None, env(&[("NMBRS_SYNC__NMBRS__DEBTOR_IDD", "x")]))
        .expect_err("refused")
        .to_string();
    assert!(msg.contains("did you mean `nmbrs.debtor_id`"), "{msg}");
    // Maps take any key: hris.columns and sync.field_owner are checked by their own rules.
    assert!(
        Settings::load_with_env(
            None,
            env(&[("NMBRS_SYNC__SYNC__FIELD_OWNER__GENDER", "nmbrs")])
        )
        .is_ok()
    );
}

#[test]
fn the_schedule_s_time_zone_is_an_iana_name() {
    let s = Settings::load_with_env(None, env(&[])).expect("defaults");
    assert_eq!(s.timezone(), chrono_tz::UTC, "UTC unless said otherwise");
    let s = Settings::load_with_env(
        None,
        env(&[("NMBRS_SYNC__SYNC__TIMEZONE", "Europe/Amsterdam")]),
    )
    .expect("valid");
    assert_eq!(s.timezone(), chrono_tz::Europe::Amsterdam);
    let msg = Settings::load_with_env(None, env(&[("NMBRS_SYNC__SYNC__TIMEZONE", "CEST")]))
        .expect_err("refused")
        .to_string();
    assert!(
        msg.contains("sync.timezone") && msg.contains("NMBRS_SYNC__SYNC__TIMEZONE"),
        "{msg}"
    );
}

#[test]
fn the_phone_region_is_an_iso_region_code() {
    let s = Settings::load_with_env(None, env(&[])).expect("defaults");
    assert_eq!(s.phone_region(), phonenumber::country::Id::NL);
    let s = Settings::load_with_env(None, env(&[("NMBRS_SYNC__SYNC__PHONE_REGION", "be")]))
        .expect("valid, any case");
    assert_eq!(s.phone_region(), phonenumber::country::Id::BE);
    let msg = Settings::load_with_env(
        None,
        env(&[("NMBRS_SYNC__SYNC__PHONE_REGION", "Netherlands")]),
    )
    .expect_err("refused")
    .to_string();
    assert!(msg.contains("sync.phone_region"), "{msg}");
}

#[test]
fn the_full_reconcile_interval_is_a_duration() {
    let s = Settings::load_with_env(None, env(&[])).expect("defaults");
    assert_eq!(
        s.full_every(),
        std::time::Duration::from_secs(24 * 3600),
        "a full reconcile once a day by default (issue 13)"
    );
    let s = Settings::load_with_env(None, env(&[("NMBRS_SYNC__SYNC__FULL_EVERY", "6h")]))
        .expect("valid");
    assert_eq!(s.full_every(), std::time::Duration::from_secs(6 * 3600));
    let msg = Settings::load_with_env(None, env(&[("NMBRS_SYNC__SYNC__FULL_EVERY", "daily")]))
        .expect_err("refused")
        .to_string();
    assert!(msg.contains("sync.full_every"), "{msg}");
}

#[test]
fn a_schema_qualified_table_is_for_postgresql_and_the_scheme_is_checked() {
    let pg = Settings::load_with_env(
        None,
        env(&[
            (
                "NMBRS_SYNC__HRIS__DATABASE_URL",
                "postgres://hr@db.internal/hr",
            ),
            ("NMBRS_SYNC__HRIS__TABLE", "hr.employees"),
            ("NMBRS_SYNC__HRIS__WRITE_BACK", "false"),
        ]),
    )
    .expect("loads");
    assert_eq!(pg.hris.table, "hr.employees");
    assert!(!pg.hris.write_back);
    let e = Settings::load_with_env(None, env(&[("NMBRS_SYNC__HRIS__TABLE", "hr.employees")]))
        .expect_err("sqlite");
    assert!(
        e.to_string()
            .contains("schema-qualified name is for PostgreSQL"),
        "{e}"
    );
    let e = Settings::load_with_env(
        None,
        env(&[("NMBRS_SYNC__HRIS__DATABASE_URL", "mysql://hr@db/hr")]),
    )
    .expect_err("mysql");
    assert!(e.to_string().contains("`hris.database_url`"), "{e}");
}
