//! Calendar dates on the wire (docs/nmbrs-api.md, "Reading employees"): reads give date-times, the
//! create takes a `date`, the personal-info PUT a `date-time`. A birth date must survive every round
//! trip unchanged, so a date is never shifted through UTC by accident.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A date-time's local time at or after this hour is taken as the next day's midnight written with
/// an offset rule other than today's (before 1940 Amsterdam kept +00:20, a server using current
/// rules writes its midnight as 23:00Z, which Amsterdam's historical rules read as 23:20).
const LATE_EVENING_HOUR: u8 = 22;

/// The calendar date a Nmbrs date or date-time names, as `YYYY-MM-DD`.
///
/// * `1980-02-27` and `1980-02-27T00:00:00` (no offset): the date as written.
/// * `1980-02-27T00:00:00+01:00`: midnight in its own offset, the date as written.
/// * `1980-02-26T23:00:00Z` (Dutch local midnight in UTC): converted to Europe/Amsterdam → 27 Feb.
///
/// Errors: the text when it is none of these shapes.
pub(crate) fn calendar_date(text: &str) -> Result<String, String> {
    let s = text.trim();
    let date_only = format_description!("[year]-[month]-[day]");
    if s.len() == 10 {
        return Date::parse(s, &date_only)
            .map(format_date)
            .map_err(|_| format!("`{s}` is not a date (YYYY-MM-DD)"));
    }
    if let Ok(dt) = OffsetDateTime::parse(s, &Rfc3339) {
        if (dt.hour(), dt.minute(), dt.second()) == (0, 0, 0) {
            return Ok(format_date(dt.date()));
        }
        let local = dt.to_offset(amsterdam_offset(dt));
        let date = if local.hour() >= LATE_EVENING_HOUR {
            local.date().next_day().unwrap_or(local.date())
        } else {
            local.date()
        };
        return Ok(format_date(date));
    }
    let naive = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let naive_frac =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]");
    PrimitiveDateTime::parse(s, &naive)
        .or_else(|_| PrimitiveDateTime::parse(s, &naive_frac))
        .map(|dt| format_date(dt.date()))
        .map_err(|_| format!("`{s}` is not a date or date-time"))
}

/// `YYYY-MM-DD` → the create body's `date` (the same text, checked).
pub(crate) fn write_date(date: &str) -> Result<String, String> {
    calendar_date(date)
}

/// `YYYY-MM-DD` → the PUT body's `date-time`: midnight UTC of that date, `1980-02-27T00:00:00Z`.
/// Any server reading it in Dutch local time (01:00 or 02:00) or cutting the time keeps the date.
pub(crate) fn write_date_time(date: &str) -> Result<String, String> {
    Ok(format!("{}T00:00:00Z", calendar_date(date)?))
}

fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Europe/Amsterdam's UTC offset at `instant` under today's rules (CET, CEST from the last Sunday
/// of March 01:00 UTC to the last Sunday of October 01:00 UTC). Earlier rules differ by less than
/// an hour, which [`LATE_EVENING_HOUR`] absorbs.
fn amsterdam_offset(instant: OffsetDateTime) -> UtcOffset {
    let utc = instant.to_offset(UtcOffset::UTC);
    let year = utc.year();
    let start = last_sunday(year, time::Month::March);
    let end = last_sunday(year, time::Month::October);
    let summer = match (start, end) {
        (Some(s), Some(e)) => {
            let s = s.with_hms(1, 0, 0).map(|d| d.assume_utc());
            let e = e.with_hms(1, 0, 0).map(|d| d.assume_utc());
            matches!((s, e), (Ok(s), Ok(e)) if utc >= s && utc < e)
        }
        _ => false,
    };
    let hours = if summer { 2 } else { 1 };
    UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC)
}

fn last_sunday(year: i32, month: time::Month) -> Option<Date> {
    let next_month_first = match month {
        time::Month::December => Date::from_calendar_date(year + 1, time::Month::January, 1),
        m => Date::from_calendar_date(year, m.next(), 1),
    }
    .ok()?;
    let mut d = next_month_first.previous_day()?;
    while d.weekday() != time::Weekday::Sunday {
        d = d.previous_day()?;
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_names_the_same_day() {
        for s in [
            "1980-02-27",
            "1980-02-27T00:00:00",
            "1980-02-27T00:00:00.000",
            "1980-02-27T00:00:00+01:00",
            "1980-02-27T00:00:00Z",
            "1980-02-26T23:00:00Z",
            "1980-02-26T23:00:00.0000000Z",
        ] {
            assert_eq!(calendar_date(s).as_deref(), Ok("1980-02-27"), "{s}");
        }
    }

    #[test]
    fn summer_dates_keep_their_day() {
        for s in [
            "1990-07-01",
            "1990-07-01T00:00:00",
            "1990-07-01T00:00:00+02:00",
            "1990-06-30T22:00:00Z",
        ] {
            assert_eq!(calendar_date(s).as_deref(), Ok("1990-07-01"), "{s}");
        }
        // The first and last day of summer time, written as Dutch local midnight in UTC.
        assert_eq!(
            calendar_date("2024-03-30T23:00:00Z").as_deref(),
            Ok("2024-03-31")
        );
        assert_eq!(
            calendar_date("2024-10-26T22:00:00Z").as_deref(),
            Ok("2024-10-27")
        );
        assert_eq!(
            calendar_date("2024-10-27T23:00:00Z").as_deref(),
            Ok("2024-10-28")
        );
    }

    #[test]
    fn a_daytime_value_is_its_dutch_date() {
        assert_eq!(
            calendar_date("1991-01-01T09:29:18Z").as_deref(),
            Ok("1991-01-01")
        );
        // Amsterdam before 1940 (+00:20): a server's 23:00Z midnight still names the next day.
        assert_eq!(
            calendar_date("1935-05-04T23:00:00Z").as_deref(),
            Ok("1935-05-05")
        );
    }

    #[test]
    fn round_trips_never_move_a_day() {
        let mut d = Date::from_calendar_date(1950, time::Month::January, 1).expect("date");
        let end = Date::from_calendar_date(2030, time::Month::December, 31).expect("date");
        while d <= end {
            let text = format_date(d);
            let put = write_date_time(&text).expect("write");
            assert_eq!(calendar_date(&put).as_deref(), Ok(text.as_str()), "{put}");
            // What a server keeping Dutch local midnight sends back, in UTC.
            let local_midnight = d
                .midnight()
                .assume_offset(amsterdam_offset(d.midnight().assume_utc()));
            let back = local_midnight
                .to_offset(UtcOffset::UTC)
                .format(&Rfc3339)
                .expect("format");
            assert_eq!(calendar_date(&back).as_deref(), Ok(text.as_str()), "{back}");
            d = d.next_day().expect("next");
        }
    }

    #[test]
    fn garbage_is_an_error() {
        for s in [
            "",
            "27-02-1980",
            "1980-02-30",
            "1980-02-27T25:00:00",
            "yesterday",
        ] {
            assert!(calendar_date(s).is_err(), "{s}");
        }
    }
}
