//! The object renderers: domain, nameserver, registrar and contact lookups, `/help`, search
//! notices, and error bodies.

use super::*;

pub(super) fn abuse_entity(w: &mut Json, r: &Registrar) {
    w.begin_object();
    w.member_lit("objectClassName", lit!("entity"));
    w.key("roles");
    w.begin_array();
    w.lit(lit!("abuse"));
    w.end_array();
    begin_vcard(w);
    text_prop(w, lit!("fn"), lit!("text"), "Abuse Contact");
    tel(w, lit!("voice"), r.abuse_phone.as_ref());
    text_prop(w, lit!("email"), lit!("text"), &r.abuse_email);
    end_vcard(w);
    w.end_object();
}

/// The members of the registrar entity (a lookup adds its own after them): as embedded in a domain or
/// nameserver (`full = false`: name, IDs, URL, WHOIS server, abuse contact, `about` link), or
/// as a top-level lookup (`full = true`: also address, business contacts and a self link).
///
/// The abuse entity is nested in both: port 43 prints the abuse contact in the registrar record
/// too, and the two protocols publish the same values. (rdap-test 0.0.30 mistakes an entity
/// nested in a top-level entity for a second root and reports check 100; the conformance script
/// skips exactly that check for registrar lookups, see `scripts/conformance.sh`.)
pub(super) fn registrar_members(w: &mut Json, r: &Registrar, ctx: &Context<'_>, full: bool) {
    let mut id_buf = [0; 20];
    let id = decimal(u64::from(r.iana_id), &mut id_buf);
    w.member_lit("objectClassName", lit!("entity"));
    w.member("handle", id);
    w.key("roles");
    w.begin_array();
    w.lit(lit!("registrar"));
    w.end_array();
    w.key("publicIds");
    w.begin_array();
    w.begin_object();
    w.member_lit("type", lit!("IANA Registrar ID"));
    w.member("identifier", id);
    w.end_object();
    w.end_array();

    begin_vcard(w);
    text_prop(w, lit!("fn"), lit!("text"), &r.name);
    if full {
        let a = &r.address;
        begin_adr(w, &a.cc);
        street_value(w, a.street.iter().map(String::as_str));
        w.string(&a.city);
        w.string(a.sp.as_deref().unwrap_or(""));
        w.string(a.pc.as_deref().unwrap_or(""));
        end_adr(w);
        if let Some(v) = &r.voice {
            tel(w, lit!("voice"), v.as_ref());
        }
        if let Some(f) = &r.fax {
            tel(w, lit!("fax"), f.as_ref());
        }
        if let Some(e) = &r.email {
            text_prop(w, lit!("email"), lit!("text"), e);
        }
    }
    // The Registrar URL is a Specification 4 element of domain and nameserver answers, so it
    // is in every registrar entity, not only in the `about` link (which registrars without an
    // RDAP service do not get).
    if let Some(u) = &r.url {
        text_prop(w, lit!("url"), lit!("uri"), u);
    }
    end_vcard(w);

    // Required inside domain responses (RP24 §2.4.5).
    w.key("entities");
    w.begin_array();
    abuse_entity(w, r);
    w.end_array();

    // RP24 §2.4.6: `value` is the registrar's RDAP base URL (IANA Registrar IDs registry) and
    // `href` its web site (the Registrar URL). Without an RDAP base URL (the registry as its own
    // registrar) there is no about link at all; without a web site there is nothing to point to.
    let about = r.rdap_base_url.as_deref().zip(r.url.as_deref());
    if full || about.is_some() {
        w.key("links");
        w.begin_array();
        if full {
            let own = [ctx.base_url, "entity/", id];
            link(w, &own, lit!("self"), &own, RDAP_JSON);
        }
        if let Some((base, site)) = about {
            link(w, &[base], lit!("about"), &[site], lit!("text/html"));
        }
        w.end_array();
    }
    // The registrar's own WHOIS server, where its record of the object lives (RFC 9083 §4.7);
    // port 43 prints it as `Registrar WHOIS Server`.
    if let Some(s) = &r.whois_server {
        w.member("port43", s);
    }
}

pub(super) fn ip_addresses(w: &mut Json, host: &Host) {
    if host.addresses.is_empty() {
        return;
    }
    w.key("ipAddresses");
    w.begin_object();
    // std's Display is RFC 5952 canonical text for IPv6.
    for (key, v6) in [("v4", false), ("v6", true)] {
        let mut family = host.addresses.iter().filter(|ip| ip.is_ipv6() == v6);
        if let Some(first) = family.next() {
            w.key(key);
            w.begin_array();
            w.display(first);
            for ip in family {
                w.display(ip);
            }
            w.end_array();
        }
    }
    w.end_object();
}

/// `ldhName`, `unicodeName` (IDNs only) and `status`, shared by domains and nameservers.
pub(super) fn name_and_status<'a>(
    w: &mut Json,
    name: &DomainName,
    statuses: impl Iterator<Item = &'a str>,
) {
    w.member("ldhName", name.ascii());
    if name.is_idn() {
        w.member("unicodeName", name.unicode());
    }
    w.key("status");
    w.begin_array();
    for s in statuses {
        w.string(s);
    }
    w.end_array();
}

/// The members of a nameserver object (a lookup adds its own after them).
pub(super) fn nameserver_members(w: &mut Json, host: &Host, ctx: &Context<'_>) {
    w.member_lit("objectClassName", lit!("nameserver"));
    w.member("handle", host.roid.as_str());
    name_and_status(w, &host.name, host.statuses.iter().map(|s| s.rdap()));
    ip_addresses(w, host);
    self_links(w, &[ctx.base_url, "nameserver/", host.name.ascii()]);
}

/// A domain lookup response.
pub fn domain(view: &DomainView<'_>, ctx: &Context<'_>) -> Vec<u8> {
    let name = view.name().ascii();
    let self_url = [ctx.base_url, "domain/", name];
    let query_url = ctx.query_url(&self_url);
    let mut top = Top::begin();
    let mut red = Redactions::new();
    let w = &mut top.w;
    w.member_lit("objectClassName", lit!("domain"));
    match view.handle() {
        Field::Shown(h) => w.member("handle", h),
        _ => red.add(Redaction::DomainHandle),
    }
    name_and_status(w, view.name(), view.statuses().iter().map(|s| s.rdap()));

    w.key("events");
    w.begin_array();
    event(w, lit!("registration"), view.created());
    event(w, lit!("expiration"), view.expires());
    if let Some(u) = view.updated() {
        event(w, lit!("last changed"), u);
    }
    event(w, lit!("last update of RDAP database"), ctx.db_updated);
    w.end_array();

    w.key("links");
    w.begin_array();
    link(w, &self_url, lit!("self"), &self_url, RDAP_JSON);
    let registrar = view.registrar();
    if registrar.iana_id != REGISTRY_AS_REGISTRAR {
        if let Some(base) = &registrar.rdap_base_url {
            link(
                w,
                query_url,
                lit!("related"),
                &[base, "domain/", name],
                RDAP_JSON,
            );
        }
    }
    w.end_array();

    w.key("secureDNS");
    w.begin_object();
    w.key("delegationSigned");
    w.bool(!view.ds().is_empty());
    if !view.ds().is_empty() {
        w.key("dsData");
        w.begin_array();
        for ds in view.ds() {
            w.begin_object();
            w.key("keyTag");
            w.uint(u64::from(ds.key_tag));
            w.key("algorithm");
            w.uint(u64::from(ds.algorithm));
            w.key("digestType");
            w.uint(u64::from(ds.digest_type));
            w.member("digest", &ds.digest);
            w.end_object();
        }
        w.end_array();
    }
    w.end_object();

    if !view.nameservers().is_empty() {
        w.key("nameservers");
        w.begin_array();
        for h in view.nameservers() {
            w.begin_object();
            nameserver_members(w, h, ctx);
            w.end_object();
        }
        w.end_array();
    }

    w.key("entities");
    w.begin_array();
    w.begin_object();
    registrar_members(w, registrar, ctx, false);
    w.end_object();
    if let Some(r) = view.registrant() {
        w.begin_object();
        contact_members(w, r, ctx.base_url, &mut red);
        w.end_object();
    }
    if let Some(t) = view.technical() {
        w.begin_object();
        contact_members(w, t, ctx.base_url, &mut red);
        w.end_object();
    }
    w.end_array();
    if let Some(p) = ctx.port43 {
        w.member("port43", p);
    }
    top.end(
        ctx,
        |w| {
            terms_notice(w, ctx, query_url);
            status_codes_notice(w, query_url);
            inaccuracy_notice(w, query_url);
        },
        &red,
    )
}

/// A nameserver lookup response.
pub fn nameserver(view: &HostView<'_>, ctx: &Context<'_>) -> Vec<u8> {
    let h = view.host();
    let self_url = [ctx.base_url, "nameserver/", h.name.ascii()];
    let mut top = Top::begin();
    let w = &mut top.w;
    nameserver_members(w, h, ctx);
    w.key("events");
    w.begin_array();
    if let Some(c) = &h.created {
        event(w, lit!("registration"), c);
    }
    if let Some(u) = &h.updated {
        event(w, lit!("last changed"), u);
    }
    event(w, lit!("last update of RDAP database"), ctx.db_updated);
    w.end_array();
    if let Some(r) = view.registrar() {
        w.key("entities");
        w.begin_array();
        w.begin_object();
        registrar_members(w, r, ctx, false);
        w.end_object();
        w.end_array();
    }
    if let Some(p) = ctx.port43 {
        w.member("port43", p);
    }
    top.end(
        ctx,
        |w| terms_notice(w, ctx, ctx.query_url(&self_url)),
        &Redactions::default(),
    )
}

/// A registrar entity lookup response.
pub fn registrar(view: &RegistrarView<'_>, ctx: &Context<'_>) -> Vec<u8> {
    let r = view.registrar();
    let mut id_buf = [0; 20];
    let self_url = [
        ctx.base_url,
        "entity/",
        decimal(u64::from(r.iana_id), &mut id_buf),
    ];
    let mut top = Top::begin();
    registrar_members(&mut top.w, r, ctx, true);
    db_update_events(&mut top.w, ctx);
    top.end(
        ctx,
        |w| terms_notice(w, ctx, ctx.query_url(&self_url)),
        &Redactions::default(),
    )
}

/// A contact entity lookup response.
pub fn contact(view: &ContactView<'_>, ctx: &Context<'_>) -> Vec<u8> {
    let self_url = [
        ctx.base_url,
        "entity/",
        view.lookup_handle().unwrap_or_default(),
    ];
    let mut top = Top::begin();
    let mut red = Redactions::new();
    let w = &mut top.w;
    contact_members(w, view, ctx.base_url, &mut red);
    db_update_events(w, ctx);
    if let Some(p) = ctx.port43 {
        w.member("port43", p);
    }
    top.end(
        ctx,
        |w| terms_notice(w, ctx, ctx.query_url(&self_url)),
        &red,
    )
}

/// The `/help` response.
pub fn help(ctx: &Context<'_>) -> Vec<u8> {
    let url = [ctx.base_url, "help"];
    let query_url = ctx.query_url(&url);
    let mut top = Top::begin();
    if let Some(farv1) = ctx.farv1 {
        top.add_extension(FARV1_EXTENSION);
        openidc_configuration(&mut top.w, farv1);
    }
    if ctx.searches {
        top.add_extension(PAGING_EXTENSION);
        top.add_extension(REVERSE_SEARCH_EXTENSION);
        reverse_search_properties(&mut top.w);
    }
    let searches: &[&str] = if ctx.searches {
        &[
            "Searches are offered only on the authority route (/authority/…, or with an authority's bearer token), for the purposes the registry's policy allows to search, in pages of a fixed size followed by their \"next\" link (RFC 8977 cursor); on the public paths they answer HTTP 501:",
            "/domains?name=<name or pattern such as exam* or exam*.example>, /nameservers?name=<pattern>, /nameservers?ip=<address>, /entities?fn=<name or Name*>, /entities?handle=<ROID>, /domains/reverse_search/entity?handle=|fn=|email=<value>[&role=registrant|technical] (RFC 9536).",
            "IP or AS number lookups are not offered (HTTP 501).",
        ]
    } else {
        &["Searches and IP or AS number lookups are not offered (HTTP 501)."]
    };
    top.end(
        ctx,
        |w| {
            terms_notice(w, ctx, query_url);
            let mut lines = vec![
                "This service answers RDAP lookups for the domains, nameservers and registrars of this registry:",
                "/domain/<name> (A-label or U-label), /nameserver/<name>, /entity/<IANA Registrar ID>, /entity/<contact ROID>, /help.",
            ];
            lines.extend_from_slice(searches);
            lines.push("Personal data of registrants is redacted according to the ICANN Registration Data Policy; the \"redacted\" member (RFC 9537) lists what was withheld.");
            notice(w, lit!("Service"), &lines, |w| {
                link(w, query_url, lit!("self"), &url, RDAP_JSON)
            });
        },
        &Redactions::default(),
    )
}

/// `reverse_search_properties` (RFC 9536 §4): the domain searches by contact property.
pub(super) fn reverse_search_properties(w: &mut Json) {
    w.key("reverse_search_properties");
    w.begin_array();
    for property in REVERSE_SEARCH_PROPERTIES {
        w.begin_object();
        w.member_lit("searchableResourceType", lit!("domains"));
        w.member_lit("relatedResourceType", lit!("entity"));
        w.member("property", property);
        w.end_object();
    }
    w.end_array();
}

/// The `notices` array of a search answer: the terms of service, for domain results the
/// status codes and inaccuracy notices every domain answer carries (RP24), and last the
/// disclosure notice of the grant.
pub fn search_notices(ctx: &Context<'_>, domains: bool) -> Vec<u8> {
    let url = [ctx.request_url.unwrap_or(ctx.base_url)];
    let mut w = Json::with_capacity(NOTICES_CAPACITY);
    w.begin_array();
    terms_notice(&mut w, ctx, &url);
    if domains {
        status_codes_notice(&mut w, &url);
        inaccuracy_notice(&mut w, &url);
    }
    if let Some(grant) = ctx.disclosure {
        disclosure_notice(&mut w, grant);
    }
    w.end_array();
    w.out
}

/// `farv1_openidcConfiguration` (RFC 9560 §4.1). rddsd takes tokens only (no session login,
/// so no end-user identifier or issuer discovery, no token refresh), and never honours
/// do-not-track, because every disclosure is logged.
pub(super) fn openidc_configuration(w: &mut Json, farv1: &Farv1) {
    w.key("farv1_openidcConfiguration");
    w.begin_object();
    w.key("dntSupported");
    w.bool(false);
    w.key("endUserIdentifierDiscoverySupported");
    w.bool(false);
    w.key("issuerIdentifierSupported");
    w.bool(false);
    w.key("implicitTokenRefreshSupported");
    w.bool(false);
    w.key("openidcProviders");
    w.begin_array();
    for (iss, name) in &farv1.providers {
        w.begin_object();
        w.member("iss", iss);
        w.member("name", name);
        w.end_object();
    }
    w.end_array();
    w.end_object();
}

/// The start of an RFC 9083 §6 error body: conformance, code, title and description.
pub(super) fn begin_error(status: u16, title: &str, description: &str) -> Json {
    let mut w = Json::with_capacity(256 + title.len() + 2 * description.len());
    w.begin_object();
    conformance(&mut w);
    w.key("errorCode");
    w.uint(u64::from(status));
    w.member("title", title);
    w.key("description");
    w.begin_array();
    w.string(description);
    w.end_array();
    w
}

/// An RFC 9083 §6 error body.
pub fn error(status: u16, title: &str, description: &str) -> Vec<u8> {
    let mut w = begin_error(status, title, description);
    w.end_object();
    w.out
}

/// An error body for a client refused by the harvesting defence, with a notice naming the limit.
pub fn limited(status: u16, title: &str, text: &str, retry_after: Option<u64>) -> Vec<u8> {
    let mut w = begin_error(status, title, text);
    w.key("notices");
    w.begin_array();
    w.begin_object();
    w.member_lit("title", lit!("Query Limits"));
    w.key("description");
    w.begin_array();
    w.string(text);
    if let Some(s) = retry_after {
        w.text(&["Retry after ", decimal(s, &mut [0; 20]), " seconds."]);
    }
    w.end_array();
    w.end_object();
    w.end_array();
    w.end_object();
    w.out
}
