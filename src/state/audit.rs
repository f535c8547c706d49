//! The append-only audit log: one row per decision or API call (docs/SPEC.md).
//!
//! Triggers refuse UPDATE and DELETE. Each row also carries `hash = sha256(prev_hash || content)`,
//! so someone who drops the triggers and edits a row breaks the chain, and [`verify_chain`] says where.

use super::{StateError, StateTx};
use crate::db::utc_now;
use crate::nmbrs::HttpCall;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

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
    pub fields: Option<String>,
    pub http_method: Option<String>,
    pub http_path: Option<String>,
    pub http_status: Option<i64>,
    pub attempts: Option<i64>,
    pub duration_ms: Option<i64>,
    pub dry_run: bool,
    pub message: Option<String>,
    #[serde(skip)]
    pub prev_hash: String,
    #[serde(skip)]
    pub hash: String,
}

impl AuditRow {
    /// `sha256(prev_hash || "\n" || canonical JSON of the content columns)`, hex.
    fn content_hash(&self, prev_hash: &str) -> String {
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
        let mut h = Sha256::new();
        h.update(prev_hash.as_bytes());
        h.update(b"\n");
        h.update(content.to_string().as_bytes());
        hex::encode(h.finalize())
    }
}

impl StateTx {
    /// Appends one audit row, extending the hash chain.
    pub async fn audit(&mut self, e: &AuditEntry) -> Result<(), StateError> {
        let prev_hash = match self.last_hash.take() {
            Some(h) => h,
            None => sqlx::query_scalar::<_, String>(
                "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1",
            )
            .fetch_optional(self.conn())
            .await?
            .unwrap_or_default(),
        };
        let mut row = AuditRow {
            id: 0,
            run_id: e.run_id,
            at: utc_now(),
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
            prev_hash,
            hash: String::new(),
        };
        row.hash = row.content_hash(&row.prev_hash);
        sqlx::query(
            "INSERT INTO audit_log (run_id, at, hris_id, employee_id, company_id, direction, action, fields,
               http_method, http_path, http_status, attempts, duration_ms, dry_run, message, prev_hash, hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(row.run_id)
        .bind(&row.at)
        .bind(&row.hris_id)
        .bind(&row.employee_id)
        .bind(&row.company_id)
        .bind(&row.direction)
        .bind(&row.action)
        .bind(&row.fields)
        .bind(&row.http_method)
        .bind(&row.http_path)
        .bind(row.http_status)
        .bind(row.attempts)
        .bind(row.duration_ms)
        .bind(row.dry_run)
        .bind(&row.message)
        .bind(&row.prev_hash)
        .bind(&row.hash)
        .execute(self.conn())
        .await?;
        self.last_hash = Some(row.hash);
        Ok(())
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
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

/// Reads audit rows matching `filter`, oldest first.
pub async fn query(
    pool: &sqlx::SqlitePool,
    filter: &AuditFilter,
) -> Result<Vec<AuditRow>, StateError> {
    let rows = sqlx::query(
        "SELECT * FROM audit_log
         WHERE (?1 IS NULL OR run_id = ?1) AND (?2 IS NULL OR employee_id = ?2) AND (?3 IS NULL OR hris_id = ?3)
           AND (?4 IS NULL OR action = ?4) AND (?5 IS NULL OR at >= ?5)
         ORDER BY id LIMIT ?6",
    )
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

/// Outcome of [`verify_chain`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainCheck {
    /// Every row's hash matches its content and its predecessor; `rows` checked.
    Intact { rows: u64 },
    /// The first row whose stored hash or link does not match.
    Broken { row_id: i64, reason: String },
}

/// Recomputes the hash chain over the whole audit log, streaming (constant memory).
pub async fn verify_chain(pool: &sqlx::SqlitePool) -> Result<ChainCheck, StateError> {
    use futures::TryStreamExt;
    let mut rows = sqlx::query("SELECT * FROM audit_log ORDER BY id").fetch(pool);
    let mut prev = String::new();
    let mut n = 0u64;
    while let Some(r) = rows.try_next().await? {
        let row = row_from(&r)?;
        if row.prev_hash != prev {
            return Ok(ChainCheck::Broken {
                row_id: row.id,
                reason: "prev_hash does not match the previous row (a row was removed or inserted)"
                    .into(),
            });
        }
        if row.content_hash(&prev) != row.hash {
            return Ok(ChainCheck::Broken {
                row_id: row.id,
                reason: "content does not match its hash (the row was changed)".into(),
            });
        }
        prev = row.hash;
        n += 1;
    }
    Ok(ChainCheck::Intact { rows: n })
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
            ChainCheck::Intact { rows: 3 }
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

        // Someone with write access drops the trigger and edits a row: the chain shows it.
        sqlx::query("DROP TRIGGER audit_log_no_update")
            .execute(db.pool())
            .await
            .expect("drop");
        sqlx::query("UPDATE audit_log SET fields = '{\"last_name\":[\"A\",\"C\"]}' WHERE id = 2")
            .execute(db.pool())
            .await
            .expect("tamper");
        match verify_chain(db.pool()).await.expect("verify") {
            ChainCheck::Broken { row_id, .. } => assert_eq!(row_id, 2),
            other => panic!("tampering not detected: {other:?}"),
        }
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
