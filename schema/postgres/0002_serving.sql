-- rddsd PostgreSQL schema, version 2: what `rddsd serve` needs to answer from the tables.
--
-- Each record as one line of the JSON Lines format (schema/registry-data.schema.json), built
-- here so a lookup fetches a domain with its contacts, hosts and registrars in one statement
-- and one round trip, and rddsd checks each line with the loader's own field rules, exactly as
-- it checks a data file. Absent optional members are left out (json_strip_nulls), as an export
-- leaves them out.

-- A time as the data format writes it: UTC, whole seconds (the fraction is dropped, as the
-- loader and `rddsd db export` drop it).
CREATE FUNCTION rddsd_json_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- An EPP phone number with its extension, or NULL without a number.
CREATE FUNCTION rddsd_json_phone(number text, ext text) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN number IS NULL THEN NULL
                ELSE json_build_object('number', number, 'ext', ext) END
$$;

CREATE FUNCTION rddsd_registrar_line(r registrars) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT json_strip_nulls(json_build_object(
        'kind', 'registrar', 'ianaId', r.iana_id, 'name', r.name, 'url', r.url,
        'whoisServer', r.whois_server, 'rdapBaseUrl', r.rdap_base_url,
        'abuseEmail', r.abuse_email,
        'abusePhone', rddsd_json_phone(r.abuse_phone, r.abuse_phone_ext),
        'address', json_build_object('street', r.street, 'city', r.city, 'sp', r.sp,
                                     'pc', r.pc, 'cc', r.cc),
        'voice', rddsd_json_phone(r.voice, r.voice_ext),
        'fax', rddsd_json_phone(r.fax, r.fax_ext),
        'email', r.email))::text
$$;

CREATE FUNCTION rddsd_contact_line(c contacts) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT json_strip_nulls(json_build_object(
        'kind', 'contact', 'roid', c.roid, 'name', c.name, 'org', c.org,
        'street', c.street, 'city', c.city, 'sp', c.sp, 'pc', c.pc, 'cc', c.cc,
        'voice', rddsd_json_phone(c.voice, c.voice_ext),
        'fax', rddsd_json_phone(c.fax, c.fax_ext),
        'email', c.email, 'personType', c.person_type, 'consent', c.consent))::text
$$;

CREATE FUNCTION rddsd_host_line(h hosts) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT json_strip_nulls(json_build_object(
        'kind', 'host', 'roid', h.roid, 'name', h.name,
        'addresses', ARRAY(SELECT host(a.address) FROM host_addresses a
                           WHERE a.host = h.name ORDER BY a.position),
        'statuses', ARRAY(SELECT s.status FROM host_statuses s
                          WHERE s.host = h.name ORDER BY s.position),
        'registrar', h.registrar,
        'created', rddsd_json_time(h.created), 'updated', rddsd_json_time(h.updated)))::text
$$;

CREATE FUNCTION rddsd_domain_line(d domains) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT json_strip_nulls(json_build_object(
        'kind', 'domain', 'roid', d.roid, 'name', d.name,
        'statuses', ARRAY(SELECT s.status FROM domain_statuses s
                          WHERE s.domain = d.name ORDER BY s.position),
        'created', rddsd_json_time(d.created), 'updated', rddsd_json_time(d.updated),
        'expires', rddsd_json_time(d.expires), 'registrar', d.registrar,
        'registrant', (SELECT c.contact FROM domain_contacts c
                       WHERE c.domain = d.name AND c.role = 'registrant'),
        'tech', (SELECT c.contact FROM domain_contacts c
                 WHERE c.domain = d.name AND c.role = 'tech'),
        'nameservers', ARRAY(SELECT n.host FROM domain_nameservers n
                             WHERE n.domain = d.name ORDER BY n.position),
        'ds', coalesce((SELECT json_agg(json_build_object('keyTag', x.key_tag,
                                'algorithm', x.algorithm, 'digestType', x.digest_type,
                                'digest', x.digest) ORDER BY x.position)
                        FROM domain_ds x WHERE x.domain = d.name), '[]'::json)))::text
$$;

-- A contact's own answer depends on the roles it holds (registrant or technical contact of
-- some domain). A change of `domain_contacts` is recorded for the domain (version 1); these
-- triggers also record it for each contact named before and after, so a node drops the
-- contacts' cached answers too.
DO $$
BEGIN
    EXECUTE 'CREATE TRIGGER domain_contacts_roles_insert AFTER INSERT ON domain_contacts REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rddsd_record_changes(''contact'', ''upper(contact)'')';
    EXECUTE 'CREATE TRIGGER domain_contacts_roles_update AFTER UPDATE ON domain_contacts REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rddsd_record_changes(''contact'', ''upper(contact)'')';
    EXECUTE 'CREATE TRIGGER domain_contacts_roles_delete AFTER DELETE ON domain_contacts REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rddsd_record_changes(''contact'', ''upper(contact)'')';
END;
$$;
