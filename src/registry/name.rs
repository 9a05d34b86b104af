//! Domain and host names, normalised once into a type.
//!
//! Every name that enters rddsd (a data file, an RDAP path, a WHOIS line) goes through
//! [`DomainName::parse`], so lookups, indexes and renderers never re-normalise. The stored key is
//! the lower-case A-label form without a trailing dot; the U-label form is derived once for
//! display (`unicodeName`, WHOIS IDN lines).
//!
//! Validation is UTS #46 non-transitional processing with STD3 rules, hyphen checks and DNS length
//! checks (`idna::domain_to_ascii_strict`): the IDNA 2008 compatible profile that browsers and
//! registries use. UTS #46 is more permissive than IDNA 2008 itself (it lets symbols and emoji
//! such as `💩.example` through), so every U-label is then checked code point by code point against
//! the RFC 5892 derivation (see `idna2008_code_point`). On top of it we require at least two
//! labels, as the gTLD profile does (RDAP TIG §1.10).

use std::fmt;
use std::sync::Arc;

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
///
/// Cheap to clone (reference-counted text), so the loader keeps one copy of each nameserver
/// name however many domains delegate to it, and the store's index keys share the same text.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName {
    /// Lower-case A-label form, no trailing dot. The lookup key.
    ascii: Arc<str>,
    /// U-label form for display, only for a name with an IDN label (most names are pure LDH,
    /// whose U-label form is the A-label form).
    unicode: Option<Arc<str>>,
}

/// Why a string is not a usable domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing left after trimming.
    #[error("the name is empty")]
    Empty,
    /// IDNA processing refused the name, or one of its code points is not PVALID, CONTEXTJ or
    /// CONTEXTO under IDNA 2008 (symbols, emoji, punctuation).
    #[error("not a valid domain name under IDNA 2008 (RFC 5892 code points: no symbols, emoji or punctuation; UTS #46, STD3 rules, DNS lengths)")]
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
        if !unicode.split('.').all(idna2008_label) {
            return Err(NameError::Invalid);
        }
        let unicode = (unicode != ascii).then(|| Arc::from(unicode));
        Ok(Self {
            ascii: ascii.into(),
            unicode,
        })
    }

    /// The lower-case A-label form (`ldhName`).
    pub fn ascii(&self) -> &str {
        &self.ascii
    }

    /// The A-label form as shared text, for index keys that must not copy it.
    pub fn ascii_shared(&self) -> &Arc<str> {
        &self.ascii
    }

    /// The U-label form (`unicodeName`); the same as [`Self::ascii`] for a pure LDH name.
    pub fn unicode(&self) -> &str {
        self.unicode.as_deref().unwrap_or(&self.ascii)
    }

    /// Whether the name holds at least one IDN label.
    pub fn is_idn(&self) -> bool {
        self.unicode.is_some()
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

/// Whether every code point of a U-label (already mapped by UTS #46: lower case, NFC) is PVALID,
/// CONTEXTJ or CONTEXTO under RFC 5892 §2, with the CONTEXTO rules of RFC 5892 Appendix A
/// checked. CONTEXTJ (ZWJ/ZWNJ) rules are already enforced by UTS #46 `CheckJoiners`.
fn idna2008_label(label: &str) -> bool {
    if label.is_ascii() {
        // LDH labels were checked by the STD3 rules.
        return true;
    }
    let chars: Vec<char> = label.chars().collect();
    chars
        .iter()
        .enumerate()
        .all(|(i, &c)| match idna2008_code_point(c) {
            Idna2008::Pvalid | Idna2008::ContextJ => true,
            Idna2008::ContextO => context_o(&chars, i),
            Idna2008::Disallowed => false,
        })
}

/// The RFC 5892 derived property of a code point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Idna2008 {
    Pvalid,
    ContextJ,
    ContextO,
    Disallowed,
}

/// RFC 5892 §3 derivation, in its order: Exceptions, (BackwardCompatible is empty), Unassigned,
/// LDH, JoinControl, (Unstable is ruled out by the UTS #46 mapping that ran before),
/// IgnorableProperties, IgnorableBlocks, OldHangulJamo, LetterDigits, else DISALLOWED.
fn idna2008_code_point(c: char) -> Idna2008 {
    use icu_properties::props::{
        DefaultIgnorableCodePoint, GeneralCategory as Gc, NoncharacterCodePoint, WhiteSpace,
    };
    use icu_properties::{CodePointMapData, CodePointSetData};
    let cp = u32::from(c);
    // §2.6 Exceptions (F).
    match cp {
        0x00DF | 0x03C2 | 0x06FD | 0x06FE | 0x0F0B | 0x3007 => return Idna2008::Pvalid,
        0x00B7 | 0x0375 | 0x05F3 | 0x05F4 | 0x30FB => return Idna2008::ContextO,
        0x0660..=0x0669 | 0x06F0..=0x06F9 => return Idna2008::ContextO,
        0x0640 | 0x07FA | 0x302E | 0x302F | 0x3031..=0x3035 | 0x303B => {
            return Idna2008::Disallowed
        }
        _ => {}
    }
    let gc = CodePointMapData::<Gc>::new().get(c);
    if gc == Gc::Unassigned {
        return Idna2008::Disallowed;
    }
    if c.is_ascii() {
        return if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            Idna2008::Pvalid
        } else {
            Idna2008::Disallowed
        };
    }
    if cp == 0x200C || cp == 0x200D {
        return Idna2008::ContextJ;
    }
    if CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
        || CodePointSetData::new::<WhiteSpace>().contains(c)
        || CodePointSetData::new::<NoncharacterCodePoint>().contains(c)
    {
        return Idna2008::Disallowed;
    }
    // IgnorableBlocks: Combining Diacritical Marks for Symbols, Musical Symbols, Ancient Greek
    // Musical Notation. OldHangulJamo: conjoining jamo (precomposed syllables are PVALID).
    if matches!(cp, 0x20D0..=0x20FF | 0x1D100..=0x1D1FF | 0x1D200..=0x1D24F)
        || matches!(cp, 0x1100..=0x11FF | 0xA960..=0xA97F | 0xD7B0..=0xD7FF)
    {
        return Idna2008::Disallowed;
    }
    match gc {
        Gc::LowercaseLetter
        | Gc::UppercaseLetter
        | Gc::OtherLetter
        | Gc::DecimalNumber
        | Gc::ModifierLetter
        | Gc::NonspacingMark
        | Gc::SpacingMark => Idna2008::Pvalid,
        _ => Idna2008::Disallowed,
    }
}

/// The CONTEXTO rules of RFC 5892 Appendix A.3 to A.9 for the code point at `i`.
fn context_o(label: &[char], i: usize) -> bool {
    use icu_properties::props::Script;
    use icu_properties::CodePointMapData;
    let script = |c: char| CodePointMapData::<Script>::new().get(c);
    let before = i.checked_sub(1).map(|j| label[j]);
    let after = label.get(i + 1).copied();
    match label[i] {
        // A.3 MIDDLE DOT: only between two 'l' (Catalan l·l).
        '\u{00B7}' => before == Some('l') && after == Some('l'),
        // A.4 GREEK LOWER NUMERAL SIGN: followed by a Greek character.
        '\u{0375}' => after.is_some_and(|c| script(c) == Script::Greek),
        // A.5, A.6 HEBREW GERESH / GERSHAYIM: preceded by a Hebrew character.
        '\u{05F3}' | '\u{05F4}' => before.is_some_and(|c| script(c) == Script::Hebrew),
        // A.7 KATAKANA MIDDLE DOT: the label holds Hiragana, Katakana or Han.
        '\u{30FB}' => label.iter().any(|&c| {
            c != '\u{30FB}'
                && matches!(script(c), Script::Hiragana | Script::Katakana | Script::Han)
        }),
        // A.8 ARABIC-INDIC DIGITS: not mixed with extended Arabic-Indic digits.
        '\u{0660}'..='\u{0669}' => !label.iter().any(|c| matches!(c, '\u{06F0}'..='\u{06F9}')),
        // A.9 EXTENDED ARABIC-INDIC DIGITS: not mixed with Arabic-Indic digits.
        '\u{06F0}'..='\u{06F9}' => !label.iter().any(|c| matches!(c, '\u{0660}'..='\u{0669}')),
        _ => false,
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
            // Emoji and symbols pass UTS #46 but IDNA 2008 disallows them.
            "💩.example",
            "xn--ls8h.example",
            "a☃b.example",
            "€uro.example",
            "i♥ny.example",
            // Bidi and other controls are refused by UTS #46 already.
            "a\u{202E}b.example",
            "a\u{2028}b.example",
            // CONTEXTO without its context.
            "a\u{00B7}b.example",
        ] {
            assert!(DomainName::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let long = format!("{}.example", "a".repeat(64));
        assert!(DomainName::parse(&long).is_err());
        let huge = "a.".repeat(5000);
        assert!(DomainName::parse(&huge).is_err());
    }

    #[test]
    fn idna2008_letters_and_contexto_are_accepted() {
        for good in [
            "müller.example",
            "straße.example",
            "日本語.example",
            "한국.example",
            "ελληνικά.example",
            "مثال.example",
            "col\u{00B7}lecció.example",
            "ア\u{30FB}イ.example",
        ] {
            assert!(
                DomainName::parse(good).is_ok(),
                "{good:?} should be accepted"
            );
        }
        assert_eq!(DomainName::parse("💩.example"), Err(NameError::Invalid));
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
