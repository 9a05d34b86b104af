-- rddsd PostgreSQL schema, version 3: state the nodes of a cluster share.
--
-- The disclosure log (`[authority] log_database = true`): the same entries as the file log
-- (src/authority/log.rs), one per row, each kept as its exact JSON line so the hash that covers
-- it can be checked again, and ONE hash chain for every node. A node appends in a transaction
-- that locks the one row of `disclosure_log_head` (so appends from all nodes take turns and
-- each chains from the one before) and commits with synchronous_commit on, before the answer
-- leaves. `rddsd audit … --database` verifies, reports on and prunes it.
CREATE TABLE disclosure_log (
    seq   bigint PRIMARY KEY CHECK (seq > 0),
    -- The entry's own `time` and `hash`, copied from `line` for reading and pruning by date.
    time  text NOT NULL,
    hash  text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    -- The entry as one line of the file log, without the line ending.
    line  text NOT NULL
);

-- Where the chain continues: the hash the next entry must carry as `prev` and its seq. One
-- row, locked FOR UPDATE by every append and by a prune.
CREATE TABLE disclosure_log_head (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    next_seq bigint NOT NULL CHECK (next_seq > 0),
    head     text NOT NULL CHECK (head ~ '^[0-9a-f]{64}$')
);
INSERT INTO disclosure_log_head (next_seq, head)
VALUES (1, '0000000000000000000000000000000000000000000000000000000000000000');

-- Authority credentials (`[authority] credentials_database = true`): one row per credential,
-- the credentials file's line as JSON (only the SHA-256 of the secret, never the secret).
-- `rddsd authority add|revoke|list --database` write and read it; every node reads it again
-- every few seconds, so a revocation reaches all of them without a SIGHUP.
CREATE TABLE authority_credentials (
    id         text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{16}$'),
    credential jsonb NOT NULL CHECK (credential->>'id' = id)
);

-- The harvesting budget of a cluster (`[database] shared_budget = true`): each node adds what
-- it counted to these rows about once a second, and reads back what changed. Ordinary logged
-- tables, so counts and blocks survive a crash of the database server as well as a node's
-- restart. The per-second rate stays per node. `version` (from one sequence) says which rows
-- changed since a node last read.
CREATE SEQUENCE harvest_version;

-- Queries per client network and UTC day (days since 1970-01-01).
CREATE TABLE harvest_counts (
    network inet    NOT NULL,
    day     integer NOT NULL,
    count   bigint  NOT NULL CHECK (count >= 0),
    version bigint  NOT NULL DEFAULT nextval('harvest_version'),
    PRIMARY KEY (network, day)
);
CREATE INDEX harvest_counts_version ON harvest_counts (version);

-- Blocks, with the escalation window they count in.
CREATE TABLE harvest_blocks (
    network          inet    PRIMARY KEY,
    blocked_until    bigint  NOT NULL,  -- Unix seconds
    window_start     integer NOT NULL,  -- days since 1970-01-01
    blocks_in_window integer NOT NULL CHECK (blocks_in_window >= 0),
    version          bigint  NOT NULL DEFAULT nextval('harvest_version')
);
CREATE INDEX harvest_blocks_version ON harvest_blocks (version);
