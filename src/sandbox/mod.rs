//! In-memory imitation of the Nmbrs REST API (see `docs/nmbrs-api.md`).
//!
//! A product feature (`nmbrs-sync sandbox --port P` lets users rehearse their
//! configuration) and the fake behind every integration test and benchmark.
//! It behaves like Nmbrs, not like whatever suits our client: strict JSON,
//! rotating refresh tokens, personal info replaced (not merged) by a PUT,
//! capped page sizes, throttling and faults on demand.
//!
//! Behaviour choices where `docs/nmbrs-api.md` is silent (each kept in one place):
//! - Order for an API call: counted → latency → scripted fault → rate limit →
//!   random fault → subscription key → bearer token → scope → handler.
//!   Unknown paths under `/api` answer 404 without any key or token check.
//! - Create answers `200 {"employeeId"}`; `createdAt` is set by the server
//!   (a body value is ignored); a missing employee number is assigned
//!   (highest in the company + 1).
//! - Only the newest personal info record is kept; each PUT gets a new
//!   `personalInfoId` whatever its period. UI edits keep the id.
//! - An empty list has one empty page (`totalPages` = `lastPage` = 1). Bad
//!   `pageNumber`/`pageSize` (not an integer ≥ 1) is a 400 naming the parameter.
//! - Writes need `Content-Type: application/json` (else 415), as ASP.NET does.
//! - E-mail fields: `null` or `local@domain.tld`; an empty string is refused.
//! - A stalled API call is processed, only its answer is late (the client
//!   cannot tell whether its write happened). A dropped call is not processed.
//!   A stalled token call waits before processing, so a client that gave up
//!   keeps its refresh token. The token endpoint has no latency, rate limit or
//!   random faults (it is another service), only [`Sandbox::inject_token_fault`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use nmbrs_sync::sandbox::{Sandbox, SandboxOptions, seed_default};
//! let sandbox = Sandbox::new(SandboxOptions::default());
//! let refresh_token = seed_default(&sandbox);
//! let running = sandbox.start(0).await?;
//! println!("API at {}, tokens at {}", running.base_url(), running.token_url());
//! # let _ = refresh_token;
//! running.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
mod conn;
mod faults;
mod model;
pub(crate) mod openapi;
mod routes;
mod state;
mod stats;
mod validation;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::response::Response;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use auth::{ALL_SCOPES, SCOPE_COMPANY_READ, SCOPE_EMPLOYEE_INFO, SCOPE_EMPLOYEE_READ};
pub use faults::{Fault, FaultOptions};
pub use stats::CallStats;

use auth::AuthState;
use conn::{ConnHandle, KillableListener};
use faults::FaultControl;
use routes::Counter;
use state::Store;

/// Subscription key of [`seed_default`].
pub const DEFAULT_SUBSCRIPTION_KEY: &str = "sandbox-subscription-key";
/// OAuth client id of [`seed_default`].
pub const DEFAULT_CLIENT_ID: &str = "sandbox-client";
/// OAuth client secret of [`seed_default`].
pub const DEFAULT_CLIENT_SECRET: &str = "sandbox-secret";

/// How long [`RunningSandbox::shutdown`] waits for calls in flight (e.g. stalled ones).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Start-up configuration. Latency, rate limit and faults can be changed later
/// on the running [`Sandbox`].
#[derive(Clone, Debug)]
pub struct SandboxOptions {
    /// Added to every API response (not the token endpoint).
    pub latency: Duration,
    /// Requests per second across all API calls (token bucket, burst = the rate);
    /// excess calls get 429 with an integer `Retry-After` >= 1. `None`: unlimited.
    pub rate_limit_per_sec: Option<u32>,
    /// Page size when a list call does not ask for one.
    pub default_page_size: u32,
    /// Larger `pageSize` values are capped to this, like a real server.
    pub max_page_size: u32,
    /// Lifetime of issued access tokens.
    pub access_token_ttl: Duration,
    /// Random faults.
    pub faults: FaultOptions,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            latency: Duration::ZERO,
            rate_limit_per_sec: None,
            default_page_size: 100,
            max_page_size: 100,
            access_token_ttl: Duration::from_secs(3600),
            faults: FaultOptions::default(),
        }
    }
}

/// Shared state behind every clone of a [`Sandbox`].
pub(crate) struct Inner {
    store: Mutex<Store>,
    auth: Mutex<AuthState>,
    faults: Mutex<FaultControl>,
    stats: Mutex<CallStats>,
    pub(crate) default_page_size: u32,
    pub(crate) max_page_size: u32,
    pub(crate) access_token_ttl: Duration,
}

/// A poisoned lock only means a handler panicked mid-update; the sandbox's
/// data stays usable, so carry on rather than failing every later call.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Inner {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }
    pub(crate) fn auth(&self) -> MutexGuard<'_, AuthState> {
        lock(&self.auth)
    }
    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultControl> {
        lock(&self.faults)
    }
    pub(crate) fn stats(&self) -> MutexGuard<'_, CallStats> {
        lock(&self.stats)
    }

    /// Records the status of an API answer (and the extra counter) and passes it on.
    pub(crate) fn finish(&self, resp: Response, counter: Counter) -> Response {
        let mut stats = self.stats();
        stats.on_status(resp.status().as_u16());
        match counter {
            Counter::None => {}
            Counter::Throttled => stats.throttled += 1,
            Counter::Fault => stats.faults += 1,
        }
        resp
    }
}

/// The in-memory Nmbrs. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

impl Sandbox {
    /// A sandbox with no companies, clients or keys (see [`seed_default`]).
    pub fn new(options: SandboxOptions) -> Sandbox {
        let mut faults = FaultControl::default();
        faults.latency = options.latency;
        faults.random = options.faults;
        faults.set_rate_limit(options.rate_limit_per_sec);
        Sandbox {
            inner: Arc::new(Inner {
                store: Mutex::new(Store::default()),
                auth: Mutex::new(AuthState::default()),
                faults: Mutex::new(faults),
                stats: Mutex::new(CallStats::default()),
                default_page_size: options.default_page_size.max(1),
                max_page_size: options.max_page_size.max(1),
                access_token_ttl: options.access_token_ttl,
            }),
        }
    }

    /// Binds 127.0.0.1:`port` (0 = ephemeral) and serves in a background tokio
    /// task until [`RunningSandbox::shutdown`] or until the handle is dropped.
    pub async fn start(&self, port: u16) -> std::io::Result<RunningSandbox> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let app = routes::router(self.clone()).into_make_service_with_connect_info::<ConnHandle>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // Dropping the sender (handle dropped) stops the server as well.
            let stop = async move {
                let _ = stop_rx.await;
            };
            axum::serve(KillableListener(listener), app)
                .with_graceful_shutdown(stop)
                .await
        });
        Ok(RunningSandbox {
            addr,
            sandbox: self.clone(),
            stop: stop_tx,
            task,
        })
    }

    // ------------------------------------------------------------ seeding

    /// Adds a company; returns its `companyId`.
    pub fn add_company(&self, number: &str, name: &str) -> String {
        self.inner.store().add_company(number, name)
    }

    /// The `companyId` of the company with this `number`, if any.
    pub fn company_id(&self, number: &str) -> Option<String> {
        self.inner
            .store()
            .companies()
            .into_iter()
            .find(|c| c.number == number)
            .map(|c| c.company_id)
    }

    /// Registers an OAuth client with its scopes; returns its first refresh token.
    pub fn add_client(&self, client_id: &str, client_secret: &str, scopes: &[&str]) -> String {
        self.inner
            .auth()
            .add_client(client_id, client_secret, scopes)
    }

    /// Accepts `key` as an `X-Subscription-Key`.
    pub fn add_subscription_key(&self, key: &str) {
        self.inner.auth().add_subscription_key(key);
    }

    /// Inserts an employee directly (no HTTP, not counted, not validated: a
    /// test may plant data Nmbrs accepted through its UI). `personal_info` has
    /// the shape of a PUT body (basicInfo, birthInfo, contactInfo, partnerInfo,
    /// period); missing fields become null, a missing employee number is
    /// assigned. Returns the `employeeId`.
    ///
    /// # Panics
    /// If `company_id` is unknown: that is a bug in the test or seed code.
    pub fn seed_employee(&self, company_id: &str, personal_info: Value) -> String {
        let sections = validation::normalise_lenient(&personal_info);
        match self.inner.store().create_employee(company_id, sections) {
            Ok(id) => id,
            Err(e) => panic!("seed_employee: {e}"),
        }
    }

    // ------------------------------------------------------------ inspecting / editing

    /// The employee as `GET /employees/{id}` returns its item:
    /// `{"employeeId", "personalInfo": {...}}`.
    pub fn employee(&self, employee_id: &str) -> Option<Value> {
        self.inner
            .store()
            .employee(employee_id)
            .ok()
            .map(|e| e.to_json())
    }

    /// All employees of a company, in creation order (empty for an unknown company).
    pub fn employees(&self, company_id: &str) -> Vec<Value> {
        self.inner
            .store()
            .company_employees(company_id)
            .map(|v| v.into_iter().map(|e| e.to_json()).collect())
            .unwrap_or_default()
    }

    /// Number of employees over all companies.
    pub fn employee_count(&self) -> usize {
        self.inner.store().employee_count()
    }

    /// Sets one field, path like `"basicInfo.lastName"`, as a person editing
    /// in the Nmbrs UI would (no validation, same `personalInfoId`).
    /// Returns false for an unknown employee or an empty path segment.
    pub fn edit_personal_info(&self, employee_id: &str, path: &str, value: Value) -> bool {
        self.inner.store().edit_field(employee_id, path, value)
    }

    /// Every access token the token endpoint has issued, oldest first, expired ones included.
    /// For leak tests: none of them may show up in logs or databases.
    pub fn issued_access_tokens(&self) -> Vec<String> {
        self.inner.auth().issued_access_tokens()
    }

    /// Every refresh token issued (by [`Sandbox::add_client`] and by each rotation), oldest
    /// first. For leak tests: only the newest may be stored, in the state database's `oauth_state`.
    pub fn issued_refresh_tokens(&self) -> Vec<String> {
        self.inner.auth().issued_refresh_tokens()
    }

    // ------------------------------------------------------------ knobs

    /// Latency added to every API response from now on.
    pub fn set_latency(&self, d: Duration) {
        self.inner.faults().latency = d;
    }

    /// Replaces the rate limit (a new, full bucket); `None` removes it.
    pub fn set_rate_limit(&self, per_sec: Option<u32>) {
        self.inner.faults().set_rate_limit(per_sec);
    }

    /// Replaces the random fault rates.
    pub fn set_faults(&self, f: FaultOptions) {
        self.inner.faults().random = f;
    }

    /// The next `count` API calls get `fault` before rate limiting, random
    /// faults, authorization or business logic. Injections queue up in order.
    pub fn inject(&self, fault: Fault, count: usize) {
        self.inner.faults().inject(fault, count);
    }

    /// Like [`Sandbox::inject`], for the token endpoint (which otherwise has no
    /// latency, rate limit or random faults: it is a separate service).
    pub fn inject_token_fault(&self, fault: Fault, count: usize) {
        self.inner.faults().inject_token(fault, count);
    }

    /// Tokens issued from now on lack `scope`; tokens already issued keep it
    /// until they expire, as with a real identity service.
    pub fn revoke_scope(&self, client_id: &str, scope: &str) {
        self.inner.auth().revoke_scope(client_id, scope);
    }

    // ------------------------------------------------------------ counting

    /// A snapshot of the call counters.
    pub fn stats(&self) -> CallStats {
        self.inner.stats().clone()
    }

    /// Sets all counters to zero.
    pub fn reset_stats(&self) {
        *self.inner.stats() = CallStats::default();
    }
}

/// A sandbox serving HTTP. Dropping it stops the server (gracefully, in the
/// background); prefer [`RunningSandbox::shutdown`] to wait for that.
#[must_use = "dropping a RunningSandbox stops the server"]
pub struct RunningSandbox {
    addr: SocketAddr,
    sandbox: Sandbox,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningSandbox {
    /// `http://127.0.0.1:PORT/api`, the value for `nmbrs.base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// `http://127.0.0.1:PORT/connect/token`, the value for `nmbrs.token_url`.
    pub fn token_url(&self) -> String {
        format!("http://{}/connect/token", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The sandbox being served (for seeding, knobs and stats).
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Stops accepting connections and waits for calls in flight, at most
    /// a few seconds (a stalled call is then cut off).
    pub async fn shutdown(self) {
        let RunningSandbox { stop, mut task, .. } = self;
        let _ = stop.send(());
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

/// Seed used by `nmbrs-sync sandbox` standalone and by the demo: companies "1"
/// ("Company 1") and "2" ("Company 2"), client `sandbox-client` /
/// `sandbox-secret` with all three scopes, subscription key
/// `sandbox-subscription-key`. Returns the initial refresh token.
pub fn seed_default(sandbox: &Sandbox) -> String {
    sandbox.add_company("1", "Company 1");
    sandbox.add_company("2", "Company 2");
    sandbox.add_subscription_key(DEFAULT_SUBSCRIPTION_KEY);
    sandbox.add_client(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, &ALL_SCOPES)
}
