//! No secret leaks (SPEC: "Secrets are never printed, logged, or written to the audit log").
//!
//! The binary runs full cycles (creates, an import, an update, a pull, a 401 that forces a token
//! refresh, a refused client secret) at the most verbose log level, in text and JSON format. Then
//! stdout, stderr and every value of every table of both databases are searched for the client
//! secret, the subscription key, every access token the sandbox issued and every refresh token.
//! The one allowed place: the newest refresh token in `oauth_state.refresh_token` of the state
//! database (persisted on purpose: refresh tokens rotate, a restart must not lose access).

use crate::common::{TestApp, person, random};
use nmbrs_sandbox::{ALL_SCOPES, Fault};
use nmbrs_sync::config::Settings;
use secrecy::SecretString;
use serde_json::json;
use sqlx::SqlitePool;

/// Every value of every table, as `(table.column, text)`.
async fn all_values(pool: &SqlitePool) -> Vec<(String, String)> {
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(pool)
            .await
            .expect("tables");
    let mut out = Vec::new();
    for table in tables {
        let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
            .bind(&table)
            .fetch_all(pool)
            .await
            .expect("columns");
        for column in columns {
            // quote(): text as text, blobs as X'hex', numbers as digits; never a decode error.
            let sql = format!("SELECT quote(\"{column}\") FROM \"{table}\"");
            let values: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .expect("values");
            out.extend(values.into_iter().map(|v| (format!("{table}.{column}"), v)));
        }
    }
    out
}

#[tokio::test]
async fn no_secret_or_token_in_logs_output_or_databases() {
    let started = std::time::Instant::now();
    let mut app = TestApp::spawn().await;
    // Fresh, unguessable credentials (the sandbox defaults are well-known strings).
    let client_secret = random("client-secret");
    let subscription_key = random("subscription-key");
    let seed_refresh = app
        .sandbox
        .add_client("leak-test-client", &client_secret, &ALL_SCOPES);
    app.sandbox.add_subscription_key(&subscription_key);
    app.settings.nmbrs.client_id = "leak-test-client".into();
    app.settings.nmbrs.client_secret = Some(SecretString::from(client_secret.clone()));
    app.settings.nmbrs.subscription_key = Some(SecretString::from(subscription_key.clone()));
    app.settings.nmbrs.refresh_token = Some(SecretString::from(seed_refresh.clone()));

    let trace = |format: &'static str| {
        vec![
            ("NMBRS_SYNC__LOG__LEVEL", Some("trace")),
            ("RUST_LOG", Some("trace")),
            ("NMBRS_SYNC__LOG__FORMAT", Some(format)),
            ("NMBRS_SYNC__NMBRS__MAX_REQUESTS_PER_SEC", Some("500")),
        ]
    };
    let mut outputs = Vec::new();

    // Cycle 1: two creates (one with a partner: create + GET + PUT) and an import.
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    app.insert(&person("h-2", "1", 501, "Jan", "Jansen")).await;
    app.exec("UPDATE hris_employees SET partner_name = 'Rick' WHERE hris_id = 'h-1'")
        .await;
    app.seed(&app.company1, 77, "Only", "InNmbrs", "1970-01-01");
    let (code, stdout, stderr) = app.run(&["sync", "--once"], &trace("text")).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("created 2") && stdout.contains("imported 1"),
        "{stdout}"
    );
    assert!(stderr.contains("TRACE"), "trace logging is on");
    assert!(
        !stderr.contains('\u{1b}'),
        "no colour escapes when stderr is not a terminal"
    );
    outputs.push(("cycle 1 stdout", stdout));
    outputs.push(("cycle 1 stderr", stderr));

    // Cycle 2: an update (GET → PUT), a pull, and a 401 that makes the client refresh its token.
    app.exec("UPDATE hris_employees SET last_name = 'Petterson' WHERE hris_id = 'h-1'")
        .await;
    let jan = app
        .hris_value("h-2", "nmbrs_employee_id")
        .await
        .expect("linked");
    assert!(app.sandbox.edit_personal_info(
        &jan,
        "contactInfo.businessEmail",
        json!("jan@company1.example")
    ));
    app.sandbox.inject(Fault::Status(401), 1);
    let (code, stdout, stderr) = app.run(&["sync", "--once"], &trace("json")).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("updated 1") && stdout.contains("pulled 1"),
        "{stdout}"
    );
    outputs.push(("cycle 2 stdout", stdout));
    outputs.push(("cycle 2 stderr", stderr));

    // A refused client secret: exit 2, and the wrong secret is not echoed either.
    let wrong_secret = random("wrong-secret");
    let mut env: Vec<(&str, Option<&str>)> = trace("text");
    env.push((
        "NMBRS_SYNC__NMBRS__CLIENT_SECRET",
        Some(wrong_secret.as_str()),
    ));
    let (code, stdout, stderr) = app.run(&["sync", "--once"], &env).await;
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    outputs.push(("refused stdout", stdout));
    outputs.push(("refused stderr", stderr));

    // The CLI's read side prints nothing secret either.
    for args in [&["status"][..], &["audit", "--json"][..]] {
        let (code, stdout, stderr) = app.run(args, &trace("text")).await;
        assert_eq!(code, 0, "{args:?}: {stderr}");
        outputs.push(("status/audit stdout", stdout));
        outputs.push(("status/audit stderr", stderr));
    }

    let access = app.sandbox.issued_access_tokens();
    let refresh = app.sandbox.issued_refresh_tokens();
    assert!(
        access.len() >= 3,
        "one token per run plus one after the 401: {}",
        access.len()
    );
    let newest_refresh = refresh.last().cloned().expect("a refresh token");
    let mut secrets: Vec<(String, String)> = vec![
        ("client secret".into(), client_secret.clone()),
        ("wrong client secret".into(), wrong_secret.clone()),
        ("subscription key".into(), subscription_key.clone()),
    ];
    secrets.extend(
        access
            .iter()
            .map(|t| ("access token".to_owned(), t.clone())),
    );
    secrets.extend(
        refresh
            .iter()
            .map(|t| ("refresh token".to_owned(), t.clone())),
    );

    let mut leaks = Vec::new();
    for (what, text) in &outputs {
        for (kind, secret) in &secrets {
            if text.contains(secret.as_str()) {
                leaks.push(format!("{kind} in {what}"));
            }
        }
    }
    let open = |path: &std::path::Path| {
        let url = format!("sqlite:{}", path.display());
        async move { nmbrs_sync::db::open_sqlite(&url, 1).await.expect("db") }
    };
    let state = open(&app.state_db).await;
    let mut stored_newest = 0;
    for (place, value) in all_values(&state).await {
        for (kind, secret) in &secrets {
            if !value.contains(secret.as_str()) {
                continue;
            }
            if place == "oauth_state.refresh_token" && *secret == newest_refresh {
                stored_newest += 1;
            } else {
                leaks.push(format!("{kind} in state db {place}"));
            }
        }
    }
    assert_eq!(
        stored_newest, 1,
        "the newest refresh token is persisted, once, in oauth_state"
    );
    let hris = open(&app.hris_db).await;
    for (place, value) in all_values(&hris).await {
        for (kind, secret) in &secrets {
            if value.contains(secret.as_str()) {
                leaks.push(format!("{kind} in HRIS db {place}"));
            }
        }
    }
    assert!(leaks.is_empty(), "leaks:\n{}", leaks.join("\n"));

    // Debug output of the settings and the secrets, as built in code and as loaded from a file.
    let loaded = app.settings.secrets().expect("secrets");
    let debug = format!("{:?} {:?}", app.settings, loaded);
    for secret in [&client_secret, &subscription_key, &seed_refresh] {
        assert!(
            !debug.contains(secret.as_str()),
            "Debug leaks a secret: {debug}"
        );
    }
    let secret_file = app.dir.path().join("client_secret");
    std::fs::write(&secret_file, format!("{client_secret}\n")).expect("write secret file");
    let config = app.dir.path().join("leak-test.toml");
    std::fs::write(
        &config,
        format!(
            "[nmbrs]\nclient_id = \"leak-test-client\"\nclient_secret_file = {:?}\n\
             subscription_key = \"{subscription_key}\"\nrefresh_token = \"{seed_refresh}\"\n",
            secret_file.display().to_string()
        ),
    )
    .expect("write config");
    let settings = Settings::load(Some(&config)).expect("settings load");
    let loaded = settings.secrets().expect("secrets load");
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&loaded.client_secret),
        client_secret,
        "read from the file"
    );
    let debug = format!("{settings:?} {loaded:?} {:#?} {:#?}", settings, loaded);
    for secret in [&client_secret, &subscription_key, &seed_refresh] {
        assert!(
            !debug.contains(secret.as_str()),
            "Debug leaks a secret: {debug}"
        );
    }
    eprintln!("secrets test took {:?}", started.elapsed());
}
