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
        command: AuthorityCommand,
    },
    /// Verify, report on and prune the disclosure log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
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
        /// Disclosure policy file. Default: the bundled RDP baseline.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Also print each offending value. Errors name file, line and field only, since they
        /// also reach server logs; values may be personal data, so show them on a terminal only.
        #[arg(long)]
        show_values: bool,
    },
}

#[derive(Subcommand)]
enum AuthorityCommand {
    /// Issue a credential and print its secret once.
    Add {
        /// Credentials file (created if missing).
        #[arg(long)]
        credentials: PathBuf,
        /// Authority name, e.g. "National Police, Cybercrime Unit".
        #[arg(long)]
        authority: String,
        /// Jurisdiction, e.g. "CH".
        #[arg(long)]
        jurisdiction: String,
        /// Contact of the person responsible.
        #[arg(long)]
        contact: String,
        /// Allowed purposes, comma-separated: criminal-investigation, urgent-threat-to-life,
        /// cybersecurity-incident, consumer-protection, court-order.
        #[arg(long, value_delimiter = ',', required = true)]
        purposes: Vec<String>,
        /// Expiry: YYYY-MM-DD or an RFC 3339 time.
        #[arg(long)]
        expires: String,
    },
    /// Revoke a credential (takes effect on the server's next SIGHUP).
    Revoke {
        /// Credentials file.
        #[arg(long)]
        credentials: PathBuf,
        /// Credential id.
        id: String,
    },
    /// List credentials (never secrets).
    List {
        /// Credentials file.
        #[arg(long)]
        credentials: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the whole hash chain; name the first bad entry and exit 1 if any.
    Verify {
        /// Disclosure log.
        log: PathBuf,
        /// The head hash recorded elsewhere (e.g. the server log); detects a cut-off tail.
        #[arg(long)]
        head: Option<String>,
        /// Transparency: the log's public keys (`KEY.pub`); checks every checkpoint's signature.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Transparency: stored checkpoints (default LOG.checkpoints), e.g. from an export.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// Transparency: stored tree hashes (default LOG.tree), e.g. from an export.
        #[arg(long)]
        tree: Option<PathBuf>,
    },
    /// Transparency: generate the checkpoint signing key (or rotate it with --rotate).
    Keygen {
        /// Signer key file to write (mode 0600); its public keys go to KEY.pub.
        #[arg(long)]
        key: PathBuf,
        /// The log's origin, which is the key's name, e.g. rdap.nic.example/disclosures.
        #[arg(long)]
        origin: String,
        /// Replace an existing key, keeping it as KEY.retired-<id> and its public key in KEY.pub.
        #[arg(long)]
        rotate: bool,
    },
    /// Transparency: prove that the log extends an older signed checkpoint.
    Consistency {
        /// Disclosure log.
        log: PathBuf,
        /// The older checkpoint (a signed note kept by an auditor or witness).
        old_checkpoint: PathBuf,
        /// The log's public keys (`KEY.pub`).
        #[arg(long)]
        key: PathBuf,
        /// Stored tree hashes (default LOG.tree).
        #[arg(long)]
        tree: Option<PathBuf>,
    },
    /// Transparency: verify a receipt (from GET /authority/receipt/<index>) offline.
    VerifyReceipt {
        /// The receipt (JSON).
        receipt: PathBuf,
        /// The log's public keys (`KEY.pub`).
        #[arg(long)]
        key: PathBuf,
    },
    /// List disclosures, filtered.
    Report {
        /// Disclosure log.
        log: PathBuf,
        /// Authority name (substring, case-insensitive) or credential id.
        #[arg(long)]
        authority: Option<String>,
        /// From this time (YYYY-MM-DD or RFC 3339), inclusive.
        #[arg(long)]
        since: Option<String>,
        /// Until this time, exclusive.
        #[arg(long)]
        until: Option<String>,
        /// Case reference.
        #[arg(long = "case")]
        case_reference: Option<String>,
        /// Contact ROID: who has received this person's data?
        #[arg(long)]
        contact: Option<String>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove the oldest entries, up to the first one not older than a date, leaving a
    /// checkpoint so the rest still verifies. Safe while a server runs.
    Prune {
        /// Disclosure log.
        log: PathBuf,
        /// Remove entries before this time (YYYY-MM-DD or RFC 3339); not in the future.
        #[arg(long)]
        before: String,
    },
}

/// A date from the command line: `YYYY-MM-DD` (00:00 UTC) or RFC 3339.
fn cli_date(flag: &str, s: &str) -> Result<rddsd::registry::Timestamp, String> {
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    rddsd::registry::validate::datetime(&full).map_err(|m| format!("--{flag}: {m}"))
}

fn authority_command(cmd: AuthorityCommand) -> Result<(), String> {
    use rddsd::authority::credentials;
    match cmd {
        AuthorityCommand::Add {
            credentials: path,
            authority,
            jurisdiction,
            contact,
            purposes,
            expires,
        } => {
            let purposes = purposes
                .iter()
                .map(|p| {
                    rddsd::policy::Purpose::parse(p.trim())
                        .ok_or_else(|| format!("--purposes: unknown purpose {p:?}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let expires = cli_date("expires", &expires)?;
            let new = credentials::NewCredential {
                authority,
                jurisdiction,
                contact,
                purposes,
                expires,
            };
            let (cred, token) = credentials::add(&path, new)?;
            println!(
                "credential {} issued to {} (expires {})",
                cred.id, cred.authority, cred.expires
            );
            println!("secret (shown once, store it safely): {token}");
            println!("send it as: Authorization: Bearer {token}");
            Ok(())
        }
        AuthorityCommand::Revoke {
            credentials: path,
            id,
        } => {
            credentials::revoke(&path, &id)?;
            println!("credential {id} revoked; send SIGHUP to running servers");
            Ok(())
        }
        AuthorityCommand::List { credentials: path } => {
            println!("ID	AUTHORITY	JURISDICTION	PURPOSES	EXPIRES	STATUS");
            let now = rddsd::registry::Timestamp::now();
            for c in credentials::read(&path)? {
                let expired = rddsd::registry::validate::datetime(&c.expires)
                    .map(|e| e <= now)
                    .unwrap_or(true);
                let status = match (&c.revoked, expired) {
                    (Some(r), _) => format!("revoked {r}"),
                    (None, true) => "expired".to_string(),
                    (None, false) => "active".to_string(),
                };
                let purposes: Vec<&str> = c.purposes.iter().map(|p| p.key()).collect();
                println!(
                    "{}	{}	{}	{}	{}	{}",
                    c.id,
                    c.authority,
                    c.jurisdiction,
                    purposes.join(","),
                    c.expires,
                    status
                );
            }
            Ok(())
        }
    }
}

fn audit_command(cmd: AuditCommand) -> Result<(), String> {
    use rddsd::authority::{log, report};
    match cmd {
        AuditCommand::Verify {
            log: path,
            head,
            key,
            checkpoints,
            tree,
        } => {
            let v = log::verify_file(&path)?;
            let n = v.disclosures();
            if v.entries.is_empty() {
                println!("empty: {} holds no entries yet", path.display());
            } else {
                println!("ok: {n} disclosure(s), chain intact, head {}", v.head);
            }
            if let Some(cp) = v.checkpoint() {
                println!(
                    "pruned: {} entr{} before {} (through seq {} of {}), anchored by the checkpoint on line 1",
                    cp.pruned_entries,
                    if cp.pruned_entries == 1 { "y" } else { "ies" },
                    cp.pruned_before,
                    cp.pruned_through_seq,
                    cp.pruned_through_time
                );
            }
            if let Some(expected) = head {
                let found = v.find_head(expected.trim()).ok_or_else(|| {
                    format!(
                        "{}: the recorded head {expected} is not in the log: neither a kept entry nor the prune checkpoint's anchor (entries after it were cut off, or it was pruned)",
                        path.display()
                    )
                })?;
                match found {
                    log::HeadFound::Head { seq } => {
                        println!("head: the recorded head is the log's head (seq {seq})");
                    }
                    log::HeadFound::Entry { seq, line } => println!(
                        "head: the recorded head is seq {seq} on line {line}; the log continues past it"
                    ),
                    log::HeadFound::Anchor { seq, is_head } => println!(
                        "head: the recorded head is seq {seq}, pruned, anchored by the checkpoint on line 1{}",
                        if is_head { "; nothing was appended since" } else { "; the log continues past it" }
                    ),
                }
            }
            // Transparency (issue #14): the tree and the stored checkpoints.
            let src = rddsd::transparency::audit::Sources {
                keys: key,
                checkpoints,
                tree,
            };
            print_lines(rddsd::transparency::audit::verify_if_present(&path, &src)?);
            Ok(())
        }
        AuditCommand::Keygen {
            key,
            origin,
            rotate,
        } => {
            print_lines(rddsd::transparency::audit::keygen(&key, &origin, rotate)?);
            Ok(())
        }
        AuditCommand::Consistency {
            log: path,
            old_checkpoint,
            key,
            tree,
        } => {
            let src = rddsd::transparency::audit::Sources {
                keys: Some(key),
                checkpoints: None,
                tree,
            };
            print_lines(rddsd::transparency::audit::consistency(
                &path,
                &old_checkpoint,
                &src,
            )?);
            Ok(())
        }
        AuditCommand::VerifyReceipt { receipt, key } => {
            print_lines(rddsd::transparency::audit::verify_receipt(&receipt, &key)?);
            Ok(())
        }
        AuditCommand::Report {
            log: path,
            authority,
            since,
            until,
            case_reference,
            contact,
            json,
        } => {
            let filter = report::Filter {
                authority,
                since: since.map(|s| cli_date("since", &s)).transpose()?,
                until: until.map(|s| cli_date("until", &s)).transpose()?,
                case_reference,
                contact,
            };
            let entries = log::read_entries(&path)?;
            let selected = report::select(&entries, &filter);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&selected).map_err(|e| e.to_string())?
                );
            } else {
                print!("{}", report::table(&selected));
            }
            Ok(())
        }
        AuditCommand::Prune { log: path, before } => {
            let before = cli_date("before", &before)?;
            let log::Pruned { removed, kept } =
                log::prune(&path, &before, &rddsd::registry::Timestamp::now())?;
            println!(
                "pruned {removed} entr{} before {}; {kept} kept",
                if removed == 1 { "y" } else { "ies" },
                before.as_str()
            );
            Ok(())
        }
    }
}

/// Print command output lines (not `println!`: a closed stdout must not panic).
fn print_lines(lines: Vec<String>) {
    let mut out = std::io::stdout().lock();
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
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
            policy,
            show_values,
        } => check(data, policy, show_values),
        Command::Authority { command } => {
            authority_command(command).map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS)
        }
        Command::Audit { command } => {
            audit_command(command).map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS)
        }
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
    };
    match sources.load(0) {
        Ok(d) => {
            let (domains, hosts, contacts, registrars) = d.snapshot.counts();
            println!("ok: {domains} domains, {hosts} hosts, {contacts} contacts, {registrars} registrars; policy valid");
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
                    generation = d.generation,
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
