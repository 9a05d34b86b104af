//! Pure rendering: redacted views to RDAP JSON (RFC 9083), following the ICANN gTLD RDAP
//! Response Profile (February 2024), with RFC 9537 `redacted` entries derived from the same
//! view that decided what to show.
//!
//! Every function here takes views from [`crate::policy`], never registry records with personal
//! data, so a public response can only contain what the policy cleared.
//!
//! Answers are written as JSON text, member by member in wire order, into one buffer (`Json`):
//! no `serde_json::Value` tree and no string per field, because rendering is most of the cost of
//! an uncached lookup. The bytes are those `serde_json::to_vec` gave for the tree this module
//! used to build (compact, serde_json's escaping), which `fixtures/expected/rdap-render/` pins.

use crate::authority::Grant;
use crate::policy::{ContactView, DomainView, Field, HostView, RegistrarView, ViewRole};
use crate::registry::{DomainName, Host, PhoneRef, Registrar, Timestamp, REGISTRY_AS_REGISTRAR};

/// A [`Lit`] of a string literal; a literal with a character JSON escapes does not compile.
macro_rules! lit {
    ($s:literal) => {
        const {
            assert!(
                !needs_escape($s),
                "this constant needs JSON escaping: use Json::string"
            );
            Lit($s)
        }
    };
}

mod frame;
mod jcard;
mod json;
mod objects;
mod redacted;

use frame::*;
use jcard::*;
use json::*;
pub use objects::{contact, domain, error, help, limited, nameserver, registrar, search_notices};
use redacted::*;

/// The extension identifiers every response carries.
pub const CONFORMANCE: [&str; 3] = [
    "rdap_level_0",
    "icann_rdap_response_profile_1",
    "icann_rdap_technical_implementation_guide_1",
];

/// The federated authentication extension identifier (RFC 9560).
pub const FARV1_EXTENSION: &str = "farv1";

/// What `/help` says of federated authentication (RFC 9560 §4.1), when issuers are configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Farv1 {
    /// The trusted identity providers: `iss` and name.
    pub providers: Vec<(String, String)>,
}

/// The `redacted` extension identifier (RFC 9537).
pub const REDACTED_EXTENSION: &str = "redacted";

/// The reverse search extension identifier (RFC 9536).
pub const REVERSE_SEARCH_EXTENSION: &str = "reverse_search";

/// The sorting and paging extension identifier (RFC 8977): search answers come in pages with a
/// `cursor` (their order is fixed; `sort` is not offered).
pub const PAGING_EXTENSION: &str = "sorting_and_paging";

/// The RFC 9536 properties a reverse search of domains by their contacts takes.
pub const REVERSE_SEARCH_PROPERTIES: [&str; 4] = ["fn", "handle", "email", "role"];

const RDAP_JSON: Lit = lit!("application/rdap+json");

/// What the buffer of a search answer's notices starts with (a few notices, under 4 KiB).
const NOTICES_CAPACITY: usize = 4 * 1024;

/// What a thread's answer buffer starts with, so that typical answers never grow it (a domain
/// of the demo registry is 5–9 KiB), and the most it keeps between answers (one that a rare
/// large answer grew further is let go).
const SCRATCH_CAPACITY: usize = 16 * 1024;
const SCRATCH_KEPT: usize = 64 * 1024;

thread_local! {
    /// The buffer each thread writes its top-level answers in; an answer leaves as an
    /// exact-size copy. A fresh 10 KiB buffer per answer, freed once the answer was written
    /// to the socket, churned the allocator's pages of that size class (its slow path was 3 %
    /// of the server's time under random lookups); the copy is a few hundred nanoseconds, and
    /// a cached answer holds no unused capacity.
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Service-wide values every response needs.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The service's base URL, ending in `/`.
    pub base_url: &'a str,
    /// The WHOIS server host name for `port43`, if the registry runs one.
    pub port43: Option<&'a str>,
    /// Where the terms of service live.
    pub terms_url: &'a str,
    /// When the data was last updated (`last update of RDAP database`).
    pub db_updated: &'a Timestamp,
    /// The URL the client requested, as sent: the `value` (context URI, RFC 8288 / RFC 9083
    /// §4.2) of every notice link and of the `related` link (RP24 §2.6.3, §2.10; TIG24 §3.2).
    /// `None` uses the object's canonical URL. The public path renders a placeholder here
    /// (see `crate::rdap::public_answer`) so one cached body serves every spelling of
    /// a query and each client gets its own URL spliced in.
    pub request_url: Option<&'a str>,
    /// On the authority route: the grant the answer discloses under. Its notice goes last in
    /// `notices`, telling the authority what it received and under which statement.
    pub disclosure: Option<&'a Grant>,
    /// Federated authentication (RFC 9560), when the server trusts identity providers: `/help`
    /// describes it and authority answers list `farv1` in `rdapConformance`.
    pub farv1: Option<&'a Farv1>,
    /// Whether the server offers searches on its authority route: `/help` announces them
    /// (RFC 9536 `reverse_search`, RFC 8977 `sorting_and_paging`).
    pub searches: bool,
}

impl Context<'_> {
    /// The context URI for notice and referral links: the request URL when known, else the
    /// canonical URL of the answered object (given as the pieces it is joined from).
    fn query_url<'s>(&'s self, canonical: &'s [&'s str]) -> &'s [&'s str] {
        self.request_url
            .as_ref()
            .map_or(canonical, std::slice::from_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_constant_check_escapes_what_the_writer_escapes() {
        for b in 0u8..=0x7f {
            let s = char::from(b).to_string();
            assert_eq!(needs_escape(&s), ESCAPED[usize::from(b)], "byte {b:#x}");
        }
        assert!(!needs_escape("é☃ plain"));
    }

    #[test]
    fn every_redaction_entry_is_one_rfc_9537_object_of_its_part() {
        assert!(Part::ALL.iter().enumerate().all(|(i, p)| *p as usize == i));
        assert!(Holder::ALL
            .iter()
            .enumerate()
            .all(|(i, h)| *h as usize == i));
        for holder in Holder::ALL {
            for part in Part::ALL {
                let text = Redaction::Contact(holder, part).json();
                let v: serde_json::Value = serde_json::from_slice(text).expect("one JSON value");
                let (method, path) = part.withheld();
                let (path_key, method) = match method {
                    Method::Removal => ("prePath", "removal"),
                    Method::EmptyValue => ("postPath", "emptyValue"),
                };
                let name = match redaction_name(holder, part) {
                    Name::Registered(t) => serde_json::json!({ "type": t }),
                    Name::Description(d) => serde_json::json!({ "description": d }),
                };
                assert_eq!(
                    v,
                    serde_json::json!({
                        "name": name,
                        path_key: format!("{}{path}", holder.entity_path()),
                        "pathLang": "jsonpath",
                        "method": method,
                        "reason": { "description": "Server policy" },
                    }),
                    "{holder:?} {part:?}"
                );
            }
        }
        let v: serde_json::Value =
            serde_json::from_slice(Redaction::DomainHandle.json()).expect("one JSON value");
        assert_eq!(v["prePath"], "$.handle");
        assert_eq!(v["name"]["type"], "Registry Domain ID");
    }

    #[test]
    fn escaping_is_serde_json_escaping() {
        let mut all: Vec<String> = (0u32..0x800)
            .filter_map(char::from_u32)
            .map(String::from)
            .collect();
        all.extend(
            [
                "",
                "plain",
                "a\"b\\c\u{0}\u{1f}\u{7f}",
                "é☃😀\u{2028}\u{2029}\u{feff}",
            ]
            .map(String::from),
        );
        all.push(all.concat());
        for s in &all {
            let mut w = Json::default();
            w.string(s);
            let want = serde_json::to_vec(s).expect("serialises");
            assert_eq!(w.out, want, "{s:?}");
        }
    }

    /// The word-at-a-time scan finds an escaped byte at every offset, next to every byte that
    /// must pass untouched.
    #[test]
    fn escaping_at_every_offset() {
        for filler in [" ", "!", "#", "[", "]", "\u{7f}", "é", "a"] {
            for special in ['"', '\\', '\u{0}', '\u{1f}', '\n'] {
                for len in 0..24 {
                    for at in 0..=len {
                        let mut s = filler.repeat(len);
                        let byte = s.char_indices().nth(at).map_or(s.len(), |(i, _)| i);
                        s.insert(byte, special);
                        let mut w = Json::default();
                        w.string(&s);
                        assert_eq!(w.out, serde_json::to_vec(&s).expect("json"), "{s:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn pieces_join_into_one_string() {
        let mut w = Json::default();
        w.begin_array();
        w.text(&["a\"", "", "\n", "b"]);
        w.uint(0);
        w.uint(u64::MAX);
        w.bool(false);
        w.empty_object();
        w.end_array();
        let want = serde_json::to_vec(&serde_json::json!(["a\"\nb", 0, u64::MAX, false, {}]))
            .expect("serialises");
        assert_eq!(
            String::from_utf8_lossy(&w.out),
            String::from_utf8_lossy(&want)
        );
    }
}
