//! Transparency (issue #14) end to end: keys from the real CLI, receipts fetched over real
//! sockets and verified offline, a witness served on loopback (also over https), a rewritten
//! history caught against an older checkpoint, forged checkpoints refused, and prune then
//! verify.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use rddsd::authority::log::{DisclosedContact, Disclosure, Entry, GENESIS};
use rddsd::authority::transparency::{note, receipt, tree, TlogSettings};

use crate::harness::{rddsd, Server};
use crate::tls_front::{self, TlsFront};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

struct Fx {
    dir: tempfile::TempDir,
    creds: PathBuf,
    log: PathBuf,
    key: PathBuf,
    public: PathBuf,
}

impl Fx {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let key = dir.path().join("tlog.key");
        let (ok, out) = rddsd(&[
            "audit",
            "keygen",
            "--key",
            s(&key),
            "--origin",
            "rdap.nic.example/disclosures",
        ]);
        assert!(ok, "{out}");
        assert!(out.contains("public key (publish it): rdap.nic.example/disclosures+"));
        Self {
            creds: dir.path().join("credentials.jsonl"),
            log: dir.path().join("disclosures.jsonl"),
            public: dir.path().join("tlog.key.pub"),
            key,
            dir,
        }
    }

    fn issue(&self, authority: &str) -> (String, String) {
        crate::harness::issue_credential(&self.creds, authority, "criminal-investigation")
    }

    fn config(&self, extra: &str) -> String {
        format!(
            "[authority]\ncredentials = {:?}\nlog = {:?}\nsigning_key = {:?}\n{extra}\n",
            s(&self.creds),
            s(&self.log),
            s(&self.key)
        )
    }

    fn keys(&self) -> Vec<signed_note::StandardVerifier> {
        note::load_verifiers(&self.public).expect("public keys")
    }

    fn settings(&self, every: u64) -> TlogSettings {
        TlogSettings {
            key: self.key.clone(),
            checkpoint_every: every,
            checkpoint_interval: Duration::from_secs(3600),
            witnesses: Vec::new(),
            auditors: Vec::new(),
        }
    }
}

fn disclose(srv: &Server, token: &str, case: &str) -> crate::harness::Resp {
    let bearer = format!("Bearer {token}");
    srv.request(
        "GET",
        "/authority/domain/kite-surfing.example",
        &[
            ("Authorization", &bearer),
            ("RDDS-Purpose", "criminal-investigation"),
            ("RDDS-Legal-Basis", "Swiss CrimPC Art. 265"),
            ("RDDS-Case-Reference", case),
        ],
    )
}

fn receipt_of(srv: &Server, token: Option<&str>, index: &str) -> crate::harness::Resp {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| vec![("Authorization", b)])
        .unwrap_or_default();
    srv.request("GET", &format!("/authority/receipt/{index}"), &headers)
}

#[test]
fn receipts_fetched_over_sockets_verify_offline_and_only_for_their_credential() {
    let fx = Fx::new();
    let (_a, token_a) = fx.issue("Police A");
    let (_b, token_b) = fx.issue("Police B");
    let (auditor, token_c) = fx.issue("Data Protection Authority");
    // Two entries per checkpoint; the interval is long, so the first entry stays uncovered
    // until the second arrives (deterministic).
    let srv = Server::with_config(
        &fx.config(&format!(
            "checkpoint_every = 2\ncheckpoint_interval_secs = 3600\nauditors = [{auditor:?}]"
        )),
        &[],
    );
    let r = disclose(&srv, &token_a, "A-1");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("rdds-log-index"), Some("0"));
    let leaf = r
        .header("rdds-log-leaf-hash")
        .expect("leaf header")
        .to_string();

    // Not yet covered: 202, with when it will be.
    let p = receipt_of(&srv, Some(&token_a), "0");
    assert_eq!(p.status, 202, "{}", String::from_utf8_lossy(&p.body));
    let retry: u64 = p
        .header("retry-after")
        .expect("retry-after")
        .parse()
        .expect("seconds");
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_eq!(p.json()["status"], "pending");
    assert!(p.json()["checkpointDue"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    // Another authority's credential may not see it, covered or not; no token is a 401.
    assert_eq!(receipt_of(&srv, Some(&token_b), "0").status, 403);
    assert_eq!(receipt_of(&srv, None, "0").status, 401);

    let r = disclose(&srv, &token_b, "B-1");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("rdds-log-index"), Some("1"));
    assert!(srv.wait_log("checkpoint published"), "{}", srv.log());

    let got = receipt_of(&srv, Some(&token_a), "0");
    assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.body));
    assert_eq!(got.header("cache-control"), Some("no-store"));
    let json = got.json();
    assert_eq!(json["leafHash"], leaf.as_str());
    assert_eq!(json["treeSize"], 2);
    // Offline, with the public key only: the library and the CLI.
    let v = receipt::verify(&got.body, &fx.keys()).expect("receipt verifies");
    assert_eq!(
        v.entry
            .disclosure
            .as_ref()
            .map(|d| d.case_reference.as_str()),
        Some("A-1")
    );
    // Exactly what was recorded: the entry is the log's first line, byte for byte.
    let first_line = std::fs::read_to_string(&fx.log)
        .expect("log")
        .lines()
        .next()
        .expect("line")
        .to_string();
    assert_eq!(json["entry"], first_line.as_str());
    let file = fx.dir.path().join("receipt-0.json");
    std::fs::write(&file, &got.body).expect("write");
    let (ok, out) = rddsd(&["audit", "verify-receipt", s(&file), "--key", s(&fx.public)]);
    assert!(ok && out.contains("ok: entry seq 1"), "{out}");
    // An altered receipt is refused.
    let forged = String::from_utf8_lossy(&got.body).replace("A-1", "A-9");
    std::fs::write(&file, forged).expect("write");
    let (ok, out) = rddsd(&["audit", "verify-receipt", s(&file), "--key", s(&fx.public)]);
    assert!(!ok && out.contains("leaf hash"), "{out}");

    // The auditor may fetch any receipt; B its own; errors are clear.
    assert_eq!(receipt_of(&srv, Some(&token_c), "1").status, 200);
    assert_eq!(receipt_of(&srv, Some(&token_b), "1").status, 200);
    assert_eq!(receipt_of(&srv, Some(&token_a), "1").status, 403);
    assert_eq!(receipt_of(&srv, Some(&token_a), "2").status, 404);
    let bad = receipt_of(&srv, Some(&token_a), "x1");
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["errorCode"], 400);

    // The admin listener publishes the public key and the latest checkpoint.
    let public = std::fs::read_to_string(&fx.public).expect("pub");
    let k = srv.admin_get("/transparency/public-key");
    assert_eq!(k.status, 200);
    assert_eq!(
        String::from_utf8_lossy(&k.body).trim(),
        public.lines().next().expect("key")
    );
    let cp = srv.admin_get("/transparency/checkpoint");
    assert_eq!(cp.status, 200);
    let body = note::open_checkpoint(&cp.body, &fx.keys()).expect("opens");
    assert_eq!(body.size, 2);
    assert_eq!(
        cp.body,
        std::fs::read(rddsd::authority::transparency::latest_path(&fx.log))
            .expect("LOG.checkpoint")
    );
    // And audit verify checks the tree and the stored checkpoint with the key.
    let (ok, out) = rddsd(&["audit", "verify", s(&fx.log), "--key", s(&fx.public)]);
    assert!(ok && out.contains("signatures verified"), "{out}");
}

#[test]
fn the_interval_covers_an_entry_without_further_traffic() {
    let fx = Fx::new();
    let (_a, token) = fx.issue("Police A");
    let srv = Server::with_config(
        &fx.config("checkpoint_every = 1000\ncheckpoint_interval_secs = 1"),
        &[],
    );
    assert_eq!(disclose(&srv, &token, "A-1").status, 200);
    assert!(srv.wait_log("checkpoint published"), "{}", srv.log());
    assert_eq!(receipt_of(&srv, Some(&token), "0").status, 200);
}

/// A minimal C2SP tlog-witness on loopback: it checks the checkpoint's signature and the
/// consistency proof from the size it last cosigned, then cosigns.
fn spawn_witness(
    log_keys: Vec<signed_note::StandardVerifier>,
) -> (String, String, mpsc::Receiver<u64>) {
    let (wsk, wvk) = note::generate_witness("witness.example").expect("witness key");
    let cosigner = note::Cosigner::parse(&wsk).expect("cosigner");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/w", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut state: Option<(u64, tree::Hash)> = None;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut head = String::new();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).expect("body");
            let body = String::from_utf8(body).expect("utf-8");
            assert!(head.starts_with("POST /w/add-checkpoint "), "{head}");
            let (proof_part, note_text) = body.split_once("\n\n").expect("blank line");
            let mut lines = proof_part.lines();
            let old: u64 = lines
                .next()
                .and_then(|l| l.strip_prefix("old "))
                .and_then(|n| n.parse().ok())
                .expect("old line");
            let proof: Vec<tree::Hash> = lines
                .map(|l| tree::Hash::parse_hash(l).expect("proof hash"))
                .collect();
            let cp = note::open_checkpoint(note_text.as_bytes(), &log_keys).expect("signed");
            let (status, answer) = match state {
                Some((size, _)) if size != old => ("409 Conflict", format!("{size}\n")),
                _ => {
                    if let Some((size, root)) = state {
                        tree::check_consistency(&proof, size, root, cp.size, cp.root)
                            .expect("consistent");
                    }
                    state = Some((cp.size, cp.root));
                    let text = note::checkpoint_text(&cp.origin, cp.size, &cp.root);
                    let _ = tx.send(cp.size);
                    ("200 OK", cosigner.cosign(&text, 1_700_000_000))
                }
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, wvk, rx)
}

#[test]
fn checkpoints_go_to_witnesses_and_their_cosignatures_are_stored() {
    let fx = Fx::new();
    let (_a, token) = fx.issue("Police A");
    let (url, wvk, cosigned) = spawn_witness(fx.keys());
    let drop_dir = fx.dir.path().join("drop");
    std::fs::create_dir(&drop_dir).expect("mkdir");
    let srv = Server::with_config(
        &fx.config(&format!(
            "checkpoint_every = 1\nwitnesses = [{{ url = {url:?}, key = {wvk:?} }}, {{ dir = {:?} }}]",
            s(&drop_dir)
        )),
        &[],
    );
    for (i, case) in ["A-1", "A-2"].iter().enumerate() {
        assert_eq!(disclose(&srv, &token, case).status, 200);
        let size = cosigned
            .recv_timeout(Duration::from_secs(10))
            .expect("the witness cosigned");
        assert_eq!(size, i as u64 + 1);
    }
    assert!(
        srv.wait_log_count("checkpoint cosigned", 2),
        "{}",
        srv.log()
    );
    let stored: Vec<serde_json::Value> =
        std::fs::read_to_string(rddsd::authority::transparency::cosignatures_path(&fx.log))
            .expect("cosignatures")
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
    assert_eq!(stored.len(), 2);
    let latest =
        std::fs::read(rddsd::authority::transparency::latest_path(&fx.log)).expect("latest");
    let cp = note::open_checkpoint(&latest, &fx.keys()).expect("opens");
    let text = note::checkpoint_text(&cp.origin, cp.size, &cp.root);
    note::verify_cosignature(&wvk, &text, stored[1]["signature"].as_str().expect("sig"))
        .expect("stored cosignature verifies");
    // The file drop holds the latest checkpoint (written beside the HTTP witness, so it may
    // land a moment after the cosignature).
    let started = std::time::Instant::now();
    while std::fs::read(drop_dir.join("checkpoint")).ok().as_ref() != Some(&latest)
        && started.elapsed() < std::time::Duration::from_secs(10)
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        std::fs::read(drop_dir.join("checkpoint")).expect("drop"),
        latest
    );
}

/// A witness over `https://`: the same witness behind a TLS front with a certificate made now.
/// With `ca_file` naming that certificate it cosigns; listed again without `ca_file`, the
/// system's roots do not vouch for it, and that push fails (logged) without holding up the other.
#[test]
fn checkpoints_reach_a_witness_over_https_it_is_trusted_for() {
    let fx = Fx::new();
    let (_a, token) = fx.issue("Police A");
    let (url, wvk, cosigned) = spawn_witness(fx.keys());
    let backend: std::net::SocketAddr = url
        .strip_prefix("http://")
        .and_then(|u| u.strip_suffix("/w"))
        .and_then(|a| a.parse().ok())
        .expect("witness address");
    let cert = tls_front::self_signed(fx.dir.path(), "witness", "IP:127.0.0.1");
    let front = TlsFront::start(&cert, backend);
    let https = format!("https://{}/w", front.addr);
    let srv = Server::with_config(
        &fx.config(&format!(
            "checkpoint_every = 1\nwitnesses = [{{ url = {https:?}, key = {wvk:?}, ca_file = {:?} }}, {{ url = {https:?}, key = {wvk:?} }}]",
            s(&cert.cert)
        )),
        &[],
    );
    assert_eq!(disclose(&srv, &token, "A-1").status, 200);
    let size = cosigned
        .recv_timeout(Duration::from_secs(10))
        .expect("the witness cosigned over https");
    assert_eq!(size, 1);
    assert!(srv.wait_log("checkpoint cosigned"), "{}", srv.log());
    assert!(
        srv.wait_log("witness did not cosign the checkpoint"),
        "{}",
        srv.log()
    );
    let log = srv.log();
    let refused = log
        .lines()
        .find(|l| l.contains("witness did not cosign"))
        .expect("refusal line");
    assert!(refused.contains("invalid peer certificate"), "{refused}");
    let stored =
        std::fs::read_to_string(rddsd::authority::transparency::cosignatures_path(&fx.log))
            .expect("cosignatures");
    assert_eq!(stored.lines().count(), 1, "{stored}");
    assert_eq!(front.handshakes().len(), 1, "one handshake completed");
}

/// Rewrite entry `seq` of a log consistently: new content, a re-hashed chain from there on and
/// a tree rebuilt to match, as someone with write access to the files could.
fn rewrite(log: &Path, seq: u64) {
    let text = std::fs::read_to_string(log).expect("log");
    let mut prev = GENESIS.to_string();
    let mut out = String::new();
    let mut t = tree::Tree::new();
    for line in text.lines() {
        let mut e: Entry = serde_json::from_str(line).expect("entry");
        if e.seq == seq {
            if let Some(d) = e.disclosure.as_mut() {
                d.case_reference = "REWRITTEN".into();
            }
        }
        e.prev = prev.clone();
        let (e, line) = e.sealed();
        prev = e.hash;
        t.push(&line[..line.len() - 1]).expect("push");
        out.push_str(std::str::from_utf8(&line).expect("utf-8"));
    }
    std::fs::write(log, out).expect("write");
    let bytes: Vec<u8> = t.stored().iter().flat_map(|h| h.0).collect();
    std::fs::write(rddsd::authority::transparency::tree_path(log), bytes).expect("tree");
}

fn disclosure(n: u32) -> Disclosure {
    Disclosure {
        request_id: format!("r{n}"),
        authority: "Police A".into(),
        credential_id: "c1".into(),
        client: "192.0.2.1".into(),
        purpose: "criminal-investigation".into(),
        legal_basis: "Code 1".into(),
        case_reference: format!("CASE-{n}"),
        query: "/authority/domain/x.example".into(),
        objects: vec!["contact:C1-X".into()],
        disclosed: vec![DisclosedContact {
            roid: "C1-X".into(),
            role: "registrant".into(),
            fields: vec!["name".into()],
        }],
        response_sha256: "0".repeat(64),
        jurisdiction: None,
        withheld_until: None,
        credential_kind: None,
        issuer: None,
        subject: None,
        workflow: None,
    }
}

#[test]
fn a_rewritten_history_with_a_valid_chain_is_caught_against_an_older_checkpoint() {
    let fx = Fx::new();
    let log = rddsd::authority::transparency::open_log(&fx.log, Some(fx.settings(3))).0;
    for i in 0..3 {
        log.append_blocking(disclosure(i)).expect("append");
    }
    log.close();
    // The auditor keeps the checkpoint of size 3.
    let kept = fx.dir.path().join("auditor.checkpoint");
    std::fs::copy(rddsd::authority::transparency::latest_path(&fx.log), &kept).expect("copy");
    let consistency = || {
        rddsd(&[
            "audit",
            "consistency",
            s(&fx.log),
            s(&kept),
            "--key",
            s(&fx.public),
        ])
    };
    let (ok, out) = consistency();
    assert!(ok && out.contains("consistent"), "{out}");

    // The log grows: still consistent, with a proof.
    let log = rddsd::authority::transparency::open_log(&fx.log, Some(fx.settings(3))).0;
    for i in 3..6 {
        log.append_blocking(disclosure(i)).expect("append");
    }
    log.close();
    let (ok, out) = consistency();
    assert!(
        ok && out.contains("extends the checkpoint of size 3"),
        "{out}"
    );

    // Rewrite entry 2 and everything after it consistently, and drop the stored checkpoints:
    // the chain verifies on its own ...
    rewrite(&fx.log, 2);
    let stored = rddsd::authority::transparency::checkpoints_path(&fx.log);
    let saved = std::fs::read(&stored).expect("checkpoints");
    std::fs::remove_file(&stored).expect("rm");
    let (ok, out) = rddsd(&["audit", "verify", s(&fx.log)]);
    assert!(ok, "the rewritten chain is self-consistent: {out}");
    // ... but not against the auditor's checkpoint, nor against the stored ones.
    let (ok, out) = consistency();
    assert!(!ok && out.contains("history was rewritten"), "{out}");
    std::fs::write(&stored, saved).expect("restore");
    let (ok, out) = rddsd(&["audit", "verify", s(&fx.log), "--key", s(&fx.public)]);
    assert!(!ok && out.contains("rewritten"), "{out}");
}

#[test]
fn forged_checkpoints_are_refused() {
    let fx = Fx::new();
    let log = rddsd::authority::transparency::open_log(&fx.log, Some(fx.settings(2))).0;
    for i in 0..2 {
        log.append_blocking(disclosure(i)).expect("append");
    }
    log.close();
    let good =
        std::fs::read_to_string(rddsd::authority::transparency::latest_path(&fx.log)).expect("cp");
    let forged = fx.dir.path().join("forged");
    let check = |text: &str, key: &Path| {
        std::fs::write(&forged, text).expect("write");
        rddsd(&[
            "audit",
            "consistency",
            s(&fx.log),
            s(&forged),
            "--key",
            s(key),
        ])
    };
    assert!(check(&good, &fx.public).0);
    // Edited size, edited root.
    let (ok, out) = check(&good.replacen("\n2\n", "\n1\n", 1), &fx.public);
    assert!(!ok && out.contains("forged"), "{out}");
    let root = good.lines().nth(2).expect("root");
    let other = format!("{}", tree::leaf_hash(b"other"));
    let (ok, out) = check(&good.replacen(root, &other, 1), &fx.public);
    assert!(!ok && out.contains("forged"), "{out}");
    // Signed by another key of the same name.
    let other_key = fx.dir.path().join("other.key");
    let (ok, out) = rddsd(&[
        "audit",
        "keygen",
        "--key",
        s(&other_key),
        "--origin",
        "rdap.nic.example/disclosures",
    ]);
    assert!(ok, "{out}");
    let (ok, out) = check(&good, &fx.dir.path().join("other.key.pub"));
    assert!(!ok && out.contains("not signed by the log's key"), "{out}");
    // keygen refuses to overwrite, rotates on request and keeps the old public key.
    let (ok, out) = rddsd(&["audit", "keygen", "--key", s(&fx.key), "--origin", "x"]);
    assert!(!ok && out.contains("--rotate"), "{out}");
    let (ok, out) = rddsd(&[
        "audit",
        "keygen",
        "--key",
        s(&fx.key),
        "--origin",
        "rdap.nic.example/disclosures",
        "--rotate",
    ]);
    assert!(ok, "{out}");
    assert_eq!(
        std::fs::read_to_string(&fx.public)
            .expect("pub")
            .lines()
            .count(),
        2
    );
    assert!(
        check(&good, &fx.public).0,
        "old checkpoints verify after a rotation"
    );
}

#[test]
fn prune_keeps_the_tree_verifiable() {
    let fx = Fx::new();
    // Old entries, written before transparency was on (no salt, no tree).
    let mut prev = GENESIS.to_string();
    let mut text = Vec::new();
    for (i, t) in ["2020-01-01T00:00:00Z", "2020-02-01T00:00:00Z"]
        .iter()
        .enumerate()
    {
        let (e, line) = Entry {
            seq: i as u64 + 1,
            time: (*t).to_string(),
            disclosure: Some(disclosure(i as u32)),
            checkpoint: None,
            salt: None,
            prev: prev.clone(),
            hash: String::new(),
        }
        .sealed();
        prev = e.hash;
        text.extend_from_slice(&line);
    }
    std::fs::write(&fx.log, text).expect("seed");
    // Transparency turned on: the tree is built from the log, and a checkpoint covers all.
    let log = rddsd::authority::transparency::open_log(&fx.log, Some(fx.settings(1))).0;
    let e = log.append_blocking(disclosure(9)).expect("append");
    assert!(e.salt.as_ref().is_some_and(|s| s.len() == 32), "salted");
    let kept = fx.dir.path().join("auditor.checkpoint");
    // The checkpoint is written right after the append, on the writer thread.
    log.close();
    std::fs::copy(rddsd::authority::transparency::latest_path(&fx.log), &kept).expect("copy");
    let (ok, out) = rddsd(&["audit", "prune", s(&fx.log), "--before", "2021-01-01"]);
    assert!(ok && out.contains("pruned 2 entries"), "{out}");
    let (ok, out) = rddsd(&["audit", "verify", s(&fx.log), "--key", s(&fx.public)]);
    assert!(ok && out.contains("tree: 3 entries"), "{out}");
    let (ok, out) = rddsd(&[
        "audit",
        "consistency",
        s(&fx.log),
        s(&kept),
        "--key",
        s(&fx.public),
    ]);
    assert!(ok, "{out}");
    // The writer continues after the prune, and the tree with it.
    let log = rddsd::authority::transparency::open_log(&fx.log, Some(fx.settings(1))).0;
    assert_eq!(log.append_blocking(disclosure(10)).expect("append").seq, 4);
    log.close();
    let (ok, out) = rddsd(&["audit", "verify", s(&fx.log), "--key", s(&fx.public)]);
    assert!(ok && out.contains("tree: 4 entries"), "{out}");
    // Without the tree file, the pruned entries' hashes are gone: refused, naming why.
    std::fs::remove_file(rddsd::authority::transparency::tree_path(&fx.log)).expect("rm");
    let (ok, out) = rddsd(&["audit", "verify", s(&fx.log)]);
    assert!(
        !ok && out.contains("pruned entries' hashes are lost"),
        "{out}"
    );
}
