//! OAuth clients, rotating refresh tokens, access tokens, subscription keys
//! and the per-operation scope rules (`security` entries of
//! `docs/nmbrs-openapi.yaml`; scopes listed in `components.securitySchemes`).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;

use super::model::TokenResponse;

/// Scope to read companies and debtors (`company.info` also allows it).
pub const SCOPE_COMPANY_READ: &str = "company.info.read";
/// Scope to manage companies; implies [`SCOPE_COMPANY_READ`].
pub const SCOPE_COMPANY_INFO: &str = "company.info";
/// Scope to create employees and update personal info; implies [`SCOPE_EMPLOYEE_READ`].
pub const SCOPE_EMPLOYEE_INFO: &str = "employee.info";
/// Scope to read employees and personal info only.
pub const SCOPE_EMPLOYEE_READ: &str = "employee.info.read";
/// Scope to read debtor information (no sandbox operation needs it: the
/// description protects `GET /api/debtors` with the company scopes).
pub const SCOPE_DEBTOR_READ: &str = "debtor.info.read";
/// Asked for so that a refresh token is issued.
pub const SCOPE_OFFLINE_ACCESS: &str = "offline_access";
/// Everything a sandbox sync client may be granted: read companies and
/// debtors, read and write employee information, refresh tokens.
pub const ALL_SCOPES: [&str; 5] = [
    SCOPE_COMPANY_READ,
    SCOPE_EMPLOYEE_INFO,
    SCOPE_EMPLOYEE_READ,
    SCOPE_DEBTOR_READ,
    SCOPE_OFFLINE_ACCESS,
];

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

impl AccessToken {
    /// A write scope implies its `.read` variant.
    fn allows(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
            || scope
                .strip_suffix(".read")
                .is_some_and(|write| self.scopes.contains(write))
    }
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

/// Why an API call was refused before reaching business logic
/// (`components.responses` 401-error and 403-error).
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum ApiAuthError {
    /// 403 40304 Invalid_Subscription: no `X-Subscription-Key` header.
    #[error(
        "There is no valid subscription for this subscription key: the X-Subscription-Key header is missing."
    )]
    MissingKey,
    /// 403 40304 Invalid_Subscription: an unknown key.
    #[error("There is no valid subscription for this subscription key.")]
    InvalidKey,
    /// 401 40101 Missing_Token.
    #[error("Token is missing on the authentication")]
    MissingToken,
    /// 401 40102 Invalid_Token: unknown or expired.
    #[error("Token is invalid.")]
    InvalidToken,
    /// 403 40303 Unauthorized_AccessData: the token lacks every scope that allows the operation.
    #[error("Missing scope: the access token needs {} for this operation.", .0.join(" or "))]
    MissingScope(&'static [&'static str]),
}

/// The scopes that allow an operation, from its `security` entry in
/// `docs/nmbrs-openapi.yaml`: any one of them is enough (and a write scope
/// implies its `.read`). `route` is the template without the `/api` prefix.
pub(crate) fn required_scopes(method: &Method, route: &str) -> &'static [&'static str] {
    const COMPANY: &[&str] = &[SCOPE_COMPANY_INFO, SCOPE_COMPANY_READ];
    const EMPLOYEE_READ: &[&str] = &[SCOPE_EMPLOYEE_INFO, SCOPE_EMPLOYEE_READ];
    const EMPLOYEE_WRITE: &[&str] = &[SCOPE_EMPLOYEE_INFO];
    match (method.as_str(), route) {
        ("GET", "/companies" | "/debtors" | "/debtors/{debtorId}/companies") => COMPANY,
        (
            "GET",
            "/companies/{companyId}/employees"
            | "/companies/{companyId}/employees/personalinfo"
            | "/employees/{employeeId}",
        ) => EMPLOYEE_READ,
        ("POST", "/companies/{companyId}/employees")
        | ("PUT", "/employees/{employeeId}/personalInfo") => EMPLOYEE_WRITE,
        // Unknown operations never get here (they are 404 before any check);
        // refuse rather than allow if one does.
        _ => &[SCOPE_COMPANY_INFO],
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
        required: &'static [&'static str],
    ) -> Result<(), ApiAuthError> {
        let key = headers
            .get("x-subscription-key")
            .ok_or(ApiAuthError::MissingKey)?;
        let key = key.to_str().map_err(|_| ApiAuthError::InvalidKey)?;
        if !self.subscription_keys.contains(key) {
            return Err(ApiAuthError::InvalidKey);
        }
        let auth = headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiAuthError::MissingToken)?;
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or(ApiAuthError::MissingToken)?;
        let token = self
            .access_tokens
            .get(token)
            .ok_or(ApiAuthError::InvalidToken)?;
        if token.expires_at <= Instant::now() {
            return Err(ApiAuthError::InvalidToken);
        }
        if required.iter().any(|s| token.allows(s)) {
            Ok(())
        } else {
            Err(ApiAuthError::MissingScope(required))
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
