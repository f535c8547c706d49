//! `nmbrs-sync authorize` end to end: the real binary against the in-process sandbox, a person
//! played by the test (it opens the printed link without following the redirect and pastes the
//! `Location` back), then `sync --once` on the stored token, with and without an old configured
//! refresh token. Nothing secret may show in the binary's output.

use crate::common::{TestApp, person, random};
use nmbrs_sandbox::ALL_SCOPES;
use secrecy::SecretString;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const REDIRECT_URI: &str = "http://127.0.0.1:1/nmbrs-callback";

/// The outputs of one `authorize` run.
struct Authorized {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `nmbrs-sync authorize` for `app`, less the configured refresh token, with the sandbox's
/// authorize endpoint and [`REDIRECT_URI`].
fn authorize_command(app: &TestApp) -> std::process::Command {
    let mut cmd = app.std_command();
    cmd.arg("authorize")
        .env_remove("NMBRS_SYNC__NMBRS__REFRESH_TOKEN")
        .env(
            "NMBRS_SYNC__NMBRS__AUTHORIZE_URL",
            app.running.authorize_url(),
        )
        .env("NMBRS_SYNC__NMBRS__REDIRECT_URI", REDIRECT_URI);
    cmd
}

/// Runs [`authorize_command`] with `env` added; answers the printed link the way a browser would:
/// GET it, do not follow the redirect, paste `Location`.
async fn run_authorize(app: &TestApp, env: &[(&str, &str)]) -> Authorized {
    let mut cmd = crate::common::child(authorize_command(app));
    cmd.envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("binary starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut stderr = child.stderr.take().expect("stderr");
    let stderr_task = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });
    let mut out = String::new();
    let link = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).await.expect("read stdout") == 0 {
                return None;
            }
            out.push_str(&line);
            let trimmed = line.trim();
            if trimmed.starts_with("http") && trimmed.contains("/connect/authorize") {
                return Some(trimmed.to_owned());
            }
        }
    })
    .await
    .expect("the link is printed in time");
    let Some(link) = link else {
        let status = child.wait().await.expect("exit");
        let stderr = stderr_task.await.expect("stderr");
        panic!("no link printed (exit {status}); stdout:\n{out}\nstderr:\n{stderr}");
    };

    let url = reqwest::Url::parse(&link).expect("the link is a URL");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("response_type").as_deref(), Some("code"));
    assert_eq!(get("redirect_uri").as_deref(), Some(REDIRECT_URI));
    assert_eq!(get("code_challenge_method").as_deref(), Some("S256"));
    // Every resource's columns are mapped by default: their scopes are asked for.
    assert_eq!(
        get("scope").as_deref(),
        Some(
            "company.info.read employee.info employee.employment employee.orgstructure offline_access"
        )
    );

    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    let answer = browser.get(link).send().await.expect("authorize endpoint");
    assert_eq!(answer.status(), reqwest::StatusCode::FOUND);
    let location = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("Location")
        .to_owned();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    stdin
        .write_all(format!("{location}\n").as_bytes())
        .await
        .expect("paste");
    drop(stdin);

    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("authorize finishes in time")
        .expect("exit status");
    stdout
        .read_to_string(&mut out)
        .await
        .expect("rest of stdout");
    Authorized {
        code: status.code().unwrap_or(-1),
        stdout: out,
        stderr: stderr_task.await.expect("stderr"),
    }
}

async fn oauth_state(app: &TestApp) -> (String, String, Option<String>) {
    let state = app.state().await;
    sqlx::query_as("SELECT refresh_token, seed_fingerprint, scopes FROM oauth_state WHERE id = 1")
        .fetch_one(&state)
        .await
        .expect("a stored token")
}

#[tokio::test]
async fn authorize_then_sync_without_and_with_an_old_configured_refresh_token() {
    let mut app = TestApp::spawn().await;
    // A client of its own with an unguessable secret (the sandbox defaults are well known).
    let client_secret = random("client-secret");
    let seed = app
        .sandbox
        .add_client("authorize-client", &client_secret, &ALL_SCOPES);
    app.settings.nmbrs.client_id = "authorize-client".into();
    app.settings.nmbrs.client_secret = Some(SecretString::from(client_secret.clone()));
    app.settings.nmbrs.refresh_token = Some(SecretString::from(seed.clone()));
    let mut outputs = Vec::new();

    // Before: the operator ran on a hand-made refresh token, which the first refresh spent.
    app.insert(&person("h-1", "1", 101, "Lisa", "Hanison"))
        .await;
    let (code, out, err) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(code, 0, "hand-made token works:\n{out}\n{err}");
    outputs.push(out + &err);

    // The first authorization, with a config that has no refresh token.
    let run = run_authorize(&app, &[("RUST_LOG", "trace")]).await;
    assert_eq!(
        run.code, 0,
        "authorize succeeds:\n{}\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout
            .contains("Granted scopes: company.info.read employee.employment employee.info employee.orgstructure offline_access"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("state.db"),
        "says where: {}",
        run.stdout
    );
    outputs.push(run.stdout + &run.stderr);
    let (stored, chain, scopes) = oauth_state(&app).await;
    assert_eq!(chain, "authorize");
    assert_eq!(
        scopes.as_deref(),
        Some(
            "company.info.read employee.employment employee.info employee.orgstructure offline_access"
        )
    );
    assert_eq!(
        app.sandbox.issued_refresh_tokens().last(),
        Some(&stored),
        "the refresh token from the code is the one stored"
    );

    // sync --once with no refresh token configured authenticates on the stored one.
    app.insert(&person("h-2", "1", 102, "Jan", "Jansen")).await;
    let (code, out, err) = app
        .run(
            &["sync", "--once"],
            &[("NMBRS_SYNC__NMBRS__REFRESH_TOKEN", None)],
        )
        .await;
    assert_eq!(code, 0, "sync on the authorized token:\n{out}\n{err}");
    outputs.push(out + &err);
    let company = app.company1.clone();
    assert_eq!(app.employees(&company).len(), 2, "Jan was created");

    // A config that still names the old (spent) seed must not override the authorized chain.
    app.insert(&person("h-3", "1", 103, "Piet", "Pietersen"))
        .await;
    let (code, out, err) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(
        code, 0,
        "the old configured seed is ignored, the authorized chain goes on:\n{out}\n{err}"
    );
    assert!(
        err.contains("`nmbrs.refresh_token` is ignored"),
        "the operator is told to remove the key:\n{err}"
    );
    outputs.push(out + &err);
    assert_eq!(app.employees(&company).len(), 3, "Piet was created");
    let (stored, chain, _) = oauth_state(&app).await;
    assert_eq!(chain, "authorize", "still the authorized chain");
    assert_eq!(app.sandbox.issued_refresh_tokens().last(), Some(&stored));

    // Nothing secret in any output: codes, verifiers, every token, the client secret.
    let codes = app.sandbox.issued_authorization_codes();
    let verifiers = app.sandbox.received_code_verifiers();
    assert_eq!(codes.len(), 1);
    assert_eq!(verifiers.len(), 1);
    let mut secrets: Vec<String> = vec![client_secret];
    secrets.extend(codes);
    secrets.extend(verifiers);
    secrets.extend(app.sandbox.issued_access_tokens());
    secrets.extend(app.sandbox.issued_refresh_tokens());
    for output in &outputs {
        for secret in &secrets {
            assert!(
                !output.contains(secret.as_str()),
                "a secret leaked into the output:\n{output}"
            );
        }
    }
}

#[tokio::test]
async fn authorize_without_redirect_uri_exits_2_naming_the_key() {
    let app = TestApp::spawn().await;
    let (code, out, err) = app
        .run(
            &["authorize"],
            &[
                ("NMBRS_SYNC__NMBRS__REDIRECT_URI", None),
                ("NMBRS_SYNC__NMBRS__REFRESH_TOKEN", None),
            ],
        )
        .await;
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("nmbrs.redirect_uri"), "{err}");
    assert!(
        !out.contains("/connect/authorize"),
        "no link printed: {out}"
    );
}

#[tokio::test]
async fn sync_without_any_refresh_token_says_to_run_authorize() {
    let app = TestApp::spawn().await;
    let (code, out, err) = app
        .run(
            &["sync", "--once"],
            &[("NMBRS_SYNC__NMBRS__REFRESH_TOKEN", None)],
        )
        .await;
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("nmbrs-sync authorize"), "{err}");
}

#[tokio::test]
async fn a_pasted_address_with_another_state_is_refused() {
    let app = TestApp::spawn().await;
    let mut cmd = assert_cmd::Command::from_std(authorize_command(&app));
    cmd.write_stdin(format!("{REDIRECT_URI}?code=abc&state=forged\n"))
        .timeout(Duration::from_secs(60));
    let out = crate::common::output(cmd).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`state`"), "{stderr}");
    assert_eq!(app.sandbox.stats().token_calls, 0, "no exchange attempted");
}
