//! rddsd: a registry's Registration Data Directory Service.
//!
//! One daemon answers WHOIS on port 43 (RFC 3912) and RDAP over HTTP (RFC 7480, 9082, 9083, ICANN gTLD RDAP Profile 2024) from an
//! in-memory snapshot of registration data, and lets personal data out only as the disclosure
//! policy allows.
//!
//! # Layout
//! - [`registry`]: the data model (EPP-named), JSON Lines loading and validation, the snapshot.
//! - [`policy`]: the declarative disclosure policy and the redacted *views* it produces; the
//!   only input renderers accept.
//! - [`rdap`]: routing (pure), rendering (pure) and the hyper service.
//! - [`whois`]: port 43: query parsing (pure), rendering (pure) and the connection handler.
//! - [`limit`]: the harvesting defence: one budget per client network for both protocols.
//! - [`metrics`]: operator counters, served as Prometheus text by [`admin`].
//! - [`state`]: the current data generation, atomic reload, the answer cache.
//! - [`server`]: listeners, connection cap, graceful shutdown.
//! - [`config`]: strict TOML config and flag overrides.
//! - [`telemetry`]: logging setup and privacy-safe log fields.
//! - [`tls`]: HTTPS with rustls.
//! - [`transparency`]: the disclosure log's Merkle tree, signed checkpoints, receipts, witnesses.
//!
//! Request flow: route → cache → lookup → policy view → render → HTTP answer, with every
//! protocol outcome mapped to a status and RFC 9083 body in one place ([`rdap::Answer`]).
//!
//! # Non-features
//! RDAP searches and IP/ASN lookups (501: searches are a harvesting channel), RDAP redirects/bootstrap.

pub mod admin;
pub mod authority;
pub mod config;
pub mod limit;
pub mod metrics;
pub mod policy;
pub mod rdap;
pub mod registry;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod tls;
pub mod transparency;
pub mod whois;
