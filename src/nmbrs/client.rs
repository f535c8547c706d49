//! HTTP access to Nmbrs: headers, pacing, retries, pagination (`docs/nmbrs-api.md`; docs/SPEC.md rule 5).
//!
//! * Pacing: a token bucket (`governor`) at `nmbrs.max_requests_per_sec` shared by every task, plus a
//!   shared pause: a 429's `Retry-After` holds back the whole client, not just the task that saw it.
//! * Retries: 429 waits `Retry-After`; 5xx, timeouts and dropped connections back off exponentially
//!   with jitter (`backon`), within `retry.max_attempts` and `retry.max_elapsed_secs`. Other 4xx are
//!   never retried. A 401 refreshes the access token once.
//! * A create (POST) is retried only when Nmbrs certainly did not process it (429, connection refused);
//!   otherwise it fails as [`ApiErrorKind::Ambiguous`] and the create intent is reconciled next cycle
//!   by looking the employee up — never by posting blind.

use super::HttpCall;
use super::auth::RefreshTokenStore;
use super::auth::{TokenError, TokenManager, without_url};
use super::model::{
    Company, CreateEmployee, Debtor, EmployeeItem, ErrorBody, Page, PersonalInfoHistory,
    UpdatePersonalInfo,
};
use crate::config::{RetrySettings, Secrets, Settings};
use backon::BackoffBuilder;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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

/// What was wrong with one attempt, and whether it may be retried.
enum Attempt {
    Retry {
        reason: String,
        retry_after: Option<Duration>,
        maybe_processed: bool,
        /// A 429: the wait holds back every task of the client.
        throttled: bool,
    },
    Fail(ApiErrorKind),
}

/// The largest `pageSize` the description allows (`components.parameters.pageSize`).
pub const MAX_PAGE_SIZE: u32 = 100;

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

    /// The personal-info history of every employee of a company, all pages:
    /// `GET /api/companies/{companyId}/employees/personalinfo`.
    pub async fn company_personal_info(
        &self,
        company_id: &str,
    ) -> Result<Response<Vec<PersonalInfoHistory>>, ApiError> {
        self.get_all_pages(
            &format!("/companies/{}/employees/personalinfo", seg(company_id)),
            &[],
        )
        .await
    }

    /// One employee's personal-info history, the read right before a PUT:
    /// `GET /api/companies/{companyId}/employees/personalinfo?employeeId=…`. `None`: not listed.
    pub async fn employee_personal_info(
        &self,
        company_id: &str,
        employee_id: &str,
    ) -> Result<Response<Option<PersonalInfoHistory>>, ApiError> {
        let r = self
            .get_all_pages::<PersonalInfoHistory>(
                &format!("/companies/{}/employees/personalinfo", seg(company_id)),
                &[("employeeId", employee_id.to_owned())],
            )
            .await?;
        let item = r.body.into_iter().find(|h| h.employee_id == employee_id);
        Ok(Response {
            body: item,
            call: r.call,
        })
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
            expected = r.body.pagination.total_records.or(expected);
            let more = r.body.pagination.has_next(page_number, n);
            items.extend(r.body.data);
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

    /// Sends one request with pacing, retries and token refresh; decodes a 2xx body as `T`.
    pub async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        idempotency: Idempotency,
    ) -> Result<Response<T>, ApiError> {
        let inner = &self.inner;
        let started = Instant::now();
        let mut call = HttpCall {
            method: method_name(&method),
            path: path.to_owned(),
            status: None,
            attempts: 0,
            duration: Duration::ZERO,
        };
        let mut backoff = backoff(&inner.retry).build();
        let budget = Duration::from_secs(inner.retry.max_elapsed_secs);
        let mut refreshed = false;
        loop {
            self.pace().await;
            let token = match inner.tokens.access_token().await {
                Ok(t) => t,
                Err(e) => {
                    call.duration = started.elapsed();
                    return Err(ApiError {
                        kind: e.into(),
                        call,
                    });
                }
            };
            call.attempts += 1;
            inner.counters.requests.fetch_add(1, Ordering::Relaxed);
            if call.attempts > 1 {
                inner.counters.retries.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("nmbrs_sync_api_retries_total").increment(1);
            }
            if method != Method::GET {
                inner.counters.writes.fetch_add(1, Ordering::Relaxed);
            }
            let mut request = inner
                .http
                .request(method.clone(), format!("{}{}", inner.base_url, path))
                .query(query)
                .bearer_auth(token.expose_secret())
                .header("X-Subscription-Key", inner.subscription_key.expose_secret())
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(b) = body {
                request = request.json(b);
            }
            let outcome = request.send().await;
            let attempt = match outcome {
                Err(e) => {
                    call.status = None;
                    metrics::counter!("nmbrs_sync_api_calls_total", "status" => "transport_error")
                        .increment(1);
                    // A refused connection never reached Nmbrs; anything later might have.
                    Attempt::Retry {
                        reason: without_url(&e),
                        retry_after: None,
                        maybe_processed: !e.is_connect(),
                        throttled: false,
                    }
                }
                Ok(resp) => {
                    let status = resp.status();
                    call.status = Some(status.as_u16());
                    metrics::counter!("nmbrs_sync_api_calls_total", "status" => status.as_u16().to_string()).increment(1);
                    tracing::debug!(
                        method = call.method,
                        path,
                        status = status.as_u16(),
                        attempt = call.attempts,
                        "nmbrs call"
                    );
                    if status.is_success() {
                        match resp.json::<T>().await {
                            Ok(body) => {
                                call.duration = started.elapsed();
                                return Ok(Response { body, call });
                            }
                            Err(e) if e.is_decode() => {
                                Attempt::Fail(ApiErrorKind::Decode(without_url(&e)))
                            }
                            Err(e) => Attempt::Retry {
                                reason: without_url(&e),
                                retry_after: None,
                                maybe_processed: true,
                                throttled: false,
                            },
                        }
                    } else {
                        self.classify(status, resp, &token, &mut refreshed).await
                    }
                }
            };
            let (reason, retry_after, maybe_processed, throttled) = match attempt {
                Attempt::Fail(kind) => {
                    call.duration = started.elapsed();
                    return Err(ApiError { kind, call });
                }
                Attempt::Retry {
                    reason,
                    retry_after,
                    maybe_processed,
                    throttled,
                } => (reason, retry_after, maybe_processed, throttled),
            };
            if idempotency == Idempotency::CreateOnce && maybe_processed {
                call.duration = started.elapsed();
                return Err(ApiError {
                    kind: ApiErrorKind::Ambiguous { last: reason },
                    call,
                });
            }
            let delay = match retry_after {
                Some(d) => Some(d),
                None => backoff.next(),
            };
            let elapsed = started.elapsed();
            let Some(delay) = delay
                .filter(|d| call.attempts < inner.retry.max_attempts && elapsed + *d <= budget)
            else {
                call.duration = elapsed;
                return Err(ApiError {
                    kind: ApiErrorKind::Exhausted {
                        attempts: call.attempts,
                        elapsed_secs: elapsed.as_secs_f64(),
                        last: reason,
                    },
                    call,
                });
            };
            if throttled {
                // Everyone waits: the limit is per subscription, not per task.
                self.pause_all(delay);
            }
            tracing::info!(method = call.method, path, attempt = call.attempts, delay_ms = delay.as_millis() as u64, %reason, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// Turns a non-2xx answer into a retry decision or a final error (docs/nmbrs-api.md, "Errors and
    /// throttling"): 429 42908 waits `Retry-After` (seconds or an HTTP date; backoff without it),
    /// 429 42909 stops, 403 40304 names the subscription key, 403 otherwise the scope the call needs.
    async fn classify(
        &self,
        status: StatusCode,
        resp: reqwest::Response,
        token: &SecretString,
        refreshed: &mut bool,
    ) -> Attempt {
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
        let request_path = resp.url().path().to_owned();
        let text = resp.text().await.unwrap_or_default();
        let error = ErrorBody::parse(&text);
        let message = error
            .as_ref()
            .map(ErrorBody::summary)
            .unwrap_or_else(|| server_message(&text));
        let code = error.as_ref().and_then(|e| e.code);
        match status.as_u16() {
            429 if code == Some(42909) => Attempt::Fail(ApiErrorKind::QuotaExceeded),
            429 => {
                self.inner
                    .counters
                    .throttled
                    .fetch_add(1, Ordering::Relaxed);
                Attempt::Retry {
                    reason: format!("HTTP 429 {message}"),
                    retry_after,
                    maybe_processed: false,
                    throttled: true,
                }
            }
            401 if !*refreshed => {
                *refreshed = true;
                self.inner.tokens.invalidate(token).await;
                Attempt::Retry {
                    reason: "401: refreshing the access token".into(),
                    retry_after: Some(Duration::ZERO),
                    maybe_processed: false,
                    throttled: false,
                }
            }
            401 => {
                let credential = if message.to_lowercase().contains("subscription key") {
                    "the subscription key (`nmbrs.subscription_key`)"
                } else {
                    "the bearer token, even freshly refreshed (check `nmbrs.client_id` and the API client's access)"
                };
                Attempt::Fail(ApiErrorKind::Unauthorized(format!(
                    "Nmbrs refused {credential}: HTTP 401 {message}"
                )))
            }
            403 if code == Some(40304) => Attempt::Fail(ApiErrorKind::NoSubscription),
            403 => Attempt::Fail(ApiErrorKind::Forbidden {
                message,
                scope: required_scope(&request_path),
            }),
            404 => Attempt::Fail(ApiErrorKind::NotFound),
            s if status.is_server_error() || s == 408 => Attempt::Retry {
                reason: format!("HTTP {s} {message}"),
                retry_after: None,
                maybe_processed: true,
                throttled: false,
            },
            s => {
                self.inner.counters.rejected.fetch_add(1, Ordering::Relaxed);
                Attempt::Fail(ApiErrorKind::Rejected {
                    status: s,
                    message,
                    fields: error.map(|e| e.invalid_params_text()).unwrap_or_default(),
                })
            }
        }
    }

    async fn pace(&self) {
        loop {
            let until = self.inner.paused_until.lock().ok().and_then(|p| *p);
            match until {
                Some(t) if t > tokio::time::Instant::now() => tokio::time::sleep_until(t).await,
                _ => break,
            }
        }
        self.inner.limiter.until_ready().await;
    }

    fn pause_all(&self, d: Duration) {
        let until = tokio::time::Instant::now() + d;
        if let Ok(mut p) = self.inner.paused_until.lock()
            && p.is_none_or(|cur| cur < until)
        {
            *p = Some(until);
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

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3); a date in the past is zero.
fn parse_retry_after(v: &str, now: std::time::SystemTime) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The scope a call needs, by the description's `security` entries, for messages after a 403.
/// `request_path` is the URL path (`/api/...`).
fn required_scope(request_path: &str) -> &'static str {
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

/// The exponential schedule with jitter from `retry.*`.
fn backoff(r: &RetrySettings) -> backon::ExponentialBuilder {
    let b = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(r.initial_interval_ms))
        .with_factor(r.multiplier)
        .with_max_delay(Duration::from_secs(r.max_interval_secs.max(1)))
        .with_max_times(r.max_attempts.saturating_sub(1) as usize);
    if r.jitter { b.with_jitter() } else { b }
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        _ => "OTHER",
    }
}

/// Keeps an id usable as one path segment (ids come from Nmbrs or the state database).
fn seg(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The human part of an error body: `message`, the `errors` list, or the raw text (shortened).
fn server_message(text: &str) -> String {
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
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        // RFC 9110's example date is 1445412480 + 3 s.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:03 GMT", now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
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

    #[test]
    fn path_segments_cannot_escape() {
        assert_eq!(
            seg("3fa85f64-5717-4562-b3fc-2c963f66afa6"),
            "3fa85f64-5717-4562-b3fc-2c963f66afa6"
        );
        assert_eq!(seg("../../x?y"), "xy");
    }

    #[test]
    fn backoff_grows_and_respects_max_times() {
        let r = RetrySettings {
            initial_interval_ms: 100,
            multiplier: 2.0,
            max_interval_secs: 1,
            max_elapsed_secs: 60,
            max_attempts: 4,
            jitter: false,
        };
        let delays: Vec<u128> = backoff(&r).build().map(|d| d.as_millis()).collect();
        assert_eq!(delays, [100, 200, 400]);
    }
}
