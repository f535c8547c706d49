//! `nmbrs-sync authorize`: the first authorization (authorization-code flow with PKCE, the only
//! flow Nmbrs offers; docs/nmbrs-api.md, "Base, headers, auth").
//!
//! Prints the link to `nmbrs.authorize_url`, reads one line from standard input (the address the
//! browser was sent back to, or the bare code), exchanges the code at `nmbrs.token_url` and stores
//! the refresh token in the state database through [`StateDb::save_refresh_token`], the same path
//! the token manager stores rotated tokens through, marked as an [`AUTHORIZED_CHAIN`] (which then
//! wins over a configured `nmbrs.refresh_token`: see `nmbrs::auth::choose_refresh_token`). The
//! code, the verifier, the tokens and the client secret are never printed or logged.

use super::{EXIT_UNUSABLE, load};
use crate::config::{ConfigError, Settings};
use crate::doctor::{has_scope, scopes_for, scopes_to_request};
use crate::nmbrs::auth::AUTHORIZED_CHAIN;
use crate::nmbrs::auth::TokenEndpoint;
use crate::nmbrs::authorize::{
    AuthorizeError, OFFLINE_ACCESS, Pkce, authorize_url, exchange, parse_answer, random_state,
};
use crate::nmbrs::client::http_client;
use crate::state::lock::{LockError, StateLock};
use crate::state::{StateDb, StateError};
use secrecy::ExposeSecret;
use std::path::Path;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

/// The longest answer line read (a redirect address is far shorter).
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// Why `authorize` stopped. Each message says what to do.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Authorize(#[from] AuthorizeError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the HTTP client could not be built: {0}")]
    Http(String),
    #[error("standard input could not be read: {0}")]
    Stdin(std::io::Error),
    #[error(
        "the refresh token could not be saved in the state database `{url}` (`state.database_url`): {source}; nothing was stored, run `nmbrs-sync authorize` again once the database is writable"
    )]
    Save { url: String, source: StateError },
}

/// `authorize`: exit 0 when a refresh token was obtained and stored, 2 otherwise.
pub async fn run(config: Option<&Path>) -> u8 {
    let settings = match load(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match authorize(&settings).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("nmbrs-sync: {e}");
            EXIT_UNUSABLE
        }
    }
}

async fn authorize(settings: &Settings) -> Result<(), Failure> {
    let n = &settings.nmbrs;
    let redirect_uri = n
        .redirect_uri
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or(AuthorizeError::MissingRedirectUri)?;
    if n.client_id.trim().is_empty() {
        return Err(AuthorizeError::MissingClientId.into());
    }
    let client_secret = settings.client_secret()?;
    // A running daemon rotates the stored token; storing a new one under it could be overwritten.
    let _lock = StateLock::acquire(&settings.state.database_url)?;
    // Opened (and migrated) before the person consents, so a bad database fails first.
    let state = StateDb::open(&settings.state.database_url)
        .await?
        .with_seal_key(settings.seal_key()?)
        .await?;
    let endpoint = TokenEndpoint {
        http: http_client(settings).map_err(|e| Failure::Http(e.to_string()))?,
        url: n.token_url.clone(),
        client_id: n.client_id.clone(),
        client_secret,
        retry: settings.retry.clone(),
    };

    // The fields whose columns the config does not leave out (an optional column missing from the
    // table would only be skipped later: asking for its scope costs nothing).
    let fields: Vec<crate::fields::Field> = settings
        .columns()
        .map(|c| {
            crate::fields::Field::ALL
                .into_iter()
                .filter(|f| c.fields[f.index()].is_some())
                .collect()
        })
        .unwrap_or_else(|_| crate::fields::Field::ALL.to_vec());
    let mut scopes = scopes_to_request(&fields);
    scopes.push(OFFLINE_ACCESS);
    let pkce = Pkce::generate()?;
    let expected_state = random_state()?;
    let link = authorize_url(
        &n.authorize_url,
        &n.client_id,
        redirect_uri,
        &scopes,
        &expected_state,
        &pkce.challenge,
    )?;
    println!(
        "Open this link in a browser, sign in to Nmbrs and approve the access nmbrs-sync asks for ({}):",
        scopes.join(" ")
    );
    println!();
    println!("{link}");
    println!();
    println!(
        "The browser is then sent to {redirect_uri}?code=… (that page need not load). Paste the whole address from the address bar (or just the code) and press Enter:"
    );

    let mut line = String::new();
    BufReader::new(tokio::io::stdin().take(MAX_ANSWER_BYTES))
        .read_line(&mut line)
        .await
        .map_err(Failure::Stdin)?;
    let answer = parse_answer(&line, &expected_state)?;
    if !answer.state_checked {
        println!("(a bare code carries no `state`, so it could not be checked against this run)");
    }
    let authorized = exchange(&endpoint, &answer.code, redirect_uri, &pkce.verifier).await?;
    state
        .save_refresh_token(
            authorized.refresh_token.expose_secret(),
            AUTHORIZED_CHAIN,
            None,
            authorized.scope.as_deref(),
        )
        .await
        .map_err(|source| Failure::Save {
            url: settings.state.database_url.clone(),
            source,
        })?;
    tracing::info!("refresh token obtained by authorization code and stored");

    println!();
    match authorized.scope.as_deref() {
        Some(granted) => {
            println!("Authorized. Granted scopes: {granted}");
            let granted: Vec<&str> = granted.split_whitespace().collect();
            for (scope, feature) in scopes_for(&fields) {
                if !has_scope(&granted, scope) {
                    println!(
                        "Warning: `{scope}` was not granted; it is needed for {feature}. Grant it to the API client in Nmbrs and run `nmbrs-sync authorize` again."
                    );
                }
            }
        }
        None => println!(
            "Authorized. The identity service did not list the granted scopes; `nmbrs-sync doctor` checks them."
        ),
    }
    println!(
        "The refresh token is stored in the state database {} (table oauth_state); `nmbrs-sync sync` and `run` use it from now on, `nmbrs.refresh_token` is not needed.",
        settings.state.database_url
    );
    let configured = n
        .refresh_token
        .as_ref()
        .is_some_and(|t| !t.expose_secret().trim().is_empty())
        || n.refresh_token_file
            .as_ref()
            .is_some_and(|f| !f.as_os_str().is_empty());
    if configured {
        println!(
            "Note: `nmbrs.refresh_token` is set in the configuration; it is ignored from now on (the authorized token is newer). Remove it."
        );
    }
    Ok(())
}
