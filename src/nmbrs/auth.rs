//! OAuth 2.0 access tokens from a rotating refresh token (`docs/nmbrs-api.md`, "Calls and headers").
//!
//! Refresh tokens are good once and each answer carries the next, so (a) only one refresh runs at a
//! time (a mutex), and (b) the new refresh token is written to the state database *before* the access
//! token is handed out: a crash can then lose at most an access token, never the chain.

use crate::config::RetrySettings;
use crate::state::{StateDb, format_time};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::Mutex;

/// Refresh this long before the access token's stated expiry, so no call carries an expiring token.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// The token endpoint refused or could not be reached. Messages name the credential and what to do.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "the token endpoint refused the client credentials (invalid_client): check `nmbrs.client_id` and `nmbrs.client_secret`"
    )]
    InvalidClient,
    #[error(
        "the token endpoint refused the refresh token (invalid_grant): it expired, was revoked or was already used; obtain a new one and set `nmbrs.refresh_token`"
    )]
    InvalidGrant,
    #[error("the token endpoint answered HTTP {status} ({error}); check `nmbrs.token_url`")]
    Refused { status: u16, error: String },
    #[error("the token endpoint `{url}` could not be reached after {attempts} attempts: {message}")]
    Unreachable {
        url: String,
        attempts: u32,
        message: String,
    },
    #[error("the new refresh token could not be saved, so it was not used: {0}")]
    Persist(String),
}

impl TokenError {
    /// Whether a person must act (credentials refused) rather than wait (transient).
    pub fn is_refusal(&self) -> bool {
        !matches!(self, TokenError::Unreachable { .. })
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize)]
struct TokenErrorBody {
    #[serde(default)]
    error: String,
}

struct AccessToken {
    token: SecretString,
    valid_until: Instant,
}

/// Hands out access tokens, refreshing (and persisting the rotated refresh token) when needed.
pub struct TokenManager {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    client_secret: SecretString,
    seed_refresh_token: SecretString,
    seed_fingerprint: String,
    state: StateDb,
    retry: RetrySettings,
    current: Mutex<Option<AccessToken>>,
    scopes: std::sync::Mutex<Option<String>>,
    expires_at: std::sync::Mutex<Option<OffsetDateTime>>,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Digest identifying the configured refresh token without storing it a second time.
pub fn fingerprint(secret: &SecretString) -> String {
    hex::encode(&Sha256::digest(secret.expose_secret().as_bytes())[..16])
}

impl TokenManager {
    /// A manager for `client_id` at `token_url`, starting from `refresh_token` unless the state
    /// database holds a newer token of the same chain.
    pub fn new(
        http: reqwest::Client,
        token_url: String,
        client_id: String,
        client_secret: SecretString,
        refresh_token: SecretString,
        state: StateDb,
        retry: RetrySettings,
    ) -> TokenManager {
        let seed_fingerprint = fingerprint(&refresh_token);
        TokenManager {
            http,
            token_url,
            client_id,
            client_secret,
            seed_refresh_token: refresh_token,
            seed_fingerprint,
            state,
            retry,
            current: Mutex::new(None),
            scopes: std::sync::Mutex::new(None),
            expires_at: std::sync::Mutex::new(None),
        }
    }

    /// A valid access token, refreshing first if there is none or it is about to expire.
    ///
    /// Errors: [`TokenError`] when the endpoint refuses or stays unreachable.
    pub async fn access_token(&self) -> Result<SecretString, TokenError> {
        let mut current = self.current.lock().await;
        if let Some(t) = current.as_ref()
            && t.valid_until > Instant::now()
        {
            return Ok(t.token.clone());
        }
        let fresh = self.refresh().await?;
        let token = fresh.token.clone();
        *current = Some(fresh);
        Ok(token)
    }

    /// Drops `used` after the API refused it (401), so the next call refreshes. A token already
    /// replaced by another task is left alone (one refresh per expiry, not one per task).
    pub async fn invalidate(&self, used: &SecretString) {
        let mut current = self.current.lock().await;
        if current
            .as_ref()
            .is_some_and(|t| t.token.expose_secret() == used.expose_secret())
        {
            *current = None;
        }
    }

    /// Scopes granted with the last access token (space separated), if the server said.
    pub fn granted_scopes(&self) -> Option<String> {
        self.scopes.lock().ok().and_then(|s| s.clone())
    }

    /// UTC expiry of the current access token, if known.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.expires_at.lock().ok().and_then(|s| *s)
    }

    async fn refresh(&self) -> Result<AccessToken, TokenError> {
        let refresh_token = match self.state.refresh_token(&self.seed_fingerprint).await {
            Ok(Some(stored)) => SecretString::from(stored),
            Ok(None) => self.seed_refresh_token.clone(),
            Err(e) => return Err(TokenError::Persist(e.to_string())),
        };
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose_secret()),
        ];
        let mut delay = Duration::from_millis(self.retry.initial_interval_ms.max(1));
        let mut attempt = 0;
        // Client credentials go as form fields; a server that refuses those as `invalid_client`
        // (it did not look at the refresh token, so nothing was spent) is asked once more with
        // HTTP Basic, the other form OAuth allows.
        let mut basic = false;
        let response = loop {
            attempt += 1;
            let request = self.http.post(&self.token_url);
            let request = if basic {
                request
                    .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
                    .form(&form[..2])
            } else {
                request.form(&form)
            };
            let result = request.send().await;
            if !basic && result.as_ref().is_ok_and(|r| r.status().as_u16() == 401) {
                basic = true;
                continue;
            }
            let retryable = match &result {
                Ok(r) => r.status().is_server_error() || r.status().as_u16() == 429,
                Err(_) => true,
            };
            if !retryable || attempt >= self.retry.max_attempts {
                break result;
            }
            tracing::warn!(attempt, "token endpoint unavailable, retrying");
            metrics::counter!("nmbrs_sync_token_retries_total").increment(1);
            tokio::time::sleep(delay).await;
            delay = (delay.mul_f32(self.retry.multiplier))
                .min(Duration::from_secs(self.retry.max_interval_secs.max(1)));
        };
        let response = response.map_err(|e| TokenError::Unreachable {
            url: self.token_url.clone(),
            attempts: attempt,
            message: without_url(&e),
        })?;
        let status = response.status();
        if !status.is_success() {
            let error = response
                .json::<TokenErrorBody>()
                .await
                .map(|b| b.error)
                .unwrap_or_default();
            return Err(match error.as_str() {
                "invalid_client" => TokenError::InvalidClient,
                "invalid_grant" => TokenError::InvalidGrant,
                _ if status.as_u16() == 401 => TokenError::InvalidClient,
                _ if status.is_server_error() || status.as_u16() == 429 => {
                    TokenError::Unreachable {
                        url: self.token_url.clone(),
                        attempts: attempt,
                        message: format!("HTTP {status}"),
                    }
                }
                _ => TokenError::Refused {
                    status: status.as_u16(),
                    error,
                },
            });
        }
        let body: TokenResponse = response.json().await.map_err(|e| TokenError::Refused {
            status: status.as_u16(),
            error: format!("unreadable token response: {}", without_url(&e)),
        })?;
        let lifetime = Duration::from_secs(body.expires_in.unwrap_or(3600));
        let expires_at = OffsetDateTime::now_utc() + lifetime;
        // Persist the rotated refresh token before anything uses the new access token.
        let next_refresh = body
            .refresh_token
            .unwrap_or_else(|| refresh_token.expose_secret().to_owned());
        self.state
            .save_refresh_token(
                &next_refresh,
                &self.seed_fingerprint,
                Some(&format_time(expires_at)),
                body.scope.as_deref(),
            )
            .await
            .map_err(|e| TokenError::Persist(e.to_string()))?;
        if let Ok(mut s) = self.scopes.lock() {
            *s = body.scope;
        }
        if let Ok(mut e) = self.expires_at.lock() {
            *e = Some(expires_at);
        }
        metrics::counter!("nmbrs_sync_token_refreshes_total").increment(1);
        tracing::info!(
            expires_in_secs = lifetime.as_secs(),
            "access token refreshed"
        );
        Ok(AccessToken {
            token: SecretString::from(body.access_token),
            valid_until: Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN).max(lifetime / 2),
        })
    }
}

/// A reqwest error's text without the URL (it may carry query parameters; the caller names the endpoint).
pub(crate) fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "response body unreadable"
    } else if e.is_request() {
        "request failed (connection dropped?)"
    } else {
        "transport error"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}
