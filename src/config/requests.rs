//! The `[requests]` settings (issue #25): the record's store, the clocks, the calendar and the
//! intake rate, resolved and bounded.

use std::num::NonZeroU32;

use super::*;
use crate::requests::{Calendar, RequestsSettings, Span};

/// The longest any clock may be: a year.
const MAX_SPAN_SECS: u64 = 366 * 86_400;

fn span(key: &str, value: Option<String>, default: Span) -> Result<Span, ConfigError> {
    let Some(text) = value else {
        return Ok(default);
    };
    let s = Span::parse(&text).map_err(|e| ConfigError::Invalid(format!("requests.{key}: {e}")))?;
    let secs = s.nominal_secs();
    if secs == 0 || secs > MAX_SPAN_SECS {
        return Err(ConfigError::Invalid(format!(
            "requests.{key} = {text:?} is out of range: it must be between 1 second and 366 days"
        )));
    }
    Ok(s)
}

pub(super) fn resolve_requests(
    section: Option<RequestsSection>,
    database_url: Option<&str>,
    authority: bool,
) -> Result<Option<RequestsSettings>, ConfigError> {
    let Some(RequestsSection {
        log,
        log_database,
        acknowledge,
        respond,
        urgent,
        time_zone,
        holidays,
        intake_per_minute,
        intake_burst,
    }) = section
    else {
        return Ok(None);
    };
    if !authority {
        return Err(ConfigError::Invalid(
            "[requests] needs [authority]: an approved request is disclosed through the authority service and recorded in its disclosure log".into(),
        ));
    }
    let log_database = match (log, log_database.unwrap_or(false)) {
        (Some(_), true) => {
            return Err(ConfigError::Invalid(
                "requests.log and requests.log_database = true exclude each other: the record is either a file or in the database".into(),
            ))
        }
        (None, true) => match database_url {
            Some(url) => (PathBuf::new(), Some(url.to_string())),
            None => {
                return Err(ConfigError::Invalid(
                    "requests.log_database = true needs [data] backend = \"postgres\"".into(),
                ))
            }
        },
        (Some(path), false) => (path, None),
        (None, false) => {
            return Err(ConfigError::Invalid(
                "requests.log (a file) or requests.log_database = true is required in [requests]"
                    .into(),
            ))
        }
    };
    let mut s = RequestsSettings::new(log_database.0, log_database.1);
    s.acknowledge = span("acknowledge", acknowledge, s.acknowledge)?;
    s.respond = span("respond", respond, s.respond)?;
    s.urgent = span("urgent", urgent, s.urgent)?;
    s.calendar = Calendar::new(
        time_zone.as_deref().unwrap_or("UTC"),
        &holidays.unwrap_or_default(),
    )
    .map_err(|e| ConfigError::Invalid(format!("requests: {e}")))?;
    let nonzero = |key: &str, v: Option<u32>, default: NonZeroU32| {
        let v = bounded(&format!("requests.{key}"), v, default.get(), 1, 10_000)?;
        NonZeroU32::new(v)
            .ok_or_else(|| ConfigError::Invalid(format!("requests.{key} must be at least 1")))
    };
    s.intake_per_minute = nonzero("intake_per_minute", intake_per_minute, s.intake_per_minute)?;
    s.intake_burst = nonzero("intake_burst", intake_burst, s.intake_burst)?;
    Ok(Some(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<Option<RequestsSettings>, ConfigError> {
        let f = ConfigFile::parse("t.toml", text).expect("parses");
        resolve_requests(f.requests, None, true)
    }

    #[test]
    fn only_the_store_is_valid_and_gets_the_defaults() {
        let s = resolve("[requests]\nlog = \"/tmp/r.jsonl\"\n")
            .expect("valid")
            .expect("on");
        assert_eq!(s.acknowledge, Span::BusinessDays(2));
        assert_eq!(s.calendar.time_zone(), "UTC");
        assert!(resolve("").expect("valid").is_none());
    }

    #[test]
    fn clocks_in_any_unit_with_bounds() {
        let s = resolve(
            "[requests]\nlog = \"r\"\nacknowledge = \"2s\"\nrespond = \"5s\"\nurgent = \"1s\"\ntime_zone = \"Europe/Zurich\"\nholidays = [\"2026-08-01\"]\n",
        )
        .expect("valid")
        .expect("on");
        assert_eq!(s.urgent, Span::Fixed(std::time::Duration::from_secs(1)));
        for bad in [
            "acknowledge = \"0s\"",
            "respond = \"400 days\"",
            "urgent = \"soon\"",
            "time_zone = \"Nowhere/Land\"",
            "holidays = [\"August 1\"]",
            "intake_per_minute = 0",
            "log_database = true",
        ] {
            let e = resolve(&format!("[requests]\nlog = \"r\"\n{bad}\n"));
            assert!(e.is_err(), "{bad}");
        }
        assert!(
            resolve("[requests]\nacknowledge = \"1h\"\n").is_err(),
            "no store"
        );
        let f = ConfigFile::parse("t.toml", "[requests]\nlog = \"r\"\n").expect("parses");
        assert!(
            resolve_requests(f.requests, None, false).is_err(),
            "no authority"
        );
    }
}
