//! What every answer carries around its object: links, events, the profile's notices,
//! `rdapConformance`, and the top-level frame ([`Top`]).

use super::*;

/// A link; `value` and `href` are given as the pieces they are joined from.
pub(super) fn link(w: &mut Json, value: &[&str], rel: Lit, href: &[&str], media: Lit) {
    w.begin_object();
    w.key("value");
    w.text(value);
    w.member_lit("rel", rel);
    w.key("href");
    w.text(href);
    w.member_lit("type", media);
    w.end_object();
}

/// `"links":[<self link>]`.
pub(super) fn self_links(w: &mut Json, url: &[&str]) {
    w.key("links");
    w.begin_array();
    link(w, url, lit!("self"), url, RDAP_JSON);
    w.end_array();
}

pub(super) fn event(w: &mut Json, action: Lit, date: &Timestamp) {
    w.begin_object();
    w.member_lit("eventAction", action);
    w.member("eventDate", date.text().as_str());
    w.end_object();
}

/// `"events":[<last update of RDAP database>]`, all a registrar or contact lookup carries.
pub(super) fn db_update_events(w: &mut Json, ctx: &Context<'_>) {
    w.key("events");
    w.begin_array();
    event(w, lit!("last update of RDAP database"), ctx.db_updated);
    w.end_array();
}

pub(super) fn conformance(w: &mut Json) {
    w.key("rdapConformance");
    w.begin_array();
    for id in CONFORMANCE {
        w.string(id);
    }
    w.end_array();
}

/// A notice with a title, lines of description and one link.
pub(super) fn notice(
    w: &mut Json,
    title: Lit,
    description: &[&str],
    link_to: impl FnOnce(&mut Json),
) {
    w.begin_object();
    w.member_lit("title", title);
    w.key("description");
    w.begin_array();
    for line in description {
        w.string(line);
    }
    w.end_array();
    w.key("links");
    w.begin_array();
    link_to(w);
    w.end_array();
    w.end_object();
}

pub(super) fn terms_notice(w: &mut Json, ctx: &Context<'_>, query_url: &[&str]) {
    notice(
        w,
        lit!("Terms of Service"),
        &[
            "Service subject to the Terms of Service of the registry.",
            "The data in this record is provided for information purposes only. It may not be used to collect registration data in bulk, or for marketing or any other unlawful purpose.",
        ],
        |w| link(w, query_url, lit!("terms-of-service"), &[ctx.terms_url], lit!("text/html")),
    );
}

pub(super) fn status_codes_notice(w: &mut Json, query_url: &[&str]) {
    notice(
        w,
        lit!("Status Codes"),
        &["For more information on domain status codes, please visit https://icann.org/epp"],
        |w| {
            link(
                w,
                query_url,
                lit!("glossary"),
                &["https://icann.org/epp"],
                lit!("text/html"),
            )
        },
    );
}

pub(super) fn inaccuracy_notice(w: &mut Json, query_url: &[&str]) {
    notice(
        w,
        lit!("RDDS Inaccuracy Complaint Form"),
        &["URL of the ICANN RDDS Inaccuracy Complaint Form: https://icann.org/wicf"],
        |w| {
            link(
                w,
                query_url,
                lit!("help"),
                &["https://icann.org/wicf"],
                lit!("text/html"),
            )
        },
    );
}

/// The notice that tells an authority what it received and under which statement.
pub(super) fn disclosure_notice(w: &mut Json, grant: &Grant) {
    w.begin_object();
    w.member_lit("title", lit!("Disclosure of Non-Public Registration Data"));
    w.member_lit("type", lit!("object redacted due to authorization"));
    w.key("description");
    w.begin_array();
    w.text(&[
        "This response contains non-public registration data disclosed to ",
        grant.authority(),
        " (credential ",
        grant.credential_id(),
        ") for the purpose ",
        grant.purpose().key(),
        " under the legal basis \"",
        grant.legal_basis(),
        "\", case reference \"",
        grant.case_reference(),
        "\".",
    ]);
    w.text(&[
        "Request ",
        grant.request_id(),
        ". The disclosure is recorded in the registry's disclosure log. Use the data only for the stated purpose and do not retain it longer than needed.",
    ]);
    if let Some(until) = grant.withheld_until() {
        // Confirms to the authority that its request was recorded, so it need not ask again.
        w.text(&[
            "As requested, the registry will not tell the person concerned about this disclosure before ",
            until.text().as_str(),
            ".",
        ]);
    }
    w.end_array();
    w.end_object();
}

/// A top-most response being written: conformance first, then the object's members.
pub(super) struct Top {
    pub(super) w: Json,
    /// Where `"redacted"` joins the conformance list if the answer redacts anything (known
    /// only at the end).
    pub(super) conformance_end: usize,
}

impl Top {
    pub(super) fn begin() -> Self {
        let mut out = SCRATCH.take();
        out.clear();
        out.reserve(SCRATCH_CAPACITY);
        let mut w = Json { out, comma: false };
        w.begin_object();
        conformance(&mut w);
        let conformance_end = w.out.len() - 1;
        Self { w, conformance_end }
    }

    /// Add an extension identifier to `rdapConformance`.
    pub(super) fn add_extension(&mut self, id: &str) {
        let at = self.conformance_end;
        let text = format!(",\"{id}\"");
        self.w.out.splice(at..at, text.bytes());
        self.conformance_end += text.len();
    }

    /// Finish with the notices (`notices` writes them; an authority's disclosure notice goes
    /// last) and any redactions, and hand out the answer.
    pub(super) fn end(
        mut self,
        ctx: &Context<'_>,
        notices: impl FnOnce(&mut Json),
        red: &Redactions,
    ) -> Vec<u8> {
        if ctx.disclosure.is_some() && ctx.farv1.is_some() {
            self.add_extension(FARV1_EXTENSION);
        }
        let w = &mut self.w;
        w.key("notices");
        w.begin_array();
        notices(w);
        if let Some(grant) = ctx.disclosure {
            disclosure_notice(w, grant);
        }
        w.end_array();
        if !red.is_empty() {
            w.key("redacted");
            w.begin_array();
            for entry in &red.0 {
                w.raw(entry);
            }
            w.end_array();
        }
        w.end_object();
        // The exact-size copy takes `"redacted"` into the conformance list on the way.
        let out = std::mem::take(&mut self.w.out);
        let extension: &[&[u8]] = if red.is_empty() {
            &[]
        } else {
            &[b",\"", REDACTED_EXTENSION.as_bytes(), b"\""]
        };
        let (head, tail) = out.split_at(self.conformance_end);
        let mut answer =
            Vec::with_capacity(out.len() + extension.iter().map(|p| p.len()).sum::<usize>());
        answer.extend_from_slice(head);
        for piece in extension {
            answer.extend_from_slice(piece);
        }
        answer.extend_from_slice(tail);
        if out.capacity() <= SCRATCH_KEPT {
            SCRATCH.set(out);
        }
        answer
    }
}
