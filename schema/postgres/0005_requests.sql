-- rddsd PostgreSQL schema, version 5: the record of disclosure requests (issue #25).
-- One hash-chained record for every node of a cluster and the privacy officer's CLI.
--
-- request_log holds each entry as its exact JSON line (the file store's format, so the same
-- verification checks both); after a prune its first row is a checkpoint (request '').
-- request_log_head is one row: the next seq and the last hash. A change locks it (SELECT … FOR
-- UPDATE), so changes from any node take turns and the chain never forks, and it catches
-- entries deleted from the chain's end.
-- request_details holds the requester's details and the justification (personal data) beside
-- the chain, which holds only their hash: erasure and retention delete rows here without
-- breaking it. Only the privacy officer reads them (`rddsd requests show`).
--
-- IF NOT EXISTS and ON CONFLICT: before this migration the store created these same tables on
-- first use, so a database that already holds a record keeps it.

CREATE TABLE IF NOT EXISTS request_log (
    seq     bigint PRIMARY KEY,
    time    text NOT NULL,
    request text NOT NULL,
    line    text NOT NULL
);

CREATE TABLE IF NOT EXISTS request_details (
    request text PRIMARY KEY,
    body    text NOT NULL
);

CREATE TABLE IF NOT EXISTS request_log_head (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    next_seq bigint NOT NULL,
    head     text NOT NULL
);

INSERT INTO request_log_head (one, next_seq, head)
VALUES (true, 1, '0000000000000000000000000000000000000000000000000000000000000000')
ON CONFLICT DO NOTHING;
