//! Which HRIS rows an incremental cycle reads whole (issue 13): the rows whose `updated_at` moved
//! since the last applied read, the rows with pending work, and the rows of employees Nmbrs shows
//! a change for. Every other row is as it was when both sides last agreed (its link's base
//! snapshot), so it is counted unchanged without being read. Pure: plain data in, plain data out.
//!
//! A row whose writer did not set `updated_at` is seen at the next full reconcile
//! (`sync.full_every`); `hris.incremental = false` reads every row every cycle.

use super::RowKey;
use crate::nmbrs::read::OVERLAP;
use crate::plan::Decision;
use crate::record::LinkHead;
use crate::state::marks::ReadMark;
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

/// The read mark's resource name for the HRIS side: its watermark is the newest `updated_at`
/// read, its `recent` list the keys of the rows not in agreement after the last cycle.
pub(crate) const HRIS_MARK: &str = "hris";

/// The text form of a [`RowKey::updated`] stamp: text order is time order.
const STAMP: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

/// What an incremental cycle reads of a company's HRIS rows.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RowSelection {
    /// Keys of the rows to read whole.
    pub read: Vec<String>,
    /// Whether some rows have no usable key (read too: each is a rejection to report).
    pub keyless: bool,
    /// Keys of the rows not read: unchanged since the last read and in agreement then.
    pub unread: HashSet<String>,
    /// The `updated_at` from which a row counts as moved (the HRIS mark less [`OVERLAP`]).
    pub since: String,
}

/// Chooses the rows to read (module doc). `None` (read every row) without a usable HRIS mark.
/// `seen`: employees with a new Nmbrs entry since the last read; `write_back`: whether the row
/// carries the `employeeId` (`hris.write_back`).
pub(crate) fn select_rows(
    keys: &[RowKey],
    mark: Option<&ReadMark>,
    links: &[LinkHead],
    seen: &HashSet<String>,
    company_id: &str,
    write_back: bool,
) -> Option<RowSelection> {
    let mark = mark?;
    // An `updated_at` set up to OVERLAP before the newest one read may commit after that read
    // (a long transaction, a writer whose clock lags): read again, never missed.
    let since = OffsetDateTime::parse(
        mark.watermark.as_deref()?,
        &time::format_description::well_known::Rfc3339,
    )
    .ok()?
    .checked_sub(OVERLAP)?
    .format(STAMP)
    .ok()?;
    let by_hris: HashMap<&str, &LinkHead> = links.iter().map(|l| (l.hris_id.as_str(), l)).collect();
    let mut out = RowSelection {
        since,
        ..RowSelection::default()
    };
    for k in keys {
        let Some(id) = &k.hris_id else {
            out.keyless = true;
            continue;
        };
        let moved = k.updated.as_deref().is_none_or(|u| u >= out.since.as_str());
        let need = moved
            || mark.recent.contains(id)
            || match by_hris.get(id.as_str()) {
                // A row without a link here is new or moved: a create or a match to plan.
                None => true,
                Some(l) => {
                    !l.clean_in(company_id)
                        || l.employee_id.as_ref().is_some_and(|e| seen.contains(e))
                        || (write_back && k.employee_id.as_deref() != l.employee_id.as_deref())
                }
            };
        if need {
            out.read.push(id.clone());
        } else {
            out.unread.insert(id.clone());
        }
    }
    Some(out)
}

/// The HRIS mark's watermark after reading `keys` at `now`: the newest `updated_at`, never later
/// than `now` (a row stamped in the future must not hide the rows written until then). `None`
/// when no row has a readable stamp.
pub(crate) fn watermark(keys: &[RowKey], now: OffsetDateTime) -> Option<String> {
    let newest = keys.iter().filter_map(|k| k.updated.as_deref()).max()?;
    let now = now.to_offset(time::UtcOffset::UTC).format(STAMP).ok()?;
    Some(newest.min(now.as_str()).to_owned())
}

/// The keys of the records a cycle planned anything but agreement for: read again next cycle
/// whatever their `updated_at` (a failure, a conflict, a rejection, a write to confirm).
pub(crate) fn pending_rows(decisions: &[Decision]) -> Vec<String> {
    decisions
        .iter()
        .filter(|d| !matches!(d, Decision::Unchanged { .. }))
        .map(|d| d.ids().0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::FieldValues;
    use crate::record::{Base, Link, LinkStatus};

    fn key(id: &str, updated: Option<&str>) -> RowKey {
        RowKey {
            hris_id: Some(id.into()),
            employee_id: Some(format!("e-{id}")),
            updated: updated.map(str::to_owned),
        }
    }

    fn link(id: &str) -> Link {
        let mut l = Link::new(id, "c1", LinkStatus::Linked);
        l.employee_id = Some(format!("e-{id}"));
        l.base = Base::of(&FieldValues::default());
        l
    }

    fn mark(watermark: &str, pending: &[&str]) -> ReadMark {
        ReadMark {
            watermark: Some(watermark.into()),
            read_at: None,
            recent: pending.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn rows_that_moved_or_have_work_are_read_and_the_rest_left_unread() {
        let old = Some("2026-01-01T08:00:00.000Z");
        let keys = [
            key("quiet", old),
            key("moved", Some("2026-11-30T07:00:00.000Z")),
            key("at-window", Some("2026-11-30T07:00:00.000Z")),
            key("no-stamp", None),
            key("pending", old),
            key("new", old),
            key("seen", old),
            key("failed", old),
            RowKey {
                employee_id: None,
                ..key("no-id", old)
            },
            RowKey {
                hris_id: None,
                ..key("x", old)
            },
        ];
        let mut links: Vec<Link> = [
            "quiet",
            "moved",
            "at-window",
            "no-stamp",
            "pending",
            "seen",
            "failed",
            "no-id",
        ]
        .into_iter()
        .map(link)
        .collect();
        links[6].status = LinkStatus::Failed;
        let seen = HashSet::from(["e-seen".to_owned()]);
        let m = mark("2026-11-30T10:00:00.000Z", &["pending"]);
        let links: Vec<LinkHead> = links.iter().map(LinkHead::of).collect();
        let s = select_rows(&keys, Some(&m), &links, &seen, "c1", true).expect("a mark");
        assert_eq!(
            s.since, "2026-11-30T07:00:00.000Z",
            "the overlap before the mark"
        );
        assert_eq!(
            s.read,
            [
                "moved",
                "at-window",
                "no-stamp",
                "pending",
                "new",
                "seen",
                "failed",
                "no-id"
            ]
        );
        assert!(s.keyless);
        assert_eq!(s.unread, HashSet::from(["quiet".to_owned()]));
        // A read-only HRIS keeps no employeeId in the row: nothing pending for "no-id".
        let s = select_rows(&keys, Some(&m), &links, &seen, "c1", false).expect("a mark");
        assert!(s.unread.contains("no-id"));
        assert_eq!(
            select_rows(&keys, None, &links, &seen, "c1", true),
            None,
            "no mark: every row"
        );
        let unreadable = mark("last week", &[]);
        assert_eq!(
            select_rows(&keys, Some(&unreadable), &links, &seen, "c1", true),
            None
        );
    }

    #[test]
    fn the_watermark_is_the_newest_stamp_but_never_later_than_now() {
        let now = time::macros::datetime!(2026-11-30 12:00 UTC);
        let keys = [key("a", Some("2026-11-30T09:00:00.000Z")), key("b", None)];
        assert_eq!(
            watermark(&keys, now).as_deref(),
            Some("2026-11-30T09:00:00.000Z")
        );
        let future = [key("c", Some("2099-01-01T00:00:00.000Z"))];
        assert_eq!(
            watermark(&future, now).as_deref(),
            Some("2026-11-30T12:00:00.000Z")
        );
        assert_eq!(watermark(&[key("d", None)], now), None);
    }
}
