//! `rddsd serve`: resolve the settings, start logging, run the server until SIGTERM, and
//! reload on SIGHUP. The binary calls [`run`]; everything here is assembly and signals.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tokio_util::sync::CancellationToken;

use super::fail;
use crate::config::{ConfigFile, Overrides, Settings};
use crate::server::Server;

/// `rddsd serve` flags: each overrides the config file.
#[derive(Debug, Args)]
pub struct ServeArgs {
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
    log_format: Option<crate::telemetry::LogFormat>,
}

/// Serve until SIGTERM or SIGINT.
pub fn run(args: ServeArgs) -> ExitCode {
    let ServeArgs {
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
    } = args;
    let file = match config.as_deref().map(ConfigFile::load).transpose() {
        Ok(f) => f.unwrap_or_default(),
        Err(e) => return fail(&e.to_string()),
    };
    let tls = match (tls_cert, tls_key) {
        (Some(cert), Some(key)) => Some(crate::config::TlsSection { cert, key }),
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
    crate::telemetry::init(&settings.log_filter, settings.log_format);
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
    crate::telemetry::flush(std::time::Duration::from_secs(1));
    code
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
    if !state.backend.in_memory() {
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
    state: std::sync::Arc<crate::state::State>,
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
    state: std::sync::Arc<crate::state::State>,
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
