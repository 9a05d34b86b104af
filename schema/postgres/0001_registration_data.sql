-- rddsd PostgreSQL schema, version 1: the registration data and its change log.
--
-- The tables hold what the JSON Lines data set holds (schema/registry-data.schema.json), with
-- the same EPP/escrow names in snake case (`ianaId` is `iana_id`, `abusePhone.number` is
-- `abuse_phone`). Lists of a record live in child tables with a `position` that keeps their
-- order. Every rule of the loader that SQL can state is a constraint here; the rest (IDNA 2008
-- names, country and e-mail checks, status combinations, ROIDs unique across object kinds, glue
-- rules) is checked by `rddsd check --database URL`, which runs the loader's own validation.
--
-- Names are stored in their normalised form: domain and host names as lower-case A-labels
-- without a trailing dot (the lookup key), so `café.example` is `xn--caf-dma.example`. A
-- reference to a contact spells its ROID exactly as the contact row does.
--
-- Every data table has statement-level triggers that append one row per changed object to
-- `changes` and NOTIFY `rddsd_changes` with the newest serial, for nodes that LISTEN.

-- ===== helpers for CHECK constraints =====

-- A free-text field as the loader accepts it: not blank, at most `max` characters, and no
-- control (Unicode Cc), line or paragraph separator or bidi control character, which could
-- forge or reorder WHOIS lines.
CREATE FUNCTION rddsd_text(t text, max integer) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT btrim(t) <> ''
       AND char_length(t) <= max
       AND t !~ '[\x01-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]'
$$;

-- Street lines (RFC 5733): at most three, each a free-text field of up to 255 characters.
CREATE FUNCTION rddsd_street(lines text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT coalesce(array_length(lines, 1), 0) <= 3
       AND array_position(lines, NULL) IS NULL
       AND coalesce((SELECT bool_and(rddsd_text(l, 255)) FROM unnest(lines) AS l), true)
$$;

-- An EPP telephone number (RFC 5733 e164StringType): +CC.NUMBER.
CREATE FUNCTION rddsd_phone(number text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT number ~ '^\+[0-9]{1,3}\.[0-9]{1,14}$'
$$;

-- A ROID (RFC 5730 roidType): 1-80 word characters, a hyphen, a 1-8 character suffix.
CREATE FUNCTION rddsd_roid(roid text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT roid ~ '^[A-Za-z0-9_]{1,80}-[A-Za-z0-9_]{1,8}$'
$$;

-- A name in its stored form: lower-case LDH labels (A-labels), at least two, no trailing dot.
-- Whether the name is valid IDNA 2008 is for `rddsd check --database`.
CREATE FUNCTION rddsd_name(name text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT octet_length(name) <= 253 AND name ~ '^[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+$'
$$;

-- A time the loader accepts: years 0001 to 9999 (UTC).
CREATE FUNCTION rddsd_time(t timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT t >= '0001-01-01 00:00:00+00' AND t < '10000-01-01 00:00:00+00'
$$;

-- ===== the registry record =====

-- One row at most: the data's update time (`last update of RDAP database`).
CREATE TABLE registry (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    updated timestamptz NOT NULL CHECK (rddsd_time(updated))
);

-- The zones the registry serves (`registry.tlds`): a TLD, or a second-level registry zone such
-- as `co.example`, in A-label form.
CREATE TABLE registry_tlds (
    tld      text PRIMARY KEY
             CHECK (octet_length(tld) <= 251 AND tld ~ '^[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})*$'),
    position integer NOT NULL UNIQUE CHECK (position >= 0)
);

-- ===== registrars =====

CREATE TABLE registrars (
    iana_id         bigint PRIMARY KEY CHECK (iana_id BETWEEN 1 AND 4294967295),
    name            text NOT NULL CHECK (rddsd_text(name, 255)),
    url             text CHECK (url ~ '^https?://'),
    whois_server    text CHECK (rddsd_text(whois_server, 253)),
    rdap_base_url   text CHECK (rdap_base_url ~ '^https?://'),
    abuse_email     text NOT NULL CHECK (abuse_email ~ '^[^@]+@[^@]+$' AND octet_length(abuse_email) <= 254),
    abuse_phone     text NOT NULL CHECK (rddsd_phone(abuse_phone)),
    abuse_phone_ext text CHECK (abuse_phone_ext ~ '^[0-9]{1,10}$'),
    -- `address.street`, `address.city`, …: the business address.
    street          text[] NOT NULL DEFAULT '{}' CHECK (rddsd_street(street)),
    city            text NOT NULL CHECK (rddsd_text(city, 255)),
    sp              text CHECK (rddsd_text(sp, 255)),
    pc              text CHECK (rddsd_text(pc, 16)),
    cc              text NOT NULL CHECK (cc ~ '^[A-Z]{2}$'),
    voice           text CHECK (rddsd_phone(voice)),
    voice_ext       text CHECK (voice_ext ~ '^[0-9]{1,10}$'),
    fax             text CHECK (rddsd_phone(fax)),
    fax_ext         text CHECK (fax_ext ~ '^[0-9]{1,10}$'),
    email           text CHECK (email ~ '^[^@]+@[^@]+$' AND octet_length(email) <= 254),
    -- An extension belongs to a number.
    CHECK (voice IS NOT NULL OR voice_ext IS NULL),
    CHECK (fax IS NOT NULL OR fax_ext IS NULL)
);

-- ===== contacts (RFC 5733) =====

CREATE TABLE contacts (
    roid        text PRIMARY KEY CHECK (rddsd_roid(roid)),
    name        text NOT NULL CHECK (rddsd_text(name, 255)),
    org         text CHECK (rddsd_text(org, 255)),
    street      text[] NOT NULL DEFAULT '{}' CHECK (rddsd_street(street)),
    city        text NOT NULL CHECK (rddsd_text(city, 255)),
    sp          text CHECK (rddsd_text(sp, 255)),
    pc          text CHECK (rddsd_text(pc, 16)),
    cc          text NOT NULL CHECK (cc ~ '^[A-Z]{2}$'),
    voice       text CHECK (rddsd_phone(voice)),
    voice_ext   text CHECK (voice_ext ~ '^[0-9]{1,10}$'),
    fax         text CHECK (rddsd_phone(fax)),
    fax_ext     text CHECK (fax_ext ~ '^[0-9]{1,10}$'),
    email       text NOT NULL CHECK (email ~ '^[^@]+@[^@]+$' AND octet_length(email) <= 254),
    person_type text NOT NULL CHECK (person_type IN ('natural', 'legal')),
    -- The fields the contact agreed to publish. The handle is not personal data and needs none.
    consent     text[] NOT NULL DEFAULT '{}'
                CHECK (consent <@ ARRAY['name', 'org', 'street', 'city', 'sp', 'pc', 'cc',
                                        'voice', 'fax', 'email']::text[]),
    CHECK (voice IS NOT NULL OR voice_ext IS NULL),
    CHECK (fax IS NOT NULL OR fax_ext IS NULL)
);

-- ROIDs are matched without regard to ASCII case.
CREATE UNIQUE INDEX contacts_roid_key ON contacts (upper(roid));

-- ===== hosts (RFC 5732) =====

CREATE TABLE hosts (
    name      text PRIMARY KEY CHECK (rddsd_name(name)),
    roid      text NOT NULL CHECK (rddsd_roid(roid)),
    registrar bigint NOT NULL REFERENCES registrars (iana_id),
    created   timestamptz CHECK (rddsd_time(created)),
    updated   timestamptz CHECK (rddsd_time(updated))
);

CREATE UNIQUE INDEX hosts_roid_key ON hosts (upper(roid));
CREATE INDEX hosts_registrar ON hosts (registrar);

-- Glue addresses, in order (IPv4 first, then IPv6, as the loader keeps them).
CREATE TABLE host_addresses (
    host     text NOT NULL REFERENCES hosts (name) ON DELETE CASCADE ON UPDATE CASCADE,
    position integer NOT NULL CHECK (position >= 0),
    address  inet NOT NULL
             CHECK (masklen(address) = CASE family(address) WHEN 4 THEN 32 ELSE 128 END)
             CHECK (NOT (address <<= inet '127.0.0.0/8' OR address = inet '0.0.0.0'
                         OR address <<= inet '224.0.0.0/4' OR address = inet '::'
                         OR address = inet '::1' OR address <<= inet 'ff00::/8')),
    PRIMARY KEY (host, position)
);

CREATE INDEX host_addresses_address ON host_addresses (address);

CREATE TABLE host_statuses (
    host     text NOT NULL REFERENCES hosts (name) ON DELETE CASCADE ON UPDATE CASCADE,
    status   text NOT NULL CHECK (status IN ('ok', 'linked', 'clientDeleteProhibited',
                 'serverDeleteProhibited', 'clientUpdateProhibited', 'serverUpdateProhibited',
                 'pendingCreate', 'pendingDelete', 'pendingTransfer', 'pendingUpdate')),
    position integer NOT NULL CHECK (position >= 0),
    PRIMARY KEY (host, status),
    UNIQUE (host, position)
);

-- ===== domains (RFC 5731) =====

CREATE TABLE domains (
    name      text PRIMARY KEY CHECK (rddsd_name(name)),
    roid      text NOT NULL CHECK (rddsd_roid(roid)),
    created   timestamptz NOT NULL CHECK (rddsd_time(created)),
    updated   timestamptz CHECK (rddsd_time(updated)),
    expires   timestamptz NOT NULL CHECK (rddsd_time(expires)),
    registrar bigint NOT NULL REFERENCES registrars (iana_id),
    -- A domain is registered exactly one label below a zone the registry serves.
    zone      text GENERATED ALWAYS AS (substr(name, strpos(name, '.') + 1)) STORED
              NOT NULL REFERENCES registry_tlds (tld),
    CHECK (expires > created)
);

CREATE UNIQUE INDEX domains_roid_key ON domains (upper(roid));
CREATE INDEX domains_registrar ON domains (registrar);
CREATE INDEX domains_zone ON domains (zone);

-- EPP statuses (RFC 5731) and RGP statuses (RFC 3915).
CREATE TABLE domain_statuses (
    domain   text NOT NULL REFERENCES domains (name) ON DELETE CASCADE ON UPDATE CASCADE,
    status   text NOT NULL CHECK (status IN ('ok', 'inactive', 'clientDeleteProhibited',
                 'serverDeleteProhibited', 'clientHold', 'serverHold', 'clientRenewProhibited',
                 'serverRenewProhibited', 'clientTransferProhibited', 'serverTransferProhibited',
                 'clientUpdateProhibited', 'serverUpdateProhibited', 'pendingCreate',
                 'pendingDelete', 'pendingRenew', 'pendingTransfer', 'pendingUpdate',
                 'addPeriod', 'autoRenewPeriod', 'renewPeriod', 'transferPeriod',
                 'redemptionPeriod', 'pendingRestore')),
    position integer NOT NULL CHECK (position >= 0),
    PRIMARY KEY (domain, status),
    UNIQUE (domain, position)
);

-- Delegation: the domain's nameservers, each a host object, in order.
CREATE TABLE domain_nameservers (
    domain   text NOT NULL REFERENCES domains (name) ON DELETE CASCADE ON UPDATE CASCADE,
    position integer NOT NULL CHECK (position >= 0),
    host     text NOT NULL REFERENCES hosts (name) ON UPDATE CASCADE,
    PRIMARY KEY (domain, position),
    UNIQUE (domain, host)
);

CREATE INDEX domain_nameservers_host ON domain_nameservers (host);

-- The domain's contacts by role (`registrant`, `tech` in the JSON Lines format).
CREATE TABLE domain_contacts (
    domain  text NOT NULL REFERENCES domains (name) ON DELETE CASCADE ON UPDATE CASCADE,
    role    text NOT NULL CHECK (role IN ('registrant', 'tech')),
    contact text NOT NULL REFERENCES contacts (roid) ON UPDATE CASCADE,
    PRIMARY KEY (domain, role)
);

CREATE INDEX domain_contacts_contact ON domain_contacts (contact);

-- DS records of a signed delegation (RFC 5910 dsData), with the digest lengths of the IANA
-- digest types 1 to 6.
CREATE TABLE domain_ds (
    domain      text NOT NULL REFERENCES domains (name) ON DELETE CASCADE ON UPDATE CASCADE,
    position    integer NOT NULL CHECK (position >= 0),
    key_tag     integer NOT NULL CHECK (key_tag BETWEEN 0 AND 65535),
    algorithm   smallint NOT NULL CHECK (algorithm BETWEEN 0 AND 255),
    digest_type smallint NOT NULL CHECK (digest_type BETWEEN 1 AND 6),
    digest      text NOT NULL CHECK (digest ~ '^[0-9A-Fa-f]+$'
                AND octet_length(digest) = CASE digest_type WHEN 1 THEN 40 WHEN 4 THEN 96 ELSE 64 END),
    PRIMARY KEY (domain, position)
);

-- ===== the change log =====

-- One row per changed object. Serials are handed out when a row is written, not at commit, so a
-- transaction that commits later can hold a smaller serial than rows a reader has already seen:
-- a reader must allow for that (the serving phase re-reads a window below its last serial). `all` (key NULL) means "everything may have
-- changed" (an import, a TRUNCATE); `registry` (key NULL) the TLD list or update time.
CREATE TABLE changes (
    serial bigserial PRIMARY KEY,
    at     timestamptz NOT NULL DEFAULT now(),
    kind   text NOT NULL CHECK (kind IN ('all', 'registry', 'registrar', 'contact', 'host', 'domain')),
    key    text,
    CHECK ((key IS NULL) = (kind IN ('all', 'registry')))
);

-- Statement-level, so a COPY of a million rows costs one INSERT … SELECT, not a million calls.
-- TG_ARGV[0] is the object kind, TG_ARGV[1] the SQL expression of its key over a row (fixed
-- below, never input). A session that sets `rddsd.bulk` to `on` (rddsd db import, which records
-- one `all` change itself) skips the per-object rows.
CREATE FUNCTION rddsd_record_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    newest bigint;
    kind text := TG_ARGV[0];
    key text := TG_ARGV[1];
BEGIN
    IF current_setting('rddsd.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO changes (kind) VALUES ('all') RETURNING serial INTO newest;
    ELSIF kind = 'registry' THEN
        INSERT INTO changes (kind) VALUES ('registry') RETURNING serial INTO newest;
    ELSIF TG_OP = 'INSERT' THEN
        EXECUTE format('WITH c AS (INSERT INTO changes (kind, key) SELECT DISTINCT %L, %s FROM new_rows RETURNING serial) SELECT max(serial) FROM c', kind, key)
            INTO newest;
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE format('WITH c AS (INSERT INTO changes (kind, key) SELECT DISTINCT %L, %s FROM old_rows RETURNING serial) SELECT max(serial) FROM c', kind, key)
            INTO newest;
    ELSE
        EXECUTE format('WITH c AS (INSERT INTO changes (kind, key) SELECT %L, k FROM (SELECT %s AS k FROM new_rows UNION SELECT %s FROM old_rows) AS u RETURNING serial) SELECT max(serial) FROM c', kind, key, key)
            INTO newest;
    END IF;
    IF newest IS NOT NULL THEN
        PERFORM pg_notify('rddsd_changes', newest::text);
    END IF;
    RETURN NULL;
END;
$$;

-- The triggers of every data table: insert, update and delete (each with its transition
-- table; PostgreSQL allows one event per trigger that has one) and truncate.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('registry', 'registry', 'NULL'),
        ('registry_tlds', 'registry', 'NULL'),
        ('registrars', 'registrar', 'iana_id::text'),
        ('contacts', 'contact', 'upper(roid)'),
        ('hosts', 'host', 'name'),
        ('host_addresses', 'host', 'host'),
        ('host_statuses', 'host', 'host'),
        ('domains', 'domain', 'name'),
        ('domain_statuses', 'domain', 'domain'),
        ('domain_nameservers', 'domain', 'domain'),
        ('domain_contacts', 'domain', 'domain'),
        ('domain_ds', 'domain', 'domain')
    ) AS v (tbl, kind, key)
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rddsd_record_changes(%L, %L)',
            t.tbl || '_changes_insert', t.tbl, t.kind, t.key);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rddsd_record_changes(%L, %L)',
            t.tbl || '_changes_update', t.tbl, t.kind, t.key);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rddsd_record_changes(%L, %L)',
            t.tbl || '_changes_delete', t.tbl, t.kind, t.key);
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION rddsd_record_changes(%L, %L)',
            t.tbl || '_changes_truncate', t.tbl, t.kind, t.key);
    END LOOP;
END;
$$;
