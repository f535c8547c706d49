//! Business rules of the write bodies that the description's schemas cannot
//! express (or state only in prose), each reported as an `invalid-params`
//! entry named by a JSON pointer. Rules the schemas do express (types,
//! enums, closed objects, `format`) are the contract validator's job.

use super::model::InvalidParam;
use super::person::{Period, PersonalData};

/// Accepted payroll years (*assumed*; the description gives no range, its
/// 400 example says "It needs to be a valid year").
pub(crate) const YEAR_RANGE: std::ops::RangeInclusive<i64> = 1900..=2999;

/// Accepted payroll periods: sandbox companies are monthly payrolls.
pub(crate) const PERIOD_RANGE: std::ops::RangeInclusive<i64> = 1..=12;

/// Checks one write: `at` is the pointer of the personal info object
/// (`/PersonalInfo` in a create, empty in a PUT).
pub(crate) fn check(
    data: &PersonalData,
    period: Option<Period>,
    at: &str,
    is_create: bool,
    errors: &mut Vec<InvalidParam>,
) {
    let b = &data.basic;
    // `UpdateEmployeeBasic.lastName` is required yet nullable; Nmbrs cannot
    // store an employee without a last name.
    match &b.last_name {
        Some(s) if !s.trim().is_empty() => {}
        Some(_) => errors.push(InvalidParam::new(
            format!("{at}/basicInfo/lastName"),
            "must not be blank",
        )),
        None => errors.push(InvalidParam::new(
            format!("{at}/basicInfo/lastName"),
            "is required",
        )),
    }
    if is_create && b.employee_type.is_none() {
        errors.push(InvalidParam::new(
            format!("{at}/basicInfo/employeeType"),
            "is required",
        ));
    }
    if let Some(n) = b.employee_number
        && !(1..=i64::from(i32::MAX)).contains(&n)
    {
        errors.push(InvalidParam::new(
            format!("{at}/basicInfo/employeeNumber"),
            "must be a positive integer",
        ));
    }
    let c = &data.contact;
    for (name, value) in [
        ("privateEmail", &c.private_email),
        ("businessEmail", &c.business_email),
    ] {
        if let Some(s) = value
            && !is_email(s)
        {
            errors.push(InvalidParam::new(
                format!("{at}/contactInfo/{name}"),
                format!(
                    "'{}' is not a valid e-mail address (expected name@domain.tld)",
                    truncate(s)
                ),
            ));
        }
    }
    if let Some(p) = period {
        if !YEAR_RANGE.contains(&p.year) {
            errors.push(InvalidParam::new(
                format!("{at}/period/year"),
                format!(
                    "The parameter is invalid. It needs to be a valid year ({} to {}).",
                    YEAR_RANGE.start(),
                    YEAR_RANGE.end()
                ),
            ));
        }
        if !PERIOD_RANGE.contains(&p.period) {
            errors.push(InvalidParam::new(
                format!("{at}/period/period"),
                format!(
                    "The parameter is invalid. It needs to be a valid period ({} to {}).",
                    PERIOD_RANGE.start(),
                    PERIOD_RANGE.end()
                ),
            ));
        }
    }
}

/// `local@domain.tld`: one `@`, no whitespace, a non-empty local part, a domain
/// of at least two non-empty dot-separated labels and an alphabetic TLD of two
/// or more letters. Deliberately simple; real servers differ in the details.
pub(crate) fn is_email(s: &str) -> bool {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    if local.is_empty() || domain.contains('@') {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels
            .iter()
            .any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
    {
        return false;
    }
    let tld = labels[labels.len() - 1];
    tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic())
        && labels
            .iter()
            .all(|l| l.chars().all(|c| c.is_alphanumeric() || c == '-'))
}

fn truncate(s: &str) -> String {
    // Keep error messages short even for over-long input.
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> PersonalData {
        let mut d = PersonalData::default();
        d.basic.last_name = Some("Hanison".into());
        d.basic.employee_type = Some("payroll".into());
        d
    }

    fn names(d: &PersonalData, period: Option<Period>, create: bool) -> Vec<String> {
        let mut e = Vec::new();
        check(d, period, "", create, &mut e);
        e.into_iter().map(|e| e.name).collect()
    }

    #[test]
    fn each_rule_names_its_member() {
        assert!(names(&valid(), None, true).is_empty());
        let mut d = valid();
        d.basic.last_name = Some("  ".into());
        assert_eq!(names(&d, None, false), ["/basicInfo/lastName"]);
        d.basic.last_name = None;
        assert_eq!(names(&d, None, false), ["/basicInfo/lastName"]);
        let mut d = valid();
        d.basic.employee_type = None;
        assert!(
            names(&d, None, false).is_empty(),
            "a PUT has no employeeType"
        );
        assert_eq!(names(&d, None, true), ["/basicInfo/employeeType"]);
        let mut d = valid();
        d.basic.employee_number = Some(0);
        d.contact.business_email = Some("lisa@example".into());
        assert_eq!(
            names(&d, None, true),
            ["/basicInfo/employeeNumber", "/contactInfo/businessEmail"]
        );
        let p = Period {
            year: 1800,
            period: 13,
        };
        assert_eq!(
            names(&valid(), Some(p), true),
            ["/period/year", "/period/period"]
        );
    }

    #[test]
    fn emails() {
        assert!(is_email("a.b+c@mail.example.nl"));
        for bad in [
            "",
            "a",
            "a@b",
            "@b.com",
            "a@b.c",
            "a b@c.com",
            "a@@b.com",
            "a@b..com",
            "a@b.c0m",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
