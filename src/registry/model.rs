//! What a registry holds, named after EPP (RFC 5731 domains, RFC 5732 hosts, RFC 5733 contacts)
//! and the escrow format (RFC 9022), so an operator can map their database onto it.
//!
//! These are the validated, in-memory records. They carry no wire concerns: nothing here knows
//! about JSON paths, jCards or WHOIS labels, and nothing here may be rendered directly. The only
//! way from a [`Contact`] to a response is through [`crate::policy`], which yields a redacted view.

use std::net::IpAddr;

use super::name::DomainName;
use super::validate::Invalid;

/// A point in time in whole seconds, UTC. Eight bytes: a million domains carry three each, so the
/// RFC 3339 text both protocols print (`YYYY-MM-DDThh:mm:ssZ`) is formatted when rendered, into
/// a stack buffer ([`Timestamp::text`]), rather than stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix: i64,
}

impl Timestamp {
    /// Build from a date-time; sub-second precision is dropped, as registries print it.
    pub fn from_datetime(dt: time::OffsetDateTime) -> Self {
        Self {
            unix: dt.unix_timestamp(),
        }
    }

    /// From seconds since the Unix epoch.
    pub const fn from_unix(unix: i64) -> Self {
        Self { unix }
    }

    /// The current time.
    pub fn now() -> Self {
        Self::from_datetime(time::OffsetDateTime::now_utc())
    }

    /// Seconds since the Unix epoch.
    pub fn unix(&self) -> i64 {
        self.unix
    }

    /// RFC 3339 UTC text, `YYYY-MM-DDThh:mm:ssZ`.
    pub fn text(&self) -> TimestampText {
        let mut buf = *b"0000-00-00T00:00:00Z";
        // The parser only produces years 1..=9999, which `time` always represents; anything
        // else (a value built by hand) prints as the epoch rather than failing a response.
        let dt = time::OffsetDateTime::from_unix_timestamp(self.unix)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let year = u32::try_from(dt.year()).unwrap_or(0).min(9999);
        let put = |buf: &mut [u8; 20], at: usize, width: usize, mut v: u32| {
            for i in (at..at + width).rev() {
                buf[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(&mut buf, 0, 4, year);
        put(&mut buf, 5, 2, u32::from(u8::from(dt.month())));
        put(&mut buf, 8, 2, u32::from(dt.day()));
        put(&mut buf, 11, 2, u32::from(dt.hour()));
        put(&mut buf, 14, 2, u32::from(dt.minute()));
        put(&mut buf, 17, 2, u32::from(dt.second()));
        TimestampText(buf)
    }
}

/// A formatted [`Timestamp`]: twenty ASCII bytes on the stack.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TimestampText([u8; 20]);

impl TimestampText {
    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written into the buffer.
        std::str::from_utf8(&self.0).unwrap_or("1970-01-01T00:00:00Z")
    }
}

impl std::ops::Deref for TimestampText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for TimestampText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for TimestampText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A Repository Object Identifier (RFC 5730 `roidType`): `(\w|_){1,80}-\w{1,8}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Roid(std::sync::Arc<str>);

impl Roid {
    /// Validate a ROID.
    ///
    /// # Errors
    /// A message saying what is wrong with it.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let Some((local, suffix)) = s.rsplit_once('-') else {
            return Err(Invalid::RoidForm);
        };
        let local_ok = (1..=80).contains(&local.len()) && local.chars().all(word);
        let suffix_ok = (1..=8).contains(&suffix.len()) && suffix.chars().all(word);
        if local_ok && suffix_ok {
            Ok(Self(s.into()))
        } else {
            Err(Invalid::RoidParts)
        }
    }

    /// The identifier text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key lookups use: ROIDs are matched without regard to ASCII case.
    pub fn key(s: &str) -> String {
        s.to_ascii_uppercase()
    }

    /// This ROID's lookup key as shared text: the same allocation when the ROID is already
    /// upper case, as registries write them.
    pub fn shared_key(&self) -> std::sync::Arc<str> {
        if self.0.bytes().any(|b| b.is_ascii_lowercase()) {
            Self::key(&self.0).into()
        } else {
            self.0.clone()
        }
    }
}

/// An IANA Registrar ID. `9999` is reserved for a registry acting as its own registrar.
pub type IanaId = u32;

/// The IANA Registrar ID a registry uses for objects it sponsors itself.
pub const REGISTRY_AS_REGISTRAR: IanaId = 9999;

/// A telephone number in EPP form (`+CC.NUMBER`) with an optional extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// `+1.7035555555`
    pub number: String,
    /// Digits of the extension, if any.
    pub ext: Option<String>,
}

impl Phone {
    /// The RFC 3966 `tel:` URI that jCards carry, e.g. `tel:+1.7035555555;ext=123`.
    pub fn tel_uri(&self) -> String {
        self.as_ref().tel_uri()
    }

    /// A borrowed view, the form renderers take.
    pub fn as_ref(&self) -> PhoneRef<'_> {
        PhoneRef {
            number: &self.number,
            ext: self.ext.as_deref(),
        }
    }
}

/// A borrowed telephone number: a registrar's [`Phone`] or one stored inside a [`Contact`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRef<'a> {
    /// `+1.7035555555`
    pub number: &'a str,
    /// Digits of the extension, if any.
    pub ext: Option<&'a str>,
}

impl PhoneRef<'_> {
    /// The RFC 3966 `tel:` URI that jCards carry, e.g. `tel:+1.7035555555;ext=123`.
    pub fn tel_uri(&self) -> String {
        match self.ext {
            Some(ext) => format!("tel:{};ext={}", self.number, ext),
            None => format!("tel:{}", self.number),
        }
    }
}

/// Whether a contact is a natural person or a legal person (an organisation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PersonType {
    /// A human being: their data is personal data.
    Natural,
    /// A company or other organisation. Its contact data may still name a person, so the policy
    /// treats it exactly like a natural person unless the contact consents.
    Legal,
}

/// The fields of a contact that a policy decides on, and that a contact can consent to publish.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ContactField {
    /// The contact's ROID (Registry Registrant ID / Registry Tech ID). Not personal.
    Handle,
    /// Full name.
    Name,
    /// Organisation.
    Org,
    /// Street lines.
    Street,
    /// City.
    City,
    /// State or province.
    Sp,
    /// Postal code.
    Pc,
    /// Country code.
    Cc,
    /// Voice telephone number, with its extension.
    Voice,
    /// Fax number, with its extension.
    Fax,
    /// E-mail address.
    Email,
}

impl ContactField {
    /// Every field, in the order renderers print them.
    pub const ALL: [Self; 11] = [
        Self::Handle,
        Self::Name,
        Self::Org,
        Self::Street,
        Self::City,
        Self::Sp,
        Self::Pc,
        Self::Cc,
        Self::Voice,
        Self::Fax,
        Self::Email,
    ];

    /// The name used in data files and policy files.
    pub fn key(self) -> &'static str {
        match self {
            Self::Handle => "handle",
            Self::Name => "name",
            Self::Org => "org",
            Self::Street => "street",
            Self::City => "city",
            Self::Sp => "sp",
            Self::Pc => "pc",
            Self::Cc => "cc",
            Self::Voice => "voice",
            Self::Fax => "fax",
            Self::Email => "email",
        }
    }

    /// Whether the field is personal data. The handle is a registry-assigned identifier.
    pub fn is_personal(self) -> bool {
        !matches!(self, Self::Handle)
    }
}

/// The set of fields a contact consented to publish (EPP `<contact:disclose flag="1">`, or the
/// registrar's consent process under the Registration Data Policy).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Consent(u16);

impl Consent {
    /// Consent to publish `field`.
    pub fn with(self, field: ContactField) -> Self {
        Self(self.0 | (1 << field as u16))
    }

    /// Whether the contact consented to publish `field`.
    pub fn allows(self, field: ContactField) -> bool {
        self.0 & (1 << field as u16) != 0
    }
}

/// The text fields of a contact, in the order they are packed.
#[derive(Clone, Copy)]
enum Slot {
    Name,
    Org,
    Street,
    City,
    Sp,
    Pc,
    Cc,
    VoiceNumber,
    VoiceExt,
    FaxNumber,
    FaxExt,
    Email,
}

const SLOTS: usize = 12;

/// What a contact is made of, borrowed, for [`Contact::new`].
#[derive(Clone, Copy)]
pub struct ContactParts<'a> {
    /// Registry Object ID, the entity handle.
    pub roid: &'a Roid,
    /// Full name.
    pub name: &'a str,
    /// Organisation.
    pub org: Option<&'a str>,
    /// Zero to three street lines. A line holds no control character (the loader refuses them),
    /// so a newline can separate lines inside the packed text.
    pub street: &'a [&'a str],
    /// City.
    pub city: &'a str,
    /// State or province.
    pub sp: Option<&'a str>,
    /// Postal code.
    pub pc: Option<&'a str>,
    /// ISO 3166-1 alpha-2 country code, upper case.
    pub cc: &'a str,
    /// Voice telephone.
    pub voice: Option<PhoneRef<'a>>,
    /// Fax.
    pub fax: Option<PhoneRef<'a>>,
    /// E-mail.
    pub email: &'a str,
    /// Natural or legal person.
    pub person: PersonType,
    /// Fields the contact consented to publish.
    pub consent: Consent,
}

/// A contact object (RFC 5733), with the postal info of one `<contact:postalInfo>`.
///
/// A registry holds about one contact per domain, so a contact is packed: its text fields are
/// one allocation with offsets, not a dozen `String`s (a million contacts would otherwise cost
/// more than twice the memory). Read it through its accessors.
///
/// Its `Debug` prints the handle and which fields are present, never their values: one `?x`
/// in a log line must not put personal data into the server log.
#[derive(Clone, PartialEq, Eq)]
pub struct Contact {
    /// Registry Object ID, the entity handle.
    pub roid: Roid,
    /// Natural or legal person.
    pub person: PersonType,
    /// Fields the contact consented to publish.
    pub consent: Consent,
    /// Every text field, one after the other; street lines separated by `\n`.
    text: Box<str>,
    /// End offset of each [`Slot`] in `text`. Sixteen bits: validation bounds every field to
    /// 255 characters (a whole contact to about 10 KiB), and the packing refuses a value that
    /// would not fit (see [`Contact::new`]); a million contacts save 16 MB.
    ends: [u16; SLOTS],
    /// Which optional slots are present (bit per [`Slot`]).
    present: u16,
}

impl Contact {
    /// Pack a contact.
    pub fn new(p: ContactParts<'_>) -> Self {
        let mut text =
            String::with_capacity(p.name.len() + p.city.len() + p.email.len() + p.cc.len() + 64);
        let mut ends = [0u16; SLOTS];
        let mut present = 0u16;
        let mut put = |slot: Slot, value: Option<&str>, text: &mut String| {
            // Validation bounds each field to a few hundred bytes; a value that would carry the
            // whole past 64 KiB (never valid data) is left out rather than misplace the
            // offsets of the fields after it.
            if let Some(v) = value.filter(|v| text.len() + v.len() <= usize::from(u16::MAX)) {
                text.push_str(v);
                present |= 1 << slot as u16;
            }
            ends[slot as usize] = u16::try_from(text.len()).unwrap_or(u16::MAX);
        };
        put(Slot::Name, Some(p.name), &mut text);
        put(Slot::Org, p.org, &mut text);
        let street = (!p.street.is_empty()).then(|| p.street.join("\n"));
        put(Slot::Street, street.as_deref(), &mut text);
        put(Slot::City, Some(p.city), &mut text);
        put(Slot::Sp, p.sp, &mut text);
        put(Slot::Pc, p.pc, &mut text);
        put(Slot::Cc, Some(p.cc), &mut text);
        put(Slot::VoiceNumber, p.voice.map(|v| v.number), &mut text);
        put(Slot::VoiceExt, p.voice.and_then(|v| v.ext), &mut text);
        put(Slot::FaxNumber, p.fax.map(|v| v.number), &mut text);
        put(Slot::FaxExt, p.fax.and_then(|v| v.ext), &mut text);
        put(Slot::Email, Some(p.email), &mut text);
        Self {
            roid: p.roid.clone(),
            person: p.person,
            consent: p.consent,
            text: text.into_boxed_str(),
            ends,
            present,
        }
    }

    fn slot(&self, slot: Slot) -> Option<&str> {
        if self.present & (1 << slot as u16) == 0 {
            return None;
        }
        let i = slot as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] } as usize;
        self.text.get(start..self.ends[i] as usize)
    }

    /// Full name (`<contact:name>`).
    pub fn name(&self) -> &str {
        self.slot(Slot::Name).unwrap_or_default()
    }
    /// Organisation (`<contact:org>`).
    pub fn org(&self) -> Option<&str> {
        self.slot(Slot::Org)
    }
    /// Street lines (zero to three).
    pub fn street(&self) -> Street<'_> {
        Street(self.slot(Slot::Street))
    }
    /// City.
    pub fn city(&self) -> &str {
        self.slot(Slot::City).unwrap_or_default()
    }
    /// State or province.
    pub fn sp(&self) -> Option<&str> {
        self.slot(Slot::Sp)
    }
    /// Postal code.
    pub fn pc(&self) -> Option<&str> {
        self.slot(Slot::Pc)
    }
    /// ISO 3166-1 alpha-2 country code, upper case.
    pub fn cc(&self) -> &str {
        self.slot(Slot::Cc).unwrap_or_default()
    }
    /// Voice telephone.
    pub fn voice(&self) -> Option<PhoneRef<'_>> {
        self.slot(Slot::VoiceNumber).map(|number| PhoneRef {
            number,
            ext: self.slot(Slot::VoiceExt),
        })
    }
    /// Fax.
    pub fn fax(&self) -> Option<PhoneRef<'_>> {
        self.slot(Slot::FaxNumber).map(|number| PhoneRef {
            number,
            ext: self.slot(Slot::FaxExt),
        })
    }
    /// E-mail.
    pub fn email(&self) -> &str {
        self.slot(Slot::Email).unwrap_or_default()
    }
}

/// The street lines of a contact, borrowed from its packed text.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Street<'a>(Option<&'a str>);

impl<'a> Street<'a> {
    /// The lines, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.0.into_iter().flat_map(|s| s.split('\n'))
    }
    /// How many lines.
    pub fn len(&self) -> usize {
        self.iter().count()
    }
    /// Whether there is no street line.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

impl std::fmt::Debug for Street<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} street lines>", self.len())
    }
}

impl std::fmt::Debug for Contact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const HIDDEN: &str = "<personal data>";
        let present = |o: bool| if o { HIDDEN } else { "<none>" };
        f.debug_struct("Contact")
            .field("roid", &self.roid)
            .field("name", &HIDDEN)
            .field("org", &present(self.org().is_some()))
            .field("street", &format_args!("<{} lines>", self.street().len()))
            .field("city", &HIDDEN)
            .field("sp", &present(self.sp().is_some()))
            .field("pc", &present(self.pc().is_some()))
            .field("cc", &HIDDEN)
            .field("voice", &present(self.voice().is_some()))
            .field("fax", &present(self.fax().is_some()))
            .field("email", &HIDDEN)
            .field("person", &self.person)
            .field("consent", &self.consent)
            .finish()
    }
}

/// A postal address of a registrar (business data, not personal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Street lines.
    pub street: Vec<String>,
    /// City.
    pub city: String,
    /// State or province.
    pub sp: Option<String>,
    /// Postal code.
    pub pc: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub cc: String,
}

/// A registrar accredited by ICANN (or the registry itself, ID 9999).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registrar {
    /// IANA Registrar ID: the entity handle and `publicIds` identifier.
    pub iana_id: IanaId,
    /// Registrar name.
    pub name: String,
    /// Registrar web site.
    pub url: Option<String>,
    /// The registrar's WHOIS server host name.
    pub whois_server: Option<String>,
    /// The registrar's RDAP base URL (IANA Registrar IDs registry), ending in `/`.
    pub rdap_base_url: Option<String>,
    /// Abuse contact e-mail.
    pub abuse_email: String,
    /// Abuse contact telephone.
    pub abuse_phone: Phone,
    /// Business address.
    pub address: Address,
    /// Business telephone.
    pub voice: Option<Phone>,
    /// Business fax.
    pub fax: Option<Phone>,
    /// Business e-mail.
    pub email: Option<String>,
}

/// A host (nameserver) object (RFC 5732).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Registry Object ID.
    pub roid: Roid,
    /// Host name.
    pub name: DomainName,
    /// Glue addresses, IPv4 first then IPv6, each list in input order.
    pub addresses: Vec<IpAddr>,
    /// EPP host statuses.
    pub statuses: Vec<HostStatus>,
    /// Sponsoring registrar.
    pub registrar: IanaId,
    /// Creation date.
    pub created: Option<Timestamp>,
    /// Last update.
    pub updated: Option<Timestamp>,
}

/// One DS record of a signed delegation (RFC 5910 `dsData`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsData {
    /// Key tag.
    pub key_tag: u16,
    /// DNSSEC algorithm number.
    pub algorithm: u8,
    /// Digest type number.
    pub digest_type: u8,
    /// Hex digest, upper case.
    pub digest: Box<str>,
}

/// A domain object (RFC 5731).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// Registry Domain ID.
    pub roid: Roid,
    /// The domain name.
    pub name: DomainName,
    /// EPP and RGP statuses. Shared: a registry has a few dozen distinct status sets across
    /// millions of domains, so the loader hands out one allocation per set.
    pub statuses: std::sync::Arc<[DomainStatus]>,
    /// Creation date.
    pub created: Timestamp,
    /// Last update, if ever updated.
    pub updated: Option<Timestamp>,
    /// Registry expiry date.
    pub expires: Timestamp,
    /// Sponsoring registrar.
    pub registrar: IanaId,
    /// Registrant contact, if the registrar transferred one.
    pub registrant: Option<Roid>,
    /// Technical contact, if any.
    pub tech: Option<Roid>,
    /// Delegated nameservers (host objects), in input order. Shared: most domains delegate
    /// to their DNS provider's pair, so the loader hands out one allocation per list.
    pub nameservers: std::sync::Arc<[DomainName]>,
    /// DS records; empty for an unsigned delegation.
    pub ds: Box<[DsData]>,
}

macro_rules! statuses {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $epp:literal / $rdap:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $(
                #[doc = concat!("EPP `", $epp, "`, RDAP `", $rdap, "`.")]
                $variant,
            )*
        }

        impl $name {
            /// Every status, for documentation and tests.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// Parse the EPP (or RGP) status name.
            pub fn from_epp(s: &str) -> Option<Self> {
                match s {
                    $($epp => Some(Self::$variant),)*
                    _ => None,
                }
            }

            /// The EPP name, as printed in WHOIS with its `https://icann.org/epp#` link.
            pub fn epp(self) -> &'static str {
                match self { $(Self::$variant => $epp,)* }
            }

            /// The RDAP status value (RFC 8056 mapping).
            pub fn rdap(self) -> &'static str {
                match self { $(Self::$variant => $rdap,)* }
            }
        }
    };
}

statuses! {
    /// Domain statuses: RFC 5731 EPP statuses and RFC 3915 RGP statuses.
    DomainStatus {
        Ok = "ok" / "active",
        Inactive = "inactive" / "inactive",
        ClientDeleteProhibited = "clientDeleteProhibited" / "client delete prohibited",
        ServerDeleteProhibited = "serverDeleteProhibited" / "server delete prohibited",
        ClientHold = "clientHold" / "client hold",
        ServerHold = "serverHold" / "server hold",
        ClientRenewProhibited = "clientRenewProhibited" / "client renew prohibited",
        ServerRenewProhibited = "serverRenewProhibited" / "server renew prohibited",
        ClientTransferProhibited = "clientTransferProhibited" / "client transfer prohibited",
        ServerTransferProhibited = "serverTransferProhibited" / "server transfer prohibited",
        ClientUpdateProhibited = "clientUpdateProhibited" / "client update prohibited",
        ServerUpdateProhibited = "serverUpdateProhibited" / "server update prohibited",
        PendingCreate = "pendingCreate" / "pending create",
        PendingDelete = "pendingDelete" / "pending delete",
        PendingRenew = "pendingRenew" / "pending renew",
        PendingTransfer = "pendingTransfer" / "pending transfer",
        PendingUpdate = "pendingUpdate" / "pending update",
        AddPeriod = "addPeriod" / "add period",
        AutoRenewPeriod = "autoRenewPeriod" / "auto renew period",
        RenewPeriod = "renewPeriod" / "renew period",
        TransferPeriod = "transferPeriod" / "transfer period",
        RedemptionPeriod = "redemptionPeriod" / "redemption period",
        PendingRestore = "pendingRestore" / "pending restore",
    }
}

statuses! {
    /// Host statuses (RFC 5732).
    HostStatus {
        Ok = "ok" / "active",
        Linked = "linked" / "associated",
        ClientDeleteProhibited = "clientDeleteProhibited" / "client delete prohibited",
        ServerDeleteProhibited = "serverDeleteProhibited" / "server delete prohibited",
        ClientUpdateProhibited = "clientUpdateProhibited" / "client update prohibited",
        ServerUpdateProhibited = "serverUpdateProhibited" / "server update prohibited",
        PendingCreate = "pendingCreate" / "pending create",
        PendingDelete = "pendingDelete" / "pending delete",
        PendingTransfer = "pendingTransfer" / "pending transfer",
        PendingUpdate = "pendingUpdate" / "pending update",
    }
}

impl DomainStatus {
    /// Whether this is a Registry Grace Period status (RFC 3915 `rgpStatus`), not an EPP one.
    pub fn is_rgp(self) -> bool {
        matches!(
            self,
            Self::AddPeriod
                | Self::AutoRenewPeriod
                | Self::RenewPeriod
                | Self::TransferPeriod
                | Self::RedemptionPeriod
                | Self::PendingRestore
        )
    }

    /// Check a domain's status set against the EPP rules (RFC 5731 §2.3) that the ICANN
    /// conformance tool also enforces on RDAP output.
    ///
    /// # Errors
    /// A message naming the conflicting statuses.
    pub fn check_combination(set: &[Self]) -> Result<(), Invalid> {
        use DomainStatus as S;
        let has = |s: S| set.contains(&s);
        if set.is_empty() {
            return Err(Invalid::NoStatus("domain"));
        }
        for (i, s) in set.iter().enumerate() {
            if set[..i].contains(s) {
                return Err(Invalid::StatusTwice(s.epp()));
            }
        }
        // RFC 5731 §2.3: `ok` excludes every other EPP status. The RGP statuses (RFC 3915 §3)
        // are a separate `rgpStatus` dimension, so `ok` with `addPeriod` is a normal new domain.
        if has(S::Ok) && set.iter().any(|s| *s != S::Ok && !s.is_rgp()) {
            return Err(Invalid::OkCombined);
        }
        let pending = [
            S::PendingCreate,
            S::PendingDelete,
            S::PendingRenew,
            S::PendingTransfer,
            S::PendingUpdate,
        ];
        if pending.iter().filter(|p| has(**p)).count() > 1 {
            return Err(Invalid::TwoPending);
        }
        let conflicts = [
            (S::PendingDelete, S::ClientDeleteProhibited),
            (S::PendingDelete, S::ServerDeleteProhibited),
            (S::PendingRenew, S::ClientRenewProhibited),
            (S::PendingRenew, S::ServerRenewProhibited),
            (S::PendingTransfer, S::ClientTransferProhibited),
            (S::PendingTransfer, S::ServerTransferProhibited),
            (S::PendingUpdate, S::ClientUpdateProhibited),
            (S::PendingUpdate, S::ServerUpdateProhibited),
        ];
        for (a, b) in conflicts {
            if has(a) && has(b) {
                return Err(Invalid::StatusConflict(a.epp(), b.epp()));
            }
        }
        if (has(S::RedemptionPeriod) || has(S::PendingRestore)) && !has(S::PendingDelete) {
            return Err(Invalid::RedemptionWithoutDelete);
        }
        Ok(())
    }
}

impl HostStatus {
    /// Check a host's status set (RFC 5732 §2.3).
    ///
    /// # Errors
    /// A message naming the conflicting statuses.
    pub fn check_combination(set: &[Self]) -> Result<(), Invalid> {
        if set.is_empty() {
            return Err(Invalid::NoStatus("host"));
        }
        for (i, s) in set.iter().enumerate() {
            if set[..i].contains(s) {
                return Err(Invalid::StatusTwice(s.epp()));
            }
        }
        if set.contains(&Self::Ok) && set.iter().any(|s| !matches!(s, Self::Ok | Self::Linked)) {
            return Err(Invalid::HostOkCombined);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roid_format() {
        assert!(Roid::parse("D123-EXAMPLE").is_ok());
        assert!(Roid::parse("D_1_2-EX").is_ok());
        for bad in [
            "",
            "D123",
            "-EXAMPLE",
            "D123-",
            "D1-TOOLONGSUFFIX",
            "D 1-X",
            "D1-EX.A",
        ] {
            assert!(Roid::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn status_combinations() {
        use DomainStatus as S;
        assert!(S::check_combination(&[S::Ok]).is_ok());
        assert!(S::check_combination(&[S::PendingDelete, S::RedemptionPeriod]).is_ok());
        assert!(S::check_combination(&[S::Ok, S::ClientHold]).is_err());
        for rgp in [
            S::AddPeriod,
            S::AutoRenewPeriod,
            S::RenewPeriod,
            S::TransferPeriod,
        ] {
            assert!(S::check_combination(&[S::Ok, rgp]).is_ok(), "{rgp:?}");
        }
        assert!(S::check_combination(&[S::Ok, S::AddPeriod, S::ClientHold]).is_err());
        assert!(S::check_combination(&[S::Ok, S::RedemptionPeriod]).is_err());
        assert!(S::check_combination(&[S::RedemptionPeriod]).is_err());
        assert!(S::check_combination(&[S::PendingDelete, S::ClientDeleteProhibited]).is_err());
        assert!(S::check_combination(&[S::PendingDelete, S::PendingTransfer]).is_err());
        assert!(S::check_combination(&[]).is_err());
        assert!(HostStatus::check_combination(&[HostStatus::Ok, HostStatus::Linked]).is_ok());
        assert!(
            HostStatus::check_combination(&[HostStatus::Ok, HostStatus::PendingDelete]).is_err()
        );
    }

    #[test]
    fn every_status_round_trips() {
        for s in DomainStatus::ALL {
            assert_eq!(DomainStatus::from_epp(s.epp()), Some(*s));
        }
        for s in HostStatus::ALL {
            assert_eq!(HostStatus::from_epp(s.epp()), Some(*s));
        }
    }

    #[test]
    fn timestamps_print_rfc3339_utc() {
        let t = Timestamp::from_unix(0);
        assert_eq!(t.text().as_str(), "1970-01-01T00:00:00Z");
        let t = Timestamp::from_unix(1_709_294_400 + 3_599);
        assert_eq!(t.text().as_str(), "2024-03-01T12:59:59Z");
        let t = Timestamp::from_unix(253_402_300_799);
        assert_eq!(t.text().as_str(), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn consent_bits() {
        let c = Consent::default().with(ContactField::Email);
        assert!(c.allows(ContactField::Email));
        assert!(!c.allows(ContactField::Name));
    }

    #[test]
    fn a_packed_contact_gives_back_every_field() {
        let roid = Roid::parse("C1-EX").expect("valid ROID");
        let full = Contact::new(ContactParts {
            roid: &roid,
            name: "Ana",
            org: Some(""),
            street: &["1 Main St", "Floor 2"],
            city: "Oslo",
            sp: None,
            pc: Some("0150"),
            cc: "NO",
            voice: Some(PhoneRef {
                number: "+47.1",
                ext: Some("9"),
            }),
            fax: None,
            email: "a@b.example",
            person: PersonType::Natural,
            consent: Consent::default(),
        });
        assert_eq!(full.name(), "Ana");
        assert_eq!(full.org(), Some(""), "present but empty is not absent");
        assert_eq!(
            full.street().iter().collect::<Vec<_>>(),
            ["1 Main St", "Floor 2"]
        );
        assert_eq!(full.city(), "Oslo");
        assert_eq!(full.sp(), None);
        assert_eq!(full.pc(), Some("0150"));
        assert_eq!(full.cc(), "NO");
        assert_eq!(
            full.voice().map(|v| v.tel_uri()).as_deref(),
            Some("tel:+47.1;ext=9")
        );
        assert!(full.fax().is_none());
        assert_eq!(full.email(), "a@b.example");
        let bare = Contact::new(ContactParts {
            street: &[],
            org: None,
            voice: None,
            ..ContactParts {
                ..full_parts(&roid)
            }
        });
        assert!(bare.street().is_empty());
        assert_eq!(bare.street().len(), 0);
        assert!(bare.org().is_none() && bare.voice().is_none());
    }

    #[test]
    fn a_value_past_the_packing_bound_is_left_out_and_the_others_stay_in_place() {
        let roid = Roid::parse("C1-T").expect("roid");
        let huge = "x".repeat(70_000);
        let c = Contact::new(ContactParts {
            org: Some(&huge),
            ..full_parts(&roid)
        });
        assert_eq!(c.org(), None, "never misplaced offsets");
        assert_eq!(c.name(), "N");
        assert_eq!(c.city(), "C");
        assert_eq!(c.email(), "e@x.example");
    }

    fn full_parts(roid: &Roid) -> ContactParts<'_> {
        ContactParts {
            roid,
            name: "N",
            org: Some("O"),
            street: &["S"],
            city: "C",
            sp: Some("P"),
            pc: None,
            cc: "DE",
            voice: None,
            fax: Some(PhoneRef {
                number: "+49.2",
                ext: None,
            }),
            email: "e@x.example",
            person: PersonType::Legal,
            consent: Consent::default(),
        }
    }

    #[test]
    fn phone_uri() {
        let p = Phone {
            number: "+1.7035555555".into(),
            ext: Some("123".into()),
        };
        assert_eq!(p.tel_uri(), "tel:+1.7035555555;ext=123");
    }
}
