//! Dates and times: how they are stored in a document, and how each way of storing them is compared and indexed.
//!
//! A date or time field (`chrono::DateTime<Utc>`, `time::OffsetDateTime`, `jiff::Timestamp`, `NaiveDate`, …,
//! each behind its crate's feature) compares as the instant or date it denotes, never as its text: `…+02:00` and
//! `…Z` with different fractional digits order correctly. How the SQL reads the stored value depends on how the
//! document writes it, declared with `#[entity(time = "…")]` on the field or the entity ([`TimeStorage`]):
//!
//! | `time =` | stored as | SQL | index that serves it |
//! |---|---|---|---|
//! | `"cast"` (default) | ISO 8601 text, any offset and precision | `(data->>'at')::timestamptz` | none: the cast depends on the session's `TimeZone`, so PostgreSQL refuses it in an index (42P17) |
//! | `"rfc3339"` | RFC 3339 text (what chrono, jiff and `time::serde::rfc3339` write) | `fraiseql_timestamptz(data->>'at')` | btree on `(fraiseql_timestamptz(data->>'at'))`, after installing [`FUNCTIONS_SQL`] |
//! | `"epoch"` / `"epoch_ms"` | a JSON number of seconds / milliseconds since 1970 (chrono's `ts_seconds`, JavaScript's `Date.now()`) | `(data->>'at')::numeric` | btree on `((data->>'at')::numeric)` |
//! | a `column` field | a real `timestamptz`, `timestamp` or `date` column of the view | `"at"` | the column's btree |
//!
//! The `rfc3339` functions are declared `IMMUTABLE`, and that is true of them: each casts only text of one fixed
//! ISO 8601 shape (for `fraiseql_timestamptz`, with an explicit offset, `Z` rewritten to `+00:00`), whose value
//! does not depend on `TimeZone`, `DateStyle` or the abbreviation tables; any other text reads as missing (SQL
//! `NULL`), so such a row matches no comparison. The default `cast` reads every form the server accepts and
//! fails the query (22007) on text that is not a date.
//!
//! PostgreSQL keeps microseconds: values that differ only below a microsecond compare equal in SQL.

use serde_json::Value;

use crate::sql::Param;

/// How a date or time field is written in the document, and so how SQL compares it: `#[entity(time = "…")]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeStorage {
    /// ISO 8601 text compared through the server's cast, `(data->>'at')::timestamptz` (`time = "cast"`, the
    /// default): right for any offset and precision, but no index can serve it.
    #[default]
    Cast,
    /// RFC 3339 text compared through [`FUNCTIONS_SQL`]'s immutable functions, `fraiseql_timestamptz(data->>'at')`
    /// (`time = "rfc3339"`): an expression btree serves it. Text of another shape reads as missing.
    Rfc3339,
    /// A JSON number of seconds since 1970-01-01 UTC (`time = "epoch"`), compared as `numeric`.
    EpochSeconds,
    /// A JSON number of milliseconds since 1970-01-01 UTC (`time = "epoch_ms"`), compared as `numeric`.
    EpochMillis,
}

/// Which SQL date type a field's values are.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeFamily {
    /// An instant: `timestamptz`.
    Instant,
    /// A date and time of day without an offset: `timestamp`.
    Local,
    /// A calendar date: `date`.
    Date,
}

impl TimeFamily {
    /// The immutable function of [`FUNCTIONS_SQL`] that reads this family from RFC 3339 text.
    pub(crate) fn function(self) -> &'static str {
        match self {
            TimeFamily::Instant => "fraiseql_timestamptz",
            TimeFamily::Local => "fraiseql_timestamp",
            TimeFamily::Date => "fraiseql_date",
        }
    }
}

impl TimeStorage {
    /// The SQL type the stored value is compared as, when it is not the family's own.
    pub(crate) fn compared_as(self) -> Option<&'static str> {
        match self {
            TimeStorage::EpochSeconds | TimeStorage::EpochMillis => Some("numeric"),
            TimeStorage::Cast | TimeStorage::Rfc3339 => None,
        }
    }

    /// The parameter for `value`, the canonical text [`FieldType::to_json`](super::FieldType::to_json) gives a
    /// date or time.
    pub(crate) fn param(self, value: &Value) -> Param {
        let Value::String(text) = value else { return Param::NULL };
        let unit = match self {
            TimeStorage::Cast | TimeStorage::Rfc3339 => return Param::text(text.as_str()),
            TimeStorage::EpochSeconds => NANOS_PER_SECOND,
            TimeStorage::EpochMillis => NANOS_PER_SECOND / 1000,
        };
        // Only canonical text reaches here (a `Value` made by `to_json`), which always parses.
        unix_nanos(text).map_or(Param::NULL, |nanos| Param::text(decimal(nanos, unit)))
    }
}

/// The functions `time = "rfc3339"` compares through, to run once per database (in a migration) in a schema on
/// the `search_path`. Each is `IMMUTABLE` truthfully: it casts only text whose meaning no setting changes, and
/// gives `NULL` for anything else.
pub const FUNCTIONS_SQL: &str = r"CREATE OR REPLACE FUNCTION fraiseql_timestamptz(value text) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE WHEN value ~ '^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$'
        THEN regexp_replace(value, 'Z$', '+00:00')::timestamptz END;
CREATE OR REPLACE FUNCTION fraiseql_timestamp(value text) RETURNS timestamp
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE WHEN value ~ '^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,9})?$' THEN value::timestamp END;
CREATE OR REPLACE FUNCTION fraiseql_date(value text) RETURNS date
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE WHEN value ~ '^\d{4}-\d\d-\d\d$' THEN value::date END;
";

const NANOS_PER_SECOND: i128 = 1_000_000_000;
const SECONDS_PER_DAY: i128 = 86_400;

/// An instant as canonical text: `2026-01-02T03:04:05.123Z`, in UTC, the fraction as long as it needs to be.
#[cfg_attr(not(any(feature = "chrono", feature = "time", feature = "jiff")), allow(dead_code))] // no date type to format
pub(crate) fn instant_json(unix_nanos: i128) -> Value {
    Value::String(format!("{}Z", local_text(unix_nanos)))
}

/// A date and time of day as canonical text, `2026-01-02T03:04:05.123` (`unix_nanos` as if it were UTC).
#[cfg_attr(not(any(feature = "chrono", feature = "time", feature = "jiff")), allow(dead_code))] // no date type to format
pub(crate) fn local_json(unix_nanos: i128) -> Value {
    Value::String(local_text(unix_nanos))
}

/// A date as canonical text, `2026-01-02`.
#[cfg_attr(not(any(feature = "chrono", feature = "time", feature = "jiff")), allow(dead_code))] // no date type to format
pub(crate) fn date_json(unix_days: i64) -> Value {
    Value::String(date_text(unix_days))
}

#[cfg_attr(not(any(feature = "chrono", feature = "time", feature = "jiff")), allow(dead_code))] // no date type to format
fn local_text(unix_nanos: i128) -> String {
    let seconds = unix_nanos.div_euclid(NANOS_PER_SECOND);
    let nanos = unix_nanos.rem_euclid(NANOS_PER_SECOND);
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    // Days beyond i64 are beyond every date library; saturating keeps this total.
    let days = i64::try_from(days).unwrap_or(if days < 0 { i64::MIN } else { i64::MAX });
    let mut text = format!("{}T{:02}:{:02}:{:02}", date_text(days), of_day / 3600, of_day / 60 % 60, of_day % 60);
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text
}

#[cfg_attr(not(any(feature = "chrono", feature = "time", feature = "jiff")), allow(dead_code))] // no date type to format
fn date_text(unix_days: i64) -> String {
    let (year, month, day) = civil_from_days(unix_days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Nanoseconds since 1970-01-01T00:00:00 of canonical text (an instant, a local date and time, or a date).
fn unix_nanos(text: &str) -> Option<i128> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = match text.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    // The year may have a sign and more than four digits; month and day are the last two fields.
    let (rest, day) = date.rsplit_once('-')?;
    let (year, month) = rest.rsplit_once('-')?;
    let days = days_from_civil(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?);
    let mut nanos = i128::from(days) * SECONDS_PER_DAY * NANOS_PER_SECOND;
    if let Some(time) = time {
        let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
        let mut parts = clock.split(':').map(str::parse::<i128>);
        let (hours, minutes, seconds) = (parts.next()?.ok()?, parts.next()?.ok()?, parts.next()?.ok()?);
        nanos += ((hours * 60 + minutes) * 60 + seconds) * NANOS_PER_SECOND;
        if !fraction.is_empty() {
            if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            nanos += format!("{fraction:0<9}").parse::<i128>().ok()?;
        }
    }
    Some(nanos)
}

/// `nanos` in units of `unit` nanoseconds, as exact decimal text (`1767225600.5`).
fn decimal(nanos: i128, unit: i128) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let magnitude = nanos.unsigned_abs();
    let unit = unit.unsigned_abs();
    let (whole, rest) = (magnitude / unit, magnitude % unit);
    if rest == 0 {
        return format!("{sign}{whole}");
    }
    let digits = unit.ilog10() as usize;
    let fraction = format!("{rest:0digits$}");
    format!("{sign}{whole}.{}", fraction.trim_end_matches('0'))
}

/// The proleptic Gregorian date `days` after 1970-01-01 (the era-based algorithm: 400-year eras of 146,097
/// days, years starting in March so the leap day comes last).
#[cfg_attr(not(any(feature = "chrono", feature = "time", feature = "jiff")), allow(dead_code))] // no date type to format
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = i128::from(days) + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 { march_month + 3 } else { march_month - 9 };
    let year = year_of_era + era * 400 + i128::from(month <= 2);
    (i64::try_from(year).unwrap_or(i64::MAX), month as u32, day as u32)
}

/// The days from 1970-01-01 to a proleptic Gregorian date: the inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = i128::from(year) - i128::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let march_month = i128::from((month + 9) % 12);
    let day_of_year = (153 * march_month + 2) / 5 + i128::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    i64::try_from(era * 146_097 + day_of_era - 719_468).unwrap_or(i64::MAX)
}

#[cfg(feature = "chrono")]
mod chrono_types {
    use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Utc};
    use serde_json::Value;

    use crate::entity::FieldType;
    use crate::entity::kind::{Date, LocalDateTime, Timestamp};

    fn nanos(seconds: i64, subsec: u32) -> i128 {
        // A leap second's sub-second part runs past one second; it carries into the next second.
        i128::from(seconds) * super::NANOS_PER_SECOND + i128::from(subsec)
    }

    impl FieldType for DateTime<Utc> {
        type Kind = Timestamp;
        fn to_json(&self) -> Value {
            super::instant_json(nanos(self.timestamp(), self.timestamp_subsec_nanos()))
        }
    }

    impl FieldType for DateTime<FixedOffset> {
        type Kind = Timestamp;
        fn to_json(&self) -> Value {
            super::instant_json(nanos(self.timestamp(), self.timestamp_subsec_nanos()))
        }
    }

    impl FieldType for NaiveDateTime {
        type Kind = LocalDateTime;
        fn to_json(&self) -> Value {
            let utc = self.and_utc();
            super::local_json(nanos(utc.timestamp(), utc.timestamp_subsec_nanos()))
        }
    }

    impl FieldType for NaiveDate {
        type Kind = Date;
        fn to_json(&self) -> Value {
            // 719,163 days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
            super::date_json(i64::from(self.num_days_from_ce()) - 719_163)
        }
    }
}

#[cfg(feature = "time")]
mod time_types {
    use serde_json::Value;

    use crate::entity::FieldType;
    use crate::entity::kind::{Date, LocalDateTime, Timestamp};

    impl FieldType for ::time::OffsetDateTime {
        type Kind = Timestamp;
        fn to_json(&self) -> Value {
            super::instant_json(self.unix_timestamp_nanos())
        }
    }

    impl FieldType for ::time::PrimitiveDateTime {
        type Kind = LocalDateTime;
        fn to_json(&self) -> Value {
            super::local_json(self.assume_utc().unix_timestamp_nanos())
        }
    }

    impl FieldType for ::time::Date {
        type Kind = Date;
        fn to_json(&self) -> Value {
            // Julian day 2,440,588 is 1970-01-01.
            super::date_json(i64::from(self.to_julian_day()) - 2_440_588)
        }
    }
}

#[cfg(feature = "jiff")]
mod jiff_types {
    use serde_json::Value;

    use crate::entity::FieldType;
    use crate::entity::kind::{Date, LocalDateTime, Timestamp};

    impl FieldType for jiff::Timestamp {
        type Kind = Timestamp;
        fn to_json(&self) -> Value {
            super::instant_json(self.as_nanosecond())
        }
    }

    fn unix_days(date: jiff::civil::Date) -> i64 {
        super::days_from_civil(
            i64::from(date.year()),
            date.month().unsigned_abs().into(),
            date.day().unsigned_abs().into(),
        )
    }

    impl FieldType for jiff::civil::DateTime {
        type Kind = LocalDateTime;
        fn to_json(&self) -> Value {
            let seconds = (i64::from(self.hour()) * 60 + i64::from(self.minute())) * 60 + i64::from(self.second());
            let of_day = i128::from(seconds) * super::NANOS_PER_SECOND + i128::from(self.subsec_nanosecond());
            super::local_json(
                i128::from(unix_days(self.date())) * super::SECONDS_PER_DAY * super::NANOS_PER_SECOND + of_day,
            )
        }
    }

    impl FieldType for jiff::civil::Date {
        type Kind = Date;
        fn to_json(&self) -> Value {
            super::date_json(unix_days(*self))
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn canonical_text() {
        assert_eq!(instant_json(0), Value::from("1970-01-01T00:00:00Z"));
        assert_eq!(instant_json(-1), Value::from("1969-12-31T23:59:59.999999999Z"));
        assert_eq!(instant_json(1_767_225_600_120_000_000), Value::from("2026-01-01T00:00:00.12Z"));
        assert_eq!(local_json(951_782_400 * NANOS_PER_SECOND), Value::from("2000-02-29T00:00:00"));
        assert_eq!(date_json(-719_162), Value::from("0001-01-01"));
    }

    #[test]
    fn epoch_parameters_are_exact() {
        let at = Value::from("2026-01-01T00:00:00.12Z");
        assert_eq!(TimeStorage::EpochSeconds.param(&at).as_str(), Some("1767225600.12"));
        assert_eq!(TimeStorage::EpochMillis.param(&at).as_str(), Some("1767225600120"));
        let before = Value::from("1969-12-31T23:59:59.999999999Z");
        assert_eq!(TimeStorage::EpochSeconds.param(&before).as_str(), Some("-0.000000001"));
        assert_eq!(TimeStorage::EpochMillis.param(&before).as_str(), Some("-0.000001"));
        assert_eq!(TimeStorage::EpochSeconds.param(&Value::from("1970-01-03")).as_str(), Some("172800"));
        assert_eq!(TimeStorage::Cast.param(&at).as_str(), Some("2026-01-01T00:00:00.12Z"));
        assert_eq!(TimeStorage::EpochSeconds.param(&Value::Null), Param::NULL);
    }

    proptest! {
        #[test]
        fn text_and_epoch_round_trip(nanos in -400_000_000_000_000_000_000i128..400_000_000_000_000_000_000i128) {
            let Value::String(text) = instant_json(nanos) else { unreachable!() };
            prop_assert_eq!(unix_nanos(&text), Some(nanos), "{}", text);
        }

        #[test]
        fn days_round_trip(days in -100_000_000i64..100_000_000) {
            let (year, month, day) = civil_from_days(days);
            prop_assert!((1..=12).contains(&month) && (1..=31).contains(&day));
            prop_assert_eq!(days_from_civil(year, month, day), days);
        }
    }

    #[cfg(feature = "time")]
    #[test]
    fn time_types() {
        use crate::entity::FieldType;
        let date = ::time::Date::from_calendar_date(2000, ::time::Month::February, 29).expect("a date");
        let at = date.with_hms_nano(12, 34, 56, 789_000_000).expect("a time");
        assert_eq!(date.to_json(), Value::from("2000-02-29"));
        assert_eq!(at.to_json(), Value::from("2000-02-29T12:34:56.789"));
        let offset = ::time::UtcOffset::from_hms(5, 30, 0).expect("an offset");
        assert_eq!(at.assume_offset(offset).to_json(), Value::from("2000-02-29T07:04:56.789Z"));
    }

    #[cfg(feature = "jiff")]
    #[test]
    fn jiff_civil_types() {
        use crate::entity::FieldType;
        let leap = jiff::civil::date(2000, 2, 29);
        assert_eq!(leap.at(12, 34, 56, 789_000_000).to_json(), Value::from("2000-02-29T12:34:56.789"));
        assert_eq!(jiff::civil::date(1969, 12, 31).to_json(), Value::from("1969-12-31"));
        assert_eq!(leap.to_json(), Value::from("2000-02-29"));
    }

    #[cfg(feature = "chrono")]
    proptest! {
        #[test]
        fn chrono_agrees(seconds in -62_000_000_000i64..250_000_000_000, subsec in 0u32..1_000_000_000) {
            use crate::entity::FieldType;
            let Some(at) = chrono::DateTime::from_timestamp(seconds, subsec) else { return Ok(()) };
            let expected = at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            let Value::String(ours) = at.to_json() else { unreachable!() };
            // chrono writes 0, 3, 6 or 9 digits; the instants must be the same.
            let reparsed = chrono::DateTime::parse_from_rfc3339(&ours).map(|t| t.to_utc());
            prop_assert_eq!(reparsed, Ok(at), "ours {} chrono {}", ours, expected);
            prop_assert_eq!(at.date_naive().to_json(), Value::from(at.format("%Y-%m-%d").to_string()));
        }
    }
}
