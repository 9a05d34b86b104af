//! Searches, offered only on the authority route: RFC 9082 §3.2 (`domains?name=`,
//! `nameservers?name=` and `?ip=`, `entities?fn=` and `?handle=`) and RFC 9536 reverse search
//! (`domains/reverse_search/entity?handle=|fn=|email=[&role=]`).
//!
//! This module is protocol-neutral and pure, like [`crate::query`] and [`crate::resolve`]: the
//! typed [`Search`] with its patterns normalised once, the paging [`cursor`](encode_cursor),
//! and [`run`], which finds one page of matches through the [`Store`] boundary. The RDAP layer
//! parses requests into a [`Search`] and renders what [`run`] found with the grant's view.
//!
//! **What matches.** A contact matches a search by name, e-mail or handle only in a role where
//! the grant's purpose lets that very field out (the policy's rule for the role is `publish`,
//! or `consent` and the contact consented): a search must not confirm what the answer itself
//! would withhold. Contacts no domain references are never found (they are no one's
//! registration data, and their own lookup shows nothing).
//!
//! **Order and paging.** Results come in one stable order: domains and nameservers by A-label
//! name, entities by canonical ROID. A page is at most `page_size` objects; the cursor of the
//! next page is the last key served. How many matches come before a cursor is counted again
//! for every page, so however a cursor is made, no query gets more than `max_results` objects:
//! beyond that the answer says the result set is truncated.
//!
//! **Cost.** The in-memory store has no ordered index, so a pattern search reads every record
//! of its kind once (a reverse search by name or e-mail reads every contact, then every domain)
//! and keeps only the best `page_size + 1` matches on a heap: linear time, memory bounded by
//! the page, not by the number of matches. docs/performance.md gives the measured time for a million
//! domains.

use std::borrow::Cow;
use std::collections::{BinaryHeap, HashSet};
use std::net::IpAddr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::policy::{AudienceRules, ContactRules};
use crate::query::ContactHandle;
use crate::registry::{Contact, ContactField, ContactRoles, Domain, DomainName, Host, Roid};
use crate::store::Store;

/// The fewest literal characters a wildcard pattern must hold before its `*`: `*` or `a*`
/// alone would list the registry.
pub const MIN_LITERAL: usize = 2;

/// Longest pattern text accepted (a DNS name is at most 253 octets; contact fields at most
/// 255 characters).
pub const MAX_PATTERN_CHARS: usize = 255;

/// A domain or nameserver name to search for (RFC 9082 §4.1 partial matching).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NamePattern {
    /// One name, normalised (U-labels become A-labels).
    Exact(DomainName),
    /// `prefix*` (any name starting with `prefix`), or `prefix*.suffix`: the asterisk stands
    /// for the rest of one label, and the name ends with `.suffix` literally. Both parts are
    /// lower-case A-label (LDH) text; `prefix` has at least [`MIN_LITERAL`] characters.
    Prefix {
        /// The literal start of the name.
        prefix: String,
        /// The literal labels after the wildcard label, without the leading dot.
        suffix: Option<String>,
    },
}

impl NamePattern {
    /// Whether an A-label name matches.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Self::Exact(n) => n.ascii() == name,
            Self::Prefix { prefix, suffix } => {
                let Some(rest) = name.strip_prefix(prefix.as_str()) else {
                    return false;
                };
                match suffix {
                    None => true,
                    // `rest` is "<rest of the label>.<suffix>": the wildcard part holds no dot.
                    Some(s) => rest
                        .strip_suffix(s.as_str())
                        .and_then(|r| r.strip_suffix('.'))
                        .is_some_and(|label_rest| !label_rest.contains('.')),
                }
            }
        }
    }

    fn canonical(&self) -> String {
        match self {
            Self::Exact(n) => n.ascii().to_string(),
            Self::Prefix {
                prefix,
                suffix: None,
            } => format!("{prefix}*"),
            Self::Prefix {
                prefix,
                suffix: Some(s),
            } => format!("{prefix}*.{s}"),
        }
    }
}

/// Text of a contact field to search for, folded to lower case ([`fold`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TextPattern {
    /// The whole field, without regard to case.
    Exact(String),
    /// The start of the field (`text*`), without regard to case.
    Prefix(String),
}

/// Whether `text`, folded on the fly (no allocation per record), equals the folded `pattern`.
fn folded_eq(text: &str, pattern: &str) -> bool {
    text.chars()
        .flat_map(char::to_lowercase)
        .eq(pattern.chars())
}

impl TextPattern {
    /// Whether a field's text matches (case folded on the fly, without allocating).
    pub fn matches(&self, text: &str) -> bool {
        match self {
            Self::Exact(p) => folded_eq(text, p),
            Self::Prefix(p) => {
                let mut folded = text.chars().flat_map(char::to_lowercase);
                p.chars().all(|c| folded.next() == Some(c))
            }
        }
    }

    fn canonical(&self) -> String {
        match self {
            Self::Exact(p) => p.clone(),
            Self::Prefix(p) => format!("{p}*"),
        }
    }
}

/// Case folding of contact text for matching: each character's Unicode lower case, as
/// PostgreSQL's `lower()` does it for the database backend (the two agree except for a few
/// characters whose lower case is longer than one character, such as `İ`).
pub fn fold(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

/// How a search names contacts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContactMatch {
    /// By handle (ROID), exactly.
    Handle(ContactHandle),
    /// By full name (`fn`), exactly or by its start.
    Name(TextPattern),
    /// By e-mail address, exactly, folded to lower case.
    Email(String),
}

impl ContactMatch {
    /// The contact field the search reads: the grant must let it out for a contact to match.
    pub fn field(&self) -> ContactField {
        match self {
            Self::Handle(_) => ContactField::Handle,
            Self::Name(_) => ContactField::Name,
            Self::Email(_) => ContactField::Email,
        }
    }

    /// Whether a contact's own data matches (visibility aside).
    pub fn matches(&self, c: &Contact) -> bool {
        match self {
            Self::Handle(h) => c.roid.as_str().eq_ignore_ascii_case(h.as_str()),
            Self::Name(p) => p.matches(c.name()),
            Self::Email(e) => folded_eq(c.email(), e),
        }
    }

    /// The RFC 9536 property name.
    pub fn property(&self) -> &'static str {
        match self {
            Self::Handle(_) => "handle",
            Self::Name(_) => "fn",
            Self::Email(_) => "email",
        }
    }

    fn canonical(&self) -> String {
        match self {
            Self::Handle(h) => h.as_str().to_string(),
            Self::Name(p) => p.canonical(),
            Self::Email(e) => e.clone(),
        }
    }
}

/// The role a reverse search restricts the contact to (RFC 9536 `role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Registrant.
    Registrant,
    /// Technical contact.
    Technical,
}

impl Role {
    /// The RFC 9083 role name.
    pub fn key(self) -> &'static str {
        match self {
            Self::Registrant => "registrant",
            Self::Technical => "technical",
        }
    }
}

/// One search, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Search {
    /// `domains?name=`.
    Domains(NamePattern),
    /// `nameservers?name=`.
    Nameservers(NamePattern),
    /// `nameservers?ip=`: hosts with this glue address.
    NameserversByIp(IpAddr),
    /// `entities?fn=` or `entities?handle=`: contacts.
    Entities(ContactMatch),
    /// `domains/reverse_search/entity?…`: domains whose registrant or technical contact
    /// matches (in `role` only, when given).
    ReverseDomains {
        /// How the contact is named.
        by: ContactMatch,
        /// The role it must hold on the domain.
        role: Option<Role>,
    },
}

/// What a search lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Domains (`domainSearchResults`).
    Domains,
    /// Nameservers (`nameserverSearchResults`).
    Nameservers,
    /// Entities (`entitySearchResults`).
    Entities,
}

impl Search {
    /// What the search lists.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Domains(_) | Self::ReverseDomains { .. } => Kind::Domains,
            Self::Nameservers(_) | Self::NameserversByIp(_) => Kind::Nameservers,
            Self::Entities(_) => Kind::Entities,
        }
    }

    /// Whether this is an RFC 9536 reverse search.
    pub fn is_reverse(&self) -> bool {
        matches!(self, Self::ReverseDomains { .. })
    }

    /// One text per distinct search, for the cursor's check: never shown or logged (it holds
    /// what was searched for, which may be personal data).
    fn canonical(&self) -> String {
        match self {
            Self::Domains(p) => format!("domains?name={}", p.canonical()),
            Self::Nameservers(p) => format!("nameservers?name={}", p.canonical()),
            Self::NameserversByIp(ip) => format!("nameservers?ip={ip}"),
            Self::Entities(m) => format!("entities?{}={}", m.property(), m.canonical()),
            Self::ReverseDomains { by, role } => format!(
                "domains/reverse_search/entity?{}={}&role={}",
                by.property(),
                by.canonical(),
                role.map_or("", Role::key)
            ),
        }
    }

    fn fingerprint(&self) -> [u8; FINGERPRINT] {
        let digest = Sha256::digest(self.canonical().as_bytes());
        let mut out = [0u8; FINGERPRINT];
        out.copy_from_slice(&digest[..FINGERPRINT]);
        out
    }

    /// Whether `key` is a well-formed result key of this search (a cursor's last key).
    fn valid_key(&self, key: &str) -> bool {
        match self.kind() {
            Kind::Domains | Kind::Nameservers => {
                DomainName::parse(key).is_ok_and(|n| n.ascii() == key)
            }
            Kind::Entities => Roid::parse(key).is_ok() && Roid::key(key) == key,
        }
    }
}

/// Bytes of the search's fingerprint at the start of a cursor.
const FINGERPRINT: usize = 8;

/// The cursor of the page after `last_key`: opaque to clients (base64url of a fingerprint of
/// the search and the last key), so a cursor is only ever used with the search it came from.
pub fn encode_cursor(search: &Search, last_key: &str) -> String {
    let mut raw = search.fingerprint().to_vec();
    raw.extend_from_slice(last_key.as_bytes());
    B64.encode(raw)
}

/// The last key a cursor carries.
///
/// It is not a secret or a signature: it only catches cursors that are damaged, invented or
/// taken from another search. A hand-made cursor for the right search gains nothing, because
/// every page is authorised, counted, rate-limited and logged on its own, and the matches
/// before its key are counted again against the cap.
///
/// # Errors
/// Why the cursor is refused (for a 400).
pub fn decode_cursor(search: &Search, cursor: &str) -> Result<String, &'static str> {
    const BAD: &str = "the cursor is not one this server issued for this search";
    // A key is at most a 253-octet name or an 86-character ROID.
    if cursor.is_empty() || cursor.len() > 512 {
        return Err(BAD);
    }
    let raw = B64.decode(cursor).map_err(|_| BAD)?;
    let (fingerprint, key) = raw.split_at_checked(FINGERPRINT).ok_or(BAD)?;
    if fingerprint != search.fingerprint() {
        return Err(BAD);
    }
    let key = std::str::from_utf8(key).map_err(|_| BAD)?;
    if !search.valid_key(key) {
        return Err(BAD);
    }
    Ok(key.to_string())
}

/// The bounds of one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Objects per page.
    pub page_size: usize,
    /// Objects one search may return over all its pages.
    pub max_results: usize,
}

/// The objects of one page.
#[derive(Debug)]
pub enum Hits<'a> {
    /// Domains.
    Domains(Vec<&'a Domain>),
    /// Nameservers (host objects).
    Nameservers(Vec<&'a Host>),
    /// Contacts, with the roles they hold.
    Entities(Vec<(&'a Contact, ContactRoles)>),
}

impl Hits<'_> {
    /// How many objects.
    pub fn len(&self) -> usize {
        match self {
            Self::Domains(v) => v.len(),
            Self::Nameservers(v) => v.len(),
            Self::Entities(v) => v.len(),
        }
    }

    /// Whether the page is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keep the first `n` objects.
    fn truncate(&mut self, n: usize) {
        match self {
            Self::Domains(v) => v.truncate(n),
            Self::Nameservers(v) => v.truncate(n),
            Self::Entities(v) => v.truncate(n),
        }
    }

    /// The order key of the last object (the next page's cursor).
    fn last_key(&self) -> Option<String> {
        match self {
            Self::Domains(v) => v.last().map(|d| d.name.ascii().to_string()),
            Self::Nameservers(v) => v.last().map(|h| h.name.ascii().to_string()),
            Self::Entities(v) => v.last().map(|(c, _)| Roid::key(c.roid.as_str())),
        }
    }
}

/// One page of a search.
#[derive(Debug)]
pub struct Found<'a> {
    /// The objects, in result order.
    pub hits: Hits<'a>,
    /// Matches at or before the cursor: served on earlier pages.
    pub before: usize,
    /// Matches after the last object, within the cap: there is a next page.
    pub more: bool,
    /// Matches left out because the search reached `max_results`.
    pub truncated: bool,
}

impl Found<'_> {
    /// The key the next page starts after, if there is a next page.
    pub fn next_key(&self) -> Option<String> {
        if self.more {
            self.hits.last_key()
        } else {
            None
        }
    }

    /// The page's number, from 1 (RFC 8977 `pageNumber`).
    pub fn page_number(&self, page_size: usize) -> usize {
        self.before / page_size.max(1) + 1
    }
}

/// A candidate with its order key; ordered by the key alone.
struct Keyed<'a, T> {
    key: Cow<'a, str>,
    item: T,
}

impl<T> PartialEq for Keyed<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<T> Eq for Keyed<'_, T> {}
impl<T> PartialOrd for Keyed<'_, T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Keyed<'_, T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

/// Keeps the smallest `keep` matches after the cursor (a max-heap: its top is the one to drop
/// next) and counts those at or before it.
struct Pager<'a, 'c, T> {
    after: Option<&'c str>,
    keep: usize,
    before: usize,
    heap: BinaryHeap<Keyed<'a, T>>,
}

impl<'a, 'c, T> Pager<'a, 'c, T> {
    fn new(after: Option<&'c str>, keep: usize) -> Self {
        Self {
            after,
            keep,
            before: 0,
            heap: BinaryHeap::with_capacity(keep + 1),
        }
    }

    fn offer(&mut self, key: Cow<'a, str>, item: T) {
        if self.after.is_some_and(|a| *key <= *a) {
            self.before += 1;
            return;
        }
        if self.heap.len() == self.keep {
            // Full: only a key smaller than the largest kept one gets in.
            if self.heap.peek().is_some_and(|top| key >= top.key) {
                return;
            }
            self.heap.pop();
        }
        self.heap.push(Keyed { key, item });
    }

    fn sorted(self) -> (Vec<T>, usize) {
        let items = self
            .heap
            .into_sorted_vec()
            .into_iter()
            .map(|k| k.item)
            .collect();
        (items, self.before)
    }
}

/// Whether the rules let a contact's `field` out: `publish`, or `consent` and the contact
/// consented (the same decision the view makes, for the fields a search reads, which every
/// contact has).
fn shows(rules: &ContactRules, field: ContactField, c: &Contact) -> bool {
    match rules.get(field) {
        crate::policy::Rule::Publish => true,
        crate::policy::Rule::Consent => c.consent.allows(field),
        crate::policy::Rule::Redact => false,
    }
}

/// Whether a contact looked up on its own, holding `roles`, would show `field` (the view
/// takes the more permissive rule of the roles it holds).
fn shows_standalone(
    rules: &AudienceRules,
    field: ContactField,
    c: &Contact,
    roles: ContactRoles,
) -> bool {
    (roles.registrant && shows(&rules.registrant, field, c))
        || (roles.technical && shows(&rules.technical, field, c))
}

/// Find one page of `search` in `store`, as the audience with `rules` may search it: the
/// matches after the cursor key `after`, at most `limits.page_size` of them and never past
/// `limits.max_results` in all.
///
/// `before_known`: how many matches lie at or before `after`, when the store cannot tell
/// (the database backend fetches only the page's candidates, and counts the rest itself).
pub fn run<'a, S: Store + ?Sized>(
    store: &'a S,
    rules: &AudienceRules,
    search: &Search,
    after: Option<&str>,
    before_known: Option<usize>,
    limits: Limits,
) -> Found<'a> {
    let keep = limits.page_size.saturating_add(1);
    let (mut hits, before) = match search {
        Search::Domains(p) => {
            let (v, before) = domains_named(store, p, after, keep);
            (Hits::Domains(v), before)
        }
        Search::ReverseDomains { by, role } => {
            let (v, before) = domains_of(store, rules, by, *role, after, keep);
            (Hits::Domains(v), before)
        }
        Search::Nameservers(p) => {
            let mut pager = Pager::new(after, keep);
            match p {
                NamePattern::Exact(n) => {
                    if let Some(h) = store.host(n) {
                        pager.offer(Cow::Borrowed(h.name.ascii()), h);
                    }
                }
                NamePattern::Prefix { .. } => store.for_each_host(&mut |name, h| {
                    if p.matches(name) {
                        pager.offer(Cow::Borrowed(name), h);
                    }
                }),
            }
            let (v, before) = pager.sorted();
            (Hits::Nameservers(v), before)
        }
        Search::NameserversByIp(ip) => {
            let mut pager = Pager::new(after, keep);
            for h in store.hosts_by_ip(*ip) {
                pager.offer(Cow::Borrowed(h.name.ascii()), h);
            }
            let (v, before) = pager.sorted();
            (Hits::Nameservers(v), before)
        }
        Search::Entities(by) => {
            let (v, before) = contacts_matching(store, rules, by, after, keep);
            (Hits::Entities(v), before)
        }
    };
    let fetched = hits.len();
    let before = before_known.unwrap_or(before);
    let take = limits
        .page_size
        .min(limits.max_results.saturating_sub(before));
    let more = fetched > take;
    let truncated = more && before + take >= limits.max_results;
    hits.truncate(take);
    Found {
        hits,
        before,
        more: more && !truncated,
        truncated,
    }
}

fn domains_named<'a, S: Store + ?Sized>(
    store: &'a S,
    pattern: &NamePattern,
    after: Option<&str>,
    keep: usize,
) -> (Vec<&'a Domain>, usize) {
    let mut pager = Pager::new(after, keep);
    match pattern {
        NamePattern::Exact(n) => {
            if let Some(d) = store.domain(n) {
                pager.offer(Cow::Borrowed(d.name.ascii()), d);
            }
        }
        NamePattern::Prefix { .. } => store.for_each_domain(&mut |name, d| {
            if pattern.matches(name) {
                pager.offer(Cow::Borrowed(name), d);
            }
        }),
    }
    pager.sorted()
}

/// Contacts that match `by` and would show the searched field on their own.
fn contacts_matching<'a, S: Store + ?Sized>(
    store: &'a S,
    rules: &AudienceRules,
    by: &ContactMatch,
    after: Option<&str>,
    keep: usize,
) -> (Vec<(&'a Contact, ContactRoles)>, usize) {
    let field = by.field();
    let mut pager = Pager::new(after, keep);
    let mut consider = |c: &'a Contact, roles: ContactRoles| {
        if by.matches(c) && shows_standalone(rules, field, c, roles) {
            pager.offer(Cow::Owned(Roid::key(c.roid.as_str())), (c, roles));
        }
    };
    match by {
        ContactMatch::Handle(h) => {
            if let Some((c, roles)) = store.contact(h.as_str()) {
                consider(c, roles);
            }
        }
        ContactMatch::Name(_) | ContactMatch::Email(_) => {
            store.for_each_contact(&mut |c, roles| consider(c, roles));
        }
    }
    pager.sorted()
}

/// Domains whose registrant or technical contact matches `by` in a role that lets the
/// searched field out (and is `role`, when given).
fn domains_of<'a, S: Store + ?Sized>(
    store: &'a S,
    rules: &AudienceRules,
    by: &ContactMatch,
    role: Option<Role>,
    after: Option<&str>,
    keep: usize,
) -> (Vec<&'a Domain>, usize) {
    let field = by.field();
    let want_registrant = role != Some(Role::Technical);
    let want_technical = role != Some(Role::Registrant);
    // The matching contacts, per role their field is shown in.
    let mut as_registrant = Handles::default();
    let mut as_technical = Handles::default();
    let mut note = |c: &Contact, roles: ContactRoles| {
        if !by.matches(c) {
            return;
        }
        if want_registrant && roles.registrant && shows(&rules.registrant, field, c) {
            as_registrant.insert(c.roid.as_str());
        }
        if want_technical && roles.technical && shows(&rules.technical, field, c) {
            as_technical.insert(c.roid.as_str());
        }
    };
    match by {
        ContactMatch::Handle(h) => {
            if let Some((c, roles)) = store.contact(h.as_str()) {
                note(c, roles);
            }
        }
        ContactMatch::Name(_) | ContactMatch::Email(_) => {
            store.for_each_contact(&mut |c, roles| note(c, roles));
        }
    }
    let mut pager = Pager::new(after, keep);
    if as_registrant.is_empty() && as_technical.is_empty() {
        return pager.sorted();
    }
    store.for_each_domain(&mut |name, d| {
        if as_registrant.holds(d.registrant.as_ref()) || as_technical.holds(d.tech.as_ref()) {
            pager.offer(Cow::Borrowed(name), d);
        }
    });
    pager.sorted()
}

/// Contact handles to find in domain records, matched without regard to ASCII case, as ROIDs
/// are. The lengths are checked first: a domain's reference knows its length without its text
/// being read, so most domains of a scan are passed over without touching the ROID's memory.
#[derive(Default)]
struct Handles {
    /// Canonical (upper-case) ROIDs.
    keys: HashSet<String>,
    /// Their lengths in bytes.
    lengths: HashSet<usize>,
}

impl Handles {
    fn insert(&mut self, roid: &str) {
        self.lengths.insert(roid.len());
        self.keys.insert(Roid::key(roid));
    }

    fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn holds(&self, r: Option<&Roid>) -> bool {
        let Some(r) = r else { return false };
        let text = r.as_str();
        if !self.lengths.contains(&text.len()) {
            return false;
        }
        if text.bytes().any(|b| b.is_ascii_lowercase()) {
            self.keys.contains(&Roid::key(text))
        } else {
            self.keys.contains(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Grant;
    use crate::policy::{Audience, Policy, Purpose};

    fn name(p: &str) -> NamePattern {
        NamePattern::Prefix {
            prefix: p.into(),
            suffix: None,
        }
    }

    #[test]
    fn name_patterns_match_as_rfc_9082_describes() {
        // GIVEN `exam*`: any name starting so; `exam*.com`: the wildcard ends one label.
        let open = name("exam");
        let label = NamePattern::Prefix {
            prefix: "exam".into(),
            suffix: Some("com".into()),
        };
        // THEN
        for (n, o, l) in [
            ("example.com", true, true),
            ("exam.com", true, true),
            ("example.net", true, false),
            ("example.co.com", true, false),
            ("xexample.com", false, false),
            ("example.comx", true, false),
            ("examplecom", true, false),
        ] {
            assert_eq!(open.matches(n), o, "exam* vs {n}");
            assert_eq!(label.matches(n), l, "exam*.com vs {n}");
        }
        let exact = NamePattern::Exact(DomainName::parse("Example.COM.").expect("name"));
        assert!(exact.matches("example.com") && !exact.matches("example.co"));
    }

    #[test]
    fn text_patterns_fold_case_without_allocating_per_record() {
        let p = TextPattern::Prefix(fold("AuRé"));
        assert!(!p.matches("Aurelie Vantongeren"));
        assert!(p.matches("Auréliane"));
        assert!(!p.matches("Au"));
        let e = TextPattern::Exact(fold("Ab@Example.ORG"));
        assert!(e.matches("ab@example.org") && e.matches("AB@EXAMPLE.ORG"));
        assert!(!e.matches("ab@example.org.") && !e.matches("ab@example.or"));
    }

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        // GIVEN two searches
        let a = Search::Domains(name("ex"));
        let b = Search::Domains(name("ey"));
        // WHEN a cursor is made for one
        let c = encode_cursor(&a, "example.example");
        // THEN it decodes to its key for that search only
        assert_eq!(decode_cursor(&a, &c).as_deref(), Ok("example.example"));
        assert!(decode_cursor(&b, &c).is_err(), "another search");
        // AND damaged, invented or empty cursors are refused
        let mut damaged = c.clone().into_bytes();
        damaged[2] = if damaged[2] == b'A' { b'B' } else { b'A' };
        let damaged = String::from_utf8(damaged).expect("ascii");
        for bad in [
            "",
            "!!!",
            "abc",
            damaged.as_str(),
            &"A".repeat(600),
            &B64.encode(b"12345678"),
        ] {
            assert!(decode_cursor(&a, bad).is_err(), "{bad:?}");
        }
        // AND a key that is not a result key of the search (upper case, not a name) is refused
        let fp = a.fingerprint();
        for key in ["Example.example", "not a name", "example"] {
            let mut raw = fp.to_vec();
            raw.extend_from_slice(key.as_bytes());
            assert!(decode_cursor(&a, &B64.encode(raw)).is_err(), "{key}");
        }
        let e = Search::Entities(ContactMatch::Name(TextPattern::Prefix("ab".into())));
        let c = encode_cursor(&e, "C101-EXAMPLE");
        assert_eq!(decode_cursor(&e, &c).as_deref(), Ok("C101-EXAMPLE"));
        let mut raw = e.fingerprint().to_vec();
        raw.extend_from_slice(b"c101-example");
        assert!(
            decode_cursor(&e, &B64.encode(raw)).is_err(),
            "not canonical"
        );
    }

    fn demo() -> (crate::registry::Snapshot, Policy) {
        (
            crate::registry::load::load_demo().expect("demo"),
            Policy::default_policy().expect("policy"),
        )
    }

    fn names(f: &Found<'_>) -> Vec<String> {
        match &f.hits {
            Hits::Domains(v) => v.iter().map(|d| d.name.ascii().to_string()).collect(),
            Hits::Nameservers(v) => v.iter().map(|h| h.name.ascii().to_string()).collect(),
            Hits::Entities(v) => v.iter().map(|(c, _)| c.roid.as_str().to_string()).collect(),
        }
    }

    #[test]
    fn paging_walks_every_match_once_in_order_up_to_the_cap() {
        let (snap, policy) = demo();
        let grant = Grant::for_test(Purpose::CriminalInvestigation);
        let rules = policy.rules(Audience::Authority(&grant));
        // Every domain of the demo registry ends in `.example`; `*` needs a prefix, so walk
        // the ones starting with a few letters.
        let search = Search::Domains(name("t"));
        let all: Vec<String> = snap
            .domains()
            .iter()
            .map(|d| d.name.ascii().to_string())
            .filter(|n| n.starts_with('t'))
            .collect();
        assert!(all.len() >= 3, "{all:?}");
        let limits = Limits {
            page_size: 2,
            max_results: 100,
        };
        let (mut seen, mut after) = (Vec::new(), None::<String>);
        loop {
            let f = run(&snap, rules, &search, after.as_deref(), None, limits);
            assert_eq!(f.before, seen.len());
            seen.extend(names(&f));
            match f.next_key() {
                Some(k) => after = Some(k),
                None => break,
            }
        }
        assert_eq!(seen, all);
        // The cap: two results at most, then truncated, however the cursor was made.
        let capped = Limits {
            page_size: 2,
            max_results: 2,
        };
        let f = run(&snap, rules, &search, None, None, capped);
        assert_eq!((f.hits.len(), f.more, f.truncated), (2, false, true));
        let f = run(&snap, rules, &search, Some(&all[0]), None, capped);
        assert_eq!(names(&f), vec![all[1].clone()], "one left under the cap");
        assert!(f.truncated && !f.more);
    }

    #[test]
    fn contacts_match_only_where_the_purpose_shows_the_searched_field() {
        let (snap, policy) = demo();
        let limits = Limits {
            page_size: 50,
            max_results: 500,
        };
        let by_email = |e: &str| ContactMatch::Email(fold(e));
        // C201 is a technical contact only. Criminal investigations see the technical
        // contact's e-mail; consumer protection sees no technical field at all.
        let search = Search::ReverseDomains {
            by: by_email("PIOTR.ZH@hostmaster-one.example.org"),
            role: None,
        };
        let police = Grant::for_test(Purpose::CriminalInvestigation);
        let f = run(
            &snap,
            policy.rules(Audience::Authority(&police)),
            &search,
            None,
            None,
            limits,
        );
        assert!(f.hits.len() >= 5, "{:?}", names(&f));
        let consumer = Grant::for_test(Purpose::ConsumerProtection);
        let f = run(
            &snap,
            policy.rules(Audience::Authority(&consumer)),
            &search,
            None,
            None,
            limits,
        );
        assert!(f.hits.is_empty(), "{:?}", names(&f));
        // The role filter: C201 is never a registrant.
        let registrant_only = Search::ReverseDomains {
            by: by_email("piotr.zh@hostmaster-one.example.org"),
            role: Some(Role::Registrant),
        };
        let f = run(
            &snap,
            policy.rules(Audience::Authority(&police)),
            &registrant_only,
            None,
            None,
            limits,
        );
        assert!(f.hits.is_empty());
        // An unreferenced contact (C301) is never found, even by its handle.
        let orphan = Search::Entities(ContactMatch::Handle(ContactHandle::new(
            &Roid::parse("C301-EXAMPLE").expect("roid"),
        )));
        let f = run(
            &snap,
            policy.rules(Audience::Authority(&police)),
            &orphan,
            None,
            None,
            limits,
        );
        assert!(f.hits.is_empty());
        // By name, case folded, prefix.
        let f = run(
            &snap,
            policy.rules(Audience::Authority(&police)),
            &Search::Entities(ContactMatch::Name(TextPattern::Prefix(fold("AURE")))),
            None,
            None,
            limits,
        );
        assert_eq!(names(&f), vec!["C101-EXAMPLE".to_string()]);
    }
}
