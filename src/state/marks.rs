//! Read marks, the ground incremental reads stand on (issue 13): per company and resource, the
//! newest entry stamp a complete, applied read saw, and when the last full reconcile finished.
//! A mark is only written after the company's records were all applied, so a change seen by a read
//! whose cycle stopped early is seen again.

use super::{StateDb, StateError};
use crate::db::{format_time, parse_time};
use std::collections::HashMap;
use time::OffsetDateTime;

/// The key of the last full reconcile in `sync_meta`.
const LAST_FULL: &str = "last_full_reconcile";

/// What the last applied read of one company's resource saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadMark {
    /// The newest entry stamp in the listing (Nmbrs's text); `None`: the listing had no entries.
    pub watermark: Option<String>,
    /// When that read was made (UTC; `None` if the stored time is unreadable).
    pub read_at: Option<OffsetDateTime>,
    /// Hashes of the entries stamped within the overlap window before the watermark
    /// (`crate::nmbrs::read::entry_key`).
    pub recent: std::collections::HashSet<String>,
}

impl StateDb {
    /// Records, for one company, the newest stamp each resource's read saw (`None`: the listing had
    /// no entries), read at `at`.
    ///
    /// Errors: the database's.
    pub async fn save_read_marks(
        &self,
        company_id: &str,
        marks: &[(&str, Option<String>, Vec<String>)],
        at: OffsetDateTime,
    ) -> Result<(), StateError> {
        let mut tx = self.pool().begin().await?;
        for (resource, watermark, recent) in marks {
            sqlx::query(
                "INSERT INTO read_marks (company_id, resource, watermark, read_at, recent) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (company_id, resource) DO UPDATE SET watermark = excluded.watermark, read_at = excluded.read_at, recent = excluded.recent",
            )
            .bind(company_id)
            .bind(resource)
            .bind(watermark)
            .bind(format_time(at))
            .bind(serde_json::to_string(recent).unwrap_or_else(|_| "[]".into()))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The read marks of one company, by resource name.
    ///
    /// Errors: the database's.
    pub async fn read_marks(
        &self,
        company_id: &str,
    ) -> Result<HashMap<String, ReadMark>, StateError> {
        Ok(
            sqlx::query_as::<_, (String, Option<String>, String, Option<String>)>(
                "SELECT resource, watermark, read_at, recent FROM read_marks WHERE company_id = ?",
            )
            .bind(company_id)
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .map(|(resource, watermark, read_at, recent)| {
                (
                    resource,
                    ReadMark {
                        watermark,
                        read_at: parse_time(&read_at),
                        recent: recent
                            .and_then(|r| serde_json::from_str(&r).ok())
                            .unwrap_or_default(),
                    },
                )
            })
            .collect(),
        )
    }

    /// When the last full reconcile (every visible company read whole and applied) finished.
    ///
    /// Errors: the database's.
    pub async fn last_full_reconcile(&self) -> Result<Option<OffsetDateTime>, StateError> {
        let v: Option<String> = sqlx::query_scalar("SELECT value FROM sync_meta WHERE key = ?")
            .bind(LAST_FULL)
            .fetch_optional(self.pool())
            .await?;
        Ok(v.as_deref().and_then(parse_time))
    }

    /// Records a finished full reconcile.
    ///
    /// Errors: the database's.
    pub async fn set_last_full_reconcile(&self, at: OffsetDateTime) -> Result<(), StateError> {
        sqlx::query(
            "INSERT INTO sync_meta (key, value) VALUES (?, ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(LAST_FULL)
        .bind(format_time(at))
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn marks_and_the_last_full_reconcile_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite:{}", dir.path().join("s.db").display());
        let db = StateDb::open(&url).await.expect("open");
        assert_eq!(db.last_full_reconcile().await.expect("read"), None);
        let at = OffsetDateTime::from_unix_timestamp(1_796_000_000).expect("time");
        db.save_read_marks(
            "c1",
            &[
                (
                    "personal_info",
                    Some("2026-11-30T10:00:00Z".into()),
                    vec!["a1".into()],
                ),
                ("contract", None, vec![]),
            ],
            at,
        )
        .await
        .expect("save");
        db.save_read_marks(
            "c1",
            &[(
                "personal_info",
                Some("2026-11-30T11:00:00Z".into()),
                vec!["b2".into()],
            )],
            at,
        )
        .await
        .expect("update");
        db.set_last_full_reconcile(at).await.expect("full");
        drop(db);
        let db = StateDb::open(&url).await.expect("reopen");
        let marks = db.read_marks("c1").await.expect("marks");
        assert_eq!(
            marks["personal_info"].watermark.as_deref(),
            Some("2026-11-30T11:00:00Z")
        );
        assert!(marks["personal_info"].recent.contains("b2"));
        assert!(!marks["personal_info"].recent.contains("a1"));
        assert_eq!(marks["contract"].watermark, None);
        assert_eq!(marks["contract"].read_at, Some(at));
        assert!(db.read_marks("c2").await.expect("none").is_empty());
        assert_eq!(db.last_full_reconcile().await.expect("read"), Some(at));
    }
}
