//! Domain and host names, normalised once into a type.
//!
//! Every name that enters rddsd (a data file, an RDAP path, a WHOIS line) goes through
//! [`DomainName::parse`], so lookups, indexes and renderers never re-normalise. The stored key is
//! the lower-case A-label form without a trailing dot; the U-label form is derived once for
//! display (`unicodeName`, WHOIS IDN lines).
//!
//! Validation is UTS #46 non-transitional processing with STD3 rules, hyphen checks and DNS length
//! checks (`idna::domain_to_ascii_strict`): the IDNA 2008 compatible profile that browsers and
//! registries use. On top of it we require at least two labels, as the gTLD profile does
//! (RDAP TIG §1.10).

use std::fmt;

/// The key registrar names are matched by (WHOIS `registrar <name>`): words separated by single
/// spaces, each folded by UTS #46 to its lower-case Unicode form, so `Bücher Domains`,
/// `bücher domains` and `xn--bcher-kva domains` (what the Debian client sends after its own
/// IDNA pass) all meet. A word UTS #46 refuses is only lower-cased.
pub fn registrar_name_key(name: &str) -> String {
    name.split_whitespace()
        .map(|word| match idna::domain_to_unicode(word) {
            (unicode, Ok(())) => unicode,
            _ => word.to_lowercase(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A validated, normalised domain or host name.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName {
    /// Lower-case A-label form, no trailing dot. The lookup key.
    ascii: Box<str>,
    /// U-label form for display; equal to `ascii` for a pure LDH name.
    unicode: Box<str>,
}

/// Why a string is not a usable domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing left after trimming.
    #[error("the name is empty")]
    Empty,
    /// IDNA processing refused the name.
    #[error("not a valid domain name under IDNA 2008 (UTS #46, STD3 rules)")]
    Invalid,
    /// A single label such as a bare TLD.
    #[error("a domain name needs at least two labels")]
    TooFewLabels,
}

/// Longest input we even try to process: a DNS name is at most 253 octets in A-label form, and a
/// U-label is never longer in UTF-8 than 4 bytes per code point of the A-label. Anything longer is
/// refused before IDNA runs, so an attacker cannot make us normalise megabytes.
const MAX_INPUT_LEN: usize = 1024;

impl DomainName {
    /// Normalise a name as a client or a data file wrote it: surrounding white space and one
    /// trailing dot are ignored, case is folded, U-labels become A-labels.
    ///
    /// # Errors
    /// [`NameError`] when the name is empty, too long, not valid IDNA 2008 or a single label.
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let trimmed = input.trim();
        let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
        if trimmed.is_empty() {
            return Err(NameError::Empty);
        }
        if trimmed.len() > MAX_INPUT_LEN {
            return Err(NameError::Invalid);
        }
        let ascii = idna::domain_to_ascii_strict(trimmed).map_err(|_| NameError::Invalid)?;
        if ascii.is_empty() || ascii.ends_with('.') {
            return Err(NameError::Invalid);
        }
        if !ascii.contains('.') {
            return Err(NameError::TooFewLabels);
        }
        let (unicode, result) = idna::domain_to_unicode(&ascii);
        if result.is_err() {
            return Err(NameError::Invalid);
        }
        Ok(Self {
            ascii: ascii.into_boxed_str(),
            unicode: unicode.into_boxed_str(),
        })
    }

    /// The lower-case A-label form (`ldhName`).
    pub fn ascii(&self) -> &str {
        &self.ascii
    }

    /// The U-label form (`unicodeName`); the same as [`Self::ascii`] for a pure LDH name.
    pub fn unicode(&self) -> &str {
        &self.unicode
    }

    /// Whether the name holds at least one IDN label.
    pub fn is_idn(&self) -> bool {
        self.ascii != self.unicode
    }

    /// The top-level label (A-label form).
    pub fn tld(&self) -> &str {
        self.ascii.rsplit('.').next().unwrap_or(&self.ascii)
    }

    /// Whether this name is `zone` or lies below it.
    pub fn is_within(&self, zone: &str) -> bool {
        let name = self.ascii();
        name == zone
            || (name.len() > zone.len()
                && name.ends_with(zone)
                && name.as_bytes()[name.len() - zone.len() - 1] == b'.')
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ascii)
    }
}

impl fmt::Debug for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DomainName({})", self.ascii)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_trailing_dot_and_whitespace_are_folded() {
        let name = DomainName::parse("  ExAmPle.EXAMPLE. ").expect("valid");
        assert_eq!(name.ascii(), "example.example");
        assert!(!name.is_idn());
    }

    #[test]
    fn u_label_and_a_label_meet_in_one_key() {
        let u = DomainName::parse("CAFÉ.example").expect("valid");
        let a = DomainName::parse("xn--caf-dma.example").expect("valid");
        assert_eq!(u, a);
        assert_eq!(u.ascii(), "xn--caf-dma.example");
        assert_eq!(u.unicode(), "café.example");
        assert!(u.is_idn());
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in [
            "",
            ".",
            "example",
            "-bad.example",
            "bad-.example",
            "a b.example",
            "ab--cd.example",
            "xn--zz.example",
            "a..example",
            "under_score.example",
        ] {
            assert!(DomainName::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let long = format!("{}.example", "a".repeat(64));
        assert!(DomainName::parse(&long).is_err());
        let huge = "a.".repeat(5000);
        assert!(DomainName::parse(&huge).is_err());
    }

    #[test]
    fn zone_membership_respects_label_boundaries() {
        let name = DomainName::parse("ns1.foo.example").expect("valid");
        assert!(name.is_within("example"));
        assert!(name.is_within("foo.example"));
        assert!(!name.is_within("oo.example"));
        assert_eq!(name.tld(), "example");
    }
}
