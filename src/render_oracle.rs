//! Byte-exact answers of both renderers for every object of the demo registry.
//!
//! RDAP, against `fixtures/expected/rdap-render/`: for the public and for authority audiences,
//! one file per query, one line per audience, `<label> <body>` (compact JSON has no raw line
//! breaks). The files were written by the `serde_json::Value` renderer this crate used before it
//! wrote JSON text directly, so they pin the wire format (key order, escaping, where the
//! `redacted` entries and the disclosure notice land) byte for byte.
//!
//! WHOIS, against `fixtures/expected/whois-render/`: one file per query, the answer as sent.
//!
//! `RDDSD_BLESS=1 cargo test` rewrites them after a deliberate change, as for the WHOIS golden
//! answers.

use std::path::{Path, PathBuf};

use crate::authority::{Grant, Purpose};
use crate::policy::{Audience, Policy};
use crate::registry::load::load_demo;
use crate::resolve::resolve;
use crate::state::Generation;

use crate::rdap::router::{route, Route};
use crate::rdap::{context, render, render_resolved, RdapConfig};

/// A request URL with characters JSON must escape, so escaping in link values is pinned too.
const ODD_URL: &str = "https://rdap.nic.example/domain/Caf%C3%A9.example?q=\"<é>\\\u{1}\u{7f}";

/// The purposes whose rules differ in the default policy (court orders see what urgent requests
/// see).
const PURPOSES: [Purpose; 4] = [
    Purpose::UrgentThreatToLife,
    Purpose::CriminalInvestigation,
    Purpose::CybersecurityIncident,
    Purpose::ConsumerProtection,
];

fn expected_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/expected/{kind}-render"))
}

fn generation() -> Generation {
    Generation::new(
        load_demo().expect("demo registry"),
        Policy::default_policy().expect("default policy"),
        1,
        1,
    )
}

fn config(port43: bool) -> RdapConfig {
    RdapConfig::new(
        "https://rdap.nic.example/".into(),
        port43.then(|| "whois.nic.example".into()),
        "https://nic.example/terms".into(),
    )
}

/// Every lookup path that finds something in the demo registry, with its file name.
fn queries(data: &Generation) -> Vec<(String, String)> {
    let snap = &data.snapshot;
    let mut all = vec![("help".to_string(), "/help".to_string())];
    for d in snap.domains() {
        let n = d.name.ascii();
        all.push((format!("domain-{n}"), format!("/domain/{n}")));
    }
    for h in snap.hosts() {
        let n = h.name.ascii();
        all.push((format!("nameserver-{n}"), format!("/nameserver/{n}")));
    }
    for r in snap.registrars() {
        let id = r.iana_id;
        all.push((format!("registrar-{id}"), format!("/entity/{id}")));
    }
    for c in snap.contacts() {
        let roid = c.roid.as_str();
        all.push((format!("contact-{roid}"), format!("/entity/{roid}")));
    }
    all.sort();
    all
}

/// The body the server sends for `path` to `audience`, as the public and authority flows of
/// [`crate::rdap`] build it.
fn answer(
    data: &Generation,
    cfg: &RdapConfig,
    path: &str,
    audience: Audience<'_>,
    request_url: Option<&str>,
) -> Vec<u8> {
    let Route::Query(q) = route("GET", path, "") else {
        panic!("{path} does not route to a query")
    };
    let resolved = resolve(&data.snapshot, &data.policy, &q, audience);
    let ctx = render::Context {
        disclosure: match audience {
            Audience::Authority(grant) => Some(grant),
            Audience::Public => None,
        },
        ..context(cfg, data, request_url)
    };
    render_resolved(&resolved, &ctx).unwrap_or_else(|| panic!("{path}: found"))
}

/// Every audience's answer to `path`, labelled.
fn answers(data: &Generation, path: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![
        (
            "public".to_string(),
            answer(data, &config(true), path, Audience::Public, None),
        ),
        (
            "public-odd-url-no-port43".to_string(),
            answer(data, &config(false), path, Audience::Public, Some(ODD_URL)),
        ),
    ];
    for purpose in PURPOSES {
        let grant = Grant::for_test(purpose);
        out.push((
            format!("authority-{}", purpose.key()),
            answer(
                data,
                &config(true),
                path,
                Audience::Authority(&grant),
                Some(ODD_URL),
            ),
        ));
    }
    out
}

/// Error and rate-limit bodies, labelled.
fn error_bodies() -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "error-404".into(),
            render::error(404, "Not Found", "No such object."),
        ),
        (
            "error-odd".into(),
            render::error(400, "Bad \"Request\"", "a\\b\u{1}\nc é ☃"),
        ),
        (
            "limited-no-retry".into(),
            render::limited(
                429,
                "Too Many Requests",
                "Daily query quota exhausted.",
                None,
            ),
        ),
        (
            "limited-retry".into(),
            render::limited(
                429,
                "Too Many Requests",
                "Rate \"limit\" exceeded.",
                Some(17),
            ),
        ),
    ]
}

fn lines(answers: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (label, body) in answers {
        out.extend_from_slice(label.as_bytes());
        out.push(b' ');
        out.extend_from_slice(body);
        out.push(b'\n');
    }
    out
}

/// Where `got` differs from the expected file text, if it does: the first differing line and
/// byte, with some context.
fn difference(want: &[u8], got: &[u8]) -> Option<String> {
    if want == got {
        return None;
    }
    let at = want
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let line = want[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let window = |s: &[u8]| {
        let from = at.saturating_sub(60);
        let to = (at + 60).min(s.len());
        String::from_utf8_lossy(&s[from.min(to)..to]).into_owned()
    };
    Some(format!(
        "first difference at byte {at} (line {line}):\n want …{}…\n  got …{}…",
        window(want),
        window(got)
    ))
}

fn check(kind: &str, file: &str, got: &[u8], bless: bool, failures: &mut Vec<String>) {
    let dir = expected_dir(kind);
    let path = dir.join(file);
    if bless {
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(&path, got).expect("bless");
        return;
    }
    match std::fs::read(&path) {
        Ok(want) => {
            if let Some(d) = difference(&want, got) {
                failures.push(format!("{}: {d}", path.display()));
            }
        }
        Err(e) => failures.push(format!("{}: {e}", path.display())),
    }
}

/// Every file in `kind`'s directory is one of `files`: a fixture no query produces any more
/// would silently stop being checked.
fn assert_no_stray_fixture(kind: &str, mut files: Vec<String>) {
    let mut on_disk: Vec<String> = std::fs::read_dir(expected_dir(kind))
        .expect("fixture dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    files.sort();
    assert_eq!(on_disk, files, "fixture files and queries differ");
}

#[test]
fn every_rdap_answer_is_byte_identical_to_its_fixture() {
    let data = generation();
    let bless = std::env::var_os("RDDSD_BLESS").is_some();
    let mut failures = Vec::new();
    let mut files = Vec::new();
    for (name, path) in queries(&data) {
        let file = format!("{name}.txt");
        let got = lines(&answers(&data, &path));
        check("rdap", &file, &got, bless, &mut failures);
        files.push(file);
    }
    check(
        "rdap",
        "errors.txt",
        &lines(&error_bodies()),
        bless,
        &mut failures,
    );
    files.push("errors.txt".into());
    assert_no_stray_fixture("rdap", files);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every port 43 query form that finds something in the demo registry, and one that does not,
/// with its file name.
fn whois_queries(data: &Generation) -> Vec<(String, String)> {
    let snap = &data.snapshot;
    let mut all = vec![
        ("help".to_string(), "help".to_string()),
        (
            "not-found".to_string(),
            "no-such-domain.example".to_string(),
        ),
    ];
    for d in snap.domains() {
        let n = d.name.ascii();
        all.push((format!("domain-{n}"), n.to_string()));
    }
    for h in snap.hosts() {
        let n = h.name.ascii();
        all.push((format!("nameserver-{n}"), format!("nameserver {n}")));
        for ip in &h.addresses {
            let file = format!("nameserver-ip-{ip}").replace(':', "_");
            all.push((file, format!("nameserver {ip}")));
        }
    }
    for r in snap.registrars() {
        let id = r.iana_id;
        all.push((format!("registrar-{id}"), format!("registrar {id}")));
        all.push((
            format!("registrar-name-{id}"),
            format!("registrar {}", r.name),
        ));
    }
    all.sort();
    all.dedup();
    all
}

#[test]
fn every_whois_answer_is_byte_identical_to_its_fixture() {
    let data = generation();
    let bless = std::env::var_os("RDDSD_BLESS").is_some();
    let mut failures = Vec::new();
    let mut files = Vec::new();
    for (name, query) in whois_queries(&data) {
        let file = format!("{name}.txt");
        let q = crate::whois::parse::parse(query.as_bytes())
            .unwrap_or_else(|e| panic!("{query}: {e:?}"));
        let (got, _) = crate::whois::answer(&data, &q, "https://nic.example/terms");
        check("whois", &file, got.as_bytes(), bless, &mut failures);
        files.push(file);
    }
    assert_no_stray_fixture("whois", files);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_single_changed_byte_is_reported() {
    let want = b"public {\"a\":\"b\"}\nauthority {\"a\":\"c\"}\n".to_vec();
    assert_eq!(difference(&want, &want), None);
    for i in 0..want.len() {
        let mut got = want.clone();
        got[i] ^= 0x01;
        let d = difference(&want, &got).expect("a flipped byte is a difference");
        assert!(d.contains(&format!("byte {i} ")), "{d}");
    }
    assert!(difference(&want, &want[..want.len() - 1]).is_some());
    let mut longer = want.clone();
    longer.push(b'x');
    assert!(difference(&want, &longer).is_some());
}
