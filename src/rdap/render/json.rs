//! The JSON byte writer: members written in wire order into one buffer, strings escaped as
//! serde_json escapes them, constants ([`Lit`]) checked when the crate compiles.

/// JSON text written value by value into one buffer, compact and escaped exactly as
/// serde_json writes it.
///
/// Separators are implicit: `comma` says whether the next key or value follows a sibling.
/// Opening a container clears it and closing one sets it, so no stack is needed.
#[derive(Debug, Default)]
pub(super) struct Json {
    pub(super) out: Vec<u8>,
    pub(super) comma: bool,
}

impl Json {
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self {
            out: Vec::with_capacity(capacity),
            comma: false,
        }
    }

    // The structural writers are called from hundreds of places, mostly with constant names:
    // inlined, a key or a bracket is a few stores instead of calls (a third of the rendering
    // time of a domain answer when they were calls).
    #[inline(always)]
    pub(super) fn separate(&mut self) {
        if self.comma {
            self.out.push(b',');
        }
    }

    #[inline(always)]
    pub(super) fn begin_object(&mut self) {
        self.separate();
        self.out.push(b'{');
        self.comma = false;
    }

    #[inline(always)]
    pub(super) fn end_object(&mut self) {
        self.out.push(b'}');
        self.comma = true;
    }

    #[inline(always)]
    pub(super) fn begin_array(&mut self) {
        self.separate();
        self.out.push(b'[');
        self.comma = false;
    }

    #[inline(always)]
    pub(super) fn end_array(&mut self) {
        self.out.push(b']');
        self.comma = true;
    }

    /// A value this module already wrote as JSON text.
    pub(super) fn raw(&mut self, json: &[u8]) {
        self.separate();
        self.out.extend_from_slice(json);
        self.comma = true;
    }

    /// `{}`, the empty parameter object of a jCard property.
    pub(super) fn empty_object(&mut self) {
        self.separate();
        self.out.extend_from_slice(b"{}");
        self.comma = true;
    }

    /// A member name. Names are this module's ASCII constants, which need no escaping.
    #[inline(always)]
    pub(super) fn key(&mut self, name: &'static str) {
        debug_assert!(!name.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20));
        self.separate();
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.comma = false;
    }

    /// A string value.
    pub(super) fn string(&mut self, s: &str) {
        self.text(&[s]);
    }

    /// One string value joined from pieces (a URL from its base and a name, a message around
    /// its arguments), escaped piece by piece, which escapes the whole: JSON escapes characters
    /// one by one, never across a boundary.
    pub(super) fn text(&mut self, pieces: &[&str]) {
        self.separate();
        self.out.push(b'"');
        for p in pieces {
            escape_into(&mut self.out, p);
        }
        self.out.push(b'"');
        self.comma = true;
    }

    /// A string constant, written as is: a third of an answer's strings are constants, and
    /// scanning them for escapes was wasted work.
    #[inline(always)]
    pub(super) fn lit(&mut self, s: Lit) {
        self.separate();
        self.out.push(b'"');
        self.out.extend_from_slice(s.0.as_bytes());
        self.out.push(b'"');
        self.comma = true;
    }

    /// `"name":"value"` with a constant value.
    #[inline(always)]
    pub(super) fn member_lit(&mut self, name: &'static str, value: Lit) {
        self.key(name);
        self.lit(value);
    }

    /// `"name":"value"`.
    pub(super) fn member(&mut self, name: &'static str, value: &str) {
        self.key(name);
        self.string(value);
    }

    pub(super) fn uint(&mut self, n: u64) {
        self.separate();
        self.out
            .extend_from_slice(decimal(n, &mut [0; 20]).as_bytes());
        self.comma = true;
    }

    pub(super) fn bool(&mut self, b: bool) {
        self.separate();
        self.out
            .extend_from_slice(if b { b"true" } else { b"false" });
        self.comma = true;
    }

    /// A string value written by `Display` (IP addresses: digits, hex, `.` and `:`, nothing
    /// JSON escapes), without a `String` in between.
    pub(super) fn display(&mut self, v: &dyn std::fmt::Display) {
        use std::io::Write as _;
        self.separate();
        self.out.push(b'"');
        // Writing into a Vec cannot fail.
        let _ = write!(self.out, "{v}");
        self.out.push(b'"');
        self.comma = true;
    }
}

/// A string constant that JSON needs no escaping for: made only by [`lit!`], which checks it
/// when the crate is compiled.
#[derive(Debug, Clone, Copy)]
pub(super) struct Lit(pub(super) &'static str);

/// Whether `s` holds a byte JSON escapes inside a string (see [`ESCAPED`]).
pub(super) const fn needs_escape(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] < 0x20 || b[i] == b'"' || b[i] == b'\\' {
            return true;
        }
        i += 1;
    }
    false
}

/// The bytes JSON must escape inside a string: `"`, `\` and the C0 controls. A table lookup
/// per byte keeps the scan of text that needs no escaping (nearly all of it) branch-light.
pub(super) static ESCAPED: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// `s` escaped as the inside of a JSON string, as serde_json escapes it: `"`, `\` and control
/// characters only (short forms where JSON has them, else `\u00XX` in lower-case hex); all else,
/// DEL and non-ASCII included, as is.
pub(super) fn escape_into(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut start = 0;
    while let Some(skip) = first_escaped(&bytes[start..]) {
        let at = start + skip;
        out.extend_from_slice(&bytes[start..at]);
        let b = bytes[at];
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x0c => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            _ => b'u',
        };
        out.push(b'\\');
        out.push(short);
        if short == b'u' {
            out.extend_from_slice(&[
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
        }
        start = at + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Where the first byte JSON escapes is. Eight bytes at a time while none is (SWAR: a byte below
/// 0x20, or equal to `"` or `\\`, in a little-endian word), then byte by byte.
pub(super) fn first_escaped(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Exact as a yes/no answer for the whole word (not for which byte).
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH != 0;
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let w = u64::from_le_bytes(word);
        if below(w, 0x20)
            || below(w ^ (ONES * u64::from(b'"')), 1)
            || below(w ^ (ONES * u64::from(b'\\')), 1)
        {
            break;
        }
        i += 8;
    }
    bytes[i..]
        .iter()
        .position(|&b| ESCAPED[usize::from(b)])
        .map(|p| i + p)
}

/// `n` in decimal, in `buf`.
pub(super) fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[at..]).unwrap_or("0")
}
