//! Authority disclosure: authenticated requests from public authorities, answered with the
//! non-public data their stated purpose allows, and recorded in a tamper-evident log before any
//! of it leaves.

pub mod credentials;
pub mod federation;
pub(crate) mod https_client;
pub mod log;
pub mod reports;
pub mod service;
pub mod transparency;

pub use crate::policy::access::{CredentialKind, Grant, Purpose};
pub use https_client::TrustRoots;
pub use service::{Authority, AuthoritySettings};
