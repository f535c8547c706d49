//! The append-only audit log: one row per decision or API call (docs/SPEC.md).
//!
//! A row is two parts. `audit_chain` holds what the log says happened (run, time, ids, action,
//! HTTP facts) and is append-only: triggers refuse UPDATE and DELETE, and each row carries
//! `hash = sha256(prev_hash ‖ content)`, so someone who drops the triggers and edits a row breaks
//! the chain, and [`verify_chain`] says where. The row's personal values (`fields`, `message`) live
//! beside it in `audit_values`; the chain covers only their digest, `values_digest =
//! HMAC-SHA256(salt, [fields, message])` with a random per-row salt kept with the values. Erasing
//! the values (retention: [`prune`]; a person's request: `forget`) erases the salt too and records
//! which `prune`/`forget` row did it: the chain still verifies, the erased values cannot be changed
//! unseen, and without the salt a short value (a birth date, a postcode) cannot be found by trying
//! candidates against the digest, as it could against an unkeyed or install-keyed hash.
//! `audit_log` is a view joining both, for `sqlite3` and the CLI.

use super::{StateError, StateTx};
use crate::db::utc_now;
use crate::nmbrs::HttpCall;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// Actions whose rows describe what the log itself did (counts, cut-offs, ids; no personal values):
/// never erased, so [`verify_chain`] can always check the erasures they record.
pub const SYSTEM_ACTIONS: [&str; 3] = ["prune", "forget", "reanchor"];

/// SQL list of [`SYSTEM_ACTIONS`].
const SYSTEM_ACTIONS_SQL: &str = "('prune', 'forget', 'reanchor')";

/// The current chain format ([`AuditRow::chain_hash`]).
const CHAIN_VERSION: i64 = 2;

/// Which side a change was written to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    ToNmbrs,
    ToHris,
}

impl Direction {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ToNmbrs => "to_nmbrs",
            Direction::ToHris => "to_hris",
        }
    }
}

/// One audit row to append. Build with [`AuditEntry::new`] and the `with_*` helpers.
#[derive(Clone, Debug, Default)]
pub struct AuditEntry {
    pub run_id: Option<i64>,
    pub hris_id: Option<String>,
    pub employee_id: Option<String>,
    pub company_id: Option<String>,
    pub direction: Option<Direction>,
    /// create_intent, create, link, update, pull, import, conflict, skip, reject, error, read, ...
    pub action: String,
    /// JSON `{field: [before, after]}`.
    pub fields: Option<String>,
    pub http: Option<HttpCall>,
    pub dry_run: bool,
    /// Error text or reason; never secrets, and no PII beyond what `fields` already records.
    pub message: Option<String>,
}

impl AuditEntry {
    /// An entry for `action` in run `run_id`.
    pub fn new(run_id: Option<i64>, action: &str) -> AuditEntry {
        AuditEntry {
            run_id,
            action: action.to_owned(),
            ..Default::default()
        }
    }
    pub fn hris(mut self, hris_id: Option<&str>) -> Self {
        self.hris_id = hris_id.map(str::to_owned);
        self
    }
    pub fn employee(mut self, employee_id: Option<&str>) -> Self {
        self.employee_id = employee_id.map(str::to_owned);
        self
    }
    pub fn company(mut self, company_id: Option<&str>) -> Self {
        self.company_id = company_id.map(str::to_owned);
        self
    }
    pub fn direction(mut self, d: Direction) -> Self {
        self.direction = Some(d);
        self
    }
    pub fn fields(mut self, json: String) -> Self {
        self.fields = Some(json);
        self
    }
    pub fn http(mut self, call: HttpCall) -> Self {
        self.http = Some(call);
        self
    }
    pub fn message(mut self, m: impl Into<String>) -> Self {
        self.message = Some(m.into());
        self
    }
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// A stored audit row, as `nmbrs-sync audit` shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AuditRow {
    pub id: i64,
    pub run_id: Option<i64>,
    pub at: String,
    pub hris_id: Option<String>,
    pub employee_id: Option<String>,
    pub company_id: Option<String>,
    pub direction: Option<String>,
    pub action: String,
    /// `None` once erased (see `redacted_by`).
    pub fields: Option<String>,
    pub http_method: Option<String>,
    pub http_path: Option<String>,
    pub http_status: Option<i64>,
    pub attempts: Option<i64>,
    pub duration_ms: Option<i64>,
    pub dry_run: bool,
    pub message: Option<String>,
    /// When the values were erased (UTC), and the `prune`/`forget` row that did it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redacted_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redacted_by: Option<i64>,
    #[serde(skip)]
    pub values_digest: Option<String>,
    #[serde(skip)]
    pub chain_version: i64,
    #[serde(skip)]
    pub prev_hash: String,
    #[serde(skip)]
    pub hash: String,
    /// The key of `values_digest`; `None` once erased.
    #[serde(skip)]
    salt: Option<Vec<u8>>,
    /// Whether an `audit_values` row exists (values kept or erased on record).
    #[serde(skip)]
    has_values_row: bool,
}

/// `HMAC-SHA256(salt, canonical JSON [fields, message])`, hex; `None` when the row has no values.
fn values_digest(salt: &[u8], fields: Option<&str>, message: Option<&str>) -> Option<String> {
    use hmac::{KeyInit, Mac};
    if fields.is_none() && message.is_none() {
        return None;
    }
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(salt).ok()?;
    mac.update(serde_json::json!([fields, message]).to_string().as_bytes());
    Some(hex::encode(mac.finalize().into_bytes()))
}

/// 16 bytes from the OS CSPRNG: a row's salt.
fn fresh_salt() -> Result<[u8; 16], StateError> {
    let mut salt = [0u8; 16];
    fill_random(&mut salt)?;
    Ok(salt)
}

/// `n` salts of 16 bytes, from one call to the OS CSPRNG.
fn fresh_salts(n: usize) -> Result<Vec<u8>, StateError> {
    let mut salts = vec![0u8; 16 * n];
    fill_random(&mut salts)?;
    Ok(salts)
}

fn fill_random(buf: &mut [u8]) -> Result<(), StateError> {
    getrandom::fill(buf).map_err(|e| StateError::Corrupt {
        what: "audit_values.salt".into(),
        message: format!("no randomness from the operating system: {e}"),
    })
}

impl AuditRow {
    /// The chain hash (format 2): `sha256(prev_hash ‖ "\n" ‖ canonical JSON of the non-personal
    /// columns and values_digest)`, hex.
    fn chain_hash(&self, prev_hash: &str) -> String {
        let content = serde_json::json!([
            "v2",
            self.run_id,
            self.at,
            self.hris_id,
            self.employee_id,
            self.company_id,
            self.direction,
            self.action,
            self.http_method,
            self.http_path,
            self.http_status,
            self.attempts,
            self.duration_ms,
            self.dry_run,
            self.values_digest
        ]);
        sha256_chain(prev_hash, &content)
    }

    /// The hash of a row written before the values moved beside the chain (format 1): over the
    /// values themselves. Only re-anchoring and [`verify_chain`] on a not yet re-anchored log use it.
    fn legacy_hash(&self, prev_hash: &str) -> String {
        let content = serde_json::json!([
            self.run_id,
            self.at,
            self.hris_id,
            self.employee_id,
            self.company_id,
            self.direction,
            self.action,
            self.fields,
            self.http_method,
            self.http_path,
            self.http_status,
            self.attempts,
            self.duration_ms,
            self.dry_run,
            self.message
        ]);
        sha256_chain(prev_hash, &content)
    }
}

fn sha256_chain(prev_hash: &str, content: &serde_json::Value) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(content.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// SQLite's limit on bound parameters in one statement (`SQLITE_MAX_VARIABLE_NUMBER`).
const SQLITE_MAX_PARAMS: usize = 32766;

/// Rows per multi-row INSERT. A statement inside a transaction keeps a journal of the pages it
/// changes (to undo itself alone on a constraint error), as large as the pages its rows touch in
/// every index; 128 rows bound it (and the statement's program) to a few hundred KB, while a
/// batch of 1000 audit rows still costs 8 statements, not 2000.
pub(crate) const ROWS_PER_STATEMENT: usize = 128;
const _: () = assert!(ROWS_PER_STATEMENT * CHAIN_COLUMNS <= SQLITE_MAX_PARAMS);

/// Whether a multi-row statement of `rows` rows stays prepared in the connection's statement
/// cache: the few small ones a single record writes, yes; a batch's, whose program grows with its
/// rows and whose row count varies, is prepared for its one use (cached, each would hold
/// hundreds of KB per connection).
pub(crate) fn keep_prepared(rows: usize) -> bool {
    rows <= 8
}

/// The columns of one `audit_chain` row as inserted.
const CHAIN_COLUMNS: usize = 18;

/// The newest row of the chain as this transaction knows it: the next row's id and `prev_hash`.
#[derive(Clone, Debug)]
pub(crate) struct ChainHead {
    /// The highest id used so far (AUTOINCREMENT's sequence included): the next row is `id + 1`.
    pub(crate) id: i64,
    pub(crate) hash: String,
}

impl StateTx {
    /// Appends one audit row, extending the hash chain; returns its id.
    pub async fn audit(&mut self, e: &AuditEntry) -> Result<i64, StateError> {
        self.audit_many(std::slice::from_ref(e)).await
    }

    /// Appends audit rows in order, extending the hash chain; returns the id of the last one (of
    /// the chain's head when `entries` is empty). The ids, salts, digests and hashes of every row
    /// are computed here, exactly as one row at a time would, then written with one multi-row
    /// INSERT per table per [`ROWS_PER_STATEMENT`] rows: a batch of 1000 rows costs 16
    /// statements, not 2000 round trips to SQLite's worker thread (issue 13).
    pub async fn audit_many(&mut self, entries: &[AuditEntry]) -> Result<i64, StateError> {
        let mut head = match self.head.take() {
            Some(h) => h,
            None => self.read_head().await?,
        };
        if entries.is_empty() {
            let id = head.id;
            self.head = Some(head);
            return Ok(id);
        }
        let with_values = entries
            .iter()
            .filter(|e| e.fields.is_some() || e.message.is_some())
            .count();
        let salts = fresh_salts(with_values)?;
        let mut salts = salts.chunks_exact(16);
        let at = utc_now();
        let mut rows = Vec::with_capacity(entries.len());
        for e in entries {
            let salt = (e.fields.is_some() || e.message.is_some())
                .then(|| salts.next().map(<[u8]>::to_vec))
                .flatten();
            let mut row = AuditRow {
                id: head.id + 1,
                run_id: e.run_id,
                at: at.clone(),
                hris_id: e.hris_id.clone(),
                employee_id: e.employee_id.clone(),
                company_id: e.company_id.clone(),
                direction: e.direction.map(|d| d.as_str().to_owned()),
                action: e.action.clone(),
                fields: e.fields.clone(),
                http_method: e.http.as_ref().map(|h| h.method.to_owned()),
                http_path: e.http.as_ref().map(|h| h.path.clone()),
                http_status: e.http.as_ref().and_then(|h| h.status.map(i64::from)),
                attempts: e.http.as_ref().map(|h| i64::from(h.attempts)),
                duration_ms: e.http.as_ref().map(|h| h.duration.as_millis() as i64),
                dry_run: e.dry_run,
                message: e.message.clone(),
                redacted_at: None,
                redacted_by: None,
                values_digest: None,
                chain_version: CHAIN_VERSION,
                prev_hash: std::mem::take(&mut head.hash),
                hash: String::new(),
                salt,
                has_values_row: false,
            };
            row.values_digest = row
                .salt
                .as_deref()
                .and_then(|s| values_digest(s, row.fields.as_deref(), row.message.as_deref()));
            row.hash = row.chain_hash(&row.prev_hash);
            head = ChainHead {
                id: row.id,
                hash: row.hash.clone(),
            };
            rows.push(row);
        }
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO audit_chain (id, run_id, at, hris_id, employee_id, company_id, direction,
                   action, http_method, http_path, http_status, attempts, duration_ms, dry_run,
                   values_digest, chain_version, prev_hash, hash) ",
            );
            q.push_values(chunk, |mut b, row| {
                b.push_bind(row.id)
                    .push_bind(row.run_id)
                    .push_bind(row.at.clone())
                    .push_bind(row.hris_id.clone())
                    .push_bind(row.employee_id.clone())
                    .push_bind(row.company_id.clone())
                    .push_bind(row.direction.clone())
                    .push_bind(row.action.clone())
                    .push_bind(row.http_method.clone())
                    .push_bind(row.http_path.clone())
                    .push_bind(row.http_status)
                    .push_bind(row.attempts)
                    .push_bind(row.duration_ms)
                    .push_bind(row.dry_run)
                    .push_bind(row.values_digest.clone())
                    .push_bind(CHAIN_VERSION)
                    .push_bind(row.prev_hash.clone())
                    .push_bind(row.hash.clone());
            });
            q.build()
                .persistent(keep_prepared(chunk.len()))
                .execute(self.conn())
                .await?;
        }
        let valued: Vec<&AuditRow> = rows.iter().filter(|r| r.salt.is_some()).collect();
        for chunk in valued.chunks(ROWS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO audit_values (audit_id, salt, fields, message) ",
            );
            q.push_values(chunk, |mut b, row| {
                b.push_bind(row.id)
                    .push_bind(row.salt.clone())
                    .push_bind(row.fields.clone())
                    .push_bind(row.message.clone());
            });
            q.build()
                .persistent(keep_prepared(chunk.len()))
                .execute(self.conn())
                .await?;
        }
        let id = head.id;
        self.head = Some(head);
        Ok(id)
    }

    /// The chain's head as stored: the newest row's hash ('' for an empty log) and the highest id
    /// ever used (AUTOINCREMENT's sequence: an id is never given twice).
    async fn read_head(&mut self) -> Result<ChainHead, StateError> {
        let (hash, id): (Option<String>, i64) = sqlx::query_as(
            "SELECT (SELECT hash FROM audit_chain ORDER BY id DESC LIMIT 1),
                    max(COALESCE((SELECT max(id) FROM audit_chain), 0),
                        COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'audit_chain'), 0))",
        )
        .fetch_one(self.conn())
        .await?;
        Ok(ChainHead {
            id,
            hash: hash.unwrap_or_default(),
        })
    }

    /// Erases the values of the rows up to id `upto` that `ids_sql` selects (a condition on
    /// `audit_chain` binding `binds`), except [`SYSTEM_ACTIONS`] rows, on behalf of audit row `by`.
    /// Returns how many were erased.
    pub(crate) async fn redact(
        &mut self,
        by: i64,
        upto: i64,
        ids_sql: &str,
        binds: &[Option<&str>],
    ) -> Result<u64, StateError> {
        let sql = format!(
            "UPDATE audit_values SET salt = NULL, fields = NULL, message = NULL, redacted_at = ?, redacted_by = ?
             WHERE salt IS NOT NULL AND audit_id <= ? AND audit_id < ? AND EXISTS (
               SELECT 1 FROM audit_chain WHERE audit_chain.id = audit_values.audit_id
                 AND action NOT IN {SYSTEM_ACTIONS_SQL} AND ({ids_sql}))"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(utc_now())
            .bind(by)
            .bind(upto)
            .bind(by);
        for b in binds {
            q = q.bind(*b);
        }
        Ok(q.execute(self.conn()).await?.rows_affected())
    }
}

/// Filters for [`query`]; `None` = any.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub run_id: Option<i64>,
    pub employee_id: Option<String>,
    pub hris_id: Option<String>,
    pub action: Option<String>,
    /// RFC 3339 UTC lower bound on `at`.
    pub since: Option<String>,
    pub limit: Option<i64>,
}

/// The columns [`row_from`] reads: a chain row and its values.
const ROW_SELECT: &str =
    "SELECT c.id, c.run_id, c.at, c.hris_id, c.employee_id, c.company_id, c.direction,
       c.action, c.http_method, c.http_path, c.http_status, c.attempts, c.duration_ms, c.dry_run,
       c.values_digest, c.chain_version, c.prev_hash, c.hash, v.fields, v.message, v.salt,
       v.redacted_at, v.redacted_by, v.audit_id IS NOT NULL AS has_values_row
     FROM audit_chain c LEFT JOIN audit_values v ON v.audit_id = c.id";

fn row_from(r: &sqlx::sqlite::SqliteRow) -> Result<AuditRow, sqlx::Error> {
    Ok(AuditRow {
        id: r.try_get("id")?,
        run_id: r.try_get("run_id")?,
        at: r.try_get("at")?,
        hris_id: r.try_get("hris_id")?,
        employee_id: r.try_get("employee_id")?,
        company_id: r.try_get("company_id")?,
        direction: r.try_get("direction")?,
        action: r.try_get("action")?,
        fields: r.try_get("fields")?,
        http_method: r.try_get("http_method")?,
        http_path: r.try_get("http_path")?,
        http_status: r.try_get("http_status")?,
        attempts: r.try_get("attempts")?,
        duration_ms: r.try_get("duration_ms")?,
        dry_run: r.try_get("dry_run")?,
        message: r.try_get("message")?,
        redacted_at: r.try_get("redacted_at")?,
        redacted_by: r.try_get("redacted_by")?,
        values_digest: r.try_get("values_digest")?,
        chain_version: r.try_get("chain_version")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
        salt: r.try_get("salt")?,
        has_values_row: r.try_get("has_values_row")?,
    })
}

/// Reads audit rows matching `filter`, oldest first.
pub async fn query(
    pool: &sqlx::SqlitePool,
    filter: &AuditFilter,
) -> Result<Vec<AuditRow>, StateError> {
    let sql = format!(
        "{ROW_SELECT}
         WHERE (?1 IS NULL OR c.run_id = ?1) AND (?2 IS NULL OR c.employee_id = ?2) AND (?3 IS NULL OR c.hris_id = ?3)
           AND (?4 IS NULL OR c.action = ?4) AND (?5 IS NULL OR c.at >= ?5)
         ORDER BY c.id LIMIT ?6"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(filter.run_id)
        .bind(&filter.employee_id)
        .bind(&filter.hris_id)
        .bind(&filter.action)
        .bind(&filter.since)
        .bind(filter.limit.unwrap_or(-1))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(row_from)
        .collect::<Result<_, _>>()
        .map_err(StateError::from)
}

/// Every audit row about one person: rows of `hris_id`, and rows of `employee_id` when given,
/// oldest first (values as stored: erased ones are `None`).
pub async fn rows_of_subject(
    pool: &sqlx::SqlitePool,
    hris_id: &str,
    employee_id: Option<&str>,
) -> Result<Vec<AuditRow>, StateError> {
    let sql = format!(
        "{ROW_SELECT} WHERE c.hris_id = ?1 OR (?2 IS NOT NULL AND c.employee_id = ?2) ORDER BY c.id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(hris_id)
        .bind(employee_id)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(row_from)
        .collect::<Result<_, _>>()
        .map_err(StateError::from)
}

/// Outcome of [`verify_chain`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainCheck {
    /// Every row's hash matches its content and its predecessor, and every row's values match
    /// their digest or were erased on record; `rows` checked, `redacted` of them with erased values.
    Intact { rows: u64, redacted: u64 },
    /// The first row whose stored hash, link or values do not match.
    Broken { row_id: i64, reason: String },
}

/// What a `prune`/`forget` row says it erased (its `fields`, kept forever).
#[derive(Debug)]
struct Erasure {
    action: String,
    /// prune: rows recorded before this time.
    before: Option<String>,
    /// forget: rows of this HRIS record / employee.
    hris_id: Option<String>,
    employee_id: Option<String>,
}

/// Recomputes the hash chain over the whole audit log, streaming (memory: the few `prune`,
/// `forget` and `reanchor` rows), and checks each row's values against their digest. Erased
/// values count as `redacted` when a later `prune`/`forget` row covers them; erased without one,
/// changed, or added after the fact, they break the check. A `reanchor` row that found the old
/// chain already broken breaks it too (tampering before the re-anchor stays visible).
pub async fn verify_chain(pool: &sqlx::SqlitePool) -> Result<ChainCheck, StateError> {
    use futures::TryStreamExt;
    use std::collections::HashMap;
    // Pass 1: the erasure records (checked themselves in pass 2).
    let system = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{ROW_SELECT} WHERE c.action IN {SYSTEM_ACTIONS_SQL} ORDER BY c.id"
    )))
    .fetch_all(pool)
    .await?;
    let mut erasures: HashMap<i64, Erasure> = HashMap::new();
    for r in &system {
        let row = row_from(r)?;
        let facts: serde_json::Value = row
            .fields
            .as_deref()
            .and_then(|f| serde_json::from_str(f).ok())
            .unwrap_or_default();
        if row.action == "reanchor"
            && let Some(broken) = facts["legacy_chain"].as_str().filter(|s| *s != "intact")
        {
            return Ok(ChainCheck::Broken {
                row_id: row.id,
                reason: format!("the chain written before re-anchoring was already {broken}"),
            });
        }
        erasures.insert(
            row.id,
            Erasure {
                action: row.action.clone(),
                before: facts["before"].as_str().map(str::to_owned),
                hris_id: row.hris_id.clone(),
                employee_id: row.employee_id.clone(),
            },
        );
    }
    // Pass 2: every row in order.
    let mut rows =
        sqlx::query(sqlx::AssertSqlSafe(format!("{ROW_SELECT} ORDER BY c.id"))).fetch(pool);
    let mut prev = String::new();
    let (mut n, mut redacted) = (0u64, 0u64);
    while let Some(r) = rows.try_next().await? {
        let row = row_from(&r)?;
        let broken = |reason: &str| {
            Ok(ChainCheck::Broken {
                row_id: row.id,
                reason: reason.to_owned(),
            })
        };
        if row.prev_hash != prev {
            return broken(
                "prev_hash does not match the previous row (a row was removed or inserted)",
            );
        }
        let expected = if row.chain_version == 1 {
            row.legacy_hash(&prev)
        } else {
            row.chain_hash(&prev)
        };
        if expected != row.hash {
            return broken("content does not match its hash (the row was changed)");
        }
        if row.chain_version != 1 {
            match (&row.values_digest, &row.salt) {
                (None, _)
                    if row.fields.is_some() || row.message.is_some() || row.salt.is_some() =>
                {
                    return broken("values were added to a row that had none");
                }
                (None, _) => {}
                (Some(_), _) if !row.has_values_row => {
                    return broken(
                        "the row's values were removed without a record of their erasure",
                    );
                }
                (Some(d), Some(salt)) => {
                    if values_digest(salt, row.fields.as_deref(), row.message.as_deref()).as_ref()
                        != Some(d)
                    {
                        return broken(
                            "the row's values do not match their digest (they were changed)",
                        );
                    }
                }
                (Some(_), None) => {
                    if row.fields.is_some() || row.message.is_some() {
                        return broken("an erased row holds values again");
                    }
                    let covered = row
                        .redacted_by
                        .filter(|by| *by > row.id)
                        .and_then(|by| erasures.get(&by))
                        .is_some_and(|e| match e.action.as_str() {
                            "prune" => e.before.as_deref().is_some_and(|b| row.at.as_str() < b),
                            "forget" => {
                                (e.hris_id.is_some() && e.hris_id == row.hris_id)
                                    || (e.employee_id.is_some() && e.employee_id == row.employee_id)
                            }
                            _ => false,
                        });
                    if !covered {
                        return broken(
                            "the row's values were erased without a prune or forget row that covers it",
                        );
                    }
                    redacted += 1;
                }
            }
        }
        prev = row.hash;
        n += 1;
    }
    Ok(ChainCheck::Intact { rows: n, redacted })
}

/// Re-anchors rows written before the values moved beside the chain (chain_version 1), once: checks
/// their old chain, gives each row with values a salt and digest, rehashes every row in the new
/// format, and appends a `reanchor` row recording how many rows, the old chain's head and whether
/// it was intact. All in one transaction: a crash leaves the old chain, re-anchored at next open.
/// Returns the number of rows re-anchored.
pub(crate) async fn reanchor_legacy(db: &super::StateDb) -> Result<u64, StateError> {
    // A plain read first: opening a re-anchored database takes no write lock.
    let any: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM audit_chain WHERE chain_version = 1)")
            .fetch_one(db.pool())
            .await?;
    if !any {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let legacy: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_chain WHERE chain_version = 1")
            .fetch_one(tx.conn())
            .await?;
    if legacy == 0 {
        return Ok(0);
    }
    // The triggers stop everyone else; this transaction lifts them for its own rewrite only.
    sqlx::query("DROP TRIGGER audit_chain_no_update")
        .execute(tx.conn())
        .await?;
    let (mut prev_old, mut prev_new) = (String::new(), String::new());
    let mut broken: Option<String> = None;
    let mut last = 0i64;
    let mut count = 0u64;
    loop {
        let sql = format!("{ROW_SELECT} WHERE c.id > ? ORDER BY c.id LIMIT 500");
        let batch = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(last)
            .fetch_all(tx.conn())
            .await?;
        if batch.is_empty() {
            break;
        }
        for r in &batch {
            let mut row = row_from(r)?;
            last = row.id;
            if row.chain_version != 1 {
                return Err(StateError::Corrupt {
                    what: "audit_chain".into(),
                    message: format!(
                        "row {} is in the new format among rows of the old one",
                        row.id
                    ),
                });
            }
            if broken.is_none() {
                if row.prev_hash != prev_old {
                    broken = Some(format!(
                        "broken at row {}: a row was removed or inserted",
                        row.id
                    ));
                } else if row.legacy_hash(&prev_old) != row.hash {
                    broken = Some(format!("broken at row {}: the row was changed", row.id));
                }
            }
            prev_old = row.hash.clone();
            if row.fields.is_some() || row.message.is_some() {
                let salt = fresh_salt()?;
                row.values_digest =
                    values_digest(&salt, row.fields.as_deref(), row.message.as_deref());
                sqlx::query("UPDATE audit_values SET salt = ? WHERE audit_id = ?")
                    .bind(salt.to_vec())
                    .bind(row.id)
                    .execute(tx.conn())
                    .await?;
            }
            let hash = row.chain_hash(&prev_new);
            sqlx::query(
                "UPDATE audit_chain SET values_digest = ?, chain_version = ?, prev_hash = ?, hash = ? WHERE id = ?",
            )
            .bind(&row.values_digest)
            .bind(CHAIN_VERSION)
            .bind(&prev_new)
            .bind(&hash)
            .bind(row.id)
            .execute(tx.conn())
            .await?;
            prev_new = hash;
            count += 1;
        }
    }
    sqlx::query(
        "CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
         BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END",
    )
    .execute(tx.conn())
    .await?;
    let state = broken.clone().unwrap_or_else(|| "intact".into());
    // The head is read again: the rows rewritten above end in `prev_new`.
    tx.head = None;
    tx.audit(
        &AuditEntry::new(None, "reanchor")
            .fields(
                serde_json::json!({
                    "legacy_rows": count,
                    "through_id": last,
                    "legacy_head": prev_old,
                    "legacy_chain": state,
                })
                .to_string(),
            )
            .message(format!(
                "re-anchored {count} audit rows written before personal values moved beside the chain (old chain {state}, head {prev_old}); the chain now covers a salted digest of each row's values"
            )),
    )
    .await?;
    tx.commit().await?;
    if let Some(b) = broken {
        tracing::error!(
            rows = count,
            "audit log re-anchored, but the old chain was {b}"
        );
    } else {
        tracing::info!(rows = count, "audit log re-anchored (old chain intact)");
    }
    Ok(count)
}

/// Erases the values of audit rows recorded before `before` (RFC 3339 UTC), except
/// [`SYSTEM_ACTIONS`] rows, and records it in a `prune` row (`fields`: `{"before", "rows"}`).
/// Returns how many rows it erased (0: nothing to do, nothing recorded). The WAL is checkpointed
/// afterwards so the erased values do not linger there (`secure_delete` zeroes freed pages).
pub async fn prune(
    db: &super::StateDb,
    run_id: Option<i64>,
    before: &str,
) -> Result<u64, StateError> {
    let mut tx = db.begin().await?;
    // Rows are appended in time order: the newest row older than the cut-off bounds the range of
    // kept values to look at (`audit_values_kept`), so a cycle costs the rows due, not the history.
    // A row out of order by a clock step is erased once the bound passes it.
    let Some(bound) = sqlx::query_scalar::<_, i64>(
        "SELECT id FROM audit_chain WHERE at < ? ORDER BY at DESC LIMIT 1",
    )
    .bind(before)
    .fetch_optional(tx.conn())
    .await?
    else {
        return Ok(0);
    };
    let due: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM audit_values v JOIN audit_chain c ON c.id = v.audit_id
         WHERE v.salt IS NOT NULL AND v.audit_id <= ? AND c.at < ? AND c.action NOT IN {SYSTEM_ACTIONS_SQL}"
    )))
    .bind(bound)
    .bind(before)
    .fetch_one(tx.conn())
    .await?;
    if due == 0 {
        return Ok(0);
    }
    let by = tx
        .audit(
            &AuditEntry::new(run_id, "prune")
                .fields(serde_json::json!({ "before": before, "rows": due }).to_string())
                .message(format!(
                    "erased the personal values of {due} audit rows recorded before {before} (audit.retention_days)"
                )),
        )
        .await?;
    let n = tx.redact(by, bound, "at < ?", &[Some(before)]).await?;
    tx.commit().await?;
    db.checkpoint().await;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StateDb;

    async fn db() -> (tempfile::TempDir, StateDb) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite:{}", dir.path().join("state.db").display());
        let db = StateDb::open(&url).await.expect("opens");
        (dir, db)
    }

    #[tokio::test]
    async fn append_only_and_chain_detects_tampering() {
        let (_dir, db) = db().await;
        db.audit(&[
            AuditEntry::new(Some(1), "create").hris(Some("h1")),
            AuditEntry::new(Some(1), "update")
                .hris(Some("h2"))
                .fields(r#"{"last_name":["A","B"]}"#.into()),
            AuditEntry::new(Some(1), "pull").hris(Some("h3")),
        ])
        .await
        .expect("append");
        assert_eq!(
            verify_chain(db.pool()).await.expect("verify"),
            ChainCheck::Intact {
                rows: 3,
                redacted: 0
            }
        );

        let upd = sqlx::query("UPDATE audit_log SET action = 'x' WHERE id = 2")
            .execute(db.pool())
            .await;
        assert!(
            upd.expect_err("UPDATE must be refused")
                .to_string()
                .contains("append-only")
        );
        let del = sqlx::query("DELETE FROM audit_log WHERE id = 1")
            .execute(db.pool())
            .await;
        assert!(
            del.expect_err("DELETE must be refused")
                .to_string()
                .contains("append-only")
        );

        for table in ["audit_chain", "audit_log"] {
            let upd = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET action = 'x' WHERE id = 2"
            )))
            .execute(db.pool())
            .await;
            assert!(upd.is_err(), "UPDATE {table} must be refused");
        }

        // The values beside the chain can be changed (that is how they are erased), but a change
        // that is not an erasure on record shows.
        sqlx::query(
            "UPDATE audit_values SET fields = '{\"last_name\":[\"A\",\"C\"]}' WHERE audit_id = 2",
        )
        .execute(db.pool())
        .await
        .expect("tamper");
        assert_broken_at(&db, 2, "do not match their digest").await;
        sqlx::query(
            "UPDATE audit_values SET fields = '{\"last_name\":[\"A\",\"B\"]}' WHERE audit_id = 2",
        )
        .execute(db.pool())
        .await
        .expect("restore");
        assert!(matches!(
            verify_chain(db.pool()).await.expect("verify"),
            ChainCheck::Intact { .. }
        ));
        // Erased without a prune or forget row: shows.
        sqlx::query(
            "UPDATE audit_values SET salt = NULL, fields = NULL, message = NULL WHERE audit_id = 2",
        )
        .execute(db.pool())
        .await
        .expect("erase");
        assert_broken_at(&db, 2, "without a prune or forget row").await;
        sqlx::query("DELETE FROM audit_values WHERE audit_id = 2")
            .execute(db.pool())
            .await
            .expect("delete");
        assert_broken_at(&db, 2, "removed without a record").await;

        // Someone with write access drops the trigger and edits a row: the chain shows it.
        sqlx::query("DROP TRIGGER audit_chain_no_update")
            .execute(db.pool())
            .await
            .expect("drop");
        sqlx::query("UPDATE audit_chain SET hris_id = 'h9' WHERE id = 1")
            .execute(db.pool())
            .await
            .expect("tamper");
        assert_broken_at(&db, 1, "content does not match").await;
    }

    /// Rows appended in one batch (more than one INSERT's worth, [`ROWS_PER_STATEMENT`]),
    /// between single appends in the same transaction and in the next one: one unbroken chain,
    /// consecutive ids, each row's values beside its own row, and tampering still shows.
    #[tokio::test]
    async fn a_batch_extends_the_chain_as_single_appends_do() {
        let (_dir, db) = db().await;
        db.audit(&[AuditEntry::new(Some(1), "read")])
            .await
            .expect("first");
        let n = 2 * ROWS_PER_STATEMENT + 7;
        let entries: Vec<AuditEntry> = (0..n)
            .map(|i| {
                let e = AuditEntry::new(Some(2), "link").hris(Some(&format!("h{i}")));
                match i % 3 {
                    0 => e,
                    1 => e.message(format!("matched h{i}")),
                    _ => e.fields(format!(r#"{{"last_name":[null,"L{i}"]}}"#)),
                }
            })
            .collect();
        let mut tx = db.begin().await.expect("begin");
        tx.audit(&AuditEntry::new(Some(2), "before").message("single"))
            .await
            .expect("single");
        let last = tx.audit_many(&entries).await.expect("batch");
        let after = tx
            .audit(&AuditEntry::new(Some(2), "after").message("single"))
            .await
            .expect("single");
        tx.commit().await.expect("commit");
        assert_eq!(last, 2 + n as i64);
        assert_eq!(after, last + 1);
        db.audit(&[AuditEntry::new(Some(3), "next")])
            .await
            .expect("next tx");
        let total = n as u64 + 4;
        assert_eq!(
            verify_chain(db.pool()).await.expect("verify"),
            ChainCheck::Intact {
                rows: total,
                redacted: 0
            }
        );
        let rows = query(db.pool(), &AuditFilter::default())
            .await
            .expect("rows");
        assert_eq!(rows.len() as u64, total);
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row.id, i as i64 + 1, "consecutive ids");
        }
        for (i, (row, e)) in rows[2..2 + n].iter().zip(&entries).enumerate() {
            assert_eq!(row.hris_id.as_deref(), Some(format!("h{i}").as_str()));
            assert_eq!(
                (&row.fields, &row.message),
                (&e.fields, &e.message),
                "row {i}"
            );
            assert_eq!(row.has_values_row, i % 3 != 0, "row {i}");
        }
        // A row in the middle of the batch edited: the chain shows where.
        let mid = 2 + n as i64 / 2;
        sqlx::query("DROP TRIGGER audit_chain_no_update")
            .execute(db.pool())
            .await
            .expect("drop");
        sqlx::query("UPDATE audit_chain SET hris_id = 'x' WHERE id = ?")
            .bind(mid)
            .execute(db.pool())
            .await
            .expect("tamper");
        assert_broken_at(&db, mid, "content does not match").await;
    }

    /// An id once given is never given again, as AUTOINCREMENT promises: the batch starts after
    /// the sequence even when it is ahead of the newest row.
    #[tokio::test]
    async fn a_batch_never_reuses_an_id() {
        let (_dir, db) = db().await;
        db.audit(&[AuditEntry::new(Some(1), "read")])
            .await
            .expect("first");
        sqlx::query("UPDATE sqlite_sequence SET seq = 41 WHERE name = 'audit_chain'")
            .execute(db.pool())
            .await
            .expect("sequence ahead");
        db.audit(&[
            AuditEntry::new(Some(1), "a").message("m"),
            AuditEntry::new(Some(1), "b"),
        ])
        .await
        .expect("batch");
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM audit_chain ORDER BY id")
            .fetch_all(db.pool())
            .await
            .expect("ids");
        assert_eq!(ids, [1, 42, 43]);
        let values: Vec<i64> = sqlx::query_scalar("SELECT audit_id FROM audit_values")
            .fetch_all(db.pool())
            .await
            .expect("values");
        assert_eq!(values, [42]);
        assert!(matches!(
            verify_chain(db.pool()).await.expect("verify"),
            ChainCheck::Intact { rows: 3, .. }
        ));
    }

    async fn assert_broken_at(db: &StateDb, id: i64, why: &str) {
        match verify_chain(db.pool()).await.expect("verify") {
            ChainCheck::Broken { row_id, reason } => {
                assert_eq!(row_id, id, "{reason}");
                assert!(reason.contains(why), "{reason}");
            }
            other => panic!("not detected ({why}): {other:?}"),
        }
    }

    /// Rows stamped `days` ago (the chain is computed as `audit` does, then inserted directly).
    async fn append_at(db: &StateDb, at: &str, entry: AuditEntry) {
        let mut tx = db.begin().await.expect("begin");
        let id = tx.audit(&entry).await.expect("append");
        // Re-stamp and rehash this last row as if written at `at`.
        sqlx::query("DROP TRIGGER audit_chain_no_update")
            .execute(tx.conn())
            .await
            .expect("drop");
        let r = sqlx::query(sqlx::AssertSqlSafe(format!("{ROW_SELECT} WHERE c.id = ?")))
            .bind(id)
            .fetch_one(tx.conn())
            .await
            .expect("row");
        let mut row = row_from(&r).expect("row");
        row.at = at.to_owned();
        let hash = row.chain_hash(&row.prev_hash);
        sqlx::query("UPDATE audit_chain SET at = ?, hash = ? WHERE id = ?")
            .bind(at)
            .bind(&hash)
            .bind(id)
            .execute(tx.conn())
            .await
            .expect("restamp");
        sqlx::query(
            "CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
             BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END",
        )
        .execute(tx.conn())
        .await
        .expect("trigger");
        // Read again: the head this transaction cached still holds the hash before re-stamping.
        tx.head = None;
        tx.commit().await.expect("commit");
    }

    #[tokio::test]
    async fn prune_erases_old_values_and_the_chain_still_verifies() {
        let (_dir, db) = db().await;
        append_at(
            &db,
            "2024-01-01T00:00:00.000Z",
            AuditEntry::new(Some(1), "create")
                .hris(Some("h1"))
                .fields(r#"{"birth_date":[null,"1990-02-01"]}"#.into()),
        )
        .await;
        append_at(
            &db,
            "2024-01-02T00:00:00.000Z",
            AuditEntry::new(Some(1), "read").message("3 companies"),
        )
        .await;
        db.audit(&[AuditEntry::new(Some(2), "update")
            .hris(Some("h1"))
            .fields(r#"{"last_name":["A","B"]}"#.into())])
            .await
            .expect("recent");
        let n = db
            .prune_audit(400, time::OffsetDateTime::now_utc(), Some(2))
            .await
            .expect("prune");
        assert_eq!(n, 2, "the two old rows");
        assert_eq!(
            verify_chain(db.pool()).await.expect("verify"),
            ChainCheck::Intact {
                rows: 4,
                redacted: 2
            }
        );
        let rows = query(db.pool(), &AuditFilter::default())
            .await
            .expect("rows");
        assert_eq!(rows[0].fields, None, "old values erased");
        assert_eq!(rows[0].redacted_by, Some(4), "by the prune row");
        assert!(rows[2].fields.is_some(), "recent values kept");
        assert_eq!(rows[3].action, "prune");
        assert!(
            rows[3]
                .fields
                .as_deref()
                .is_some_and(|f| f.contains("\"rows\":2"))
        );
        // The erased birth date is nowhere in the file (secure_delete, checkpoint).
        let bytes = std::fs::read(_dir.path().join("state.db")).expect("db file");
        assert!(!String::from_utf8_lossy(&bytes).contains("1990-02-01"));
        // Nothing more to do: no second prune row.
        assert_eq!(
            db.prune_audit(400, time::OffsetDateTime::now_utc(), None)
                .await
                .expect("prune"),
            0
        );
        assert_eq!(
            query(db.pool(), &AuditFilter::default())
                .await
                .expect("rows")
                .len(),
            4
        );
        // A prune row's scope is checked: a recent row erased on its behalf is not covered.
        sqlx::query("UPDATE audit_values SET salt = NULL, fields = NULL, message = NULL, redacted_by = 4 WHERE audit_id = 3")
            .execute(db.pool())
            .await
            .expect("erase");
        assert_broken_at(&db, 3, "without a prune or forget row").await;
    }

    /// A database as the previous release left it: migrations up to the read marks, two rows
    /// hashed over their values (the second one's hash wrong when `tamper`). Returns the old head.
    async fn legacy_db(url: &str, tamper: bool) -> String {
        let pool = crate::db::open_sqlite(url, 1).await.expect("open");
        let mut migrator = sqlx::migrate!("./migrations");
        let legacy: Vec<_> = migrator
            .migrations
            .iter()
            .filter(|m| m.version < 20261201000000)
            .cloned()
            .collect();
        migrator.migrations = legacy.into();
        migrator.run(&pool).await.expect("old migrations");
        let mut prev = String::new();
        for (i, fields) in [Some(r#"{"last_name":[null,"Hanison"]}"#), None]
            .iter()
            .enumerate()
        {
            let row = AuditRow {
                id: 0,
                run_id: Some(1),
                at: format!("2025-01-0{}T00:00:00.000Z", i + 1),
                hris_id: Some("h1".into()),
                employee_id: None,
                company_id: None,
                direction: None,
                action: "create".into(),
                fields: fields.map(str::to_owned),
                http_method: None,
                http_path: None,
                http_status: None,
                attempts: None,
                duration_ms: None,
                dry_run: false,
                message: Some("m".into()),
                redacted_at: None,
                redacted_by: None,
                values_digest: None,
                chain_version: 1,
                prev_hash: prev.clone(),
                hash: String::new(),
                salt: None,
                has_values_row: false,
            };
            let mut hash = row.legacy_hash(&prev);
            if tamper && i == 1 {
                hash = "0".repeat(64);
            }
            sqlx::query(
                "INSERT INTO audit_log (run_id, at, hris_id, action, fields, dry_run, message, prev_hash, hash)
                 VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)",
            )
            .bind(row.run_id)
            .bind(&row.at)
            .bind(&row.hris_id)
            .bind(&row.action)
            .bind(&row.fields)
            .bind(&row.message)
            .bind(&prev)
            .bind(&hash)
            .execute(&pool)
            .await
            .expect("legacy row");
            prev = hash;
        }
        pool.close().await;
        prev
    }

    #[tokio::test]
    async fn a_legacy_chain_is_reanchored_once_and_recorded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite:{}", dir.path().join("state.db").display());
        let head = legacy_db(&url, false).await;
        let db = StateDb::open(&url).await.expect("migrates and re-anchors");
        assert_eq!(
            verify_chain(db.pool()).await.expect("verify"),
            ChainCheck::Intact {
                rows: 3,
                redacted: 0
            }
        );
        let rows = query(db.pool(), &AuditFilter::default())
            .await
            .expect("rows");
        assert_eq!(
            rows[0].fields.as_deref(),
            Some(r#"{"last_name":[null,"Hanison"]}"#),
            "values kept"
        );
        assert_eq!(rows[2].action, "reanchor");
        let facts: serde_json::Value =
            serde_json::from_str(rows[2].fields.as_deref().expect("facts")).expect("json");
        assert_eq!(facts["legacy_rows"], 2);
        assert_eq!(facts["legacy_chain"], "intact");
        assert_eq!(facts["legacy_head"], head.as_str());
        drop(db);
        // Opening again re-anchors nothing.
        let db = StateDb::open(&url).await.expect("reopen");
        assert_eq!(
            query(db.pool(), &AuditFilter::default())
                .await
                .expect("rows")
                .len(),
            3
        );
        // The old rows can be pruned now (the re-anchor row is kept), and the chain verifies.
        assert_eq!(
            db.prune_audit(1, time::OffsetDateTime::now_utc(), None)
                .await
                .expect("prune"),
            2
        );
        assert_eq!(
            verify_chain(db.pool()).await.expect("verify"),
            ChainCheck::Intact {
                rows: 4,
                redacted: 2
            }
        );
    }

    #[tokio::test]
    async fn a_legacy_chain_broken_before_reanchoring_stays_visible() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite:{}", dir.path().join("state.db").display());
        legacy_db(&url, true).await;
        let db = StateDb::open(&url).await.expect("migrates and re-anchors");
        assert_broken_at(&db, 3, "already broken at row 2").await;
    }

    #[tokio::test]
    async fn filters_select_rows() {
        let (_dir, db) = db().await;
        db.audit(&[
            AuditEntry::new(Some(1), "create")
                .hris(Some("h1"))
                .employee(Some("e1")),
            AuditEntry::new(Some(2), "update")
                .hris(Some("h1"))
                .employee(Some("e1")),
            AuditEntry::new(Some(2), "pull")
                .hris(Some("h2"))
                .employee(Some("e2")),
        ])
        .await
        .expect("append");
        let by_run = query(
            db.pool(),
            &AuditFilter {
                run_id: Some(2),
                ..Default::default()
            },
        )
        .await
        .expect("q");
        assert_eq!(by_run.len(), 2);
        let by_emp = query(
            db.pool(),
            &AuditFilter {
                employee_id: Some("e1".into()),
                ..Default::default()
            },
        )
        .await
        .expect("q");
        assert_eq!(
            by_emp.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
            ["create", "update"]
        );
        let by_action = query(
            db.pool(),
            &AuditFilter {
                action: Some("pull".into()),
                ..Default::default()
            },
        )
        .await
        .expect("q");
        assert_eq!(by_action.len(), 1);
        assert_eq!(by_action[0].hris_id.as_deref(), Some("h2"));
    }
}
