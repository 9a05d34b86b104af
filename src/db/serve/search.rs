//! Authority searches on the PostgreSQL backend: the SQL that picks one page of candidates (and
//! counts the matches before the cursor), fetched as lines into a snapshot of their own, which
//! [`crate::search::run`] then searches exactly as it searches the in-memory store.
//!
//! Each statement states the same match as [`crate::search`]: names by `LIKE` on the C-collated
//! name (an A-label name is lower-case ASCII, so byte order is the order of the in-memory
//! search), contact text by `lower()`, and a contact only in a role whose rule lets the searched
//! field out (`publish`, or `consent` and the contact consented), given as parameters from the
//! grant's rules. Values are always bound parameters, never spliced into the SQL. A search by
//! one exact name, address or handle reuses the lookup statements.
//!
//! Migration 0004 adds the indexes these statements use.

use tokio_postgres::types::ToSql;

use super::{Database, FetchError};
use crate::policy::AudienceRules;
use crate::query::{EntityHandle, Query};
use crate::registry::Snapshot;
use crate::search::{ContactMatch, Limits, NamePattern, Role, Search, TextPattern};

/// The lines of the domains named by the CTE `m` (column `name`), with their contacts (and
/// the roles each holds anywhere, which a reverse search reads again), hosts and registrars.
const DOMAIN_LINES: &str = "\
SELECT 'domains', d.name, rddsd_domain_line(d), false, false FROM domains d \
    WHERE d.name IN (SELECT name FROM m) \
UNION ALL SELECT 'contacts', c.roid, rddsd_contact_line(c), \
    EXISTS (SELECT 1 FROM domain_contacts x WHERE x.contact = c.roid AND x.role = 'registrant'), \
    EXISTS (SELECT 1 FROM domain_contacts x WHERE x.contact = c.roid AND x.role = 'tech') \
    FROM contacts c WHERE c.roid IN (SELECT x.contact FROM domain_contacts x \
    WHERE x.domain IN (SELECT name FROM m)) \
UNION ALL SELECT 'hosts', h.name, rddsd_host_line(h), false, false FROM hosts h \
    WHERE h.name IN (SELECT n.host FROM domain_nameservers n WHERE n.domain IN (SELECT name FROM m)) \
UNION ALL SELECT 'registrars', r.iana_id::text, rddsd_registrar_line(r), false, false \
    FROM registrars r WHERE r.iana_id IN (SELECT d.registrar FROM domains d \
    WHERE d.name IN (SELECT name FROM m) \
    UNION SELECT h.registrar FROM hosts h JOIN domain_nameservers n ON n.host = h.name \
    WHERE n.domain IN (SELECT name FROM m))";

/// The lines of the hosts named by the CTE `m`, with their registrars.
const HOST_LINES: &str = "\
SELECT 'hosts', h.name, rddsd_host_line(h), false, false FROM hosts h \
    WHERE h.name IN (SELECT name FROM m) \
UNION ALL SELECT 'registrars', r.iana_id::text, rddsd_registrar_line(r), false, false \
    FROM registrars r WHERE r.iana_id IN (SELECT h.registrar FROM hosts h \
    WHERE h.name IN (SELECT name FROM m))";

/// A name pattern over column `col`: `$1` the `LIKE` pattern, `$2` the prefix length, `$3`
/// the literal labels after the wildcard label (or NULL), whose rest of a label holds no dot.
fn name_condition(col: &str) -> String {
    format!(
        "{col} COLLATE \"C\" LIKE $1 AND ($3::text IS NULL OR strpos(substr({col}, $2::int + 1, \
         char_length({col}) - $2::int - char_length($3::text) - 1), '.') = 0)"
    )
}

/// A contact field condition over `c`: `$1` the folded value (or `LIKE` pattern).
fn contact_condition(by: &ContactMatch) -> &'static str {
    match by {
        ContactMatch::Handle(_) => "upper(c.roid) = $1",
        ContactMatch::Name(TextPattern::Exact(_)) => "lower(c.name) = $1",
        ContactMatch::Name(TextPattern::Prefix(_)) => "lower(c.name) LIKE $1",
        ContactMatch::Email(_) => "lower(c.email) = $1",
    }
}

/// The bound value of [`contact_condition`]: the folded text, a prefix as a `LIKE` pattern
/// with its own `%`, `_` and `\` escaped.
fn contact_value(by: &ContactMatch) -> String {
    match by {
        ContactMatch::Handle(h) => h.as_str().to_string(),
        ContactMatch::Name(TextPattern::Exact(t)) | ContactMatch::Email(t) => t.clone(),
        ContactMatch::Name(TextPattern::Prefix(p)) => {
            let mut like = String::with_capacity(p.len() + 1);
            for ch in p.chars() {
                if matches!(ch, '\\' | '%' | '_') {
                    like.push('\\');
                }
                like.push(ch);
            }
            like.push('%');
            like
        }
    }
}

/// Whether the rule in parameter `$n` lets out the field named by `$4` of contact `c`.
fn visible(n: u8) -> String {
    format!("(${n} = 'publish' OR (${n} = 'consent' AND $4 = ANY(c.consent)))")
}

impl Database {
    /// The records one page of `search` needs, after the cursor key `after`: a snapshot of
    /// their own, and how many matches lie at or before `after` when the store cannot count
    /// them itself (`None`: the set holds every match, as for one exact name).
    ///
    /// # Errors
    /// As [`Database::fetch`].
    pub async fn fetch_search(
        &self,
        search: &Search,
        after: Option<&str>,
        rules: &AudienceRules,
        limits: Limits,
    ) -> Result<(Snapshot, Option<usize>), FetchError> {
        // One exact name, address or handle: the lookup's own statement reads every match.
        let exact = match search {
            Search::Domains(NamePattern::Exact(n)) => Some(Query::Domain(n.clone())),
            Search::Nameservers(NamePattern::Exact(n)) => Some(Query::Nameserver(n.clone())),
            Search::NameserversByIp(ip) => Some(Query::NameserversByIp(*ip)),
            Search::Entities(ContactMatch::Handle(h)) => {
                Some(Query::Entity(EntityHandle::Contact(h.clone())))
            }
            _ => None,
        };
        if let Some(q) = exact {
            return self.fetch(&q).await.map(|(set, _)| (set, None));
        }
        let (page_sql, count_sql) = statements(search);
        let params = Params::of(search, after, rules, limits);
        let (tlds, updated) = self.registry();
        let rows = match self.read_sql(&page_sql, &params.bound(&params.page)).await {
            Ok(rows) => rows,
            Err(e) => {
                self.unreadable("search", &e);
                return Err(e);
            }
        };
        let before = if after.is_some() {
            let counted = self
                .read_sql(&count_sql, &params.bound(&params.cap))
                .await
                .and_then(|rows| {
                    rows.first()
                        .and_then(|r| r.try_get::<_, i64>(0).ok())
                        .ok_or_else(|| FetchError::Unavailable("no count".into()))
                });
            match counted {
                Ok(n) => usize::try_from(n).unwrap_or(usize::MAX),
                Err(e) => {
                    self.unreadable("search", &e);
                    return Err(e);
                }
            }
        } else {
            0
        };
        let set = self.set_of("search", tlds, updated, &rows)?;
        Ok((set, Some(before)))
    }
}

/// [`statements`] of a search of one table (`from`, with its alias) by its name column: the
/// page's names after the cursor, read through `lines`, and the count up to the cursor.
fn by_name(from: &str, name: &str, lines: &str) -> (String, String) {
    let cond = name_condition(name);
    (
        format!(
            "WITH m AS (SELECT {name} FROM {from} WHERE {cond} \
             AND {name} COLLATE \"C\" > $4 ORDER BY {name} COLLATE \"C\" LIMIT $5) \
             {lines}"
        ),
        format!(
            "SELECT count(*) FROM (SELECT 1 FROM {from} WHERE {cond} \
             AND {name} COLLATE \"C\" <= $4 LIMIT $5) s"
        ),
    )
}

/// The page statement and the count statement of a pattern search. Both take the same
/// parameters ([`Params`]), the after-key and the limit last: PostgreSQL infers a statement's
/// parameters from the ones it names, so the two name the same ones, and the limit is a page
/// and one for the page, the cap for the count.
fn statements(search: &Search) -> (String, String) {
    match search {
        Search::Domains(_) => by_name("domains d", "d.name", DOMAIN_LINES),
        Search::Nameservers(_) | Search::NameserversByIp(_) => {
            by_name("hosts h", "h.name", HOST_LINES)
        }
        Search::Entities(by) => {
            let cond = contact_condition(by);
            let (reg, tech) = (visible(2), visible(3));
            let r = format!(
                "WITH r AS (SELECT c.roid, \
                 EXISTS (SELECT 1 FROM domain_contacts x WHERE x.contact = c.roid AND x.role = 'registrant') AS reg, \
                 EXISTS (SELECT 1 FROM domain_contacts x WHERE x.contact = c.roid AND x.role = 'tech') AS tech, \
                 {reg} AS reg_vis, {tech} AS tech_vis FROM contacts c WHERE {cond})"
            );
            let shown = "((reg AND reg_vis) OR (tech AND tech_vis))";
            (
                format!(
                    "{r}, m AS (SELECT roid, reg, tech FROM r WHERE {shown} \
                     AND upper(roid) COLLATE \"C\" > $5 ORDER BY upper(roid) COLLATE \"C\" LIMIT $6) \
                     SELECT 'contacts', c.roid, rddsd_contact_line(c), m.reg, m.tech \
                     FROM contacts c JOIN m ON m.roid = c.roid"
                ),
                format!(
                    "{r} SELECT count(*) FROM (SELECT 1 FROM r WHERE {shown} \
                     AND upper(roid) COLLATE \"C\" <= $5 LIMIT $6) s"
                ),
            )
        }
        Search::ReverseDomains { by, .. } => {
            let cond = contact_condition(by);
            let (reg, tech) = (visible(2), visible(3));
            let mc = format!(
                "WITH mc AS (SELECT c.roid, {reg} AS reg_vis, {tech} AS tech_vis \
                 FROM contacts c WHERE {cond})"
            );
            let held = "FROM domain_contacts x JOIN mc ON mc.roid = x.contact \
                 WHERE ((x.role = 'registrant' AND mc.reg_vis AND $5) \
                 OR (x.role = 'tech' AND mc.tech_vis AND $6))";
            (
                format!(
                    "{mc}, m AS (SELECT x.domain AS name {held} AND x.domain COLLATE \"C\" > $7 \
                     GROUP BY x.domain ORDER BY x.domain COLLATE \"C\" LIMIT $8) {DOMAIN_LINES}"
                ),
                format!(
                    "{mc} SELECT count(*) FROM (SELECT x.domain {held} \
                     AND x.domain COLLATE \"C\" <= $7 GROUP BY x.domain LIMIT $8) s"
                ),
            )
        }
    }
}

/// The bound values of a pattern search, in parameter order, and the two limits.
struct Params {
    /// Everything but the limit.
    values: Values,
    /// One more than a page, to tell whether another follows.
    page: i64,
    /// The cap: counting the matches before the cursor stops there.
    cap: i64,
}

enum Values {
    /// `$1` LIKE pattern, `$2` prefix length, `$3` suffix, `$4` after; `$5` the limit.
    Names(String, i32, Option<String>, String),
    /// `$1` value, `$2`/`$3` the registrant's and technical rules, `$4` the field, `$5` after;
    /// `$6` the limit.
    Contacts(String, String, String, String, String),
    /// As `Contacts` to `$4`, then `$5`/`$6` which roles, `$7` after; `$8` the limit.
    Reverse((String, String, String, String), bool, bool, String),
}

impl Params {
    fn of(search: &Search, after: Option<&str>, rules: &AudienceRules, limits: Limits) -> Self {
        let after = after.unwrap_or("").to_string();
        let contact = |by: &ContactMatch| {
            let field = by.field();
            (
                contact_value(by),
                rules.registrant.get(field).key().to_string(),
                rules.technical.get(field).key().to_string(),
                field.key().to_string(),
            )
        };
        let values = match search {
            Search::Entities(by) => {
                let (v, r, t, f) = contact(by);
                Values::Contacts(v, r, t, f, after)
            }
            Search::ReverseDomains { by, role } => Values::Reverse(
                contact(by),
                *role != Some(Role::Technical),
                *role != Some(Role::Registrant),
                after,
            ),
            Search::Domains(p) | Search::Nameservers(p) => {
                let (like, plen, suffix) = match p {
                    NamePattern::Prefix { prefix, suffix } => (
                        match suffix {
                            None => format!("{prefix}%"),
                            Some(s) => format!("{prefix}%.{s}"),
                        },
                        i32::try_from(prefix.len()).unwrap_or(i32::MAX),
                        suffix.clone(),
                    ),
                    // Exact names take the lookup statements (see `fetch_search`).
                    NamePattern::Exact(n) => (n.ascii().to_string(), 0, None),
                };
                Values::Names(like, plen, suffix, after)
            }
            // Served by the lookup statement (see `fetch_search`); never bound.
            Search::NameserversByIp(_) => Values::Names(String::new(), 0, None, after),
        };
        Self {
            values,
            page: i64::try_from(limits.page_size)
                .unwrap_or(i64::MAX)
                .saturating_add(1),
            cap: i64::try_from(limits.max_results).unwrap_or(i64::MAX),
        }
    }

    /// The values with `limit` last.
    fn bound<'p>(&'p self, limit: &'p i64) -> Vec<&'p (dyn ToSql + Sync)> {
        let mut v: Vec<&(dyn ToSql + Sync)> = match &self.values {
            Values::Names(like, plen, suffix, after) => vec![like, plen, suffix, after],
            Values::Contacts(v, r, t, f, after) => vec![v, r, t, f, after],
            Values::Reverse((v, r, t, f), reg, tech, after) => vec![v, r, t, f, reg, tech, after],
        };
        v.push(limit);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_their_own_wildcards() {
        let by = ContactMatch::Name(TextPattern::Prefix("a_b%c\\".into()));
        assert_eq!(contact_value(&by), "a\\_b\\%c\\\\%");
        let exact = ContactMatch::Email("x_y@example.org".into());
        assert_eq!(contact_value(&exact), "x_y@example.org");
    }

    #[test]
    fn page_and_count_statements_bind_the_same_parameters() {
        // Every `$n` a statement names must be bound, and PostgreSQL infers the parameter
        // count from the highest one: both statements of a search must name the last.
        let policy = crate::policy::Policy::default_policy().expect("policy");
        let rules = &policy.public;
        let limits = Limits {
            page_size: 5,
            max_results: 50,
        };
        let name = NamePattern::Prefix {
            prefix: "ex".into(),
            suffix: None,
        };
        for search in [
            Search::Domains(name.clone()),
            Search::Nameservers(name),
            Search::Entities(ContactMatch::Email("a@b.example".into())),
            Search::ReverseDomains {
                by: ContactMatch::Email("a@b.example".into()),
                role: None,
            },
        ] {
            let params = Params::of(&search, Some("x"), rules, limits);
            let n = params.bound(&params.page).len();
            let (page, count) = statements(&search);
            for sql in [&page, &count] {
                let named: Vec<usize> =
                    (1..=9).filter(|i| sql.contains(&format!("${i}"))).collect();
                assert_eq!(named, (1..=n).collect::<Vec<_>>(), "{sql}");
            }
        }
    }
}
