//! Authority disclosure end to end: credentials issued with the real CLI, requests over real
//! sockets, the disclosure log checked with `rddsd audit`.

use std::path::{Path, PathBuf};
use std::process::Command;

use std::time::{Duration, Instant};

use rddsd::authority::log::{DisclosedContact, Disclosure, Entry, GENESIS};

use crate::harness::{rddsd, Server};

struct Fixture {
    dir: tempfile::TempDir,
    creds: PathBuf,
    log: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let creds = dir.path().join("credentials.jsonl");
        let log = dir.path().join("disclosures.jsonl");
        Self { dir, creds, log }
    }

    /// Issue a credential; returns (id, token).
    fn issue(&self, authority: &str, purposes: &str) -> (String, String) {
        crate::harness::issue_credential(&self.creds, authority, purposes)
    }

    fn config(&self, log: &Path) -> String {
        format!(
            "[authority]\ncredentials = {:?}\nlog = {:?}\n",
            self.creds.to_str().expect("utf-8"),
            log.to_str().expect("utf-8")
        )
    }

    fn start(&self) -> Server {
        Server::with_config(&self.config(&self.log), &[])
    }

    /// Write a valid chain of disclosures with the given (old) times as the log; returns their
    /// hashes.
    fn seed(&self, times: &[&str]) -> Vec<String> {
        let (mut prev, mut text, mut hashes) = (GENESIS.to_string(), Vec::new(), Vec::new());
        for (i, t) in times.iter().enumerate() {
            let (e, line) = Entry {
                seq: i as u64 + 1,
                time: (*t).to_string(),
                disclosure: Some(Disclosure {
                    request_id: format!("old{i}"),
                    authority: "Archive Unit".into(),
                    credential_id: "old".into(),
                    client: "192.0.2.1".into(),
                    purpose: "court-order".into(),
                    legal_basis: "Order 1".into(),
                    case_reference: format!("OLD-{i}"),
                    query: "/authority/entity/C101-EXAMPLE".into(),
                    objects: vec!["contact:C101-EXAMPLE".into()],
                    disclosed: vec![DisclosedContact {
                        roid: "C101-EXAMPLE".into(),
                        role: "contact".into(),
                        fields: vec!["name".into()],
                    }],
                    response_sha256: "0".repeat(64),
                    jurisdiction: None,
                    withheld_until: None,
                    credential_kind: None,
                    issuer: None,
                    subject: None,
                    workflow: None,
                }),
                checkpoint: None,
                salt: None,
                prev: prev.clone(),
                hash: String::new(),
            }
            .sealed();
            prev = e.hash.clone();
            hashes.push(e.hash);
            text.extend_from_slice(&line);
        }
        std::fs::write(&self.log, text).expect("seed log");
        hashes
    }

    fn log_str(&self) -> &str {
        self.log.to_str().expect("utf-8")
    }

    fn entries(&self) -> Vec<serde_json::Value> {
        crate::harness::log_entries(&self.log)
    }
}

fn ask(
    srv: &Server,
    path: &str,
    token: Option<&str>,
    statement: &[(&str, &str)],
) -> crate::harness::Resp {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &str)> = statement.to_vec();
    if let Some(b) = &bearer {
        headers.push(("Authorization", b));
    }
    srv.request("GET", path, &headers)
}

const STATEMENT: &[(&str, &str)] = &[
    ("RDDS-Purpose", "criminal-investigation"),
    ("RDDS-Legal-Basis", "Swiss CrimPC Art. 265"),
    ("RDDS-Case-Reference", "CASE-2026-0042"),
];

#[test]
fn a_valid_request_gets_full_data_and_exactly_one_log_entry() {
    let fx = Fixture::new();
    let (id, token) = fx.issue("Example Police Cyber Unit", "criminal-investigation");
    let srv = fx.start();
    let r = ask(
        &srv,
        "/authority/domain/caf%C3%A9.example",
        Some(&token),
        STATEMENT,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(
        r.header("access-control-allow-origin"),
        None,
        "no CORS on the authority route"
    );
    let body = String::from_utf8_lossy(&r.body).to_string();
    for v in [
        "Aurelie Vantongeren",
        "4471 Rue des Canaris",
        "aurelie.vantongeren@mailbox-one.example.org",
        "tel:+1.4185550142",
    ] {
        assert!(body.contains(v), "disclosed {v}");
    }
    let json = r.json();
    let names: Vec<&str> = json["redacted"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"]["type"].as_str())
        .collect();
    for gone in [
        "Registrant Name",
        "Registrant Street",
        "Registrant Email",
        "Registrant Phone",
    ] {
        assert!(
            !names.contains(&gone),
            "no redaction entry for disclosed {gone}"
        );
    }
    let notice = json["notices"]
        .as_array()
        .expect("notices")
        .iter()
        .find(|n| n["title"] == "Disclosure of Non-Public Registration Data")
        .expect("disclosure notice");
    let text = notice["description"].to_string();
    assert!(
        text.contains("Example Police Cyber Unit")
            && text.contains("CASE-2026-0042")
            && text.contains(&id)
    );

    let entries = fx.entries();
    assert_eq!(entries.len(), 1);
    let d = &entries[0]["disclosure"];
    assert_eq!(d["credentialId"], id.as_str());
    assert_eq!(d["purpose"], "criminal-investigation");
    assert_eq!(d["legalBasis"], "Swiss CrimPC Art. 265");
    assert_eq!(d["caseReference"], "CASE-2026-0042");
    assert_eq!(d["requestId"].as_str(), r.header("rdds-request-id"));
    assert_eq!(
        d["responseSha256"].as_str(),
        Some(sha256(&r.body).as_str()),
        "the log holds the hash of what was sent"
    );
    let registrant = d["disclosed"]
        .as_array()
        .expect("disclosed")
        .iter()
        .find(|c| c["role"] == "registrant")
        .expect("registrant");
    assert_eq!(registrant["roid"], "C101-EXAMPLE");
    assert_eq!(
        registrant["fields"],
        serde_json::json!(["name", "street", "city", "pc", "voice", "email"])
    );

    // The public route is unchanged.
    let public = srv.get("/domain/caf%C3%A9.example");
    assert!(!String::from_utf8_lossy(&public.body).contains("Aurelie Vantongeren"));
    assert_eq!(public.header("access-control-allow-origin"), Some("*"));
    assert_eq!(fx.entries().len(), 1, "public requests write no entries");
}

#[test]
fn bad_credentials_and_missing_statements_disclose_nothing_and_log_nothing() {
    let fx = Fixture::new();
    let (id, token) = fx.issue("Example Police", "criminal-investigation");
    let (_, cyber_only) = fx.issue("Example CERT", "cybersecurity-incident");
    let (revoked_id, revoked) = fx.issue("Old Unit", "criminal-investigation");
    let (expired_id, expired) = fx.issue("Temp Unit", "criminal-investigation");
    // Expire one credential by hand, revoke another with the CLI.
    let text = std::fs::read_to_string(&fx.creds).expect("read");
    let text: String = text
        .lines()
        .map(|l| if l.contains(&expired_id) { l.replace("2099-01-01T00:00:00Z", "2001-01-01T00:00:00Z") } else { l.to_string() } + "\n")
        .collect();
    std::fs::write(&fx.creds, text).expect("write");
    let (ok, out) = rddsd(&[
        "authority",
        "revoke",
        "--credentials",
        fx.creds.to_str().expect("utf-8"),
        &revoked_id,
    ]);
    assert!(ok, "{out}");
    let srv = fx.start();
    let wrong = format!("rdds_{id}_{}", "0".repeat(64));
    for (token, label) in [
        (None, "missing"),
        (Some(wrong.as_str()), "wrong"),
        (Some(expired.as_str()), "expired"),
        (Some(revoked.as_str()), "revoked"),
        (Some("garbage"), "garbage"),
    ] {
        let existing = ask(
            &srv,
            "/authority/domain/caf%C3%A9.example",
            token,
            STATEMENT,
        );
        let missing = ask(
            &srv,
            "/authority/domain/no-such-name.example",
            token,
            STATEMENT,
        );
        assert_eq!(existing.status, 401, "{label}");
        assert!(
            existing
                .header("www-authenticate")
                .is_some_and(|w| w.starts_with("Bearer")),
            "{label}"
        );
        assert_eq!(
            (missing.status, &missing.body),
            (existing.status, &existing.body),
            "{label}: no hint whether the domain exists"
        );
        assert!(
            !String::from_utf8_lossy(&existing.raw).contains("Aurelie"),
            "{label}"
        );
    }
    // Valid credential, incomplete or invalid statements.
    let cases: [(&[(&str, &str)], u16); 5] = [
        (&[], 400),
        (
            &[
                ("RDDS-Purpose", "criminal-investigation"),
                ("RDDS-Legal-Basis", "x"),
            ],
            400,
        ),
        (
            &[
                ("RDDS-Purpose", "curiosity"),
                ("RDDS-Legal-Basis", "x"),
                ("RDDS-Case-Reference", "y"),
            ],
            400,
        ),
        (
            &[
                ("RDDS-Purpose", "criminal-investigation"),
                ("RDDS-Legal-Basis", " "),
                ("RDDS-Case-Reference", "y"),
            ],
            400,
        ),
        (
            &[
                ("RDDS-Purpose", "urgent-threat-to-life"),
                ("RDDS-Legal-Basis", "x"),
                ("RDDS-Case-Reference", "y"),
            ],
            403,
        ),
    ];
    for (statement, status) in cases {
        let r = ask(
            &srv,
            "/authority/domain/caf%C3%A9.example",
            Some(&token),
            statement,
        );
        assert_eq!(r.status, status, "{statement:?}");
        assert!(!String::from_utf8_lossy(&r.raw).contains("Aurelie"));
    }
    let r = ask(
        &srv,
        "/authority/domain/caf%C3%A9.example",
        Some(&cyber_only),
        STATEMENT,
    );
    assert_eq!(r.status, 403, "purpose outside the credential");
    assert!(fx.entries().is_empty(), "no disclosure, no entry");
    // Query parameters work as the statement too.
    let q = "/authority/domain/caf%C3%A9.example?purpose=criminal-investigation&legalBasis=Art.%20265&caseReference=Q-1";
    assert_eq!(ask(&srv, q, Some(&token), &[]).status, 200);
    assert_eq!(fx.entries().len(), 1);
}

#[test]
fn revocation_takes_effect_on_reload() {
    let fx = Fixture::new();
    let (id, token) = fx.issue("Example Police", "criminal-investigation");
    let srv = fx.start();
    assert_eq!(
        ask(
            &srv,
            "/authority/entity/C101-EXAMPLE",
            Some(&token),
            STATEMENT
        )
        .status,
        200
    );
    let (ok, out) = rddsd(&[
        "authority",
        "revoke",
        "--credentials",
        fx.creds.to_str().expect("utf-8"),
        &id,
    ]);
    assert!(ok, "{out}");
    srv.signal("HUP");
    assert!(srv.wait_log("generation=2"), "{}", srv.log());
    assert_eq!(
        ask(
            &srv,
            "/authority/entity/C101-EXAMPLE",
            Some(&token),
            STATEMENT
        )
        .status,
        401
    );
    assert_eq!(fx.entries().len(), 1);
}

#[test]
fn no_log_no_disclosure() {
    let fx = Fixture::new();
    let (_, token) = fx.issue("Example Police", "criminal-investigation");
    // A full disk: every write fails.
    let srv = Server::with_config(&fx.config(Path::new("/dev/full")), &[]);
    let r = ask(
        &srv,
        "/authority/domain/caf%C3%A9.example",
        Some(&token),
        STATEMENT,
    );
    assert_eq!(r.status, 503);
    assert!(!String::from_utf8_lossy(&r.raw).contains("Aurelie"));
    // A log replaced by something unwritable while the server runs.
    let srv = fx.start();
    assert_eq!(
        ask(
            &srv,
            "/authority/domain/nic.example",
            Some(&token),
            STATEMENT
        )
        .status,
        200
    );
    std::fs::remove_file(&fx.log).expect("rm");
    std::fs::create_dir(&fx.log).expect("a directory where the log was");
    let r = ask(
        &srv,
        "/authority/domain/caf%C3%A9.example",
        Some(&token),
        STATEMENT,
    );
    assert_eq!(r.status, 503);
    assert!(!String::from_utf8_lossy(&r.raw).contains("Aurelie"));
    // A torn tail found at start: disclosures stay off.
    let torn = fx.dir.path().join("torn.jsonl");
    std::fs::write(&torn, "{\"seq\":1,\"time\":\"2026-").expect("write");
    let srv = Server::with_config(&fx.config(&torn), &[]);
    assert_eq!(
        ask(
            &srv,
            "/authority/domain/nic.example",
            Some(&token),
            STATEMENT
        )
        .status,
        503
    );
    assert!(srv.wait_log("torn entry"), "{}", srv.log());
    assert_eq!(
        std::fs::read_to_string(&torn).expect("read"),
        "{\"seq\":1,\"time\":\"2026-",
        "the torn log is left as found"
    );
}

#[test]
fn parallel_disclosures_chain_without_loss() {
    let fx = Fixture::new();
    let (_, token) = fx.issue("Example Police", "criminal-investigation");
    let srv = std::sync::Arc::new(Server::with_config(
        &format!(
            "{}rate_per_minute = 10000\nburst = 1000\n",
            fx.config(&fx.log)
        ),
        &[],
    ));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (srv, token) = (std::sync::Arc::clone(&srv), token.clone());
            std::thread::spawn(move || {
                for _ in 0..10 {
                    assert_eq!(
                        ask(
                            &srv,
                            "/authority/domain/kite-surfing.example",
                            Some(&token),
                            STATEMENT
                        )
                        .status,
                        200
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let (ok, out) = rddsd(&["audit", "verify", fx.log.to_str().expect("utf-8")]);
    assert!(ok && out.contains("ok: 80 disclosure(s)"), "{out}");
}

#[test]
fn audit_cli_verify_report_prune() {
    let fx = Fixture::new();
    let (police, token) = fx.issue("Example Police", "criminal-investigation");
    let (_, cert) = fx.issue("Example CERT", "cybersecurity-incident");
    let srv = fx.start();
    let cyber = [
        ("RDDS-Purpose", "cybersecurity-incident"),
        ("RDDS-Legal-Basis", "NIS2 Art. 23"),
        ("RDDS-Case-Reference", "INC-7"),
    ];
    assert_eq!(
        ask(
            &srv,
            "/authority/domain/caf%C3%A9.example",
            Some(&token),
            STATEMENT
        )
        .status,
        200
    );
    assert_eq!(
        ask(
            &srv,
            "/authority/domain/kite-surfing.example",
            Some(&cert),
            &cyber
        )
        .status,
        200
    );
    assert_eq!(
        ask(
            &srv,
            "/authority/entity/C101-EXAMPLE",
            Some(&token),
            STATEMENT
        )
        .status,
        200
    );
    let log = fx.log.to_str().expect("utf-8");

    let (ok, out) = rddsd(&["audit", "report", log, "--contact", "C101-EXAMPLE"]);
    assert!(
        ok && out.contains("2 disclosure(s)") && out.contains("CASE-2026-0042"),
        "{out}"
    );
    let (ok, out) = rddsd(&["audit", "report", log, "--case", "INC-7", "--json"]);
    assert!(ok, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON report");
    assert_eq!(json.as_array().map(Vec::len), Some(1));
    let (ok, out) = rddsd(&[
        "audit",
        "report",
        log,
        "--authority",
        &police,
        "--since",
        "2000-01-01",
        "--until",
        "2999-01-01",
    ]);
    assert!(ok && out.contains("2 disclosure(s)"), "{out}");

    // Tampering is caught with a non-zero exit naming the line.
    let original = std::fs::read_to_string(&fx.log).expect("read");
    let lines: Vec<&str> = original.lines().collect();
    let tampered = [
        (original.replace("INC-7", "INC-8"), "line 2"),
        (format!("{}\n{}\n", lines[0], lines[2]), "line 2"),
        (
            format!("{}\n{}\n{}\n", lines[0], lines[2], lines[1]),
            "line 2",
        ),
        (
            format!("{}\n{}\n{}\n{}\n", lines[0], lines[1], lines[1], lines[2]),
            "line 3",
        ),
        (original[..original.len() - 10].to_string(), "line 3"),
    ];
    for (text, line) in tampered {
        std::fs::write(&fx.log, &text).expect("write");
        let (ok, out) = rddsd(&["audit", "verify", log]);
        assert!(!ok && out.contains(line), "{out}");
    }
    std::fs::write(&fx.log, &original).expect("restore");
    // A clean cut of the tail is caught against a recorded head.
    let head = serde_json::from_str::<serde_json::Value>(lines[2]).expect("entry")["hash"]
        .as_str()
        .expect("hash")
        .to_string();
    std::fs::write(&fx.log, format!("{}\n{}\n", lines[0], lines[1])).expect("cut tail");
    let (ok, out) = rddsd(&["audit", "verify", log, "--head", &head]);
    assert!(!ok && out.contains("recorded head"), "{out}");
    std::fs::write(&fx.log, &original).expect("restore");

    // A prune may not reach into the future (it would remove recent entries too).
    let (ok, out) = rddsd(&["audit", "prune", log, "--before", "2999-01-01"]);
    assert!(!ok && out.contains("future"), "{out}");
    assert_eq!(std::fs::read_to_string(&fx.log).expect("read"), original);
}

fn sha256(data: &[u8]) -> String {
    rddsd::authority::log::sha256_hex(data)
}

#[test]
fn each_credential_has_its_own_rate_limit() {
    let fx = Fixture::new();
    let (_, a) = fx.issue("Unit A", "criminal-investigation");
    let (_, b) = fx.issue("Unit B", "criminal-investigation");
    let srv = Server::with_config(
        &format!("{}rate_per_minute = 1\nburst = 2\n", fx.config(&fx.log)),
        &[],
    );
    for _ in 0..2 {
        assert_eq!(
            ask(&srv, "/authority/domain/nic.example", Some(&a), STATEMENT).status,
            200
        );
    }
    let r = ask(&srv, "/authority/domain/nic.example", Some(&a), STATEMENT);
    assert_eq!(r.status, 429);
    assert!(r
        .header("retry-after")
        .and_then(|s| s.parse::<u64>().ok())
        .is_some_and(|s| s >= 1));
    assert_eq!(
        ask(&srv, "/authority/domain/nic.example", Some(&b), STATEMENT).status,
        200,
        "another credential is unaffected"
    );
    assert_eq!(fx.entries().len(), 3);
}

fn disclose(srv: &Server, token: &str) -> u16 {
    ask(srv, "/authority/domain/nic.example", Some(token), STATEMENT).status
}

/// Issue #10, item 1: the writer notices a file that is not the one it verified.
#[test]
fn a_log_replaced_truncated_or_extended_while_running_stops_disclosures() {
    type Change = fn(&Path);
    let changes: [(&str, Change, &str); 3] = [
        (
            "renamed and replaced by an empty file",
            |p| {
                std::fs::rename(p, p.with_extension("old")).expect("rename");
                std::fs::write(p, b"").expect("create");
            },
            "not a prune of its chain",
        ),
        (
            "truncated",
            |p| {
                let data = std::fs::read(p).expect("read");
                std::fs::write(p, &data[..data.len() - 10]).expect("truncate");
            },
            "changed behind the writer",
        ),
        (
            "torn bytes appended",
            |p| {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(p)
                    .expect("open");
                f.write_all(b"{\"seq\":9").expect("write");
            },
            "changed behind the writer",
        ),
    ];
    for (what, change, says) in changes {
        let fx = Fixture::new();
        let (_, token) = fx.issue("Example Police", "criminal-investigation");
        let srv = fx.start();
        assert_eq!(disclose(&srv, &token), 200, "{what}");
        change(&fx.log);
        let after = std::fs::read(&fx.log).expect("read");
        let r = ask(
            &srv,
            "/authority/domain/caf%C3%A9.example",
            Some(&token),
            STATEMENT,
        );
        assert_eq!(r.status, 503, "{what}");
        assert!(
            !String::from_utf8_lossy(&r.raw).contains("Aurelie"),
            "{what}"
        );
        assert!(srv.wait_log(says), "{what}: {}", srv.log());
        assert_eq!(disclose(&srv, &token), 503, "{what}: stays closed");
        assert_eq!(
            std::fs::read(&fx.log).expect("read"),
            after,
            "{what}: nothing written to the changed file"
        );
    }
}

/// Issue #10, item 2: one writer per log; a rolling restart's second server refuses until the
/// first is gone, then continues the same chain.
#[test]
fn a_second_server_on_the_same_log_refuses_until_the_first_stops() {
    let fx = Fixture::new();
    let (_, token) = fx.issue("Example Police", "criminal-investigation");
    let first = fx.start();
    let second = fx.start();
    assert_eq!(disclose(&first, &token), 200);
    let r = ask(
        &second,
        "/authority/domain/caf%C3%A9.example",
        Some(&token),
        STATEMENT,
    );
    assert_eq!(r.status, 503);
    assert!(!String::from_utf8_lossy(&r.raw).contains("Aurelie"));
    assert!(second.wait_log("another rddsd process"), "{}", second.log());
    assert_eq!(disclose(&first, &token), 200);
    drop(first); // killed and reaped: its writer lock is released
    assert_eq!(disclose(&second, &token), 200, "{}", second.log());
    let seqs: Vec<u64> = fx
        .entries()
        .iter()
        .filter_map(|e| e["seq"].as_u64())
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    let (ok, out) = rddsd(&["audit", "verify", fx.log_str()]);
    assert!(ok && out.contains("ok: 3 disclosure(s)"), "{out}");
}

/// Issue #10, items 2, 4 and 9: a prune on a running server cuts only the oldest prefix, the
/// server continues the chain, and `--head` accepts the head the checkpoint anchors.
#[test]
fn prune_on_a_running_server_and_verify_head() {
    let fx = Fixture::new();
    let (_, token) = fx.issue("Example Police", "criminal-investigation");
    // Old entries, with a clock step backwards at entry 3.
    let old = fx.seed(&[
        "2020-01-01T00:00:00Z",
        "2021-01-01T00:00:00Z",
        "2023-06-01T00:00:00Z",
        "2022-01-01T00:00:00Z",
    ]);
    let srv = fx.start();
    let log = fx.log_str();
    // Only the prefix older than the date goes: entry 4 is older but follows a newer one.
    let (ok, out) = rddsd(&["audit", "prune", log, "--before", "2022-06-01"]);
    assert!(
        ok && out.contains("pruned 2 entries") && out.contains("2 kept"),
        "{out}"
    );
    assert_eq!(disclose(&srv, &token), 200, "{}", srv.log());
    let (ok, out) = rddsd(&["audit", "verify", log]);
    assert!(ok && out.contains("ok: 3 disclosure(s)"), "{out}");
    // Prune all old entries: the prefix ends at entry 4 (the server's entry is recent), so
    // the checkpoint anchors entry 4, the head an operator recorded before the prune.
    let (ok, out) = rddsd(&["audit", "prune", log, "--before", "2024-01-01"]);
    assert!(
        ok && out.contains("pruned 2 entries") && out.contains("1 kept"),
        "{out}"
    );
    let recorded = old[3].clone();
    assert_eq!(disclose(&srv, &token), 200);
    let (ok, out) = rddsd(&["audit", "verify", log, "--head", &recorded]);
    assert!(
        ok && out.contains("pruned, anchored by the checkpoint"),
        "the anchor is a valid recorded head: {out}"
    );
    // A head from the pruned range that the checkpoint does not anchor proves nothing.
    let (ok, out) = rddsd(&["audit", "verify", log, "--head", &old[1]]);
    assert!(!ok && out.contains("not in the log"), "{out}");
    // A head still in the log, and the current head.
    let entries = fx.entries();
    let kept = entries[1]["hash"].as_str().expect("hash");
    let (ok, out) = rddsd(&["audit", "verify", log, "--head", kept]);
    assert!(ok && out.contains("line 2"), "{out}");
    let head = entries[2]["hash"].as_str().expect("hash");
    assert!(srv.wait_log(head), "the server logged its head");
    let (ok, out) = rddsd(&["audit", "verify", log, "--head", head]);
    assert!(ok && out.contains("the log's head"), "{out}");
}

/// Issue #10, item 5: a checkpoint claiming to cover entries newer than its prune date, or a
/// prune date after the entries it keeps, is refused.
#[test]
fn a_forged_checkpoint_is_refused() {
    let fx = Fixture::new();
    fx.seed(&[
        "2020-01-01T00:00:00Z",
        "2021-01-01T00:00:00Z",
        "2025-01-01T00:00:00Z",
    ]);
    let log = fx.log_str();
    let (ok, out) = rddsd(&["audit", "prune", log, "--before", "2020-06-01"]);
    assert!(ok, "{out}");
    let good = std::fs::read_to_string(&fx.log).expect("read");
    let forge = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut lines: Vec<String> = good.lines().map(String::from).collect();
        let mut cp: Entry = serde_json::from_str(&lines[0]).expect("entry");
        let mut v = serde_json::to_value(&cp).expect("json");
        f(&mut v);
        cp = serde_json::from_value(v).expect("entry");
        cp.hash = cp.compute_hash();
        lines[0] = serde_json::to_string(&cp).expect("json");
        std::fs::write(&fx.log, lines.join("\n") + "\n").expect("write");
        rddsd(&["audit", "verify", log])
    };
    let (ok, out) =
        forge(&|v| v["checkpoint"]["prunedThroughTime"] = "2024-01-01T00:00:00Z".into());
    assert!(
        !ok && out.contains("line 1") && out.contains("not older"),
        "{out}"
    );
    // Hiding entry 2 as "pruned" needs a prune date after it: the kept entry 3 then chains
    // from an anchor that is not entry 2's hash.
    let (ok, out) = forge(&|v| {
        v["checkpoint"]["prunedBefore"] = "2025-06-01T00:00:00Z".into();
    });
    assert!(!ok && out.contains("line 2"), "{out}");
}

/// Issue #10, item 3: only an existing regular file is a log to the audit commands.
#[test]
fn audit_verify_refuses_what_is_not_a_log() {
    let fx = Fixture::new();
    let null = fx.dir.path().join("null.jsonl");
    std::os::unix::fs::symlink("/dev/null", &null).expect("symlink");
    for (path, says) in [
        (fx.dir.path().join("missing.jsonl"), "No such file"),
        (fx.dir.path().to_path_buf(), "directory"),
        (null, "not a regular file"),
    ] {
        let (ok, out) = rddsd(&["audit", "verify", path.to_str().expect("utf-8")]);
        assert!(!ok && out.contains(says) && !out.contains("ok:"), "{out}");
        let (ok, out) = rddsd(&["audit", "report", path.to_str().expect("utf-8")]);
        assert!(!ok, "report: {out}");
    }
    std::fs::write(&fx.log, b"").expect("empty");
    let (ok, out) = rddsd(&["audit", "verify", fx.log_str()]);
    assert!(ok && out.contains("empty"), "{out}");
}

/// Issue #10, item 6: the log records the contact's own ROID, however a domain record spells it,
/// and `--contact` finds it in any case.
#[test]
fn contacts_are_logged_by_their_canonical_roid() {
    let fx = Fixture::new();
    let data = fx.dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    for f in std::fs::read_dir(crate::harness::fixtures().join("registry")).expect("fixtures") {
        let f = f.expect("entry").path();
        let text = std::fs::read_to_string(&f).expect("read");
        let text = if f.ends_with("domains.jsonl") {
            text.replace(
                "\"registrant\":\"C101-EXAMPLE\"",
                "\"registrant\":\"c101-example\"",
            )
        } else {
            text
        };
        std::fs::write(data.join(f.file_name().expect("name")), text).expect("write");
    }
    let (_, token) = fx.issue("Example Police", "criminal-investigation");
    let srv = Server::with_config(
        &fx.config(&fx.log),
        &["--data", data.to_str().expect("utf-8")],
    );
    let r = ask(
        &srv,
        "/authority/domain/caf%C3%A9.example",
        Some(&token),
        STATEMENT,
    );
    assert_eq!(r.status, 200, "{}", srv.log());
    let d = &fx.entries()[0]["disclosure"];
    assert!(d["objects"]
        .as_array()
        .expect("objects")
        .contains(&"contact:C101-EXAMPLE".into()));
    assert_eq!(d["disclosed"][0]["roid"], "C101-EXAMPLE");
    let (ok, out) = rddsd(&["audit", "report", fx.log_str(), "--contact", "c101-Example"]);
    assert!(ok && out.contains("1 disclosure(s)"), "{out}");
}

/// Issue #10, item 7: for an authority, a field the contact does not have is reported as
/// absent (no redaction entry), for phones and faxes as for the organisation; the public view
/// keeps its entries.
#[test]
fn absent_fields_get_no_redaction_entry_for_an_authority() {
    let fx = Fixture::new();
    let (_, token) = fx.issue("Example Police", "criminal-investigation");
    let srv = fx.start();
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["redacted"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["name"]["type"].as_str().map(String::from))
            .collect()
    };
    // C101-EXAMPLE, café.example's registrant, has no organisation and no fax.
    let r = ask(
        &srv,
        "/authority/domain/caf%C3%A9.example",
        Some(&token),
        STATEMENT,
    );
    assert_eq!(r.status, 200);
    let authority = names(&r.json());
    for absent in [
        "Registrant Organization",
        "Registrant Fax",
        "Registrant Fax Ext",
        "Registrant Phone Ext",
    ] {
        assert!(
            !authority.iter().any(|n| n == absent),
            "{absent}: {authority:?}"
        );
    }
    assert!(!String::from_utf8_lossy(&r.body).contains("\"fax\""));
    let public = names(&srv.get("/domain/caf%C3%A9.example").json());
    for withheld in [
        "Registrant Fax",
        "Registrant Organization",
        "Registrant Phone",
    ] {
        assert!(
            public.iter().any(|n| n == withheld),
            "public {withheld}: {public:?}"
        );
    }
}

/// Issue #9: a disclosure waiting on the log lock (held by a prune) neither stalls public
/// traffic nor the shutdown grace, and is answered 503 without an entry once its deadline passes.
#[test]
fn a_locked_log_stalls_neither_public_traffic_nor_shutdown() {
    let fx = Fixture::new();
    let (_, token) = fx.issue("Example Police", "criminal-investigation");
    let mut srv = Server::with_config(
        &format!(
            "{}\n[service]\nshutdown_grace_secs = 2\n",
            fx.config(&fx.log)
        ),
        &[],
    );
    let srv_ref = &srv;
    assert_eq!(disclose(srv_ref, &token), 200);
    // Hold the lock `audit prune` takes.
    let lock =
        std::fs::File::create(rddsd::authority::log::append_lock_path(&fx.log)).expect("lock file");
    lock.lock().expect("lock");
    std::thread::scope(|s| {
        let waiting: Vec<_> = (0..2)
            .map(|_| s.spawn(|| disclose(srv_ref, &token)))
            .collect();
        assert!(srv_ref.wait_log("waiting for the disclosure log lock"));
        let started = Instant::now();
        assert_eq!(srv_ref.get("/domain/nic.example").status, 200);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "public answer took {:?}",
            started.elapsed()
        );
        for w in waiting {
            assert_eq!(
                w.join().expect("thread"),
                503,
                "not durable in time: no disclosure"
            );
        }
    });
    lock.unlock().expect("unlock");
    assert_eq!(disclose(srv_ref, &token), 200);
    assert_eq!(
        fx.entries().len(),
        2,
        "the abandoned disclosures left no entry"
    );
    // SIGTERM while a disclosure waits on the lock: the grace of 2 s holds.
    lock.lock().expect("lock");
    let terminated = std::thread::scope(|s| {
        let waiting = s.spawn(|| {
            let bearer = format!("Bearer {token}");
            let mut headers = STATEMENT.to_vec();
            headers.push(("Authorization", &bearer));
            let raw = crate::harness::Server::raw_from(
                "127.0.0.1".parse().expect("ip"),
                srv_ref.addr,
                format!(
                    "GET /authority/domain/nic.example HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{}\r\n",
                    headers
                        .iter()
                        .map(|(k, v)| format!("{k}: {v}\r\n"))
                        .collect::<String>()
                )
                .as_bytes(),
            );
            // Cut off or refused, never disclosed.
            assert!(!String::from_utf8_lossy(&raw).contains(" 200 "));
        });
        assert!(srv_ref.wait_log("waiting for the disclosure log lock"));
        srv_ref.signal("TERM");
        let t0 = Instant::now();
        let _ = waiting.join();
        t0
    });
    let status = srv.wait_exit(Duration::from_secs(8)).expect("exited");
    assert!(status.success());
    assert!(
        terminated.elapsed() < Duration::from_secs(4),
        "exit took {:?} after SIGTERM with a 2 s grace",
        terminated.elapsed()
    );
    drop(lock);
}

/// Issue #9, item 10: the denylist applies to the authority route, and failed authentications
/// are metered per client network, while valid credentials elsewhere are unaffected.
#[test]
fn the_authority_route_is_denylisted_and_meters_failed_authentication() {
    let fx = Fixture::new();
    let (id, token) = fx.issue("Example Police", "criminal-investigation");
    let srv = Server::with_config(
        &format!(
            "{}rate_per_minute = 1000\nburst = 100\n[limits]\nenabled = false\ndeny = [\"127.0.0.9/32\"]\n",
            fx.config(&fx.log)
        ),
        &[],
    );
    let bearer = format!("Bearer {token}");
    let mut good: Vec<(&str, &str)> = STATEMENT.to_vec();
    good.push(("Authorization", &bearer));
    let path = "/authority/domain/caf%C3%A9.example";
    let r = srv.get_from("127.0.0.9", path, &good);
    assert_eq!(r.status, 403);
    assert!(!String::from_utf8_lossy(&r.raw).contains("Aurelie"));
    let wrong = format!("Bearer rdds_{id}_{}", "0".repeat(64));
    let mut bad: Vec<(&str, &str)> = STATEMENT.to_vec();
    bad.push(("Authorization", &wrong));
    for i in 0..rddsd::authority::service::AUTH_FAILURE_BURST {
        assert_eq!(
            srv.get_from("127.0.0.5", path, &bad).status,
            401,
            "attempt {i}"
        );
    }
    let r = srv.get_from("127.0.0.5", path, &bad);
    assert_eq!(r.status, 429);
    assert!(r
        .header("retry-after")
        .and_then(|s| s.parse::<u64>().ok())
        .is_some_and(|s| s >= 1));
    // Once spent, no token is even checked from that network, so guessing stops.
    assert_eq!(srv.get_from("127.0.0.5", path, &good).status, 429);
    // Other networks and the public route are unaffected.
    assert_eq!(srv.get_from("127.0.0.6", path, &good).status, 200);
    assert_eq!(srv.get_from("127.0.0.6", path, &bad).status, 401);
    assert_eq!(
        srv.get_from("127.0.0.5", "/domain/nic.example", &[]).status,
        200
    );
    assert_eq!(fx.entries().len(), 1);
}

/// Issue #9: SIGTERM does not wait for a reload that hangs (here: the credentials file swapped
/// for a FIFO nobody writes, so reading it never ends).
#[test]
fn sigterm_does_not_wait_for_a_hanging_reload() {
    let fx = Fixture::new();
    fx.issue("Example Police", "criminal-investigation");
    let mut srv = Server::with_config(
        &format!(
            "{}\n[service]\nshutdown_grace_secs = 1\n",
            fx.config(&fx.log)
        ),
        &[],
    );
    std::fs::remove_file(&fx.creds).expect("rm");
    let made = Command::new("mkfifo")
        .arg(&fx.creds)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    srv.signal("HUP");
    assert!(srv.wait_log("SIGHUP: reloading"), "{}", srv.log());
    // Still serving while the reload hangs.
    assert_eq!(srv.get("/domain/nic.example").status, 200);
    srv.signal("TERM");
    let t0 = Instant::now();
    let status = srv.wait_exit(Duration::from_secs(8)).expect("exited");
    assert!(status.success());
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "exit took {:?} with a 1 s grace",
        t0.elapsed()
    );
}

/// Issue #15: the disclosure log's state is in the metrics and beside readiness, and a node
/// whose log refuses entries stays ready for public traffic.
#[test]
fn an_unwritable_disclosure_log_is_reported_but_the_node_stays_ready() {
    let fx = Fixture::new();
    let (_, token) = fx.issue("Example Police", "criminal-investigation");
    let srv = Server::with_config(&fx.config(&fx.log), &[]);
    assert_eq!(srv.metric("rddsd_disclosure_log_writable"), Some(1.0));
    assert_eq!(disclose(&srv, &token), 200);
    assert_eq!(
        srv.metric("rddsd_disclosures_total{result=\"recorded\"}"),
        Some(1.0)
    );
    // Someone replaces the log under the running server.
    let moved = fx.log.with_extension("moved");
    std::fs::rename(&fx.log, &moved).expect("rename");
    std::fs::write(&fx.log, b"").expect("empty log");
    assert_eq!(disclose(&srv, &token), 503);
    assert_eq!(srv.metric("rddsd_disclosure_log_writable"), Some(0.0));
    assert_eq!(
        srv.metric("rddsd_disclosures_total{result=\"failed\"}"),
        Some(1.0)
    );
    let ready = srv.admin_get("/readyz");
    assert_eq!(ready.status, 200, "public answers still work");
    let body = String::from_utf8_lossy(&ready.body).to_string();
    assert!(
        body.contains("disclosure log: refusing disclosures until repaired"),
        "{body}"
    );
    assert_eq!(srv.get("/domain/nic.example").status, 200);
}
