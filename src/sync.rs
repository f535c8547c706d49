//! One sync cycle: read the HRIS → read Nmbrs → plan → apply → record, company by company.
//!
//! Companies are handled one at a time so memory holds one company's rows and employees, not the
//! whole estate; inside a company independent records are applied concurrently
//! (`nmbrs.max_concurrency`), each record's own steps in order.
//!
//! Long because it is the one orchestration of a cycle: read → plan → apply → record.

use crate::apply::{Applier, Counts};
use crate::config::{ConfigError, PeriodSetting, Settings};
use crate::fields::Resource;
use crate::hris::changed::{self, HRIS_MARK, select_rows};
use crate::hris::validate::today_utc;
use crate::hris::{HrisDb, HrisError};
use crate::nmbrs::model::CreateDefaults;
use crate::nmbrs::model::resources::ReadAt;
use crate::nmbrs::read::{
    CompanyListings, Reducer, company_listings, debtor_references, employee_histories, incremental,
    known_employees, newest_stamp, recent_keys, resources_for, since,
};
use crate::nmbrs::{ApiError, Company, NmbrsClient, Period};
use crate::plan::reference::{References, resolve_rows};
use crate::plan::{
    CompanyInput, Decision, RecordUpdate, Rules, plan_company, plan_unknown_companies,
};
use crate::shutdown::CancellationToken;
use crate::state::marks::ReadMark;
use crate::state::{AuditEntry, StateDb, StateError};
use futures::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Why a cycle could not run at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Hris(#[from] HrisError),
    #[error("{0}")]
    Nmbrs(String),
    #[error("could not build the HTTP client: {0}")]
    Http(String),
}

/// How a run ended (`sync_runs.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// Every record in agreement or deliberately skipped.
    Succeeded,
    /// Finished; some records failed.
    Partial,
    /// Stopped by a shutdown request.
    Interrupted,
    /// Nothing could be synced (credentials refused...).
    Failed,
}

impl RunStatus {
    /// Stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        }
    }

    /// Exit code of `sync --once` (docs/SPEC.md).
    pub fn exit_code(self) -> i32 {
        match self {
            RunStatus::Succeeded | RunStatus::Interrupted => 0,
            RunStatus::Partial => 1,
            RunStatus::Failed => 2,
        }
    }
}

/// What a cycle did.
#[derive(Clone, Debug)]
pub struct CycleReport {
    pub run_id: i64,
    pub status: RunStatus,
    pub counts: Counts,
    /// API requests sent (retries included, token endpoint excluded).
    pub api_calls: u64,
    /// POST/PUT requests sent.
    pub write_calls: u64,
    pub retries: u64,
    pub duration: Duration,
    /// Why the run failed, when it did.
    pub error: Option<String>,
    /// A dry run: the counts say what the cycle would do.
    pub dry_run: bool,
}

impl CycleReport {
    /// The one-line summary printed and logged at the end of a cycle; a dry run says what it
    /// would do ("would create 1, …"), since nothing was written.
    pub fn summary(&self) -> String {
        let c = &self.counts;
        let (mode, w) = if self.dry_run {
            (
                " (dry run, nothing written)",
                [
                    "would create",
                    "would link",
                    "would update",
                    "would pull",
                    "would import",
                ],
            )
        } else {
            ("", ["created", "linked", "updated", "pulled", "imported"])
        };
        format!(
            "run {} {}{mode}: {} records — {} {}, {} {}, {} {}, {} {}, {} {}, unchanged {}, conflicts {}, skipped {}, pending {}, rejected {}, failed {}, quarantined {}; {} API calls ({} writes, {} retries) in {:.1} s{}",
            self.run_id,
            self.status.as_str(),
            c.records,
            w[0],
            c.created,
            w[1],
            c.linked,
            w[2],
            c.updated,
            w[3],
            c.pulled,
            w[4],
            c.imported,
            c.unchanged,
            c.conflicts,
            c.skipped,
            c.pending,
            c.rejected,
            c.failed,
            c.quarantined,
            self.api_calls,
            self.write_calls,
            self.retries,
            self.duration.as_secs_f64(),
            self.error
                .as_deref()
                .map(|e| format!(" — {e}"))
                .unwrap_or_default()
        )
    }
}

/// What every step of one run needs to know about it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunContext {
    pub(crate) run_id: i64,
    pub(crate) dry_run: bool,
    /// The payroll period written with creates and PUTs, and read as "in force".
    pub(crate) period: Period,
    /// The start of the run (UTC).
    pub(crate) now: OffsetDateTime,
    /// The calendar date employments and contracts are read for: the last day of the payroll
    /// period when it is a month, else the run's date (in `sync.timezone`).
    pub(crate) as_of: time::Date,
}

impl RunContext {
    /// When histories are read in this run.
    pub(crate) fn read_at(&self) -> ReadAt {
        ReadAt {
            period: self.period,
            as_of: self.as_of.to_string(),
        }
    }
}

/// The last day of `period` when it is a month (1–12), else `today`.
fn period_end(period: Period, today: time::Date) -> time::Date {
    time::Month::try_from(period.period)
        .ok()
        .and_then(|m| time::Date::from_calendar_date(period.year, m, m.length(period.year)).ok())
        .unwrap_or(today)
}

/// Why a cycle stopped before its end (the run is `failed`, exit 2). Inner seams carry this; the
/// report turns it into text at the edge.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StopCycle {
    /// Nmbrs refused the credentials, the scope, the subscription or the quota.
    #[error(transparent)]
    Nmbrs(#[from] ApiError),
    #[error(transparent)]
    Hris(#[from] HrisError),
    #[error(transparent)]
    State(#[from] StateError),
    /// A record's apply step ended the cycle (credentials refused mid-cycle, state database down).
    #[error("{0}")]
    Record(String),
    #[error("the listing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Everything a cycle needs, built once from settings and reused by the daemon.
#[derive(Clone, Debug)]
pub struct Syncer {
    pub settings: Arc<Settings>,
    pub client: NmbrsClient,
    pub hris: HrisDb,
    pub state: StateDb,
    pub rules: Rules,
}

/// What was read from Nmbrs for one company: its listings (whole, or since the last read when
/// `since` is not empty) and its debtor's reference objects.
struct CompanyRead {
    /// The listings' responses and what they read, folded per employee.
    listings: (CompanyListings, crate::nmbrs::fold::Fold),
    refs: Arc<References>,
    /// Per resource, the `createdFrom` its listing was read from; empty: read whole.
    since: HashMap<Resource, String>,
    /// The read marks before this read (kept where an incremental listing saw nothing newer).
    marks_before: HashMap<String, ReadMark>,
    /// Each HRIS row's key and `updated_at` (`None`: the HRIS is read whole every cycle).
    keys: Option<Vec<crate::hris::RowKey>>,
}

/// Per resource, where an incremental read starts ([`since`]); empty (read the company whole) when
/// any resource has no usable mark.
fn since_marks(
    resources: &[Resource],
    marks: &HashMap<String, ReadMark>,
) -> HashMap<Resource, String> {
    let from: Option<HashMap<Resource, String>> = resources
        .iter()
        .map(|r| {
            let m = marks.get(r.name())?;
            Some((*r, since(m.watermark.as_deref(), m.read_at)?))
        })
        .collect();
    from.unwrap_or_default()
}

/// A company's listings, or the first that failed.
#[allow(clippy::type_complexity, clippy::result_large_err)] // the error keeps the HTTP facts for the audit row, like every call's
fn split_listings(
    listings: CompanyListings,
) -> Result<
    Vec<(
        Resource,
        crate::nmbrs::Response<Vec<crate::nmbrs::read::Reduced>>,
    )>,
    (Resource, ApiError),
> {
    listings
        .into_iter()
        .map(|(r, l)| l.map(|l| (r, l)).map_err(|e| (r, e)))
        .collect()
}

/// `now`'s calendar date on the clock of `tz`.
fn local_date(now: OffsetDateTime, tz: chrono_tz::Tz) -> time::Date {
    use chrono::{Datelike, TimeZone};
    tz.timestamp_opt(now.unix_timestamp(), 0)
        .single()
        .and_then(|l| {
            time::Date::from_calendar_date(
                l.year(),
                time::Month::try_from(l.month() as u8).ok()?,
                l.day() as u8,
            )
            .ok()
        })
        .unwrap_or(now.date())
}

/// The payroll period from `sync.period` at `now` (`current` = this year and month on the clock of
/// `sync.timezone`).
pub fn period_for(setting: &PeriodSetting, now: OffsetDateTime, tz: chrono_tz::Tz) -> Period {
    use chrono::{Datelike, TimeZone};
    match setting {
        PeriodSetting::Explicit { year, period } => Period {
            year: *year,
            period: *period,
        },
        PeriodSetting::Named(_) => {
            let local = tz.timestamp_opt(now.unix_timestamp(), 0).single();
            Period {
                year: local.map_or(now.year(), |l| l.year()),
                period: local.map_or(u8::from(now.month()), |l| l.month() as u8),
            }
        }
    }
}

impl Syncer {
    /// Opens both databases and builds the client.
    ///
    /// Errors: [`CycleError`] for bad secrets, unreachable databases or a missing table/column.
    pub async fn new(settings: Settings) -> Result<Syncer, CycleError> {
        let secrets = settings.secrets()?;
        let columns = settings
            .columns()
            .map_err(|(key, message)| ConfigError::Invalid {
                key,
                origin: "settings".into(),
                message,
            })?;
        let state = StateDb::open(&settings.state.database_url)
            .await?
            .with_seal_key(settings.seal_key()?)
            .await?;
        crate::fields::set_bsn_key(state.bsn_key().await?);
        let hris = HrisDb::open(
            &settings.hris.database_url,
            &settings.hris.table,
            columns,
            std::time::Duration::from_secs(settings.hris.busy_timeout_secs),
        )
        .await?
        .read_only(!settings.hris.write_back)
        .incremental(settings.hris.incremental);
        let client = NmbrsClient::new(&settings, &secrets, Arc::new(state.clone()))
            .map_err(|e| CycleError::Http(e.to_string()))?;
        let rules = Rules {
            fields: hris.synced_fields(),
            owners: settings.field_owners(),
            conflict_policy: settings.sync.conflict_policy,
            import_from_nmbrs: settings.sync.import_from_nmbrs,
            write_back: settings.hris.write_back,
        };
        Ok(Syncer {
            settings: Arc::new(settings),
            client,
            hris,
            state,
            rules,
        })
    }

    /// Runs one cycle. A cancelled `shutdown` makes it finish the records in flight and end as
    /// `interrupted`; a fatal error ends only this cycle (it cancels a child token).
    ///
    /// Errors: only when the run could not even be recorded (state database); every other failure
    /// is in the report (status `failed` / `partial`).
    pub async fn run_cycle(
        &self,
        trigger: &str,
        dry_run: bool,
        shutdown: &CancellationToken,
    ) -> Result<CycleReport, CycleError> {
        let stop = shutdown.child_token();
        let started = Instant::now();
        self.state.close_abandoned_runs().await?;
        let run_id = self.state.start_run(trigger, dry_run).await?;
        let now = OffsetDateTime::now_utc();
        let period = period_for(&self.settings.sync.period, now, self.settings.timezone());
        let ctx = RunContext {
            run_id,
            dry_run,
            period,
            now,
            as_of: period_end(period, local_date(now, self.settings.timezone())),
        };
        let span = tracing::info_span!("run", run_id, dry_run);
        let before = snapshot_counters(&self.client);
        let mut counts = Counts::default();
        let result =
            tracing::Instrument::instrument(self.cycle(&ctx, &mut counts, &stop), span).await;
        let after = snapshot_counters(&self.client);
        let (error, interrupted) = match result {
            Ok(interrupted) => (None, interrupted),
            Err(e) => (Some(self.stopped(run_id, e).await), false),
        };
        let status = if error.is_some() {
            RunStatus::Failed
        } else if interrupted {
            RunStatus::Interrupted
        } else if counts.failures() > 0 {
            RunStatus::Partial
        } else {
            RunStatus::Succeeded
        };
        let report = CycleReport {
            run_id,
            status,
            counts,
            api_calls: after.0 - before.0,
            write_calls: after.1 - before.1,
            retries: after.2 - before.2,
            duration: started.elapsed(),
            error,
            dry_run,
        };
        // Retention (audit.retention_days): erasing old values never fails the cycle.
        if !dry_run
            && let Err(e) = self
                .state
                .prune_audit(self.settings.audit.retention_days, now, Some(run_id))
                .await
        {
            tracing::warn!(error = %e, "audit retention could not erase old values; retried next cycle");
        }
        let counts_json = serde_json::to_string(&report.counts).unwrap_or_else(|_| "{}".into());
        self.state
            .finish_run(
                run_id,
                status.as_str(),
                &counts_json,
                report.api_calls,
                report.error.as_deref(),
            )
            .await?;
        metrics::counter!("nmbrs_sync_runs_total", "status" => status.as_str()).increment(1);
        metrics::histogram!("nmbrs_sync_cycle_duration_seconds")
            .record(report.duration.as_secs_f64());
        if let (Ok(q), Ok(c)) = (
            self.state
                .links_with_status(&[crate::record::LinkStatus::Quarantined])
                .await,
            self.state
                .links_with_status(&[crate::record::LinkStatus::Conflict])
                .await,
        ) {
            crate::telemetry::record_waiting(q.len(), c.len());
        }
        if status == RunStatus::Succeeded || status == RunStatus::Partial {
            metrics::gauge!("nmbrs_sync_last_success_timestamp_seconds")
                .set(OffsetDateTime::now_utc().unix_timestamp() as f64);
        }
        tracing::info!(run_id, status = status.as_str(), "{}", report.summary());
        Ok(report)
    }

    /// The cycle body: read → plan → apply → record, company by company. Returns whether it was
    /// interrupted; `counts` holds what was done even when it stops early.
    async fn cycle(
        &self,
        ctx: &RunContext,
        counts: &mut Counts,
        stop: &CancellationToken,
    ) -> Result<bool, StopCycle> {
        let companies = self.client.companies(self.settings.debtor_id()).await?;
        let _ = self
            .state
            .audit(&[AuditEntry::new(Some(ctx.run_id), "read")
                .http(companies.call)
                .message(format!("{} companies", companies.body.len()))])
            .await;
        let companies = companies.body;
        let today = today_utc();
        let known: Vec<String> = companies.iter().map(|c| c.number.clone()).collect();

        // Rows whose company number no visible company has.
        let outside = self.hris.rows_outside(&known, today).await?;
        if !outside.is_empty() {
            let applier = self.applier(
                ctx,
                &Company {
                    company_id: String::new(),
                    number: String::new(),
                    name: None,
                    debtor_id: None,
                },
                Arc::default(),
            );
            self.apply_all(&applier, plan_unknown_companies(outside), counts, stop)
                .await?;
        }

        // Every row's key and updated_at, in one pass for all companies.
        let mut keys = self.hris.row_keys().await?;
        // The company numbers the HRIS holds: the keys' when read (the same trimmed, non-empty
        // text), else one query.
        let hris_numbers: HashSet<String> = match &keys {
            Some(k) => k.keys().filter(|n| !n.is_empty()).cloned().collect(),
            None => self.hris.company_numbers().await?.into_iter().collect(),
        };
        // The companies to read, with how many links each has.
        let mut todo = Vec::new();
        for company in &companies {
            let links = self.state.link_count(&company.company_id).await?;
            // Without imports, a company the HRIS never mentions costs no calls.
            if self.rules.import_from_nmbrs || hris_numbers.contains(&company.number) || links > 0 {
                todo.push((company, links));
            }
        }
        let todo_links: HashMap<&str, u64> = todo
            .iter()
            .map(|(c, n)| (c.company_id.as_str(), *n))
            .collect();
        let todo: Vec<&Company> = todo.into_iter().map(|(c, _)| c).collect();
        // The next company's listings are read while this one's records are applied, so the pages
        // (sequential by nature) overlap the writes instead of idling the rate budget.
        let resources = resources_for(&self.rules.fields);
        // A full reconcile when one is due; otherwise each company is read from its read marks.
        let full = self.full_reconcile_due(ctx).await?;
        let mut plans = HashMap::new();
        let page_size = u64::from(self.settings.nmbrs.page_size);
        for c in &todo {
            let marks = self.state.read_marks(&c.company_id).await?;
            // A company whose listings fit on one page each is read whole: an incremental read
            // would cost as many calls and see less.
            let one_page = todo_links.get(c.company_id.as_str()).copied().unwrap_or(0) <= page_size;
            let since = if full || one_page {
                HashMap::new()
            } else {
                since_marks(&resources, &marks)
            };
            plans.insert(c.company_id.clone(), (since, marks));
        }
        let fetch = |c: &Company, (since, marks): (HashMap<Resource, String>, _)| {
            let reducers = self.reducers(ctx, &marks, !since.is_empty(), None);
            let (client, id) = (self.client.clone(), c.company_id.clone());
            tokio::spawn(async move { company_listings(&client, &id, &reducers, &since).await })
        };
        let since_of = |c: &Company| plans.get(&c.company_id).cloned().unwrap_or_default();
        let mut references: HashMap<String, Arc<References>> = HashMap::new();
        // A full reconcile: every company needing a read was read whole and applied.
        let mut whole = true;
        let mut next = todo.first().map(|c| fetch(c, since_of(c)));
        for (i, company) in todo.iter().enumerate() {
            let Some(current) = next.take() else { break };
            if stop.is_cancelled() {
                current.abort();
                return Ok(true);
            }
            let listings = current.await?;
            next = todo.get(i + 1).map(|c| fetch(c, since_of(c)));
            let span = tracing::info_span!(
                "company",
                company_id = company.company_id.as_str(),
                number = company.number.as_str()
            );
            let refs = self.references(ctx, company, &mut references).await?;
            let (since, marks_before) = plans.get(&company.company_id).cloned().unwrap_or_default();
            let read = CompanyRead {
                listings,
                refs,
                since,
                marks_before,
                keys: keys
                    .as_mut()
                    .map(|k| k.remove(&company.number).unwrap_or_default()),
            };
            let r = tracing::Instrument::instrument(
                self.company(ctx, today, company, read, counts, stop),
                span,
            )
            .await;
            match r {
                Ok(complete) => whole &= complete,
                Err(e) => {
                    if let Some(n) = next {
                        n.abort();
                    }
                    return Err(e);
                }
            }
        }
        if full && whole && !stop.is_cancelled() && !ctx.dry_run {
            self.state.set_last_full_reconcile(ctx.now).await?;
        }
        Ok(stop.is_cancelled())
    }

    /// How each resource's histories are reduced as their pages arrive: read for this cycle's
    /// period and mapped fields; entries hashed from the last mark's overlap window on; on an
    /// `incremental` listing, entries the last read saw are not new.
    fn reducers(
        &self,
        ctx: &RunContext,
        marks_before: &HashMap<String, ReadMark>,
        incremental: bool,
        only: Option<&[String]>,
    ) -> Vec<Reducer> {
        let fields: Arc<[crate::fields::Field]> = self.rules.fields.clone().into();
        let fold = Arc::default();
        let only = only.map(|o| Arc::new(o.iter().cloned().collect()));
        resources_for(&self.rules.fields)
            .into_iter()
            .map(|resource| {
                let mark = marks_before.get(resource.name());
                Reducer {
                    resource,
                    read_at: ctx.read_at(),
                    fields: fields.clone(),
                    floor: mark.and_then(|m| since(m.watermark.as_deref(), None)),
                    seen: mark
                        .filter(|_| incremental)
                        .map(|m| Arc::new(m.recent.clone())),
                    fold: Arc::clone(&fold),
                    only: only.clone(),
                }
            })
            .collect()
    }

    /// Whether this cycle is a full reconcile: none recorded yet (a first cycle, a new or
    /// restored state database), or the last is `sync.full_every` old.
    async fn full_reconcile_due(&self, ctx: &RunContext) -> Result<bool, StopCycle> {
        let every =
            time::Duration::try_from(self.settings.full_every()).unwrap_or(time::Duration::DAY);
        Ok(match self.state.last_full_reconcile().await? {
            None => true,
            Some(last) => ctx.now - last >= every || every.is_zero(),
        })
    }

    /// The debtor objects the company's reference fields name, read once per cycle per debtor
    /// ([`debtor_references`]), with an audit row per list.
    async fn references(
        &self,
        ctx: &RunContext,
        company: &Company,
        cache: &mut HashMap<String, Arc<References>>,
    ) -> Result<Arc<References>, StopCycle> {
        let resources = resources_for(&self.rules.fields);
        let debtor = company
            .debtor_id
            .clone()
            .or_else(|| self.settings.debtor_id().map(str::to_owned));
        let Some(debtor) = debtor.filter(|_| resources.iter().any(|r| r.is_reference())) else {
            return Ok(Arc::new(References::new(&self.settings.value_maps())));
        };
        if let Some(r) = cache.get(&debtor) {
            return Ok(r.clone());
        }
        let (refs, reads) = debtor_references(
            &self.client,
            &debtor,
            &resources,
            &self.settings.value_maps(),
        )
        .await?;
        let audit: Vec<AuditEntry> = reads
            .into_iter()
            .map(|r| {
                let (action, message) = match r.outcome {
                    Ok(n) => ("read", format!("{n} debtor {}s", r.resource.name())),
                    Err(e) => {
                        tracing::error!(error = %e, resource = r.resource.name(), "debtor list failed; its field is not synced this cycle");
                        (
                            "error",
                            format!(
                                "the debtor's {} list could not be read: {e}; that field is not synced this cycle",
                                r.resource.name()
                            ),
                        )
                    }
                };
                AuditEntry::new(Some(ctx.run_id), action)
                    .http(r.call)
                    .message(message)
            })
            .collect();
        let _ = self.state.audit(&audit).await;
        let refs = Arc::new(refs);
        cache.insert(debtor, refs.clone());
        Ok(refs)
    }

    /// One company: plan on its listings and HRIS rows, then apply. Returns whether the company was
    /// read whole and every record applied (its read marks are then saved).
    async fn company(
        &self,
        ctx: &RunContext,
        today: time::Date,
        company: &Company,
        read: CompanyRead,
        counts: &mut Counts,
        stop: &CancellationToken,
    ) -> Result<bool, StopCycle> {
        let CompanyRead {
            listings: (listings, mut fold),
            refs,
            since: read_since,
            marks_before,
            keys,
        } = read;
        let run_id = ctx.run_id;
        let resources = resources_for(&self.rules.fields);
        // A full read plans on every whole link; an incremental one first on their heads.
        let mut links = if read_since.is_empty() {
            self.state.links_for_company(&company.company_id).await?
        } else {
            Vec::new()
        };
        let mut listing = match split_listings(listings) {
            Ok(l) => l,
            Err((r, e)) => {
                let n = match &keys {
                    Some(k) => k.len(),
                    None => self.rows(company, today, &refs).await?.len(),
                };
                return self.listing_failed(ctx, company, n, r, e, counts).await;
            }
        };
        // An incremental read (issue 13) plans on the employees seen since the last read and the
        // rows changed since then, read whole, and the others as last agreed; a company where a
        // row needs a create or a match is read whole after all.
        let mut incremental_plan = None;
        let mut rows;
        // Where the HRIS rows were read from (`None`: every row).
        let mut hris_since = None;
        if !read_since.is_empty() {
            // Entries the last read already saw (re-read within the overlap) are not new.
            let seen = fold.new_entries();
            let heads = self
                .state
                .link_heads_for_company(&company.company_id)
                .await?;
            let no_rows_unread = HashSet::new();
            let selection = keys.as_deref().and_then(|k| {
                select_rows(
                    k,
                    marks_before.get(HRIS_MARK),
                    &heads,
                    &seen.iter().cloned().collect(),
                    &company.company_id,
                    self.rules.write_back,
                )
            });
            rows = match &selection {
                Some(s) => {
                    let mut rows = self
                        .hris
                        .rows_with_keys(&company.number, &s.read, s.keyless, today)
                        .await?;
                    resolve_rows(&mut rows, &self.rules.fields, &refs);
                    rows
                }
                None => self.rows(company, today, &refs).await?,
            };
            incremental_plan = incremental(
                &company.company_id,
                &rows,
                &heads,
                seen,
                self.rules.write_back,
                selection.as_ref().map_or(&no_rows_unread, |s| &s.unread),
            );
            hris_since = selection.map(|s| s.since);
            if let Some(plan) = &incremental_plan
                && plan.cheaper_whole(
                    heads.len(),
                    &resources,
                    self.settings.nmbrs.page_size as usize,
                )
            {
                tracing::info!(
                    read_whole = plan.fresh.len(),
                    "so many employees changed that the company is read whole"
                );
                incremental_plan = None;
            } else if incremental_plan.is_none() {
                tracing::info!("a row needs a create or a match: company read whole");
            }
            if incremental_plan.is_none() {
                let (whole, whole_fold) = company_listings(
                    &self.client,
                    &company.company_id,
                    &self.reducers(ctx, &marks_before, false, None),
                    &HashMap::new(),
                )
                .await;
                fold = whole_fold;
                if hris_since.take().is_some() {
                    rows = self.rows(company, today, &refs).await?;
                }
                links = self.state.links_for_company(&company.company_id).await?;
                listing = match split_listings(whole) {
                    Ok(l) => l,
                    Err((r, e)) => {
                        return self
                            .listing_failed(ctx, company, rows.len(), r, e, counts)
                            .await;
                    }
                };
            }
            if let Some(plan) = &incremental_plan {
                // Only records that are not quiet are planned: their whole links.
                let planned: Vec<&str> = heads
                    .iter()
                    .map(|h| h.hris_id.as_str())
                    .filter(|h| !plan.quiet.contains(*h))
                    .collect();
                links = self.state.links_of(&planned).await?;
            }
        } else {
            rows = self.rows(company, today, &refs).await?;
        }
        // The company's record count, read or not (for a failure's count).
        let records = keys.as_ref().map_or(rows.len(), Vec::len);
        let hris_read = match (&hris_since, &keys) {
            (Some(since), Some(keys)) => format!(
                "{} of {} HRIS rows (updated since {since} or with pending work)",
                rows.len(),
                keys.len()
            ),
            _ => format!("{} HRIS rows", rows.len()),
        };
        let audit: Vec<AuditEntry> = std::iter::once(
            AuditEntry::new(Some(run_id), "read")
                .company(Some(&company.company_id))
                .message(hris_read),
        )
        .chain(listing.iter().map(|(resource, r)| {
            let how = if incremental_plan.is_some() {
                format!(
                    " created since {}",
                    read_since.get(resource).map_or("?", String::as_str)
                )
            } else {
                String::new()
            };
            AuditEntry::new(Some(run_id), "read")
                .company(Some(&company.company_id))
                .http(r.call.clone())
                .message(format!(
                    "{} employees ({}{how})",
                    r.body.len(),
                    resource.name()
                ))
        }))
        .collect();
        let _ = self.state.audit(&audit).await;
        // The newest entry each listing holds (an incremental listing keeps the older mark when it
        // saw nothing newer): saved once every record of the company is applied.
        let mut marks: Vec<(&str, Option<String>, Vec<String>)> = listing
            .iter()
            .map(|(r, _)| {
                let newest = newest_stamp(fold.marks(*r));
                let before = marks_before
                    .get(r.name())
                    .filter(|_| incremental_plan.is_some());
                let watermark = newest.max(before.and_then(|m| m.watermark.clone()));
                // An incremental listing holds every entry from the last watermark's window on,
                // so it holds every entry of the new (later) window too.
                let recent = recent_keys(fold.marks(*r), watermark.as_deref());
                (r.name(), watermark, recent)
            })
            .collect();
        let nmbrs = match incremental_plan {
            Some(plan) => {
                let fresh = match employee_histories(
                    &self.client,
                    &company.company_id,
                    &self.reducers(ctx, &marks_before, false, Some(&plan.fresh)),
                    &plan.fresh,
                )
                .await
                {
                    Ok(f) => f,
                    Err(e) => {
                        return self
                            .listing_failed(
                                ctx,
                                company,
                                records,
                                Resource::PersonalInfo,
                                e,
                                counts,
                            )
                            .await;
                    }
                };
                tracing::info!(
                    read_whole = plan.fresh.len(),
                    unchanged = plan.quiet.len(),
                    "incremental read"
                );
                // Quiet records (nothing changed on either side) are counted, not planned.
                rows.retain(|r| match r {
                    Ok(rec) => !plan.quiet.contains(&rec.hris_id),
                    Err(_) => true,
                });
                crate::apply::count_unchanged(counts, plan.quiet.len() as u64);
                let mut nmbrs = fresh.into_employees();
                nmbrs.extend(known_employees(&links, &plan.fresh));
                nmbrs
            }
            None => {
                drop(listing);
                fold.into_employees()
            }
        };

        // Rows of this company linked elsewhere (moved).
        let linked_here: HashSet<&str> = links.iter().map(|l| l.hris_id.as_str()).collect();
        let unlinked: Vec<&str> = rows
            .iter()
            .flatten()
            .map(|rec| rec.hris_id.as_str())
            .filter(|id| !linked_here.contains(id))
            .collect();
        let foreign = self
            .state
            .links_elsewhere(&unlinked, &company.company_id)
            .await?;
        // A POST sent by a process that died may still be processed by Nmbrs for a while; its
        // intent is looked up only after twice the request timeout (at least 2 s).
        let grace = time::Duration::seconds((self.settings.nmbrs.timeout_secs as i64 * 2).max(2));
        let input = CompanyInput {
            company_id: &company.company_id,
            company_number: &company.number,
            hris: &rows,
            links: &links,
            foreign_links: &foreign,
            nmbrs: &nmbrs,
            now: ctx.now,
            intent_grace: grace,
        };
        let decisions = plan_company(&input, &self.rules);
        if let Some(keys) = &keys {
            marks.push((
                HRIS_MARK,
                changed::watermark(keys, ctx.now),
                changed::pending_rows(&decisions),
            ));
        }
        tracing::info!(
            records = decisions.len(),
            hris_rows = input.hris.len(),
            employees = input.nmbrs.len(),
            "planned"
        );
        drop((rows, nmbrs, links));
        let applier = self.applier(ctx, company, refs);
        self.apply_all(&applier, decisions, counts, stop).await?;
        if stop.is_cancelled() || ctx.dry_run {
            return Ok(false);
        }
        self.state
            .save_read_marks(&company.company_id, &marks, ctx.now)
            .await?;
        Ok(true)
    }

    /// Every HRIS row of a company, its reference values resolved.
    async fn rows(
        &self,
        company: &Company,
        today: time::Date,
        refs: &References,
    ) -> Result<Vec<crate::record::HrisRow>, HrisError> {
        let mut rows = self.hris.rows_for_company(&company.number, today).await?;
        resolve_rows(&mut rows, &self.rules.fields, refs);
        Ok(rows)
    }

    /// A company whose read failed is skipped this cycle (planning on a partial view could
    /// duplicate employees or blank fields): an audit row, its rows counted as failed. A fatal
    /// error (credentials, scope, quota) stops the cycle.
    async fn listing_failed(
        &self,
        ctx: &RunContext,
        company: &Company,
        records: usize,
        resource: Resource,
        e: ApiError,
        counts: &mut Counts,
    ) -> Result<bool, StopCycle> {
        if e.is_fatal() {
            return Err(e.into());
        }
        tracing::error!(error = %e, resource = resource.name(), "company listing failed; company skipped this cycle");
        let _ = self
            .state
            .audit(&[AuditEntry::new(Some(ctx.run_id), "error")
                .company(Some(&company.company_id))
                .http(e.call.clone())
                .message(format!(
                    "company {} not synced this cycle: its {} read failed: {e}",
                    company.number,
                    resource.name()
                ))])
            .await;
        counts.records += records as u64;
        counts.failed += records as u64;
        Ok(false)
    }

    /// Applies decisions concurrently; logs progress; stops starting new ones when asked. Updates
    /// that write no field ([`RecordUpdate::is_bookkeeping`]: first links, base refreshes) go in
    /// batches of [`BOOKKEEPING_BATCH`], each one state transaction.
    async fn apply_all(
        &self,
        applier: &Applier,
        decisions: Vec<Decision>,
        counts: &mut Counts,
        stop: &CancellationToken,
    ) -> Result<(), StopCycle> {
        let total = decisions.len();
        let mut done = 0usize;
        let mut last_progress = Instant::now();
        let mut bookkeeping = Vec::new();
        let mut work = Vec::new();
        for d in decisions {
            match d {
                Decision::Update(u) if u.is_bookkeeping() => bookkeeping.push(*u),
                d => work.push(Work::One(Box::new(d))),
            }
        }
        let mut bookkeeping = bookkeeping.into_iter().peekable();
        while bookkeeping.peek().is_some() {
            work.push(Work::Batch(
                bookkeeping.by_ref().take(BOOKKEEPING_BATCH).collect(),
            ));
        }
        let mut results = futures::stream::iter(work)
            .take_while(|_| std::future::ready(!stop.is_cancelled()))
            .map(|w| async move {
                match w {
                    Work::One(d) => vec![applier.apply(*d).await],
                    Work::Batch(us) => applier.apply_batch(us).await,
                }
            })
            .buffer_unordered(self.settings.nmbrs.max_concurrency);
        let mut fatal = None;
        while let Some(rs) = results.next().await {
            for r in rs {
                done += 1;
                counts.add(&r);
                if r.fatal.is_some() && fatal.is_none() {
                    stop.cancel();
                    fatal = r.fatal;
                }
            }
            if last_progress.elapsed() >= Duration::from_secs(5) {
                tracing::info!(
                    company_id = applier.company_id.as_str(),
                    applied = done,
                    total,
                    "progress"
                );
                last_progress = Instant::now();
            }
        }
        match fatal {
            Some(e) => Err(StopCycle::Record(e)),
            None => Ok(()),
        }
    }

    fn applier(&self, ctx: &RunContext, company: &Company, refs: Arc<References>) -> Applier {
        Applier {
            client: self.client.clone(),
            hris: self.hris.clone(),
            state: self.state.clone(),
            run_id: ctx.run_id,
            dry_run: ctx.dry_run,
            company_id: company.company_id.clone(),
            company_number: company.number.clone(),
            fields: self.rules.fields.clone(),
            period: ctx.period,
            create_defaults: CreateDefaults {
                employee_type: self.settings.default_employee_type().map(str::to_owned),
                employee_template: self.settings.default_employee_template().map(str::to_owned),
            },
            quarantine_after: self.settings.sync.quarantine_after,
            read_at: ctx.read_at(),
            refs,
        }
    }

    /// Records why the cycle stopped (an audit row with the HTTP facts when Nmbrs said no) and
    /// returns the text for the report.
    async fn stopped(&self, run_id: i64, e: StopCycle) -> String {
        let message = e.to_string();
        tracing::error!(error = %message, "cycle stopped");
        let mut entry = AuditEntry::new(Some(run_id), "error").message(message.clone());
        if let StopCycle::Nmbrs(api) = &e {
            entry = entry.http(api.call.clone());
        }
        let _ = self.state.audit(&[entry]).await;
        message
    }
}

/// Records per batch of bookkeeping-only updates: one state transaction each.
const BOOKKEEPING_BATCH: usize = 500;

/// One unit of apply work: a decision, or a batch of updates that write no field.
enum Work {
    One(Box<Decision>),
    Batch(Vec<RecordUpdate>),
}

fn snapshot_counters(c: &NmbrsClient) -> (u64, u64, u64) {
    let k = c.counters();
    (
        k.requests.load(Ordering::Relaxed),
        k.writes.load(Ordering::Relaxed),
        k.retries.load(Ordering::Relaxed),
    )
}
