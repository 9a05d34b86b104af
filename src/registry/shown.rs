//! A value shown to an operator's terminal (`check --show-values`): every character that could
//! forge or reorder terminal lines (controls, line separators, bidi overrides: the loader's
//! forbidden characters) written as `\u{XXXX}`, the rest as it is. One function, because it is
//! what stands between a registrant's input and the operator's screen.

use std::fmt;

/// `value` with forbidden characters escaped, for display.
pub fn escaped(value: &str) -> Escaped<'_> {
    Escaped(value)
}

/// See [`escaped`].
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if super::validate::forbidden_char(c) {
                write!(f, "\\u{{{:04X}}}", u32::from(c))?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_separators_and_bidi_are_escaped_the_rest_kept() {
        let shown = escaped("a\u{1b}[2J\nb\u{2028}c\u{202e}d é").to_string();
        assert_eq!(shown, "a\\u{001B}[2J\\u{000A}b\\u{2028}c\\u{202E}d é");
    }
}
