//! Federated authority credentials (RFC 9560) end to end: a test identity provider with keys
//! made at test time (Ed25519 and P-256 by ring, RSA by `openssl genpkey`), its JWKS served on
//! loopback by a tiny HTTP server that counts fetches, tokens presented to the real server on
//! the authority route and on the public lookup paths, the disclosure log read back; the JWKS
//! also over `https://`, behind a TLS front with a certificate made at test time.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::json;

use crate::harness::{Resp, Server};
use crate::tls_front::{self, Handshake, TlsFront};

const ISS_A: &str = "http://idp-a.police.example";
const ISS_B: &str = "https://idp-b.justice.example";
const AUD: &str = "rdap.nic.example";
const DOMAIN: &str = "/domain/caf%C3%A9.example";
/// Personal data of café.example's registrant, which only a disclosure contains.
const PERSONAL: &str = "Aurelie Vantongeren";

const STATEMENT: &[(&str, &str)] = &[
    ("RDDS-Purpose", "criminal-investigation"),
    ("RDDS-Legal-Basis", "StPO 100"),
    ("RDDS-Case-Reference", "FED-1"),
];

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// The test identity provider: its signing keys and its JWKS.
struct Idp {
    ed: EncodingKey,
    ed_public: Vec<u8>,
    ec: EncodingKey,
    rsa: Option<EncodingKey>,
    jwks_a: String,
    jwks_b: String,
}

impl Idp {
    fn new(dir: &Path) -> Self {
        let rng = ring::rand::SystemRandom::new();
        let ed_doc = Ed25519KeyPair::generate_pkcs8(&rng).expect("ed25519");
        let ed_pair = Ed25519KeyPair::from_pkcs8(ed_doc.as_ref()).expect("ed25519");
        let ec_doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("p256");
        let ec_pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, ec_doc.as_ref(), &rng)
                .expect("p256");
        let point = ec_pair.public_key().as_ref();
        let ed_public = ed_pair.public_key().as_ref().to_vec();
        let jwks_a = json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": b64(&ed_public), "kid": "ed1", "use": "sig"},
            {"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..]), "kid": "ec1", "alg": "ES256"},
        ]})
        .to_string();
        let (rsa, jwks_b) = match rsa_key(dir) {
            Some((key, n)) => (
                Some(key),
                json!({"keys": [{"kty": "RSA", "n": b64(&n), "e": "AQAB", "kid": "rsa1"}]})
                    .to_string(),
            ),
            None => (None, String::new()),
        };
        Self {
            ed: EncodingKey::from_ed_der(ed_doc.as_ref()),
            ed_public,
            ec: EncodingKey::from_ec_der(ec_doc.as_ref()),
            rsa,
            jwks_a,
            jwks_b,
        }
    }

    fn token(&self, alg: Algorithm, kid: &str, claims: &serde_json::Value) -> String {
        let mut h = Header::new(alg);
        h.kid = Some(kid.into());
        let key = match alg {
            Algorithm::EdDSA => &self.ed,
            Algorithm::ES256 => &self.ec,
            _ => self.rsa.as_ref().expect("openssl made an RSA key"),
        };
        jsonwebtoken::encode(&h, claims, key).expect("sign")
    }

    fn ed(&self, claims: &serde_json::Value) -> String {
        self.token(Algorithm::EdDSA, "ed1", claims)
    }
}

/// An RSA key by `openssl genpkey` (ring cannot generate one): the PKCS#1 DER signing key and
/// the modulus.
fn rsa_key(dir: &Path) -> Option<(EncodingKey, Vec<u8>)> {
    let pem = dir.join("rsa.pem");
    let der = dir.join("rsa.der");
    let run = |args: &[&str]| {
        std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl runs")
    };
    let made = run(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        pem.to_str()?,
    ]);
    assert!(made.status.success(), "openssl genpkey");
    let conv = run(&[
        "rsa",
        "-in",
        pem.to_str()?,
        "-traditional",
        "-outform",
        "DER",
        "-out",
        der.to_str()?,
    ]);
    assert!(conv.status.success(), "openssl rsa");
    let modulus = run(&["rsa", "-in", pem.to_str()?, "-noout", "-modulus"]);
    let hex_n = String::from_utf8_lossy(&modulus.stdout)
        .trim()
        .strip_prefix("Modulus=")?
        .to_string();
    let n = hex::decode(hex_n).ok()?;
    let key = EncodingKey::from_rsa_der(&std::fs::read(&der).ok()?);
    Some((key, n))
}

/// A one-file HTTP server on loopback serving `body`, counting the requests it answers.
struct JwksServer {
    addr: std::net::SocketAddr,
    url: String,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    fn start(body: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let url = format!("http://{addr}/jwks.json");
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { addr, url, hits }
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    log: PathBuf,
    creds: PathBuf,
    idp: Idp,
    jwks: JwksServer,
    srv: Server,
}

impl Fixture {
    fn new(jwks_refresh_secs: u64) -> Self {
        Self::serving(jwks_refresh_secs, |_, jwks| {
            (format!("jwks_url = \"{}\"", jwks.url), String::new())
        })
    }

    /// A fixture whose issuer A gets its JWKS as `issuer_a` says: given the temporary directory
    /// and the plain JWKS server (serving issuer A's document), the `jwks_…` lines of issuer A
    /// and any further `[[authority.issuer]]` tables.
    fn serving(
        jwks_refresh_secs: u64,
        issuer_a: impl FnOnce(&Path, &JwksServer) -> (String, String),
    ) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let idp = Idp::new(dir.path());
        let jwks = JwksServer::start(idp.jwks_a.clone());
        let (jwks_a, more_issuers) = issuer_a(dir.path(), &jwks);
        let jwks_b = dir.path().join("idp-b.jwks.json");
        std::fs::write(&jwks_b, &idp.jwks_b).expect("jwks b");
        let log = dir.path().join("disclosures.jsonl");
        let creds = dir.path().join("credentials.jsonl");
        let config = format!(
            r#"[authority]
credentials = {creds:?}
log = {log:?}
clock_skew_secs = 30
jwks_refresh_secs = {jwks_refresh_secs}

[[authority.issuer]]
name = "Federal Police Portal"
issuer = "{ISS_A}"
audience = "{AUD}"
{jwks_a}
algorithms = ["EdDSA", "ES256"]
purposes = ["criminal-investigation", "cybersecurity-incident"]
jurisdiction = "DE"

[[authority.issuer]]
name = "Justice Broker"
issuer = "{ISS_B}"
audience = "{AUD}"
jwks_file = {jwks_b:?}
algorithms = ["RS256"]
purposes = ["court-order", "criminal-investigation"]
jurisdiction = "FR"

{more_issuers}
"#,
        );
        let srv = Server::with_config(&config, &[]);
        Self {
            _dir: dir,
            log,
            creds,
            idp,
            jwks,
            srv,
        }
    }

    fn entries(&self) -> Vec<serde_json::Value> {
        crate::harness::log_entries(&self.log)
    }

    fn ask(&self, path: &str, token: &str, statement: &[(&str, &str)]) -> Resp {
        self.ask_from("127.0.0.1", path, token, statement)
    }

    fn ask_from(&self, from: &str, path: &str, token: &str, statement: &[(&str, &str)]) -> Resp {
        let bearer = format!("Bearer {token}");
        let mut headers = statement.to_vec();
        headers.push(("Authorization", &bearer));
        self.srv.get_from(from, path, &headers)
    }
}

fn claims(iss: &str, purposes: &[&str]) -> serde_json::Value {
    json!({
        "iss": iss,
        "aud": AUD,
        "sub": "officer-4711",
        "iat": now(),
        "exp": now() + 600,
        "rdap_allowed_purposes": purposes,
    })
}

const CRIMINAL: &[&str] = &["criminalInvestigationAndDNSAbuseMitigation"];

fn body(r: &Resp) -> String {
    String::from_utf8_lossy(&r.body).to_string()
}

#[test]
fn a_valid_token_discloses_the_purposes_fields_with_one_log_entry() {
    let fx = Fixture::new(3600);
    let token = fx.idp.ed(&claims(ISS_A, CRIMINAL));
    let r = fx.ask(&format!("/authority{DOMAIN}"), &token, STATEMENT);
    assert_eq!(r.status, 200, "{}", body(&r));
    assert!(body(&r).contains(PERSONAL), "the purpose's fields");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let conformance = r.json()["rdapConformance"].to_string();
    assert!(conformance.contains("\"farv1\""), "{conformance}");
    let entries = fx.entries();
    assert_eq!(entries.len(), 1, "one log entry");
    let d = &entries[0]["disclosure"];
    assert_eq!(d["credentialKind"], "jwt");
    assert_eq!(d["issuer"], ISS_A);
    assert_eq!(d["subject"], "officer-4711");
    assert_eq!(d["authority"], "Federal Police Portal");
    assert_eq!(d["jurisdiction"], "DE");
    assert!(d["credentialId"]
        .as_str()
        .is_some_and(|c| c.starts_with("jwt-")));
    let line = std::fs::read_to_string(&fx.log).expect("log");
    let signature = token.rsplit('.').next().expect("signature");
    assert!(
        !line.contains(signature) && !line.contains(&token[..40]),
        "the token is never logged"
    );
    // ES256 from the same issuer, and RS256 from the second one (its JWKS a file).
    let es = fx
        .idp
        .token(Algorithm::ES256, "ec1", &claims(ISS_A, CRIMINAL));
    assert_eq!(
        fx.ask(&format!("/authority{DOMAIN}"), &es, STATEMENT)
            .status,
        200
    );
    let rs = fx
        .idp
        .token(Algorithm::RS256, "rsa1", &claims(ISS_B, &["legalActions"]));
    let court = [
        ("RDDS-Purpose", "court-order"),
        ("RDDS-Legal-Basis", "Order 7"),
        ("RDDS-Case-Reference", "FED-2"),
    ];
    let r = fx.ask(&format!("/authority{DOMAIN}"), &rs, &court);
    assert_eq!(r.status, 200, "{}", body(&r));
    let entries = fx.entries();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[2]["disclosure"]["issuer"], ISS_B);
    assert_eq!(entries[2]["disclosure"]["jurisdiction"], "FR");
    // The log, with the new fields, verifies.
    let (ok, out) = crate::harness::rddsd(&["audit", "verify", fx.log.to_str().expect("utf-8")]);
    assert!(ok, "{out}");
}

#[test]
fn bad_tokens_get_401_or_403_no_data_and_no_log_entry() {
    let fx = Fixture::new(3600);
    let idp = &fx.idp;
    let good = claims(ISS_A, CRIMINAL);
    let with = |k: &str, v: serde_json::Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let valid = idp.ed(&good);
    let (head, rest) = valid.split_once('.').expect("jwt");
    let (payload, sig) = rest.split_once('.').expect("jwt");
    // Flip one signature character (keeping it base64url).
    let mut tampered_sig: Vec<u8> = sig.as_bytes().to_vec();
    tampered_sig[5] = if tampered_sig[5] == b'A' { b'B' } else { b'A' };
    let tampered = format!(
        "{head}.{payload}.{}",
        String::from_utf8(tampered_sig).expect("ascii")
    );
    let none = format!(
        "{}.{payload}.",
        b64(json!({"alg": "none", "kid": "ed1"}).to_string().as_bytes())
    );
    // The classic confusion: HS256 with the issuer's public key as the HMAC secret.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("ed1".into());
    let hs256 =
        jsonwebtoken::encode(&hs, &good, &EncodingKey::from_secret(&idp.ed_public)).expect("hs");
    let hs256_jwk_x = jsonwebtoken::encode(
        &hs,
        &good,
        &EncodingKey::from_secret(b64(&idp.ed_public).as_bytes()),
    )
    .expect("hs");
    let cases: Vec<(&str, String, u16)> = vec![
        ("expired", idp.ed(&with("exp", json!(now() - 3600))), 401),
        (
            "not yet valid",
            idp.ed(&with("nbf", json!(now() + 3600))),
            401,
        ),
        (
            "wrong issuer",
            idp.ed(&with("iss", json!("http://rogue.example"))),
            401,
        ),
        (
            "issuer B's name on issuer A's key",
            idp.ed(&with("iss", json!(ISS_B))),
            401,
        ),
        (
            "wrong audience",
            idp.ed(&with("aud", json!("rdap.other.example"))),
            401,
        ),
        (
            "no sub",
            {
                let mut c = good.clone();
                c.as_object_mut().expect("object").remove("sub");
                idp.ed(&c)
            },
            401,
        ),
        (
            "unknown key",
            idp.token(Algorithm::EdDSA, "ed-unknown", &good),
            401,
        ),
        ("tampered signature", tampered, 401),
        ("alg none", none, 401),
        ("HS256 with the public key", hs256, 401),
        ("HS256 with the JWK's x", hs256_jwk_x, 401),
        (
            "purpose outside the claim",
            idp.ed(&claims(ISS_A, &["legalActions"])),
            403,
        ),
        (
            "no purpose claim",
            {
                let mut c = good.clone();
                c.as_object_mut()
                    .expect("object")
                    .remove("rdap_allowed_purposes");
                idp.ed(&c)
            },
            403,
        ),
    ];
    // Each from its own network, so the failed-authentication budget never answers first.
    for (i, (what, token, status)) in cases.iter().enumerate() {
        let from = format!("127.{}.0.1", i + 10);
        let r = fx.ask_from(&from, &format!("/authority{DOMAIN}"), token, STATEMENT);
        assert_eq!(r.status, *status, "{what}: {}", body(&r));
        assert!(!body(&r).contains(PERSONAL), "{what}: no data");
        if *status == 401 {
            let www = r.header("www-authenticate").unwrap_or_default();
            assert!(www.starts_with("Bearer"), "{what}: {www}");
        }
        assert!(fx.entries().is_empty(), "{what}: no log entry");
    }
    // Do-not-track: refused, because a disclosure is always logged.
    let r = fx.ask(
        &format!("/authority{DOMAIN}?farv1_dnt=true"),
        &valid,
        STATEMENT,
    );
    assert_eq!(r.status, 403, "{}", body(&r));
    assert!(body(&r).contains("farv1_dnt"));
    assert!(fx.entries().is_empty(), "no log entry");
    // And the valid token itself still works (so the refusals above were the token's).
    assert_eq!(
        fx.ask(&format!("/authority{DOMAIN}"), &valid, STATEMENT)
            .status,
        200
    );
    assert_eq!(fx.entries().len(), 1);
}

#[test]
fn tokens_work_on_the_public_lookup_paths_and_registry_credentials_beside_them() {
    let fx = Fixture::new(3600);
    let token = fx.idp.ed(&claims(ISS_A, CRIMINAL));
    // Without a token: the public, redacted answer, unchanged.
    let public = fx.srv.get(DOMAIN);
    assert_eq!(public.status, 200);
    assert!(!body(&public).contains(PERSONAL));
    assert!(!public.json()["rdapConformance"]
        .to_string()
        .contains("farv1"));
    // With a valid token: the authorised, logged answer, never cached.
    let r = fx.ask(DOMAIN, &token, STATEMENT);
    assert_eq!(r.status, 200, "{}", body(&r));
    assert!(body(&r).contains(PERSONAL));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(fx.entries().len(), 1);
    assert_eq!(fx.entries()[0]["disclosure"]["query"], DOMAIN);
    // The public answer after it is still the public one (the cache was not touched).
    assert!(!body(&fx.srv.get(DOMAIN)).contains(PERSONAL));
    // The same rules: no statement is 400, an invalid or expired token 401, never public data.
    assert_eq!(fx.ask(DOMAIN, &token, &[]).status, 400);
    let mut expired = claims(ISS_A, CRIMINAL);
    expired["exp"] = json!(now() - 3600);
    for bad in [
        fx.idp.ed(&expired),
        format!("{token}x"),
        "rdds_00_11".to_string(),
    ] {
        let r = fx.ask_from("127.3.0.1", DOMAIN, &bad, STATEMENT);
        assert_eq!(r.status, 401, "{}", body(&r));
        assert!(r.header("www-authenticate").is_some());
        assert!(!body(&r).contains(PERSONAL));
    }
    let r = fx.ask("/entity/C101-EXAMPLE", &token, STATEMENT);
    assert_eq!(r.status, 200, "{}", body(&r));
    assert!(body(&r).contains(PERSONAL));
    assert_eq!(fx.entries().len(), 2);
    // A registry-issued credential keeps working, on both paths.
    let (id, registry_token) =
        crate::harness::issue_credential(&fx.creds, "Example Police", "criminal-investigation");
    fx.srv.signal("HUP");
    assert!(fx.srv.wait_log("reload"), "reloaded");
    let mut ok = false;
    for _ in 0..50 {
        if fx.ask(DOMAIN, &registry_token, STATEMENT).status == 200 {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(ok, "registry credential on a public path");
    let last = fx.entries().pop().expect("entry");
    assert_eq!(last["disclosure"]["credentialKind"], "registry");
    assert_eq!(last["disclosure"]["credentialId"], id.as_str());
    assert!(last["disclosure"].get("issuer").is_none());
}

#[test]
fn help_advertises_farv1_and_the_providers() {
    let fx = Fixture::new(3600);
    let help = fx.srv.get("/help").json();
    assert!(help["rdapConformance"].to_string().contains("\"farv1\""));
    let cfg = &help["farv1_openidcConfiguration"];
    assert_eq!(cfg["dntSupported"], false);
    let providers = cfg["openidcProviders"].to_string();
    assert!(
        providers.contains(ISS_A) && providers.contains(ISS_B),
        "{providers}"
    );
    assert!(providers.contains("Federal Police Portal"));
    // A server without issuers says nothing of it.
    let plain = Server::start(&[]).get("/help").json();
    assert!(plain.get("farv1_openidcConfiguration").is_none());
    assert!(!plain["rdapConformance"].to_string().contains("farv1"));
}

#[test]
fn a_flood_of_unknown_kids_fetches_the_jwks_a_bounded_number_of_times() {
    let fx = Fixture::new(3600);
    // The first token loads the JWKS (the URL is fetched on first use).
    let good = fx.idp.ed(&claims(ISS_A, CRIMINAL));
    assert_eq!(
        fx.ask(&format!("/authority{DOMAIN}"), &good, STATEMENT)
            .status,
        200
    );
    assert_eq!(fx.jwks.hits.load(Ordering::SeqCst), 1);
    // Then 30 tokens naming unknown keys, from 30 networks (so no failure budget stops them
    // first): at most one refresh per jwks_refresh_secs, here none within the hour.
    for i in 0..30 {
        let t = fx.idp.token(
            Algorithm::EdDSA,
            &format!("kid-{i}"),
            &claims(ISS_A, CRIMINAL),
        );
        let r = fx.ask_from(
            &format!("127.{}.1.1", 40 + i),
            &format!("/authority{DOMAIN}"),
            &t,
            STATEMENT,
        );
        assert_eq!(r.status, 401);
    }
    assert_eq!(
        fx.jwks.hits.load(Ordering::SeqCst),
        1,
        "no fetch per unknown kid"
    );
    assert_eq!(fx.entries().len(), 1);
}

#[test]
fn an_unknown_kid_refreshes_the_jwks_once_the_interval_has_passed() {
    let fx = Fixture::new(1);
    let t = fx
        .idp
        .token(Algorithm::EdDSA, "kid-x", &claims(ISS_A, CRIMINAL));
    for i in 0..5 {
        let r = fx.ask_from(
            &format!("127.{}.2.1", 80 + i),
            &format!("/authority{DOMAIN}"),
            &t,
            STATEMENT,
        );
        assert_eq!(r.status, 401);
    }
    let first = fx.jwks.hits.load(Ordering::SeqCst);
    assert!(first <= 2, "{first} fetches for 5 quick unknown kids");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = fx.ask_from("127.90.2.1", &format!("/authority{DOMAIN}"), &t, STATEMENT);
    assert_eq!(r.status, 401);
    assert_eq!(
        fx.jwks.hits.load(Ordering::SeqCst),
        first + 1,
        "refreshed after the interval"
    );
}

/// Issuer A's JWKS over `https://`: the plain JWKS server behind a TLS front with a
/// certificate made now, trusted through `jwks_ca_file`. A second issuer reaches the same
/// front by the name `localhost`, which is sent as SNI.
#[test]
fn a_jwks_over_https_trusted_through_the_ca_file_authorises_the_token() {
    const ISS_F: &str = "https://idp-f.example";
    let mut front = None;
    let fx = Fixture::serving(3600, |dir, jwks| {
        let cert = tls_front::self_signed(dir, "idp", "IP:127.0.0.1,DNS:localhost");
        let f = TlsFront::start(&cert, jwks.addr);
        let port = f.addr.port();
        front = Some(f);
        (
            format!(
                "jwks_url = \"https://127.0.0.1:{port}/jwks.json\"\njwks_ca_file = {:?}",
                cert.cert
            ),
            format!(
                r#"[[authority.issuer]]
name = "Localhost Portal"
issuer = "{ISS_F}"
audience = "{AUD}"
jwks_url = "https://localhost:{port}/jwks.json"
jwks_ca_file = {:?}
algorithms = ["EdDSA"]
purposes = ["criminal-investigation"]
jurisdiction = "NL"
"#,
                cert.cert
            ),
        )
    });
    let front = front.expect("front");
    let token = fx.idp.ed(&claims(ISS_A, CRIMINAL));
    let r = fx.ask(&format!("/authority{DOMAIN}"), &token, STATEMENT);
    assert_eq!(r.status, 200, "{}\n{}", body(&r), fx.srv.log());
    assert!(body(&r).contains(PERSONAL), "the purpose's fields");
    assert_eq!(fx.entries().len(), 1, "one log entry");
    assert_eq!(
        fx.jwks.hits.load(Ordering::SeqCst),
        1,
        "fetched through TLS"
    );
    // An IP address is checked against the certificate but not sent as SNI; HTTP/1.1 is
    // agreed by ALPN.
    let first = Handshake {
        sni: None,
        alpn: Some("http/1.1".into()),
    };
    assert_eq!(front.handshakes(), vec![first.clone()]);
    let token_f = fx.idp.ed(&claims(ISS_F, CRIMINAL));
    let r = fx.ask(&format!("/authority{DOMAIN}"), &token_f, STATEMENT);
    assert_eq!(r.status, 200, "{}\n{}", body(&r), fx.srv.log());
    assert_eq!(fx.entries()[1]["disclosure"]["issuer"], ISS_F);
    assert_eq!(
        front.handshakes(),
        vec![
            first,
            Handshake {
                sni: Some("localhost".into()),
                alpn: Some("http/1.1".into()),
            }
        ]
    );
}

/// The same JWKS behind TLS, but with roots that do not vouch for it: another self-signed
/// certificate as `jwks_ca_file`, the system's roots (no `jwks_ca_file`), and a trusted
/// certificate for another name. No key is loaded, so valid tokens are refused; the fetch
/// failure is logged, the tokens are not.
#[test]
fn a_jwks_server_its_issuers_roots_do_not_vouch_for_gets_no_token_accepted() {
    const ISS_C: &str = "https://idp-c.example";
    const ISS_D: &str = "https://idp-d.example";
    let fx = Fixture::serving(3600, |dir, jwks| {
        let served = tls_front::self_signed(dir, "idp", "IP:127.0.0.1,DNS:localhost");
        let other = tls_front::self_signed(dir, "other", "IP:127.0.0.1,DNS:localhost");
        let elsewhere = tls_front::self_signed(dir, "elsewhere", "DNS:idp.test");
        let port = TlsFront::start(&served, jwks.addr).addr.port();
        let port_d = TlsFront::start(&elsewhere, jwks.addr).addr.port();
        let issuer = |iss: &str, url: &str, ca: Option<&Path>| {
            let ca = ca.map_or(String::new(), |p| format!("jwks_ca_file = {p:?}\n"));
            format!(
                "[[authority.issuer]]\nname = \"{iss}\"\nissuer = \"{iss}\"\naudience = \"{AUD}\"\njwks_url = \"{url}\"\n{ca}algorithms = [\"EdDSA\"]\npurposes = [\"criminal-investigation\"]\njurisdiction = \"XX\"\n"
            )
        };
        let url = format!("https://127.0.0.1:{port}/jwks.json");
        (
            format!("jwks_url = \"{url}\"\njwks_ca_file = {:?}", other.cert),
            format!(
                "{}\n{}",
                issuer(ISS_C, &url, None),
                issuer(
                    ISS_D,
                    &format!("https://127.0.0.1:{port_d}/jwks.json"),
                    Some(&elsewhere.cert)
                ),
            ),
        )
    });
    let mut tokens = Vec::new();
    for (i, iss) in [ISS_A, ISS_C, ISS_D].into_iter().enumerate() {
        let token = fx.idp.ed(&claims(iss, CRIMINAL));
        // Each from its own network, so the failed-authentication budget never answers first.
        let r = fx.ask_from(
            &format!("127.{}.3.1", 100 + i),
            &format!("/authority{DOMAIN}"),
            &token,
            STATEMENT,
        );
        assert_eq!(r.status, 401, "{iss}: {}", body(&r));
        assert!(!body(&r).contains(PERSONAL), "{iss}: no data");
        let www = r.header("www-authenticate").unwrap_or_default();
        assert!(www.starts_with("Bearer"), "{iss}: {www}");
        tokens.push(token);
    }
    assert!(fx.entries().is_empty(), "no log entry");
    assert_eq!(
        fx.jwks.hits.load(Ordering::SeqCst),
        0,
        "no request got past a refused certificate"
    );
    assert!(
        fx.srv.wait_log_count("JWKS not loaded", 3),
        "{}",
        fx.srv.log()
    );
    let log = fx.srv.log();
    let refusal = |iss: &str| {
        log.lines()
            .find(|l| l.contains("JWKS not loaded") && l.contains(iss))
            .unwrap_or_else(|| panic!("{iss}: no refusal logged in\n{log}"))
            .to_string()
    };
    for iss in [ISS_A, ISS_C] {
        let line = refusal(iss);
        assert!(line.contains("invalid peer certificate"), "{line}");
    }
    let line = refusal(ISS_D);
    assert!(line.contains("not valid for name"), "{line}");
    for token in &tokens {
        let (_, rest) = token.split_once('.').expect("jwt");
        let (payload, signature) = rest.split_once('.').expect("jwt");
        assert!(
            !log.contains(payload) && !log.contains(signature),
            "the token is never logged"
        );
    }
}

/// RFC 9560 clients search on the ordinary paths too: a valid token on a public search path
/// gets the authority route's answer and log entry, and only for a purpose allowed to search.
#[test]
fn a_token_on_a_public_search_path_searches_as_the_authority_route_does() {
    let fx = Fixture::new(3600);
    let token = fx.idp.ed(&claims(ISS_A, CRIMINAL));
    let path = "/domains/reverse_search/entity?handle=C101-EXAMPLE";
    // Without a token, the public search path is still refused.
    assert_eq!(fx.srv.get(path).status, 501);
    let r = fx.ask(path, &token, STATEMENT);
    assert_eq!(r.status, 200, "{}", body(&r));
    assert!(body(&r).contains(PERSONAL));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let conformance = r.json()["rdapConformance"].to_string();
    for id in ["farv1", "reverse_search", "sorting_and_paging"] {
        assert!(conformance.contains(id), "{id} in {conformance}");
    }
    let entries = fx.entries();
    assert_eq!(entries.len(), 1);
    let d = &entries[0]["disclosure"];
    assert_eq!(d["query"], path);
    assert_eq!(d["credentialKind"], "jwt");
    assert_eq!(d["issuer"], ISS_A);
    assert!(d["objects"].to_string().contains("domain:D1002-EXAMPLE"));
    // The issuer allows cybersecurity incidents, the policy does not let them search.
    let cyber = [
        ("RDDS-Purpose", "cybersecurity-incident"),
        ("RDDS-Legal-Basis", "NIS2 Art. 23"),
        ("RDDS-Case-Reference", "CSIRT-7"),
    ];
    let r = fx.ask(path, &token, &cyber);
    assert_eq!(r.status, 403, "{}", body(&r));
    assert!(!body(&r).contains(PERSONAL));
    assert_eq!(fx.entries().len(), 1, "the refused search left no entry");
    // An expired token on a search path: 401, nothing searched.
    let mut expired = claims(ISS_A, CRIMINAL);
    expired["exp"] = json!(now() - 3600);
    let r = fx.ask_from("127.3.0.2", path, &fx.idp.ed(&expired), STATEMENT);
    assert_eq!(r.status, 401);
    assert_eq!(fx.entries().len(), 1);
}
