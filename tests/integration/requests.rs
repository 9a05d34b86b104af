//! Issue 25, the tracked disclosure-request workflow, over real sockets and the real CLI:
//! intake, the officer's decisions, the requester's status and disclosure, the disclosure
//! log, metrics and the report, against the file store and PostgreSQL.

use std::path::PathBuf;

use crate::harness::{rddsd, Resp, Server};

/// Personal values of the fixtures' requester: none may appear in an intake answer, the
/// server log or the metrics.
const NAME: &str = "Inspector Zelda Quarrington";
const EMAIL: &str = "zelda.quarrington@police.example";
const JUSTIFICATION: &str = "Phishing kit impersonating Quarrington Bank";

fn body(kind: &str, purpose: &str, objects: &[&str], urgent: Option<&str>) -> String {
    let mut v = serde_json::json!({
        "requester": {"kind": kind, "name": NAME, "email": EMAIL, "jurisdiction": "CH",
                      "organization": "Kantonspolizei Example"},
        "purpose": purpose,
        "legalBasis": "StPO Art. 265",
        "caseReference": "K-2026-0017",
        "justification": JUSTIFICATION,
        "objects": objects,
        "fields": ["name", "email"],
    });
    if let Some(u) = urgent {
        v["urgent"] = u.into();
    }
    v.to_string()
}

fn post(srv: &Server, body: &str, headers: &[(&str, &str)]) -> Resp {
    let mut head = format!(
        "POST /requests HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    srv.raw(&bytes)
}

fn get(srv: &Server, path: &str, token: &str) -> Resp {
    let bearer = format!("Bearer {token}");
    srv.request("GET", path, &[("Authorization", &bearer)])
}

struct Fixture {
    _dir: tempfile::TempDir,
    log: PathBuf,
    config: String,
}

impl Fixture {
    /// The file store, with `extra` lines in `[requests]`.
    fn files(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let creds = dir.path().join("credentials.jsonl");
        crate::harness::issue_credential(&creds, "Example Police", "criminal-investigation");
        let log = dir.path().join("disclosures.jsonl");
        let requests = dir.path().join("requests.jsonl");
        let config = format!(
            "[authority]\ncredentials = {:?}\nlog = {:?}\n[requests]\nlog = {:?}\n{extra}\n",
            creds.to_str().expect("utf-8"),
            log.to_str().expect("utf-8"),
            requests.to_str().expect("utf-8"),
        );
        Self {
            _dir: dir,
            log,
            config,
        }
    }

    fn start(&self) -> Server {
        Server::with_config(&self.config, &[])
    }

    /// The disclosure log's entries.
    fn entries(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("entry"))
            .collect()
    }
}

fn cli(srv: &Server, args: &[&str]) -> String {
    let config = srv.config.to_str().expect("utf-8").to_string();
    let mut all = vec![
        "requests",
        args[0],
        "--config",
        &config,
        "--officer",
        "olga",
    ];
    all.extend_from_slice(&args[1..]);
    let (ok, out) = rddsd(&all);
    assert!(ok, "rddsd {all:?}: {out}");
    out
}

fn no_personal_data(what: &str, text: &str) {
    for v in [NAME, EMAIL, JUSTIFICATION, "Quarrington"] {
        assert!(!text.contains(v), "{what} holds {v:?}: {text}");
    }
}

/// Intake → acknowledge → confirm identity → approve (name, email) → two fetches with exactly
/// those fields, one log entry each; the whole path, with `entries` reading the log.
fn approved_path(srv: &Server, entries: &dyn Fn() -> Vec<serde_json::Value>) {
    let r = post(
        srv,
        &body(
            "public-authority",
            "criminal-investigation",
            &["café.example"],
            None,
        ),
        &[],
    );
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    no_personal_data("the intake answer", &String::from_utf8_lossy(&r.raw));
    let filed = r.json();
    let id = filed["id"].as_str().expect("id").to_string();
    let token = filed["accessToken"].as_str().expect("token").to_string();
    assert_eq!(filed["status"], "received");
    assert!(filed["acknowledgeBy"].is_string() && filed["respondBy"].is_string());

    let status = get(srv, &format!("/requests/{id}"), &token);
    assert_eq!(status.status, 200);
    assert_eq!(status.json()["status"], "received");
    assert_eq!(status.header("cache-control"), Some("no-store"));
    assert_eq!(
        get(srv, &format!("/requests/{id}/disclosure"), &token).status,
        409,
        "before a decision"
    );

    // Approval needs the identity confirmed.
    let config = srv.config.to_str().expect("utf-8").to_string();
    let (ok, out) = rddsd(&[
        "requests",
        "approve",
        "--config",
        &config,
        "--officer",
        "olga",
        &id,
        "--fields",
        "name,email",
        "--valid-until",
        "2099-01-01",
        "--rationale",
        "Proportionate.",
    ]);
    assert!(!ok && out.contains("identity"), "{out}");
    cli(srv, &["acknowledge", &id]);
    cli(
        srv,
        &[
            "confirm-identity",
            &id,
            "--method",
            "call-back to the switchboard",
        ],
    );
    // The CLI's change is seen by the route at once, without a reload.
    assert_eq!(
        get(srv, &format!("/requests/{id}"), &token).json()["status"],
        "identity-confirmed"
    );
    cli(
        srv,
        &[
            "approve",
            &id,
            "--fields",
            "name,email",
            "--valid-until",
            "2099-01-01",
            "--rationale",
            "Proportionate to the phishing case.",
        ],
    );
    let status = get(srv, &format!("/requests/{id}"), &token).json();
    assert_eq!(status["status"], "approved");
    assert_eq!(status["rationale"], "Proportionate to the phishing case.");

    let before = entries().len();
    for n in 1..=2 {
        let d = get(srv, &format!("/requests/{id}/disclosure"), &token);
        assert_eq!(d.status, 200, "{}", String::from_utf8_lossy(&d.body));
        assert_eq!(d.header("cache-control"), Some("no-store"));
        assert_eq!(d.header("access-control-allow-origin"), None, "no CORS");
        let text = String::from_utf8_lossy(&d.body).to_string();
        assert!(text.contains("Aurelie Vantongeren"), "name disclosed");
        assert!(
            text.contains("aurelie.vantongeren@mailbox-one.example.org"),
            "email disclosed"
        );
        assert!(
            !text.contains("4471 Rue des Canaris"),
            "street not approved"
        );
        assert!(!text.contains("4185550142"), "phone not approved");
        let e = entries();
        assert_eq!(e.len(), before + n, "one log entry per fetch");
        let last = &e[e.len() - 1]["disclosure"];
        assert_eq!(last["workflow"]["request"], id.as_str());
        assert_eq!(last["workflow"]["officer"], "olga");
        assert_eq!(
            last["workflow"]["rationale"],
            "Proportionate to the phishing case."
        );
        assert_eq!(last["credentialKind"], "request");
        let fields = last["disclosed"][0]["fields"].to_string();
        assert!(fields.contains("name") && fields.contains("email") && !fields.contains("street"));
    }
}

/// A denial shows its rationale and discloses nothing.
fn denied_path(srv: &Server, entries: &dyn Fn() -> Vec<serde_json::Value>) {
    let r = post(
        srv,
        &body(
            "third-party",
            "consumer-protection",
            &["café.example"],
            None,
        ),
        &[],
    );
    assert_eq!(r.status, 202);
    let filed = r.json();
    let (id, token) = (
        filed["id"].as_str().expect("id").to_string(),
        filed["accessToken"].as_str().expect("token").to_string(),
    );
    cli(
        srv,
        &[
            "deny",
            &id,
            "--reason",
            "insufficient-basis",
            "--rationale",
            "No legal basis stated.",
        ],
    );
    let s = get(srv, &format!("/requests/{id}"), &token).json();
    assert_eq!(s["status"], "denied");
    assert_eq!(s["reason"], "insufficient-basis");
    assert_eq!(s["rationale"], "No legal basis stated.");
    let before = entries().len();
    let d = get(srv, &format!("/requests/{id}/disclosure"), &token);
    assert_eq!(d.status, 403);
    assert!(!String::from_utf8_lossy(&d.body).contains("Aurelie"));
    assert_eq!(entries().len(), before, "nothing disclosed, nothing logged");
}

/// A data subject's request for a ROID that matches nothing: the intake answer is the same
/// as for one that exists; confirmed, it is answered at once.
fn subject_path(srv: &Server) {
    let shape = |r: &Resp| {
        let v = r.json();
        let mut keys: Vec<String> = v.as_object().expect("obj").keys().cloned().collect();
        keys.sort();
        (r.status, keys, v["status"].clone())
    };
    let existing = post(
        srv,
        &body("data-subject", "access", &["C101-EXAMPLE"], None),
        &[],
    );
    let missing = post(
        srv,
        &body("data-subject", "access", &["NOSUCH99-EXAMPLE"], None),
        &[],
    );
    assert_eq!(shape(&existing), shape(&missing), "intake is no oracle");
    let filed = missing.json();
    let (id, token) = (
        filed["id"].as_str().expect("id").to_string(),
        filed["accessToken"].as_str().expect("token").to_string(),
    );
    assert_eq!(
        get(srv, &format!("/requests/{id}"), &token).json()["status"],
        "received"
    );
    cli(
        srv,
        &[
            "confirm-identity",
            &id,
            "--method",
            "passport copy",
            "--roid",
            "NOSUCH99-EXAMPLE",
        ],
    );
    let s = get(srv, &format!("/requests/{id}"), &token).json();
    assert_eq!(s["status"], "answered");
    assert_eq!(s["answer"], "no such data is held");
}

/// Bad bodies, an oversize body, a wrong token: their errors, and no personal value back.
fn refusals(srv: &Server) {
    let mut bad: serde_json::Value = serde_json::from_str(&body(
        "public-authority",
        "criminal-investigation",
        &["café.example"],
        None,
    ))
    .expect("json");
    bad["requester"]["email"] = format!("{NAME} not an address").into();
    let r = post(srv, &bad.to_string(), &[]);
    assert_eq!(r.status, 400);
    let text = String::from_utf8_lossy(&r.raw).to_string();
    assert!(text.contains("requester.email"), "{text}");
    no_personal_data("a 400", &text);
    assert_eq!(r.json()["errorCode"], 400);
    let r = post(srv, "{not json", &[]);
    assert_eq!(r.status, 400);
    let big = format!("{{\"justification\":\"{}\"}}", "x".repeat(70 * 1024));
    assert_eq!(post(srv, &big, &[]).status, 413);
    // A wrong token, an unknown id and a malformed id: one answer.
    let filed = post(
        srv,
        &body("public-authority", "court-order", &["café.example"], None),
        &[],
    )
    .json();
    let id = filed["id"].as_str().expect("id");
    let wrong = get(srv, &format!("/requests/{id}"), "rqt_00");
    let unknown = get(srv, "/requests/rq-000000000000000000000000", "rqt_00");
    let malformed = get(srv, "/requests/..%2F..%2Fetc", "rqt_00");
    for r in [&wrong, &unknown, &malformed] {
        assert_eq!((r.status, &r.body), (wrong.status, &wrong.body));
    }
    assert_eq!(wrong.status, 404);
}

#[test]
fn the_workflow_over_the_file_store() {
    let fx = Fixture::files("intake_per_minute = 60\nintake_burst = 50\n");
    let srv = fx.start();
    let entries = || fx.entries();
    approved_path(&srv, &entries);
    denied_path(&srv, &entries);
    subject_path(&srv);
    refusals(&srv);
    // The report counts all of it, with no personal data.
    let report = cli(&srv, &["report", "--json"]);
    no_personal_data("the report", &report);
    let v: serde_json::Value = serde_json::from_str(&report).expect("json");
    let m = &v["months"][0];
    assert_eq!(m["received"], 5);
    assert_eq!(m["approved"], 1);
    assert_eq!(m["denied"]["insufficient-basis"], 1);
    assert_eq!(m["answered"], 1);
    let list = cli(&srv, &["list"]);
    no_personal_data("the list", &list);
    // No personal value in the server log or the metrics.
    no_personal_data("the server log", &srv.log());
    no_personal_data(
        "the metrics",
        &String::from_utf8_lossy(&srv.admin_get("/metrics").body),
    );
}

#[test]
fn an_exhausted_intake_budget_is_refused_and_leaves_no_trace() {
    let fx = Fixture::files("intake_per_minute = 1\nintake_burst = 2\n");
    let srv = fx.start();
    let b = body("public-authority", "court-order", &["café.example"], None);
    assert_eq!(post(&srv, &b, &[]).status, 202);
    assert_eq!(post(&srv, &b, &[]).status, 202);
    let r = post(&srv, &b, &[]);
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    no_personal_data("a 429", &String::from_utf8_lossy(&r.raw));
    let report = cli(&srv, &["report", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&report).expect("json");
    assert_eq!(
        v["months"][0]["received"], 2,
        "the refused one is not filed"
    );
    no_personal_data("the server log", &srv.log());
}

#[test]
fn an_urgent_request_left_open_shows_as_overdue() {
    let fx = Fixture::files("urgent = \"2s\"\n");
    let srv = fx.start();
    let r = post(
        &srv,
        &body(
            "public-authority",
            "urgent-threat-to-life",
            &["café.example"],
            Some("threat-to-life"),
        ),
        &[],
    );
    assert_eq!(r.status, 202);
    srv.wait_metric(
        "rddsd_requests_open{state=\"received\",urgent=\"true\"}",
        1.0,
    );
    srv.wait_metric("rddsd_requests_decision_overdue", 1.0);
    srv.wait_metric("rddsd_requests_acknowledge_overdue", 1.0);
    assert!(srv
        .metric("rddsd_requests_oldest_urgent_open_seconds")
        .is_some_and(|s| s >= 2.0));
    let list = cli(&srv, &["list", "--overdue", "--urgent"]);
    assert!(list.contains("OVERDUE"), "{list}");
    no_personal_data(
        "the metrics",
        &String::from_utf8_lossy(&srv.admin_get("/metrics").body),
    );
}

#[test]
fn without_requests_the_paths_answer_as_before() {
    let srv = Server::start(&[]);
    assert_eq!(srv.get("/requests").status, 404);
    let r = post(&srv, "{}", &[]);
    assert_eq!(r.status, 405);
}

#[test]
fn the_workflow_over_postgresql() {
    let Some((db, _dir, config)) = pg_setup("requests_the_workflow_over_postgresql") else {
        return;
    };
    let srv = Server::with_config(&config, &[]);
    let url = db.url.clone();
    let entries = move || -> Vec<serde_json::Value> {
        crate::pgdb::sql_on(&url, "SELECT line FROM disclosure_log ORDER BY seq")
            .expect("sql")
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .map(|l| serde_json::from_str(&l).expect("entry"))
            .filter(|e: &serde_json::Value| e.get("disclosure").is_some())
            .collect()
    };
    approved_path(&srv, &entries);
    denied_path(&srv, &entries);
    refusals(&srv);
    // A second node sees the same record; the chain does not fork.
    let second = Server::with_config(&config, &[]);
    let report = cli(&second, &["report", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&report).expect("json");
    assert_eq!(v["months"][0]["approved"], 1);
    assert_eq!(v["months"][0]["received"], 3);
    let n = db.value("SELECT count(*) FROM request_log").expect("count");
    let head = db
        .value("SELECT next_seq - 1 FROM request_log_head")
        .expect("head");
    assert_eq!(n, head, "one chain");
    no_personal_data("the server log", &srv.log());
}

/// RFC 3339 UTC, `secs` from now.
fn utc_in(secs: i64) -> String {
    rddsd::registry::Timestamp::from_datetime(
        time::OffsetDateTime::now_utc() + time::Duration::seconds(secs),
    )
    .text()
    .to_string()
}

/// `rddsd requests …` expected to fail: its output.
fn cli_fails(srv: &Server, args: &[&str]) -> String {
    let config = srv.config.to_str().expect("utf-8").to_string();
    let mut all = vec![
        "requests",
        args[0],
        "--config",
        &config,
        "--officer",
        "olga",
    ];
    all.extend_from_slice(&args[1..]);
    let (ok, out) = rddsd(&all);
    assert!(!ok, "rddsd {all:?} succeeded: {out}");
    out
}

/// File a request: its id and token.
fn file(srv: &Server, kind: &str, purpose: &str) -> (String, String) {
    let r = post(srv, &body(kind, purpose, &["café.example"], None), &[]);
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    (
        v["id"].as_str().expect("id").to_string(),
        v["accessToken"].as_str().expect("token").to_string(),
    )
}

/// How a test reaches the details kept beside the chain, and breaks things.
struct Beside<'a> {
    /// Whether a request's details are kept.
    kept: &'a dyn Fn(&str) -> bool,
    /// Alter a request's kept details.
    alter: &'a dyn Fn(&str),
    /// Put them back.
    restore: &'a dyn Fn(&str),
}

/// Erase, prune and verify: the chain verifies throughout, the details go, `show` says so,
/// the route sees the pruned record at once, and a tampered detail is caught.
fn retention_path(srv: &Server, beside: &Beside<'_>) {
    let deny = |id: &str| {
        cli(
            srv,
            &[
                "deny",
                id,
                "--reason",
                "other",
                "--rationale",
                "Out of scope.",
            ],
        );
    };
    let (a, a_token) = file(srv, "third-party", "consumer-protection");
    deny(&a);
    let (b, b_token) = file(srv, "public-authority", "court-order");
    let (c, _) = file(srv, "third-party", "consumer-protection");
    deny(&c);
    let (e, _) = file(srv, "third-party", "consumer-protection");
    assert!((beside.kept)(&e));
    // Erasure: recorded in the chain without personal data, the details gone.
    let out = cli(
        srv,
        &["erase", &e, "--reason", "The requester asked for erasure."],
    );
    assert!(out.contains(&format!("{e}: erased")), "{out}");
    no_personal_data("erase", &out);
    assert!(!(beside.kept)(&e));
    let shown = cli(srv, &["show", &e]);
    assert!(
        shown.contains("details erased at") && shown.contains("The requester asked for erasure."),
        "{shown}"
    );
    no_personal_data("show after the erasure", &shown);
    // Again: said, nothing appended (it finishes a removal that failed after the entry).
    assert!(cli(srv, &["erase", &e, "--reason", "again"]).contains("already erased"));
    let ok = cli(srv, &["verify"]);
    assert!(ok.starts_with("ok: ") && ok.contains("1 erased"), "{ok}");
    assert_eq!(ok.lines().count(), 1, "{ok}");
    // Prune before now: a goes from the chain; c (closed after b was filed) only loses its
    // details; b (open) and e (open, erased) stay whole.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(cli_fails(srv, &["prune", "--before", &utc_in(3600)]).contains("future"));
    let out = cli(srv, &["prune", "--before", &utc_in(0)]);
    assert!(
        out.contains("pruned 3 entries of 1 requests") && out.contains("details of 2 requests"),
        "{out}"
    );
    assert!(!(beside.kept)(&a) && !(beside.kept)(&c) && (beside.kept)(&b));
    let ok = cli(srv, &["verify"]);
    assert!(
        ok.starts_with("ok: ") && ok.contains("pruned through seq 3"),
        "{ok}"
    );
    assert!(cli_fails(srv, &["show", &a]).contains("no request"));
    assert!(cli(srv, &["show", &c]).contains("details removed by retention"));
    assert!(cli(srv, &["show", &b]).contains(NAME));
    // The route sees the pruned record at once; the kept requests still work.
    assert_eq!(get(srv, &format!("/requests/{a}"), &a_token).status, 404);
    assert_eq!(
        get(srv, &format!("/requests/{b}"), &b_token).json()["status"],
        "received"
    );
    cli(srv, &["acknowledge", &b]);
    // A second prune: b still blocks the chain behind it.
    let out = cli(srv, &["prune", "--before", &utc_in(0)]);
    assert!(out.contains("no entries pruned"), "{out}");
    // Altered details are caught, exit 1.
    (beside.alter)(&b);
    let broken = cli_fails(srv, &["verify"]);
    assert!(
        broken.contains("BROKEN") && broken.contains("do not match their hash"),
        "{broken}"
    );
    (beside.restore)(&b);
    assert!(cli(srv, &["verify"]).starts_with("ok: "));
}

fn details_file(fx: &Fixture, id: &str) -> PathBuf {
    let mut p = fx.log.clone();
    p.set_file_name(format!("requests.jsonl.details/{id}.json"));
    p
}

#[test]
fn erase_prune_and_verify_over_the_file_store() {
    let fx = Fixture::files("intake_per_minute = 60\nintake_burst = 50\n");
    let srv = fx.start();
    let saved = std::cell::RefCell::new(Vec::new());
    let beside = Beside {
        kept: &|id| details_file(&fx, id).exists(),
        alter: &|id| {
            let p = details_file(&fx, id);
            let text = std::fs::read(&p).expect("details");
            saved.replace(text.clone());
            let altered = String::from_utf8(text)
                .expect("utf-8")
                .replace("Zelda", "Zorro");
            std::fs::write(&p, altered).expect("write");
        },
        restore: &|id| std::fs::write(details_file(&fx, id), saved.borrow().as_slice()).expect("w"),
    };
    retention_path(&srv, &beside);
    // A chain edited by hand: BROKEN, exit 1.
    let mut requests = fx.log.clone();
    requests.set_file_name("requests.jsonl");
    let text = std::fs::read_to_string(&requests).expect("record");
    std::fs::write(&requests, text.replacen("\"olga\"", "\"oleg\"", 1)).expect("write");
    let broken = cli_fails(&srv, &["verify"]);
    assert!(broken.contains("BROKEN"), "{broken}");
    no_personal_data("the server log", &srv.log());
}

/// A PostgreSQL database migrated, the demo data imported, and a config serving from it.
fn pg_setup(name: &str) -> Option<(crate::pgdb::TestDb, tempfile::TempDir, String)> {
    let db = crate::postgres::imported(name)?;
    let dir = tempfile::tempdir().expect("tmp");
    let creds = dir.path().join("credentials.jsonl");
    crate::harness::issue_credential(&creds, "Example Police", "criminal-investigation");
    let config = format!(
        "[data]\nbackend = \"postgres\"\ndatabase_url = {:?}\n[authority]\ncredentials = {:?}\nlog_database = true\n[requests]\nlog_database = true\nintake_per_minute = 60\nintake_burst = 50\n",
        db.url,
        creds.to_str().expect("utf-8"),
    );
    Some((db, dir, config))
}

#[test]
fn erase_prune_and_verify_over_postgresql() {
    let Some((db, _dir, config)) = pg_setup("requests_erase_prune_and_verify") else {
        return;
    };
    let srv = Server::with_config(&config, &[]);
    let kept = |id: &str| {
        db.value(&format!(
            "SELECT count(*) FROM request_details WHERE request = '{id}'"
        ))
        .as_deref()
            == Some("1")
    };
    let beside = Beside {
        kept: &kept,
        alter: &|id| {
            db.sql(&format!(
                "UPDATE request_details SET body = replace(body, 'Zelda', 'Zorro') WHERE request = '{id}'"
            ))
            .expect("alter");
        },
        restore: &|id| {
            db.sql(&format!(
                "UPDATE request_details SET body = replace(body, 'Zorro', 'Zelda') WHERE request = '{id}'"
            ))
            .expect("restore");
        },
    };
    retention_path(&srv, &beside);
    // The head row still guards the chain's end after a prune.
    let n = db.value("SELECT max(seq) FROM request_log").expect("max");
    let head = db
        .value("SELECT next_seq - 1 FROM request_log_head")
        .expect("head");
    assert_eq!(n, head);
    db.sql("UPDATE request_log SET line = replace(line, '\"olga\"', '\"oleg\"') WHERE seq = (SELECT max(seq) FROM request_log)")
        .expect("tamper");
    assert!(cli_fails(&srv, &["verify"]).contains("BROKEN"));
    no_personal_data("the server log", &srv.log());
}

#[test]
fn a_request_store_on_an_unmigrated_database_sends_the_operator_to_migrate() {
    let Some(db) = crate::pgdb::TestDb::fresh("requests_unmigrated") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("rddsd.toml");
    std::fs::write(
        &config,
        format!(
            "[data]\nbackend = \"postgres\"\ndatabase_url = {:?}\n[authority]\ncredentials = \"/nonexistent\"\nlog_database = true\n[requests]\nlog_database = true\n",
            db.url
        ),
    )
    .expect("config");
    let (ok, out) = rddsd(&[
        "requests",
        "list",
        "--config",
        config.to_str().expect("utf-8"),
    ]);
    assert!(!ok, "{out}");
    assert!(out.contains("run `rddsd db migrate`"), "{out}");
}

#[test]
fn a_data_subject_is_matched_against_the_data_in_postgresql() {
    let Some((_db, _dir, config)) = pg_setup("requests_data_subject_in_postgresql") else {
        return;
    };
    let srv = Server::with_config(&config, &[]);
    let subject = |email: &str| {
        let b = body("data-subject", "access", &["C101-EXAMPLE"], None).replace(EMAIL, email);
        let r = post(&srv, &b, &[]);
        assert_eq!(r.status, 202);
        let v = r.json();
        (
            v["id"].as_str().expect("id").to_string(),
            v["accessToken"].as_str().expect("token").to_string(),
        )
    };
    // An e-mail address that matches nothing, and no ROID accepted: answered at once.
    let (none, none_token) = subject("nobody@nowhere.example");
    cli(
        &srv,
        &["confirm-identity", &none, "--method", "passport copy"],
    );
    let s = get(&srv, &format!("/requests/{none}"), &none_token).json();
    assert_eq!(s["status"], "answered");
    assert_eq!(s["answer"], "no such data is held");
    // The address of C101 in other case: matched, so it waits for the officer's answer.
    let (some, some_token) = subject("Aurelie.Vantongeren@MAILBOX-ONE.example.org");
    cli(
        &srv,
        &["confirm-identity", &some, "--method", "passport copy"],
    );
    assert_eq!(
        get(&srv, &format!("/requests/{some}"), &some_token).json()["status"],
        "identity-confirmed"
    );
    // The answer is the subject report, from the database.
    let out = cli(&srv, &["answer", &some, "--roid", "C101-EXAMPLE"]);
    assert!(
        out.contains("Subject access report for contact C101-EXAMPLE")
            && out.contains("Aurelie Vantongeren"),
        "{out}"
    );
    assert_eq!(
        get(&srv, &format!("/requests/{some}"), &some_token).json()["status"],
        "answered"
    );
}

#[test]
fn an_approved_disclosure_expires_at_its_valid_until() {
    let fx = Fixture::files("");
    let srv = fx.start();
    let (id, token) = file(&srv, "public-authority", "criminal-investigation");
    cli(&srv, &["confirm-identity", &id, "--method", "call-back"]);
    let until = utc_in(4);
    cli(
        &srv,
        &[
            "approve",
            &id,
            "--fields",
            "name",
            "--valid-until",
            &until,
            "--rationale",
            "Phishing case.",
        ],
    );
    let d = get(&srv, &format!("/requests/{id}/disclosure"), &token);
    assert_eq!(d.status, 200, "{}", String::from_utf8_lossy(&d.body));
    assert_eq!(
        get(&srv, &format!("/requests/{id}"), &token).json()["validUntil"],
        until.as_str()
    );
    std::thread::sleep(std::time::Duration::from_secs(5));
    assert_eq!(
        get(&srv, &format!("/requests/{id}/disclosure"), &token).status,
        410
    );
    assert_eq!(
        get(&srv, &format!("/requests/{id}"), &token).json()["status"],
        "expired"
    );
    assert!(cli(&srv, &["list", "--state", "expired"]).contains(&id));
}

#[test]
fn migration_0005_keeps_a_record_the_store_made_before_it() {
    let Some((db, _dir, config)) = pg_setup("requests_migration_keeps_a_record") else {
        return;
    };
    let srv = Server::with_config(&config, &[]);
    let (id, _) = file(&srv, "public-authority", "court-order");
    // A database whose tables the store created on first use, before the migration existed.
    db.sql("DELETE FROM schema_migrations WHERE version = 5")
        .expect("forget");
    let (ok, out) = rddsd(&["db", "migrate", "--database", &db.url]);
    assert!(ok, "{out}");
    assert_eq!(out, "applied 0005_requests\nschema at version 5\n");
    let verdict = cli(&srv, &["verify"]);
    assert!(
        verdict.starts_with("ok: ") && verdict.contains("1 requests (1 open)"),
        "{verdict}"
    );
    assert!(cli(&srv, &["list"]).contains(&id));
}
