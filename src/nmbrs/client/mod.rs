//! HTTP access to Nmbrs (`error`: what a failed call says; `send`: pacing, retries, classification): headers, pacing, retries, pagination (`docs/nmbrs-api.md`; docs/SPEC.md rule 5).
//!
//! * Pacing: a token bucket (`governor`) at `nmbrs.max_requests_per_sec` shared by every task, plus a
//!   shared pause: a 429's `Retry-After` holds back the whole client, not just the task that saw it.
//! * Retries: 429 waits `Retry-After`; 5xx, timeouts and dropped connections back off exponentially
//!   with jitter (`backon`), within `retry.max_attempts` and `retry.max_elapsed_secs`. Other 4xx are
//!   never retried. A 401 refreshes the access token once.
//! * A create (POST) is retried only when Nmbrs certainly did not process it (429, connection refused);
//!   otherwise it fails as [`ApiErrorKind::Ambiguous`] and the create intent is reconciled next cycle
//!   by looking the employee up — never by posting blind.

mod error;
mod send;

pub use error::{ApiError, ApiErrorKind};

use super::HttpCall;
use super::auth::RefreshTokenStore;
use super::auth::{TokenError, TokenManager, without_url};
use super::model::{
    Company, CreateEmployee, Debtor, EmployeeItem, ErrorBody, History, ListingItem, Page,
    UpdatePersonalInfo,
};
use crate::config::{RetrySettings, Secrets, Settings};
use crate::fields::Resource;
use backon::BackoffBuilder;
use futures::TryFutureExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Whether a request may be repeated after an unclear failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// GET, and PUT of a whole personal-info object.
    Repeatable,
    /// POST create: repeat only when certainly not processed.
    CreateOnce,
}

/// A successful call: the decoded body and the HTTP facts.
#[derive(Debug)]
pub struct Response<T> {
    pub body: T,
    pub call: HttpCall,
}

/// Counters since the client was built (read deltas per run).
#[derive(Debug, Default)]
pub struct ClientCounters {
    /// HTTP requests sent to the API (retries included; token endpoint excluded).
    pub requests: AtomicU64,
    /// Of those, repeats after a failure.
    pub retries: AtomicU64,
    /// 429 answers seen.
    pub throttled: AtomicU64,
    /// POST/PUT requests sent.
    pub writes: AtomicU64,
    /// Answers with a non-retryable 4xx (other than 401/403/404), each the end of its call.
    pub rejected: AtomicU64,
}

/// The Nmbrs REST client (cheap to clone).
#[derive(Clone)]
pub struct NmbrsClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    subscription_key: SecretString,
    tokens: TokenManager,
    limiter: DefaultDirectRateLimiter,
    paused_until: std::sync::Mutex<Option<tokio::time::Instant>>,
    retry: RetrySettings,
    page_size: u32,
    counters: ClientCounters,
}

impl std::fmt::Debug for NmbrsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NmbrsClient")
            .field("base_url", &self.inner.base_url)
            .finish_non_exhaustive()
    }
}

/// How many times a listing that changed while it was read is read in all before its company is
/// skipped for the cycle.
pub const LISTING_READS: u32 = 3;

/// The largest `pageSize` the description allows (`components.parameters.pageSize`).
pub use crate::config::MAX_PAGE_SIZE;

/// The HTTP client for the API and the token endpoint: `nmbrs.timeout_secs`, a user agent naming
/// this program, an idle pool sized for `nmbrs.max_concurrency`.
///
/// Errors: a reqwest client that cannot be built (TLS backend initialisation).
pub(crate) fn http_client(settings: &Settings) -> Result<reqwest::Client, reqwest::Error> {
    let n = &settings.nmbrs;
    reqwest::Client::builder()
        .timeout(Duration::from_secs(n.timeout_secs))
        .connect_timeout(Duration::from_secs(n.timeout_secs.min(10)))
        .user_agent(concat!("nmbrs-sync/", env!("CARGO_PKG_VERSION")))
        .pool_max_idle_per_host(n.max_concurrency.max(4))
        .build()
}

impl NmbrsClient {
    /// Builds the client from settings; `tokens` keeps the rotated refresh token (the state
    /// database in production).
    ///
    /// Errors: a reqwest client that cannot be built (TLS backend initialisation).
    pub fn new(
        settings: &Settings,
        secrets: &Secrets,
        tokens: Arc<dyn RefreshTokenStore>,
    ) -> Result<NmbrsClient, reqwest::Error> {
        let n = &settings.nmbrs;
        let http = http_client(settings)?;
        let tokens = TokenManager::new(
            http.clone(),
            n.token_url.clone(),
            n.client_id.clone(),
            secrets.client_secret.clone(),
            secrets.refresh_token.clone(),
            tokens,
            settings.retry.clone(),
        );
        let rate = NonZeroU32::new(n.max_requests_per_sec).unwrap_or(NonZeroU32::MIN);
        // A burst of 1/20 s worth of requests: small enough that a server's own per-second window
        // never sees a spike, large enough that a moment spent on local work does not lose slots
        // for good (with a burst of one the client ran at ~85 % of the limit).
        let burst = NonZeroU32::new((rate.get() / 20).max(1)).unwrap_or(NonZeroU32::MIN);
        let limiter = RateLimiter::direct(Quota::per_second(rate).allow_burst(burst));
        Ok(NmbrsClient {
            inner: Arc::new(Inner {
                http,
                base_url: n.base_url.trim_end_matches('/').to_owned(),
                subscription_key: secrets.subscription_key.clone(),
                tokens,
                limiter,
                paused_until: std::sync::Mutex::new(None),
                retry: settings.retry.clone(),
                page_size: n.page_size.clamp(1, MAX_PAGE_SIZE),
                counters: ClientCounters::default(),
            }),
        })
    }

    /// Counters since this client was built.
    pub fn counters(&self) -> &ClientCounters {
        &self.inner.counters
    }

    /// The token manager (scopes, expiry; used by `doctor` and `status`).
    pub fn tokens(&self) -> &TokenManager {
        &self.inner.tokens
    }

    /// Every company the token may see, all pages: `GET /api/companies`; with `debtor_id`, only that
    /// debtor's (`GET /api/debtors/{debtorId}/companies`). A token spanning several debtors may get
    /// 403 on `/api/companies`: then every debtor's companies (`GET /api/debtors`, then per debtor).
    pub async fn companies(
        &self,
        debtor_id: Option<&str>,
    ) -> Result<Response<Vec<Company>>, ApiError> {
        if let Some(d) = debtor_id {
            return self.debtor_companies(d).await;
        }
        match self.get_all_pages("/companies", &[]).await {
            Err(e) if matches!(e.kind, ApiErrorKind::Forbidden { .. }) => {
                tracing::info!("GET /companies refused (403): listing companies per debtor");
                let debtors = self.debtors().await?;
                let mut call = debtors.call;
                let mut all = Vec::new();
                for d in &debtors.body {
                    let r = self.debtor_companies(&d.debtor_id).await?;
                    call.attempts += r.call.attempts;
                    call.duration += r.call.duration;
                    all.extend(r.body);
                }
                call.path = "/debtors/{debtorId}/companies".into();
                Ok(Response { body: all, call })
            }
            other => other,
        }
    }

    /// The debtors the token may see: `GET /api/debtors`, all pages.
    pub async fn debtors(&self) -> Result<Response<Vec<Debtor>>, ApiError> {
        self.get_all_pages("/debtors", &[]).await
    }

    /// One debtor's companies: `GET /api/debtors/{debtorId}/companies`, all pages.
    pub async fn debtor_companies(
        &self,
        debtor_id: &str,
    ) -> Result<Response<Vec<Company>>, ApiError> {
        self.get_all_pages(&format!("/debtors/{}/companies", seg(debtor_id)), &[])
            .await
    }

    /// One resource's history of every employee of a company, all pages:
    /// `GET /api/companies/{companyId}/employees/<listing>` (e.g. `…/personalinfo`, `…/contracts`).
    ///
    /// A listing that changes while it is read (its `totalRecords` moves, or an `employeeId` comes
    /// twice) is read again, at most [`LISTING_READS`] times in all; then it is
    /// [`ApiErrorKind::InconsistentListing`] and the company is skipped for the cycle: planning on
    /// it could create an employee that exists (skipped) or match one twice (repeated).
    ///
    /// `since` (an incremental read, issue 13): only entries created — for employments, changed —
    /// from that time on (`createdFrom` / `changedFrom`).
    ///
    /// Each employee's history is mapped by `map` as its page arrives: a company's listing is never
    /// held whole as JSON (issue 13: one company of 100,000 employees).
    pub(crate) async fn company_history<U: Listed>(
        &self,
        company_id: &str,
        resource: Resource,
        since: Option<&str>,
        map: &(dyn Fn(History) -> U + Send + Sync),
    ) -> Result<Response<Vec<U>>, ApiError> {
        let path = format!(
            "/companies/{}/employees/{}",
            seg(company_id),
            resource.listing()
        );
        let filters: Vec<(&str, String)> = since
            .map(|t| {
                let key = match resource {
                    Resource::Employment => "changedFrom",
                    _ => "createdFrom",
                };
                vec![(key, t.to_owned())]
            })
            .unwrap_or_default();
        let mut read = 1;
        loop {
            let r = self
                .get_all_pages_map::<ListingItem, U>(&path, &filters, &|i| {
                    map(i.into_history(resource))
                })
                .and_then(|r| async move {
                    let mut seen = std::collections::HashSet::new();
                    match r.body.iter().find(|h| !seen.insert(h.listed_key())) {
                        Some(dup) => Err(ApiError {
                            kind: ApiErrorKind::InconsistentListing(format!(
                                "employee {} is listed twice",
                                dup.listed_key()
                            )),
                            call: r.call.clone(),
                        }),
                        None => Ok(r),
                    }
                })
                .await;
            match r {
                Err(e)
                    if matches!(e.kind, ApiErrorKind::InconsistentListing(_))
                        && read < LISTING_READS =>
                {
                    tracing::warn!(company_id, read, resource = resource.name(), reason = %e, "listing changed while read; reading it again");
                    read += 1;
                }
                Err(e) => return Err(e),
                Ok(r) => return Ok(r),
            }
        }
    }

    /// One employee's history of one resource, the read right before its write:
    /// `GET /api/companies/{companyId}/employees/<listing>?employeeId=…`. `None`: not listed.
    pub async fn employee_history(
        &self,
        company_id: &str,
        resource: Resource,
        employee_id: &str,
    ) -> Result<Response<Option<History>>, ApiError> {
        let r = self
            .get_all_pages::<ListingItem>(
                &format!(
                    "/companies/{}/employees/{}",
                    seg(company_id),
                    resource.listing()
                ),
                &[("employeeId", employee_id.to_owned())],
            )
            .await?;
        let item = r
            .body
            .into_iter()
            .find(|h| h.employee_id == employee_id)
            .map(|i| i.into_history(resource));
        Ok(Response {
            body: item,
            call: r.call,
        })
    }

    /// A debtor's objects of a reference resource, all pages, raw:
    /// `GET /api/debtors/{debtorId}/{functions,departments,managers}`.
    pub async fn debtor_objects(
        &self,
        debtor_id: &str,
        resource: Resource,
    ) -> Result<Response<Vec<Value>>, ApiError> {
        self.get_all_pages(
            &format!("/debtors/{}/{}", seg(debtor_id), resource.listing()),
            &[],
        )
        .await
    }

    /// A write of one employee resource: `method` on `/api/employees/{employeeId}/<what>` with a
    /// JSON body (`None` for a DELETE); the answer raw. A POST appends an entry, so it is repeated
    /// only when Nmbrs certainly did not process it; a PUT or DELETE sets a value and is repeatable.
    pub async fn write_employee(
        &self,
        method: Method,
        employee_id: &str,
        what: &str,
        body: Option<&impl serde::Serialize>,
    ) -> Result<Response<Value>, ApiError> {
        let path = format!("/employees/{}/{what}", seg(employee_id));
        let body = match body {
            Some(b) => Some(encode(b, &path)?),
            None => None,
        };
        let idempotency = if method == Method::POST {
            Idempotency::CreateOnce
        } else {
            Idempotency::Repeatable
        };
        self.send(method, &path, &[], body.as_ref(), idempotency)
            .await
    }

    /// One employee with its current personal info: `GET /api/employees/{employeeId}` (a one-item page).
    pub async fn employee(&self, employee_id: &str) -> Result<Response<EmployeeItem>, ApiError> {
        let path = format!("/employees/{}", seg(employee_id));
        let r: Response<Page<EmployeeItem>> = self
            .send(Method::GET, &path, &[], None, Idempotency::Repeatable)
            .await?;
        match r.body.data.into_iter().next() {
            Some(item) => Ok(Response {
                body: item,
                call: r.call,
            }),
            None => Err(ApiError {
                kind: ApiErrorKind::NotFound,
                call: r.call,
            }),
        }
    }

    /// Creates an employee: `POST /api/companies/{companyId}/employees` → 201 `{employeeId}`.
    pub async fn create_employee(
        &self,
        company_id: &str,
        body: &CreateEmployee,
    ) -> Result<Response<String>, ApiError> {
        let path = format!("/companies/{}/employees", seg(company_id));
        let body = encode(body, &path)?;
        let r: Response<super::model::Created> = self
            .send(
                Method::POST,
                &path,
                &[],
                Some(&body),
                Idempotency::CreateOnce,
            )
            .await?;
        if r.call.status != Some(201) {
            tracing::warn!(status = ?r.call.status, "create answered other than 201 Created");
        }
        Ok(Response {
            body: r.body.employee_id,
            call: r.call,
        })
    }

    /// Replaces the personal info of a period: `PUT /api/employees/{employeeId}/personalInfo` →
    /// `personalInfoId`.
    pub async fn put_personal_info(
        &self,
        employee_id: &str,
        body: &UpdatePersonalInfo,
    ) -> Result<Response<Option<String>>, ApiError> {
        let path = format!("/employees/{}/personalInfo", seg(employee_id));
        let body = encode(body, &path)?;
        let r: Response<super::model::PersonalInfoUpdated> = self
            .send(
                Method::PUT,
                &path,
                &[],
                Some(&body),
                Idempotency::Repeatable,
            )
            .await?;
        Ok(Response {
            body: r.body.personal_info_id,
            call: r.call,
        })
    }

    /// Walks a list endpoint page by page. The returned [`HttpCall`] sums the pages (attempts,
    /// duration; `path` is the endpoint). A listing shorter than its `totalRecords` is an error:
    /// planning on a partial list could create an employee that exists on a page not read.
    async fn get_all_pages<T: DeserializeOwned>(
        &self,
        path: &str,
        filters: &[(&str, String)],
    ) -> Result<Response<Vec<T>>, ApiError> {
        self.get_all_pages_map(path, filters, &|t| t).await
    }

    /// [`NmbrsClient::get_all_pages`], each item mapped by `map` as its page arrives.
    async fn get_all_pages_map<T: DeserializeOwned, U>(
        &self,
        path: &str,
        filters: &[(&str, String)],
        map: &(dyn Fn(T) -> U + Send + Sync),
    ) -> Result<Response<Vec<U>>, ApiError> {
        let mut items = Vec::new();
        let mut total = HttpCall {
            method: "GET",
            path: path.to_owned(),
            status: None,
            attempts: 0,
            duration: Duration::ZERO,
        };
        let mut page_number = 1u32;
        let mut expected = None;
        loop {
            let mut query = vec![
                ("pageNumber", page_number.to_string()),
                ("pageSize", self.inner.page_size.to_string()),
            ];
            query.extend(filters.iter().cloned());
            let r: Result<Response<Page<T>>, ApiError> = self
                .send(Method::GET, path, &query, None, Idempotency::Repeatable)
                .await;
            let r = match r {
                Ok(r) => r,
                Err(mut e) => {
                    e.call.attempts += total.attempts;
                    e.call.duration += total.duration;
                    return Err(e);
                }
            };
            total.attempts += r.call.attempts;
            total.duration += r.call.duration;
            total.status = r.call.status;
            let n = r.body.data.len();
            // A listing that changes while it is read repeats some records and skips others.
            if let (Some(before), Some(now)) = (expected, r.body.pagination.total_records)
                && before != now
            {
                return Err(ApiError {
                    kind: ApiErrorKind::InconsistentListing(format!(
                        "totalRecords went from {before} to {now} between pages"
                    )),
                    call: total,
                });
            }
            expected = r.body.pagination.total_records.or(expected);
            let more = r.body.pagination.has_next(page_number, n);
            items.extend(r.body.data.into_iter().map(map));
            if !more {
                break;
            }
            page_number += 1;
        }
        if let Some(expected) = expected
            && (items.len() as u64) < expected
        {
            return Err(ApiError {
                kind: ApiErrorKind::Decode(format!(
                    "listing ended after {} of {expected} records (totalRecords); not planning on a partial list",
                    items.len()
                )),
                call: total,
            });
        }
        Ok(Response {
            body: items,
            call: total,
        })
    }
}

/// An item of a company listing: one employee's.
pub(crate) trait Listed {
    /// What tells the employee apart within the listing (its `employeeId`, or a hash of it).
    type Key: Eq + std::hash::Hash + std::fmt::Display;
    /// The item's key.
    fn listed_key(&self) -> Self::Key;
}

/// A typed body as JSON for [`NmbrsClient::send`].
#[allow(clippy::result_large_err)] // the error carries the HTTP facts for the audit log, like every call's
fn encode<T: serde::Serialize>(body: &T, path: &str) -> Result<Value, ApiError> {
    serde_json::to_value(body).map_err(|e| ApiError {
        kind: ApiErrorKind::Decode(format!("request body could not be encoded: {e}")),
        call: HttpCall {
            method: "POST",
            path: path.to_owned(),
            ..HttpCall::default()
        },
    })
}

/// Keeps an id usable as one path segment (ids come from Nmbrs or the state database).
pub(crate) fn seg(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_cannot_escape() {
        assert_eq!(
            seg("3fa85f64-5717-4562-b3fc-2c963f66afa6"),
            "3fa85f64-5717-4562-b3fc-2c963f66afa6"
        );
        assert_eq!(seg("../../x?y"), "xy");
    }
}
