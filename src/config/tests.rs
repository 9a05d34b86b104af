//! The configuration's unit tests: the file, its resolution and its bounds.

use ipnet::IpNet;

use super::*;

const FULL: &str = r#"
[rdap]
listen = ["127.0.0.1:0", "[::1]:0"]
base_url = "https://rdap.nic.example"

[rdap.tls]
cert = "/etc/rddsd/cert.pem"
key = "/etc/rddsd/key.pem"

[whois]
listen = ["127.0.0.1:0"]
read_timeout_secs = 5
max_connections = 64
max_per_client = 2

[limits]
enabled = true
ipv4_prefix = 32
ipv6_prefix = 56
rate_per_second = 5
burst = 20
daily_quota = 1000
escalate_after_blocks = 2
escalation_window_days = 30
escalated_block_days = 14
max_tracked_clients = 100000
allow = ["192.0.2.0/24", "2001:db8:1::/48"]
deny = ["198.51.100.7"]
trusted_proxies = ["10.0.0.0/8"]

[admin]
listen = ["127.0.0.1:0"]

[authority]
credentials = "/etc/rddsd/credentials.jsonl"
log = "/var/lib/rddsd/disclosures.jsonl"
rate_per_minute = 30
burst = 5
clock_skew_secs = 30

[[authority.issuer]]
name = "Federal Police Portal"
issuer = "https://idp.police.example"
audience = "rdap.nic.example"
jwks_file = "/etc/rddsd/police.jwks.json"
algorithms = ["ES256", "EdDSA"]
purposes = ["criminal-investigation"]
jurisdiction = "DE"

[data]
dir = "/var/lib/rddsd"
policy = "/etc/rddsd/policy.toml"
max_shrink_percent = 25
allow_shrink = false

[database]
pool_size = 4

[service]
port43 = "whois.nic.example"
terms_url = "https://nic.example/terms"
shutdown_grace_secs = 5
max_connections = 100
"#;

#[test]
fn full_example_parses_and_flags_win() {
    let file = ConfigFile::parse("c.toml", FULL).expect("parses");
    let flags = Overrides {
        data_dir: Some("/tmp/x".into()),
        ..Overrides::default()
    };
    let s = Settings::resolve(file, flags).expect("resolves");
    assert_eq!(s.base_url.as_deref(), Some("https://rdap.nic.example/"));
    assert_eq!(s.data_dir.as_deref(), Some(Path::new("/tmp/x")));
    assert_eq!(s.shutdown_grace, Duration::from_secs(5));
    assert_eq!(s.rdap_listen.len(), 2);
    assert_eq!(s.limits.ipv6_prefix, 56);
    assert_eq!(
        s.limits.deny,
        vec!["198.51.100.7/32".parse::<IpNet>().expect("net")]
    );
    assert_eq!(s.limits.burst.get(), 20);
    assert!(s.tls.is_some());
    assert_eq!(
        s.shrink,
        ShrinkGuard {
            max_shrink_percent: 25,
            allow_shrink: false
        }
    );
}

#[test]
fn unknown_keys_in_every_table_are_refused() {
    for table in [
        "[authority]",
        "[[authority.issuer]]",
        "[limits]",
        "[admin]",
        "[rdap]",
        "[rdap.tls]",
        "[whois]",
        "[data]",
        "[service]",
        "[database]",
    ] {
        let text = FULL.replace(table, &format!("{table}\nbogus_key = 1"));
        let err = ConfigFile::parse("c.toml", &text).expect_err("must refuse");
        assert!(
            err.to_string().contains("c.toml:") && err.to_string().contains("bogus_key"),
            "{err}"
        );
    }
    assert!(ConfigFile::parse("c.toml", "[nope]\n").is_err());
}

#[test]
fn the_postgres_backend_takes_its_url_from_flag_file_or_environment() {
    let parse = |text: &str, flags: Overrides| {
        Settings::resolve(ConfigFile::parse("c.toml", text).expect("parses"), flags)
    };
    // JSON Lines unless asked otherwise; the environment alone never switches.
    let env = Overrides {
        database_url_env: Some("postgres://env@h/db".into()),
        ..Overrides::default()
    };
    assert!(parse("", env.clone()).expect("ok").database.is_none());
    let s = parse("[data]\nbackend = \"postgres\"\n", env.clone()).expect("ok");
    assert_eq!(s.database.expect("postgres").url, "postgres://env@h/db");
    let file = "[data]\nbackend = \"postgres\"\ndatabase_url = \"postgres://file@h/db\"\n[database]\npool_size = 3\nstatement_timeout_ms = 500\nqueue_timeout_ms = 50\nmax_stale_secs = 60\n";
    let d = parse(file, env.clone())
        .expect("ok")
        .database
        .expect("postgres");
    assert_eq!(d.url, "postgres://file@h/db");
    assert_eq!(d.pool_size, 3);
    assert_eq!(d.statement_timeout, Duration::from_millis(500));
    assert_eq!(d.queue_timeout, Duration::from_millis(50));
    assert_eq!(d.max_stale, Duration::from_secs(60));
    let flag = Overrides {
        database_url: Some("postgres://flag:pw@h/db".into()),
        ..env
    };
    let d = parse(file, flag.clone())
        .expect("ok")
        .database
        .expect("postgres");
    assert_eq!(d.url, "postgres://flag:pw@h/db");
    assert!(!format!("{d:?}").contains("pw"), "Debug hides the URL");
    // Defaults, and refusals.
    let d = parse("", flag.clone())
        .expect("ok")
        .database
        .expect("postgres");
    assert_eq!(d.pool_size, DatabaseSettings::POOL_SIZE);
    assert!(parse("[data]\nbackend = \"postgres\"\n", Overrides::default()).is_err());
    assert!(parse("[data]\ndir = \"/x\"\n", flag.clone()).is_err());
    assert!(parse("[database]\npool_size = 0\n", flag).is_err());
    assert!(ConfigFile::parse("c.toml", "[data]\nbackend = \"mysql\"\n").is_err());
}

#[test]
fn bad_values_are_refused() {
    let file = ConfigFile::parse("c.toml", "[rdap]\nbase_url = \"ftp://x\"\n").expect("parses");
    assert!(Settings::resolve(file, Overrides::default()).is_err());
    assert!(ConfigFile::parse("c.toml", "[rdap]\nlisten = \"not an address\"\n").is_err());
    let file = ConfigFile::parse("c.toml", "[data]\nmax_shrink_percent = 101\n").expect("parses");
    assert!(Settings::resolve(file, Overrides::default()).is_err());
    assert!(ConfigFile::parse("c.toml", "[data]\nmax_shrink_percent = -1\n").is_err());
    let file = ConfigFile::parse("c.toml", "").expect("parses");
    let s = Settings::resolve(file, Overrides::default()).expect("resolves");
    assert_eq!(s.shrink, ShrinkGuard::default());
    assert_eq!(s.load_options.max_bad_percent, 0.1);
    for bad in ["100.5", "-0.1", "nan"] {
        let file = ConfigFile::parse("c.toml", &format!("[data]\nmax_bad_percent = {bad}\n"))
            .expect("parses");
        assert!(
            Settings::resolve(file, Overrides::default()).is_err(),
            "{bad}"
        );
    }
    for good in ["0", "0.0", "2.5", "100"] {
        let file = ConfigFile::parse("c.toml", &format!("[data]\nmax_bad_percent = {good}\n"))
            .expect("parses");
        assert!(
            Settings::resolve(file, Overrides::default()).is_ok(),
            "{good}"
        );
    }
}

#[test]
fn search_settings_default_and_fit_the_burst() {
    let resolve = |extra: &str| {
        ConfigFile::parse(
            "c.toml",
            &format!("[authority]\ncredentials = \"/c\"\nlog = \"/l\"\n{extra}"),
        )
        .map_err(|e| e.to_string())
        .and_then(|f| Settings::resolve(f, Overrides::default()).map_err(|e| e.to_string()))
        .map(|s| s.authority.expect("authority").search)
    };
    let d = resolve("").expect("defaults");
    assert_eq!(
        (d.limits.page_size, d.limits.max_results, d.cost.get()),
        (25, 500, 5)
    );
    // A burst below the default cost lowers the default to the burst.
    assert_eq!(resolve("burst = 3\n").expect("small burst").cost.get(), 3);
    let s = resolve("search_page_size = 10\nsearch_max_results = 10\nsearch_cost = 10\n")
        .expect("all at their limits");
    assert_eq!((s.limits.page_size, s.cost.get()), (10, 10));
    for (extra, needle) in [
        ("search_cost = 11\n", "at most authority.burst = 10"),
        (
            "search_page_size = 50\nsearch_max_results = 40\n",
            "at least authority.search_page_size",
        ),
        (
            "search_page_size = 0\n",
            "search_page_size = 0 is out of range",
        ),
        ("search_page_size = 101\n", "out of range"),
        ("search_max_results = 10001\n", "out of range"),
        ("search_cost = 0\n", "out of range"),
    ] {
        let e = resolve(extra).expect_err(extra);
        assert!(e.contains(needle), "{extra}: {e}");
    }
}

#[test]
fn a_log_in_the_database_needs_the_postgres_backend_and_no_file() {
    let resolve = |text: &str| {
        ConfigFile::parse("c.toml", text)
            .map_err(|e| e.to_string())
            .and_then(|f| Settings::resolve(f, Overrides::default()).map_err(|e| e.to_string()))
    };
    let pg = "[data]\nbackend = \"postgres\"\ndatabase_url = \"postgres://u@h/db\"\n";
    let s = resolve(&format!(
        "{pg}[authority]\ncredentials = \"/c\"\nlog_database = true\n"
    ))
    .expect("resolves");
    let a = s.authority.expect("authority");
    assert_eq!(a.log_database.as_deref(), Some("postgres://u@h/db"));
    assert!(a.log.as_os_str().is_empty());
    assert_eq!(a.credentials_database, None);
    let s = resolve(&format!(
        "{pg}[authority]\ncredentials_database = true\nlog = \"/l\"\n"
    ))
    .expect("resolves");
    let a = s.authority.expect("authority");
    assert_eq!(a.credentials_database.as_deref(), Some("postgres://u@h/db"));
    assert!(a.credentials.as_os_str().is_empty());
    for (text, needle) in [
        (
            "[authority]\ncredentials = \"/c\"\nlog_database = true\n".to_string(),
            "needs [data] backend",
        ),
        (
            format!("{pg}[authority]\ncredentials = \"/c\"\nlog = \"/l\"\nlog_database = true\n"),
            "exclude each other",
        ),
        (
            format!("{pg}[authority]\ncredentials = \"/c\"\nlog_database = true\nsigning_key = \"/k\"\n"),
            "needs a file log",
        ),
        (
            format!("{pg}[authority]\ncredentials = \"/c\"\nlog_database = false\n"),
            "must be set together",
        ),
        (
            "[authority]\ncredentials_database = true\nlog = \"/l\"\n".to_string(),
            "needs [data] backend",
        ),
        (
            format!("{pg}[authority]\ncredentials = \"/c\"\ncredentials_database = true\nlog = \"/l\"\n"),
            "exclude each other",
        ),
    ] {
        let e = resolve(&text).expect_err(needle);
        assert!(e.contains(needle), "{text}: {e}");
    }
}

#[test]
fn issuers_are_checked_strictly() {
    let s = Settings::resolve(
        ConfigFile::parse("c.toml", FULL).expect("parses"),
        Overrides::default(),
    )
    .expect("resolves");
    let f = s.authority.and_then(|a| a.federation).expect("federation");
    assert_eq!(f.issuers.len(), 1);
    assert_eq!(f.clock_skew, Duration::from_secs(30));
    assert_eq!(f.jwks_refresh, Duration::from_secs(60));
    assert!(f
        .claim_purposes
        .iter()
        .any(|(k, _)| k == "criminalInvestigationAndDNSAbuseMitigation"));
    let issuer = "[[authority.issuer]]\nname = \"P\"\nissuer = \"https://idp.example\"\naudience = \"a\"\njwks_file = \"/j\"\nalgorithms = [\"ES256\"]\npurposes = [\"court-order\"]\njurisdiction = \"XX\"\n";
    let resolve = |extra: &str, issuer: &str| {
        let text = format!("[authority]\ncredentials = \"/c\"\nlog = \"/l\"\n{extra}\n{issuer}");
        ConfigFile::parse("c.toml", &text)
            .map_err(|e| e.to_string())
            .and_then(|f| Settings::resolve(f, Overrides::default()).map_err(|e| e.to_string()))
    };
    assert!(resolve("", issuer).is_ok());
    let table = resolve(
        "[authority.claim_purposes]\nlawEnforcement = [\"court-order\"]\n",
        issuer,
    )
    .expect("claim table")
    .authority
    .and_then(|a| a.federation)
    .expect("federation")
    .claim_purposes;
    assert_eq!(
        table,
        vec![(
            "lawEnforcement".to_string(),
            vec![crate::authority::Purpose::CourtOrder]
        )]
    );
    for (extra, change, needle) in [
        ("", ("[\"ES256\"]", "[\"HS256\"]"), "HMAC"),
        ("", ("[\"ES256\"]", "[\"none\"]"), "never accepted"),
        (
            "",
            ("[\"ES256\"]", "[]"),
            "issuer[0].algorithms is required",
        ),
        (
            "",
            ("audience = \"a\"\n", ""),
            "issuer[0].audience is required",
        ),
        (
            "",
            (
                "jwks_file = \"/j\"",
                "jwks_url = \"ftp://idp.example/jwks\"",
            ),
            "issuer[0].jwks_url: \"ftp://idp.example/jwks\" is not an http:// or https:// URL",
        ),
        (
            "",
            ("jwks_file = \"/j\"", "jwks_url = \"https:///jwks\""),
            "issuer[0].jwks_url: \"https:///jwks\"",
        ),
        (
            "",
            (
                "jwks_file = \"/j\"",
                "jwks_url = \"https://idp.example/jwks\"\njwks_ca_file = \"/nonexistent/ca.pem\"",
            ),
            "authority.issuer[0].jwks_ca_file: /nonexistent/ca.pem: I/O error: No such file",
        ),
        (
            "",
            (
                "jwks_file = \"/j\"",
                "jwks_url = \"http://idp.example/jwks\"\njwks_ca_file = \"/ca.pem\"",
            ),
            "authority.issuer[0].jwks_ca_file: only for an https:// URL",
        ),
        (
            "",
            (
                "jwks_file = \"/j\"",
                "jwks_file = \"/j\"\njwks_ca_file = \"/ca.pem\"",
            ),
            "authority.issuer[0].jwks_ca_file: only with an https:// jwks_url",
        ),
        (
            "",
            (
                "jwks_file = \"/j\"",
                "jwks_file = \"/j\"\njwks_url = \"http://i/\"",
            ),
            "exactly one",
        ),
        (
            "",
            ("[\"court-order\"]", "[\"curiosity\"]"),
            "unknown purpose",
        ),
        (
            "",
            ("https://idp.example", "idp.example"),
            "not an issuer URL",
        ),
        ("clock_skew_secs = 301", ("", ""), "clock_skew_secs"),
        ("jwks_refresh_secs = 0", ("", ""), "jwks_refresh_secs"),
    ] {
        let e = resolve(extra, &issuer.replace(change.0, change.1)).expect_err(needle);
        assert!(e.contains(needle), "{needle}: {e}");
    }
    let twice = format!("{issuer}{issuer}");
    assert!(resolve("", &twice)
        .expect_err("twice")
        .contains("listed twice"));
    assert!(resolve("clock_skew_secs = 5", "")
        .expect_err("no issuer")
        .contains("[[authority.issuer]]"));
}

#[test]
fn a_jwks_ca_file_is_read_with_the_config_and_must_hold_a_certificate() {
    let dir = tempfile::tempdir().expect("tmp");
    let resolve = |url: &str, ca: Option<&Path>| {
        let ca = ca.map(|p| format!("jwks_ca_file = {:?}\n", p.display().to_string()));
        let text = format!(
            "[authority]\ncredentials = \"/c\"\nlog = \"/l\"\n[[authority.issuer]]\nname = \"P\"\nissuer = \"https://idp.example\"\naudience = \"a\"\njwks_url = {url:?}\n{}algorithms = [\"ES256\"]\npurposes = [\"court-order\"]\njurisdiction = \"XX\"\n",
            ca.unwrap_or_default()
        );
        ConfigFile::parse("c.toml", &text)
            .map_err(|e| e.to_string())
            .and_then(|f| Settings::resolve(f, Overrides::default()).map_err(|e| e.to_string()))
    };
    // Without a CA file an https:// JWKS is verified against the system's roots.
    let s = resolve("https://idp.example/jwks", None).expect("system roots");
    let f = s.authority.and_then(|a| a.federation).expect("federation");
    assert_eq!(
        f.issuers[0].jwks,
        crate::authority::federation::JwksSource::Url {
            url: "https://idp.example/jwks".into(),
            roots: crate::authority::TrustRoots::System
        }
    );
    // A file that is there but holds no certificate is refused with the key and the file.
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "# no certificate here\n").expect("write");
    let e = resolve("https://idp.example/jwks", Some(&empty)).expect_err("empty");
    assert!(
        e.contains("authority.issuer[0].jwks_ca_file")
            && e.contains(&empty.display().to_string())
            && e.contains("no certificate"),
        "{e}"
    );
    let missing = dir.path().join("missing.pem");
    let e = resolve("https://idp.example/jwks", Some(&missing)).expect_err("missing");
    assert!(
        e.contains("authority.issuer[0].jwks_ca_file") && e.contains("No such file"),
        "{e}"
    );
}

#[test]
fn transparency_settings_are_bounded_and_need_a_key() {
    let base = "[authority]\ncredentials = \"/c\"\nlog = \"/l\"\n";
    let resolve = |extra: &str| {
        ConfigFile::parse("c.toml", &format!("{base}{extra}"))
            .map_err(|e| e.to_string())
            .and_then(|f| Settings::resolve(f, Overrides::default()).map_err(|e| e.to_string()))
    };
    let s = resolve("signing_key = \"/k\"\n").expect("defaults");
    let t = s.authority.and_then(|a| a.transparency).expect("on");
    let (_, wvk) =
        crate::authority::transparency::note::generate_witness("w.example").expect("key");
    // An https:// witness without a ca_file is verified against the system's roots.
    let s = resolve(&format!(
        "signing_key = \"/k\"\nwitnesses = [{{ url = \"https://w.example/\", key = {wvk:?} }}]\n"
    ))
    .expect("https witness");
    let w = s
        .authority
        .and_then(|a| a.transparency)
        .expect("on")
        .witnesses;
    assert!(
        matches!(
            &w[..],
            [crate::authority::transparency::WitnessTarget::Http {
                roots: crate::authority::TrustRoots::System,
                ..
            }]
        ),
        "{w:?}"
    );
    assert_eq!(
        (t.checkpoint_every, t.checkpoint_interval),
        (256, Duration::from_secs(60))
    );
    for (extra, needle) in [
        (
            "signing_key = \"/k\"\ncheckpoint_every = 0\n",
            "checkpoint_every",
        ),
        (
            "signing_key = \"/k\"\ncheckpoint_every = 1000001\n",
            "checkpoint_every",
        ),
        (
            "signing_key = \"/k\"\ncheckpoint_interval_secs = 86401\n",
            "checkpoint_interval_secs",
        ),
        ("checkpoint_every = 5\n", "signing_key"),
        (
            "signing_key = \"/k\"\nwitnesses = [{ url = \"http://w/\" }]\n",
            "witnesses[0]",
        ),
        (
            "signing_key = \"/k\"\nwitnesses = [{ url = \"http://w/\", key = \"nope\" }]\n",
            "witnesses[0].key",
        ),
        (
            "signing_key = \"/k\"\nwitnesses = [{ dir = \"/d\", url = \"http://w/\" }]\n",
            "witnesses[0]",
        ),
        (
            "signing_key = \"/k\"\nwitnesses = [{ dir = \"/d\", ca_file = \"/ca.pem\" }]\n",
            "witnesses[0]",
        ),
        (
            &format!("signing_key = \"/k\"\nwitnesses = [{{ url = \"ftp://w/\", key = {wvk:?} }}]\n"),
            "witnesses[0].url: \"ftp://w/\" is not an http:// or https:// URL",
        ),
        (
            &format!("signing_key = \"/k\"\nwitnesses = [{{ url = \"http://w/\", key = {wvk:?}, ca_file = \"/ca.pem\" }}]\n"),
            "witnesses[0].ca_file: only for an https:// URL",
        ),
        (
            &format!("signing_key = \"/k\"\nwitnesses = [{{ url = \"https://w/\", key = {wvk:?}, ca_file = \"/nonexistent/ca.pem\" }}]\n"),
            "witnesses[0].ca_file: /nonexistent/ca.pem: I/O error: No such file",
        ),
    ] {
        let e = resolve(extra).expect_err(extra);
        assert!(e.contains(needle), "{extra}: {e}");
    }
}

#[test]
fn every_duration_and_size_is_bounded() {
    for (table, key) in [
        ("whois", "read_timeout_secs"),
        ("whois", "max_connections"),
        ("whois", "max_per_client"),
        ("rdap", "header_timeout_secs"),
        ("rdap", "write_timeout_secs"),
        ("rdap", "keepalive_timeout_secs"),
        ("rdap", "max_requests_per_connection"),
        ("rdap", "max_per_client"),
        ("admin", "max_connections"),
        ("service", "shutdown_grace_secs"),
        ("service", "max_connections"),
        ("limits", "rate_per_second"),
        ("limits", "burst"),
        ("limits", "escalated_block_days"),
        ("limits", "escalation_window_days"),
        ("limits", "max_tracked_clients"),
        ("authority", "rate_per_minute"),
        ("authority", "search_page_size"),
        ("authority", "search_max_results"),
        ("authority", "search_cost"),
    ] {
        let mut text = format!("[{table}]\n{key} = 9223372036854775807\n");
        if table == "authority" {
            text.push_str("credentials = \"/c\"\nlog = \"/l\"\n");
        }
        let err = ConfigFile::parse("c.toml", &text)
            .map_err(|e| e.to_string())
            .and_then(|f| Settings::resolve(f, Overrides::default()).map_err(|e| e.to_string()))
            .expect_err(&format!("{table}.{key} must be bounded"));
        assert!(err.contains(key) || err.contains("c.toml:2"), "{err}");
    }
}

/// Every ```toml block of README.md and docs/, and contrib/rddsd.toml, in the order found:
/// (where, text).
fn manual_examples() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    let mut out = Vec::new();
    for page in pages {
        let text = std::fs::read_to_string(&page).expect("read page");
        let mut block: Option<(usize, String)> = None;
        for (n, line) in text.lines().enumerate() {
            match &mut block {
                None if line.trim_start().starts_with("```toml") => {
                    block = Some((n + 1, String::new()))
                }
                Some((start, body)) if line.trim_start().starts_with("```") => {
                    out.push((
                        format!("{}:{}", page.display(), start),
                        std::mem::take(body),
                    ));
                    block = None;
                }
                Some((_, body)) => {
                    body.push_str(line);
                    body.push('\n');
                }
                None => {}
            }
        }
        assert!(
            block.is_none(),
            "{}: a ```toml block is never closed",
            page.display()
        );
    }
    let contrib = root.join("contrib/rddsd.toml");
    out.push((
        contrib.display().to_string(),
        std::fs::read_to_string(&contrib).expect("contrib/rddsd.toml"),
    ));
    out
}

#[test]
fn every_toml_example_of_the_manual_parses_against_the_schema() {
    let examples = manual_examples();
    assert!(
        examples.len() > 3,
        "the manual has TOML examples: {}",
        examples.len()
    );
    for (at, text) in &examples {
        if let Err(e) = ConfigFile::parse(at, text) {
            panic!("a TOML example does not parse (unknown keys are refused): {e}");
        }
    }
}

#[test]
fn the_packaged_config_resolves() {
    let (at, text) = manual_examples().pop().expect("contrib");
    let file = ConfigFile::parse(&at, &text).expect("parses");
    Settings::resolve(file, Overrides::default()).expect("the shipped config resolves");
}

#[test]
fn a_resolution_error_is_located_at_its_key() {
    let text = "[rdap]\nlisten = [\"127.0.0.1:0\"]\n\n[service]\nport43 = \"whois.nic.example\"\nmax_connections = 0\n";
    let err = "service.max_connections = 0 is out of range: it must be between 1 and 100000";
    assert_eq!(super::line_of_key(text, err), Some(6));
    assert_eq!(super::line_of_key(text, "rdap.listen: bad"), Some(2));
    assert_eq!(
        super::line_of_key(text, "limits.burst = 0 ..."),
        None,
        "not in the file"
    );
    assert_eq!(super::line_of_key(text, "internal: x"), None);
}
