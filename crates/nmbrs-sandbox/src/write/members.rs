//! Members of the smaller write bodies (employment, contract, org, address,
//! social security number), read one by one from the JSON the contract
//! validator has already checked against the description (types, `format`,
//! `required`, closed objects). What is left here: absent versus `null`, a
//! `date-time` as its Dutch calendar date, and payroll period ranges.

use chrono::NaiveDate;
use serde_json::Value;

use super::super::clock::dutch_date_of;
use super::super::model::InvalidParam;
use super::super::person::Period;
use super::super::validation::{PERIOD_RANGE, YEAR_RANGE};

/// A member of a partial update: absent (keep), `null` (clear) or a value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Change<T> {
    Keep,
    Clear,
    Set(T),
}

impl<T> Change<T> {
    /// The new value given the old one.
    pub(crate) fn apply(self, old: Option<T>) -> Option<T> {
        match self {
            Change::Keep => old,
            Change::Clear => None,
            Change::Set(v) => Some(v),
        }
    }

    /// The value of a create: absent and `null` are both "none".
    pub(crate) fn value(self) -> Option<T> {
        self.apply(None)
    }
}

fn member<T>(
    body: &Value,
    name: &str,
    what: &str,
    read: impl Fn(&Value) -> Option<T>,
    errors: &mut Vec<InvalidParam>,
) -> Change<T> {
    match body.get(name) {
        None => Change::Keep,
        Some(Value::Null) => Change::Clear,
        Some(v) => match read(v) {
            Some(x) => Change::Set(x),
            None => {
                errors.push(InvalidParam::new(
                    format!("/{name}"),
                    format!("The parameter is invalid. {v} is not {what}."),
                ));
                Change::Keep
            }
        },
    }
}

/// A `date-time` member, taken as its calendar date in Dutch time.
pub(crate) fn date_time(
    body: &Value,
    name: &str,
    errors: &mut Vec<InvalidParam>,
) -> Change<NaiveDate> {
    member(
        body,
        name,
        "a date-time",
        |v| v.as_str().and_then(dutch_date_of),
        errors,
    )
}

pub(crate) fn boolean(body: &Value, name: &str, errors: &mut Vec<InvalidParam>) -> Change<bool> {
    member(body, name, "true or false", Value::as_bool, errors)
}

pub(crate) fn number(body: &Value, name: &str, errors: &mut Vec<InvalidParam>) -> Change<f64> {
    member(body, name, "a number", Value::as_f64, errors)
}

pub(crate) fn integer(body: &Value, name: &str, errors: &mut Vec<InvalidParam>) -> Change<i64> {
    member(body, name, "an integer", Value::as_i64, errors)
}

pub(crate) fn text(body: &Value, name: &str, errors: &mut Vec<InvalidParam>) -> Change<String> {
    member(
        body,
        name,
        "a string",
        |v| v.as_str().map(str::to_string),
        errors,
    )
}

/// A required text member: absent or `null` is a 400.
pub(crate) fn required_text(
    body: &Value,
    name: &str,
    errors: &mut Vec<InvalidParam>,
) -> Option<String> {
    let v = text(body, name, errors).value();
    if v.is_none() && !errors.iter().any(|e| e.name == format!("/{name}")) {
        errors.push(InvalidParam::new(format!("/{name}"), "is required"));
    }
    v
}

/// A `Period` member (`period`, `periodDetails`): both parts, a year in
/// [`YEAR_RANGE`] and a monthly period in [`PERIOD_RANGE`]. `None`: absent or null.
pub(crate) fn period(body: &Value, name: &str, errors: &mut Vec<InvalidParam>) -> Option<Period> {
    let p = body.get(name).filter(|p| !p.is_null())?;
    let part = |k: &str| p.get(k).and_then(Value::as_i64);
    let (Some(year), Some(period)) = (part("year"), part("period")) else {
        errors.push(InvalidParam::new(
            format!("/{name}"),
            "needs both year and period",
        ));
        return None;
    };
    let before = errors.len();
    if !YEAR_RANGE.contains(&year) {
        errors.push(InvalidParam::new(
            format!("/{name}/year"),
            format!(
                "The parameter is invalid. It needs to be a valid year ({} to {}).",
                YEAR_RANGE.start(),
                YEAR_RANGE.end()
            ),
        ));
    }
    if !PERIOD_RANGE.contains(&period) {
        errors.push(InvalidParam::new(
            format!("/{name}/period"),
            format!(
                "The parameter is invalid. It needs to be a valid period ({} to {}).",
                PERIOD_RANGE.start(),
                PERIOD_RANGE.end()
            ),
        ));
    }
    (errors.len() == before).then_some(Period { year, period })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_null_and_values_differ() {
        let body = json!({"a": null, "d": "2024-02-29T23:30:00Z", "n": 40.5, "x": "nope"});
        let mut errors = Vec::new();
        assert_eq!(date_time(&body, "missing", &mut errors), Change::Keep);
        assert_eq!(date_time(&body, "a", &mut errors), Change::Clear);
        assert_eq!(
            date_time(&body, "d", &mut errors),
            Change::Set(NaiveDate::from_ymd_opt(2024, 3, 1).expect("date")),
            "the Dutch calendar date"
        );
        assert_eq!(number(&body, "n", &mut errors), Change::Set(40.5));
        assert!(errors.is_empty());
        assert_eq!(date_time(&body, "x", &mut errors), Change::Keep);
        assert_eq!(errors[0].name, "/x");
        assert_eq!(Change::Clear.apply(Some(1)), None);
        assert_eq!(Change::Keep.apply(Some(1)), Some(1));
    }

    #[test]
    fn periods_need_both_parts_in_range() {
        let mut errors = Vec::new();
        let body = json!({"p": {"year": 2024, "period": 13}, "q": {"year": 2024}, "r": {"year": 2024, "period": 2}});
        assert_eq!(period(&body, "p", &mut errors), None);
        assert_eq!(period(&body, "q", &mut errors), None);
        let names: Vec<&str> = errors.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["/p/period", "/q"]);
        assert_eq!(
            period(&body, "r", &mut errors),
            Some(Period {
                year: 2024,
                period: 2
            })
        );
        assert_eq!(period(&body, "none", &mut errors), None);
    }
}
