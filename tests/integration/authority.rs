//! Authority disclosure end to end: credentials issued with the real CLI, requests over real
//! sockets, the disclosure log checked with `rddsd audit`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{bin, Server};

struct Fixture {
    dir: tempfile::TempDir,
    creds: PathBuf,
    log: PathBuf,
}

fn rddsd(args: &[&str]) -> (bool, String) {
    let out = Command::new(bin()).args(args).output().expect("run rddsd");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
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
        let (ok, out) = rddsd(&[
            "authority",
            "add",
            "--credentials",
            self.creds.to_str().expect("utf-8"),
            "--authority",
            authority,
            "--jurisdiction",
            "CH",
            "--contact",
            "desk@police.example",
            "--purposes",
            purposes,
            "--expires",
            "2099-01-01",
        ]);
        assert!(ok, "{out}");
        let token = out
            .lines()
            .find_map(|l| l.strip_prefix("secret (shown once, store it safely): "))
            .expect("token")
            .to_string();
        let id = token.split('_').nth(1).expect("id").to_string();
        (id, token)
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

    fn entries(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("log line is JSON"))
            .collect()
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
    assert!(srv.log().contains("torn entry"), "{}", srv.log());
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

    // Prune everything before the far future: a checkpoint stays and the log verifies.
    let (ok, out) = rddsd(&["audit", "prune", log, "--before", "2999-01-01"]);
    assert!(ok && out.contains("pruned 3 entries"), "{out}");
    let (ok, out) = rddsd(&["audit", "verify", log]);
    assert!(ok && out.contains("ok: 0 disclosure(s)"), "{out}");
    // The running server continues the pruned chain.
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
    let (ok, out) = rddsd(&["audit", "verify", log]);
    assert!(ok && out.contains("ok: 1 disclosure(s)"), "{out}");
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
