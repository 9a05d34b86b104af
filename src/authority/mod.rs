//! Authority disclosure: authenticated requests from public authorities, answered with the
//! non-public data their stated purpose allows, and recorded in a tamper-evident log before any
//! of it leaves.

pub mod credentials;
pub mod federation;
pub mod grant;
pub(crate) mod http;
pub mod log;
pub mod report;
pub mod route;
pub mod stats;
pub mod subject;
pub mod transparency;

pub use grant::{Grant, Purpose};
pub use http::TrustRoots;
pub use route::{Authority, AuthoritySettings};
