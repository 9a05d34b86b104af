#![allow(unreachable_pub, missing_docs)]

//! Integration tests: the real `rddsd` binary, started on port 0, queried over real sockets.

mod harness;
mod pgdb;
mod tls_front;

mod authority;
mod cluster;
mod data;
mod deltas;
mod federation;
mod hardening;
mod lifecycle;
mod limits;
mod operations;
mod parity;
mod postgres;
mod privacy;
mod profile;
mod rdap;
mod schema;
mod search;
mod subject;
mod transparency;
mod whois;
