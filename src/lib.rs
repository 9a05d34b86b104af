//! rddsd: a registry's Registration Data Directory Service.
//!
//! One daemon answers WHOIS on port 43 (RFC 3912) and RDAP over HTTP (RFC 7480, 9082, 9083,
//! ICANN gTLD RDAP Profile 2024) from one set of registration data, and lets personal data out
//! only as the disclosure policy allows. `docs/architecture.md` draws the layers; each module
//! imports only from layers below it (`tests/architecture.rs` checks it).
//!
//! # One query, end to end
//! 1. **Accept** ([`server`]): the server owns every listener, connection cap, deadline, TLS,
//!    drain and the one shutdown token. It hands a connection to a protocol's handler.
//! 2. **Admit** ([`limit`]): the harvesting defence decides on the client network alone, before
//!    any parsing. RDAP and port 43 draw on one budget.
//! 3. **Parse**: [`rdap::router`] (method and path) and [`whois::parse`] (one line) both produce
//!    the protocol-neutral [`query::Query`]. Names are normalised once, into types.
//! 4. **Read** ([`backend`]): the one seam the front ends read records through: the generation's
//!    in-memory snapshot ([`backend::InMemory`]), or PostgreSQL read per query
//!    ([`db::serve`]). Cached public answers ([`cache`]) stand while the backend says none of
//!    their records changed.
//! 5. **Resolve and redact** ([`resolve`]): one resolver asks the [`policy`] for *views*: each
//!    personal field shown or withheld for the audience. An authority audience needs a
//!    [`policy::Grant`], which only the authority service ([`authority`]) issues after checking a
//!    credential and a statement.
//! 6. **Render** ([`rdap::render`], [`whois::render`]): pure functions of views; renderers never
//!    see a raw record, so unredacted data has no way into a public answer.
//! 7. **Answer and write**: RDAP maps every outcome to HTTP in one place ([`rdap::answer`]);
//!    port 43 writes its text or one `%ERROR` line. Each request leaves one access-log line and
//!    its metrics ([`metrics`], served by [`admin`]). A disclosure is recorded in the
//!    hash-chained log ([`authority::log`]) before any byte of it is written.
//!
//! # The other parts
//! - [`registry`]: the EPP-named model, JSON Lines loading and validation, delta files and the
//!   delta directory, the [`registry::Snapshot`].
//! - [`state`]: the data generation being served (snapshot + policy, swapped whole on reload),
//!   with the backend, the answer cache, the limiter and the authority service.
//! - [`db`]: PostgreSQL: the serving backend, the cluster's shared disclosure log, credentials
//!   and harvesting budget, and the schema, import, export and check of the data.
//! - [`config`]: strict TOML config and flag overrides, resolved into each layer's settings.
//! - [`cli`]: the commands (`serve`, `check`, `authority`, `audit`, `subject`, `delta`, `db`).
//! - [`telemetry`]: logging that never blocks or fails a request; privacy-safe log fields.
//! - [`tls`], [`files`]: HTTPS with rustls; atomic file replacement.
//! - [`authority::transparency`]: the disclosure log's Merkle tree, signed checkpoints,
//!   receipts, witnesses.
//! - [`search`]: the authority route's searches (RFC 9082 §3.2, RFC 9536 reverse search).
//!
//! # Non-features
//! Public RDAP searches (501: searches are a harvesting channel; authorities search on the
//! authority route), IP/ASN lookups (501), RDAP redirects/bootstrap.

pub mod admin;
pub mod authority;
pub mod backend;
pub mod cache;
pub mod cli;
pub mod config;
pub mod db;
pub mod files;
pub mod limit;
pub mod metrics;
pub mod policy;
pub mod query;
pub mod rdap;
pub mod registry;
#[cfg(test)]
mod render_oracle;
pub mod requests;
pub mod resolve;
pub mod search;
pub mod server;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod whois;
