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
fn basic_credentials_are_form_urlencoded_before_base64() {
    let mut a = AuthState::default();
    let rt = a.add_client("a b:c", "p&ss=1", &ALL_SCOPES);
    let mut basic = HeaderMap::new();
    // base64("a+b%3Ac:p%26ss%3D1"), as RFC 6749 §2.3.1 has a client send it.
    basic.insert(
        header::AUTHORIZATION,
        "Basic YStiJTNBYzpwJTI2c3MlM0Qx".parse().expect("header"),
    );
    let f = form(&[("grant_type", "refresh_token"), ("refresh_token", &rt)]);
    assert!(a.token(&basic, &f, Duration::from_secs(60)).is_ok());
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
        (
            "refresh_token",
            ok.refresh_token.as_deref().expect("rotated"),
        ),
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

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "https://example.com/cb";

fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn authorize_query(scope: &str) -> Vec<(String, String)> {
    query(&[
        ("response_type", "code"),
        ("client_id", "id"),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "st"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ])
}

/// Consents with `scope`; returns the code from the redirect.
fn code_for(a: &mut AuthState, scope: &str) -> String {
    let location = a
        .authorization_request(&authorize_query(scope))
        .expect("redirect");
    let url = Url::parse(&location).expect("location");
    assert!(location.starts_with(REDIRECT), "{location}");
    let get = |k: &str| {
        url.query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(get("state").as_deref(), Some("st"));
    get("code").expect("code")
}

fn redeem(
    a: &mut AuthState,
    code: &str,
    verifier: &str,
    redirect: &str,
) -> Result<TokenResponse, TokenError> {
    let f = form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
        ("code_verifier", verifier),
        ("client_id", "id"),
        ("client_secret", "secret"),
    ]);
    a.token(&HeaderMap::new(), &f, Duration::from_secs(60))
}

#[test]
fn pkce_s256_matches_rfc7636_appendix_b() {
    assert_eq!(pkce_s256(VERIFIER), CHALLENGE);
}

#[test]
fn a_code_with_offline_access_yields_both_tokens_with_granted_scopes() {
    let mut a = AuthState::default();
    a.add_client("id", "secret", &[SCOPE_COMPANY_READ, SCOPE_EMPLOYEE_INFO]);
    let code = code_for(
        &mut a,
        "company.info.read employee.info debtor.info.read offline_access",
    );
    let t = redeem(&mut a, &code, VERIFIER, REDIRECT).expect("tokens");
    assert_eq!(
        t.scope, "company.info.read employee.info offline_access",
        "requested ∩ allowed, offline_access always grantable"
    );
    let rt = t.refresh_token.expect("offline_access was consented");
    assert!(a.issued_refresh_tokens().contains(&rt), "leak-test list");
    assert!(a.issued_codes().contains(&code));
    assert_eq!(a.received_verifiers(), [VERIFIER]);
    // The refresh token keeps the consent: still no debtor scope, and it rotates.
    let f = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &rt),
        ("client_id", "id"),
        ("client_secret", "secret"),
    ]);
    let again = a
        .token(&HeaderMap::new(), &f, Duration::from_secs(60))
        .expect("refresh");
    assert_eq!(again.scope, t.scope);
    assert!(again.refresh_token.is_some());
}

#[test]
fn without_offline_access_there_is_no_refresh_token() {
    let mut a = AuthState::default();
    a.add_client("id", "secret", &ALL_SCOPES);
    let before = a.issued_refresh_tokens().len();
    let code = code_for(&mut a, "company.info.read employee.info");
    let t = redeem(&mut a, &code, VERIFIER, REDIRECT).expect("access token");
    assert_eq!(t.refresh_token, None);
    assert_eq!(t.scope, "company.info.read employee.info");
    assert_eq!(a.issued_refresh_tokens().len(), before);
}

#[test]
fn a_wrong_verifier_a_reused_or_expired_code_or_another_redirect_is_invalid_grant() {
    let mut a = AuthState::default();
    a.add_client("id", "secret", &ALL_SCOPES);
    a.add_client("other", "secret", &ALL_SCOPES);
    let scope = "employee.info offline_access";

    let code = code_for(&mut a, scope);
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj";
    assert_eq!(
        redeem(&mut a, &code, wrong, REDIRECT).err(),
        Some(TokenError::InvalidGrant)
    );
    assert_eq!(
        redeem(&mut a, &code, VERIFIER, REDIRECT).err(),
        Some(TokenError::InvalidGrant),
        "a failed attempt spends the code"
    );

    let code = code_for(&mut a, scope);
    assert!(redeem(&mut a, &code, VERIFIER, REDIRECT).is_ok());
    assert_eq!(
        redeem(&mut a, &code, VERIFIER, REDIRECT).err(),
        Some(TokenError::InvalidGrant),
        "single use"
    );

    let code = code_for(&mut a, scope);
    assert_eq!(
        redeem(&mut a, &code, VERIFIER, "https://example.com/other").err(),
        Some(TokenError::InvalidGrant)
    );

    let code = code_for(&mut a, scope);
    if let Some(p) = a.codes.get_mut(&code) {
        p.expires_at = Instant::now();
    }
    assert_eq!(
        redeem(&mut a, &code, VERIFIER, REDIRECT).err(),
        Some(TokenError::InvalidGrant),
        "expired"
    );

    let code = code_for(&mut a, scope);
    let f = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", "other"),
        ("client_secret", "secret"),
    ]);
    assert_eq!(
        a.token(&HeaderMap::new(), &f, Duration::ZERO).err(),
        Some(TokenError::InvalidGrant),
        "issued to another client"
    );
    assert_eq!(
        redeem(&mut a, "never-issued", VERIFIER, REDIRECT).err(),
        Some(TokenError::InvalidGrant)
    );
    let missing = form(&[
        ("grant_type", "authorization_code"),
        ("code", "x"),
        ("client_id", "id"),
        ("client_secret", "secret"),
    ]);
    assert!(matches!(
        a.token(&HeaderMap::new(), &missing, Duration::ZERO).err(),
        Some(TokenError::InvalidRequest(_))
    ));
}

#[test]
fn bad_authorize_requests_are_refused_or_redirected_with_an_error() {
    let mut a = AuthState::default();
    a.add_client("id", "secret", &ALL_SCOPES);
    let with = |changes: &[(&str, Option<&str>)]| {
        let mut q = authorize_query("employee.info offline_access");
        for (k, v) in changes {
            q.retain(|(key, _)| key != k);
            if let Some(v) = v {
                q.push((k.to_string(), v.to_string()));
            }
        }
        q
    };
    for (changes, why) in [
        (vec![("client_id", Some("nobody"))], "unknown client"),
        (vec![("client_id", None)], "no client"),
        (vec![("redirect_uri", None)], "no redirect URI"),
        (vec![("redirect_uri", Some("/cb"))], "relative redirect URI"),
    ] {
        assert!(
            matches!(
                a.authorization_request(&with(&changes)),
                Err(AuthorizeRejection::BadRequest(_))
            ),
            "{why}: 400, no redirect"
        );
    }
    for (changes, error) in [
        (
            vec![("response_type", Some("token"))],
            "unsupported_response_type",
        ),
        (
            vec![("code_challenge_method", Some("plain"))],
            "invalid_request",
        ),
        (vec![("code_challenge_method", None)], "invalid_request"),
        (vec![("code_challenge", None)], "invalid_request"),
        (vec![("code_challenge", Some("short"))], "invalid_request"),
        (vec![("scope", Some("employee.payment"))], "invalid_scope"),
    ] {
        match a.authorization_request(&with(&changes)) {
            Err(AuthorizeRejection::Redirect(location)) => {
                assert!(location.starts_with(REDIRECT), "{location}");
                assert!(location.contains(&format!("error={error}")), "{location}");
                assert!(location.contains("state=st"), "{location}");
                assert!(!location.contains("code="), "{location}");
            }
            other => panic!("{changes:?}: expected a redirect with {error}, got {other:?}"),
        }
    }
    assert!(a.issued_codes().is_empty());
}
