//! Federated authority credentials (RFC 9560, extension `farv1`): JSON Web Tokens issued by
//! identity providers the registry trusts, presented as `Authorization: Bearer <JWT>`.
//!
//! A token is accepted only when every check passes, each failing closed (401):
//! 1. it is at most [`MAX_TOKEN_BYTES`] and its header names a `kid`;
//! 2. its `iss` (read before verification only to pick the issuer) is a configured issuer;
//! 3. its `alg` is one the issuer is pinned to. `none` and the HMAC algorithms cannot be
//!    configured at all, so a public key can never serve as an HMAC secret;
//! 4. the `kid` names a key of the issuer's JWKS whose type (and curve, and `alg` if the key
//!    states one) fits that algorithm. An unknown `kid` may refresh the JWKS, at most once per
//!    `jwks_refresh_secs` per issuer, so a flood of unknown kids cannot become a flood of fetches;
//! 5. the signature, `iss`, `aud`, `exp` and `nbf` (with the configured clock skew) verify, and a
//!    `sub` is present.
//!
//! The `rdap_allowed_purposes` claim (RFC 9560 §3.1.5.1) is mapped to rddsd's purposes through
//! the claim table ([`DEFAULT_CLAIM_PURPOSES`] unless the config gives its own), and only those
//! the issuer is also allowed count.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::https_client::Endpoint;
use super::log::sha256_hex;
use crate::policy::Purpose;

/// The longest token looked at (bytes); longer ones are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// The largest JWKS document read, from a file or a URL.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// The most keys kept per issuer.
pub const MAX_KEYS: usize = 64;
/// How long one JWKS fetch may take, connection to last byte.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The most `rdap_allowed_purposes` values read from one token.
const MAX_CLAIM_PURPOSES: usize = 64;

/// A signature algorithm an issuer may be pinned to. Only asymmetric ones exist here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512.
    Ps512,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
    /// Ed25519.
    EdDsa,
}

/// Why a configured algorithm name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlgError {
    /// `none`: an unsigned token.
    #[error("\"none\" is an unsigned token and is never accepted")]
    None,
    /// An HMAC algorithm: a shared secret.
    #[error("{0:?} is an HMAC algorithm: a shared secret, which an identity provider's public key would become; only asymmetric algorithms are accepted")]
    Hmac(String),
    /// A name not in the list.
    #[error("unknown algorithm {name:?}; one of {known}")]
    Unknown {
        /// The name given.
        name: String,
        /// The names accepted.
        known: String,
    },
}

/// Why an issuer's keys (its JWKS) could not be had.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The document is not a JWKS.
    #[error("not a JWKS document: {0}")]
    NotJwks(serde_json::Error),
    /// No key the issuer may use.
    #[error("no usable key: none with a kid, for signatures, of a type fitting {0}")]
    NoUsableKey(String),
    /// The file cannot be read.
    #[error("{0}")]
    Read(std::io::Error),
    /// Larger than [`MAX_JWKS_BYTES`].
    #[error("larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    /// The fetch did not finish within [`FETCH_TIMEOUT`].
    #[error("no answer within {} s", FETCH_TIMEOUT.as_secs())]
    Timeout,
    /// The connection to the URL failed.
    #[error(transparent)]
    Http(#[from] super::https_client::HttpError),
    /// The request could not be built.
    #[error("{0}")]
    Request(hyper::http::Error),
    /// The request failed on the wire.
    #[error("request: {0}")]
    Send(hyper::Error),
    /// An answer other than 2xx.
    #[error("HTTP {0}")]
    Status(u16),
    /// The answer's body could not be read (or was too large).
    #[error("answer: {0}")]
    Body(Box<dyn std::error::Error + Send + Sync>),
    /// A URL issuer without its prepared endpoint (never, as `Federation::new` makes one).
    #[error("no endpoint prepared")]
    NoEndpoint,
}

/// Why the federation could not be set up: an issuer's JWKS file or URL.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// The `jwks_url` cannot be prepared.
    #[error("issuer {iss}: jwks_url: {source}")]
    Url {
        /// The issuer.
        iss: String,
        /// Why.
        source: super::https_client::HttpError,
    },
    /// The `jwks_file` cannot be used.
    #[error("issuer {iss}: {}: {source}", file.display())]
    File {
        /// The issuer.
        iss: String,
        /// The file.
        file: std::path::PathBuf,
        /// Why.
        source: JwksError,
    },
}

impl Alg {
    const ALL: [Self; 9] = [
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
        Self::Es256,
        Self::Es384,
        Self::EdDsa,
    ];

    /// The JOSE name (`RS256`, `ES256`, `EdDSA`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Parse a configured name.
    ///
    /// # Errors
    /// `none`, an HMAC algorithm (refused with the reason) or an unknown name.
    pub fn parse(s: &str) -> Result<Self, AlgError> {
        if s.eq_ignore_ascii_case("none") {
            return Err(AlgError::None);
        }
        if s.to_ascii_uppercase().starts_with("HS") {
            return Err(AlgError::Hmac(s.into()));
        }
        Self::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|a| a.name()).collect();
                AlgError::Unknown {
                    name: s.into(),
                    known: known.join(", "),
                }
            })
    }

    fn jwt(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Rs384 => Algorithm::RS384,
            Self::Rs512 => Algorithm::RS512,
            Self::Ps256 => Algorithm::PS256,
            Self::Ps384 => Algorithm::PS384,
            Self::Ps512 => Algorithm::PS512,
            Self::Es256 => Algorithm::ES256,
            Self::Es384 => Algorithm::ES384,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }

    fn of(alg: Algorithm) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.jwt() == alg)
    }

    /// Whether a JWK can verify this algorithm: key type, and the curve for ECDSA and EdDSA.
    fn fits(self, params: &AlgorithmParameters) -> bool {
        match (self, params) {
            (
                Self::Rs256 | Self::Rs384 | Self::Rs512 | Self::Ps256 | Self::Ps384 | Self::Ps512,
                AlgorithmParameters::RSA(_),
            ) => true,
            (Self::Es256, AlgorithmParameters::EllipticCurve(p)) => p.curve == EllipticCurve::P256,
            (Self::Es384, AlgorithmParameters::EllipticCurve(p)) => p.curve == EllipticCurve::P384,
            (Self::EdDsa, AlgorithmParameters::OctetKeyPair(p)) => {
                p.curve == EllipticCurve::Ed25519
            }
            _ => false,
        }
    }
}

/// Where an issuer's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// A JWKS file, read at start and again (rate-limited) when a token names an unknown key.
    File(PathBuf),
    /// An `http://` or `https://` URL, fetched when needed (first use, unknown key),
    /// rate-limited.
    Url {
        /// The URL.
        url: String,
        /// What an `https://` URL's certificate must lead to (`jwks_ca_file`, or the system's).
        roots: super::TrustRoots,
    },
}

/// One trusted issuer, resolved from `[[authority.issuer]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerSettings {
    /// The authority name recorded in the disclosure log and the answer's notice.
    pub name: String,
    /// The `iss` value, exactly.
    pub iss: String,
    /// The `aud` value a token must carry (this registry's identifier at the provider).
    pub audience: String,
    /// The issuer's keys.
    pub jwks: JwksSource,
    /// The algorithms its tokens may use.
    pub algorithms: Vec<Alg>,
    /// The purposes its officers may state at most (further narrowed by each token's claim).
    pub purposes: Vec<Purpose>,
    /// Jurisdiction label, recorded with each disclosure.
    pub jurisdiction: String,
}

/// Federation settings, resolved from `[authority]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederationSettings {
    /// The trusted issuers.
    pub issuers: Vec<IssuerSettings>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub clock_skew: Duration,
    /// Least time between two JWKS refreshes of one issuer.
    pub jwks_refresh: Duration,
    /// `rdap_allowed_purposes` value → rddsd purposes.
    pub claim_purposes: Vec<(String, Vec<Purpose>)>,
}

/// The claim table used unless the config has `[authority.claim_purposes]`: RFC 9560 purpose
/// values (the IANA "RDAP Query Purpose" registry) that concern public authorities, and the
/// rddsd purposes each allows. Other values (registrant self-service, research, sale, …)
/// allow nothing here.
pub const DEFAULT_CLAIM_PURPOSES: &[(&str, &[Purpose])] = &[
    (
        "criminalInvestigationAndDNSAbuseMitigation",
        &[
            Purpose::CriminalInvestigation,
            Purpose::UrgentThreatToLife,
            Purpose::CybersecurityIncident,
        ],
    ),
    (
        "regulatoryAndContractEnforcement",
        &[Purpose::ConsumerProtection],
    ),
    ("legalActions", &[Purpose::CourtOrder]),
];

/// The default claim table as settings.
pub fn default_claim_purposes() -> Vec<(String, Vec<Purpose>)> {
    DEFAULT_CLAIM_PURPOSES
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.to_vec()))
        .collect()
}

/// A verified federated identity: what the grant and the log need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedIdentity {
    /// Stable id for rate limits and the log: `jwt-` and 16 hex digits of SHA-256(iss, sub).
    pub id: String,
    /// The issuer's configured name.
    pub authority: String,
    /// The issuer's `iss`.
    pub issuer: String,
    /// The token's `sub`.
    pub subject: String,
    /// The issuer's jurisdiction label.
    pub jurisdiction: String,
    /// Purposes the request may state: the claim's, mapped, within the issuer's.
    pub purposes: Vec<Purpose>,
    /// The `rdap_dnt_allowed` claim (RFC 9560 §3.1.5.2), false when absent.
    pub dnt_allowed: bool,
}

/// Why a token is refused. All are answered 401; the kind is for the server log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtFailure {
    /// Past `exp` (plus skew).
    Expired,
    /// Anything else, with the reason.
    Invalid(&'static str),
}

struct Key {
    decoding: DecodingKey,
    params: AlgorithmParameters,
    alg: Option<Algorithm>,
}

struct IssuerState {
    settings: IssuerSettings,
    /// Where a `jwks_url` is fetched from, prepared at start (`None` for a `jwks_file`).
    endpoint: Option<Endpoint>,
    keys: ArcSwap<HashMap<String, Arc<Key>>>,
    /// When the JWKS was last loaded or a load was last tried (`None`: never).
    last_load: Mutex<Option<Instant>>,
    /// JWKS loads started, for the server log and tests.
    loads: AtomicU64,
}

/// The trusted issuers and their keys.
pub struct Federation {
    issuers: Vec<IssuerState>,
    clock_skew: Duration,
    jwks_refresh: Duration,
    claim_purposes: HashMap<String, Vec<Purpose>>,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Federation")
            .field("issuers", &self.issuers.len())
            .finish_non_exhaustive()
    }
}

/// Whether a bearer token is a JWT (three base64url parts) rather than a registry credential
/// (`rdds_<id>_<secret>`, which has no dots).
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3 && !token.starts_with("rdds_")
}

/// Parse a JWKS document into the keys an issuer can use: signature keys with a `kid`, of a
/// type one of `algorithms` fits, at most [`MAX_KEYS`]. Pure.
///
/// # Errors
/// Not a JWKS, or no usable key at all.
fn parse_jwks(bytes: &[u8], algorithms: &[Alg]) -> Result<HashMap<String, Arc<Key>>, JwksError> {
    let set: JwkSet = serde_json::from_slice(bytes).map_err(JwksError::NotJwks)?;
    let mut keys = HashMap::new();
    for jwk in set.keys.iter().take(MAX_KEYS) {
        if let Some(key) = usable(jwk, algorithms) {
            if let Some(kid) = &jwk.common.key_id {
                keys.insert(kid.clone(), Arc::new(key));
            }
        }
    }
    if keys.is_empty() {
        return Err(JwksError::NoUsableKey(
            algorithms
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    Ok(keys)
}

fn usable(jwk: &Jwk, algorithms: &[Alg]) -> Option<Key> {
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return None;
    }
    let alg = match jwk.common.key_algorithm {
        // A key for another algorithm (an encryption one, say) is not a signature key.
        Some(a) => Some(a.to_string().parse::<Algorithm>().ok()?),
        None => None,
    };
    if !algorithms.iter().any(|a| a.fits(&jwk.algorithm)) {
        return None;
    }
    Some(Key {
        decoding: DecodingKey::from_jwk(jwk).ok()?,
        params: jwk.algorithm.clone(),
        alg,
    })
}

#[derive(Deserialize)]
struct IssOnly {
    iss: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    rdap_allowed_purposes: Option<serde_json::Value>,
    #[serde(default)]
    rdap_dnt_allowed: Option<serde_json::Value>,
}

impl Federation {
    /// Set up the issuers; JWKS files are read now (an unreadable one is an error), URLs on
    /// first use, with their TLS setup made now.
    ///
    /// # Errors
    /// A JWKS file that cannot be read or has no usable key, naming the file; an `https://`
    /// URL without trust roots (an empty system store).
    pub fn new(settings: &FederationSettings) -> Result<Self, FederationError> {
        let mut issuers = Vec::with_capacity(settings.issuers.len());
        for s in &settings.issuers {
            let endpoint = match &s.jwks {
                JwksSource::File(_) => None,
                JwksSource::Url { url, roots } => Some(Endpoint::new(url, roots).map_err(
                    |source| FederationError::Url {
                        iss: s.iss.clone(),
                        source,
                    },
                )?),
            };
            let state = IssuerState {
                settings: s.clone(),
                endpoint,
                keys: ArcSwap::from_pointee(HashMap::new()),
                last_load: Mutex::new(None),
                loads: AtomicU64::new(0),
            };
            if let JwksSource::File(path) = &s.jwks {
                let keys = read_jwks_file(path, &s.algorithms).map_err(|source| {
                    FederationError::File {
                        iss: s.iss.clone(),
                        file: path.clone(),
                        source,
                    }
                })?;
                state.keys.store(Arc::new(keys));
                *lock(&state.last_load) = Some(Instant::now());
            }
            issuers.push(state);
        }
        Ok(Self {
            issuers,
            clock_skew: settings.clock_skew,
            jwks_refresh: settings.jwks_refresh,
            claim_purposes: settings.claim_purposes.iter().cloned().collect(),
        })
    }

    /// The configured issuers: `(iss, name)`, for `/help`.
    pub fn providers(&self) -> Vec<(String, String)> {
        self.issuers
            .iter()
            .map(|i| (i.settings.iss.clone(), i.settings.name.clone()))
            .collect()
    }

    /// JWKS loads started for the issuer `iss` (for tests and diagnostics).
    pub fn jwks_loads(&self, iss: &str) -> u64 {
        self.issuers
            .iter()
            .find(|i| i.settings.iss == iss)
            .map_or(0, |i| i.loads.load(Ordering::Relaxed))
    }

    /// Verify a token (see the module documentation for the checks).
    ///
    /// # Errors
    /// Why it is refused; nothing about the token is kept.
    pub async fn verify(&self, token: &str) -> Result<FederatedIdentity, JwtFailure> {
        use JwtFailure::Invalid;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Invalid("token too long"));
        }
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| Invalid("unreadable header"))?;
        let kid = header.kid.as_deref().ok_or(Invalid("no kid"))?;
        let issuer = self.issuer_of(token)?;
        let alg = Alg::of(header.alg)
            .filter(|a| issuer.settings.algorithms.contains(a))
            .ok_or(Invalid("algorithm not pinned for this issuer"))?;
        let key = self.key(issuer, kid).await.ok_or(Invalid("unknown key"))?;
        if !alg.fits(&key.params) || key.alg.is_some_and(|a| a != header.alg) {
            return Err(Invalid("key does not fit the algorithm"));
        }
        let mut v = Validation::new(alg.jwt());
        v.leeway = self.clock_skew.as_secs();
        v.validate_nbf = true;
        v.set_issuer(&[&issuer.settings.iss]);
        v.set_audience(&[&issuer.settings.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &v).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => JwtFailure::Expired,
                ErrorKind::ImmatureSignature => Invalid("not yet valid"),
                ErrorKind::InvalidSignature => Invalid("bad signature"),
                ErrorKind::InvalidAudience => Invalid("wrong audience"),
                ErrorKind::InvalidIssuer => Invalid("wrong issuer"),
                _ => Invalid("invalid token"),
            }
        })?;
        self.identity(issuer, data.claims)
    }

    fn issuer_of(&self, token: &str) -> Result<&IssuerState, JwtFailure> {
        // Read unverified only to choose which issuer's keys and rules verify it; the
        // verification checks `iss` again.
        let payload = token
            .split('.')
            .nth(1)
            .ok_or(JwtFailure::Invalid("not a JWT"))?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| JwtFailure::Invalid("unreadable payload"))?;
        let iss = serde_json::from_slice::<IssOnly>(&bytes)
            .ok()
            .and_then(|c| c.iss)
            .ok_or(JwtFailure::Invalid("no iss"))?;
        self.issuers
            .iter()
            .find(|i| i.settings.iss == iss)
            .ok_or(JwtFailure::Invalid("untrusted issuer"))
    }

    fn identity(
        &self,
        issuer: &IssuerState,
        claims: Claims,
    ) -> Result<FederatedIdentity, JwtFailure> {
        let sub = claims.sub;
        if sub.is_empty() || sub.chars().count() > 255 || sub.chars().any(char::is_control) {
            return Err(JwtFailure::Invalid("bad sub"));
        }
        let stated: Vec<String> = match claims.rdap_allowed_purposes {
            None => Vec::new(),
            Some(serde_json::Value::Array(a)) if a.len() <= MAX_CLAIM_PURPOSES => a
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => Ok(s),
                    _ => Err(JwtFailure::Invalid("rdap_allowed_purposes is not strings")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(JwtFailure::Invalid("bad rdap_allowed_purposes")),
        };
        let dnt_allowed = match claims.rdap_dnt_allowed {
            None => false,
            Some(serde_json::Value::Bool(b)) => b,
            Some(_) => return Err(JwtFailure::Invalid("bad rdap_dnt_allowed")),
        };
        let mut purposes: Vec<Purpose> = stated
            .iter()
            .filter_map(|s| self.claim_purposes.get(s))
            .flatten()
            .copied()
            .filter(|p| issuer.settings.purposes.contains(p))
            .collect();
        purposes.sort_unstable();
        purposes.dedup();
        let s = &issuer.settings;
        let digest = sha256_hex(format!("{}\n{sub}", s.iss).as_bytes());
        Ok(FederatedIdentity {
            id: format!("jwt-{}", &digest[..16]),
            authority: s.name.clone(),
            issuer: s.iss.clone(),
            subject: sub,
            jurisdiction: s.jurisdiction.clone(),
            purposes,
            dnt_allowed,
        })
    }

    /// The issuer's key `kid`, refreshing its JWKS first if the key is unknown and the last
    /// load is at least `jwks_refresh` ago (or there was none). Only one refresh per interval
    /// starts, whatever the number of requests naming unknown keys.
    async fn key(&self, issuer: &IssuerState, kid: &str) -> Option<Arc<Key>> {
        if let Some(k) = issuer.keys.load().get(kid) {
            return Some(Arc::clone(k));
        }
        {
            let mut last = lock(&issuer.last_load);
            let now = Instant::now();
            if last.is_some_and(|t| now.saturating_duration_since(t) < self.jwks_refresh) {
                return None;
            }
            *last = Some(now);
        }
        issuer.loads.fetch_add(1, Ordering::Relaxed);
        let s = &issuer.settings;
        let loaded = match (&s.jwks, &issuer.endpoint) {
            (JwksSource::File(path), _) => read_jwks_file(path, &s.algorithms),
            (JwksSource::Url { .. }, Some(endpoint)) => fetch_jwks(endpoint)
                .await
                .and_then(|b| parse_jwks(&b, &s.algorithms)),
            // `new` prepares an endpoint for every URL; kept as an error, not a panic.
            (JwksSource::Url { .. }, None) => Err(JwksError::NoEndpoint),
        };
        match loaded {
            Ok(keys) => {
                tracing::info!(issuer = %s.iss, keys = keys.len(), "JWKS loaded");
                issuer.keys.store(Arc::new(keys));
            }
            // The old keys stay: a failed refresh must not lock every officer out.
            Err(e) => tracing::warn!(issuer = %s.iss, error = %e, "JWKS not loaded"),
        }
        issuer.keys.load().get(kid).cloned()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read_jwks_file(
    path: &std::path::Path,
    algorithms: &[Alg],
) -> Result<HashMap<String, Arc<Key>>, JwksError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(JwksError::Read)?;
    let mut bytes = Vec::new();
    file.take(MAX_JWKS_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(JwksError::Read)?;
    if bytes.len() > MAX_JWKS_BYTES {
        return Err(JwksError::TooLarge);
    }
    parse_jwks(&bytes, algorithms)
}

/// GET a JWKS over `http://` or `https://`, within [`FETCH_TIMEOUT`] (connection, TLS
/// handshake and answer together) and [`MAX_JWKS_BYTES`].
async fn fetch_jwks(endpoint: &Endpoint) -> Result<Vec<u8>, JwksError> {
    tokio::time::timeout(FETCH_TIMEOUT, fetch_jwks_inner(endpoint))
        .await
        .map_err(|_| JwksError::Timeout)?
}

async fn fetch_jwks_inner(endpoint: &Endpoint) -> Result<Vec<u8>, JwksError> {
    use http_body_util::{BodyExt, Empty, Limited};
    let (mut sender, authority) = endpoint.connect::<Empty<bytes::Bytes>>().await?;
    let path = endpoint.uri().path_and_query().map_or("/", |p| p.as_str());
    let req = hyper::Request::get(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::ACCEPT, "application/json")
        .body(Empty::<bytes::Bytes>::new())
        .map_err(JwksError::Request)?;
    let resp = sender.send_request(req).await.map_err(JwksError::Send)?;
    if !resp.status().is_success() {
        return Err(JwksError::Status(resp.status().as_u16()));
    }
    let body = Limited::new(resp.into_body(), MAX_JWKS_BYTES)
        .collect()
        .await
        .map_err(JwksError::Body)?
        .to_bytes();
    Ok(body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_and_hmac_cannot_be_pinned() {
        for bad in ["none", "NONE", "HS256", "hs384", "HS512"] {
            assert!(Alg::parse(bad).is_err(), "{bad}");
        }
        assert!(Alg::parse("RS1")
            .expect_err("unknown")
            .to_string()
            .contains("one of"));
        assert_eq!(Alg::parse("EdDSA"), Ok(Alg::EdDsa));
        assert_eq!(Alg::parse("ES256"), Ok(Alg::Es256));
    }

    #[test]
    fn registry_tokens_are_not_jwts() {
        assert!(!looks_like_jwt("rdds_0123456789abcdef_00ff"));
        assert!(looks_like_jwt("eyJ.eyJ.sig"));
        assert!(!looks_like_jwt("a.b"));
    }

    #[test]
    fn jwks_keeps_only_keys_that_fit() {
        // An Ed25519 key with a kid, one without, an encryption key and a symmetric key.
        let doc = br#"{"keys":[
            {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"a"},
            {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"e","use":"enc"},
            {"kty":"oct","k":"c2VjcmV0","kid":"h"}
        ]}"#;
        let keys = parse_jwks(doc, &[Alg::EdDsa]).expect("one key");
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["a"]);
        assert!(parse_jwks(doc, &[Alg::Es256]).is_err(), "no P-256 key");
        assert!(parse_jwks(b"{}", &[Alg::EdDsa]).is_err());
    }
}
