//! The `rddsd` binary: parse flags, set up logging and signals, run the library's server.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use rddsd::config::{ConfigFile, Overrides, Settings};
use rddsd::server::Server;
use rddsd::state::Sources;

/// A registry's Registration Data Directory Service (RDAP and WHOIS).
#[derive(Parser)]
#[command(name = "rddsd", version)]
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
        /// Log filter, e.g. info or rddsd=debug.
        #[arg(long, default_value = "info")]
        log: String,
    },
    /// Validate registration data and policy without serving; exit 1 on any error.
    Check {
        /// Directory of registration data (*.jsonl). Default: the bundled demo registry.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Disclosure policy file. Default: the bundled RDP baseline.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { data, policy } => check(data, policy),
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
            log,
        } => {
            rddsd::telemetry::init(&log);
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
            };
            let settings = match Settings::resolve(file, flags) {
                Ok(s) => s,
                Err(e) => return fail(&e.to_string()),
            };
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
            };
            runtime.block_on(serve(settings))
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("rddsd: {message}");
    ExitCode::FAILURE
}

fn check(data: Option<PathBuf>, policy: Option<PathBuf>) -> ExitCode {
    let sources = Sources {
        config: None,
        data_dir: data,
        policy,
    };
    match sources.load(0) {
        Ok(d) => {
            let (domains, hosts, contacts, registrars) = d.snapshot.counts();
            println!("ok: {domains} domains, {hosts} hosts, {contacts} contacts, {registrars} registrars; policy valid");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

async fn serve(settings: Settings) -> ExitCode {
    let server = match Server::bind(settings).await {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    let state = server.state();
    {
        let data = state.dataset();
        let (domains, hosts, contacts, registrars) = data.snapshot.counts();
        tracing::info!(
            domains,
            hosts,
            contacts,
            registrars,
            "registration data loaded"
        );
    }
    for url in server.rdap_urls() {
        println!("rdap listening on {url}");
    }
    for addr in server.whois_addrs() {
        println!("whois listening on {addr}");
    }
    for addr in server.admin_addrs() {
        println!("admin listening on http://{addr}");
    }
    let _ = std::io::stdout().flush();

    let shutdown = CancellationToken::new();
    let signals = tokio::spawn(watch_signals(shutdown.clone(), state));
    server.run(shutdown).await;
    signals.abort();
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// SIGTERM/SIGINT cancel the shutdown token; SIGHUP reloads data and policy, keeping the old
/// generation when the new one does not validate (and keeps listening for the next SIGHUP).
async fn watch_signals(shutdown: CancellationToken, state: std::sync::Arc<rddsd::state::State>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: shutting down"); shutdown.cancel(); return; }
            _ = int.recv() => { tracing::info!("SIGINT: shutting down"); shutdown.cancel(); return; }
            _ = hup.recv() => {
                let st = std::sync::Arc::clone(&state);
                // Loading parses files: keep it off the async workers.
                match tokio::task::spawn_blocking(move || st.reload()).await {
                    Ok(Ok(d)) => {
                        let (domains, hosts, contacts, registrars) = d.snapshot.counts();
                        tracing::info!(generation = d.generation, domains, hosts, contacts, registrars, "reloaded");
                    }
                    Ok(Err(e)) => tracing::error!(error = %e, "reload refused; still serving the previous data"),
                    Err(e) => tracing::error!(error = %e, "reload task failed; still serving the previous data"),
                }
            }
        }
    }
}
