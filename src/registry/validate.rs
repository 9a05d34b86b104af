//! Small format checks for registration data: country codes, EPP phone numbers, e-mail
//! addresses, URLs and RFC 3339 dates. Pure functions returning a message on failure, so the
//! loader can attach file, line and field.
//!
//! No message here repeats the value it refuses: load errors reach the server log, and a contact's
//! phone number or street must never appear there. The loader keeps the value beside the message
//! for `rddsd check --show-values` only.

use super::model::{Phone, Timestamp};

/// What is wrong with a value of registration data. The text never repeats the value: the loader
/// attaches file, line and field, and keeps the value apart for `rddsd check --show-values`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// Not an assigned ISO 3166-1 alpha-2 code.
    #[error("not an ISO 3166-1 alpha-2 country code (upper case)")]
    CountryCode,
    /// Not `+CC.NUMBER`.
    #[error("not an EPP phone number of the form +CC.NUMBER (RFC 5733)")]
    Phone,
    /// A phone extension that is not 1 to 10 digits.
    #[error("a phone extension is 1 to 10 digits")]
    PhoneExtension,
    /// Not an e-mail address.
    #[error("not a valid e-mail address")]
    Email,
    /// A URL that is not http(s).
    #[error("a URL must start with http:// or https://")]
    UrlScheme,
    /// A URL without a host, or with white space.
    #[error("a URL needs a host and no white space")]
    UrlHost,
    /// Not an RFC 3339 date-time.
    #[error("not an RFC 3339 date-time such as 2024-01-31T12:00:00Z")]
    DateTime,
    /// A date-time after 9999-12-31T23:59:59Z.
    #[error("the date lies after the year 9999 in UTC")]
    AfterYear9999,
    /// Year 0000.
    #[error("year 0000 is not a real date")]
    YearZero,
    /// Empty (or only white space) text.
    #[error("must not be empty")]
    Empty,
    /// Text longer than allowed.
    #[error("longer than {max} characters")]
    TooLong {
        /// The most characters allowed.
        max: usize,
    },
    /// Text holding a [`forbidden_char`].
    #[error("holds U+{code:04X} at character {at}: control, line-separator and bidi-control characters are not allowed")]
    ForbiddenChar {
        /// The code point.
        code: u32,
        /// Its 1-based position, in characters.
        at: usize,
    },
    /// A ROID without a hyphen.
    #[error("a ROID has the form LOCAL-SUFFIX (RFC 5730)")]
    RoidForm,
    /// A ROID whose parts are too long or hold other characters.
    #[error("a ROID is 1-80 word characters, a hyphen and a 1-8 character suffix (RFC 5730)")]
    RoidParts,
    /// An object without a status.
    #[error("a {0} needs at least one status")]
    NoStatus(&'static str),
    /// A status listed twice.
    #[error("status {0} is listed twice")]
    StatusTwice(&'static str),
    /// `ok` with another EPP status (domains).
    #[error("status ok cannot be combined with other EPP statuses (only with RGP statuses such as addPeriod)")]
    OkCombined,
    /// `ok` with anything but `linked` (hosts).
    #[error("status ok can only be combined with linked")]
    HostOkCombined,
    /// More than one `pending*` status.
    #[error("at most one pending* status may be set")]
    TwoPending,
    /// Two statuses that exclude each other.
    #[error("status {0} cannot be combined with {1}")]
    StatusConflict(&'static str, &'static str),
    /// `redemptionPeriod` or `pendingRestore` without `pendingDelete`.
    #[error("redemptionPeriod and pendingRestore require pendingDelete")]
    RedemptionWithoutDelete,
}

/// ISO 3166-1 alpha-2 codes currently assigned (249 entries).
const ISO_3166_ALPHA2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO \
BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER \
ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN \
IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH \
MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN \
PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ \
TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// User-assigned ISO 3166-1 codes in general use: `XK` is Kosovo (used by the European
/// Commission, SWIFT, and CLDR).
const USER_ASSIGNED_IN_USE: &[&str] = &["XK"];

/// Check an ISO 3166-1 alpha-2 country code (upper case, as EPP and RFC 8605 `cc` carry it).
///
/// # Errors
/// When the code is not an assigned ISO 3166-1 alpha-2 code (or `XK`).
pub fn country_code(cc: &str) -> Result<(), Invalid> {
    if cc.len() == 2 && (iso_assigned(cc.as_bytes()) || USER_ASSIGNED_IN_USE.contains(&cc)) {
        Ok(())
    } else {
        Err(Invalid::CountryCode)
    }
}

/// Whether a two-letter code is in [`ISO_3166_ALPHA2`]: a binary search over the sorted list
/// (two letters and a space each), since every contact and registrar of a large registry is
/// checked and a linear scan showed in load profiles.
fn iso_assigned(cc: &[u8]) -> bool {
    let list = ISO_3166_ALPHA2.as_bytes();
    let (mut lo, mut hi) = (0, list.len().div_ceil(3));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match list[mid * 3..mid * 3 + 2].cmp(cc) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// Check an EPP telephone number (RFC 5733 `e164StringType`: `+CC.NUMBER`, at most 17
/// characters) and its extension (digits).
///
/// # Errors
/// When the number or extension is malformed.
pub fn phone(p: &Phone) -> Result<(), Invalid> {
    let ok = p
        .number
        .strip_prefix('+')
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(cc, num)| {
            (1..=3).contains(&cc.len())
                && (1..=14).contains(&num.len())
                && cc.bytes().all(|b| b.is_ascii_digit())
                && num.bytes().all(|b| b.is_ascii_digit())
        });
    if !ok {
        return Err(Invalid::Phone);
    }
    if let Some(ext) = &p.ext {
        if ext.is_empty() || ext.len() > 10 || !ext.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::PhoneExtension);
        }
    }
    Ok(())
}

/// A pragmatic e-mail check: one `@`, a non-empty local part without spaces or control
/// characters, and a valid domain name after it.
///
/// # Errors
/// When the address is malformed.
pub fn email(addr: &str) -> Result<(), Invalid> {
    let bad = || Err(Invalid::Email);
    if addr.len() > 254 || addr.chars().any(|c| c.is_whitespace() || forbidden_char(c)) {
        return bad();
    }
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return bad();
    };
    if local.is_empty() || local.len() > 64 || local.contains('@') {
        return bad();
    }
    match super::name::DomainName::parse(domain) {
        Ok(_) => Ok(()),
        Err(_) => bad(),
    }
}

/// Check an absolute http(s) URL with a host.
///
/// # Errors
/// When the URL is not http(s) or has no host.
pub fn http_url(url: &str) -> Result<(), Invalid> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or(Invalid::UrlScheme)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    if host.is_empty() || url.chars().any(|c| c.is_whitespace() || forbidden_char(c)) {
        return Err(Invalid::UrlHost);
    }
    Ok(())
}

/// Parse an RFC 3339 date-time. Year 0000 is refused: RFC 3339 allows it, but no registration
/// happened then, and it is a common "no date" placeholder of broken exports.
///
/// # Errors
/// When the text is not RFC 3339, or its year is 0000.
pub fn datetime(s: &str) -> Result<Timestamp, Invalid> {
    let dt = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| Invalid::DateTime)?;
    // In UTC, which is how it is stored and printed; 9999-12-31T23:59:59-01:00 has no UTC year of
    // four digits and is refused here rather than overflowing later.
    let utc = dt
        .checked_to_offset(time::UtcOffset::UTC)
        .filter(|u| u.year() <= 9999)
        .ok_or(Invalid::AfterYear9999)?;
    if utc.year() < 1 {
        return Err(Invalid::YearZero);
    }
    Ok(Timestamp::from_datetime(utc))
}

/// Characters that must never reach an answer from a data file: every Unicode control (`Cc`,
/// which includes CR, LF, VT, FF and NEL U+0085), the line and paragraph separators (`Zl`
/// U+2028, `Zp` U+2029), which line-splitting WHOIS parsers treat as line breaks, and the bidi
/// controls (ALM U+061C, LRM/RLM U+200E/U+200F, embeddings and overrides U+202A-U+202E,
/// isolates U+2066-U+2069), which make a displayed line read differently from its bytes.
pub fn forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// Free text made safe to serve: each [`forbidden_char`] replaced by U+FFFD (REPLACEMENT
/// CHARACTER), so the text keeps its length in characters and can no longer forge or reorder a
/// line.
#[must_use]
pub fn made_safe(s: &str) -> String {
    s.chars()
        .map(|c| if forbidden_char(c) { '\u{FFFD}' } else { c })
        .collect()
}

/// A free-text field must be non-empty, single-line and of bounded length, so that no data file
/// can forge lines in WHOIS output, reorder what a reader sees, or put control characters into
/// JSON.
///
/// # Errors
/// When the text is empty, too long or holds a [`forbidden_char`]; the message names the code
/// point (U+XXXX) and its position, never the text.
pub fn text(s: &str, max: usize) -> Result<(), Invalid> {
    if s.trim().is_empty() {
        return Err(Invalid::Empty);
    }
    if s.chars().count() > max {
        return Err(Invalid::TooLong { max });
    }
    if let Some((i, c)) = s.chars().enumerate().find(|(_, c)| forbidden_char(*c)) {
        return Err(Invalid::ForbiddenChar {
            code: u32::from(c),
            at: i + 1,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries() {
        assert!(country_code("CA").is_ok());
        assert!(country_code("ca").is_err());
        assert!(country_code("XX").is_err());
        assert!(country_code("CAN").is_err());
        assert!(
            country_code("XK").is_ok(),
            "Kosovo, user-assigned but in general use"
        );
        assert!(country_code("XX").is_err());
        assert_eq!(ISO_3166_ALPHA2.split(' ').count(), 249);
    }

    #[test]
    fn every_listed_country_is_found() {
        let codes: Vec<&str> = ISO_3166_ALPHA2.split(' ').collect();
        assert!(
            codes.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        assert!(codes.iter().all(|c| c.len() == 2));
        for c in &codes {
            assert!(country_code(c).is_ok(), "{c}");
        }
        for c in ["AA", "ZZ", "A ", " A", "AB"] {
            assert!(country_code(c).is_err(), "{c}");
        }
    }

    #[test]
    fn phones() {
        let p = |n: &str, e: Option<&str>| Phone {
            number: n.into(),
            ext: e.map(Into::into),
        };
        assert!(phone(&p("+1.7035555555", None)).is_ok());
        assert!(phone(&p("+44.2071234567", Some("12"))).is_ok());
        assert!(phone(&p("7035555555", None)).is_err());
        assert!(phone(&p("+1-703", None)).is_err());
        assert!(phone(&p("+1.", None)).is_err());
        assert!(phone(&p("+1.555", Some("x1"))).is_err());
    }

    #[test]
    fn emails_urls_dates_texts() {
        assert!(email("a.b@example.com").is_ok());
        assert!(email("no-at.example").is_err());
        assert!(email("a b@example.com").is_err());
        assert!(email("a@bad_domain").is_err());
        assert!(http_url("https://rdap.example.com/").is_ok());
        assert!(http_url("http://127.0.0.1:8080/").is_ok());
        assert!(http_url("ftp://x").is_err());
        assert!(http_url("https:///x").is_err());
        assert_eq!(
            datetime("2024-01-31T12:00:00+01:00").map(|t| t.text().to_string()),
            Ok("2024-01-31T11:00:00Z".into())
        );
        assert!(datetime("2024-13-01T00:00:00Z").is_err());
        assert!(datetime("0000-01-01T00:00:00Z").is_err());
        assert!(
            datetime("0001-01-01T00:30:00+01:00").is_err(),
            "year 0 in UTC"
        );
        assert!(datetime("0001-01-01T00:00:00Z").is_ok());
        assert!(datetime("9999-12-31T23:59:59-01:00").is_err());
        assert!(text("ok", 10).is_ok());
        assert!(text("line\nbreak", 20).is_err());
        assert!(text("  ", 10).is_err());
    }

    #[test]
    fn line_forging_and_bidi_characters_are_refused_everywhere() {
        let forged = [
            '\u{0}', '\u{9}', '\u{A}', '\u{B}', '\u{C}', '\u{D}', '\u{1B}', '\u{7F}', '\u{85}',
            '\u{9F}', '\u{2028}', '\u{2029}', '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}',
            '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
            '\u{2069}',
        ];
        for c in forged {
            let street = format!("1 Main St{c}Registrant Email: evil@example.com");
            let err = text(&street, 255).expect_err("refused").to_string();
            assert!(err.contains(&format!("U+{:04X}", u32::from(c))), "{err}");
            assert!(!err.contains("evil"), "no value in the message: {err}");
            assert!(email(&format!("a{c}b@example.com")).is_err(), "{c:?}");
            assert!(
                http_url(&format!("https://x.example/{c}")).is_err(),
                "{c:?}"
            );
        }
        // Ordinary non-ASCII text stays allowed.
        assert!(text("Rue de l'Église 5, Zürich — 東京", 255).is_ok());
        assert!(text("שלום עליכם", 255).is_ok());
    }

    #[test]
    fn messages_never_repeat_the_value() {
        let p = Phone {
            number: "+81 3 1234 5678".into(),
            ext: None,
        };
        let m = phone(&p).expect_err("refused").to_string();
        assert!(!m.contains("1234"), "{m}");
        let m = country_code("Atlantis").expect_err("refused").to_string();
        assert!(!m.contains("Atlantis"), "{m}");
        let m = datetime("yesterday at noon")
            .expect_err("refused")
            .to_string();
        assert!(!m.contains("yesterday"), "{m}");
    }
}
