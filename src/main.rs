//! The `rddsd` binary: parse flags, set up logging and signals, run the library's server.

/// mimalloc rather than the system allocator: loading a registry allocates and frees millions of
/// small records (glibc's free lists were a large share of load time), and its parse-time
/// fragments stayed resident under glibc (2.2 GB steady for a million domains, against about
/// 1.4 GB with an allocator that returns memory); a reload or delta frees a whole old generation
/// the same way.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use rddsd::cli::fail;

use clap::{Parser, Subcommand};

/// The version and the commit it was built from (see build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("RDDSD_COMMIT"),
    ")"
);

/// A registry's Registration Data Directory Service (RDAP and WHOIS).
#[derive(Parser)]
#[command(name = "rddsd", version = VERSION)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve RDAP and WHOIS. With no flags: the bundled demo registry, RDAP on 127.0.0.1:8080 and
    /// WHOIS on 127.0.0.1:4343.
    Serve(rddsd::cli::serve::ServeArgs),
    /// Manage authority credentials (the secret is printed once; only its hash is stored).
    Authority {
        #[command(subcommand)]
        command: rddsd::cli::authority::AuthorityCommand,
    },
    /// Verify, report on and prune the disclosure log.
    Audit {
        #[command(subcommand)]
        command: rddsd::cli::audit::AuditCommand,
    },
    /// A person's access request: what the registry holds about a contact and to whom it was
    /// disclosed. The output contains that person's personal data.
    Subject {
        #[command(subcommand)]
        command: rddsd::cli::subject::SubjectCommand,
    },
    /// Disclosure requests without a standing credential: review, decide, report (issue #25).
    Requests {
        #[command(subcommand)]
        command: rddsd::cli::requests::RequestsCommand,
    },
    /// Hand delta files (changes to the registration data) to the server, or check them.
    Delta {
        #[command(subcommand)]
        command: rddsd::cli::delta::DeltaCommand,
    },
    /// PostgreSQL: apply the schema migrations, import a JSON Lines data set, export it back.
    Db {
        #[command(subcommand)]
        command: rddsd::cli::db::DbCommand,
    },
    /// Print a shell completion script for the given shell.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), generated from this command-line definition.
    Man,
    /// Validate registration data and policy (or a configuration file) without serving; exit
    /// 1 on any error.
    Check(rddsd::cli::check::CheckArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "rddsd", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            match clap_mangen::Man::new(cmd).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&format!("cannot write the manual page: {e}")),
            }
        }
        Command::Check(args) => rddsd::cli::check::run(args),
        Command::Authority { command } => {
            rddsd::cli::authority::run(command, &mut std::io::stdout())
                .map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS)
        }
        Command::Audit { command } => rddsd::cli::audit::run(command, &mut std::io::stdout())
            .map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS),
        Command::Subject { command } => rddsd::cli::subject::run(command, &mut std::io::stdout())
            .map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS),
        Command::Requests { command } => rddsd::cli::requests::run(command, &mut std::io::stdout())
            .map_or_else(|e| fail(&e.to_string()), |()| ExitCode::SUCCESS),
        Command::Delta { command } => rddsd::cli::delta::run(command, &mut std::io::stdout())
            .map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS),
        Command::Db { command } => rddsd::cli::db::run(command, &mut std::io::stdout())
            .map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS),
        Command::Serve(args) => rddsd::cli::serve::run(args),
    }
}
