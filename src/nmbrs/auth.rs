//! OAuth 2.0 access tokens from a rotating refresh token (`docs/nmbrs-api.md`, "Base, headers, auth").
//!
//! Refresh tokens are good once and each answer carries the next, so (a) only one refresh runs at a
//! time (a mutex), and (b) the new refresh token is written to the state database *before* the access
//! token is handed out: a crash can then lose at most an access token, never the chain.
//!
//! Long because the token endpoint, the rotation rules and the stored-vs-configured choice belong
//! together (the tests are in `auth_tests.rs`).

use crate::config::RetrySettings;
use crate::db::format_time;
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::Mutex;

/// Refresh this long before the access token's stated expiry, so no call carries an expiring token.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// The token endpoint refused or could not be reached, or there is no refresh token to present.
/// Messages name the credential and what to do.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "the token endpoint refused the client credentials (invalid_client): check `nmbrs.client_id` and `nmbrs.client_secret`"
    )]
    InvalidClient,
    #[error(
        "the token endpoint refused the refresh token (invalid_grant): it expired, was revoked or was already used; run `nmbrs-sync authorize` to obtain a new one"
    )]
    InvalidGrant,
    #[error(
        "no refresh token: `nmbrs.refresh_token` is not set and the state database `{state_url}` holds none; run `nmbrs-sync authorize` to obtain one"
    )]
    NotAuthorized { state_url: String },
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

/// A token answer (RFC 6749 §5.1).
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

/// An error answer (RFC 6749 §5.2).
#[derive(Deserialize)]
struct TokenErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// What the token endpoint issued (RFC 6749 §5.1); the tokens are kept secret (`Debug` redacts them).
#[derive(Debug)]
pub(crate) struct Grant {
    pub(crate) access_token: SecretString,
    /// Present only when the consent included `offline_access` (docs/nmbrs-api.md).
    pub(crate) refresh_token: Option<SecretString>,
    /// Access token lifetime, seconds.
    pub(crate) expires_in: Option<u64>,
    /// Granted scopes, space separated, if the server said.
    pub(crate) scope: Option<String>,
}

/// Why the token endpoint issued nothing.
#[derive(Debug)]
pub(crate) enum EndpointFailure {
    /// An answer that retrying will not change: an OAuth error (RFC 6749 §5.2) or another 4xx.
    Refused {
        status: u16,
        error: String,
        description: Option<String>,
    },
    /// Transport errors, 429 or 5xx until the retry budget ran out.
    Unreachable { attempts: u32, message: String },
    /// A 2xx whose body is not a token answer.
    Unreadable { status: u16, message: String },
}

/// The token endpoint and this client's credentials, shared by the `refresh_token` grant
/// ([`TokenManager`]) and the `authorization_code` grant (`nmbrs-sync authorize`).
///
/// Client authentication (docs/nmbrs-api.md, "Base, headers, auth"; RFC 6749 §2.3.1): form fields
/// `client_id`/`client_secret` first; a server that refuses those with 401 (it did not look at the
/// grant, so no refresh token or code was spent) is asked once more with HTTP Basic.
#[derive(Clone)]
pub(crate) struct TokenEndpoint {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    pub(crate) retry: RetrySettings,
}

impl std::fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl TokenEndpoint {
    /// POSTs the grant's form fields (`grant_type` and the rest) with the client's credentials;
    /// 429, 5xx and transport errors are retried within `retry.max_attempts` with exponential backoff.
    pub(crate) async fn request(&self, grant: &[(&str, &str)]) -> Result<Grant, EndpointFailure> {
        let mut with_credentials = grant.to_vec();
        with_credentials.push(("client_id", self.client_id.as_str()));
        with_credentials.push(("client_secret", self.client_secret.expose_secret()));
        let mut delay = Duration::from_millis(self.retry.initial_interval_ms.max(1));
        let mut attempt = 0;
        let mut basic = false;
        let response = loop {
            attempt += 1;
            let request = self.http.post(&self.url);
            let request = if basic {
                // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
                request
                    .basic_auth(
                        form_encode(&self.client_id),
                        Some(form_encode(self.client_secret.expose_secret())),
                    )
                    .form(grant)
            } else {
                request.form(&with_credentials)
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
        let response = response.map_err(|e| EndpointFailure::Unreachable {
            attempts: attempt,
            message: without_url(&e),
        })?;
        let status = response.status();
        if !status.is_success() {
            let body = response.json::<TokenErrorBody>().await.ok();
            let (error, description) = body
                .map(|b| (b.error, b.error_description))
                .unwrap_or_default();
            let oauth_refusal = matches!(error.as_str(), "invalid_client" | "invalid_grant");
            if oauth_refusal || status.as_u16() == 401 {
                metrics::counter!("nmbrs_sync_token_refusals_total").increment(1);
            }
            if !oauth_refusal && (status.is_server_error() || status.as_u16() == 429) {
                return Err(EndpointFailure::Unreachable {
                    attempts: attempt,
                    message: format!("HTTP {status}"),
                });
            }
            return Err(EndpointFailure::Refused {
                status: status.as_u16(),
                error,
                description,
            });
        }
        let body: TokenResponse =
            response
                .json()
                .await
                .map_err(|e| EndpointFailure::Unreadable {
                    status: status.as_u16(),
                    message: without_url(&e),
                })?;
        Ok(Grant {
            access_token: SecretString::from(body.access_token),
            refresh_token: body.refresh_token.map(SecretString::from),
            expires_in: body.expires_in,
            scope: body.scope,
        })
    }
}

/// Where the token a refresh presents came from (see [`choose_refresh_token`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// The stored token: the newest of its chain.
    Stored,
    /// The stored token of an `authorize` chain, although `nmbrs.refresh_token` is set.
    StoredOverConfigured,
    /// `nmbrs.refresh_token`: it begins a new chain.
    Configured,
}

/// The refresh token to present and the chain its successor is saved under.
#[derive(Debug)]
pub(crate) struct Choice {
    pub(crate) token: SecretString,
    /// `oauth_state.seed_fingerprint` for the rotated token: see [`StateDb::save_refresh_token`].
    pub(crate) chain: String,
    pub(crate) source: Source,
}

/// Which refresh token the next refresh presents: the rule between a configured `nmbrs.refresh_token`
/// and the token stored in the state database (`oauth_state`).
///
/// Refresh tokens are single use and rotate (docs/nmbrs-api.md, "Base, headers, auth"; RFC 6749
/// §6), so the stored token is always the newest of its chain and the configured token that began a
/// chain is spent. Each stored token records its chain: the [`fingerprint`] of the configured token
/// that began it, or [`AUTHORIZED_CHAIN`] when `nmbrs-sync authorize` obtained it.
///
/// 1. The stored chain was begun by `authorize` → the stored token, **even when `nmbrs.refresh_token`
///    is set**: a configured token is then older than the authorization (it was configured before,
///    or it is the spent seed of an earlier chain). Presenting it would fail with `invalid_grant`
///    or, if it were still unused, silently go back to an older consent. The caller warns so the
///    operator removes the key; replacing an authorized token is done by running `authorize` again.
/// 2. The stored chain was begun by the configured token (same fingerprint) → the stored token: the
///    chain goes on.
/// 3. The stored chain was begun by another configured token → the configured one: a person set a
///    new token by hand, and it begins a new chain.
/// 4. Nothing configured → the stored token, whatever began its chain; nothing stored → the
///    configured token; neither → `None` (the caller tells the operator to run `authorize`).
pub(crate) fn choose_refresh_token(
    configured: Option<&SecretString>,
    stored: Option<StoredRefreshToken>,
) -> Option<Choice> {
    let configured = configured.map(|t| (t, fingerprint(t)));
    match (configured, stored) {
        (None, None) => None,
        (None, Some(s)) => Some(Choice {
            token: s.refresh_token,
            chain: s.chain,
            source: Source::Stored,
        }),
        (Some(_), Some(s)) if s.chain == AUTHORIZED_CHAIN => Some(Choice {
            token: s.refresh_token,
            chain: s.chain,
            source: Source::StoredOverConfigured,
        }),
        (Some((_, fp)), Some(s)) if s.chain == fp => Some(Choice {
            token: s.refresh_token,
            chain: s.chain,
            source: Source::Stored,
        }),
        (Some((token, fp)), _) => Some(Choice {
            token: token.clone(),
            chain: fp,
            source: Source::Configured,
        }),
    }
}

struct AccessToken {
    token: SecretString,
    valid_until: Instant,
}

/// `oauth_state.seed_fingerprint` of a chain begun by `nmbrs-sync authorize` rather than by a configured
/// `nmbrs.refresh_token` (whose chains carry a 32-hex-digit digest there, so the two never collide).
pub const AUTHORIZED_CHAIN: &str = "authorize";

/// The refresh token kept in `oauth_state` and the chain it belongs to (see [`AUTHORIZED_CHAIN`]).
#[derive(Debug)]
pub struct StoredRefreshToken {
    pub refresh_token: SecretString,
    /// A [`fingerprint`] of the configured token that began the chain, or
    /// [`AUTHORIZED_CHAIN`].
    pub chain: String,
}

/// The store behind the rotating refresh token failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// Where the newest refresh token is kept between processes — the state database in production
/// (`crate::state`). A trait, so this module does not depend on the state database.
pub trait RefreshTokenStore: Send + Sync + std::fmt::Debug {
    /// The stored token and the chain it belongs to, if any.
    fn load(&self) -> BoxFuture<'_, Result<Option<StoredRefreshToken>, StoreError>>;
    /// Stores a rotated token durably, before it is used; `chain` as in [`StoredRefreshToken`].
    fn save<'a>(
        &'a self,
        refresh_token: &'a str,
        chain: &'a str,
        access_expires_at: Option<&'a str>,
        scopes: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Where the token lives, for messages (e.g. the state database URL).
    fn location(&self) -> String;
    /// Waits for the right to redeem the stored token, across processes sharing the store; the
    /// right lasts as long as the returned guard. Two processes redeeming one single-use token
    /// would lose the chain (an identity server with reuse detection revokes all of it).
    fn lock(&self) -> BoxFuture<'_, Result<Box<dyn std::any::Any + Send>, StoreError>>;
}

/// Hands out access tokens, refreshing (and persisting the rotated refresh token) when needed.
pub struct TokenManager {
    endpoint: TokenEndpoint,
    /// `nmbrs.refresh_token`, if set; see [`choose_refresh_token`] for when it is used.
    configured_refresh_token: Option<SecretString>,
    store: Arc<dyn RefreshTokenStore>,
    current: Mutex<Option<AccessToken>>,
    scopes: std::sync::Mutex<Option<String>>,
    expires_at: std::sync::Mutex<Option<OffsetDateTime>>,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("token_url", &self.endpoint.url)
            .field("client_id", &self.endpoint.client_id)
            .finish_non_exhaustive()
    }
}

/// Digest identifying the configured refresh token without storing it a second time.
pub fn fingerprint(secret: &SecretString) -> String {
    hex::encode(&Sha256::digest(secret.expose_secret().as_bytes())[..16])
}

impl TokenManager {
    /// A manager for `client_id` at `token_url`. `refresh_token` is the configured
    /// `nmbrs.refresh_token`, if any; the state database may hold a newer token, and
    /// `choose_refresh_token` (the rule, in this module) decides which one a refresh presents.
    pub fn new(
        http: reqwest::Client,
        token_url: String,
        client_id: String,
        client_secret: SecretString,
        refresh_token: Option<SecretString>,
        store: Arc<dyn RefreshTokenStore>,
        retry: RetrySettings,
    ) -> TokenManager {
        TokenManager {
            endpoint: TokenEndpoint {
                http,
                url: token_url,
                client_id,
                client_secret,
                retry,
            },
            configured_refresh_token: refresh_token,
            store,
            current: Mutex::new(None),
            scopes: std::sync::Mutex::new(None),
            expires_at: std::sync::Mutex::new(None),
        }
    }

    /// A valid access token, refreshing first if there is none or it is about to expire.
    ///
    /// Errors: [`TokenError`] when the endpoint refuses or stays unreachable, or when there is no
    /// refresh token at all ([`TokenError::NotAuthorized`]).
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
        // One redeemer at a time across processes sharing the state database (docs/nmbrs-api.md:
        // refresh tokens rotate and are good once).
        let _guard = self
            .store
            .lock()
            .await
            .map_err(|e| TokenError::Persist(e.to_string()))?;
        let choice = self.choose().await?;
        let (grant, choice) = match self.redeem(&choice).await {
            Ok(grant) => (grant, choice),
            // Another process may have rotated the token after we read it (a writer outside this
            // lock, e.g. an older version): if the store now holds another one, that one is ours.
            // The same token is not presented twice.
            Err(failure) if is_invalid_grant(&failure) => {
                let newer = self.choose().await?;
                if newer.token.expose_secret() == choice.token.expose_secret() {
                    return Err(self.token_error(failure));
                }
                let grant = self.redeem(&newer).await.map_err(|f| self.token_error(f))?;
                (grant, newer)
            }
            Err(failure) => return Err(self.token_error(failure)),
        };
        let lifetime = Duration::from_secs(grant.expires_in.unwrap_or(3600));
        let expires_at = OffsetDateTime::now_utc() + lifetime;
        // Persist the rotated refresh token before anything uses the new access token.
        let next_refresh = grant.refresh_token.unwrap_or(choice.token);
        self.store
            .save(
                next_refresh.expose_secret(),
                &choice.chain,
                Some(&format_time(expires_at)),
                grant.scope.as_deref(),
            )
            .await
            .map_err(|e| TokenError::Persist(e.to_string()))?;
        if let Ok(mut s) = self.scopes.lock() {
            *s = grant.scope;
        }
        if let Ok(mut e) = self.expires_at.lock() {
            *e = Some(expires_at);
        }
        metrics::counter!("nmbrs_sync_token_refreshes_total").increment(1);
        // The refresh token rotated now: its ~30-day lifetime starts again (docs/nmbrs-api.md).
        metrics::gauge!("nmbrs_sync_token_refreshed_timestamp_seconds")
            .set(OffsetDateTime::now_utc().unix_timestamp() as f64);
        tracing::info!(
            expires_in_secs = lifetime.as_secs(),
            "access token refreshed"
        );
        Ok(AccessToken {
            token: grant.access_token,
            valid_until: Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN).max(lifetime / 2),
        })
    }

    /// The refresh token to present: the stored one or the configured one ([`choose_refresh_token`]).
    async fn choose(&self) -> Result<Choice, TokenError> {
        let stored = self
            .store
            .load()
            .await
            .map_err(|e| TokenError::Persist(e.to_string()))?;
        let choice = choose_refresh_token(self.configured_refresh_token.as_ref(), stored)
            .ok_or_else(|| TokenError::NotAuthorized {
                state_url: self.store.location(),
            })?;
        if choice.source == Source::StoredOverConfigured {
            tracing::warn!(
                "`nmbrs.refresh_token` is ignored: the state database holds a newer token obtained by `nmbrs-sync authorize`; remove the key (run `nmbrs-sync authorize` again to replace the token)"
            );
        }
        Ok(choice)
    }

    /// Presents `choice`'s refresh token at the token endpoint.
    async fn redeem(&self, choice: &Choice) -> Result<Grant, EndpointFailure> {
        self.endpoint
            .request(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", choice.token.expose_secret()),
            ])
            .await
    }

    fn token_error(&self, failure: EndpointFailure) -> TokenError {
        match failure {
            EndpointFailure::Refused {
                status,
                error,
                description,
            } => match error.as_str() {
                "invalid_client" => TokenError::InvalidClient,
                "invalid_grant" => TokenError::InvalidGrant,
                _ if status == 401 => TokenError::InvalidClient,
                _ => TokenError::Refused {
                    status,
                    error: match description {
                        Some(d) => format!("{}: {}", printable(&error), printable(&d)),
                        None => printable(&error),
                    },
                },
            },
            EndpointFailure::Unreachable { attempts, message } => TokenError::Unreachable {
                url: self.endpoint.url.clone(),
                attempts,
                message,
            },
            EndpointFailure::Unreadable { status, message } => TokenError::Refused {
                status,
                error: format!("unreadable token response: {message}"),
            },
        }
    }
}

/// Whether the token endpoint refused the grant itself (`invalid_grant`: used, expired or revoked).
fn is_invalid_grant(failure: &EndpointFailure) -> bool {
    matches!(failure, EndpointFailure::Refused { error, .. } if error == "invalid_grant")
}

/// Text from the identity service, safe for a terminal or a log: control characters (escape
/// sequences) replaced, length capped.
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .take(300)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
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

/// `application/x-www-form-urlencoded` encoding of one value (HTTP Basic client authentication).
fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
