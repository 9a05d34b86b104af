//! jCard (RFC 7095) for entities: the contact's properties as its view allows them, with the
//! `redacted` entries of what it withholds.

use super::*;

/// `"vcardArray":["vcard",[["version",{},"text","4.0"]` — the caller adds its properties and
/// closes with [`end_vcard`].
pub(super) fn begin_vcard(w: &mut Json) {
    w.key("vcardArray");
    w.begin_array();
    w.lit(lit!("vcard"));
    w.begin_array();
    text_prop(w, lit!("version"), lit!("text"), "4.0");
}

pub(super) fn end_vcard(w: &mut Json) {
    w.end_array();
    w.end_array();
}

/// A jCard property without parameters, e.g. `["fn",{},"text","Jane"]`.
pub(super) fn text_prop(w: &mut Json, name: Lit, kind: Lit, value: &str) {
    w.begin_array();
    w.lit(name);
    w.empty_object();
    w.lit(kind);
    w.string(value);
    w.end_array();
}

pub(super) fn tel(w: &mut Json, kind: Lit, phone: PhoneRef<'_>) {
    w.begin_array();
    w.lit(lit!("tel"));
    w.begin_object();
    w.member_lit("type", kind);
    w.end_object();
    w.lit(lit!("uri"));
    // The RFC 3966 URI of `PhoneRef::tel_uri`, without building it.
    match phone.ext {
        Some(ext) => w.text(&["tel:", phone.number, ";ext=", ext]),
        None => w.text(&["tel:", phone.number]),
    }
    w.end_array();
}

/// The seven-slot jCard `adr` value (RFC 6350 §6.3.1) with the country in the `cc` parameter
/// and an empty country-name slot, as the gTLD profile requires (RP24 §1.4): writes
/// `["adr",{"cc":…},"text",["","",` — the caller writes street, city, state/province and
/// postal code and closes with [`end_adr`].
pub(super) fn begin_adr(w: &mut Json, cc: &str) {
    w.begin_array();
    w.lit(lit!("adr"));
    w.begin_object();
    w.member("cc", cc);
    w.end_object();
    w.lit(lit!("text"));
    w.begin_array();
    w.lit(lit!(""));
    w.lit(lit!(""));
}

pub(super) fn end_adr(w: &mut Json) {
    w.lit(lit!(""));
    w.end_array();
    w.end_array();
}

/// The street slot: `""` without lines, a string for one, an array for more.
pub(super) fn street_value<'s>(w: &mut Json, lines: impl IntoIterator<Item = &'s str>) {
    let mut lines = lines.into_iter();
    let Some(first) = lines.next() else {
        w.lit(lit!(""));
        return;
    };
    let Some(second) = lines.next() else {
        w.string(first);
        return;
    };
    w.begin_array();
    w.string(first);
    w.string(second);
    for line in lines {
        w.string(line);
    }
    w.end_array();
}

/// The members of a contact entity (a lookup adds its own after them), and the redaction
/// entries of what its view withholds.
pub(super) fn contact_members(
    w: &mut Json,
    view: &ContactView<'_>,
    base_url: &str,
    red: &mut Redactions,
) {
    let role = view.role();
    let holder = Holder::of(role);
    let entry = |part| Redaction::Contact(holder, part);
    let handle = view.handle();
    w.member_lit("objectClassName", lit!("entity"));
    if let Field::Shown(h) = handle {
        w.member("handle", h);
    }
    let roles = match role {
        ViewRole::Registrant => Some(lit!("registrant")),
        ViewRole::Technical => Some(lit!("technical")),
        ViewRole::Standalone(_) => None,
    };
    if let Some(r) = roles {
        w.key("roles");
        w.begin_array();
        w.lit(r);
        w.end_array();
    }

    begin_vcard(w);
    match view.name() {
        Field::Shown(n) => text_prop(w, lit!("fn"), lit!("text"), n),
        _ => {
            text_prop(w, lit!("fn"), lit!("text"), "");
            red.add(entry(Part::Name));
        }
    }
    match view.org() {
        Field::Shown(o) => text_prop(w, lit!("org"), lit!("text"), o),
        Field::Withheld => red.add(entry(Part::Org)),
        Field::Absent => {}
    }
    if let Field::Shown(cc) = view.cc() {
        begin_adr(w, cc);
        match view.street() {
            Field::Shown(lines) => street_value(w, lines.iter()),
            Field::Absent => w.lit(lit!("")),
            Field::Withheld => {
                red.add(entry(Part::Street));
                w.lit(lit!(""));
            }
        }
        for (field, part) in [
            (view.city(), Part::City),
            (view.sp(), Part::Sp),
            (view.pc(), Part::Pc),
        ] {
            match field {
                Field::Shown(v) => w.string(v),
                Field::Absent => w.lit(lit!("")),
                Field::Withheld => {
                    red.add(entry(part));
                    w.lit(lit!(""));
                }
            }
        }
        end_adr(w);
    } else {
        red.add(entry(Part::Address));
    }
    for (field, kind, part, ext) in [
        (view.voice(), lit!("voice"), Part::Phone, Part::PhoneExt),
        (view.fax(), lit!("fax"), Part::Fax, Part::FaxExt),
    ] {
        match field {
            Field::Shown(p) => tel(w, kind, p),
            Field::Withheld => {
                // The extension lives inside the tel URI, so it goes with its number.
                red.add(entry(part));
                red.add(entry(ext));
            }
            // Only an audience allowed to see the field learns that it is absent (the public
            // policy never publishes a phone, so the public sees "withheld" instead): nothing
            // was withheld, so there is no entry, as for an absent organisation.
            Field::Absent => {}
        }
    }
    match view.email() {
        Field::Shown(e) => text_prop(w, lit!("email"), lit!("text"), e),
        Field::Absent => {}
        Field::Withheld => red.add(entry(Part::Email)),
    }
    end_vcard(w);

    // The handle's entry follows those of the jCard: the order the entries have always had.
    match handle {
        Field::Shown(h) => self_links(w, &[base_url, "entity/", h]),
        _ => red.add(entry(Part::Handle)),
    }
}
