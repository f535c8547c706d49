//! Row validation (SPEC rule 6): pure functions from a raw HRIS row to a record or a rejection that
//! names the row and each bad field. Nothing here touches a database.

use crate::fields::{Field, FieldValues};
use time::{Date, OffsetDateTime, macros::format_description};

/// SQLite storage class of a value as read (`typeof()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlType {
    Null,
    Integer,
    Real,
    Text,
    Blob,
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

/// A valid HRIS record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HrisRecord {
    /// SQLite rowid (for messages).
    pub rowid: i64,
    pub hris_id: String,
    pub company_number: String,
    /// The `nmbrs_employee_id` column: written by this daemon, used as a link hint after a crash.
    pub nmbrs_employee_id: Option<String>,
    pub values: FieldValues,
}

/// One problem with one field of a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field (or `hris_id` / `company_number`) at fault.
    pub field: String,
    pub message: String,
}

/// A row that cannot be synced; the rest of the cycle goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub rowid: i64,
    pub hris_id: Option<String>,
    /// The row's employee number if it is readable: an import of that employee waits while the row
    /// that is probably them is being fixed (no duplicate HRIS row).
    pub employee_number: Option<String>,
    pub problems: Vec<FieldProblem>,
}

impl Rejection {
    /// "row hris_id=X (rowid N): field: message; ..." — what an operator needs to find and fix it.
    pub fn message(&self) -> String {
        let who = match &self.hris_id {
            Some(id) => format!("HRIS row hris_id={} (rowid {})", printable(id), self.rowid),
            None => format!("HRIS row rowid {}", self.rowid),
        };
        let problems = self
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect::<Vec<_>>()
            .join("; ");
        format!("{who} rejected: {problems}; fix the row in the HRIS, it is retried next cycle")
    }
}

/// Longest accepted text value, characters (the Nmbrs limit for these fields, *assumed*).
pub const MAX_TEXT_CHARS: usize = 255;

/// Escapes control characters so a message about a bad value cannot forge log lines; shortens it.
pub fn printable(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(80)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

/// Validates one row. `fields` are the synced (mapped) fields.
pub fn validate(raw: &RawRow, fields: &[Field], today: Date) -> Result<HrisRecord, Rejection> {
    let mut problems = Vec::new();
    let mut problem = |field: &str, message: String| {
        problems.push(FieldProblem {
            field: field.to_owned(),
            message,
        })
    };

    let hris_id = match text_of(&raw.hris_id) {
        Err(m) => {
            problem("hris_id", m);
            None
        }
        Ok(None) => {
            problem(
                "hris_id",
                "is empty; every row needs a unique hris_id".into(),
            );
            None
        }
        Ok(Some(id)) => {
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
            (f, SqlType::Integer | SqlType::Real) if f != Field::EmployeeNumber => {
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
            None => {
                let canonical = if f == Field::EmployeeNumber {
                    text.parse::<i64>().map(|n| n.to_string()).unwrap_or(text)
                } else {
                    text
                };
                values.set(f, Some(&canonical));
            }
        }
    }
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
        }),
        (hris_id, _) => Err(Rejection {
            rowid: raw.rowid,
            hris_id,
            employee_number: values.get(Field::EmployeeNumber).map(str::to_owned),
            problems,
        }),
    }
}

fn text_of(v: &RawValue) -> Result<Option<String>, String> {
    match v.sql_type {
        SqlType::Blob => Err("holds binary data (BLOB); expected text".into()),
        _ => Ok(crate::fields::normalize(v.text.as_deref())),
    }
}

/// Problems any text value can have: too long, control characters.
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
        Field::BirthDate => {
            let fmt = format_description!("[year]-[month]-[day]");
            match Date::parse(s, &fmt) {
                Err(_) => Some(format!(
                    "`{}` is not a real date in YYYY-MM-DD form",
                    printable(s)
                )),
                Ok(d) if d > today => Some(format!("{s} is in the future")),
                Ok(d) if d.year() < 1900 => Some(format!("{s} is before 1900")),
                Ok(_) => None,
            }
        }
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

/// A plain `local@domain.tld` address: one `@`, no spaces, a dot in the domain, no empty labels.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && s.len() <= 254
        && !domain.contains('@')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"".contains(c))
        && domain.split('.').count() >= 2
        && domain
            .split('.')
            .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'))
}

/// Today's UTC date, for the "not in the future" rule.
pub fn today_utc() -> Date {
    OffsetDateTime::now_utc().date()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn text(s: &str) -> RawValue {
        RawValue {
            text: Some(s.into()),
            sql_type: SqlType::Text,
        }
    }
    fn null() -> RawValue {
        RawValue {
            text: None,
            sql_type: SqlType::Null,
        }
    }
    fn row(changes: &[(Field, RawValue)]) -> RawRow {
        let mut values: Vec<Option<RawValue>> = vec![Some(null()); Field::ALL.len()];
        values[Field::EmployeeNumber.index()] = Some(RawValue {
            text: Some("98072".into()),
            sql_type: SqlType::Integer,
        });
        values[Field::LastName.index()] = Some(text("Hanison"));
        values[Field::BirthDate.index()] = Some(text("1990-02-01"));
        for (f, v) in changes {
            values[f.index()] = Some(v.clone());
        }
        RawRow {
            rowid: 7,
            hris_id: text("h-1"),
            company_number: text("2"),
            nmbrs_employee_id: None,
            values,
        }
    }
    const TODAY: Date = date!(2026 - 11 - 29);

    fn problems(r: &RawRow) -> Vec<String> {
        match validate(r, &Field::ALL, TODAY) {
            Ok(_) => vec![],
            Err(rej) => rej.problems.into_iter().map(|p| p.field).collect(),
        }
    }

    #[test]
    fn good_row_passes_with_unicode_intact() {
        let rec = validate(
            &row(&[(Field::FirstName, text(" Zoë 🎉 "))]),
            &Field::ALL,
            TODAY,
        )
        .expect("valid");
        assert_eq!(rec.values.get(Field::FirstName), Some("Zoë 🎉"));
        assert_eq!(rec.values.get(Field::EmployeeNumber), Some("98072"));
        assert_eq!(rec.hris_id, "h-1");
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(
            problems(&row(&[(Field::BirthDate, text("1990-02-30"))])),
            ["birth_date"]
        );
        assert_eq!(
            problems(&row(&[(Field::BirthDate, text("2990-01-01"))])),
            ["birth_date"]
        );
        assert_eq!(
            problems(&row(&[(Field::BirthDate, text("01-02-1990"))])),
            ["birth_date"]
        );
        assert_eq!(
            problems(&row(&[(Field::LastName, text("   "))])),
            ["last_name"]
        );
        assert_eq!(
            problems(&row(&[(Field::PrivateEmail, text("lisa@@example"))])),
            ["private_email"]
        );
        assert_eq!(
            problems(&row(&[(Field::BusinessEmail, text("a b@example.com"))])),
            ["business_email"]
        );
        assert_eq!(
            problems(&row(&[(Field::FirstName, text("Li\u{0}sa"))])),
            ["first_name"]
        );
        assert_eq!(
            problems(&row(&[(Field::FirstName, text(&"x".repeat(10_000)))])),
            ["first_name"]
        );
        assert_eq!(
            problems(&row(&[(Field::EmployeeNumber, text("abc"))])),
            ["employee_number"]
        );
        assert_eq!(
            problems(&row(&[(Field::EmployeeNumber, text("-5"))])),
            ["employee_number"]
        );
        assert_eq!(
            problems(&row(&[(
                Field::FirstName,
                RawValue {
                    text: None,
                    sql_type: SqlType::Blob
                }
            )])),
            ["first_name"]
        );
        assert_eq!(
            problems(&row(&[(
                Field::LastName,
                RawValue {
                    text: Some("42".into()),
                    sql_type: SqlType::Integer
                }
            )])),
            ["last_name"]
        );
        assert_eq!(
            problems(&row(&[(Field::NationalityCodeIso, text("Dutch"))])),
            ["nationality_code_iso"]
        );
    }

    #[test]
    fn missing_identity_is_rejected_with_rowid() {
        let mut r = row(&[]);
        r.hris_id = null();
        let rej = validate(&r, &Field::ALL, TODAY).expect_err("no id");
        assert!(rej.message().contains("rowid 7"));
        let mut r = row(&[]);
        r.company_number = null();
        let rej = validate(&r, &Field::ALL, TODAY).expect_err("no company");
        assert!(
            rej.message().contains("hris_id=h-1") && rej.message().contains("company_number"),
            "{}",
            rej.message()
        );
    }

    #[test]
    fn messages_escape_control_characters() {
        let rej = validate(
            &row(&[(Field::FirstName, text("x\n[ERROR] forged"))]),
            &Field::ALL,
            TODAY,
        )
        .expect_err("bad");
        assert!(!rej.message().contains('\n'));
    }

    #[test]
    fn sql_meta_characters_are_just_text() {
        let rec = validate(
            &row(&[(Field::LastName, text("O'Brien\"; DROP TABLE x; --"))]),
            &Field::ALL,
            TODAY,
        )
        .expect("valid");
        assert_eq!(
            rec.values.get(Field::LastName),
            Some("O'Brien\"; DROP TABLE x; --")
        );
    }
}
