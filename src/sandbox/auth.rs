//! OAuth clients, rotating refresh tokens, access tokens, subscription keys
//! and the per-route scope rules.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;

use super::model::TokenResponse;

/// Scope to list companies.
pub const SCOPE_COMPANY_READ: &str = "company.info.read";
/// Scope to create employees and read/update personal info.
pub const SCOPE_EMPLOYEE_INFO: &str = "employee.info";
/// Scope to read employees and personal info only.
pub const SCOPE_EMPLOYEE_READ: &str = "employee.info.read";
/// The scopes the sandbox knows.
pub const ALL_SCOPES: [&str; 3] = [SCOPE_COMPANY_READ, SCOPE_EMPLOYEE_INFO, SCOPE_EMPLOYEE_READ];

/// Messages of Azure API Management, which sits in front of the Nmbrs API and
/// answers before the API itself sees the request.
const MSG_MISSING_KEY: &str = "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.";
const MSG_INVALID_KEY: &str = "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.";
const MSG_INVALID_TOKEN: &str = "Access denied due to invalid bearer token.";

#[derive(Debug)]
struct Client {
    secret: String,
    scopes: BTreeSet<String>,
}

#[derive(Debug)]
struct AccessToken {
    scopes: BTreeSet<String>,
    expires_at: Instant,
}

/// Everything the identity service and API gateway know.
#[derive(Debug, Default)]
pub(crate) struct AuthState {
    clients: HashMap<String, Client>,
    /// Unused refresh tokens → client id. A token is removed when used (rotation).
    refresh_tokens: HashMap<String, String>,
    access_tokens: HashMap<String, AccessToken>,
    subscription_keys: HashSet<String>,
    /// Every access token ever issued, oldest first (expired ones are dropped from
    /// `access_tokens`, not from here): for leak tests.
    issued_access: Vec<String>,
    /// Every refresh token ever issued (the seed ones included), oldest first: for leak tests.
    issued_refresh: Vec<String>,
}

/// Why a token request failed (RFC 6749 §5.2 error codes).
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum TokenError {
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    #[error("invalid_client")]
    InvalidClient,
    #[error("invalid_grant")]
    InvalidGrant,
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
}

impl TokenError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            TokenError::InvalidClient => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub(crate) fn body(&self) -> Value {
        match self {
            TokenError::InvalidRequest(d) => {
                json!({"error": "invalid_request", "error_description": d})
            }
            TokenError::InvalidClient => json!({"error": "invalid_client"}),
            TokenError::InvalidGrant => json!({"error": "invalid_grant"}),
            TokenError::UnsupportedGrantType => json!({"error": "unsupported_grant_type"}),
        }
    }
}

/// Why an API call was refused before reaching business logic.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum ApiAuthError {
    #[error("{MSG_MISSING_KEY}")]
    MissingKey,
    #[error("{MSG_INVALID_KEY}")]
    InvalidKey,
    #[error("{MSG_INVALID_TOKEN}")]
    InvalidToken,
    #[error("Missing scope: {0}")]
    MissingScope(&'static str),
}

impl ApiAuthError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiAuthError::MissingScope(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    pub(crate) fn body(&self) -> Value {
        json!({"statusCode": self.status().as_u16(), "message": self.to_string()})
    }
}

/// The scopes that allow a call: any one of them is enough; the first is the
/// one named in a 403.
pub(crate) fn required_scopes(method: &Method, route: &str) -> &'static [&'static str] {
    if method == Method::GET && route == "/companies" {
        &[SCOPE_COMPANY_READ]
    } else if method == Method::GET {
        &[SCOPE_EMPLOYEE_READ, SCOPE_EMPLOYEE_INFO]
    } else {
        &[SCOPE_EMPLOYEE_INFO]
    }
}

impl AuthState {
    pub(crate) fn add_client(&mut self, client_id: &str, secret: &str, scopes: &[&str]) -> String {
        self.clients.insert(
            client_id.to_string(),
            Client {
                secret: secret.to_string(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
            },
        );
        self.new_refresh_token(client_id)
    }

    fn new_refresh_token(&mut self, client_id: &str) -> String {
        let token = random_token();
        self.refresh_tokens
            .insert(token.clone(), client_id.to_string());
        self.issued_refresh.push(token.clone());
        token
    }

    /// Every access token issued so far, oldest first (for leak tests).
    pub(crate) fn issued_access_tokens(&self) -> Vec<String> {
        self.issued_access.clone()
    }

    /// Every refresh token issued so far, the seed ones included, oldest first (for leak tests).
    pub(crate) fn issued_refresh_tokens(&self) -> Vec<String> {
        self.issued_refresh.clone()
    }

    pub(crate) fn add_subscription_key(&mut self, key: &str) {
        self.subscription_keys.insert(key.to_string());
    }

    pub(crate) fn revoke_scope(&mut self, client_id: &str, scope: &str) {
        if let Some(c) = self.clients.get_mut(client_id) {
            c.scopes.remove(scope);
        }
    }

    /// Handles a token request. `form` is the decoded form body; client
    /// credentials come from HTTP Basic (preferred) or the form.
    pub(crate) fn token(
        &mut self,
        headers: &HeaderMap,
        form: &HashMap<String, String>,
        ttl: Duration,
    ) -> Result<TokenResponse, TokenError> {
        let (client_id, secret) = basic_credentials(headers)
            .or_else(|| {
                Some((
                    form.get("client_id")?.clone(),
                    form.get("client_secret")?.clone(),
                ))
            })
            .ok_or(TokenError::InvalidClient)?;
        let client = self
            .clients
            .get(&client_id)
            .ok_or(TokenError::InvalidClient)?;
        if client.secret != secret {
            return Err(TokenError::InvalidClient);
        }
        let scopes = client.scopes.clone();
        match form.get("grant_type").map(String::as_str) {
            None => return Err(TokenError::InvalidRequest("grant_type is missing")),
            Some("refresh_token") => {}
            Some(_) => return Err(TokenError::UnsupportedGrantType),
        }
        let presented = form
            .get("refresh_token")
            .ok_or(TokenError::InvalidRequest("refresh_token is missing"))?;
        // Rotation: the presented token is consumed whether or not it belongs to
        // this client only if it does; a foreign token stays untouched.
        match self.refresh_tokens.get(presented) {
            Some(owner) if *owner == client_id => {
                self.refresh_tokens.remove(presented);
            }
            _ => return Err(TokenError::InvalidGrant),
        }
        let now = Instant::now();
        self.access_tokens.retain(|_, t| t.expires_at > now);
        let access_token = random_token();
        self.issued_access.push(access_token.clone());
        self.access_tokens.insert(
            access_token.clone(),
            AccessToken {
                scopes: scopes.clone(),
                expires_at: now + ttl,
            },
        );
        let refresh_token = self.new_refresh_token(&client_id);
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: ttl.as_secs(),
            refresh_token,
            scope: scopes.into_iter().collect::<Vec<_>>().join(" "),
        })
    }

    /// Gateway and token checks for an API call, in the order Azure API
    /// Management applies them: subscription key, bearer token, scope.
    pub(crate) fn authorize(
        &self,
        headers: &HeaderMap,
        required: &[&'static str],
    ) -> Result<(), ApiAuthError> {
        let key = headers
            .get("x-subscription-key")
            .ok_or(ApiAuthError::MissingKey)?;
        let key = key.to_str().map_err(|_| ApiAuthError::InvalidKey)?;
        if !self.subscription_keys.contains(key) {
            return Err(ApiAuthError::InvalidKey);
        }
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .ok_or(ApiAuthError::InvalidToken)?;
        let token = self
            .access_tokens
            .get(token)
            .ok_or(ApiAuthError::InvalidToken)?;
        if token.expires_at <= Instant::now() {
            return Err(ApiAuthError::InvalidToken);
        }
        if required.iter().any(|s| token.scopes.contains(*s)) {
            Ok(())
        } else {
            Err(ApiAuthError::MissingScope(
                required.first().copied().unwrap_or(""),
            ))
        }
    }
}

fn random_token() -> String {
    // Two v4 UUIDs: 244 random bits, opaque like real tokens.
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// `Authorization: Basic base64(id:secret)`, if present and well-formed.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// Standard base64 with optional padding (small enough not to need a crate).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in bytes {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn base64_decodes() {
        assert_eq!(
            base64_decode("aWQ6c2VjcmV0").as_deref(),
            Some(&b"id:secret"[..])
        );
        assert_eq!(base64_decode("YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode("*"), None);
    }

    #[test]
    fn refresh_tokens_rotate_and_basic_auth_works() {
        let mut a = AuthState::default();
        let rt = a.add_client("id", "secret", &ALL_SCOPES);
        let mut basic = HeaderMap::new();
        basic.insert(
            header::AUTHORIZATION,
            "Basic aWQ6c2VjcmV0".parse().expect("header"),
        );
        let f = form(&[("grant_type", "refresh_token"), ("refresh_token", &rt)]);
        let ok = a
            .token(&basic, &f, Duration::from_secs(60))
            .expect("first use");
        assert_eq!(
            a.token(&basic, &f, Duration::from_secs(60)).err(),
            Some(TokenError::InvalidGrant)
        );
        let f2 = form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &ok.refresh_token),
            ("client_id", "id"),
            ("client_secret", "secret"),
        ]);
        assert!(
            a.token(&HeaderMap::new(), &f2, Duration::from_secs(60))
                .is_ok()
        );
    }

    #[test]
    fn client_and_grant_errors() {
        let mut a = AuthState::default();
        let rt = a.add_client("id", "secret", &ALL_SCOPES);
        let bad = form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", "id"),
            ("client_secret", "x"),
        ]);
        assert_eq!(
            a.token(&HeaderMap::new(), &bad, Duration::ZERO).err(),
            Some(TokenError::InvalidClient)
        );
        let cc = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "id"),
            ("client_secret", "secret"),
        ]);
        assert_eq!(
            a.token(&HeaderMap::new(), &cc, Duration::ZERO).err(),
            Some(TokenError::UnsupportedGrantType)
        );
    }
}
