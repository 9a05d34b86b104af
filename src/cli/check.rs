//! `rddsd check`: validate registration data and policy (or a PostgreSQL database, or a
//! configuration file) without serving; exit 1 on any error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::fail;
use crate::config::{line_of_key, ConfigFile, Overrides, Settings};
use crate::registry::load::LoadOptions;
use crate::state::Sources;

/// `rddsd check` flags.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Validate this configuration file (keys, bounds, conflicts) as `rddsd serve --config`
    /// would read it, naming the key and line of anything wrong, then the data, delta
    /// directory and policy it names (or its PostgreSQL database). Like `nginx -t`.
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
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
}

/// Run the check the flags ask for.
pub fn run(args: CheckArgs) -> ExitCode {
    if let Some(config) = args.config {
        return check_config(&config, args.data, args.policy, args.show_values);
    }
    match (args.data, args.database) {
        (None, Some(url)) => super::db::check(
            &url,
            args.policy.as_deref(),
            args.show_values,
            &mut std::io::stdout(),
        )
        .map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS),
        (data, _) => check(data, args.policy, args.show_values),
    }
}

/// `rddsd check --config FILE`: the file as the server would resolve it, then what it names.
/// `--data` and `--policy` override the file's, as they do for `rddsd serve`.
fn check_config(
    path: &Path,
    data: Option<PathBuf>,
    policy: Option<PathBuf>,
    show_values: bool,
) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return fail(&format!("{}: cannot read config file: {e}", path.display())),
    };
    let file = match ConfigFile::parse(&path.display().to_string(), &text) {
        Ok(f) => f,
        Err(e) => return fail(&e.to_string()),
    };
    let flags = Overrides {
        config_path: Some(path.to_path_buf()),
        data_dir: data,
        policy,
        database_url_env: std::env::var("RDDSD_DATABASE_URL").ok(),
        ..Overrides::default()
    };
    let settings = match Settings::resolve(file, flags) {
        Ok(s) => s,
        Err(e) => {
            let message = e.to_string();
            return match line_of_key(&text, &message) {
                Some(line) => fail(&format!("{}:{line}: {message}", path.display())),
                None => fail(&format!("{}: {message}", path.display())),
            };
        }
    };
    if let Some(files) = &settings.tls {
        if let Err(e) = crate::tls::acceptor(files) {
            return fail(&e.to_string());
        }
    }
    println!("ok: {} is valid", path.display());
    match &settings.database {
        Some(db) => super::db::check(
            &db.url,
            settings.policy.as_deref(),
            show_values,
            &mut std::io::stdout(),
        )
        .map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS),
        None => check_sources(
            settings.data_dir,
            settings.policy,
            settings.delta_dir,
            settings.load_options,
            show_values,
        ),
    }
}

fn check(data: Option<PathBuf>, policy: Option<PathBuf>, show_values: bool) -> ExitCode {
    check_sources(data, policy, None, LoadOptions::default(), show_values)
}

/// Load data (with the applied deltas of `delta_dir`) and policy as a server start would.
fn check_sources(
    data: Option<PathBuf>,
    policy: Option<PathBuf>,
    delta_dir: Option<PathBuf>,
    load_options: LoadOptions,
    show_values: bool,
) -> ExitCode {
    let sources = Sources {
        config: None,
        data_dir: data,
        policy,
        delta_dir,
        backend: std::sync::Arc::new(crate::backend::InMemory),
        load_options,
    };
    match sources.load(0, None) {
        // A server would serve this data, but the check insists on clean data: any value made
        // safe or record left out exits 1, each named as the errors of a refused set are.
        Ok(d) if !d.snapshot.defects().is_clean() => {
            let defects = d.snapshot.defects();
            let errors = crate::registry::load::LoadErrors(defects.reports.clone());
            let listed = if show_values {
                errors.with_values().to_string()
            } else {
                errors.to_string()
            };
            fail(&format!(
                "registration data has defects (a server would serve it: {}):\n{listed}",
                defects.summary()
            ))
        }
        Ok(d) => {
            let (domains, hosts, contacts, registrars) = d.snapshot.counts();
            println!("ok: {domains} domains, {hosts} hosts, {contacts} contacts, {registrars} registrars; policy valid");
            // The process ends here: freeing millions of records one by one would only delay
            // the exit by seconds on a large registry.
            std::mem::forget(d);
            ExitCode::SUCCESS
        }
        Err(crate::state::LoadFailure::Data(errors)) if show_values => fail(&format!(
            "registration data refused:\n{}",
            errors.with_values()
        )),
        Err(e) => fail(&e.to_string()),
    }
}
