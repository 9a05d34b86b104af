//! One JSON line to a raw record: the serde shapes of the data format (their strings borrowed
//! from the line), the cheap `kind` lookup of the fast path, the strict reader that refuses a key
//! given twice, and serde error messages rewritten so they never echo a value.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::super::model::*;
use super::super::name::DomainName;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawRegistry {
    #[allow(dead_code)]
    pub(super) kind: String,
    pub(super) tlds: Vec<String>,
    pub(super) updated: String,
}

// The raw records borrow their text from the line (`Cow::Borrowed` unless a string holds an
// escape), so the fast path allocates only what the model keeps. Strings inside `Option` and `Vec`
// go through `opt_str` and `vec_str`: serde's derive borrows only a bare `Cow<str>`. Every
// string field still refuses a non-string with serde's own "expected a string", so the slow
// path's messages are those of the former `String` fields.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPhone<'a> {
    #[serde(borrow)]
    pub(super) number: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub(super) ext: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAddress<'a> {
    #[serde(default, borrow, deserialize_with = "vec_str")]
    pub(super) street: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) city: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub(super) sp: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub(super) pc: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) cc: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawRegistrar<'a> {
    #[allow(dead_code)]
    #[serde(borrow)]
    pub(super) kind: Cow<'a, str>,
    pub(super) iana_id: u32,
    #[serde(borrow)]
    pub(super) name: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub(super) url: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub(super) whois_server: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub(super) rdap_base_url: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) abuse_email: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) abuse_phone: RawPhone<'a>,
    #[serde(borrow)]
    pub(super) address: RawAddress<'a>,
    #[serde(default, borrow)]
    pub(super) voice: Option<RawPhone<'a>>,
    #[serde(default, borrow)]
    pub(super) fax: Option<RawPhone<'a>>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub(super) email: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawContact<'a> {
    #[allow(dead_code)]
    #[serde(borrow)]
    pub(super) kind: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) roid: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) name: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub(super) org: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "vec_str")]
    pub(super) street: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) city: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub(super) sp: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub(super) pc: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) cc: Cow<'a, str>,
    #[serde(default, borrow)]
    pub(super) voice: Option<RawPhone<'a>>,
    #[serde(default, borrow)]
    pub(super) fax: Option<RawPhone<'a>>,
    #[serde(borrow)]
    pub(super) email: Cow<'a, str>,
    pub(super) person_type: PersonType,
    #[serde(default)]
    pub(super) consent: Vec<ContactField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawHost<'a> {
    #[allow(dead_code)]
    #[serde(borrow)]
    pub(super) kind: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) roid: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) name: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "vec_str")]
    pub(super) addresses: Vec<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "vec_str")]
    pub(super) statuses: Vec<Cow<'a, str>>,
    pub(super) registrar: u32,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub(super) created: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub(super) updated: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawDs<'a> {
    pub(super) key_tag: u16,
    pub(super) algorithm: u8,
    pub(super) digest_type: u8,
    #[serde(borrow)]
    pub(super) digest: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawDomain<'a> {
    #[allow(dead_code)]
    #[serde(borrow)]
    pub(super) kind: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) roid: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) name: Cow<'a, str>,
    #[serde(borrow, deserialize_with = "vec_str")]
    pub(super) statuses: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) created: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub(super) updated: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) expires: Cow<'a, str>,
    pub(super) registrar: u32,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub(super) registrant: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub(super) tech: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "vec_str")]
    pub(super) nameservers: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(super) ds: Vec<RawDs<'a>>,
}

/// A string borrowed from the input when it can be, like serde's own `Cow<str>` with
/// `#[serde(borrow)]`, for use inside `Option` and `Vec`.
struct BorrowStr<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for BorrowStr<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'a> Visitor<'a> for V {
            type Value = Cow<'a, str>;

            // The same words as `String`'s visitor, so messages do not change.
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'a str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v))
            }
        }
        d.deserialize_str(V).map(BorrowStr)
    }
}

fn opt_str<'de: 'a, 'a, D: de::Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    Ok(Option::<BorrowStr<'a>>::deserialize(d)?.map(|s| s.0))
}

fn vec_str<'de: 'a, 'a, D: de::Deserializer<'de>>(d: D) -> Result<Vec<Cow<'a, str>>, D::Error> {
    Ok(Vec::<BorrowStr<'a>>::deserialize(d)?
        .into_iter()
        .map(|s| s.0)
        .collect())
}

/// The `kind` of a line for the fast path: read off the usual `{"kind":"…"` start without a
/// parse, else from a parse that skips every other field. `None` (not an object, or no single
/// `kind` string) leaves the line to the strict path.
pub(super) fn fast_kind(text: &str) -> Option<Cow<'_, str>> {
    if !text.starts_with('{') {
        return None;
    }
    if let Some(rest) = text.strip_prefix(r#"{"kind":""#) {
        // A JSON string ends at its first unescaped quote: with no backslash before it, the
        // first quote.
        if let Some(end) = rest.find('"') {
            let kind = &rest[..end];
            if !kind.contains('\\') {
                return Some(Cow::Borrowed(kind));
            }
        }
    }
    #[derive(Deserialize)]
    struct Kind<'a> {
        #[serde(borrow)]
        kind: Cow<'a, str>,
    }
    serde_json::from_str::<Kind<'_>>(text).ok().map(|k| k.kind)
}

/// The identity of a record as far as it can be read before validation, so that references to a
/// refused record are not reported again.
pub(super) struct Identity {
    pub(super) kind: String,
    pub(super) roid: Option<String>,
    pub(super) name: Option<String>,
    pub(super) iana_id: Option<u32>,
}

impl Identity {
    /// The record's key as reported: ROID, name or IANA ID (never personal data).
    pub(super) fn key(&self) -> Option<String> {
        match (self.kind.as_str(), &self.roid, &self.name, self.iana_id) {
            ("registrar", _, _, Some(id)) => Some(format!("registrar {id}")),
            ("domain" | "host", Some(roid), Some(name), _) => {
                Some(format!("{} {name} ({roid})", self.kind))
            }
            ("domain" | "host", None, Some(name), _) => Some(format!("{} {name}", self.kind)),
            (kind, Some(roid), _, _) => Some(format!("{kind} {roid}")),
            _ => None,
        }
    }

    pub(super) fn of(kind: &str, value: &serde_json::Value) -> Self {
        Self {
            kind: kind.to_string(),
            roid: value.get("roid").and_then(|r| r.as_str()).map(Roid::key),
            name: value
                .get("name")
                .and_then(|n| n.as_str())
                .and_then(|n| DomainName::parse(n).ok())
                .map(|n| n.ascii().to_string()),
            iana_id: value
                .get("ianaId")
                .and_then(serde_json::Value::as_u64)
                .and_then(|i| u32::try_from(i).ok()),
        }
    }
}

/// Builds a `serde_json::Value` like its own `Deserialize` does, but refuses an object with a
/// key given twice (serde_json would silently keep the last), recording the key's path.
pub(super) struct StrictValue<'a> {
    pub(super) path: String,
    pub(super) dup: &'a RefCell<Option<String>>,
}

impl StrictValue<'_> {
    fn child(&self, step: &str) -> Self {
        let path = if self.path.is_empty() {
            step.to_string()
        } else if step.starts_with('[') {
            format!("{}{step}", self.path)
        } else {
            format!("{}.{step}", self.path)
        };
        Self {
            path,
            dup: self.dup,
        }
    }
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = serde_json::Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self.child(&format!("[{}]", out.len())))? {
            out.push(v);
        }
        Ok(serde_json::Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let child = self.child(&safe_key(&key));
            if out.contains_key(&key) {
                *self.dup.borrow_mut() = Some(child.path);
                return Err(de::Error::custom("duplicate key"));
            }
            let v = map.next_value_seed(child)?;
            out.insert(key, v);
        }
        Ok(serde_json::Value::Object(out))
    }
}

/// The JSON text at a serde path, for `check --show-values`; `None` for the whole record.
pub(super) fn value_at(
    root: &serde_json::Value,
    path: &serde_path_to_error::Path,
) -> Option<String> {
    use serde_path_to_error::Segment;
    let mut node = root;
    let mut steps = 0;
    for seg in path {
        node = match seg {
            Segment::Seq { index } => node.get(*index)?,
            Segment::Map { key } => node.get(key)?,
            Segment::Enum { .. } | Segment::Unknown => return None,
        };
        steps += 1;
    }
    if steps == 0 {
        return None;
    }
    let mut text = node.to_string();
    if text.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text.truncate(cut);
        text.push('…');
    }
    Some(text)
}

/// A JSON key as it may appear in an error: our own field names are short identifiers; anything
/// else is not echoed, since a misplaced value can end up as a key.
pub(super) fn safe_key(key: &str) -> String {
    if !key.is_empty()
        && key.len() <= 40
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        key.to_string()
    } else {
        "(a key that is not a field name)".to_string()
    }
}

/// A JSON syntax error without serde_json's "line 1" (every record is one line).
pub(super) fn json_syntax_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => format!("{} at column {}", &text[..i], e.column()),
        None => text,
    }
}

/// Rewrite a serde data error so it names the problem but never the value: serde's messages
/// quote it (`invalid type: string "+81 3 1234 5678", expected a sequence`, `unknown variant
/// `John``). Messages of an unknown shape become a generic one rather than risk an echo.
pub(super) fn serde_message(raw: &str) -> String {
    // The kind of a serde `Unexpected`: `string "…"`, `integer `5``, `floating point `1.5``,
    // `boolean `true``, `map`, `sequence`, `null`, …: the words before any quote.
    let kind_of = |unexpected: &str| {
        let end = unexpected
            .find(['"', '`', '\''])
            .unwrap_or(unexpected.len());
        unexpected[..end].trim().to_string()
    };
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = raw.strip_prefix(prefix) {
            if let Some(i) = rest.rfind(", expected ") {
                return format!(
                    "{prefix}{}, expected {}",
                    kind_of(&rest[..i]),
                    &rest[i + ", expected ".len()..]
                );
            }
        }
    }
    if raw.starts_with("unknown variant ") {
        if let Some(i) = raw.rfind("`, expected ") {
            return format!(
                "unknown value, expected {}",
                &raw[i + "`, expected ".len()..]
            );
        }
        return "unknown value".into();
    }
    if let Some(rest) = raw.strip_prefix("unknown field `") {
        if let Some(i) = rest.find('`') {
            let expected = rest[i + 1..]
                .strip_prefix(", expected ")
                .map(|e| format!(", expected {e}"))
                .unwrap_or_default();
            return format!("unknown field `{}`{expected}", safe_key(&rest[..i]));
        }
    }
    // These name only our own fields or lengths.
    if raw.starts_with("missing field `")
        || raw.starts_with("duplicate field `")
        || raw.starts_with("invalid length ")
    {
        return raw.to_string();
    }
    "invalid value".into()
}
