//! The clocks of a request: a business-day calendar (weekdays, configured holidays, a time
//! zone) and the configured durations. Pure: the time in, the deadline out.

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

use crate::registry::Timestamp;

/// One clock: business days on the calendar, or a fixed span (down to seconds, so tests can
/// run the clocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// So many business days.
    BusinessDays(u32),
    /// A fixed duration.
    Fixed(Duration),
}

/// Why a span or a calendar setting cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpanError {
    /// Not `<n> <unit>`.
    #[error(
        "{0:?} is not a duration: write e.g. \"2 business days\", \"30 days\", \"24h\", \"90s\""
    )]
    Syntax(String),
    /// An unknown time zone.
    #[error("unknown time zone {0:?} (an IANA name such as \"Europe/Zurich\", or \"UTC\")")]
    TimeZone(String),
    /// A holiday that is not a date.
    #[error("holiday {0:?} is not a date YYYY-MM-DD")]
    Holiday(String),
}

impl Span {
    /// Parse `<n> <unit>`: `s`/`sec`/`seconds`, `m`/`min`/`minutes`, `h`/`hours`,
    /// `d`/`days` (calendar days), `bd`/`business days`.
    ///
    /// # Errors
    /// Anything else.
    pub fn parse(text: &str) -> Result<Self, SpanError> {
        let bad = || SpanError::Syntax(text.to_string());
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (n, unit) = t.split_at(split);
        let n: u64 = n.parse().map_err(|_| bad())?;
        let unit = unit.trim().to_ascii_lowercase();
        let secs = |k: u64| {
            n.checked_mul(k)
                .map(|s| Self::Fixed(Duration::from_secs(s)))
        };
        let span = match unit.as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => secs(1),
            "m" | "min" | "mins" | "minute" | "minutes" => secs(60),
            "h" | "hour" | "hours" => secs(3600),
            "d" | "day" | "days" => secs(86_400),
            "bd" | "business day" | "business days" => {
                u32::try_from(n).ok().map(Self::BusinessDays)
            }
            _ => None,
        };
        span.ok_or_else(bad)
    }

    /// The span as seconds, business days counted as 24 hours (for bounds only).
    pub fn nominal_secs(self) -> u64 {
        match self {
            Self::BusinessDays(n) => u64::from(n) * 86_400,
            Self::Fixed(d) => d.as_secs(),
        }
    }
}

/// The registry's business-day calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    tz: TimeZone,
    tz_name: String,
    holidays: BTreeSet<Date>,
}

impl Default for Calendar {
    fn default() -> Self {
        Self {
            tz: TimeZone::UTC,
            tz_name: "UTC".into(),
            holidays: BTreeSet::new(),
        }
    }
}

impl Calendar {
    /// A calendar in `time_zone` (an IANA name; `UTC` needs no time zone database) with these
    /// holidays (`YYYY-MM-DD`).
    ///
    /// # Errors
    /// An unknown time zone or a holiday that is not a date.
    pub fn new(time_zone: &str, holidays: &[String]) -> Result<Self, SpanError> {
        let tz = if time_zone.eq_ignore_ascii_case("utc") {
            TimeZone::UTC
        } else {
            TimeZone::get(time_zone).map_err(|_| SpanError::TimeZone(time_zone.to_string()))?
        };
        let holidays = holidays
            .iter()
            .map(|h| {
                h.parse::<Date>()
                    .map_err(|_| SpanError::Holiday(h.to_string()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            tz,
            tz_name: time_zone.to_string(),
            holidays,
        })
    }

    /// The time zone's name.
    pub fn time_zone(&self) -> &str {
        &self.tz_name
    }

    /// Whether `date` is a business day: a weekday that is not a holiday.
    pub fn is_business_day(&self, date: Date) -> bool {
        !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
            && !self.holidays.contains(&date)
    }

    /// `from` plus `span`. Business days keep the local time of day: Friday 10:00 plus two
    /// business days is Tuesday 10:00. A request received on a day that is not a business
    /// day counts from 00:00 of the next business day.
    pub fn add(&self, from: Timestamp, span: Span) -> Timestamp {
        match span {
            Span::Fixed(d) => Timestamp::from_unix(
                from.unix()
                    .saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            ),
            Span::BusinessDays(n) => self.add_business_days(from, n).unwrap_or(from),
        }
    }

    fn add_business_days(&self, from: Timestamp, n: u32) -> Option<Timestamp> {
        let start = jiff::Timestamp::from_second(from.unix()).ok()?;
        let mut local = start.to_zoned(self.tz.clone()).datetime();
        if !self.is_business_day(local.date()) {
            let mut d = local.date();
            while !self.is_business_day(d) {
                d = d.tomorrow().ok()?;
            }
            local = d.to_datetime(jiff::civil::Time::midnight());
        }
        let mut date = local.date();
        let mut left = n;
        // A year of holidays at most stands between two business days; bound the walk anyway.
        let mut steps = 0u32;
        while left > 0 {
            date = date.tomorrow().ok()?;
            steps += 1;
            if steps > 100_000 {
                return None;
            }
            if self.is_business_day(date) {
                left -= 1;
            }
        }
        let due = date
            .to_datetime(local.time())
            .to_zoned(self.tz.clone())
            .ok()?;
        Some(Timestamp::from_unix(due.timestamp().as_second()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        crate::registry::validate::datetime(s).expect("time")
    }

    #[test]
    fn spans_in_any_unit() {
        assert_eq!(Span::parse("2 business days"), Ok(Span::BusinessDays(2)));
        assert_eq!(Span::parse("3bd"), Ok(Span::BusinessDays(3)));
        assert_eq!(
            Span::parse("30 days"),
            Ok(Span::Fixed(Duration::from_secs(30 * 86_400)))
        );
        assert_eq!(
            Span::parse("24h"),
            Ok(Span::Fixed(Duration::from_secs(86_400)))
        );
        assert_eq!(Span::parse("2s"), Ok(Span::Fixed(Duration::from_secs(2))));
        for bad in [
            "",
            "days",
            "2 weeks",
            "-1s",
            "1.5h",
            "99999999999999999999s",
        ] {
            assert!(Span::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn business_days_skip_weekends_and_holidays() {
        let cal = Calendar::default();
        // Friday 10:00 + 2 business days: Tuesday 10:00.
        assert_eq!(
            cal.add(at("2026-06-05T10:00:00Z"), Span::BusinessDays(2))
                .text()
                .to_string(),
            "2026-06-09T10:00:00Z"
        );
        // Saturday: from Monday 00:00.
        assert_eq!(
            cal.add(at("2026-06-06T15:00:00Z"), Span::BusinessDays(2))
                .text()
                .to_string(),
            "2026-06-10T00:00:00Z"
        );
        // A holiday on the Monday.
        let cal = Calendar::new("UTC", &["2026-06-08".into()]).expect("cal");
        assert_eq!(
            cal.add(at("2026-06-05T10:00:00Z"), Span::BusinessDays(2))
                .text()
                .to_string(),
            "2026-06-10T10:00:00Z"
        );
        assert!(Calendar::new("UTC", &["2026-02-30".into()]).is_err());
    }

    #[test]
    fn the_time_zone_decides_the_day() {
        let cal = Calendar::new("Asia/Tokyo", &[]).expect("tokyo");
        // Friday 20:00 UTC is Saturday 05:00 in Tokyo: counted from Monday 00:00 JST.
        assert_eq!(
            cal.add(at("2026-06-05T20:00:00Z"), Span::BusinessDays(2))
                .text()
                .to_string(),
            "2026-06-09T15:00:00Z"
        );
        assert!(Calendar::new("Mars/Olympus", &[]).is_err());
    }

    #[test]
    fn fixed_spans_ignore_the_calendar() {
        let cal = Calendar::default();
        assert_eq!(
            cal.add(
                at("2026-06-06T15:00:00Z"),
                Span::Fixed(Duration::from_secs(86_400))
            )
            .text()
            .to_string(),
            "2026-06-07T15:00:00Z"
        );
    }
}
