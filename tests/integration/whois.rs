//! Port 43 over real sockets: query forms, golden answers, hostile clients, connection caps.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::harness::Server;

fn expected_dir() -> PathBuf {
    crate::harness::fixtures().join("expected").join("whois")
}

fn crlf_only(text: &str) -> bool {
    text.bytes()
        .enumerate()
        .all(|(i, b)| b != b'\n' || (i > 0 && text.as_bytes()[i - 1] == b'\r'))
}

#[test]
fn query_forms_agree() {
    let srv = Server::start(&[]);
    let base = srv.whois("xn--caf-dma.example");
    assert!(
        base.starts_with("Domain Name: xn--caf-dma.example\r\n"),
        "{base}"
    );
    for q in [
        "café.example",
        "CAFÉ.EXAMPLE.",
        "domain café.example",
        "DOMAIN xn--caf-dma.example",
        "  Domain   XN--CAF-DMA.example.  ",
    ] {
        assert_eq!(srv.whois(q), base, "{q}");
    }
    let ns = srv.whois("nameserver NS1.nic.example");
    assert!(ns.starts_with("Server Name: ns1.nic.example\r\nIP Address: 198.51.100.53\r\nIP Address: 2001:db8:53::1\r\n"), "{ns}");
    assert_eq!(srv.whois("nameserver 2001:DB8:53::1"), ns);
    assert_eq!(srv.whois("nameserver 198.51.100.53"), ns);
    let r = srv.whois("registrar 1001");
    assert!(
        r.starts_with("Registrar Name: Lantern Names Ltd\r\nRegistrar IANA ID: 1001\r\n"),
        "{r}"
    );
    assert_eq!(srv.whois("REGISTRAR lantern names ltd"), r);
    assert_eq!(srv.whois("registrar  LANTERN  names LTD"), r);
    assert!(srv.whois("help").contains("nameserver <IP address>"));
    for q in [
        "nope.example",
        "nameserver ns9.nic.example",
        "nameserver 192.0.2.99",
        "registrar 4242",
        "registrar Nobody Inc",
    ] {
        let a = srv.whois(q);
        assert!(
            a.starts_with("NOT FOUND\r\n>>> Last update of WHOIS database: "),
            "{q}: {a}"
        );
    }
    for q in [
        "nic.example",
        "nameserver ns1.nic.example",
        "registrar 9999",
        "help",
        "nope.example",
    ] {
        assert!(crlf_only(&srv.whois(q)), "{q}: LF without CR");
    }
}

/// Byte-exact answers. `RDDSD_BLESS=1 cargo test` rewrites the files after a deliberate change.
#[test]
fn golden_answers() {
    let srv = Server::start(&[]);
    let cases = [
        ("nic.example", "domain-nic.example.txt"),
        ("café.example", "domain-cafe-idn.txt"),
        (
            "kite-surfing.example",
            "domain-kite-surfing-org-consent.txt",
        ),
        ("advokatbyra.example", "domain-advokatbyra-full-consent.txt"),
        ("polignano.example", "domain-polignano-pending-restore.txt"),
        (
            "nameserver ns1.nic.example",
            "nameserver-ns1.nic.example.txt",
        ),
        ("registrar 1001", "registrar-1001.txt"),
        (
            "inactive-parking.example",
            "domain-inactive-parking-no-nameservers.txt",
        ),
        ("no-such-domain.example", "not-found.txt"),
    ];
    let bless = std::env::var_os("RDDSD_BLESS").is_some();
    for (query, file) in cases {
        let got = srv.whois(query);
        let path = expected_dir().join(file);
        if bless {
            std::fs::create_dir_all(expected_dir()).expect("mkdir");
            std::fs::write(&path, &got).expect("bless");
            continue;
        }
        let want =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(got, want, "{query} differs from {}", path.display());
    }
}

#[test]
fn hostile_clients_get_one_error_line_and_a_close() {
    let srv = Server::with_config("[whois]\nread_timeout_secs = 1", &[]);
    let long = vec![b'a'; 5000];
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (long, "%ERROR:102:"),
        (b"\xff\xfe\xfd\r\n".to_vec(), "%ERROR:103:"),
        (b"nic\x00\x01example\r\n".to_vec(), "%ERROR:103:"),
        (b"\r\n".to_vec(), "%ERROR:101:"),
        (b"domain\r\n".to_vec(), "%ERROR:105:"),
        (b"-bad-.example\r\n".to_vec(), "%ERROR:106:"),
    ];
    for (bytes, want) in cases {
        let got = String::from_utf8_lossy(&srv.whois_raw(&bytes)).to_string();
        assert!(
            got.starts_with(want) && got.ends_with("\r\n") && got.lines().count() == 1,
            "{want}: {got:?}"
        );
    }
    // A line that never ends, and a client that sends nothing: one error line at the timeout.
    for bytes in [&b"nic.exam"[..], &b""[..]] {
        let mut s = TcpStream::connect(srv.whois_addr).expect("connect");
        s.write_all(bytes).expect("write");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let started = Instant::now();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).expect("server closes");
        assert_eq!(
            String::from_utf8_lossy(&buf),
            "%ERROR:104: no complete query line received in time\r\n"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    // LF alone and a half-closed line without ending are accepted.
    assert!(String::from_utf8_lossy(&srv.whois_raw(b"nic.example\n"))
        .starts_with("Domain Name: nic.example"));
    let mut s = idle(&srv);
    s.write_all(b"nic.example").expect("write");
    s.shutdown(std::net::Shutdown::Write).expect("half-close");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read");
    assert!(String::from_utf8_lossy(&buf).starts_with("Domain Name: nic.example"));
    assert!(
        srv.whois("nic.example").starts_with("Domain Name:"),
        "still serving"
    );
    assert!(!srv.log().contains("panicked"));
}

fn idle(srv: &Server) -> TcpStream {
    let s = TcpStream::connect(srv.whois_addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s
}

#[test]
fn connection_caps_refuse_at_once_and_free_up() {
    let srv = Server::with_config(
        "[whois]\nread_timeout_secs = 30\nmax_per_client = 2\nmax_connections = 10",
        &[],
    );
    let held: Vec<TcpStream> = (0..2).map(|_| idle(&srv)).collect();
    // Wait until the server has accounted for both.
    srv.wait_metric("rddsd_open_connections{listener=\"whois\"}", 2.0);
    let started = Instant::now();
    let refused = String::from_utf8_lossy(&srv.whois_raw(b"nic.example\r\n")).to_string();
    assert!(refused.starts_with("%ERROR:208:"), "{refused}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refusal is immediate"
    );
    drop(held);
    srv.wait_metric("rddsd_open_connections{listener=\"whois\"}", 0.0);
    assert!(
        srv.whois("nic.example").starts_with("Domain Name:"),
        "slots are released"
    );

    // The listener's total: at the cap, the connection that has waited longest without
    // sending its query gives way to the newcomer (issue 23), and hears what a read timeout
    // says; the newcomer is answered.
    let srv2 = Server::with_config(
        "[whois]\nread_timeout_secs = 30\nmax_per_client = 10\nmax_connections = 2",
        &[],
    );
    let mut held: Vec<TcpStream> = (0..2).map(|_| idle(&srv2)).collect();
    srv2.wait_metric("rddsd_open_connections{listener=\"whois\"}", 2.0);
    let answer = String::from_utf8_lossy(&srv2.whois_raw(b"nic.example\r\n")).to_string();
    assert!(answer.starts_with("Domain Name: nic.example"), "{answer}");
    let mut oldest = String::new();
    held[0]
        .read_to_string(&mut oldest)
        .expect("the pre-empted one is closed");
    assert_eq!(
        oldest,
        "%ERROR:104: no complete query line received in time\r\n"
    );
    srv2.wait_metric("rddsd_connections_preempted_total{listener=\"whois\"}", 1.0);
    drop(held);
}

/// The Debian `whois` client runs its own IDNA pass before sending: a registrar whose name has
/// a U-label word arrives as `registrar xn--…`, often lower-cased. All spellings must find it.
#[test]
fn registrar_names_match_in_any_case_and_as_a_labels() {
    let dir = tempfile::tempdir().expect("tmp");
    for entry in std::fs::read_dir(crate::harness::fixtures().join("registry")).expect("fixtures") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        let text = text.replace("Bluefjord Registrar AS", "Blåfjord Registrar AS");
        std::fs::write(dir.path().join(path.file_name().expect("name")), text).expect("write");
    }
    let data = dir.path().to_str().expect("utf-8 path");
    let srv = Server::start(&["--data", data]);
    let a_label = rddsd::registry::DomainName::parse("blåfjord.example")
        .expect("valid")
        .ascii()
        .trim_end_matches(".example")
        .to_string();
    assert!(a_label.starts_with("xn--"), "{a_label}");
    let by_id = srv.whois("registrar 1002");
    assert!(
        by_id.starts_with("Registrar Name: Blåfjord Registrar AS\r\n"),
        "{by_id}"
    );
    for q in [
        "registrar Blåfjord Registrar AS".to_string(),
        "registrar BLÅFJORD REGISTRAR AS".to_string(),
        "registrar blåfjord registrar as".to_string(),
        format!("registrar {a_label} registrar as"),
        format!("registrar {} Registrar AS", a_label.to_ascii_uppercase()),
    ] {
        assert_eq!(srv.whois(&q), by_id, "{q}");
    }
    assert!(srv
        .whois("registrar xn--bfjord-xxx registrar as")
        .starts_with("NOT FOUND\r\n"));
}
