//! In-memory imitation of the Nmbrs REST API. The source of truth for every
//! shape and rule is the vendor's OpenAPI description, vendored at
//! `docs/nmbrs-openapi.yaml` (summarised in `docs/nmbrs-api.md`).
//!
//! A product feature (`nmbrs-sync sandbox --port P` lets users rehearse their
//! configuration) and the fake behind every integration test and benchmark.
//! It behaves like Nmbrs, not like whatever suits our client: strict JSON,
//! rotating refresh tokens, personal info kept as a history of period entries
//! and replaced (not merged) by a PUT, read shapes that differ from write
//! shapes, Dutch dates written as UTC instants, throttling and faults on demand.
//!
//! Behaviour choices where the description is silent or odd (each kept in one place):
//! - Order for an API call: counted → latency → scripted fault → rate limit →
//!   random fault → subscription key → bearer token → scope → request check →
//!   handler → response check. Unknown operations (path or method) answer 404
//!   40401 without any key or token check.
//! - `createdAt` is Dutch wall-clock time (CET/CEST) followed by a `Z`: the
//!   description says "timezone CET" and its examples end in `Z`. `createdFrom`
//!   with an offset is converted to Dutch time before the comparison; without
//!   one it is taken as Dutch time (see `clock`).
//! - `birthDate`/`deceasedOn` are read as date-times in [`DateStyle`]; a PUT's
//!   date-time is taken as its calendar date in Dutch time.
//! - Sandbox companies are monthly payrolls: the current period is the Dutch
//!   year and month; the entry "in force" is the one with the latest period not
//!   after it (then the latest `createdAt`), else the earliest entry.
//! - A missing `period` in a create or PUT means the current period. A PUT
//!   replaces the entry of its period (new `personalInfoId` and `createdAt`);
//!   `employeeType` and, when absent, the employee number carry over from the
//!   entry in force (the read schema does not allow a null employee number).
//! - Create answers `201 {"employeeId"}`; a missing employee number is assigned
//!   (highest in the company + 1). `personalInfoId`/`createdAt` in a write body are 400s.
//! - Error bodies follow `components.responses`; a missing or unknown
//!   subscription key is 403 40304, a wrong method 404 40401, a non-JSON write
//!   body 400 (the description lists no 405 or 415).
//! - Page links keep the request's other query parameters (filters).
//! - Every request to a described operation is checked against the
//!   description by the contract validator (`openapi`; violations answer 400
//!   40033 naming the parameter or JSON pointer), and so is every answer:
//!   an answer that breaks it is still sent, but recorded (see
//!   [`Sandbox::contract_violations`]) and logged with `tracing::error!`.
//!   The description lists no 429 for `GET /api/debtors/{debtorId}/companies`,
//!   so throttling that call is recorded too.
//! - Reads never send null where the description forbids it: an unknown birth
//!   country or nationality is `{}`, no ascription is `{"ascription": null}`,
//!   no marital status is `notSpecified`. `maritalStatus` sits at `partnerInfo`
//!   level as the `EmployeePartnerInfo` schema says (the description's example
//!   nests it under `ascription`).
//! - A stalled API call is processed, only its answer is late (the client
//!   cannot tell whether its write happened). A dropped call is not processed.
//!   A stalled token call waits before processing, so a client that gave up
//!   keeps its refresh token. The token endpoint has no latency, rate limit or
//!   random faults (it is another service), only [`Sandbox::inject_token_fault`].
//! - `GET /connect/authorize` consents at once (no login page) and redirects with the code; redirect
//!   URIs are not registered per client (any absolute http(s) one is accepted); PKCE S256 is
//!   required. A code lives 5 minutes and is spent by its first redemption attempt. Only a consent
//!   with `offline_access` yields refresh tokens; their grants keep the consented scopes (narrowed
//!   to the client's current ones). Seed refresh tokens stand for all of the client's scopes.
//! - The histories beyond personal info (`employments`, `contracts`, `functions`, `departments`,
//!   `managers`, `addresses`, `privateInfos`) list every employee of the company, one without
//!   entries with an empty array; with `createdFrom`/`changedFrom` only employees with an entry
//!   created/changed since then, with those entries (`createdFrom` compares an employment's
//!   `creationDate`, `changedFrom` its `changedDate`). Only the filters the description declares
//!   apply: `privateInfos` ignores `employeeId`, only `employments` has `changedFrom`.
//! - Entries are listed oldest first: by period, then start date, then creation stamp (the
//!   description's contract and address examples happen to be newest first; order is not a contract).
//! - A create with `inServiceDate` starts the first employment (seniority date = start date, as
//!   for a `POST …/employment` without one). A new employment is refused (400 `/startDate`) while
//!   another is open or ends on or after its start.
//! - Partial updates (`PUT …/employment`, `PUT …/contract`): an absent member stays, `null` clears
//!   it; without `employmentId`/`contractId` the latest by start date is updated; an unknown id,
//!   or none to update, is 404. Clearing the end of service date clears the reason too.
//! - `PUT …/employment`: the reason must be a code of `GET /debtors/endcontractreasons/{Year}` and
//!   needs an end date (400 `/endOfContractReason`); an end before the start, or one that makes
//!   employments overlap, is 400 `/endOfServiceDate`; `changedDate` becomes now. `DELETE
//!   …/endOfServiceDate` answers 204 also for an open employment and 400 `employmentId` if the
//!   reopened employment would overlap another.
//! - The end-of-contract reasons are an invented fixed list (1 Resignation by employee … 6 Death),
//!   the same for every year 1900–2999 (another `Year` is 400).
//! - Contracts: end and trial period not before the start; a temporary contract (`indefinite:
//!   false`) needs an end date (the description says "mandatory when it's a permanent contract",
//!   taken as a slip); 0–168 hours a week. A PUT changes the contract in place (same `contractId`
//!   and `createdAt`, so `createdFrom` does not see it).
//! - Function/department/manager PUTs: the object must be the employee's debtor's (else 400
//!   `/functionId` …); the entry copies its code and description (a manager's name and e-mail) as
//!   they are then; it replaces the entry of its period or is added. The answered
//!   `employeeFunctionId` (…) identifies the entry and appears in no read.
//! - `POST …/address` appends an entry; `countryISOCode` must be two letters (kept upper-case);
//!   `isDefault` is kept as sent (absent: false) and no other entry changes.
//! - `PUT …/socialsecuritynumber` takes 9 digits passing the eleven test and appends a
//!   `privateInfos` entry; its `personalnfoId` (sic) identifies that entry.
//! - A 400 from an operation whose description lists no 400 (`PUT` employment, contract,
//!   department, manager) is checked against the shared `400-error` response, not recorded as an
//!   undocumented status: those bodies can be refused like any other.
//! - A debtor's departments list the managers whose department it is; a manager gets the
//!   debtor's department and function with the lowest code (`seed_default` picks them).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use nmbrs_sandbox::{Sandbox, SandboxOptions, seed_default};
//! let sandbox = Sandbox::new(SandboxOptions::default());
//! let refresh_token = seed_default(&sandbox);
//! let running = sandbox.start(0).await?;
//! println!("API at {}, tokens at {}", running.base_url(), running.token_url());
//! # let _ = refresh_token;
//! running.shutdown().await;
//! # Ok(()) }
//! ```

mod api;
mod auth;
mod checks;
mod clock;
mod conn;
mod countries;
mod faults;
mod model;
pub(crate) mod openapi;
mod org;
mod paging;
mod person;
mod records;
mod routes;
mod state;
mod stats;
mod validation;
mod write;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::response::Response;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use auth::{
    ALL_SCOPES, SCOPE_COMPANY_INFO, SCOPE_COMPANY_READ, SCOPE_DEBTOR_READ, SCOPE_EMPLOYEE_INFO,
    SCOPE_EMPLOYEE_READ, SCOPE_EMPLOYMENT, SCOPE_EMPLOYMENT_READ, SCOPE_OFFLINE_ACCESS,
    SCOPE_ORGSTRUCTURE, SCOPE_ORGSTRUCTURE_READ,
};
pub use clock::DateStyle;
pub use faults::{Fault, FaultOptions};
pub use stats::CallStats;

use auth::AuthState;
use conn::{ConnHandle, KillableListener};
use faults::FaultControl;
use routes::errors::SentJson;
use routes::{Counter, Served};
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
    /// excess calls get 429 42908 with an integer `Retry-After` >= 1. `None`: unlimited.
    pub rate_limit_per_sec: Option<u32>,
    /// Page size when a list call does not ask for one (the description's default is 20).
    pub default_page_size: u32,
    /// Most rows served per page, at most 100. A `pageSize` above 100 is a 400
    /// (the parameter's `maximum`); one up to 100 but above this is served with
    /// this many rows (the answer's `pageSize` says so), to rehearse a stingier server.
    pub max_page_size: u32,
    /// Lifetime of issued access tokens.
    pub access_token_ttl: Duration,
    /// How `birthDate`/`deceasedOn` are written in reads.
    pub date_style: DateStyle,
    /// Random faults.
    pub faults: FaultOptions,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            latency: Duration::ZERO,
            rate_limit_per_sec: None,
            default_page_size: 20,
            max_page_size: paging::MAX_PAGE_SIZE,
            access_token_ttl: Duration::from_secs(3600),
            date_style: DateStyle::default(),
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
    violations: Mutex<Vec<String>>,
    /// Actions to run before the n-th call to a route (tests that need Nmbrs to change mid-read).
    before_calls: Mutex<Vec<BeforeCall>>,
    pub(crate) default_page_size: u32,
    pub(crate) max_page_size: u32,
    pub(crate) access_token_ttl: Duration,
    pub(crate) date_style: DateStyle,
}

/// A change to make to the sandbox's data, run by the API pipeline.
pub(crate) type Action = Box<dyn FnOnce(&Sandbox) + Send>;

/// An action due before the `nth` call (1-based, counted from its registration) to `route_key`.
pub(crate) struct BeforeCall {
    route_key: String,
    nth: u64,
    action: Action,
}

/// A poisoned lock only means a handler panicked mid-update; the sandbox's
/// data stays usable, so carry on rather than failing every later call.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Inner {
    /// Takes the actions due before this call to `route_key` (counting the call).
    pub(crate) fn due_before(&self, route_key: &str) -> Vec<Action> {
        let mut pending = lock(&self.before_calls);
        let mut due = Vec::new();
        let mut keep = Vec::new();
        for mut b in pending.drain(..) {
            if b.route_key == route_key {
                b.nth -= 1;
                if b.nth == 0 {
                    due.push(b.action);
                    continue;
                }
            }
            keep.push(b);
        }
        *pending = keep;
        due
    }

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

    /// Records the status of an API answer (and the extra counter), checks it
    /// against the description when it answers one of its operations, and passes it on.
    pub(crate) fn finish(
        &self,
        resp: Response,
        counter: Counter,
        operation: Option<&Served>,
    ) -> Response {
        {
            let mut stats = self.stats();
            stats.on_status(resp.status().as_u16());
            match counter {
                Counter::None => {}
                Counter::Throttled => stats.throttled += 1,
                Counter::Fault => stats.faults += 1,
            }
        }
        if let Some(Served {
            method,
            route,
            path,
        }) = operation
        {
            let body = resp.extensions().get::<SentJson>().map(|b| &b.0);
            let status = resp.status().as_u16();
            for (pointer, message) in checks::response_problems(method, path, status, body) {
                self.record_violation(format!("{method} {route} {status} {pointer}: {message}"));
            }
        }
        resp
    }

    /// Keeps a contract violation of the sandbox itself, loudly.
    fn record_violation(&self, v: String) {
        tracing::error!(violation = %v, "sandbox answer violates the Nmbrs OpenAPI description");
        lock(&self.violations).push(v);
    }
}

/// The in-memory Nmbrs. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

impl Sandbox {
    /// A sandbox with no debtors, companies, clients or keys (see [`seed_default`]).
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
                violations: Mutex::new(Vec::new()),
                before_calls: Mutex::new(Vec::new()),
                default_page_size: options.default_page_size.clamp(1, paging::MAX_PAGE_SIZE),
                max_page_size: options.max_page_size.clamp(1, paging::MAX_PAGE_SIZE),
                access_token_ttl: options.access_token_ttl,
                date_style: options.date_style,
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

    /// Every answer so far that broke the description (`"METHOD /route STATUS
    /// /pointer: message"`), oldest first. Tests assert it stays empty.
    pub fn contract_violations(&self) -> Vec<String> {
        lock(&self.inner.violations).clone()
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

    /// `http://127.0.0.1:PORT/connect/authorize`, the value for `nmbrs.authorize_url`.
    pub fn authorize_url(&self) -> String {
        format!("http://{}/connect/authorize", self.addr)
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
/// ("Company 1") and "2" ("Company 2") of one debtor, client `sandbox-client` /
/// `sandbox-secret` with [`ALL_SCOPES`], subscription key
/// `sandbox-subscription-key`. The debtor has functions 1 "Payroll
/// Specialist", 2 "Sales Lead", 3 "Software Engineer", departments 1
/// "Finance", 2 "Sales", 3 "Engineering" and two (invented) managers: Mila de
/// Boer (Finance, Payroll Specialist) and Sem Jansen (Sales, Sales Lead).
/// Returns the initial refresh token.
pub fn seed_default(sandbox: &Sandbox) -> String {
    sandbox.add_company("1", "Company 1");
    sandbox.add_company("2", "Company 2");
    if let Some(debtor) = sandbox.default_debtor_id() {
        seed_org(sandbox, &debtor);
    }
    sandbox.add_subscription_key(DEFAULT_SUBSCRIPTION_KEY);
    sandbox.add_client(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, &ALL_SCOPES)
}

/// The organisation structure of [`seed_default`]'s debtor: functions 1 "Payroll Specialist",
/// 2 "Sales Lead", 3 "Software Engineer"; departments 1 "Finance", 2 "Sales", 3 "Engineering";
/// managers "Mila de Boer" and "Sem Jansen" (invented people).
pub fn seed_org(sandbox: &Sandbox, debtor_id: &str) {
    for (code, function) in [
        (1, "Payroll Specialist"),
        (2, "Sales Lead"),
        (3, "Software Engineer"),
    ] {
        sandbox.add_function(debtor_id, code, function);
    }
    for (code, department) in [(1, "Finance"), (2, "Sales"), (3, "Engineering")] {
        sandbox.add_department(debtor_id, code, department);
    }
    let managers = [
        ("Mila", "de Boer", "mila.deboer@example.nl", "Female", 1),
        ("Sem", "Jansen", "sem.jansen@example.nl", "Male", 2),
    ];
    let mut store = sandbox.inner.store();
    if let Ok(org) = store.org_mut(debtor_id) {
        for (first_name, last_name, email, gender, code) in managers {
            org.add_manager(org::NewManager {
                first_name,
                last_name,
                email,
                gender,
                department_code: Some(code),
                function_code: Some(code),
            });
        }
    }
}
