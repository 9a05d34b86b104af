//! Search answers (RFC 9083 §8): the objects of one page, each rendered exactly as its own
//! authority lookup would be ([`super::render`]), gathered into `domainSearchResults`,
//! `nameserverSearchResults` or `entitySearchResults`, with RFC 8977 `paging_metadata` and the
//! answer's notices. Pure.
//!
//! Each object keeps its members but not the top-level ones of a lookup answer
//! (`rdapConformance`, `notices`, `redacted`): RFC 9537 puts `redacted` in the topmost object,
//! so every entry moves there with its JSONPath rebased onto the object's place in the results
//! array (`$.handle` of the third domain becomes `$.domainSearchResults[2].handle`).

use serde_json::{Map, Value};

use super::render::{
    self, Context, CONFORMANCE, FARV1_EXTENSION, PAGING_EXTENSION, REDACTED_EXTENSION,
    REVERSE_SEARCH_EXTENSION,
};
use crate::search::Kind;

/// One page of a search, rendered object by object.
#[derive(Debug)]
pub struct Page {
    /// What the search lists.
    pub kind: Kind,
    /// Whether it is an RFC 9536 reverse search.
    pub reverse: bool,
    /// Each object's lookup answer, in result order.
    pub objects: Vec<Vec<u8>>,
    /// The page's number, from 1.
    pub page_number: usize,
    /// The URL of the next page, if there is one.
    pub next: Option<String>,
    /// The search reached its cap and more matches were left out.
    pub truncated: bool,
    /// The cap, for the truncation notice.
    pub max_results: usize,
}

/// The member holding the results.
fn results_member(kind: Kind) -> &'static str {
    match kind {
        Kind::Domains => "domainSearchResults",
        Kind::Nameservers => "nameserverSearchResults",
        Kind::Entities => "entitySearchResults",
    }
}

/// A JSONPath of a lookup answer (`$…`), rebased onto the object's place in the results.
fn rebase(path: &str, member: &str, index: usize) -> Option<String> {
    path.strip_prefix('$')
        .map(|rest| format!("$.{member}[{index}]{rest}"))
}

/// The search answer.
///
/// # Errors
/// An object's body is not a JSON object (the renderer never writes one; refusing is safer than
/// sending an answer the disclosure log does not describe).
pub fn render(page: &Page, ctx: &Context<'_>) -> Result<Vec<u8>, serde_json::Error> {
    let member = results_member(page.kind);
    let mut results = Vec::with_capacity(page.objects.len());
    let mut redacted = Vec::new();
    for (index, body) in page.objects.iter().enumerate() {
        let mut object: Map<String, Value> = serde_json::from_slice(body)?;
        object.shift_remove("rdapConformance");
        object.shift_remove("notices");
        if let Some(Value::Array(entries)) = object.shift_remove("redacted") {
            for mut entry in entries {
                for key in ["prePath", "postPath", "replacementPath"] {
                    let rebased = entry
                        .get(key)
                        .and_then(Value::as_str)
                        .and_then(|p| rebase(p, member, index));
                    if let Some(p) = rebased {
                        entry[key] = Value::String(p);
                    }
                }
                redacted.push(entry);
            }
        }
        results.push(Value::Object(object));
    }

    let mut conformance: Vec<&str> = CONFORMANCE.to_vec();
    if !redacted.is_empty() {
        conformance.push(REDACTED_EXTENSION);
    }
    conformance.push(PAGING_EXTENSION);
    if page.reverse {
        conformance.push(REVERSE_SEARCH_EXTENSION);
    }
    if ctx.disclosure.is_some() && ctx.farv1.is_some() {
        conformance.push(FARV1_EXTENSION);
    }

    let mut top = Map::new();
    top.insert("rdapConformance".into(), conformance.into());
    top.insert(member.into(), Value::Array(results));
    top.insert("paging_metadata".into(), paging_metadata(page));
    let mut notices: Vec<Value> =
        serde_json::from_slice(&render::search_notices(ctx, page.kind == Kind::Domains))?;
    if page.truncated {
        // Before the disclosure notice, which stays last as in every authority answer.
        let at = notices
            .len()
            .saturating_sub(usize::from(ctx.disclosure.is_some()));
        notices.insert(at, truncation_notice(page.max_results));
    }
    top.insert("notices".into(), Value::Array(notices));
    if !redacted.is_empty() {
        top.insert("redacted".into(), Value::Array(redacted));
    }
    serde_json::to_vec(&Value::Object(top))
}

/// RFC 8977 `paging_metadata`: the page's size and number, and a `next` link while more
/// results follow. (`totalCount` is not given: counting every match of a broad search would
/// cost a full scan each page.)
fn paging_metadata(page: &Page) -> Value {
    let mut m = Map::new();
    m.insert("pageSize".into(), page.objects.len().into());
    m.insert("pageNumber".into(), page.page_number.into());
    if let Some(next) = &page.next {
        m.insert(
            "links".into(),
            serde_json::json!([{
                "value": next,
                "rel": "next",
                "href": next,
                "title": "Result Pagination Link",
                "type": "application/rdap+json",
            }]),
        );
    }
    Value::Object(m)
}

fn truncation_notice(max_results: usize) -> Value {
    serde_json::json!({
        "title": "Search Results Truncated",
        "type": "result set truncated due to authorization",
        "description": [format!(
            "This search matches more than {max_results} objects, the most one search returns; the rest were left out. Narrow the search to see them."
        )],
    })
}

/// The URL of the next page: the request URL with its `cursor` replaced.
pub fn next_url(origin: &str, path: &str, query: Option<&str>, cursor: &str) -> String {
    let mut pairs: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some("cursor"))
        .collect();
    let cursor = format!("cursor={cursor}");
    pairs.push(&cursor);
    format!("{origin}{path}?{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_rebased_onto_the_results_array() {
        assert_eq!(
            rebase("$.handle", "domainSearchResults", 2).as_deref(),
            Some("$.domainSearchResults[2].handle")
        );
        assert_eq!(
            rebase(
                "$.entities[?(@.roles[0]=='registrant')].vcardArray[1]",
                "domainSearchResults",
                0
            )
            .as_deref(),
            Some("$.domainSearchResults[0].entities[?(@.roles[0]=='registrant')].vcardArray[1]")
        );
        assert_eq!(
            rebase("$", "entitySearchResults", 1).as_deref(),
            Some("$.entitySearchResults[1]")
        );
        assert_eq!(rebase("handle", "x", 0), None);
    }

    #[test]
    fn the_next_url_replaces_the_cursor_and_keeps_the_rest() {
        assert_eq!(
            next_url(
                "https://r.example",
                "/authority/domains",
                Some("name=ex*&cursor=old&purpose=court-order"),
                "NEW"
            ),
            "https://r.example/authority/domains?name=ex*&purpose=court-order&cursor=NEW"
        );
        assert_eq!(
            next_url("https://r.example", "/domains", None, "C"),
            "https://r.example/domains?cursor=C"
        );
    }
}
