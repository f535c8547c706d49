//! What a failed call says: the error kinds (docs/nmbrs-api.md, "Errors and throttling"), the
//! server's message, the `invalid-params` and the scope a 403 is about.

use super::HttpCall;
use super::TokenError;
use serde_json::Value;

/// Why a call failed. Every variant comes with the [`HttpCall`] for the audit log (see [`ApiError`]).
#[derive(Debug, thiserror::Error)]
pub enum ApiErrorKind {
    /// 401 even after a fresh access token.
    #[error("{0}")]
    Unauthorized(String),
    /// 403 (code 40303): no access to the debtor or company, or the token lacks the scope named.
    #[error(
        "Nmbrs refused access (403): {message}; this call needs the scope `{scope}`: grant it to the API client and run `nmbrs-sync authorize` again"
    )]
    Forbidden {
        message: String,
        scope: &'static str,
    },
    /// 403 code 40304: the subscription key has no valid subscription.
    #[error(
        "Nmbrs answered 403 (40304): no valid subscription for this subscription key; check `nmbrs.subscription_key` and the subscription at developer.nmbrs.com"
    )]
    NoSubscription,
    /// 429 code 42909: the subscription's API call quota is used up; retrying cannot help.
    #[error(
        "Nmbrs answered 429 (42909 Quota_Exceeded): the subscription's API call quota is used up; the cycle stops — wait for the quota to renew or raise it with Nmbrs"
    )]
    QuotaExceeded,
    /// 404.
    #[error("not found in Nmbrs (404)")]
    NotFound,
    /// A non-retryable 4xx; `fields` holds `name: reason` of each `invalid-params` entry.
    #[error(
        "Nmbrs rejected the request (HTTP {status}): {message}{}",
        invalid_params_suffix(fields)
    )]
    Rejected {
        status: u16,
        message: String,
        fields: Vec<String>,
    },
    /// Retries used up on 429 / 5xx / timeouts / dropped connections.
    #[error(
        "gave up after {attempts} attempts in {elapsed_secs:.1} s (retry budget: retry.max_attempts / retry.max_elapsed_secs): {last}"
    )]
    Exhausted {
        attempts: u32,
        elapsed_secs: f64,
        last: String,
    },
    /// A create may or may not have been processed (timeout, dropped connection, 5xx).
    #[error("outcome unknown ({last}); the create intent will be reconciled by lookup next cycle")]
    Ambiguous { last: String },
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A listing that changed while it was read (records repeated or moved between pages).
    #[error(
        "the listing changed while it was read ({0}); not planning on it — the company is skipped this cycle"
    )]
    InconsistentListing(String),
    /// A 2xx whose body is not the expected shape.
    #[error("unexpected response body: {0}")]
    Decode(String),
}

/// A failed call: what went wrong and the HTTP facts to audit.
#[derive(Debug, thiserror::Error)]
#[error("{method} {path}: {kind}", method = call.method, path = call.path)]
pub struct ApiError {
    pub kind: ApiErrorKind,
    pub call: HttpCall,
}

impl ApiError {
    /// Whether this failure stops the whole cycle (credentials or scope refused), not one record.
    pub fn is_fatal(&self) -> bool {
        match &self.kind {
            ApiErrorKind::Unauthorized(_)
            | ApiErrorKind::Forbidden { .. }
            | ApiErrorKind::NoSubscription
            | ApiErrorKind::QuotaExceeded => true,
            ApiErrorKind::Token(t) => t.is_refusal(),
            _ => false,
        }
    }
}

/// `; invalid: name: reason; …` for the `invalid-params` of a rejection (empty when none).
fn invalid_params_suffix(fields: &[String]) -> String {
    if fields.is_empty() {
        String::new()
    } else {
        format!("; invalid: {}", fields.join("; "))
    }
}

/// The scope a call needs, by the description's `security` entries, for messages after a 403.
/// `request_path` is the URL path (`/api/...`).
pub(super) fn required_scope(request_path: &str) -> &'static str {
    let p = request_path.trim_end_matches('/');
    if p.ends_with("/companies") || p.ends_with("/debtors") {
        "company.info.read"
    } else if p.ends_with("/personalInfo") || p.ends_with("/employees") {
        // PUT personal info and POST employees need the write scope; the GET of the listing is
        // satisfied by it too.
        "employee.info"
    } else {
        "employee.info.read"
    }
}

/// The human part of an error body: `message`, the `errors` list, or the raw text (shortened).
pub(super) fn server_message(text: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        if let Some(m) = v.get("message").and_then(Value::as_str) {
            return m.to_owned();
        }
        if let Some(errors) = v.get("errors").and_then(Value::as_array) {
            return errors
                .iter()
                .map(|e| {
                    let field = e.get("field").and_then(Value::as_str).unwrap_or("?");
                    let msg = e
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("invalid");
                    format!("{field}: {msg}")
                })
                .collect::<Vec<_>>()
                .join("; ");
        }
    }
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_are_extracted() {
        assert_eq!(
            server_message(r#"{"statusCode":401,"message":"Access denied"}"#),
            "Access denied"
        );
        assert_eq!(
            server_message(r#"{"errors":[{"field":"basicInfo.lastName","message":"required"}]}"#),
            "basicInfo.lastName: required"
        );
        assert_eq!(server_message("plain"), "plain");
    }

    #[test]
    fn a_403_names_the_scope_of_the_call() {
        assert_eq!(required_scope("/api/companies"), "company.info.read");
        assert_eq!(
            required_scope("/api/debtors/x/companies"),
            "company.info.read"
        );
        assert_eq!(
            required_scope("/api/companies/x/employees/personalinfo"),
            "employee.info.read"
        );
        assert_eq!(
            required_scope("/api/employees/x/personalInfo"),
            "employee.info"
        );
    }
}
