use super::*;

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

fn stored(token: &str, chain: &str) -> Option<StoredRefreshToken> {
    Some(StoredRefreshToken {
        refresh_token: secret(token),
        chain: chain.to_owned(),
    })
}

fn chosen(choice: Option<Choice>) -> Option<(String, String, Source)> {
    choice.map(|c| (c.token.expose_secret().to_owned(), c.chain, c.source))
}

#[test]
fn an_authorized_token_wins_over_any_configured_one() {
    // Rule 1: the configured token is the spent seed of the chain `authorize` replaced, or an
    // older unused one; either way the authorized chain goes on.
    let seed = secret("old-seed");
    for configured in [Some(&seed), None] {
        assert_eq!(
            chosen(choose_refresh_token(
                configured,
                stored("authorized-2", AUTHORIZED_CHAIN)
            )),
            Some((
                "authorized-2".into(),
                AUTHORIZED_CHAIN.into(),
                if configured.is_some() {
                    Source::StoredOverConfigured
                } else {
                    Source::Stored
                }
            ))
        );
    }
}

#[test]
fn a_configured_chain_goes_on_and_a_new_configured_token_starts_one() {
    let seed = secret("seed-1");
    let fp = fingerprint(&seed);
    // Rule 2: same chain → the newest stored token.
    assert_eq!(
        chosen(choose_refresh_token(Some(&seed), stored("rotated-5", &fp))),
        Some(("rotated-5".into(), fp.clone(), Source::Stored))
    );
    // Rule 3: a chain of another configured token → the new configured token starts a chain.
    let new = secret("seed-2");
    assert_eq!(
        chosen(choose_refresh_token(Some(&new), stored("rotated-5", &fp))),
        Some(("seed-2".into(), fingerprint(&new), Source::Configured))
    );
    // Rule 4: nothing configured → the stored token keeps its chain; nothing stored → the
    // configured one; neither → none.
    assert_eq!(
        chosen(choose_refresh_token(None, stored("rotated-5", &fp))),
        Some(("rotated-5".into(), fp.clone(), Source::Stored))
    );
    assert_eq!(
        chosen(choose_refresh_token(Some(&seed), None)),
        Some(("seed-1".into(), fp, Source::Configured))
    );
    assert!(choose_refresh_token(None, None).is_none());
    assert_ne!(fingerprint(&seed), AUTHORIZED_CHAIN);
}

#[tokio::test]
async fn no_token_anywhere_tells_the_operator_to_run_authorize() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite:{}", dir.path().join("state.db").display());
    let state = crate::state::StateDb::open(&url).await.expect("state db");
    let manager = TokenManager::new(
        reqwest::Client::new(),
        "http://127.0.0.1:9/connect/token".into(),
        "id".into(),
        secret("secret"),
        None,
        Arc::new(state),
        crate::config::Settings::built_in().expect("defaults").retry,
    );
    let err = manager.access_token().await.expect_err("no token");
    assert!(matches!(err, TokenError::NotAuthorized { .. }), "{err}");
    assert!(err.to_string().contains("nmbrs-sync authorize"), "{err}");
    assert!(err.is_refusal());
}
