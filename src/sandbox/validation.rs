//! Input validation for personal info bodies. Every problem is reported with
//! the dotted path of the field (`basicInfo.lastName`), all problems at once.

use serde_json::{Map, Value};
use time::{Date, macros::format_description};

use super::model::{
    EMAIL_FIELDS, FieldError, MAX_STRING_CHARS, PERIOD_RANGE, SECTIONS, STRING_FIELDS, Sections,
    YEAR_RANGE,
};

/// Validates a personal info object (the value of `PersonalInfo` in a create
/// body, or a whole PUT body) and normalises it into [`Sections`].
///
/// Top-level keys other than the five sections (`personalInfoId`, `createdAt`,
/// anything else) are ignored: a client that GETs, modifies and PUTs the whole
/// object sends them back, and a real server ignores read-only properties.
pub(crate) fn validate_personal_info(
    value: &Value,
    path: &str,
) -> Result<Sections, Vec<FieldError>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![FieldError::new(path, "must be a JSON object")]);
    };
    let mut errors = Vec::new();
    let sections = normalise(obj, &mut errors);
    check_rules(&sections, &mut errors);
    if errors.is_empty() {
        Ok(sections)
    } else {
        Err(errors)
    }
}

/// Normalises without validating rules (used by direct seeding, where a test
/// may want to plant data Nmbrs itself would have accepted through its UI).
pub(crate) fn normalise_lenient(value: &Value) -> Sections {
    let empty = Map::new();
    let obj = value.as_object().unwrap_or(&empty);
    normalise(obj, &mut Vec::new())
}

fn normalise(obj: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Sections {
    let mut out = Map::new();
    for (section, fields) in SECTIONS {
        // Start from whatever the sender put in the section (extra fields survive),
        // then make sure every documented field is present: missing means null.
        let mut map = match obj.get(*section) {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => {
                errors.push(FieldError::new(*section, "must be a JSON object or null"));
                Map::new()
            }
        };
        for field in *fields {
            map.entry(field.to_string()).or_insert(Value::Null);
        }
        out.insert(section.to_string(), Value::Object(map));
    }
    Sections(out)
}

fn field<'a>(sections: &'a Sections, path: &str) -> &'a Value {
    let (section, name) = path.split_once('.').unwrap_or((path, ""));
    sections
        .0
        .get(section)
        .and_then(|s| s.get(name))
        .unwrap_or(&Value::Null)
}

fn check_rules(sections: &Sections, errors: &mut Vec<FieldError>) {
    for path in STRING_FIELDS {
        let v = field(sections, path);
        if !(v.is_null() || v.is_string()) {
            errors.push(FieldError::new(*path, "must be a string or null"));
        }
    }
    // Length limit on every string, including extra fields we do not know.
    for (section, value) in &sections.0 {
        check_lengths(value, section, errors);
    }

    match field(sections, "basicInfo.lastName") {
        Value::String(s) if !s.trim().is_empty() => {}
        Value::String(_) => errors.push(FieldError::new("basicInfo.lastName", "must not be blank")),
        Value::Null => errors.push(FieldError::new("basicInfo.lastName", "is required")),
        _ => {} // type error already reported
    }

    match field(sections, "basicInfo.employeeNumber") {
        Value::Null => {}
        Value::Number(n)
            if n.as_i64()
                .is_some_and(|i| i > 0 && i <= i64::from(i32::MAX)) => {}
        _ => errors.push(FieldError::new(
            "basicInfo.employeeNumber",
            "must be a positive integer",
        )),
    }

    if let Value::String(s) = field(sections, "birthInfo.birthDate")
        && parse_date(s).is_none()
    {
        errors.push(FieldError::new(
            "birthInfo.birthDate",
            format!(
                "'{}' is not a valid date in the form YYYY-MM-DD",
                truncate(s)
            ),
        ));
    }

    for path in EMAIL_FIELDS {
        if let Value::String(s) = field(sections, path)
            && !is_email(s)
        {
            errors.push(FieldError::new(
                *path,
                format!(
                    "'{}' is not a valid e-mail address (expected name@domain.tld)",
                    truncate(s)
                ),
            ));
        }
    }

    check_period(sections, errors);
}

fn check_period(sections: &Sections, errors: &mut Vec<FieldError>) {
    let year = field(sections, "period.year");
    let period = field(sections, "period.period");
    if year.is_null() && period.is_null() {
        errors.push(FieldError::new(
            "period",
            "is required ({\"year\": YYYY, \"period\": 1..53})",
        ));
        return;
    }
    match year.as_i64() {
        Some(y) if year.is_i64() && YEAR_RANGE.contains(&y) => {}
        _ => errors.push(FieldError::new(
            "period.year",
            format!(
                "must be an integer from {} to {}",
                YEAR_RANGE.start(),
                YEAR_RANGE.end()
            ),
        )),
    }
    match period.as_i64() {
        Some(p) if period.is_i64() && PERIOD_RANGE.contains(&p) => {}
        _ => errors.push(FieldError::new(
            "period.period",
            format!(
                "must be an integer from {} to {}",
                PERIOD_RANGE.start(),
                PERIOD_RANGE.end()
            ),
        )),
    }
}

fn check_lengths(value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    match value {
        Value::String(s) if s.chars().count() > MAX_STRING_CHARS => errors.push(FieldError::new(
            path,
            format!("must be at most {MAX_STRING_CHARS} characters"),
        )),
        Value::Object(m) => {
            for (k, v) in m {
                check_lengths(v, &format!("{path}.{k}"), errors);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                check_lengths(v, &format!("{path}[{i}]"), errors);
            }
        }
        _ => {}
    }
}

/// Parses a strict `YYYY-MM-DD` calendar date.
pub(crate) fn parse_date(s: &str) -> Option<Date> {
    if s.len() != 10 {
        return None;
    }
    Date::parse(s, format_description!("[year]-[month]-[day]")).ok()
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
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "basicInfo": {"employeeNumber": 7, "firstName": "Lisa", "lastName": "Hanison", "employeeType": "applicant"},
            "birthInfo": {"birthDate": "1990-02-28", "gender": "female"},
            "contactInfo": {"privateEmail": "lisa@example.com"},
            "period": {"year": 2024, "period": 4}
        })
    }

    fn fields(v: Value) -> Vec<String> {
        match validate_personal_info(&v, "body") {
            Ok(_) => vec![],
            Err(e) => e.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn valid_body_normalises_missing_fields_to_null() {
        let s = validate_personal_info(&valid(), "body").expect("valid");
        assert_eq!(
            s.0["partnerInfo"],
            json!({"partnerName": null, "maritalStatus": null})
        );
        assert_eq!(s.0["contactInfo"]["businessEmail"], Value::Null);
        assert_eq!(s.0["basicInfo"]["firstNameInFull"], Value::Null);
    }

    #[test]
    fn extra_fields_are_kept() {
        let mut v = valid();
        v["basicInfo"]["initials"] = json!("L.");
        let s = validate_personal_info(&v, "body").expect("valid");
        assert_eq!(s.0["basicInfo"]["initials"], json!("L."));
    }

    #[test]
    fn each_rule_names_its_field() {
        let mut v = valid();
        v["basicInfo"]["lastName"] = json!("  ");
        assert_eq!(fields(v), ["basicInfo.lastName"]);

        let mut v = valid();
        v["basicInfo"].as_object_mut().map(|m| m.remove("lastName"));
        assert_eq!(fields(v), ["basicInfo.lastName"]);

        let mut v = valid();
        v["birthInfo"]["birthDate"] = json!("1990-02-30");
        assert_eq!(fields(v), ["birthInfo.birthDate"]);

        let mut v = valid();
        v["contactInfo"]["privateEmail"] = json!("lisa@example");
        assert_eq!(fields(v), ["contactInfo.privateEmail"]);

        for bad in [json!(0), json!(-3), json!(1.5), json!("7")] {
            let mut v = valid();
            v["basicInfo"]["employeeNumber"] = bad;
            assert_eq!(fields(v), ["basicInfo.employeeNumber"]);
        }

        let mut v = valid();
        v["period"]["period"] = json!(54);
        assert_eq!(fields(v), ["period.period"]);

        let mut v = valid();
        v.as_object_mut().map(|m| m.remove("period"));
        assert_eq!(fields(v), ["period"]);

        let mut v = valid();
        v["basicInfo"]["firstName"] = json!("x".repeat(256));
        assert_eq!(fields(v), ["basicInfo.firstName"]);

        let mut v = valid();
        v["basicInfo"]["firstName"] = json!(12);
        assert_eq!(fields(v), ["basicInfo.firstName"]);
    }

    #[test]
    fn several_errors_are_reported_together() {
        let mut v = valid();
        v["basicInfo"]["lastName"] = json!("");
        v["birthInfo"]["birthDate"] = json!("28-02-1990");
        assert_eq!(fields(v), ["basicInfo.lastName", "birthInfo.birthDate"]);
    }

    #[test]
    fn dates_and_emails() {
        assert!(parse_date("2000-02-29").is_some());
        assert!(parse_date("1900-02-29").is_none());
        assert!(parse_date("2000-2-29").is_none());
        assert!(parse_date("2000-02-29T00:00:00").is_none());
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
