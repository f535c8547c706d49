//! OAuth clients, rotating refresh tokens, access tokens, subscription keys
//! and the per-operation scope rules (`security` entries of
//! `docs/nmbrs-openapi.yaml`; scopes listed in `components.securitySchemes`).
//!
//! Long because the identity service (authorize, token, rotation) and the gateway checks (key, token,
//! scope) are one state machine (the tests are in `auth_tests.rs`).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Sandbox;
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
/// Scope to manage employment data (employments, contracts); implies [`SCOPE_EMPLOYMENT_READ`].
pub const SCOPE_EMPLOYMENT: &str = "employee.employment";
/// Scope to read employment data only.
pub const SCOPE_EMPLOYMENT_READ: &str = "employee.employment.read";
/// Scope to manage the organisation structure (functions, departments, managers);
/// implies [`SCOPE_ORGSTRUCTURE_READ`].
pub const SCOPE_ORGSTRUCTURE: &str = "employee.orgstructure";
/// Scope to read the organisation structure only.
pub const SCOPE_ORGSTRUCTURE_READ: &str = "employee.orgstructure.read";
/// Asked for at `/connect/authorize`, it makes the code redeemable for a refresh token too
/// (docs/nmbrs-api.md); always grantable.
pub const SCOPE_OFFLINE_ACCESS: &str = "offline_access";
/// Everything a sandbox sync client may be granted: read companies and
/// debtors, read and write employee information, employment data and the
/// organisation structure, refresh tokens.
pub const ALL_SCOPES: [&str; 9] = [
    SCOPE_COMPANY_READ,
    SCOPE_EMPLOYEE_INFO,
    SCOPE_EMPLOYEE_READ,
    SCOPE_EMPLOYMENT,
    SCOPE_EMPLOYMENT_READ,
    SCOPE_ORGSTRUCTURE,
    SCOPE_ORGSTRUCTURE_READ,
    SCOPE_DEBTOR_READ,
    SCOPE_OFFLINE_ACCESS,
];

/// How long an authorization code can be redeemed (RFC 6749 §4.1.2 recommends at most 10 minutes).
pub(crate) const AUTHORIZATION_CODE_TTL: Duration = Duration::from_secs(5 * 60);

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

/// What an unused refresh token stands for.
#[derive(Debug, Clone)]
struct RefreshGrant {
    client_id: String,
    /// The scopes consented at `/connect/authorize` (narrowed to the client's at each use);
    /// `None` for the seed tokens of [`AuthState::add_client`], which stand for all of the client's.
    consent: Option<BTreeSet<String>>,
}

/// An issued, not yet redeemed authorization code (RFC 6749 §4.1.2).
#[derive(Debug)]
struct PendingCode {
    client_id: String,
    redirect_uri: String,
    /// `code_challenge` (method S256, RFC 7636 §4.3).
    challenge: String,
    /// The `scope` asked for.
    scopes: BTreeSet<String>,
    expires_at: Instant,
}

/// Everything the identity service and API gateway know.
#[derive(Debug, Default)]
pub(crate) struct AuthState {
    clients: HashMap<String, Client>,
    /// Unused refresh tokens. A token is removed when used (rotation).
    refresh_tokens: HashMap<String, RefreshGrant>,
    /// Authorization codes not yet redeemed. A code is removed at its first redemption attempt.
    codes: HashMap<String, PendingCode>,
    /// Every authorization code issued, oldest first: for leak tests.
    issued_codes: Vec<String>,
    /// Every `code_verifier` presented at the token endpoint, oldest first: for leak tests.
    received_verifiers: Vec<String>,
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

/// Why `/connect/authorize` did not issue a code (RFC 6749 §4.1.2.1).
#[derive(Debug, PartialEq)]
pub(crate) enum AuthorizeRejection {
    /// The client or redirect URI is missing or invalid: the server must not redirect, it answers
    /// the browser itself (400).
    BadRequest(&'static str),
    /// Any other problem, reported to the client at its redirect URI: `Location` with `error=`.
    Redirect(String),
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
    const EMPLOYMENT_READ: &[&str] = &[SCOPE_EMPLOYMENT, SCOPE_EMPLOYMENT_READ];
    const EMPLOYMENT_WRITE: &[&str] = &[SCOPE_EMPLOYMENT];
    const ORG_READ: &[&str] = &[SCOPE_ORGSTRUCTURE, SCOPE_ORGSTRUCTURE_READ];
    const ORG_WRITE: &[&str] = &[SCOPE_ORGSTRUCTURE];
    match (method.as_str(), route) {
        ("GET", "/companies" | "/debtors" | "/debtors/{debtorId}/companies") => COMPANY,
        // Sic: the employees' function, department and manager histories are
        // `employee.info` reads in the description, the debtor's lists `employee.orgstructure`.
        (
            "GET",
            "/companies/{companyId}/employees"
            | "/companies/{companyId}/employees/personalinfo"
            | "/companies/{companyId}/employees/functions"
            | "/companies/{companyId}/employees/departments"
            | "/companies/{companyId}/employees/managers"
            | "/companies/{companyId}/employees/addresses"
            | "/companies/{companyId}/employees/privateInfos"
            | "/employees/{employeeId}",
        ) => EMPLOYEE_READ,
        ("POST", "/companies/{companyId}/employees" | "/employees/{employeeId}/address")
        | (
            "PUT",
            "/employees/{employeeId}/personalInfo" | "/employees/{employeeId}/socialsecuritynumber",
        ) => EMPLOYEE_WRITE,
        (
            "GET",
            "/companies/{companyId}/employees/employments"
            | "/companies/{companyId}/employees/contracts"
            | "/debtors/endcontractreasons/{Year}",
        ) => EMPLOYMENT_READ,
        (
            "POST" | "PUT",
            "/employees/{employeeId}/employment" | "/employees/{employeeId}/contract",
        )
        | (
            "DELETE",
            "/employees/{employeeId}/employments/{employmentId}/endOfServiceDate"
            | "/employees/{employeeId}/contracts/{contractId}",
        ) => EMPLOYMENT_WRITE,
        (
            "GET",
            "/debtors/{debtorId}/functions"
            | "/debtors/{debtorId}/departments"
            | "/debtors/{debtorId}/managers",
        ) => ORG_READ,
        (
            "PUT",
            "/employees/{employeeId}/function"
            | "/employees/{employeeId}/department"
            | "/employees/{employeeId}/manager",
        ) => ORG_WRITE,
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
        self.new_refresh_token(client_id, None)
    }

    fn new_refresh_token(&mut self, client_id: &str, consent: Option<BTreeSet<String>>) -> String {
        let token = random_token();
        self.refresh_tokens.insert(
            token.clone(),
            RefreshGrant {
                client_id: client_id.to_string(),
                consent,
            },
        );
        self.issued_refresh.push(token.clone());
        token
    }

    /// Every authorization code issued so far, oldest first (for leak tests).
    pub(crate) fn issued_codes(&self) -> Vec<String> {
        self.issued_codes.clone()
    }

    /// Every `code_verifier` presented so far, oldest first (for leak tests).
    pub(crate) fn received_verifiers(&self) -> Vec<String> {
        self.received_verifiers.clone()
    }

    /// `GET /connect/authorize` (RFC 6749 §4.1.1, RFC 7636 §4.3) with consent given at once (the
    /// sandbox has no login page). Returns the `Location` to redirect to:
    /// `{redirect_uri}?code=…&state=…`.
    ///
    /// Checks: `client_id` known and `redirect_uri` an absolute http(s) URL without fragment (else
    /// 400, no redirect); every parameter at most once, `response_type=code`, a `scope`, and PKCE
    /// with `code_challenge_method=S256` and a well-formed challenge (else a redirect with `error=`).
    /// Redirect URIs are not registered per client: any absolute one is accepted.
    pub(crate) fn authorization_request(
        &mut self,
        query: &[(String, String)],
    ) -> Result<String, AuthorizeRejection> {
        let one = |name: &str| -> Result<Option<&str>, ()> {
            let mut values = query
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_str());
            let first = values.next();
            match values.next() {
                Some(_) => Err(()),
                None => Ok(first),
            }
        };
        use AuthorizeRejection::BadRequest;
        let client_id = one("client_id")
            .map_err(|_| BadRequest("client_id is given more than once"))?
            .ok_or(BadRequest("client_id is missing"))?;
        let client = self
            .clients
            .get(client_id)
            .ok_or(BadRequest("unknown client_id"))?;
        let redirect_uri = one("redirect_uri")
            .map_err(|_| BadRequest("redirect_uri is given more than once"))?
            .ok_or(BadRequest("redirect_uri is missing"))?;
        let redirect = match Url::parse(redirect_uri) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.fragment().is_none() => u,
            _ => {
                return Err(BadRequest(
                    "redirect_uri must be an absolute http(s) URL without fragment",
                ));
            }
        };
        // From here on, errors go back to the client at its redirect URI.
        let state = one("state").ok().flatten();
        let fail = |error: &str, description: &str| {
            let mut to = redirect.clone();
            {
                let mut q = to.query_pairs_mut();
                q.append_pair("error", error)
                    .append_pair("error_description", description);
                if let Some(state) = state {
                    q.append_pair("state", state);
                }
            }
            AuthorizeRejection::Redirect(to.to_string())
        };
        for name in [
            "response_type",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
        ] {
            if one(name).is_err() {
                return Err(fail(
                    "invalid_request",
                    "a parameter is given more than once",
                ));
            }
        }
        match one("response_type").ok().flatten() {
            Some("code") => {}
            None => return Err(fail("invalid_request", "response_type is missing")),
            Some(_) => {
                return Err(fail(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                ));
            }
        }
        let Some(challenge) = one("code_challenge").ok().flatten() else {
            return Err(fail("invalid_request", "code_challenge is required (PKCE)"));
        };
        if one("code_challenge_method").ok().flatten() != Some("S256") {
            return Err(fail(
                "invalid_request",
                "code_challenge_method must be S256",
            ));
        }
        if challenge.len() != 43 || !challenge.chars().all(is_base64url) {
            return Err(fail(
                "invalid_request",
                "code_challenge must be BASE64URL(SHA256(code_verifier))",
            ));
        }
        let scopes: BTreeSet<String> = one("scope")
            .ok()
            .flatten()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if grantable(&scopes, &client.scopes).is_empty() {
            return Err(fail(
                "invalid_scope",
                "none of the requested scopes is allowed for this client",
            ));
        }
        let code = random_token();
        self.issued_codes.push(code.clone());
        self.codes.insert(
            code.clone(),
            PendingCode {
                client_id: client_id.to_string(),
                redirect_uri: redirect_uri.to_string(),
                challenge: challenge.to_string(),
                scopes,
                expires_at: Instant::now() + AUTHORIZATION_CODE_TTL,
            },
        );
        let mut to = redirect;
        {
            let mut q = to.query_pairs_mut();
            q.append_pair("code", &code);
            if let Some(state) = state {
                q.append_pair("state", state);
            }
        }
        Ok(to.to_string())
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
        let client_scopes = client.scopes.clone();
        let consent = match form.get("grant_type").map(String::as_str) {
            None => return Err(TokenError::InvalidRequest("grant_type is missing")),
            Some("refresh_token") => self.redeem_refresh_token(&client_id, form)?,
            Some("authorization_code") => Some(self.redeem_code(&client_id, form)?),
            Some(_) => return Err(TokenError::UnsupportedGrantType),
        };
        // Granted: the consented scopes the client (still) has, offline_access always; a seed
        // token stands for all of the client's scopes.
        let scopes = match &consent {
            Some(asked) => grantable(asked, &client_scopes),
            None => client_scopes,
        };
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
        // Only a consent that included offline_access yields a refresh token (docs/nmbrs-api.md);
        // seed tokens (no recorded consent) stand for a consent that did.
        let refresh_token = match &consent {
            Some(asked) if !asked.contains(SCOPE_OFFLINE_ACCESS) => None,
            _ => Some(self.new_refresh_token(&client_id, consent.clone())),
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: ttl.as_secs(),
            refresh_token,
            scope: scopes.into_iter().collect::<Vec<_>>().join(" "),
        })
    }

    /// `grant_type=refresh_token`: consumes the presented token (rotation). Returns the consent
    /// the token carries.
    fn redeem_refresh_token(
        &mut self,
        client_id: &str,
        form: &HashMap<String, String>,
    ) -> Result<Option<BTreeSet<String>>, TokenError> {
        let presented = form
            .get("refresh_token")
            .ok_or(TokenError::InvalidRequest("refresh_token is missing"))?;
        // Rotation: the presented token is consumed only if it belongs to this client; a foreign
        // token stays untouched.
        match self.refresh_tokens.get(presented) {
            Some(grant) if grant.client_id == client_id => {}
            _ => return Err(TokenError::InvalidGrant),
        }
        let grant = self
            .refresh_tokens
            .remove(presented)
            .ok_or(TokenError::InvalidGrant)?;
        Ok(grant.consent)
    }

    /// `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6): the code is consumed at
    /// the first attempt, whatever its outcome; it must be unexpired, issued to this client for
    /// this `redirect_uri`, and `BASE64URL(SHA256(code_verifier))` must equal its challenge.
    /// Returns the scopes asked for (the consent).
    fn redeem_code(
        &mut self,
        client_id: &str,
        form: &HashMap<String, String>,
    ) -> Result<BTreeSet<String>, TokenError> {
        let code = form
            .get("code")
            .ok_or(TokenError::InvalidRequest("code is missing"))?;
        let redirect_uri = form
            .get("redirect_uri")
            .ok_or(TokenError::InvalidRequest("redirect_uri is missing"))?;
        let verifier = form
            .get("code_verifier")
            .ok_or(TokenError::InvalidRequest("code_verifier is missing"))?;
        self.received_verifiers.push(verifier.clone());
        let pending = self.codes.remove(code).ok_or(TokenError::InvalidGrant)?;
        let verifier_ok = (43..=128).contains(&verifier.len())
            && verifier
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
            && pkce_s256(verifier) == pending.challenge;
        if pending.expires_at <= Instant::now()
            || pending.client_id != client_id
            || pending.redirect_uri != *redirect_uri
            || !verifier_ok
        {
            return Err(TokenError::InvalidGrant);
        }
        Ok(pending.scopes)
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

/// The scopes of `asked` that may be granted: the client's own, and `offline_access`.
fn grantable(asked: &BTreeSet<String>, client_scopes: &BTreeSet<String>) -> BTreeSet<String> {
    asked
        .iter()
        .filter(|s| *s == SCOPE_OFFLINE_ACCESS || client_scopes.contains(*s))
        .cloned()
        .collect()
}

/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`, RFC 7636 §4.2 (computed here independently
/// of the client's code, so a bug there cannot hide).
fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn is_base64url(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// `GET /connect/authorize`: see [`AuthState::authorization_request`]. Answers `302 Found` to the redirect
/// URI (with the code, or with `error=`), or 400 when there is no trustworthy redirect URI.
pub(crate) async fn authorize_endpoint(
    State(sb): State<Sandbox>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let result = sb.inner.auth().authorization_request(&query);
    let mut resp = match result {
        Ok(location) | Err(AuthorizeRejection::Redirect(location)) => {
            match HeaderValue::from_str(&location) {
                Ok(value) => {
                    let mut r = StatusCode::FOUND.into_response();
                    r.headers_mut().insert(header::LOCATION, value);
                    r
                }
                Err(_) => (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": "invalid_request", "error_description": "redirect_uri cannot be sent in a Location header"})),
                )
                    .into_response(),
            }
        }
        Err(AuthorizeRejection::BadRequest(description)) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_request", "error_description": description})),
        )
            .into_response(),
    };
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
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
    // RFC 6749 §2.3.1: both were form-urlencoded before base64.
    let form_decode = |s: &str| -> String {
        form_urlencoded::parse(s.as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_default()
    };
    Some((form_decode(id), form_decode(secret)))
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
#[path = "auth_tests.rs"]
mod tests;
