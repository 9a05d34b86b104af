//! Reports on the disclosure log, used only by the command line: the log's entries listed and
//! filtered ([`report`]), counted for a transparency report ([`stats`]), and everything held
//! about one person with every disclosure of it ([`subject`]).

pub mod report;
pub mod stats;
pub mod subject;
