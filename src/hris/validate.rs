//! Row validation (docs/SPEC.md rule 6): pure functions from a raw HRIS row to a record or a rejection that
//! names the row and each bad field. Nothing here touches a database.

use crate::fields::{Field, FieldValues};
use crate::record::{FieldProblem, HrisRecord, Rejection, is_forbidden_format, printable};
use time::{Date, OffsetDateTime, macros::format_description};

/// SQLite storage class of a value as read (`typeof()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlType {
    Null,
    Integer,
    Real,
    Text,
    Blob,
    /// Stored as TEXT but not valid UTF-8 (set by the reader when decoding fails; `text` is `None`).
    InvalidUtf8,
}

impl SqlType {
    /// From SQLite's `typeof()` text.
    pub fn parse(s: &str) -> SqlType {
        match s {
            "integer" => SqlType::Integer,
            "real" => SqlType::Real,
            "text" => SqlType::Text,
            "blob" => SqlType::Blob,
            _ => SqlType::Null,
        }
    }
}

/// One column value as read: its text (`None` for NULL or BLOB) and storage class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawValue {
    pub text: Option<String>,
    pub sql_type: SqlType,
}

/// A row as read from the HRIS table, before validation.
#[derive(Clone, Debug)]
pub struct RawRow {
    /// SQLite rowid, to name rows whose `hris_id` is itself unusable.
    pub rowid: i64,
    pub hris_id: RawValue,
    pub company_number: RawValue,
    pub nmbrs_employee_id: Option<String>,
    /// Per field (index order); `None` for fields not mapped to a column.
    pub values: Vec<Option<RawValue>>,
}

/// Longest accepted text value, characters (the Nmbrs limit for these fields, *assumed*).
pub const MAX_TEXT_CHARS: usize = 255;

/// Validates one row. `fields` are the synced (mapped) fields.
pub fn validate(raw: &RawRow, fields: &[Field], today: Date) -> Result<HrisRecord, Rejection> {
    let mut problems = Vec::new();
    let mut problem = |field: &str, message: String| {
        problems.push(FieldProblem {
            field: field.to_owned(),
            message,
        })
    };

    // A key is used verbatim (`WHERE hris_id = ?` must find the row): not trimmed.
    let hris_id = match text_of(&raw.hris_id) {
        Err(m) => {
            problem("hris_id", m);
            None
        }
        Ok(Some(_)) if raw.hris_id.sql_type == SqlType::Real => {
            problem(
                "hris_id",
                format!(
                    "is a decimal number ({}); a key must be text or a whole number",
                    printable(raw.hris_id.text.as_deref().unwrap_or(""))
                ),
            );
            None
        }
        Ok(None) => {
            problem(
                "hris_id",
                "is empty; every row needs a unique hris_id".into(),
            );
            None
        }
        Ok(Some(_)) => {
            let id = raw.hris_id.text.clone().unwrap_or_default();
            if let Some(m) = text_problem(&id) {
                problem("hris_id", m);
            }
            Some(id)
        }
    };
    let company_number = match text_of(&raw.company_number) {
        Err(m) => {
            problem("company_number", m);
            None
        }
        Ok(None) => {
            problem(
                "company_number",
                "is empty; give the Nmbrs company number".into(),
            );
            None
        }
        Ok(Some(c)) => Some(c),
    };

    let mut values = FieldValues::default();
    for &f in fields {
        let Some(Some(rv)) = raw.values.get(f.index()) else {
            continue;
        };
        let name = f.name();
        let text = match (f, rv.sql_type) {
            (_, SqlType::Blob) => {
                problem(name, "holds binary data (BLOB); expected text".into());
                continue;
            }
            (_, SqlType::InvalidUtf8) => {
                problem(name, INVALID_UTF8.into());
                continue;
            }
            (Field::EmployeeNumber, SqlType::Real) => {
                problem(
                    name,
                    format!(
                        "`{}` is not a whole number",
                        printable(rv.text.as_deref().unwrap_or(""))
                    ),
                );
                continue;
            }
            (f, SqlType::Integer | SqlType::Real) if !f.numeric_ok() => {
                problem(
                    name,
                    format!(
                        "holds a number ({}); expected text",
                        printable(rv.text.as_deref().unwrap_or(""))
                    ),
                );
                continue;
            }
            _ => crate::fields::normalize(rv.text.as_deref()),
        };
        let Some(text) = text else { continue };
        if let Some(m) = text_problem(&text) {
            problem(name, m);
            continue;
        }
        match field_problem(f, &text, today) {
            Some(m) => problem(name, m),
            None => values.set(f, Some(&canonical(f, text))),
        }
    }
    cross_field_problems(&values, &mut problems);
    for f in [Field::LastName, Field::EmployeeNumber, Field::BirthDate] {
        let already = problems.iter().any(|p| p.field == f.name());
        if fields.contains(&f) && values.get(f).is_none() && !already {
            problems.push(FieldProblem {
                field: f.name().to_owned(),
                message: "is missing; it is required to create and match the employee in Nmbrs"
                    .into(),
            });
        }
    }
    match (hris_id, company_number) {
        (Some(hris_id), Some(company_number)) if problems.is_empty() => Ok(HrisRecord {
            rowid: raw.rowid,
            hris_id,
            company_number,
            nmbrs_employee_id: crate::fields::normalize(raw.nmbrs_employee_id.as_deref()),
            values,
            unresolved: Vec::new(),
        }),
        (hris_id, _) => Err(Rejection {
            rowid: raw.rowid,
            hris_id,
            employee_number: values.get(Field::EmployeeNumber).map(str::to_owned),
            problems,
        }),
    }
}

/// The canonical text of a valid value: whole numbers without leading zeros or `.0`, hours as the
/// shortest decimal, country codes in capitals.
pub(crate) fn canonical(f: Field, text: String) -> String {
    match f {
        Field::EmployeeNumber | Field::EndOfContractReason => text
            .trim_end_matches(".0")
            .parse::<i64>()
            .map(|n| n.to_string())
            .unwrap_or(text),
        Field::HoursPerWeek => text
            .parse::<f64>()
            .map(crate::nmbrs::model::history::canonical_decimal)
            .unwrap_or(text),
        Field::CountryCodeIso => text.to_ascii_uppercase(),
        // A BSN in a number column lost its leading zero.
        Field::Bsn => format!("{:0>9}", text.trim_end_matches(".0")),
        _ => text,
    }
}

/// The Dutch BSN eleven-test: nine digits d1…d9 with 9·d1 + 8·d2 + … + 2·d8 − 1·d9 divisible by 11
/// (and not all zeros).
pub fn bsn_valid(bsn: &str) -> bool {
    let digits: Vec<i64> = bsn
        .chars()
        .map(|c| c.to_digit(10).map(i64::from))
        .collect::<Option<_>>()
        .unwrap_or_default();
    if digits.len() != 9 || digits.iter().all(|&d| d == 0) {
        return false;
    }
    let sum: i64 = digits
        .iter()
        .zip([9, 8, 7, 6, 5, 4, 3, 2, -1])
        .map(|(d, w)| d * w)
        .sum();
    sum % 11 == 0
}

/// Rules between fields: an end is not before its start, a reason needs an end of service.
fn cross_field_problems(values: &FieldValues, problems: &mut Vec<FieldProblem>) {
    let pairs = [
        (Field::InServiceDate, Field::EndOfServiceDate),
        (Field::ContractStartDate, Field::ContractEndDate),
    ];
    for (start, end) in pairs {
        if let (Some(s), Some(e)) = (values.get(start), values.get(end))
            && e < s
        {
            problems.push(FieldProblem {
                field: end.name().to_owned(),
                message: format!("{e} is before {start} {s}"),
            });
        }
    }
    if values.get(Field::EndOfContractReason).is_some()
        && values.get(Field::EndOfServiceDate).is_none()
    {
        problems.push(FieldProblem {
            field: Field::EndOfContractReason.name().to_owned(),
            message:
                "is set but end_of_service_date is empty; a reason goes with an end of service"
                    .into(),
        });
    }
}

const INVALID_UTF8: &str = "holds text that is not valid UTF-8; re-save it as UTF-8 text";

fn text_of(v: &RawValue) -> Result<Option<String>, String> {
    match v.sql_type {
        SqlType::Blob => Err("holds binary data (BLOB); expected text".into()),
        SqlType::InvalidUtf8 => Err(INVALID_UTF8.into()),
        _ => Ok(crate::fields::normalize(v.text.as_deref())),
    }
}

/// Characters that draw nothing: a value made only of these (and whitespace) is blank to a reader
/// even though `trim` keeps it (zero-width space, joiners, word joiner, BOM, soft hyphen, bidi
/// marks, Hangul fillers, Mongolian vowel separator, combining grapheme joiner).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2060}'..='\u{2064}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
    )
}

/// Problems any text value can have: too long, control or forbidden format characters, nothing
/// visible.
fn text_problem(s: &str) -> Option<String> {
    let n = s.chars().count();
    if n > MAX_TEXT_CHARS {
        return Some(format!(
            "is {n} characters long; at most {MAX_TEXT_CHARS} are accepted"
        ));
    }
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Some(format!(
            "contains the control character {}; remove it",
            c.escape_unicode()
        ));
    }
    if let Some(c) = s.chars().find(|&c| is_forbidden_format(c)) {
        return Some(format!(
            "contains the invisible formatting character {} (line separator or bidi override); remove it",
            c.escape_unicode()
        ));
    }
    if s.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
        return Some(format!(
            "has no visible characters (only {}); give a real value or leave it empty",
            s.chars()
                .map(|c| c.escape_unicode().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    None
}

/// Field-specific rules.
fn field_problem(f: Field, s: &str, today: Date) -> Option<String> {
    match f {
        Field::EmployeeNumber => match s.parse::<i64>() {
            Ok(n) if (1..=i64::from(i32::MAX)).contains(&n) => None,
            Ok(n) => Some(format!("{n} is out of range; use a positive whole number")),
            Err(_) => Some(format!("`{}` is not a whole number", printable(s))),
        },
        Field::InServiceDate
        | Field::EndOfServiceDate
        | Field::ContractStartDate
        | Field::ContractEndDate => exact_date(s)
            .is_none()
            .then(|| format!("`{}` is not a real date in YYYY-MM-DD form", printable(s))),
        Field::EndOfContractReason => match s.trim_end_matches(".0").parse::<i64>() {
            Ok(n) if (0..=9999).contains(&n) => None,
            _ => Some(format!(
                "`{}` is not an end-of-contract reason code (a whole number from /api/debtors/endcontractreasons)",
                printable(s)
            )),
        },
        Field::HoursPerWeek => match s.parse::<f64>() {
            Ok(h) if h > 0.0 && h <= 168.0 => None,
            Ok(h) => Some(format!(
                "{h} hours per week is out of range (0 < hours ≤ 168)"
            )),
            Err(_) => Some(format!(
                "`{}` is not a number of hours (e.g. 32 or 32.5)",
                printable(s)
            )),
        },
        // The value is never echoed: a BSN must not reach a log or an audit row.
        Field::Bsn => {
            let padded = format!("{:0>9}", s.trim_end_matches(".0"));
            (!bsn_valid(&padded)).then(|| {
                "is not a valid BSN (nine digits passing the eleven-test); the value is not shown"
                    .to_owned()
            })
        }
        Field::CountryCodeIso => {
            let ok = s.len() == 2 && s.chars().all(|c| c.is_ascii_alphabetic());
            (!ok).then(|| {
                format!(
                    "`{}` is not an ISO 3166 country code (e.g. NL)",
                    printable(s)
                )
            })
        }
        Field::EmployeeType | Field::Gender | Field::MaritalStatus => {
            let allowed = f.allowed_values().unwrap_or(&[]);
            (!allowed.contains(&s)).then(|| {
                format!(
                    "`{}` is not a Nmbrs value; use one of {}",
                    printable(s),
                    allowed.join(", ")
                )
            })
        }
        Field::BirthDate => match exact_date(s).ok_or(()) {
            Err(_) => Some(format!(
                "`{}` is not a real date in YYYY-MM-DD form",
                printable(s)
            )),
            Ok(d) if d > today => Some(format!("{s} is in the future")),
            Ok(d) if d.year() < 1900 => Some(format!("{s} is before 1900")),
            Ok(_) => None,
        },
        Field::PrivateEmail | Field::BusinessEmail => (!is_email(s)).then(|| {
            format!(
                "`{}` is not an email address (name@domain.tld)",
                printable(s)
            )
        }),
        Field::BusinessMobilePhone | Field::PrivateMobilePhone => {
            let ok = s.len() <= 32
                && s.chars().any(|c| c.is_ascii_digit())
                && s.chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c));
            (!ok).then(|| {
                format!(
                    "`{}` is not a phone number (digits, spaces, + - . ( ) only)",
                    printable(s)
                )
            })
        }
        Field::BirthCountryCodeIso | Field::NationalityCodeIso => {
            let ok = (2..=3).contains(&s.len()) && s.chars().all(|c| c.is_ascii_uppercase());
            (!ok).then(|| format!("`{}` is not an ISO country code (e.g. NL)", printable(s)))
        }
        _ => None,
    }
}

/// The date `s` names, if it is a real date written exactly `YYYY-MM-DD` (`[year]` alone would also
/// take a sign, "+1990-02-01": the shape is checked first).
fn exact_date(s: &str) -> Option<Date> {
    let fmt = format_description!("[year]-[month]-[day]");
    let shape = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    Date::parse(s, &fmt).ok().filter(|_| shape)
}

/// A plain `local@domain.tld` address: one `@`, no spaces, a dot in the domain, no empty labels.
/// The local part is a dot-atom (no leading, trailing or double dot; RFC 5322); domain labels are
/// letters (any script, for IDN), digits and inner hyphens (RFC 1123). The TLD is not checked
/// further (`xn--p1ai` has digits): the API may be stricter, and then answers 400.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && s.len() <= 254
        && !domain.contains('@')
        && !s.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || is_forbidden_format(c)
                || "<>()[],;:\\\"".contains(c)
        })
        && local.split('.').all(|atom| !atom.is_empty())
        && domain.split('.').count() >= 2
        && domain.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// Today's UTC date, for the "not in the future" rule.
pub fn today_utc() -> Date {
    OffsetDateTime::now_utc().date()
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
