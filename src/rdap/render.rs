//! Pure rendering: redacted views to RDAP JSON (RFC 9083), following the ICANN gTLD RDAP
//! Response Profile (February 2024), with RFC 9537 `redacted` entries derived from the same
//! view that decided what to show.
//!
//! Every function here takes views from [`crate::policy`], never registry records with personal
//! data, so a public response can only contain what the policy cleared.

use serde_json::{json, Map, Value};

use crate::policy::{ContactView, DomainView, Field, HostView, RegistrarView, ViewRole};
use crate::registry::{DomainName, Host, PhoneRef, Registrar, Timestamp, REGISTRY_AS_REGISTRAR};

/// The extension identifiers every response carries.
pub const CONFORMANCE: [&str; 3] = [
    "rdap_level_0",
    "icann_rdap_response_profile_1",
    "icann_rdap_technical_implementation_guide_1",
];

/// The `redacted` extension identifier (RFC 9537).
pub const REDACTED_EXTENSION: &str = "redacted";

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
}

impl Context<'_> {
    /// The context URI for notice and referral links: the request URL when known, else the
    /// canonical URL of the answered object.
    fn query_url<'s>(&'s self, canonical: &'s str) -> &'s str {
        self.request_url.unwrap_or(canonical)
    }
}

/// RFC 9537 entries collected while rendering one response.
#[derive(Debug, Default)]
struct Redactions(Vec<Value>);

/// How a withheld value disappears.
#[derive(Clone, Copy)]
enum Method {
    /// The member or property is gone; `prePath` points where it was.
    Removal,
    /// The value is an empty string; `postPath` resolves to it.
    EmptyValue,
}

impl Redactions {
    fn add(&mut self, name: Name, method: Method, path: String) {
        let name = match name {
            Name::Registered(t) => json!({ "type": t }),
            Name::Description(d) => json!({ "description": d }),
        };
        let mut entry = Map::new();
        entry.insert("name".into(), name);
        match method {
            Method::Removal => {
                entry.insert("prePath".into(), Value::String(path));
                entry.insert("pathLang".into(), "jsonpath".into());
                entry.insert("method".into(), "removal".into());
            }
            Method::EmptyValue => {
                entry.insert("postPath".into(), Value::String(path));
                entry.insert("pathLang".into(), "jsonpath".into());
                entry.insert("method".into(), "emptyValue".into());
            }
        }
        entry.insert("reason".into(), json!({ "description": "Server policy" }));
        self.0.push(Value::Object(entry));
    }
}

/// A redaction name: a type from the IANA "redacted name" registry, or a free description for
/// fields the registry has no name for.
#[derive(Clone, Copy)]
enum Name {
    Registered(&'static str),
    Description(&'static str),
}

/// The part of a contact a redaction entry is about.
#[derive(Clone, Copy)]
enum Part {
    Handle,
    Name,
    Org,
    Street,
    City,
    Sp,
    Pc,
    Address,
    Phone,
    PhoneExt,
    Fax,
    FaxExt,
    Email,
}

fn redaction_name(role: ViewRole, part: Part) -> Name {
    use Name::{Description as D, Registered as R};
    match role {
        ViewRole::Registrant => match part {
            Part::Handle => R("Registry Registrant ID"),
            Part::Name => R("Registrant Name"),
            Part::Org => R("Registrant Organization"),
            Part::Street => R("Registrant Street"),
            Part::City => R("Registrant City"),
            Part::Sp => D("Registrant State/Province"),
            Part::Pc => R("Registrant Postal Code"),
            Part::Address => D("Registrant Address"),
            Part::Phone => R("Registrant Phone"),
            Part::PhoneExt => R("Registrant Phone Ext"),
            Part::Fax => R("Registrant Fax"),
            Part::FaxExt => R("Registrant Fax Ext"),
            Part::Email => R("Registrant Email"),
        },
        ViewRole::Technical => match part {
            Part::Handle => R("Registry Tech ID"),
            Part::Name => R("Tech Name"),
            Part::Org => D("Tech Organization"),
            Part::Street => D("Tech Street"),
            Part::City => D("Tech City"),
            Part::Sp => D("Tech State/Province"),
            Part::Pc => D("Tech Postal Code"),
            Part::Address => D("Tech Address"),
            Part::Phone => R("Tech Phone"),
            Part::PhoneExt => R("Tech Phone Ext"),
            Part::Fax => D("Tech Fax"),
            Part::FaxExt => D("Tech Fax Ext"),
            Part::Email => R("Tech Email"),
        },
        ViewRole::Standalone(_) => D(match part {
            Part::Handle => "Contact ID",
            Part::Name => "Contact Name",
            Part::Org => "Contact Organization",
            Part::Street => "Contact Street",
            Part::City => "Contact City",
            Part::Sp => "Contact State/Province",
            Part::Pc => "Contact Postal Code",
            Part::Address => "Contact Address",
            Part::Phone => "Contact Phone",
            Part::PhoneExt => "Contact Phone Ext",
            Part::Fax => "Contact Fax",
            Part::FaxExt => "Contact Fax Ext",
            Part::Email => "Contact Email",
        }),
    }
}

fn link(value: &str, rel: &str, href: &str, media: &str) -> Value {
    json!({ "value": value, "rel": rel, "href": href, "type": media })
}

fn event(action: &str, date: &Timestamp) -> Value {
    json!({ "eventAction": action, "eventDate": date.text().as_str() })
}

fn conformance(with_redacted: bool) -> Value {
    let mut ids: Vec<Value> = CONFORMANCE.iter().map(|s| Value::from(*s)).collect();
    if with_redacted {
        ids.push(REDACTED_EXTENSION.into());
    }
    Value::Array(ids)
}

fn terms_notice(ctx: &Context<'_>, query_url: &str) -> Value {
    json!({
        "title": "Terms of Service",
        "description": [
            "Service subject to the Terms of Service of the registry.",
            "The data in this record is provided for information purposes only. It may not be used to collect registration data in bulk, or for marketing or any other unlawful purpose."
        ],
        "links": [link(query_url, "terms-of-service", ctx.terms_url, "text/html")]
    })
}

fn status_codes_notice(query_url: &str) -> Value {
    json!({
        "title": "Status Codes",
        "description": ["For more information on domain status codes, please visit https://icann.org/epp"],
        "links": [link(query_url, "glossary", "https://icann.org/epp", "text/html")]
    })
}

fn inaccuracy_notice(query_url: &str) -> Value {
    json!({
        "title": "RDDS Inaccuracy Complaint Form",
        "description": ["URL of the ICANN RDDS Inaccuracy Complaint Form: https://icann.org/wicf"],
        "links": [link(query_url, "help", "https://icann.org/wicf", "text/html")]
    })
}

/// Wrap an object as a top-most response: conformance first, then the object, notices and any
/// redactions.
fn top(mut obj: Map<String, Value>, notices: Vec<Value>, redactions: Redactions) -> Value {
    let mut out = Map::new();
    out.insert(
        "rdapConformance".into(),
        conformance(!redactions.0.is_empty()),
    );
    out.append(&mut obj);
    out.insert("notices".into(), Value::Array(notices));
    if !redactions.0.is_empty() {
        out.insert("redacted".into(), Value::Array(redactions.0));
    }
    Value::Object(out)
}

fn vcard(props: Vec<Value>) -> Value {
    let mut all = vec![json!(["version", {}, "text", "4.0"])];
    all.extend(props);
    json!(["vcard", all])
}

fn tel(kind: &str, phone: PhoneRef<'_>) -> Value {
    json!(["tel", { "type": kind }, "uri", phone.tel_uri()])
}

/// The seven-slot jCard `adr` value (RFC 6350 §6.3.1) with the country in the `cc` parameter
/// and an empty country-name slot, as the gTLD profile requires (RP24 §1.4).
fn adr(street: Value, city: &str, sp: &str, pc: &str, cc: &str) -> Value {
    json!(["adr", { "cc": cc }, "text", ["", "", street, city, sp, pc, ""]])
}

fn street_value<'s>(lines: impl IntoIterator<Item = &'s str>) -> Value {
    let mut all: Vec<&str> = lines.into_iter().collect();
    match all.len() {
        0 => Value::from(""),
        1 => Value::from(all.remove(0)),
        _ => Value::from(all),
    }
}

/// A contact entity. `at` is the JSONPath of the entity in the final response (e.g.
/// `$.entities[?(@.roles[0]=='registrant')]`, or `$` for a top-level lookup).
fn contact_entity(
    view: &ContactView<'_>,
    at: &str,
    base_url: &str,
    red: &mut Redactions,
) -> Map<String, Value> {
    let role = view.role();
    let name = |p| redaction_name(role, p);
    let vc = format!("{at}.vcardArray[1]");
    let mut props = Vec::new();

    match view.name() {
        Field::Shown(n) => props.push(json!(["fn", {}, "text", n])),
        _ => {
            props.push(json!(["fn", {}, "text", ""]));
            red.add(
                name(Part::Name),
                Method::EmptyValue,
                format!("{vc}[?(@[0]=='fn')][3]"),
            );
        }
    }
    match view.org() {
        Field::Shown(o) => props.push(json!(["org", {}, "text", o])),
        Field::Withheld => red.add(
            name(Part::Org),
            Method::Removal,
            format!("{vc}[?(@[0]=='org')]"),
        ),
        Field::Absent => {}
    }
    if let Field::Shown(cc) = view.cc() {
        let slot = |f: Field<&str>, part: Part, idx: usize, red: &mut Redactions| match f {
            Field::Shown(v) => v.to_string(),
            Field::Absent => String::new(),
            Field::Withheld => {
                red.add(
                    name(part),
                    Method::EmptyValue,
                    format!("{vc}[?(@[0]=='adr')][3][{idx}]"),
                );
                String::new()
            }
        };
        let street = match view.street() {
            Field::Shown(lines) => street_value(lines.iter()),
            Field::Absent => Value::from(""),
            Field::Withheld => {
                red.add(
                    name(Part::Street),
                    Method::EmptyValue,
                    format!("{vc}[?(@[0]=='adr')][3][:3]"),
                );
                Value::from("")
            }
        };
        let city = slot(view.city(), Part::City, 3, red);
        let sp = slot(view.sp(), Part::Sp, 4, red);
        let pc = slot(view.pc(), Part::Pc, 5, red);
        props.push(adr(street, &city, &sp, &pc, cc));
    } else {
        red.add(
            name(Part::Address),
            Method::Removal,
            format!("{vc}[?(@[0]=='adr')]"),
        );
    }
    for (field, kind, part, ext) in [
        (view.voice(), "voice", Part::Phone, Part::PhoneExt),
        (view.fax(), "fax", Part::Fax, Part::FaxExt),
    ] {
        match field {
            Field::Shown(p) => props.push(tel(kind, p)),
            Field::Withheld => {
                // The extension lives inside the tel URI, so it goes with its number.
                let path = format!("{vc}[?(@[1].type=='{kind}')]");
                red.add(name(part), Method::Removal, path.clone());
                red.add(name(ext), Method::Removal, path);
            }
            // Only an audience allowed to see the field learns that it is absent (the public
            // policy never publishes a phone, so the public sees "withheld" instead): nothing
            // was withheld, so there is no entry, as for an absent organisation.
            Field::Absent => {}
        }
    }
    match view.email() {
        Field::Shown(e) => props.push(json!(["email", {}, "text", e])),
        Field::Absent => {}
        Field::Withheld => red.add(
            name(Part::Email),
            Method::Removal,
            format!("{vc}[?(@[0]=='email')]"),
        ),
    }

    let mut obj = Map::new();
    obj.insert("objectClassName".into(), "entity".into());
    match view.handle() {
        Field::Shown(h) => {
            obj.insert("handle".into(), h.into());
        }
        _ => red.add(name(Part::Handle), Method::Removal, format!("{at}.handle")),
    }
    match role {
        ViewRole::Registrant => {
            obj.insert("roles".into(), json!(["registrant"]));
        }
        ViewRole::Technical => {
            obj.insert("roles".into(), json!(["technical"]));
        }
        ViewRole::Standalone(_) => {}
    }
    obj.insert("vcardArray".into(), vcard(props));
    if let Field::Shown(h) = view.handle() {
        let url = format!("{base_url}entity/{h}");
        obj.insert(
            "links".into(),
            json!([link(&url, "self", &url, "application/rdap+json")]),
        );
    }
    obj
}

fn abuse_entity(r: &Registrar) -> Value {
    json!({
        "objectClassName": "entity",
        "roles": ["abuse"],
        "vcardArray": vcard(vec![
            json!(["fn", {}, "text", "Abuse Contact"]),
            tel("voice", r.abuse_phone.as_ref()),
            json!(["email", {}, "text", r.abuse_email]),
        ]),
    })
}

/// The registrar entity: as embedded in a domain or nameserver (`full = false`: name, IDs,
/// URL, WHOIS server, abuse contact, `about` link), or as a top-level lookup (`full = true`:
/// also address, business contacts and a self link).
///
/// The abuse entity is nested in both: port 43 prints the abuse contact in the registrar record
/// too, and the two protocols publish the same values. (rdap-test 0.0.30 mistakes an entity
/// nested in a top-level entity for a second root and reports check 100; the conformance script
/// skips exactly that check for registrar lookups, see `scripts/conformance.sh`.)
fn registrar_entity(r: &Registrar, ctx: &Context<'_>, full: bool) -> Map<String, Value> {
    let id = r.iana_id.to_string();
    let mut props = vec![json!(["fn", {}, "text", r.name])];
    if full {
        let a = &r.address;
        props.push(adr(
            street_value(a.street.iter().map(String::as_str)),
            &a.city,
            a.sp.as_deref().unwrap_or(""),
            a.pc.as_deref().unwrap_or(""),
            &a.cc,
        ));
        if let Some(v) = &r.voice {
            props.push(tel("voice", v.as_ref()));
        }
        if let Some(f) = &r.fax {
            props.push(tel("fax", f.as_ref()));
        }
        if let Some(e) = &r.email {
            props.push(json!(["email", {}, "text", e]));
        }
    }
    // The Registrar URL is a Specification 4 element of domain and nameserver answers, so it
    // is in every registrar entity, not only in the `about` link (which registrars without an
    // RDAP service do not get).
    if let Some(u) = &r.url {
        props.push(json!(["url", {}, "uri", u]));
    }
    let mut obj = Map::new();
    obj.insert("objectClassName".into(), "entity".into());
    obj.insert("handle".into(), id.clone().into());
    obj.insert("roles".into(), json!(["registrar"]));
    obj.insert(
        "publicIds".into(),
        json!([{ "type": "IANA Registrar ID", "identifier": id }]),
    );
    obj.insert("vcardArray".into(), vcard(props));
    // Required inside domain responses (RP24 §2.4.5).
    obj.insert("entities".into(), json!([abuse_entity(r)]));
    let mut links = Vec::new();
    if full {
        let own = format!("{}entity/{}", ctx.base_url, r.iana_id);
        links.push(link(&own, "self", &own, "application/rdap+json"));
    }
    // RP24 §2.4.6: `value` is the registrar's RDAP base URL (IANA Registrar IDs registry) and
    // `href` its web site (the Registrar URL). Without an RDAP base URL (the registry as its own
    // registrar) there is no about link at all; without a web site there is nothing to point to.
    if let (Some(base), Some(site)) = (&r.rdap_base_url, &r.url) {
        links.push(link(base, "about", site, "text/html"));
    }
    if !links.is_empty() {
        obj.insert("links".into(), Value::Array(links));
    }
    // The registrar's own WHOIS server, where its record of the object lives (RFC 9083 §4.7);
    // port 43 prints it as `Registrar WHOIS Server`.
    if let Some(w) = &r.whois_server {
        obj.insert("port43".into(), w.as_str().into());
    }
    obj
}

fn ip_addresses(host: &Host) -> Option<Value> {
    if host.addresses.is_empty() {
        return None;
    }
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for ip in &host.addresses {
        // std's Display is RFC 5952 canonical text for IPv6.
        match ip {
            std::net::IpAddr::V4(a) => v4.push(Value::from(a.to_string())),
            std::net::IpAddr::V6(a) => v6.push(Value::from(a.to_string())),
        }
    }
    let mut m = Map::new();
    if !v4.is_empty() {
        m.insert("v4".into(), Value::Array(v4));
    }
    if !v6.is_empty() {
        m.insert("v6".into(), Value::Array(v6));
    }
    Some(Value::Object(m))
}

/// `ldhName`, `unicodeName` (IDNs only) and `status`, shared by domains and nameservers.
fn insert_name_and_status<'a>(
    obj: &mut Map<String, Value>,
    name: &DomainName,
    statuses: impl Iterator<Item = &'a str>,
) {
    obj.insert("ldhName".into(), name.ascii().into());
    if name.is_idn() {
        obj.insert("unicodeName".into(), name.unicode().into());
    }
    obj.insert("status".into(), statuses.map(Value::from).collect());
}

fn nameserver_object(host: &Host, ctx: &Context<'_>) -> Map<String, Value> {
    let url = format!("{}nameserver/{}", ctx.base_url, host.name.ascii());
    let mut obj = Map::new();
    obj.insert("objectClassName".into(), "nameserver".into());
    obj.insert("handle".into(), host.roid.as_str().into());
    insert_name_and_status(&mut obj, &host.name, host.statuses.iter().map(|s| s.rdap()));
    if let Some(ips) = ip_addresses(host) {
        obj.insert("ipAddresses".into(), ips);
    }
    obj.insert(
        "links".into(),
        json!([link(&url, "self", &url, "application/rdap+json")]),
    );
    obj
}

/// A domain lookup response.
pub fn domain(view: &DomainView<'_>, ctx: &Context<'_>) -> Value {
    let self_url = format!("{}domain/{}", ctx.base_url, view.name().ascii());
    let mut red = Redactions::default();
    let mut obj = Map::new();
    obj.insert("objectClassName".into(), "domain".into());
    match view.handle() {
        Field::Shown(h) => {
            obj.insert("handle".into(), h.into());
        }
        _ => red.add(
            Name::Registered("Registry Domain ID"),
            Method::Removal,
            "$.handle".into(),
        ),
    }
    insert_name_and_status(
        &mut obj,
        view.name(),
        view.statuses().iter().map(|s| s.rdap()),
    );

    let mut events = vec![
        event("registration", view.created()),
        event("expiration", view.expires()),
    ];
    if let Some(u) = view.updated() {
        events.push(event("last changed", u));
    }
    events.push(event("last update of RDAP database", ctx.db_updated));
    obj.insert("events".into(), Value::Array(events));

    let mut links = vec![link(&self_url, "self", &self_url, "application/rdap+json")];
    let registrar = view.registrar();
    if registrar.iana_id != REGISTRY_AS_REGISTRAR {
        if let Some(base) = &registrar.rdap_base_url {
            let href = format!("{base}domain/{}", view.name().ascii());
            links.push(link(
                ctx.query_url(&self_url),
                "related",
                &href,
                "application/rdap+json",
            ));
        }
    }
    obj.insert("links".into(), Value::Array(links));

    let mut secure = Map::new();
    secure.insert("delegationSigned".into(), (!view.ds().is_empty()).into());
    if !view.ds().is_empty() {
        let ds: Vec<Value> = view
            .ds()
            .iter()
            .map(|ds| json!({ "keyTag": ds.key_tag, "algorithm": ds.algorithm, "digestType": ds.digest_type, "digest": ds.digest }))
            .collect();
        secure.insert("dsData".into(), Value::Array(ds));
    }
    obj.insert("secureDNS".into(), Value::Object(secure));

    if !view.nameservers().is_empty() {
        let ns: Vec<Value> = view
            .nameservers()
            .iter()
            .map(|h| Value::Object(nameserver_object(h, ctx)))
            .collect();
        obj.insert("nameservers".into(), Value::Array(ns));
    }

    let mut entities = vec![Value::Object(registrar_entity(registrar, ctx, false))];
    if let Some(r) = view.registrant() {
        entities.push(Value::Object(contact_entity(
            r,
            "$.entities[?(@.roles[0]=='registrant')]",
            ctx.base_url,
            &mut red,
        )));
    }
    if let Some(t) = view.technical() {
        entities.push(Value::Object(contact_entity(
            t,
            "$.entities[?(@.roles[0]=='technical')]",
            ctx.base_url,
            &mut red,
        )));
    }
    obj.insert("entities".into(), Value::Array(entities));
    if let Some(p) = ctx.port43 {
        obj.insert("port43".into(), p.into());
    }
    let notices = vec![
        terms_notice(ctx, ctx.query_url(&self_url)),
        status_codes_notice(ctx.query_url(&self_url)),
        inaccuracy_notice(ctx.query_url(&self_url)),
    ];
    top(obj, notices, red)
}

/// A nameserver lookup response.
pub fn nameserver(view: &HostView<'_>, ctx: &Context<'_>) -> Value {
    let h = view.host();
    let self_url = format!("{}nameserver/{}", ctx.base_url, h.name.ascii());
    let mut obj = nameserver_object(h, ctx);
    let mut events = Vec::new();
    if let Some(c) = &h.created {
        events.push(event("registration", c));
    }
    if let Some(u) = &h.updated {
        events.push(event("last changed", u));
    }
    events.push(event("last update of RDAP database", ctx.db_updated));
    obj.insert("events".into(), Value::Array(events));
    if let Some(r) = view.registrar() {
        obj.insert(
            "entities".into(),
            json!([Value::Object(registrar_entity(r, ctx, false))]),
        );
    }
    if let Some(p) = ctx.port43 {
        obj.insert("port43".into(), p.into());
    }
    top(
        obj,
        vec![terms_notice(ctx, ctx.query_url(&self_url))],
        Redactions::default(),
    )
}

/// A registrar entity lookup response.
pub fn registrar(view: &RegistrarView<'_>, ctx: &Context<'_>) -> Value {
    let r = view.registrar();
    let self_url = format!("{}entity/{}", ctx.base_url, r.iana_id);
    let mut obj = registrar_entity(r, ctx, true);
    obj.insert(
        "events".into(),
        json!([event("last update of RDAP database", ctx.db_updated)]),
    );
    top(
        obj,
        vec![terms_notice(ctx, ctx.query_url(&self_url))],
        Redactions::default(),
    )
}

/// A contact entity lookup response.
pub fn contact(view: &ContactView<'_>, ctx: &Context<'_>) -> Value {
    let self_url = format!(
        "{}entity/{}",
        ctx.base_url,
        view.lookup_handle().unwrap_or_default()
    );
    let mut red = Redactions::default();
    let mut obj = contact_entity(view, "$", ctx.base_url, &mut red);
    obj.insert(
        "events".into(),
        json!([event("last update of RDAP database", ctx.db_updated)]),
    );
    if let Some(p) = ctx.port43 {
        obj.insert("port43".into(), p.into());
    }
    top(obj, vec![terms_notice(ctx, ctx.query_url(&self_url))], red)
}

/// Add the notice that tells an authority what it received and under which statement.
pub fn add_disclosure_notice(value: &mut Value, grant: &crate::authority::Grant) {
    let notice = json!({
        "title": "Disclosure of Non-Public Registration Data",
        "type": "object redacted due to authorization",
        "description": [
            format!("This response contains non-public registration data disclosed to {} (credential {}) for the purpose {} under the legal basis \"{}\", case reference \"{}\".", grant.authority(), grant.credential_id(), grant.purpose().key(), grant.legal_basis(), grant.case_reference()),
            format!("Request {}. The disclosure is recorded in the registry's disclosure log. Use the data only for the stated purpose and do not retain it longer than needed.", grant.request_id()),
        ],
    });
    if let Some(notices) = value.get_mut("notices").and_then(Value::as_array_mut) {
        notices.push(notice);
    }
}

/// The `/help` response.
pub fn help(ctx: &Context<'_>) -> Value {
    let url = format!("{}help", ctx.base_url);
    let service = json!({
        "title": "Service",
        "description": [
            "This service answers RDAP lookups for the domains, nameservers and registrars of this registry:",
            "/domain/<name> (A-label or U-label), /nameserver/<name>, /entity/<IANA Registrar ID>, /entity/<contact ROID>, /help.",
            "Searches and IP or AS number lookups are not offered (HTTP 501).",
            "Personal data of registrants is redacted according to the ICANN Registration Data Policy; the \"redacted\" member (RFC 9537) lists what was withheld."
        ],
        "links": [link(ctx.query_url(&url), "self", &url, "application/rdap+json")]
    });
    top(
        Map::new(),
        vec![terms_notice(ctx, ctx.query_url(&url)), service],
        Redactions::default(),
    )
}

/// An RFC 9083 §6 error body.
pub fn error(status: u16, title: &str, description: &str) -> Value {
    json!({
        "rdapConformance": conformance(false),
        "errorCode": status,
        "title": title,
        "description": [description],
    })
}

/// An error body for a client refused by the harvesting defence, with a notice naming the limit.
pub fn limited(status: u16, title: &str, text: &str, retry_after: Option<u64>) -> Value {
    let mut description = vec![text.to_string()];
    if let Some(s) = retry_after {
        description.push(format!("Retry after {s} seconds."));
    }
    json!({
        "rdapConformance": conformance(false),
        "errorCode": status,
        "title": title,
        "description": [text],
        "notices": [{ "title": "Query Limits", "description": description }],
    })
}
