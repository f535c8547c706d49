//! `employee_links`: which HRIS row is which Nmbrs employee, the base snapshot of the last successful
//! sync, create intents, and failure / quarantine bookkeeping (docs/SPEC.md rules 1, 2, 3, 5).

use super::audit::{ROWS_PER_STATEMENT, keep_prepared};
use super::{StateError, StateTx};
use crate::db::{format_time, parse_time, utc_now};
use crate::fields::FieldValues;
use crate::record::{Base, CreateIntent, Link, LinkHead, LinkStatus};
use sqlx::Row;

fn parse_status(status: &str) -> Result<LinkStatus, StateError> {
    LinkStatus::parse(status).ok_or_else(|| StateError::Corrupt {
        what: "employee_links.status".into(),
        message: format!("unknown status `{status}`"),
    })
}

fn link_from(r: &sqlx::sqlite::SqliteRow) -> Result<Link, StateError> {
    let status: String = r.try_get("status")?;
    let failures: i64 = r.try_get("failures")?;
    let snapshot: Option<String> = r.try_get("snapshot")?;
    let snapshot_hash: Option<String> = r.try_get("snapshot_hash")?;
    let base = match snapshot.as_deref().map(FieldValues::from_json) {
        None => Base::None,
        Some(Ok(values)) => {
            let hash = snapshot_hash.unwrap_or_else(|| values.digest());
            Base::Known { values, hash }
        }
        Some(Err(e)) => Base::Unreadable {
            raw: snapshot.clone().unwrap_or_default(),
            error: e.to_string(),
        },
    };
    let intent: Option<String> = r.try_get("create_intent")?;
    let intent_at: Option<String> = r.try_get("intent_at")?;
    let create_intent = intent.map(|raw| CreateIntent {
        values: FieldValues::from_json(&raw).ok(),
        at: intent_at.as_deref().and_then(parse_time),
        raw,
    });
    let held: Option<String> = r.try_get("held")?;
    let write_intent: Option<String> = r.try_get("write_intent")?;
    // An unreadable intent cannot be settled: the record fails rather than merging on a stale base.
    let write_intent = write_intent
        .map(|j| {
            serde_json::from_str(&j).map_err(|e| StateError::Corrupt {
                what: "employee_links.write_intent".into(),
                message: e.to_string(),
            })
        })
        .transpose()?;
    Ok(Link {
        hris_id: r.try_get("hris_id")?,
        company_id: r.try_get("company_id")?,
        employee_id: r.try_get("employee_id")?,
        personal_info_id: r.try_get("personal_info_id")?,
        base,
        create_intent,
        status: parse_status(&status)?,
        failures: failures.clamp(0, u32::MAX as i64) as u32,
        last_error: r.try_get("last_error")?,
        quarantined_hash: r.try_get("quarantined_hash")?,
        // Unreadable bookkeeping costs at most one repeated report, so it reads as empty.
        held: held
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default(),
        write_intent,
    })
}

impl super::StateDb {
    /// Every link of a company (`company_id` = Nmbrs `companyId`), and the tombstones of records
    /// forgotten before they had a company (`company_id` '': they apply in every company).
    pub async fn links_for_company(&self, company_id: &str) -> Result<Vec<Link>, StateError> {
        let rows = sqlx::query(
            "SELECT * FROM employee_links WHERE company_id = ?
             UNION ALL SELECT * FROM employee_links WHERE company_id = '' AND status = 'forgotten'",
        )
        .bind(company_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(link_from).collect()
    }

    /// The heads of a company's links ([`LinkHead`]), tombstones included as in
    /// [`Self::links_for_company`]. A base whose hash was never stored counts as unsettled (its
    /// record is planned on the whole link).
    ///
    /// Errors: the database's; an unknown status.
    pub async fn link_heads_for_company(
        &self,
        company_id: &str,
    ) -> Result<Vec<LinkHead>, StateError> {
        const COLUMNS: &str = "hris_id, company_id, employee_id, status, snapshot_hash,
            snapshot IS NOT NULL AND snapshot_hash IS NOT NULL AND write_intent IS NULL AND create_intent IS NULL AS settled";
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM employee_links WHERE company_id = ?
             UNION ALL SELECT {COLUMNS} FROM employee_links WHERE company_id = '' AND status = 'forgotten'"
        )))
        .bind(company_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                Ok(LinkHead {
                    hris_id: r.try_get("hris_id")?,
                    company_id: r.try_get("company_id")?,
                    employee_id: r.try_get("employee_id")?,
                    status: parse_status(&status)?,
                    base_hash: r.try_get("snapshot_hash")?,
                    settled: r.try_get("settled")?,
                })
            })
            .collect()
    }

    /// The links of the given HRIS records (those that exist).
    ///
    /// Errors: the database's; a link that cannot be read.
    pub async fn links_of(&self, hris_ids: &[&str]) -> Result<Vec<Link>, StateError> {
        if hris_ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = serde_json::to_string(hris_ids).unwrap_or_else(|_| "[]".into());
        let rows = sqlx::query(
            "SELECT * FROM employee_links WHERE hris_id IN (SELECT value FROM json_each(?))",
        )
        .bind(list)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(link_from).collect()
    }

    /// How many links a company has.
    pub async fn link_count(&self, company_id: &str) -> Result<u64, StateError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM employee_links WHERE company_id = ?")
            .bind(company_id)
            .fetch_one(self.pool())
            .await?;
        Ok(n.max(0) as u64)
    }

    /// The link of one HRIS record.
    pub async fn link(&self, hris_id: &str) -> Result<Option<Link>, StateError> {
        let row = sqlx::query("SELECT * FROM employee_links WHERE hris_id = ?")
            .bind(hris_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(link_from).transpose()
    }

    /// The links of the given HRIS records that point at an employee of another company (a row
    /// that moved): one query for a whole company's unlinked rows.
    pub async fn links_elsewhere(
        &self,
        hris_ids: &[&str],
        company_id: &str,
    ) -> Result<Vec<Link>, StateError> {
        if hris_ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = serde_json::to_string(hris_ids).unwrap_or_else(|_| "[]".into());
        let rows = sqlx::query(
            "SELECT * FROM employee_links WHERE hris_id IN (SELECT value FROM json_each(?))
               AND company_id != ? AND employee_id IS NOT NULL",
        )
        .bind(list)
        .bind(company_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(link_from).collect()
    }

    /// Links with one of the given statuses (for `status` and reports).
    pub async fn links_with_status(
        &self,
        statuses: &[LinkStatus],
    ) -> Result<Vec<Link>, StateError> {
        let list = serde_json::to_string(&statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".into());
        let rows = sqlx::query("SELECT * FROM employee_links WHERE status IN (SELECT value FROM json_each(?)) ORDER BY hris_id")
            .bind(list)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(link_from).collect()
    }
}

impl StateTx {
    /// Inserts or replaces a link (keyed by `hris_id`).
    pub async fn put_link(&mut self, l: &Link) -> Result<(), StateError> {
        self.put_links(std::slice::from_ref(l)).await
    }

    /// Inserts or replaces many links (keyed by `hris_id`), in order, with one multi-row upsert
    /// per [`ROWS_PER_STATEMENT`] links instead of a statement per link (issue 13). A link that
    /// cannot be written (an `employee_id` another link holds) fails the whole statement.
    pub async fn put_links(&mut self, links: &[Link]) -> Result<(), StateError> {
        let now = utc_now();
        for chunk in links.chunks(ROWS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO employee_links (hris_id, company_id, employee_id, personal_info_id, snapshot, snapshot_hash,
                   create_intent, intent_at, status, failures, last_error, quarantined_hash, held, write_intent, updated_at) ",
            );
            q.push_values(chunk, |mut b, l| {
                b.push_bind(l.hris_id.clone())
                    .push_bind(l.company_id.clone())
                    .push_bind(l.employee_id.clone())
                    .push_bind(l.personal_info_id.clone())
                    .push_bind(match &l.base {
                        Base::Known { values, .. } => Some(values.to_json()),
                        // Kept as stored: an unreadable snapshot is for a person to look at, not to erase.
                        Base::Unreadable { raw, .. } => Some(raw.clone()),
                        Base::None => None,
                    })
                    .push_bind(l.base.hash().map(str::to_owned))
                    .push_bind(l.create_intent.as_ref().map(|i| i.raw.clone()))
                    .push_bind(l.create_intent.as_ref().and_then(|i| i.at).map(format_time))
                    .push_bind(l.status.as_str())
                    .push_bind(l.failures as i64)
                    .push_bind(l.last_error.clone())
                    .push_bind(l.quarantined_hash.clone())
                    .push_bind(
                        (!l.held.is_empty())
                            .then(|| serde_json::to_string(&l.held).unwrap_or_default()),
                    )
                    .push_bind(
                        l.write_intent
                            .as_ref()
                            .and_then(|w| serde_json::to_string(w).ok()),
                    )
                    .push_bind(now.clone());
            });
            q.push(
                " ON CONFLICT (hris_id) DO UPDATE SET company_id = excluded.company_id, employee_id = excluded.employee_id,
               personal_info_id = excluded.personal_info_id, snapshot = excluded.snapshot,
               snapshot_hash = excluded.snapshot_hash, create_intent = excluded.create_intent,
               intent_at = excluded.intent_at, status = excluded.status, failures = excluded.failures,
               last_error = excluded.last_error, quarantined_hash = excluded.quarantined_hash,
               held = excluded.held, write_intent = excluded.write_intent, updated_at = excluded.updated_at",
            );
            q.build()
                .persistent(keep_prepared(chunk.len()))
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    /// Removes a link (`release` of a tombstone: the record is then new to the planner).
    pub async fn delete_link(&mut self, hris_id: &str) -> Result<(), StateError> {
        sqlx::query("DELETE FROM employee_links WHERE hris_id = ?")
            .bind(hris_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Reads the links of many records inside this transaction, in one query; keyed by `hris_id`.
    pub async fn get_links(
        &mut self,
        hris_ids: &[&str],
    ) -> Result<std::collections::HashMap<String, Link>, StateError> {
        let list = serde_json::to_string(hris_ids).unwrap_or_else(|_| "[]".into());
        let rows = sqlx::query(
            "SELECT * FROM employee_links WHERE hris_id IN (SELECT value FROM json_each(?))",
        )
        .bind(list)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| link_from(r).map(|l| (l.hris_id.clone(), l)))
            .collect()
    }

    /// Reads a link inside this transaction (sees this transaction's own writes).
    pub async fn get_link(&mut self, hris_id: &str) -> Result<Option<Link>, StateError> {
        let row = sqlx::query("SELECT * FROM employee_links WHERE hris_id = ?")
            .bind(hris_id)
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(link_from).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StateDb;

    #[tokio::test]
    async fn links_round_trip_and_employee_id_is_unique() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = StateDb::open(&format!("sqlite:{}", dir.path().join("s.db").display()))
            .await
            .expect("open");
        let mut l = Link::new("h1", "c1", LinkStatus::Linked);
        l.employee_id = Some("e1".into());
        l.failures = 3;
        l.held.insert("employee_type".into(), "payroll".into());
        let mut base = FieldValues::default();
        base.set(crate::fields::Field::LastName, Some("Hanison"));
        l.base = Base::of(&base);
        l.create_intent = Some(CreateIntent::new(
            &base,
            time::macros::datetime!(2026-11-30 08:00:00 UTC),
        ));
        let mut tx = db.begin().await.expect("begin");
        tx.put_link(&l).await.expect("put");
        tx.commit().await.expect("commit");
        assert_eq!(db.link("h1").await.expect("get"), Some(l.clone()));
        assert_eq!(db.links_for_company("c1").await.expect("list").len(), 1);
        assert_eq!(
            db.links_with_status(&[LinkStatus::Linked])
                .await
                .expect("list")
                .len(),
            1
        );

        // Two HRIS rows can never point at one employee.
        let mut other = Link::new("h2", "c1", LinkStatus::Linked);
        other.employee_id = Some("e1".into());
        let mut tx = db.begin().await.expect("begin");
        assert!(tx.put_link(&other).await.is_err());
    }

    /// Many links in one call (more than one statement's worth, [`ROWS_PER_STATEMENT`]):
    /// each stored as given, an existing one replaced; one that takes another's employee fails
    /// the call and the transaction writes nothing.
    #[tokio::test]
    async fn many_links_are_written_in_one_call() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = StateDb::open(&format!("sqlite:{}", dir.path().join("s.db").display()))
            .await
            .expect("open");
        let mut first = Link::new("h0", "c1", LinkStatus::Failed);
        first.failures = 2;
        let mut tx = db.begin().await.expect("begin");
        tx.put_link(&first).await.expect("put");
        tx.commit().await.expect("commit");
        let n = 2 * ROWS_PER_STATEMENT + 3;
        let links: Vec<Link> = (0..n)
            .map(|i| {
                let mut l = Link::new(&format!("h{i}"), "c1", LinkStatus::Linked);
                l.employee_id = Some(format!("e{i}"));
                let mut base = FieldValues::default();
                base.set(crate::fields::Field::LastName, Some(&format!("L{i}")));
                l.base = Base::of(&base);
                l
            })
            .collect();
        let mut tx = db.begin().await.expect("begin");
        tx.put_links(&links).await.expect("put many");
        tx.commit().await.expect("commit");
        let mut stored = db.links_for_company("c1").await.expect("list");
        stored.sort_by_key(|l| l.hris_id[1..].parse::<usize>().unwrap_or(usize::MAX));
        assert_eq!(stored, links, "h0 replaced, the others inserted");

        let mut clash = Link::new("new", "c1", LinkStatus::Linked);
        clash.employee_id = Some("e5".into());
        let mut tx = db.begin().await.expect("begin");
        assert!(
            tx.put_links(&[Link::new("other", "c1", LinkStatus::Linked), clash])
                .await
                .is_err()
        );
        drop(tx);
        assert_eq!(db.link("other").await.expect("get"), None);
    }
}
