//! The command-line tools beside the server: `rddsd authority …` (credentials),
//! `rddsd audit …` (the disclosure log), `rddsd subject …` (a person's access request),
//! `rddsd delta …` (change files) and `rddsd db …` (the PostgreSQL schema, import and export).
//! The binary only parses flags and calls these; each
//! writes its report to the writer it is given, so tests and the binary share one code path.

pub mod audit;
pub mod authority;
pub mod check;
pub mod db;
pub mod delta;
pub mod requests;
pub mod serve;
pub mod subject;

/// A date from the command line: `YYYY-MM-DD` (00:00 UTC) or RFC 3339.
///
/// # Errors
/// A message naming the flag.
pub fn cli_date(flag: &str, s: &str) -> Result<crate::registry::Timestamp, String> {
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    crate::registry::validate::datetime(&full).map_err(|m| format!("--{flag}: {m}"))
}

/// A failed write of a report (a closed stdout): said, not panicked.
fn io(e: std::io::Error) -> String {
    format!("cannot write the report: {e}")
}

/// Say why a command failed, on stderr, and exit 1. Not `eprintln!`: it panics when stderr is
/// gone.
pub fn fail(message: &str) -> std::process::ExitCode {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "rddsd: {message}");
    std::process::ExitCode::FAILURE
}
