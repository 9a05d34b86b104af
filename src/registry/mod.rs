//! Registration data: the model, its loading and validation, and the in-memory store.

pub mod cowmap;
pub mod load;
pub mod model;
pub mod name;
pub mod parallel;
pub mod shown;
pub mod store;
pub mod validate;

pub use load::{LoadError, LoadErrors};
pub use model::*;
pub use name::{DomainName, NameError};
pub use store::{ContactRoles, Snapshot};
