//! Pure rendering of port 43 answers in the gTLD key/value format (Registry Agreement
//! Specification 4 with the RDDS Consistent Labeling and Display Policy), from the same policy
//! views RDAP renders. CRLF line endings, UTF-8.
//!
//! How a withheld field reads:
//! - every withheld field prints `REDACTED FOR PRIVACY`, whether RDAP empties it (name, street,
//!   city, postal code) or removes it (organisation, phones, faxes, extensions, handles), as
//!   registries have printed since the 2018 Temporary Specification;
//! - a withheld e-mail prints the registry convention pointing at the registrar of record
//!   ([`EMAIL_REDACTED`]);
//! - a field that is public but empty (a registrant without state/province) prints the label with
//!   no value;
//! - the tech contact's organisation, address and fax are not Specification 4 fields since the
//!   Registration Data Policy: their lines appear only when the policy shows them (so WHOIS and
//!   RDAP still publish the same fields).

use std::fmt::Write;

use crate::policy::{ContactView, DomainView, Field, HostView, RegistrarView, ViewRole};
use crate::registry::{Phone, PhoneRef, Timestamp};

use super::parse::WhoisRefusal;

/// The value printed for a withheld field.
pub const REDACTED: &str = "REDACTED FOR PRIVACY";

/// The value printed for a withheld e-mail address.
pub const EMAIL_REDACTED: &str = "Please query the RDDS service of the Registrar of Record identified in this output for information on how to contact the Registrant, Admin, or Tech contact of the queried domain name.";

/// The fixed first line of a not-found answer.
pub const NOT_FOUND: &str = "NOT FOUND";

/// Service-wide values for rendering.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// When the data was last updated.
    pub db_updated: &'a Timestamp,
    /// Terms of service URL.
    pub terms_url: &'a str,
}

/// A text answer under construction, written piece by piece into one buffer (no string per
/// line or label).
struct Out(String);

impl Out {
    fn new() -> Self {
        // The longest answers of the demo registry (IDN domains) are about 2.3 KiB.
        Self(String::with_capacity(3072))
    }

    /// `text` made safe ([`Safe`]). Printable ASCII, nearly all text, is copied as is.
    fn safe(&mut self, text: &str) {
        if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            self.0.push_str(text);
        } else {
            // Writing to a String cannot fail.
            let _ = write!(self.0, "{}", Safe(text));
        }
    }

    fn line(&mut self, key: &str, value: &str) {
        self.line_parts(&[key], &[value]);
    }

    /// A line whose label and value are joined from pieces.
    fn line_parts(&mut self, key: &[&str], value: &[&str]) {
        key.iter().for_each(|k| self.safe(k));
        self.0.push_str(": ");
        value.iter().for_each(|v| self.safe(v));
        self.0.push_str("\r\n");
    }

    /// A line whose value is written by `Display`: numbers and addresses, which hold nothing
    /// [`Safe`] would change, or values wrapped in it.
    fn line_display(&mut self, key: &str, value: &dyn std::fmt::Display) {
        self.safe(key);
        let _ = write!(self.0, ": {value}\r\n");
    }

    fn raw(&mut self, text: &str) {
        self.raw_parts(&[text]);
    }

    fn raw_parts(&mut self, text: &[&str]) {
        text.iter().for_each(|t| self.safe(t));
        self.0.push_str("\r\n");
    }

    /// A phone number line, then its extension line when there is an extension.
    fn number(&mut self, key: &str, ext_key: &str, phone: Option<&Phone>) {
        self.line(key, phone.map_or("", |p| p.number.as_str()));
        if let Some(ext) = phone.and_then(|p| p.ext.as_deref()) {
            self.line(ext_key, ext);
        }
    }

    fn field(&mut self, key: &[&str], f: Field<&str>) {
        match f {
            Field::Shown(v) => self.line_parts(key, &[v]),
            Field::Withheld => self.line_parts(key, &[REDACTED]),
            Field::Absent => self.line_parts(key, &[]),
        }
    }

    /// A line that exists only when its value is shown.
    fn shown(&mut self, key: &[&str], f: Field<&str>) {
        if let Field::Shown(v) = f {
            self.line_parts(key, &[v]);
        }
    }

    fn phone(&mut self, key: &[&str], ext_key: &[&str], f: Field<PhoneRef<'_>>, always: bool) {
        match f {
            Field::Shown(p) => {
                self.line_parts(key, &[p.number]);
                self.line_parts(ext_key, &[p.ext.unwrap_or("")]);
            }
            _ if always => {
                self.line_parts(key, &[REDACTED]);
                self.line_parts(ext_key, &[REDACTED]);
            }
            _ => {}
        }
    }

    fn footer(mut self, ctx: &Context<'_>, wicf: bool) -> String {
        if wicf {
            self.line(
                "URL of the ICANN Whois Inaccuracy Complaint Form",
                "https://www.icann.org/wicf/",
            );
        }
        self.raw_parts(&[
            ">>> Last update of WHOIS database: ",
            ctx.db_updated.text().as_str(),
            " <<<",
        ]);
        self.raw("");
        self.raw("For more information on Whois status codes, please visit https://icann.org/epp");
        self.raw("");
        self.raw_parts(&["Terms of Use: the data in this record is provided for information purposes only. It may not be used to collect registration data in bulk, or for marketing or any other unlawful purpose. Full terms: ", ctx.terms_url]);
        self.0
    }
}

/// Whether a character could forge a line or reorder text on a client's terminal: C0/C1
/// controls (CR and LF above all, and TAB, which is not part of any value), the Unicode line
/// and paragraph separators, and the bidirectional formatting characters. The same set the
/// loader refuses ([`crate::registry::validate::forbidden_char`]): one definition, two fences.
pub fn is_unsafe(c: char) -> bool {
    crate::registry::validate::forbidden_char(c)
}

/// Text written with every unsafe character as `\u{XXXX}`. The loader refuses such data; this
/// is the second fence, so a value that bypassed the loader still cannot start a line of its
/// own or turn the lines around it.
pub struct Safe<'a>(pub &'a str);

impl std::fmt::Display for Safe<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(is_unsafe) {
            f.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or_default();
            write!(f, "\\u{{{:04X}}}", u32::from(c))?;
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

fn contact(out: &mut Out, prefix: &str, c: &ContactView<'_>) {
    // The registrant block is the full Specification 4 set, withheld lines included. The tech
    // block prints name, phone and e-mail always, and organisation, address and fax only when
    // shown (they are not tech fields under the Registration Data Policy).
    let full = matches!(c.role(), ViewRole::Registrant);
    let id_label = if full {
        "Registry Registrant ID"
    } else {
        "Registry Tech ID"
    };
    let key = |field: &'static str| [prefix, " ", field];
    out.field(&[id_label], c.handle());
    out.field(&key("Name"), c.name());
    let optional = |out: &mut Out, label: &'static str, f: Field<&str>| {
        if full {
            out.field(&key(label), f);
        } else {
            out.shown(&key(label), f);
        }
    };
    optional(out, "Organization", c.org());
    match c.street() {
        Field::Shown(lines) => lines
            .iter()
            .for_each(|l| out.line_parts(&key("Street"), &[l])),
        Field::Withheld if full => out.line_parts(&key("Street"), &[REDACTED]),
        Field::Absent if full => out.line_parts(&key("Street"), &[]),
        _ => {}
    }
    optional(out, "City", c.city());
    optional(out, "State/Province", c.sp());
    optional(out, "Postal Code", c.pc());
    optional(out, "Country", c.cc());
    out.phone(&key("Phone"), &key("Phone Ext"), c.voice(), true);
    out.phone(&key("Fax"), &key("Fax Ext"), c.fax(), full);
    match c.email() {
        Field::Shown(e) => out.line_parts(&key("Email"), &[e]),
        _ => out.line_parts(&key("Email"), &[EMAIL_REDACTED]),
    }
}

/// A domain answer.
pub fn domain(view: &DomainView<'_>, ctx: &Context<'_>) -> String {
    let r = view.registrar();
    let mut out = Out::new();
    out.line("Domain Name", view.name().ascii());
    if view.name().is_idn() {
        out.line("Internationalized Domain Name", view.name().unicode());
    }
    out.field(&["Registry Domain ID"], view.handle());
    out.line(
        "Registrar WHOIS Server",
        r.whois_server.as_deref().unwrap_or(""),
    );
    out.line("Registrar URL", r.url.as_deref().unwrap_or(""));
    let updated = view.updated().map(Timestamp::text);
    out.line("Updated Date", updated.as_deref().unwrap_or(""));
    out.line("Creation Date", view.created().text().as_str());
    out.line("Registry Expiry Date", view.expires().text().as_str());
    out.line("Registrar", &r.name);
    out.line_display("Registrar IANA ID", &r.iana_id);
    out.line("Registrar Abuse Contact Email", &r.abuse_email);
    out.number(
        "Registrar Abuse Contact Phone",
        "Registrar Abuse Contact Phone Ext",
        Some(&r.abuse_phone),
    );
    for s in view.statuses() {
        out.line_parts(
            &["Domain Status"],
            &[s.epp(), " https://icann.org/epp#", s.epp()],
        );
    }
    if let Some(c) = view.registrant() {
        contact(&mut out, "Registrant", c);
    }
    if let Some(c) = view.technical() {
        contact(&mut out, "Tech", c);
    }
    for ns in view.nameservers() {
        out.line("Name Server", ns.name.ascii());
    }
    // The Consistent Labeling and Display Policy prints the label with no value when a domain
    // has no name servers.
    if view.nameservers().is_empty() {
        out.line("Name Server", "");
    }
    if view.ds().is_empty() {
        out.line("DNSSEC", "unsigned");
    } else {
        out.line("DNSSEC", "signedDelegation");
        for ds in view.ds() {
            // Numbers need no making safe; the digest is made safe like any value.
            out.line_display(
                "DNSSEC DS Data",
                &format_args!(
                    "{} {} {} {}",
                    ds.key_tag,
                    ds.algorithm,
                    ds.digest_type,
                    Safe(&ds.digest)
                ),
            );
        }
    }
    out.footer(ctx, true)
}

/// A nameserver answer: one block per host (several when an address is shared).
pub fn nameservers(views: &[HostView<'_>], ctx: &Context<'_>) -> String {
    let mut out = Out::new();
    for (i, v) in views.iter().enumerate() {
        if i > 0 {
            out.raw("");
        }
        let h = v.host();
        out.line("Server Name", h.name.ascii());
        if h.name.is_idn() {
            out.line("Internationalized Server Name", h.name.unicode());
        }
        for ip in &h.addresses {
            out.line_display("IP Address", ip);
        }
        if let Some(r) = v.registrar() {
            out.line("Registrar", &r.name);
            out.line(
                "Registrar WHOIS Server",
                r.whois_server.as_deref().unwrap_or(""),
            );
            out.line("Registrar URL", r.url.as_deref().unwrap_or(""));
        }
    }
    out.footer(ctx, false)
}

/// A registrar answer.
pub fn registrar(view: &RegistrarView<'_>, ctx: &Context<'_>) -> String {
    let r = view.registrar();
    let mut out = Out::new();
    // Specification 4 labels the registrar record's name `Registrar Name` (domain and
    // nameserver records say `Registrar`).
    out.line("Registrar Name", &r.name);
    out.line_display("Registrar IANA ID", &r.iana_id);
    for s in &r.address.street {
        out.line("Street", s);
    }
    out.line("City", &r.address.city);
    out.line("State/Province", r.address.sp.as_deref().unwrap_or(""));
    out.line("Postal Code", r.address.pc.as_deref().unwrap_or(""));
    out.line("Country", &r.address.cc);
    out.number("Phone Number", "Phone Ext", r.voice.as_ref());
    out.number("Fax Number", "Fax Ext", r.fax.as_ref());
    out.line("Email", r.email.as_deref().unwrap_or(""));
    out.line(
        "Registrar WHOIS Server",
        r.whois_server.as_deref().unwrap_or(""),
    );
    out.line("Registrar URL", r.url.as_deref().unwrap_or(""));
    out.line("Registrar Abuse Contact Email", &r.abuse_email);
    out.number(
        "Registrar Abuse Contact Phone",
        "Registrar Abuse Contact Phone Ext",
        Some(&r.abuse_phone),
    );
    out.footer(ctx, false)
}

/// The not-found answer: a fixed line, then the footer. The query is never echoed.
pub fn not_found(ctx: &Context<'_>) -> String {
    let mut out = Out::new();
    out.raw(NOT_FOUND);
    out.footer(ctx, false)
}

/// The `help` answer.
pub fn help(ctx: &Context<'_>) -> String {
    let mut out = Out::new();
    for l in [
        "Queries (one per connection, ended by CR LF, at most 1024 bytes, UTF-8):",
        "  <domain>                    domain lookup, A-label or U-label",
        "  domain <domain>             the same",
        "  nameserver <host name>      nameserver lookup",
        "  nameserver <IP address>     nameservers with this address",
        "  registrar <IANA ID>         registrar lookup",
        "  registrar <name>            registrar lookup by name (any case, A- or U-labels)",
        "  help                        this text",
        "Keywords are case-insensitive; a trailing dot is ignored.",
        "Personal data is redacted according to the ICANN Registration Data Policy.",
        "",
    ] {
        out.raw(l);
    }
    out.footer(ctx, false)
}

/// The single `%ERROR` line for each refusal (RIPE-style codes, widely parsed by clients).
pub fn error_line(refusal: WhoisRefusal) -> &'static str {
    match refusal {
        WhoisRefusal::Empty => {
            "%ERROR:101: no query; send a domain name or 'help' followed by CR LF\r\n"
        }
        WhoisRefusal::TooLong => "%ERROR:102: query longer than 1024 bytes\r\n",
        WhoisRefusal::Garbage => "%ERROR:103: query is not a line of UTF-8 text\r\n",
        WhoisRefusal::Timeout => "%ERROR:104: no complete query line received in time\r\n",
        WhoisRefusal::Malformed => {
            "%ERROR:105: malformed query; send 'help' for the query forms\r\n"
        }
        WhoisRefusal::InvalidName => "%ERROR:106: not a valid domain or host name (IDNA 2008)\r\n",
    }
}

/// Sent when the connection caps are reached.
pub const BUSY_LINE: &str = "%ERROR:208: too many simultaneous connections from your network or in total; retry in a few seconds\r\n";

/// The line for a query whose registration data cannot be read now (the database is
/// unreachable or too slow): nothing else is answered.
pub const UNAVAILABLE_LINE: &str =
    "%ERROR:209: the registration data cannot be read at the moment; retry in a few seconds\r\n";

/// The line for a query whose records break the data rules (logged for the registry).
pub const BAD_DATA_LINE: &str =
    "%ERROR:210: the registry's data for this object could not be read; the registry has been notified\r\n";

/// The line for a client refused by the harvesting defence (RIPE's `%ERROR:201`, which client
/// libraries recognise), saying why and when to retry.
pub fn denied_line(refusal: &crate::limit::Denial) -> String {
    use crate::limit::Reason;
    let why = match refusal.reason {
        Reason::Denylisted => "access from your network is denied by the registry",
        Reason::Rate => "query rate limit exceeded for your network (shared with RDAP)",
        Reason::Quota | Reason::Blocked => "daily query quota exhausted for your network (shared with RDAP); access is temporarily blocked",
    };
    match refusal.retry_after_secs() {
        Some(s) => format!("%ERROR:201: access denied: {why}; retry after {s} seconds\r\n"),
        None => format!("%ERROR:201: access denied: {why}\r\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(value: &str) -> String {
        let mut out = Out::new();
        out.line("Registrant Name", value);
        out.0
    }

    #[test]
    fn values_cannot_forge_lines_or_reorder_text() {
        for (value, want) in [
            (
                "a\r\nRegistrant Email: x",
                "a\\u{000D}\\u{000A}Registrant Email: x",
            ),
            ("a\nb", "a\\u{000A}b"),
            ("a\rb", "a\\u{000D}b"),
            ("tab\there", "tab\\u{0009}here"),
            ("nul\0", "nul\\u{0000}"),
            ("del\u{7f}", "del\\u{007F}"),
            ("c1\u{85}next", "c1\\u{0085}next"),
            ("ls\u{2028}ps\u{2029}", "ls\\u{2028}ps\\u{2029}"),
            ("\u{202E}evil", "\\u{202E}evil"),
            ("\u{061C}\u{200E}\u{200F}", "\\u{061C}\\u{200E}\\u{200F}"),
            (
                "\u{202A}\u{202B}\u{202C}\u{202D}",
                "\\u{202A}\\u{202B}\\u{202C}\\u{202D}",
            ),
            (
                "\u{2066}\u{2067}\u{2068}\u{2069}",
                "\\u{2066}\\u{2067}\\u{2068}\\u{2069}",
            ),
        ] {
            assert_eq!(
                rendered(value),
                format!("Registrant Name: {want}\r\n"),
                "{value:?}"
            );
        }
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for value in [
            "Café Müller",
            "北京",
            "שלום",
            "O'Brien & Söhne",
            "",
            "\\u{000A}",
        ] {
            assert_eq!(rendered(value), format!("Registrant Name: {value}\r\n"));
        }
        // Zero-width joiners and other format characters that cannot break or reorder lines
        // (needed in some scripts) are left alone.
        assert_eq!(rendered("\u{200D}"), "Registrant Name: \u{200D}\r\n");
    }

    proptest::proptest! {
        /// Whatever a value holds, the rendered line is exactly one line with no unsafe
        /// character left in it.
        #[test]
        fn one_value_is_one_line(value in "\\PC*|[\\x00-\\x1f\\u{85}\\u{2028}\\u{2029}\\u{202a}-\\u{202e}\\u{2066}-\\u{2069}a-z]{0,40}") {
            let line = rendered(&value);
            let body = line.strip_suffix("\r\n").unwrap_or_default();
            proptest::prop_assert!(!body.chars().any(is_unsafe), "{:?}", line);
        }
    }
}
