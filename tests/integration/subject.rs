//! The person's own request and a leaked credential (issue #13): real disclosures over real
//! sockets, then `rddsd subject report`, `rddsd audit affected` and `rddsd audit stats` on the
//! log they left, with withheld entries, entries written before the log recorded a
//! jurisdiction or a withholding, and an unknown ROID.

use std::path::{Path, PathBuf};

use serde_json::Value;

use rddsd::authority::log::{DisclosedContact, Disclosure, Entry, GENESIS};

use crate::harness::{fixture_objects, issue_credential, rddsd, Server};

const STATEMENT: &[(&str, &str)] = &[
    ("RDDS-Purpose", "criminal-investigation"),
    ("RDDS-Legal-Basis", "Swiss CrimPC Art. 265"),
    ("RDDS-Case-Reference", "CASE-2026-0042"),
];

/// The legal basis and case reference of the withheld disclosure: they must not reach the
/// person before its date.
const WITHHELD_BASIS: &str = "Sealed Order 9/2026";
const WITHHELD_CASE: &str = "SEALED-CASE-77";

struct Fixture {
    _dir: tempfile::TempDir,
    creds: PathBuf,
    log: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let creds = dir.path().join("credentials.jsonl");
        let log = dir.path().join("disclosures.jsonl");
        Self {
            _dir: dir,
            creds,
            log,
        }
    }

    fn log_str(&self) -> &str {
        self.log.to_str().expect("utf-8")
    }

    fn start(&self) -> Server {
        Server::with_config(
            &format!(
                "[authority]\ncredentials = {:?}\nlog = {:?}\n",
                self.creds.to_str().expect("utf-8"),
                self.log_str()
            ),
            &[],
        )
    }

    fn lines(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .count()
    }

    /// Two entries in the format written before jurisdictions and withholdings were recorded
    /// (neither field present), except that the first was withheld until a date long past.
    /// The server continues this chain.
    fn seed_old_entries(&self) {
        let (mut prev, mut text) = (GENESIS.to_string(), Vec::new());
        for (i, withheld) in [Some("2020-01-01T00:00:00Z"), None].into_iter().enumerate() {
            let (e, line) = Entry {
                seq: i as u64 + 1,
                time: format!("2025-0{}-15T09:30:00Z", i + 1),
                disclosure: Some(Disclosure {
                    request_id: format!("old{i}"),
                    authority: "Archive Unit".into(),
                    credential_id: "0ld0ld0ld0ld0ld0".into(),
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
                    withheld_until: withheld.map(str::to_string),
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
            text.extend_from_slice(&line);
        }
        std::fs::write(&self.log, text).expect("seed log");
    }
}

/// Issue a credential with its own jurisdiction (the harness's helper always says CH).
fn issue_in(creds: &Path, authority: &str, jurisdiction: &str, purposes: &str) -> (String, String) {
    let (ok, out) = rddsd(&[
        "authority",
        "add",
        "--credentials",
        creds.to_str().expect("utf-8"),
        "--authority",
        authority,
        "--jurisdiction",
        jurisdiction,
        "--contact",
        "desk@bka.example",
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
    (token.split('_').nth(1).expect("id").to_string(), token)
}

fn ask(srv: &Server, path: &str, token: &str, extra: &[(&str, &str)]) -> crate::harness::Resp {
    let bearer = format!("Bearer {token}");
    let mut headers: Vec<(&str, &str)> = vec![("Authorization", &bearer)];
    headers.extend_from_slice(extra);
    srv.request("GET", path, &headers)
}

/// A date `days` from now, `YYYY-MM-DD`.
fn days_ahead(days: i64) -> String {
    let t = rddsd::registry::Timestamp::from_unix(
        rddsd::registry::Timestamp::now().unix() + days * 86_400,
    );
    t.text()[..10].to_string()
}

fn json_of(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// Every personal value of every fixture contact (consented or not) and every contact ROID:
/// none may appear in a transparency report.
fn personal_values() -> Vec<String> {
    let mut out = Vec::new();
    for c in fixture_objects("contact") {
        out.push(c["roid"].as_str().expect("roid").to_string());
        for field in ["name", "org", "city", "pc", "email"] {
            out.extend(c[field].as_str().map(str::to_string));
        }
        for line in c["street"].as_array().into_iter().flatten() {
            out.extend(line.as_str().map(str::to_string));
        }
        for phone in ["voice", "fax"] {
            out.extend(c[phone]["number"].as_str().map(str::to_string));
        }
    }
    out
}

#[test]
fn subject_report_affected_and_stats_over_real_disclosures() {
    let fx = Fixture::new();
    fx.seed_old_entries();
    let (police, police_token) = issue_credential(
        &fx.creds,
        "Example Police Cyber Unit",
        "criminal-investigation",
    );
    let (bka, bka_token) = issue_in(
        &fx.creds,
        "Federal Crime Office",
        "DE",
        "urgent-threat-to-life",
    );
    let srv = fx.start();

    // Three real disclosures: one of them withheld from the person for a month.
    let r = ask(
        &srv,
        "/authority/domain/caf%C3%A9.example",
        &police_token,
        STATEMENT,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let until = days_ahead(30);
    let sealed = [
        ("RDDS-Purpose", "criminal-investigation"),
        ("RDDS-Legal-Basis", WITHHELD_BASIS),
        ("RDDS-Case-Reference", WITHHELD_CASE),
        ("RDDS-Withhold-Until", until.as_str()),
    ];
    let r = ask(
        &srv,
        "/authority/entity/C102-EXAMPLE",
        &police_token,
        &sealed,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        String::from_utf8_lossy(&r.body).contains(&format!(
            "will not tell the person concerned about this disclosure before {until}T00:00:00Z"
        )),
        "the authority is told its request was recorded"
    );
    let r = ask(
        &srv,
        "/authority/domain/kite-surfing.example",
        &bka_token,
        &[
            ("RDDS-Purpose", "urgent-threat-to-life"),
            ("RDDS-Legal-Basis", "StPO 100"),
            ("RDDS-Case-Reference", "BKA-1"),
        ],
    );
    assert_eq!(r.status, 200);
    assert_eq!(fx.lines(), 5);

    // A bad withholding request: 400 with an RFC 9083 body, nothing disclosed, nothing logged.
    let too_far = days_ahead(800);
    for bad in ["2020-01-01", "next spring", too_far.as_str(), ""] {
        let mut statement = STATEMENT.to_vec();
        statement.push(("RDDS-Withhold-Until", bad));
        let r = ask(
            &srv,
            "/authority/domain/caf%C3%A9.example",
            &police_token,
            &statement,
        );
        assert_eq!(r.status, 400, "{bad:?}");
        let body = r.json();
        assert_eq!(body["errorCode"], 400, "{bad:?}");
        assert!(
            body["description"]
                .to_string()
                .contains("RDDS-Withhold-Until"),
            "{body}"
        );
        assert!(
            !String::from_utf8_lossy(&r.raw).contains("Aurelie"),
            "{bad:?}"
        );
    }
    let q = "/authority/domain/caf%C3%A9.example?purpose=criminal-investigation&legalBasis=x&caseReference=y&withholdUntil=1999-01-01";
    assert_eq!(
        srv.request(
            "GET",
            q,
            &[("Authorization", &format!("Bearer {police_token}"))]
        )
        .status,
        400
    );
    assert_eq!(fx.lines(), 5, "no entry for a refused withholding");

    // The old entries and the new ones (with their new fields) form one verified chain.
    let (ok, out) = rddsd(&["audit", "verify", fx.log_str()]);
    assert!(ok && out.contains("5 disclosure(s)"), "{out}");
    let cfg = srv.config.to_str().expect("utf-8").to_string();

    // The subject report of C101: the registry's data, its domain, the public view, and every
    // disclosure — the one once withheld until 2020 in full now.
    let (ok, out) = rddsd(&["subject", "report", "c101-example", "--config", &cfg]);
    assert!(ok, "{out}");
    for expected in [
        "Subject access report for contact C101-EXAMPLE",
        "contains the person's personal data",
        "name\tAurelie Vantongeren\tno\twithheld\t(no such role)\twithheld",
        "cc\tCA\tno\tshown",
        "café.example (xn--caf-dma.example)\tregistrant",
        "Example Police Cyber Unit (credential",
        "jurisdiction CH",
        "case reference \"CASE-2026-0042\"",
        "as registrant: name, street, city, pc, voice, email",
        "Archive Unit (credential 0ld0ld0ld0ld0ld0, jurisdiction not recorded)",
        "case reference \"OLD-0\"",
        "was withheld from the person until 2020-01-01T00:00:00Z",
        "DISCLOSURES TO AUTHORITIES (3)",
        "The disclosure log verifies: 5 entries",
    ] {
        assert!(out.contains(expected), "{expected:?} missing in:\n{out}");
    }
    let (ok, out) = rddsd(&[
        "subject",
        "report",
        "C101-EXAMPLE",
        "--config",
        &cfg,
        "--json",
    ]);
    assert!(ok, "{out}");
    let report = json_of(&out);
    assert_eq!(report["roid"], "C101-EXAMPLE");
    assert_eq!(
        report["domains"][0]["roles"],
        serde_json::json!(["registrant"])
    );
    let disclosures = report["disclosures"].as_array().expect("disclosures");
    assert_eq!(
        disclosures
            .iter()
            .map(|d| d["seq"].as_u64().expect("seq"))
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(disclosures.iter().all(|d| d["status"] == "disclosed"));
    assert_eq!(disclosures[2]["credentialId"], police.as_str());
    assert_eq!(disclosures[2]["jurisdiction"], "CH");
    assert_eq!(disclosures[2]["legalBasis"], "Swiss CrimPC Art. 265");
    let email = report["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["field"] == "email")
        .expect("email");
    assert_eq!(
        email["value"][0],
        "aurelie.vantongeren@mailbox-one.example.org"
    );
    assert_eq!(email["public"]["asRegistrant"], "withheld");

    // C102's only disclosure is withheld: the report says so and until when, nothing more.
    let (ok, out) = rddsd(&["subject", "report", "C102-EXAMPLE", "--log", fx.log_str()]);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("withheld until {until}T00:00:00Z")),
        "{out}"
    );
    for detail in [
        WITHHELD_CASE,
        WITHHELD_BASIS,
        "Example Police",
        &police,
        "criminal-investigation",
        "/authority/entity",
    ] {
        assert!(!out.contains(detail), "{detail} before the date:\n{out}");
    }
    let (ok, out) = rddsd(&[
        "subject",
        "report",
        "C102-EXAMPLE",
        "--log",
        fx.log_str(),
        "--json",
    ]);
    assert!(ok, "{out}");
    let d = &json_of(&out)["disclosures"];
    assert_eq!(
        d,
        &serde_json::json!([{"status": "withheld", "seq": 4, "withheldUntil": format!("{until}T00:00:00Z")}])
    );

    // An unknown ROID is said at once, with an exit status.
    let (ok, out) = rddsd(&["subject", "report", "C999-EXAMPLE", "--log", fx.log_str()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("C999-EXAMPLE: no contact with this ROID"),
        "{out}"
    );
    let (ok, out) = rddsd(&["subject", "report", "C101-EXAMPLE"]);
    assert!(!ok && out.contains("no disclosure log"), "{out}");

    // The police credential leaked: exactly the contacts whose non-public data left through
    // it, as the log records them.
    let (ok, out) = rddsd(&[
        "audit",
        "affected",
        fx.log_str(),
        "--credential",
        &police,
        "--json",
    ]);
    assert!(ok, "{out}");
    let listed: Vec<String> = json_of(&out)
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["roid"].as_str().expect("roid").to_string())
        .collect();
    let mut expected: Vec<String> = std::fs::read_to_string(&fx.log)
        .expect("log")
        .lines()
        .map(json_of)
        .filter(|e| e["disclosure"]["credentialId"] == police.as_str())
        .flat_map(|e| {
            e["disclosure"]["disclosed"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|c| c["fields"].as_array().is_some_and(|f| !f.is_empty()))
        .map(|c| c["roid"].as_str().expect("roid").to_string())
        .collect();
    expected.sort();
    expected.dedup();
    assert_eq!(listed, expected);
    assert_eq!(listed, vec!["C101-EXAMPLE", "C102-EXAMPLE", "C201-EXAMPLE"]);
    let (ok, out) = rddsd(&["audit", "affected", fx.log_str(), "--credential", &police]);
    assert!(ok, "{out}");
    assert!(
        out.contains("C101-EXAMPLE\tcity,email,name,pc,street,voice\t1")
            && out.contains("3 contact(s) with non-public data disclosed through credential"),
        "{out}"
    );
    let (ok, out) = rddsd(&[
        "audit",
        "affected",
        fx.log_str(),
        "--credential",
        &bka,
        "--until",
        "2025-12-31",
    ]);
    assert!(ok && out.contains("0 contact(s)"), "{out}");
    let (ok, out) = rddsd(&[
        "audit",
        "affected",
        fx.log_str(),
        "--credential",
        &bka,
        "--since",
        "someday",
    ]);
    assert!(!ok && out.contains("--since"), "{out}");
    // A mistyped credential id is an error, not "0 contacts affected".
    let (ok, out) = rddsd(&[
        "audit",
        "affected",
        fx.log_str(),
        "--credential",
        "no-such-credential",
    ]);
    assert!(!ok && out.contains("no disclosure"), "{out}");
    // The withheld disclosure is marked for the registry, which must respect it when it tells
    // the people concerned.
    let (ok, out) = rddsd(&["audit", "affected", fx.log_str(), "--credential", &police]);
    assert!(
        ok && out.contains(&format!("WITHHELD from the person until {until}T00:00:00Z")),
        "{out}"
    );

    // Transparency counts: right totals per group, no personal value anywhere.
    let (ok, json) = rddsd(&[
        "audit",
        "stats",
        fx.log_str(),
        "--by",
        "jurisdiction,purpose",
        "--credentials",
        fx.creds.to_str().expect("utf-8"),
        "--json",
    ]);
    assert!(ok, "{json}");
    let stats = json_of(&json);
    let rows: Vec<(String, String, u64)> = stats["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["jurisdiction"].as_str().expect("j").to_string(),
                r["purpose"].as_str().expect("p").to_string(),
                r["disclosures"].as_u64().expect("n"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("(not recorded)".into(), "court-order".into(), 2),
            ("CH".into(), "criminal-investigation".into(), 2),
            ("DE".into(), "urgent-threat-to-life".into(), 1),
        ]
    );
    assert_eq!(stats["disclosures"], 5);
    let (ok, table) = rddsd(&[
        "audit",
        "stats",
        fx.log_str(),
        "--by",
        "month,purpose,authority,jurisdiction",
    ]);
    assert!(ok, "{table}");
    assert!(
        table.contains("2025-01\tcourt-order\tArchive Unit\t(not recorded)\t1\t1"),
        "{table}"
    );
    assert!(table.contains("total: 5 disclosure(s)"), "{table}");
    let both = format!("{json}\n{table}").to_lowercase();
    for value in personal_values().into_iter().chain(
        [
            "CASE-2026-0042",
            WITHHELD_CASE,
            WITHHELD_BASIS,
            "OLD-0",
            "BKA-1",
            "Swiss CrimPC",
            &police,
            &bka,
        ]
        .map(String::from),
    ) {
        let v = value.to_lowercase();
        // A short number (a postal code) is looked for as a JSON string or a table cell only:
        // counts and dates hold digits too.
        let short_number = v.len() < 6 && v.bytes().all(|b| b.is_ascii_digit());
        let leaked = if short_number {
            both.contains(&format!("\"{v}\"")) || both.contains(&format!("\t{v}\t"))
        } else {
            both.contains(&v)
        };
        assert!(
            !leaked,
            "{value:?} in the transparency report:\n{json}\n{table}"
        );
    }
    let (ok, out) = rddsd(&["audit", "stats", fx.log_str(), "--by", "month,roid"]);
    assert!(!ok && out.contains("unknown key \"roid\""), "{out}");
}
