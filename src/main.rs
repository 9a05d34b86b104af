//! The `rddsd` binary: parse flags, set up logging and signals, run the library's server.

/// mimalloc rather than the system allocator: loading a registry allocates and frees millions of
/// small records (glibc's free lists were a large share of load time), and its parse-time
/// fragments stayed resident under glibc (2.2 GB steady for a million domains, against about
/// 1.4 GB with an allocator that returns memory); a reload or delta frees a whole old generation
/// the same way.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use rddsd::config::{ConfigFile, Overrides, Settings};
use rddsd::server::Server;
use rddsd::state::Sources;

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
    Serve {
        /// TOML config file.
        #[arg(long, short = 'c')]
        config: Option<PathBuf>,
        /// RDAP listen address (repeatable; port 0 picks a free port).
        #[arg(long)]
        rdap_listen: Vec<SocketAddr>,
        /// WHOIS listen address (repeatable; port 0 picks a free port). Default 127.0.0.1:4343.
        #[arg(long)]
        whois_listen: Vec<SocketAddr>,
        /// Admin (Prometheus /metrics) listen address (repeatable). Default 127.0.0.1:9090.
        #[arg(long)]
        admin_listen: Vec<SocketAddr>,
        /// TLS certificate chain (PEM); with --tls-key, serve HTTPS.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// TLS private key (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Public base URL used in links (default: http://<rdap listen address>/).
        #[arg(long)]
        base_url: Option<String>,
        /// Directory of registration data (*.jsonl). Default: the bundled demo registry.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Disclosure policy file. Default: the bundled RDP baseline.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Serve the registration data of this PostgreSQL database (the postgres backend; see
        /// `[data] backend`). With `backend = "postgres"` in the config and no URL there,
        /// RDDSD_DATABASE_URL is used.
        #[arg(long)]
        database: Option<String>,
        /// Log filter, e.g. info or rddsd=debug (default: the config's [log] filter, or info).
        #[arg(long)]
        log: Option<String>,
        /// Log line format: text or json (default: the config's [log] format, or text).
        #[arg(long)]
        log_format: Option<rddsd::telemetry::LogFormat>,
    },
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
    /// Validate registration data and policy without serving; exit 1 on any error.
    Check {
        /// Directory of registration data (*.jsonl). Default: the bundled demo registry.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Check the registration data in this PostgreSQL database instead, naming each
        /// violation by table and key. `--data` wins over RDDSD_DATABASE_URL.
        #[arg(long, env = "RDDSD_DATABASE_URL", hide_env_values = true)]
        database: Option<String>,
        /// Disclosure policy file. Default: the bundled RDP baseline.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Also print each offending value. Errors name file, line and field only, since they
        /// also reach server logs; values may be personal data, so show them on a terminal only.
        #[arg(long)]
        show_values: bool,
    },
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
        Command::Check {
            data,
            database,
            policy,
            show_values,
        } => match (data, database) {
            (None, Some(url)) => {
                rddsd::cli::db::check(&url, policy.as_deref(), show_values, &mut std::io::stdout())
                    .map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS)
            }
            (data, _) => check(data, policy, show_values),
        },
        Command::Authority { command } => {
            rddsd::cli::authority::run(command, &mut std::io::stdout())
                .map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS)
        }
        Command::Audit { command } => rddsd::cli::audit::run(command, &mut std::io::stdout())
            .map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS),
        Command::Subject { command } => rddsd::cli::subject::run(command, &mut std::io::stdout())
            .map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS),
        Command::Delta { command } => rddsd::cli::delta::run(command, &mut std::io::stdout())
            .map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS),
        Command::Db { command } => rddsd::cli::db::run(command, &mut std::io::stdout())
            .map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS),
        Command::Serve {
            config,
            rdap_listen,
            whois_listen,
            admin_listen,
            tls_cert,
            tls_key,
            base_url,
            data,
            policy,
            database,
            log,
            log_format,
        } => {
            let file = match config.as_deref().map(ConfigFile::load).transpose() {
                Ok(f) => f.unwrap_or_default(),
                Err(e) => return fail(&e.to_string()),
            };
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(rddsd::config::TlsSection { cert, key }),
                _ => None,
            };
            let flags = Overrides {
                rdap_listen,
                whois_listen,
                admin_listen,
                config_path: config.clone(),
                tls,
                base_url,
                data_dir: data,
                policy,
                log_format,
                log_filter: log,
                database_url: database,
                database_url_env: std::env::var("RDDSD_DATABASE_URL").ok(),
            };
            let settings = match Settings::resolve(file, flags) {
                Ok(s) => s,
                Err(e) => return fail(&e.to_string()),
            };
            rddsd::telemetry::init(&settings.log_filter, settings.log_format);
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
            };
            let code = runtime.block_on(serve(settings));
            // The drain already had its grace period. Dropping the runtime would wait for
            // blocking tasks without bound (a reload stuck reading a file); leave them behind.
            runtime.shutdown_background();
            rddsd::telemetry::flush(std::time::Duration::from_secs(1));
            code
        }
    }
}

fn fail(message: &str) -> ExitCode {
    // Not `eprintln!`: it panics when stderr is gone.
    let _ = writeln!(std::io::stderr(), "rddsd: {message}");
    ExitCode::FAILURE
}

fn check(data: Option<PathBuf>, policy: Option<PathBuf>, show_values: bool) -> ExitCode {
    let sources = Sources {
        config: None,
        data_dir: data,
        policy,
        delta_dir: None,
        database: None,
    };
    match sources.load(0, None) {
        Ok(d) => {
            let (domains, hosts, contacts, registrars) = d.snapshot.counts();
            println!("ok: {domains} domains, {hosts} hosts, {contacts} contacts, {registrars} registrars; policy valid");
            // The process ends here: freeing millions of records one by one would only delay
            // the exit by seconds on a large registry.
            std::mem::forget(d);
            ExitCode::SUCCESS
        }
        Err(rddsd::state::LoadFailure::Data(errors)) if show_values => fail(&format!(
            "registration data refused:\n{}",
            errors.with_values()
        )),
        Err(e) => fail(&e.to_string()),
    }
}

async fn serve(settings: Settings) -> ExitCode {
    let server = match Server::bind(settings).await {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    let state = server.state();
    let signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => return fail(&format!("cannot install signal handlers: {e}")),
    };
    if state.database.is_some() {
        tracing::info!("registration data served from PostgreSQL");
    } else {
        let data = state.current();
        let (domains, hosts, contacts, registrars) = data.snapshot.counts();
        tracing::info!(
            domains,
            hosts,
            contacts,
            registrars,
            "registration data loaded"
        );
    }
    {
        // Not `println!`: it panics when stdout is gone, and a closed stdout must not stop
        // the service.
        let mut out = std::io::stdout().lock();
        for url in server.rdap_urls() {
            let _ = writeln!(out, "rdap listening on {url}");
        }
        for addr in server.whois_addrs() {
            let _ = writeln!(out, "whois listening on {addr}");
        }
        for addr in server.admin_addrs() {
            let _ = writeln!(out, "admin listening on http://{addr}");
        }
        let _ = out.flush();
    }
    // systemd (Type=notify): ready once the data is loaded and every listener is bound.
    notify(&[sd_notify::NotifyState::Ready]);

    let shutdown = CancellationToken::new();
    let signals = tokio::spawn(watch_signals(shutdown.clone(), state, signals));
    server.run(shutdown).await;
    signals.abort();
    notify(&[sd_notify::NotifyState::Stopping]);
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// The signal streams, installed before the server says it is listening or ready, so a SIGHUP
/// sent the moment it is ready is a reload, never the default action (termination).
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }
}

/// SIGTERM/SIGINT cancel the shutdown token; SIGHUP reloads data and policy, keeping the old
/// generation when the new one does not validate (and keeps listening for the next SIGHUP).
///
/// A reload runs beside this loop, never inside it, so SIGTERM is heard while a long reload
/// runs (shutdown does not wait for it). SIGHUPs that arrive during a reload collapse into one
/// more reload after it, which then sees every change made meanwhile.
async fn watch_signals(
    shutdown: CancellationToken,
    state: std::sync::Arc<rddsd::state::State>,
    signals: Signals,
) {
    let Signals {
        mut term,
        mut int,
        mut hup,
    } = signals;
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel::<()>(1);
    let reloader = tokio::spawn(reload_loop(reload_rx, state));
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: shutting down"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: shutting down"); break; }
            _ = hup.recv() => {
                // A full queue means a reload is already pending: this signal is covered.
                let _ = reload_tx.try_send(());
            }
        }
    }
    shutdown.cancel();
    reloader.abort();
}

async fn reload_loop(
    mut requests: tokio::sync::mpsc::Receiver<()>,
    state: std::sync::Arc<rddsd::state::State>,
) {
    while requests.recv().await.is_some() {
        tracing::info!("SIGHUP: reloading");
        notify(&[sd_notify::NotifyState::Reloading]);
        let st = std::sync::Arc::clone(&state);
        // Loading parses files: keep it off the async workers.
        match tokio::task::spawn_blocking(move || st.reload()).await {
            Ok(Ok(d)) => {
                let (domains, hosts, contacts, registrars) = d.snapshot.counts();
                tracing::info!(
                    generation = d.number,
                    domains,
                    hosts,
                    contacts,
                    registrars,
                    "reloaded"
                );
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "reload refused; still serving the previous data")
            }
            Err(e) => {
                tracing::error!(error = %e, "reload task failed; still serving the previous data")
            }
        }
        // Refused or not, the service is serving again.
        notify(&[sd_notify::NotifyState::Ready]);
    }
}

/// Tell systemd (when started with `Type=notify`; a no-op otherwise). Failing to notify is
/// logged, never fatal: the service works the same.
fn notify(states: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}
