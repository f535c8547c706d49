//! The first authorization: the OAuth 2.0 authorization-code flow with PKCE, the only flow Nmbrs
//! offers (docs/nmbrs-api.md, "Base, headers, auth"; docs/nmbrs-openapi.yaml,
//! `components.securitySchemes.Bearer`). `nmbrs-sync authorize` (`crate::commands::authorize`) does
//! the talking; this module holds the pieces:
//!
//! 1. [`Pkce::generate`] and [`random_state`]: the code verifier and `state` (RFC 7636 §4.1, RFC 6749
//!    §10.12), from the operating system's CSPRNG.
//! 2. [`authorize_url`]: where the person consents (RFC 6749 §4.1.1, RFC 7636 §4.3).
//! 3. [`parse_answer`]: the address the browser was sent back to, or a bare code (RFC 6749 §4.1.2,
//!    §4.1.2.1).
//! 4. [`exchange`]: the code for tokens at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.5).
//!
//! The code, the verifier and the tokens are [`SecretString`]s: never printed or logged.
//!
//! About a third of this file is its tests (PKCE vectors, redirect parsing).

use super::auth::{EndpointFailure, Grant, TokenEndpoint, printable};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// The scope without which no refresh token is issued (docs/nmbrs-api.md).
pub(crate) const OFFLINE_ACCESS: &str = "offline_access";

/// Random bytes behind a code verifier: 32, which base64url makes the 43 characters RFC 7636 §4.1
/// recommends (256 bits of entropy).
const VERIFIER_BYTES: usize = 32;
/// Random bytes behind `state` (128 bits: unguessable, RFC 6749 §10.12).
const STATE_BYTES: usize = 16;

/// Why the authorization failed. Messages name the configuration key or say what to do next.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    #[error(
        "configuration key `nmbrs.redirect_uri` is not set: register a redirect URI for the API client in Nmbrs and set the same value here (env NMBRS_SYNC__NMBRS__REDIRECT_URI)"
    )]
    MissingRedirectUri,
    #[error(
        "configuration key `nmbrs.client_id` is not set: give the API client's id (env NMBRS_SYNC__NMBRS__CLIENT_ID)"
    )]
    MissingClientId,
    #[error("configuration key `nmbrs.authorize_url`: `{0}` is not an absolute URL")]
    BadAuthorizeUrl(String),
    #[error("the operating system's random number generator failed: {0}")]
    Random(getrandom::Error),
    #[error(
        "no answer on standard input: paste the address the browser was sent to (or the code) and press Enter"
    )]
    NoAnswer,
    #[error(
        "the pasted address is not the answer to this authorization: its `state` differs from this run's; paste the address from this run's link (an old browser tab, or a link someone else made?)"
    )]
    StateMismatch,
    #[error(
        "the pasted address carries a code but no `state`, so it cannot be checked against this run; paste the full address the browser was sent to"
    )]
    StateMissing,
    #[error(
        "the identity service refused the authorization: {error}{description}; run `nmbrs-sync authorize` again and approve the requested access (access_denied means consent was declined)"
    )]
    Denied { error: String, description: String },
    #[error(
        "the pasted text holds no code: paste the full address the browser was sent to (it contains `?code=`), or the code alone"
    )]
    NoCode,
    #[error(
        "the token endpoint refused the authorization code (invalid_grant){description}: it expired, was already used, or `nmbrs.redirect_uri` differs from the one in the link; run `nmbrs-sync authorize` again and paste the address within a few minutes"
    )]
    CodeRefused { description: String },
    #[error(
        "the token endpoint refused the client credentials (invalid_client): check `nmbrs.client_id` and `nmbrs.client_secret`"
    )]
    InvalidClient,
    #[error(
        "the token endpoint answered HTTP {status} ({error}{description}); check `nmbrs.token_url`"
    )]
    Refused {
        status: u16,
        error: String,
        description: String,
    },
    #[error("the token endpoint `{url}` could not be reached after {attempts} attempts: {message}")]
    Unreachable {
        url: String,
        attempts: u32,
        message: String,
    },
    #[error(
        "the token endpoint issued no refresh token: the consent lacked `offline_access`; run `nmbrs-sync authorize` again and approve every requested permission (if the consent screen does not offer it, ask the Nmbrs administrator to allow `offline_access` for the API client)"
    )]
    NoRefreshToken,
}

/// A PKCE pair (RFC 7636 §4.1–4.2): the secret verifier, sent only to the token endpoint, and its
/// S256 challenge, sent in the authorization link.
#[derive(Debug)]
pub(crate) struct Pkce {
    pub(crate) verifier: SecretString,
    pub(crate) challenge: String,
}

impl Pkce {
    /// A fresh pair: 32 random bytes from the OS CSPRNG, base64url without padding (43 characters
    /// of the unreserved set, RFC 7636 §4.1), and `BASE64URL(SHA256(verifier))` (§4.2).
    ///
    /// Errors: [`AuthorizeError::Random`] if the OS has no randomness to give.
    pub(crate) fn generate() -> Result<Pkce, AuthorizeError> {
        let verifier = random_base64url(VERIFIER_BYTES)?;
        let challenge = s256_challenge(&verifier);
        Ok(Pkce {
            verifier: SecretString::from(verifier),
            challenge,
        })
    }
}

/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`, RFC 7636 §4.2 (`code_challenge_method=S256`).
pub(crate) fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// An unguessable `state` binding the answer to this run (RFC 6749 §10.12).
///
/// Errors: [`AuthorizeError::Random`].
pub(crate) fn random_state() -> Result<String, AuthorizeError> {
    random_base64url(STATE_BYTES)
}

fn random_base64url(bytes: usize) -> Result<String, AuthorizeError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(AuthorizeError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(&buf))
}

/// The link the person opens (RFC 6749 §4.1.1 with RFC 7636 §4.3): `authorize_url` with
/// `response_type=code`, `client_id`, `redirect_uri`, `scope` (space separated), `state`,
/// `code_challenge` and `code_challenge_method=S256`, form-urlencoded (RFC 6749 Appendix B).
///
/// Errors: [`AuthorizeError::BadAuthorizeUrl`].
pub(crate) fn authorize_url(
    authorize_url: &str,
    client_id: &str,
    redirect_uri: &str,
    scopes: &[&str],
    state: &str,
    challenge: &str,
) -> Result<Url, AuthorizeError> {
    let mut url = Url::parse(authorize_url)
        .map_err(|_| AuthorizeError::BadAuthorizeUrl(authorize_url.to_owned()))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &scopes.join(" "))
        .append_pair("state", state)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(url)
}

/// What the person pasted, once checked.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) code: SecretString,
    /// False for a bare code, which carries no `state` to compare.
    pub(crate) state_checked: bool,
}

/// Reads the one line the person pasted: the full address the browser was sent to
/// (`{redirect_uri}?code=…&state=…`, RFC 6749 §4.1.2, or `?error=…`, §4.1.2.1), just its query
/// part, or a bare code.
///
/// Errors: [`AuthorizeError::StateMismatch`] / [`AuthorizeError::StateMissing`] when the `state`
/// does not prove the answer belongs to this run; [`AuthorizeError::Denied`] when the identity
/// service sent an error; [`AuthorizeError::NoCode`] / [`AuthorizeError::NoAnswer`] otherwise.
pub(crate) fn parse_answer(line: &str, expected_state: &str) -> Result<Answer, AuthorizeError> {
    let text = line
        .trim()
        .trim_matches(|c: char| matches!(c, '"' | '\'' | '<' | '>'))
        .trim();
    if text.is_empty() {
        return Err(AuthorizeError::NoAnswer);
    }
    let query = match Url::parse(text) {
        Ok(url) if url.has_host() || url.query().is_some() => Some(url),
        _ if ["code=", "error=", "state="]
            .iter()
            .any(|k| text.contains(k)) =>
        {
            let query = text.split_once('?').map_or(text, |(_, q)| q);
            let mut url =
                Url::parse("http://answer.invalid/").map_err(|_| AuthorizeError::NoCode)?;
            url.set_query(Some(query));
            Some(url)
        }
        _ => None,
    };
    let Some(url) = query else {
        // A bare code: one token of visible characters.
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(AuthorizeError::NoCode);
        }
        return Ok(Answer {
            code: SecretString::from(text.to_owned()),
            state_checked: false,
        });
    };
    let (mut code, mut state, mut error, mut description) = (None, None, None, None);
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "code" if !value.is_empty() => code = Some(value.into_owned()),
            "state" => state = Some(value.into_owned()),
            "error" if !value.is_empty() => error = Some(value.into_owned()),
            "error_description" => description = Some(value.into_owned()),
            _ => {}
        }
    }
    if let Some(state) = &state
        && state != expected_state
    {
        return Err(AuthorizeError::StateMismatch);
    }
    if let Some(error) = error {
        return Err(AuthorizeError::Denied {
            error: printable(&error),
            description: description
                .map(|d| format!(" ({})", printable(&d)))
                .unwrap_or_default(),
        });
    }
    let code = code.ok_or(AuthorizeError::NoCode)?;
    if state.is_none() {
        return Err(AuthorizeError::StateMissing);
    }
    Ok(Answer {
        code: SecretString::from(code),
        state_checked: true,
    })
}

/// What the exchange yields that is kept: the refresh token (the access token is dropped; the
/// next `sync` refreshes) and the granted scopes.
#[derive(Debug)]
pub(crate) struct Authorized {
    pub(crate) refresh_token: SecretString,
    /// Granted scopes, space separated, if the server said.
    pub(crate) scope: Option<String>,
}

/// Exchanges the code at the token endpoint (RFC 6749 §4.1.3 with RFC 7636 §4.5): `grant_type=
/// authorization_code`, `code`, `redirect_uri` (identical to the link's), `code_verifier`, and the
/// client's credentials as the refresh grant sends them ([`TokenEndpoint`]).
///
/// Errors: [`AuthorizeError::NoRefreshToken`] for an answer without a refresh token (the consent
/// lacked `offline_access`); the endpoint's refusals as their own variants.
pub(crate) async fn exchange(
    endpoint: &TokenEndpoint,
    code: &SecretString,
    redirect_uri: &str,
    verifier: &SecretString,
) -> Result<Authorized, AuthorizeError> {
    let grant = endpoint
        .request(&[
            ("grant_type", "authorization_code"),
            ("code", code.expose_secret()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier.expose_secret()),
        ])
        .await
        .map_err(|failure| endpoint_error(endpoint, failure))?;
    let Grant {
        refresh_token,
        scope,
        ..
    } = grant;
    Ok(Authorized {
        refresh_token: refresh_token.ok_or(AuthorizeError::NoRefreshToken)?,
        scope,
    })
}

fn endpoint_error(endpoint: &TokenEndpoint, failure: EndpointFailure) -> AuthorizeError {
    match failure {
        EndpointFailure::Refused {
            status,
            error,
            description,
        } => {
            let description = description
                .map(|d| format!(": {}", printable(&d)))
                .unwrap_or_default();
            match error.as_str() {
                "invalid_grant" => AuthorizeError::CodeRefused { description },
                "invalid_client" => AuthorizeError::InvalidClient,
                _ if status == 401 => AuthorizeError::InvalidClient,
                _ => AuthorizeError::Refused {
                    status,
                    error: printable(&error),
                    description,
                },
            }
        }
        EndpointFailure::Unreachable { attempts, message } => AuthorizeError::Unreachable {
            url: endpoint.url.clone(),
            attempts,
            message,
        },
        EndpointFailure::Unreadable { status, message } => AuthorizeError::Refused {
            status,
            error: format!("unreadable token response: {message}"),
            description: String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B: the verifier is the base64url of the 32 octets given there (43
    /// characters), and its S256 challenge is `E9Melhoa…`.
    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        let octets: [u8; 32] = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        let verifier = URL_SAFE_NO_PAD.encode(octets);
        assert_eq!(verifier, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            s256_challenge(&verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_are_43_unreserved_characters_and_differ() {
        let a = Pkce::generate().expect("randomness");
        let b = Pkce::generate().expect("randomness");
        for p in [&a, &b] {
            let v = p.verifier.expose_secret();
            assert!((43..=128).contains(&v.len()), "{} characters", v.len());
            assert!(
                v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)),
                "only the unreserved set (RFC 7636 §4.1)"
            );
            assert_eq!(p.challenge, s256_challenge(v));
        }
        assert_ne!(a.verifier.expose_secret(), b.verifier.expose_secret());
        assert_ne!(
            random_state().expect("state"),
            random_state().expect("state")
        );
    }

    #[test]
    fn authorize_url_carries_every_parameter_encoded() {
        let url = authorize_url(
            "https://identityservice.nmbrs.com/connect/authorize",
            "client 1",
            "https://example.com/cb?x=1&y=2",
            &["company.info.read", "employee.info", OFFLINE_ACCESS],
            "st",
            "ch",
        )
        .expect("url");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("client_id"), Some("client 1"));
        assert_eq!(get("redirect_uri"), Some("https://example.com/cb?x=1&y=2"));
        assert_eq!(
            get("scope"),
            Some("company.info.read employee.info offline_access")
        );
        assert_eq!(get("state"), Some("st"));
        assert_eq!(get("code_challenge"), Some("ch"));
        assert_eq!(get("code_challenge_method"), Some("S256"));
        assert!(
            !url.as_str().contains("cb?x"),
            "the redirect URI is encoded"
        );
        assert!(matches!(
            authorize_url("not a url", "c", "r", &[], "s", "c"),
            Err(AuthorizeError::BadAuthorizeUrl(_))
        ));
    }

    #[test]
    fn a_redirect_with_the_right_state_gives_the_code() {
        let a = parse_answer(
            "  https://example.com/cb?code=abc%2B1&state=s-1&session_state=x \n",
            "s-1",
        )
        .expect("accepted");
        assert_eq!(a.code.expose_secret(), "abc+1");
        assert!(a.state_checked);
        let a = parse_answer("?code=abc&state=s-1", "s-1").expect("query part alone");
        assert_eq!(a.code.expose_secret(), "abc");
    }

    #[test]
    fn a_state_mismatch_or_missing_state_is_refused() {
        assert!(matches!(
            parse_answer("https://example.com/cb?code=abc&state=other", "s-1"),
            Err(AuthorizeError::StateMismatch)
        ));
        assert!(matches!(
            parse_answer("https://example.com/cb?code=abc", "s-1"),
            Err(AuthorizeError::StateMissing)
        ));
    }

    #[test]
    fn an_error_redirect_is_shown() {
        let err = parse_answer(
            "https://example.com/cb?error=access_denied&error_description=The+user+said+no%1B%5B2J&state=s-1",
            "s-1",
        )
        .expect_err("an error answer");
        let msg = err.to_string();
        assert!(matches!(err, AuthorizeError::Denied { .. }));
        assert!(
            msg.contains("access_denied") && msg.contains("The user said no"),
            "{msg}"
        );
        assert!(!msg.contains('\u{1b}'), "no terminal escapes: {msg:?}");
        assert!(matches!(
            parse_answer("https://example.com/cb?error=access_denied", "s-1"),
            Err(AuthorizeError::Denied { .. })
        ));
        assert!(matches!(
            parse_answer("https://example.com/cb?error=access_denied&state=x", "s-1"),
            Err(AuthorizeError::StateMismatch)
        ));
    }

    #[test]
    fn a_bare_code_is_accepted_without_state() {
        let a = parse_answer("4F2A9C-code_value.1\n", "s-1").expect("bare code");
        assert_eq!(a.code.expose_secret(), "4F2A9C-code_value.1");
        assert!(!a.state_checked);
        assert!(matches!(
            parse_answer("  \n", "s"),
            Err(AuthorizeError::NoAnswer)
        ));
        assert!(matches!(
            parse_answer("two words", "s"),
            Err(AuthorizeError::NoCode)
        ));
        assert!(matches!(
            parse_answer("https://example.com/cb?state=s", "s"),
            Err(AuthorizeError::NoCode)
        ));
    }
}
