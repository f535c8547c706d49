//! Dutch time, as Nmbrs keeps it: `createdAt` stamps, the current payroll
//! period, and how calendar dates are written as date-times.
//!
//! Source: `docs/nmbrs-openapi.yaml`, schema `PersonalInfo.createdAt`
//! ("Time at which the object was created, timezone CET", example
//! `2021-07-01T10:15:08Z`) and `EmployeeBirth.birthDate` (`format: date-time`).
//! The description says CET while its examples end in `Z`; the sandbox mimics
//! that quirk: Dutch wall-clock time (CET or CEST) followed by a `Z`.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;
use std::time::{Duration, SystemTime};

use super::person::Period;

/// How the sandbox writes a calendar date (`birthDate`, `deceasedOn`) as the
/// `date-time` the read schemas (`EmployeeBirth`) declare. Both are legal
/// RFC 3339 forms of Dutch midnight; a client must take the calendar date in
/// Dutch time, never the text before the `T`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DateStyle {
    /// Dutch local midnight expressed in UTC: 1980-02-27 is
    /// `1980-02-26T23:00:00Z`, 1980-07-01 (summer time) is `1980-06-30T22:00:00Z`.
    /// The default: it punishes a client that cuts the date part off the string.
    #[default]
    DutchMidnightUtc,
    /// Dutch local midnight with its offset: `1980-02-27T00:00:00+01:00`,
    /// `1980-07-01T00:00:00+02:00`.
    DutchOffset,
}

/// Dutch wall-clock time now (no offset attached: Nmbrs stores it that way).
pub(crate) fn dutch_now() -> NaiveDateTime {
    Utc::now().with_timezone(&Amsterdam).naive_local()
}

/// The current payroll period of a (monthly) sandbox company: the Dutch year and month.
pub(crate) fn current_period() -> Period {
    let now = dutch_now();
    Period {
        year: i64::from(now.year()),
        period: i64::from(now.month()),
    }
}

/// `createdAt` as Nmbrs writes it: Dutch wall clock, whole seconds, and a `Z`
/// although it is not UTC (see the module docs).
pub(crate) fn render_created_at(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Dutch midnight at the start of `date`, as an instant. Midnight always exists
/// in Amsterdam (clocks change at 02:00/03:00); the fallback is for safety only.
fn dutch_midnight(date: NaiveDate) -> DateTime<chrono_tz::Tz> {
    let naive = date.and_time(chrono::NaiveTime::MIN);
    Amsterdam
        .from_local_datetime(&naive)
        .earliest()
        .unwrap_or_else(|| Amsterdam.from_utc_datetime(&naive))
}

/// A calendar date as a `date-time`, in the given style.
pub(crate) fn render_date(date: NaiveDate, style: DateStyle) -> String {
    let midnight = dutch_midnight(date);
    match style {
        DateStyle::DutchMidnightUtc => midnight
            .with_timezone(&Utc)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        DateStyle::DutchOffset => midnight.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
    }
}

/// A strict `YYYY-MM-DD` (schema `format: date`).
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// A `date-time` read as a Dutch date-time: one with an offset (`Z`, `+02:00`)
/// is converted to Dutch wall-clock time; one without is taken as Dutch
/// wall-clock time already.
pub(crate) fn parse_dutch_date_time(s: &str) -> Option<NaiveDateTime> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Amsterdam).naive_local());
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

/// The calendar date a `date-time` names in Dutch time:
/// `1980-02-27T00:00:00Z` and `1980-02-26T23:00:00Z` are both 27 February.
pub(crate) fn dutch_date_of(s: &str) -> Option<NaiveDate> {
    parse_dutch_date_time(s).map(|t| t.date())
}

/// A `date` or a `date-time` (lenient seeding accepts both).
pub(crate) fn date_or_date_time(s: &str) -> Option<NaiveDate> {
    parse_date(s).or_else(|| dutch_date_of(s))
}

/// `Retry-After` as an HTTP date (RFC 9110 IMF-fixdate), `secs` from now.
pub(crate) fn http_date_in(secs: u64) -> String {
    httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    #[test]
    fn dutch_midnight_in_both_styles_winter_and_summer() {
        let style = DateStyle::DutchMidnightUtc;
        assert_eq!(render_date(d(1980, 2, 27), style), "1980-02-26T23:00:00Z");
        assert_eq!(render_date(d(1980, 7, 1), style), "1980-06-30T22:00:00Z");
        let style = DateStyle::DutchOffset;
        assert_eq!(
            render_date(d(1980, 2, 27), style),
            "1980-02-27T00:00:00+01:00"
        );
        assert_eq!(
            render_date(d(1980, 7, 1), style),
            "1980-07-01T00:00:00+02:00"
        );
    }

    #[test]
    fn rendered_dates_read_back_as_the_same_calendar_date() {
        for date in [
            d(1980, 2, 27),
            d(1980, 7, 1),
            d(2000, 12, 31),
            d(1960, 1, 1),
        ] {
            for style in [DateStyle::DutchMidnightUtc, DateStyle::DutchOffset] {
                assert_eq!(dutch_date_of(&render_date(date, style)), Some(date));
            }
        }
        assert_eq!(dutch_date_of("1980-02-27T00:00:00Z"), Some(d(1980, 2, 27)));
        assert_eq!(dutch_date_of("1980-02-27T00:00:00"), Some(d(1980, 2, 27)));
        assert_eq!(
            dutch_date_of("1980-02-27T23:30:00-05:00"),
            Some(d(1980, 2, 28))
        );
        assert_eq!(dutch_date_of("1980-02-27"), None);
        assert_eq!(date_or_date_time("1980-02-27"), Some(d(1980, 2, 27)));
        assert_eq!(parse_date("1980-2-27"), None);
        assert_eq!(parse_date("1900-02-29"), None);
    }

    #[test]
    fn created_at_is_dutch_wall_clock_with_a_z() {
        let t = d(2021, 7, 1).and_hms_opt(10, 15, 8).expect("time");
        assert_eq!(render_created_at(t), "2021-07-01T10:15:08Z");
        // A UTC instant in summer is two hours earlier than its Dutch wall-clock time.
        assert_eq!(
            parse_dutch_date_time("2021-07-01T08:15:08Z"),
            Some(t),
            "createdFrom with an offset is converted to Dutch time"
        );
    }

    #[test]
    fn http_date_is_imf_fixdate() {
        let s = http_date_in(30);
        assert!(s.ends_with(" GMT") && s.len() == 29, "{s}");
        assert!(httpdate::parse_http_date(&s).is_ok());
    }
}
