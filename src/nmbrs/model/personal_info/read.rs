//! The read shape: history entries, the entry in force, and each field's path in the nested read
//! shape (schemas `PersonalInfos`, `PersonalInfo`, `EmployeeBirth`, `EmployeePartnerInfo`).

use super::super::Period;
use super::super::dates::{calendar_date, write_date_time};
use crate::fields::{Field, FieldValues};
use serde_json::Value;

/// A value that is not where the description puts it, or not of its shape.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Nmbrs answer: {path} {problem}")]
pub struct ReadError {
    /// Dotted path in the read shape, e.g. `info[2].birthInfo.birthCountry.codeISO` or
    /// `contracts[0].hoursPerWeek`.
    pub path: String,
    pub problem: String,
}

impl ReadError {
    pub(crate) fn missing(path: &str) -> ReadError {
        ReadError {
            path: path.to_owned(),
            problem: "is missing from the answer (unknown is not empty: not synced until Nmbrs returns it)"
                .into(),
        }
    }
    pub(crate) fn bad(path: &str, problem: impl Into<String>) -> ReadError {
        ReadError {
            path: path.to_owned(),
            problem: problem.into(),
        }
    }
}

/// The entry in force for a payroll period, and what else the history says.
#[derive(Clone, Debug)]
pub struct InForce<'a> {
    pub entry: &'a Value,
    /// Its position in the history (for paths in messages).
    pub index: usize,
    /// `personalInfoId` of that entry.
    pub personal_info_id: Option<String>,
    /// The newest period with an entry after the sync period (not yet in force), if any.
    pub future: Option<Period>,
    /// No entry was in force yet: the earliest (future) entry is used.
    pub none_in_force: bool,
    /// What the entries are, for the note ("personal-info", "department"...).
    pub what: &'static str,
}

impl InForce<'_> {
    /// A sentence for the audit log when the history holds entries that are not in force.
    pub fn note(&self, period: Period) -> Option<String> {
        let what = self.what;
        match (self.none_in_force, self.future) {
            (true, _) => Some(format!(
                "no {what} entry is in force in period {period} yet; compared on the earliest entry"
            )),
            (false, Some(f)) => Some(format!(
                "Nmbrs holds a {what} entry for the future period {f}; compared on the one in force in {period}"
            )),
            _ => None,
        }
    }
}

/// The `period` of entry `i`; `None` when the entry has none and `required` is false.
fn entry_period(
    entry: &Value,
    i: usize,
    key: &str,
    required: bool,
) -> Result<Option<Period>, ReadError> {
    let path = format!("{key}[{i}].period");
    let p = match entry.get("period") {
        None | Some(Value::Null) if !required => return Ok(None),
        None => return Err(ReadError::missing(&path)),
        Some(p) => p,
    };
    let num = |k: &str| {
        p.get(k)
            .and_then(Value::as_i64)
            .ok_or_else(|| ReadError::bad(&format!("{path}.{k}"), "is not an integer"))
    };
    let (year, period) = (num("year")?, num("period")?);
    Ok(Some(Period {
        year: i32::try_from(year).map_err(|_| ReadError::bad(&path, "year out of range"))?,
        period: u8::try_from(period).map_err(|_| ReadError::bad(&path, "period out of range"))?,
    }))
}

/// The personal-info entry in force for `period`: the latest period not after it, then the latest
/// `createdAt` (docs/nmbrs-api.md, "Reading employees"). Entries for later periods are not in force;
/// when no entry is in force yet, the earliest one stands in (and [`InForce::none_in_force`] says so).
///
/// Errors: an empty history, or an entry without a readable `period`.
pub fn in_force(entries: &[Value], period: Period) -> Result<InForce<'_>, ReadError> {
    in_force_by_period(entries, period, "info", true, "personal-info", |_| true)?
        .ok_or_else(|| ReadError::bad("info", "is empty: the employee has no personal info"))
}

/// The entry in force for `period` among the entries `keep` accepts of a history whose entries
/// carry a `period` (personal info, functions, departments, managers, home addresses), by the rule
/// of [`in_force`]; an entry without a period (allowed when not `required`) is in force from the
/// start. `None` when no entry is kept.
///
/// Errors: an entry whose `period` is unreadable (or missing, when `required`), named by `key`.
pub fn in_force_by_period<'a>(
    entries: &'a [Value],
    period: Period,
    key: &str,
    required: bool,
    what: &'static str,
    keep: impl Fn(&Value) -> bool,
) -> Result<Option<InForce<'a>>, ReadError> {
    let mut keyed = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate().filter(|(_, e)| keep(e)) {
        let p = entry_period(e, i, key, required)?.map_or((0, 0), |p| (p.year, p.period));
        let created = e.get("createdAt").and_then(Value::as_str).unwrap_or("");
        keyed.push((p, created, e, i));
    }
    let now = (period.year, period.period);
    let future = keyed
        .iter()
        .filter(|k| k.0 > now)
        .map(|k| k.0)
        .max()
        .map(|(year, period)| Period { year, period });
    let current = keyed
        .iter()
        .filter(|k| k.0 <= now)
        .max_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let (chosen, none_in_force) = match current {
        Some(c) => (c, false),
        None => match keyed
            .iter()
            .min_by(|a, b| (a.0, std::cmp::Reverse(a.1)).cmp(&(b.0, std::cmp::Reverse(b.1))))
        {
            Some(c) => (c, true),
            None => return Ok(None),
        },
    };
    Ok(Some(InForce {
        entry: chosen.2,
        index: chosen.3,
        personal_info_id: chosen
            .2
            .get("personalInfoId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        future,
        none_in_force,
        what,
    }))
}

/// Where a field is read (the first path present wins) — the read shape nests what writes keep flat.
fn read_paths(f: Field) -> &'static [&'static [&'static str]] {
    match f {
        Field::EmployeeNumber => &[&["basicInfo", "employeeNumber"]],
        Field::FirstName => &[&["basicInfo", "firstName"]],
        Field::FirstNameInFull => &[&["basicInfo", "firstNameInFull"]],
        Field::LastName => &[&["basicInfo", "lastName"]],
        Field::EmployeeType => &[&["basicInfo", "employeeType"]],
        Field::BirthDate => &[&["birthInfo", "birthDate"]],
        Field::BirthCountryCodeIso => &[&["birthInfo", "birthCountry", "codeISO"]],
        Field::NationalityCodeIso => &[&["birthInfo", "nationality", "codeISO"]],
        Field::Gender => &[&["birthInfo", "gender"]],
        Field::PrivateEmail => &[&["contactInfo", "privateEmail"]],
        Field::BusinessEmail => &[&["contactInfo", "businessEmail"]],
        Field::BusinessMobilePhone => &[&["contactInfo", "businessMobilePhone"]],
        Field::PrivateMobilePhone => &[&["contactInfo", "privateMobilePhone"]],
        Field::PartnerName => &[&["partnerInfo", "partnerName"]],
        // The schema puts maritalStatus on partnerInfo; the description's example nests it under
        // `ascription`. Both are read.
        Field::MaritalStatus => &[
            &["partnerInfo", "maritalStatus"],
            &["partnerInfo", "ascription", "maritalStatus"],
        ],
        // Other resources' fields are not in the personal info.
        _ => &[],
    }
}

/// Leaves the read schemas declare without `nullable` (`EmployeeBasic.employeeNumber`,
/// `Country.codeISO`, `Nationality.codeISO`, `EmployeePartnerInfo.maritalStatus`,
/// `EmployeePartnerAscription.code`): Nmbrs can say "none" for them only by leaving them out, so
/// their absence from a present parent object is an empty value. Any other missing key, and every
/// missing object on the way, is unknown — an error, never an empty value.
const ABSENT_MEANS_EMPTY: [&str; 6] = [
    "basicInfo.employeeNumber",
    "birthInfo.birthCountry.codeISO",
    "birthInfo.nationality.codeISO",
    "partnerInfo.maritalStatus",
    "partnerInfo.ascription.maritalStatus",
    "partnerInfo.ascription.code",
];

/// What a walk along a path found.
enum Found<'v> {
    Value(&'v Value),
    /// The last key is absent from its (present) parent object.
    NoLeaf,
    /// An object on the way is absent, or not an object.
    NoParent,
}

/// Walks `path`; a `null` on the way is an empty value.
fn lookup<'v>(entry: &'v Value, path: &[&str]) -> Found<'v> {
    let mut cur = entry;
    for (i, key) in path.iter().enumerate() {
        match cur {
            Value::Null => return Found::Value(&Value::Null),
            Value::Object(m) => match m.get(*key) {
                Some(v) => cur = v,
                None if i + 1 == path.len() => return Found::NoLeaf,
                None => return Found::NoParent,
            },
            _ => return Found::NoParent,
        }
    }
    Found::Value(cur)
}

/// The value at the first of `paths` that holds one; absent leaves that may be absent
/// ([`ABSENT_MEANS_EMPTY`]) are empty when no path holds a value.
fn value_at<'v>(entry: &'v Value, paths: &[&[&str]]) -> Result<&'v Value, ReadError> {
    let mut absent_is_empty = false;
    for path in paths {
        match lookup(entry, path) {
            Found::Value(v) => return Ok(v),
            Found::NoLeaf if ABSENT_MEANS_EMPTY.contains(&path.join(".").as_str()) => {
                absent_is_empty = true
            }
            Found::NoLeaf | Found::NoParent => {}
        }
    }
    if absent_is_empty {
        return Ok(&Value::Null);
    }
    Err(ReadError::missing(
        &paths.first().map(|p| p.join(".")).unwrap_or_default(),
    ))
}

fn text_at(entry: &Value, paths: &[&[&str]]) -> Result<Option<String>, ReadError> {
    let dotted = || paths.first().map(|p| p.join(".")).unwrap_or_default();
    match value_at(entry, paths)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(ReadError::bad(&dotted(), "is not a text or number")),
    }
}

pub(super) fn field_text(entry: &Value, f: Field) -> Result<Option<String>, ReadError> {
    let raw = text_at(entry, read_paths(f))?;
    let path = || {
        read_paths(f)
            .first()
            .map(|p| p.join("."))
            .unwrap_or_default()
    };
    match (f, raw) {
        (_, None) => Ok(None),
        (Field::EmployeeNumber, Some(s)) => s
            .trim()
            .parse::<i64>()
            .map(|n| Some(n.to_string()))
            .map_err(|_| ReadError::bad(&path(), format!("`{s}` is not a whole number"))),
        (Field::BirthDate, Some(s)) => calendar_date(&s)
            .map(Some)
            .map_err(|e| ReadError::bad(&path(), e)),
        (_, Some(s)) => Ok(Some(s)),
    }
}

/// The values of `fields` in one read-shape entry (personal-info fields only; others stay empty).
///
/// Errors: [`ReadError`] for the first field whose key is missing or whose value has the wrong shape.
pub fn read_values(entry: &Value, fields: &[Field]) -> Result<FieldValues, ReadError> {
    let mut values = FieldValues::default();
    for &f in fields
        .iter()
        .filter(|f| f.resource() == crate::fields::Resource::PersonalInfo)
    {
        values.set(f, field_text(entry, f)?.as_deref());
    }
    Ok(values)
}

pub(super) fn s(entry: &Value, path: &[&str]) -> Result<Option<String>, ReadError> {
    text_at(entry, &[path])
}

pub(super) fn int(entry: &Value, path: &[&str]) -> Result<Option<i64>, ReadError> {
    match value_at(entry, &[path])? {
        Value::Null => Ok(None),
        v => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| ReadError::bad(&path.join("."), "is not an integer")),
    }
}

pub(super) fn date_time(entry: &Value, path: &[&str]) -> Result<Option<String>, ReadError> {
    s(entry, path)?
        .map(|d| write_date_time(&d).map_err(|e| ReadError::bad(&path.join("."), e)))
        .transpose()
}
