#![allow(unreachable_pub, missing_docs)]

//! Integration tests: the real `rddsd` binary, started on port 0, queried over real sockets.
//! Each suite, and what it proves:

// Support: starting the binary and a raw HTTP client; a fresh PostgreSQL database per test;
// an HTTPS front for the tests' own servers.
mod harness;
mod pgdb;
mod tls_front;

/// Authority disclosure: credentials from the real CLI, refusals, and a log entry before data.
mod authority;
/// PostgreSQL cluster: one disclosure log, the credentials and the harvesting budget shared.
mod cluster;
/// `rddsd check` (data, policy, `--config`): every problem named by file, line and field.
mod data;
/// Delta files: applied live, refused whole, replayed after restart; only changed answers move.
mod deltas;
/// RFC 9560 federated credentials: tokens from a test identity provider, keys, refusals.
mod federation;
/// Hostile clients against the connection limits: a normal client is still served.
mod hardening;
/// SIGHUP reload and SIGTERM drain of the real process.
mod lifecycle;
/// The harvesting defence: rates, quotas, blocks, allow and deny lists, shared by protocols.
mod limits;
/// Operating: JSON logs, metrics, readiness, systemd notification, version and man page.
mod operations;
/// WHOIS and RDAP publish exactly the same values for every object.
mod parity;
/// PostgreSQL backend: migrate, import, export, check, and serving answers equal to files.
mod postgres;
/// No non-public personal value in any public answer, header, error or log line.
mod privacy;
/// The ICANN gTLD RDAP Profile rules that rdap-test does not check, on every answer.
mod profile;
/// RDAP over real sockets: lookups, normalisation, statuses, headers, hostile requests.
mod rdap;
/// Issue 23: values made safe and served, records left out, the threshold.
mod records;
/// PostgreSQL replica mode: the whole registry in memory, following the change log.
mod replica;
/// Issue 25: disclosure requests without a credential, decided by the privacy officer.
mod requests;
/// Every answer kind and every fixture validates against its JSON schema.
mod schema;
/// Authority searches: every form, paging, the cap, one log entry per page.
mod search;
/// The person's own request and a leaked credential: reports on real disclosures.
mod subject;
/// Transparency: receipts, checkpoints, witnesses, a rewritten history caught.
mod transparency;
/// Port 43 over real sockets: query forms, golden answers, hostile clients, caps.
mod whois;
