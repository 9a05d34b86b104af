-- rddsd PostgreSQL schema, version 4: indexes for the searches of the authority route
-- (src/db/serve/search.rs). Searches are rare and rate-limited, but one must not read a million
-- rows to answer a page.

-- Names in byte order: a prefix pattern (`name COLLATE "C" LIKE 'exam%'`) is an index range,
-- and a page (`> cursor ORDER BY … LIMIT`) reads only its own rows, in the order of the
-- in-memory search.
CREATE INDEX domains_name_c ON domains (name COLLATE "C");
CREATE INDEX hosts_name_c ON hosts (name COLLATE "C");

-- Contacts by full name (exactly or by its start) and by e-mail address, without regard to
-- case.
CREATE INDEX contacts_name_lower ON contacts (lower(name) text_pattern_ops);
CREATE INDEX contacts_email_lower ON contacts (lower(email));
