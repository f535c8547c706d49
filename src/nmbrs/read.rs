//! The "read Nmbrs" step of a cycle: one company's listings (one per enabled resource, read side by
//! side, each page by page), the employees as the planner sees them (the entry in force of every
//! resource, member by member), and the debtor's reference lists. Nothing here writes; the cycle
//! (`crate::sync`) records what was read in the audit log.

use super::client::{ApiError, NmbrsClient, Response};
use super::fold::{Fold, ListingMarks};
use super::model::History;
use super::model::resources::{ReadAt, org, read_resource};
use super::{HttpCall, model::ReadError};
use crate::fields::{Field, Resource};
use crate::plan::NmbrsEmployee;
use crate::plan::reference::References;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

/// Each enabled resource's listing of one company, reduced as read.
pub(crate) type CompanyListings = Vec<(Resource, Result<Response<Vec<Reduced>>, ApiError>)>;

/// One employee's history of one resource, reduced as its page arrives: what the cycle needs of
/// it went into the company's [`Fold`]; a hash of the `employeeId` stays for the listing's
/// consistency check (issue 13: a company's listings are never held whole, as JSON or per
/// resource; eight bytes per item instead of the id).
#[derive(Debug)]
pub(crate) struct Reduced {
    key: EmployeeKey,
}

/// A 64-bit hash of an `employeeId` (SipHash with fixed keys): within one listing of 100,000
/// employees two ids share one with a chance of about 3 in 10^10, and then the listing is merely
/// read again (a duplicate) — never merged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct EmployeeKey(u64);

impl EmployeeKey {
    fn of(employee_id: &str) -> EmployeeKey {
        use std::hash::{BuildHasher, BuildHasherDefault};
        EmployeeKey(BuildHasherDefault::<std::hash::DefaultHasher>::default().hash_one(employee_id))
    }
}

impl std::fmt::Display for EmployeeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "with id hash {:016x}", self.0)
    }
}

impl Reduced {
    fn of(employee_id: &str) -> Reduced {
        Reduced {
            key: EmployeeKey::of(employee_id),
        }
    }
}

impl super::client::Listed for Reduced {
    type Key = EmployeeKey;
    fn listed_key(&self) -> EmployeeKey {
        self.key
    }
}

/// How a cycle reduces one resource's histories ([`Reduced`]).
#[derive(Clone, Debug)]
pub(crate) struct Reducer {
    pub(crate) resource: Resource,
    pub(crate) read_at: ReadAt,
    pub(crate) fields: Arc<[Field]>,
    /// Entries stamped before this (the start of the last mark's overlap window) cannot be among
    /// the next mark's recent keys and are not hashed; `None`: every entry is a candidate.
    pub(crate) floor: Option<String>,
    /// The recent keys of the last read: set on an incremental listing, where an entry not among
    /// them is new.
    pub(crate) seen: Option<Arc<HashSet<String>>>,
    /// Where the company's reads go, shared by its reducers.
    pub(crate) fold: Arc<Mutex<Fold>>,
    /// Only these employees are folded (a whole listing read for a few employees).
    pub(crate) only: Option<Arc<HashSet<String>>>,
}

impl Reducer {
    /// Reduces one employee's history into the fold.
    pub(crate) fn reduce(&self, h: History) -> Reduced {
        if self
            .only
            .as_ref()
            .is_some_and(|only| !only.contains(&h.employee_id))
        {
            return Reduced::of(&h.employee_id);
        }
        let entries = h.entries.as_deref();
        let read = entries
            .ok_or_else(|| ReadError::missing(self.resource.history_key()))
            .and_then(|e| read_resource(self.resource, e, &self.read_at, &self.fields));
        let mut newest: Option<&str> = None;
        let mut stamped = Vec::new();
        let mut new_entry = false;
        // Each entry is hashed at most once: for the next mark's window, the last mark's keys, or both.
        for e in entries.unwrap_or_default() {
            let s = stamp(self.resource, e);
            newest = newest.max(s);
            let windowed = s.filter(|s| self.floor.as_deref().is_none_or(|f| *s >= f));
            if windowed.is_none() && self.seen.is_none() {
                continue;
            }
            let key = entry_key(&h.employee_id, e);
            if let Some(seen) = &self.seen {
                new_entry |= !seen.contains(&key);
            }
            if let Some(s) = windowed {
                stamped.push((s.to_owned(), key));
            }
        }
        let mut fold = self.fold.lock().unwrap_or_else(PoisonError::into_inner);
        fold.add(self.resource, &h.employee_id, read);
        let marks = fold.marks_mut(self.resource);
        if newest > marks.newest.as_deref() {
            marks.newest = newest.map(str::to_owned);
        }
        marks.stamped.extend(stamped);
        if new_entry {
            marks.new_entries.insert(h.employee_id.clone());
        }
        Reduced::of(&h.employee_id)
    }

    /// The fold the reducers of one company share, taken out (the reducers keep an empty one).
    pub(crate) fn take_fold(&self) -> Fold {
        std::mem::take(&mut *self.fold.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The resources a cycle reads: personal info (the employees themselves) and every resource with
/// a mapped field. A resource with no mapped field costs no call.
pub(crate) fn resources_for(fields: &[Field]) -> Vec<Resource> {
    Resource::ALL
        .into_iter()
        .filter(|&r| r == Resource::PersonalInfo || fields.iter().any(|f| f.resource() == r))
        .collect()
}

/// Reads every listing of `resources` for one company, side by side
/// (`GET /api/companies/{companyId}/employees/<listing>`, all pages each), each reduced page by
/// page by its reducer ([`Reducer`]); a resource in `since` is read from that time on only (an
/// incremental read).
pub(crate) async fn company_listings(
    client: &NmbrsClient,
    company_id: &str,
    reducers: &[Reducer],
    since: &HashMap<Resource, String>,
) -> (CompanyListings, Fold) {
    let reads = reducers.iter().map(|red| async move {
        let r = red.resource;
        let from = since.get(&r).map(String::as_str);
        let reduce = |h| red.reduce(h);
        (
            r,
            client.company_history(company_id, r, from, &reduce).await,
        )
    });
    let listings = futures::future::join_all(reads).await;
    let fold = reducers.first().map(Reducer::take_fold).unwrap_or_default();
    (listings, fold)
}

/// How far back an incremental read starts before what the last read saw: covers clock skew, the
/// hour Dutch wall-clock time repeats in autumn, and whether a server reads `createdFrom` as Dutch
/// or UTC time (1–2 h apart). Entries seen again only cost a re-read of their employees.
pub(crate) const OVERLAP: time::Duration = time::Duration::hours(3);

/// The `createdFrom` of an incremental read: `OVERLAP` before the last read's newest stamp (or,
/// when its listing was empty, before the read itself). `None` (read the listing whole) when
/// neither is known.
pub(crate) fn since(
    watermark: Option<&str>,
    read_at: Option<time::OffsetDateTime>,
) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    let stamp = match watermark {
        Some(w) => time::OffsetDateTime::parse(w.trim(), &Rfc3339)
            .ok()
            .or_else(|| {
                time::PrimitiveDateTime::parse(
                    w.trim(),
                    time::macros::format_description!(
                        "[year]-[month]-[day]T[hour]:[minute]:[second]"
                    ),
                )
                .ok()
                .map(|p| p.assume_utc())
            })?,
        None => read_at?,
    };
    // Written with `Z` (the description's `format: date-time` needs an offset): whether a server
    // reads it as UTC or, like its own `createdAt`, as Dutch wall-clock time, the overlap keeps it
    // before the watermark.
    let from = stamp - OVERLAP;
    from.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .ok()
}

/// The full histories of some employees of a company, per resource, reduced: one
/// `GET …/<listing>?employeeId=…` per employee and resource; a listing the description gives no
/// `employeeId` filter (`privateInfos`) is read whole once and cut down. An employee absent from a
/// listing has no entries there.
///
/// Errors: the first failed call (the caller skips the company for the cycle).
pub(crate) async fn employee_histories(
    client: &NmbrsClient,
    company_id: &str,
    reducers: &[Reducer],
    employees: &[String],
) -> Result<Fold, ApiError> {
    use futures::StreamExt;
    if employees.is_empty() {
        return Ok(Fold::default());
    }
    for red in reducers {
        let r = red.resource;
        if r == Resource::PrivateInfo {
            // No employeeId filter: the company's listing, folded for these employees only.
            let reduce = |h: History| red.reduce(h);
            client.company_history(company_id, r, None, &reduce).await?;
        } else {
            // Owned per call: a stream of futures borrowing from here would not be `Send` for
            // every lifetime the daemon's spawned cycle needs.
            let reads = futures::stream::iter(employees.to_vec())
                .map(|e| {
                    let (client, company) = (client.clone(), company_id.to_owned());
                    async move { client.employee_history(&company, r, &e).await }
                })
                .buffer_unordered(8)
                .collect::<Vec<_>>()
                .await;
            for h in reads {
                if let Some(h) = h?.body {
                    red.reduce(h);
                }
            }
        }
    }
    Ok(reducers.first().map(Reducer::take_fold).unwrap_or_default())
}

/// The newest stamp among a listing's entries: when an entry was created (`createdAt`; for an
/// employment, which is updated in place, the later of `creationDate` and `changedDate`), as
/// Nmbrs wrote it. The watermark an incremental read starts from (issue 13); `None` for a listing
/// without entries. Stamps of one server share one format, so the text order is the time order.
pub(crate) fn newest_stamp(listing: Option<&ListingMarks>) -> Option<String> {
    listing.and_then(|m| m.newest.clone())
}

/// A short hash of one entry of one employee (its whole JSON, keys sorted): the same entry read
/// again has the same key; an entry edited in place has another.
pub(crate) fn entry_key(employee_id: &str, entry: &Value) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(employee_id.as_bytes());
    h.update([0]);
    h.update(entry.to_string().as_bytes());
    hex::encode(&h.finalize()[..8])
}

/// The stamp of an entry (see [`newest_stamp`]).
fn stamp(resource: Resource, entry: &Value) -> Option<&str> {
    let members: &[&str] = match resource {
        Resource::Employment => &["creationDate", "changedDate"],
        _ => &["createdAt"],
    };
    members
        .iter()
        .filter_map(|m| entry.get(*m).and_then(Value::as_str))
        .max()
}

/// The keys of the entries stamped within [`OVERLAP`] before `watermark`: what the next
/// incremental read will see again and must not take for new.
pub(crate) fn recent_keys(listing: Option<&ListingMarks>, watermark: Option<&str>) -> Vec<String> {
    let (Some(from), Some(listing)) = (since(watermark, None), listing) else {
        return Vec::new();
    };
    listing
        .stamped
        .iter()
        .filter(|(s, _)| s.as_str() >= from.as_str())
        .map(|(_, key)| key.clone())
        .collect()
}

/// What reading one reference list gave, for the audit log.
pub(crate) struct ReferenceRead {
    pub(crate) resource: Resource,
    pub(crate) call: HttpCall,
    /// `Ok(objects read)`, or why the list is not used this cycle.
    pub(crate) outcome: Result<usize, String>,
}

/// The debtor's objects the reference fields among `resources` name
/// (`GET /api/debtors/{debtorId}/{functions,departments,managers}`). A list that cannot be read
/// leaves its field unresolved (not synced this cycle), never empty.
///
/// Errors: only a fatal API error (credentials, scope, quota), which stops the cycle.
pub(crate) async fn debtor_references(
    client: &NmbrsClient,
    debtor_id: &str,
    resources: &[Resource],
    value_maps: &BTreeMap<Field, BTreeMap<String, String>>,
) -> Result<(References, Vec<ReferenceRead>), ApiError> {
    let mut refs = References::new(value_maps);
    let mut reads = Vec::new();
    for &resource in resources.iter().filter(|r| r.is_reference()) {
        let Some(field) = org::field_of(resource) else {
            continue;
        };
        match client.debtor_objects(debtor_id, resource).await {
            Ok(r) => {
                let objects: Result<Vec<_>, _> = r
                    .body
                    .iter()
                    .enumerate()
                    .map(|(i, o)| org::ref_object(resource, o, i))
                    .collect();
                let outcome = match objects {
                    Ok(objects) => {
                        let n = objects.len();
                        refs.set(field, objects);
                        Ok(n)
                    }
                    Err(e) => Err(e.to_string()),
                };
                reads.push(ReferenceRead {
                    resource,
                    call: r.call,
                    outcome,
                });
            }
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => reads.push(ReferenceRead {
                resource,
                outcome: Err(e.to_string()),
                call: e.call,
            }),
        }
    }
    Ok((refs, reads))
}

/// What an incremental read of one company needs besides its listings since the last read.
#[derive(Debug, Default)]
pub(crate) struct Incremental {
    /// Employees to read whole (every resource): seen in a listing since the last read, or whose
    /// record has work pending (not a clean link), or whose HRIS row changed since its base.
    pub(crate) fresh: Vec<String>,
    /// HRIS records (`hris_id`) whose row, link and employee are all as last agreed: planned as
    /// unchanged without being planned at all (a 100,000-employee no-op plans nothing).
    pub(crate) quiet: std::collections::HashSet<String>,
}

impl Incremental {
    /// Whether reading the fresh employees one by one (`?employeeId=`, one call per employee and
    /// resource; `privateInfos` once) would cost more calls than reading the company whole
    /// (`pages(employees, page_size)` per resource), or as many: then the company is read whole.
    pub(crate) fn cheaper_whole(
        &self,
        employees: usize,
        resources: &[Resource],
        page_size: usize,
    ) -> bool {
        let per_employee = resources
            .iter()
            .filter(|r| **r != Resource::PrivateInfo)
            .count();
        let one_by_one = self.fresh.len() * per_employee + (resources.len() - per_employee);
        let whole = resources.len() * employees.div_ceil(page_size.max(1)).max(1);
        one_by_one >= whole
    }
}

/// The linked employees of an incremental read that are neither read whole (`fresh`) nor quiet
/// (`links` holds only the links of records that are not): a link whose row is gone, as it was
/// when last agreed (its base); nothing about them changed on Nmbrs' side since.
pub(crate) fn known_employees(
    links: &[crate::record::Link],
    fresh: &[String],
) -> Vec<NmbrsEmployee> {
    use crate::record::Base;
    let fresh: HashSet<&str> = fresh.iter().map(String::as_str).collect();
    links
        .iter()
        .filter_map(|l| {
            let e = l.employee_id.as_ref()?;
            let Base::Known { values, .. } = &l.base else {
                return None;
            };
            (!fresh.contains(e.as_str())).then(|| NmbrsEmployee {
                employee_id: e.clone(),
                personal_info_id: l.personal_info_id.clone(),
                values: values.clone(),
                unreadable: None,
                note: None,
            })
        })
        .collect()
}

/// Decides what an incremental read of a company must read whole (issue 13). `None` when the
/// company must be read whole: a valid HRIS row without an employee here (a create or a match
/// needs the full listing, or the same person could be created twice).
/// `write_back`: whether the HRIS row carries the `employeeId` (`hris.write_back`); a read-only
/// HRIS's row without it is not a pending write-back.
pub(crate) fn incremental(
    company_id: &str,
    rows: &[crate::record::HrisRow],
    links: &[crate::record::LinkHead],
    seen: impl IntoIterator<Item = String>,
    write_back: bool,
    unread: &std::collections::HashSet<String>,
) -> Option<Incremental> {
    use std::collections::{BTreeSet, HashMap, HashSet};
    let by_hris: HashMap<&str, &crate::record::LinkHead> =
        links.iter().map(|l| (l.hris_id.as_str(), l)).collect();
    let mut fresh: BTreeSet<String> = seen.into_iter().collect();
    // Rows unchanged since their base, by employee; quiet unless the employee turns out fresh.
    let mut unchanged_rows: Vec<(&str, &str)> = Vec::new();
    // Rows left unread (crate::hris::changed) are as their base: unchanged.
    for id in unread {
        let link = by_hris.get(id.as_str())?;
        if link.status == crate::record::LinkStatus::Forgotten {
            continue;
        }
        if link.company_id != company_id {
            return None;
        }
        unchanged_rows.push((id.as_str(), link.employee_id.as_deref()?));
    }
    for rec in rows.iter().flatten() {
        let link = by_hris.get(rec.hris_id.as_str())?;
        // A forgotten record is skipped whatever either side holds (issue 15).
        if link.status == crate::record::LinkStatus::Forgotten {
            continue;
        }
        let employee = link.employee_id.as_deref()?;
        if link.company_id != company_id {
            return None;
        }
        let unchanged = link.base_hash.as_deref() == Some(rec.values.digest().as_str())
            && rec.unresolved.is_empty()
            && match rec.nmbrs_employee_id.as_deref() {
                Some(id) => id == employee,
                None => !write_back,
            };
        if unchanged {
            unchanged_rows.push((rec.hris_id.as_str(), employee));
        } else {
            fresh.insert(employee.to_owned());
        }
    }
    for l in links {
        // A tombstone's employee needs no read: a new row that might be them makes the company
        // read whole (above), where matching finds it.
        if let Some(e) = &l.employee_id
            && l.status != crate::record::LinkStatus::Forgotten
            && !l.clean_in(company_id)
        {
            fresh.insert(e.clone());
        }
    }
    // An unread row whose employee must be read after all (two rows, one employee): read whole.
    if unchanged_rows
        .iter()
        .any(|(h, e)| unread.contains(*h) && fresh.contains(*e))
    {
        return None;
    }
    let quiet: HashSet<String> = unchanged_rows
        .into_iter()
        .filter(|(_, e)| !fresh.contains(*e))
        .map(|(h, _)| h.to_owned())
        .collect();
    Some(Incremental {
        fresh: fresh.into_iter().collect(),
        quiet,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::FieldValues;
    use crate::record::{Base, HrisRecord, Link, LinkHead, LinkStatus};
    use serde_json::json;

    #[test]
    fn an_incremental_read_starts_the_overlap_before_the_watermark_with_an_offset() {
        assert_eq!(
            since(Some("2026-11-30T10:15:00Z"), None).as_deref(),
            Some("2026-11-30T07:15:00Z")
        );
        let read_at = time::macros::datetime!(2026-11-30 12:00 UTC);
        assert_eq!(
            since(None, Some(read_at)).as_deref(),
            Some("2026-11-30T09:00:00Z"),
            "an empty listing starts from its read"
        );
        assert_eq!(
            since(Some("yesterday"), Some(read_at)),
            None,
            "unreadable: read whole"
        );
        assert_eq!(since(None, None), None);
    }

    fn history(employee: &str, entries: Vec<Value>) -> History {
        History {
            employee_id: employee.into(),
            entries: Some(entries),
        }
    }

    fn reducer(floor: Option<&str>, seen: Option<Vec<String>>) -> Reducer {
        Reducer {
            resource: Resource::Department,
            read_at: crate::nmbrs::model::resources::june_2024(),
            fields: Field::ALL.to_vec().into(),
            floor: floor.map(str::to_owned),
            seen: seen.map(|s| Arc::new(s.into_iter().collect())),
            fold: Arc::default(),
            only: None,
        }
    }

    #[test]
    fn entries_seen_by_the_last_read_are_not_new() {
        let entry = |id: &str, name: &str, at: &str, year: i32| {
            json!({"departmentId": id, "code": 1, "description": name,
                   "createdAt": at, "period": {"year": year, "period": 1}})
        };
        let old = entry("d1", "Sales", "2026-11-30T10:00:00", 2024);
        let new = entry("d2", "Finance", "2026-11-30T10:05:00", 2024);
        let older = entry("d1", "Sales", "2026-11-29T10:00:00", 2023);
        // The last read: its newest stamp and the keys within the overlap before it.
        let last = reducer(None, None);
        last.reduce(history("e1", vec![older.clone(), old.clone()]));
        let last = last.take_fold();
        let marks = last.marks(Resource::Department);
        assert_eq!(newest_stamp(marks).as_deref(), Some("2026-11-30T10:00:00"));
        let keys = recent_keys(marks, Some("2026-11-30T10:00:00"));
        assert_eq!(
            keys.len(),
            1,
            "the entry of the day before is outside the window"
        );
        // An incremental read: only what the last read did not see is new.
        let red = reducer(Some("2026-11-30T07:00:00Z"), Some(keys));
        red.reduce(history("e1", vec![old.clone()]));
        red.reduce(history("e2", vec![old.clone(), new]));
        let seen = red.take_fold();
        assert_eq!(seen.new_entries(), ["e2"]);
        assert_eq!(
            seen.marks(Resource::Department).map(|m| m.stamped.len()),
            Some(3),
            "entries from the floor on are kept for the next mark"
        );
        let whole = reducer(None, None);
        whole.reduce(history("e1", vec![old]));
        assert_eq!(
            whole.take_fold().new_entries(),
            Vec::<String>::new(),
            "a full read does not ask"
        );
    }

    /// Personal info and departments of two employees, folded as their pages arrive.
    #[test]
    fn a_company_s_reads_fold_into_one_record_per_employee() {
        let reducers: Vec<Reducer> = [Resource::Department, Resource::PersonalInfo]
            .into_iter()
            .map(|resource| Reducer {
                resource,
                fields: vec![Field::LastName, Field::Department].into(),
                ..reducer(None, None)
            })
            .collect();
        let fold = Arc::new(Mutex::new(Fold::default()));
        let reducers: Vec<Reducer> = reducers
            .into_iter()
            .map(|r| Reducer {
                fold: fold.clone(),
                ..r
            })
            .collect();
        let (departments, personal) = (&reducers[0], &reducers[1]);
        let department = json!({"departmentId": "d1", "code": 1, "description": "Sales",
            "createdAt": "2026-11-30T10:00:00", "period": {"year": 2024, "period": 1}});
        let person = |last: &str| {
            json!({"personalInfoId": format!("p-{last}"), "createdAt": "2026-11-30T10:00:00",
                   "period": {"year": 2024, "period": 1},
                   "basicInfo": {"employeeNumber": 1, "firstName": "A", "lastName": last,
                                 "employeeType": "payroll"},
                   "birthInfo": {"birthDate": "1990-01-01T00:00:00"}})
        };
        // Departments arrive first; an employee only some other listing has is no employee.
        departments.reduce(history("e2", vec![department.clone()]));
        departments.reduce(history("e9", vec![department]));
        personal.reduce(history("e2", vec![person("Two")]));
        personal.reduce(history("e1", vec![person("One")]));
        // A listing read again (it changed while read) replaces its first read.
        personal.reduce(history("e1", vec![person("Uno")]));
        departments.reduce(History {
            employee_id: "e1".into(),
            entries: None,
        });
        let employees = reducers[0].take_fold().into_employees();
        let ids: Vec<&str> = employees.iter().map(|e| e.employee_id.as_str()).collect();
        assert_eq!(ids, ["e2", "e1"], "the personal-info listing's order");
        assert_eq!(employees[0].values.get(Field::Department), Some("Sales"));
        assert_eq!(employees[0].values.get(Field::LastName), Some("Two"));
        assert_eq!(employees[0].personal_info_id.as_deref(), Some("p-Two"));
        assert!(employees[0].unreadable.is_none());
        assert!(
            employees[1]
                .unreadable
                .as_deref()
                .is_some_and(|why| why.starts_with("employee e1:")),
            "a missing history is an error, never empty: {:?}",
            employees[1].unreadable
        );
        assert_eq!(
            employees[1].values,
            FieldValues::default(),
            "nothing of an unreadable employee is used"
        );
    }

    #[test]
    fn a_row_without_its_employee_makes_the_company_read_whole() {
        let mut values = FieldValues::default();
        values.set(Field::LastName, Some("Hanison"));
        let rec = |id: &str| {
            Ok(HrisRecord {
                rowid: 1,
                hris_id: id.into(),
                company_number: "1".into(),
                nmbrs_employee_id: Some(format!("e-{id}")),
                values: values.clone(),
                unresolved: vec![],
            })
        };
        let mut link = Link::new("h1", "c1", LinkStatus::Linked);
        link.employee_id = Some("e-h1".into());
        link.base = Base::of(&values);
        let none = std::collections::HashSet::new();
        let head = LinkHead::of(&link);
        let one_link = |rows: &[crate::record::HrisRow], seen: Vec<String>, write_back, unread| {
            incremental(
                "c1",
                rows,
                std::slice::from_ref(&head),
                seen,
                write_back,
                unread,
            )
        };
        let plan = one_link(&[rec("h1")], Vec::new(), true, &none).expect("incremental");
        assert!(plan.fresh.is_empty());
        assert!(
            plan.quiet.contains("h1"),
            "unchanged everywhere: not planned"
        );
        let plan = one_link(&[], Vec::new(), true, &none).expect("incremental");
        assert!(!plan.quiet.contains("h1") && plan.fresh.is_empty());
        let known = known_employees(std::slice::from_ref(&link), &plan.fresh);
        assert_eq!(known.len(), 1, "a link whose row is gone");
        assert_eq!(known[0].values, values, "as last agreed");
        let plan =
            one_link(&[rec("h1")], vec!["e-h1".to_owned()], true, &none).expect("incremental");
        assert_eq!(plan.fresh, ["e-h1"], "a new entry: read whole");
        assert!(plan.quiet.is_empty());
        assert!(
            known_employees(std::slice::from_ref(&link), &plan.fresh).is_empty(),
            "read whole, not known"
        );
        assert!(
            incremental(
                "c1",
                &[rec("h1"), rec("h2")],
                std::slice::from_ref(&head),
                Vec::new(),
                true,
                &none
            )
            .is_none(),
            "h2 needs a create or a match"
        );
        let mut failed = link.clone();
        failed.status = LinkStatus::Failed;
        let failed = LinkHead::of(&failed);
        let plan =
            incremental("c1", &[rec("h1")], &[failed], Vec::new(), true, &none).expect("plan");
        assert_eq!(plan.fresh, ["e-h1"], "pending work is read whole");
        assert!(plan.quiet.is_empty());
        // A row without its employeeId: a write-back is pending, unless the HRIS is read-only
        // (`hris.write_back = false`: the id lives in the link only).
        let mut no_id = rec("h1");
        if let Ok(r) = &mut no_id {
            r.nmbrs_employee_id = None;
        }
        let rows = [no_id];
        let plan = one_link(&rows, Vec::new(), true, &none).expect("plan");
        assert_eq!(plan.fresh, ["e-h1"], "the write-back is pending work");
        let plan = one_link(&rows, Vec::new(), false, &none).expect("plan");
        assert!(plan.quiet.contains("h1"), "read-only: nothing pending");
        // A row left unread (its updated_at did not move) is as its base.
        let unread = std::collections::HashSet::from(["h1".to_owned()]);
        let plan = one_link(&[], Vec::new(), true, &unread).expect("plan");
        assert!(plan.quiet.contains("h1"));
        assert!(
            one_link(&[], vec!["e-h1".to_owned()], true, &unread).is_none(),
            "an unread row whose employee changed in Nmbrs: read whole"
        );
    }

    #[test]
    fn many_fresh_employees_make_the_whole_read_cheaper() {
        let all = [
            Resource::PersonalInfo,
            Resource::Employment,
            Resource::PrivateInfo,
        ];
        let plan = |n: usize| Incremental {
            fresh: (0..n).map(|i| format!("e{i}")).collect(),
            ..Incremental::default()
        };
        // 1,000 employees, page size 100: the whole read is 3 × 10 = 30 calls; one by one costs
        // 2 per fresh employee plus one privateInfos read.
        assert!(!plan(14).cheaper_whole(1000, &all, 100), "29 calls");
        assert!(plan(15).cheaper_whole(1000, &all, 100), "31 calls");
        assert!(!plan(0).cheaper_whole(0, &all, 100));
    }
}
