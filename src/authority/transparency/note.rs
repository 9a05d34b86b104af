//! Keys, checkpoints and cosignatures in the C2SP text formats, so existing transparency
//! tooling reads them:
//!
//! - a checkpoint (c2sp.org/tlog-checkpoint) is the text `<origin>\n<size>\n<base64 root>\n`,
//!   signed as a note (c2sp.org/signed-note): a blank line, then `— <key name> <base64 of key ID
//!   and Ed25519 signature>` lines. The log's key name is the origin.
//! - keys are the note formats: the verifier key `<name>+<key ID hex>+<base64 of 0x01 and the
//!   public key>` and the signer key `PRIVATE+KEY+<name>+<key ID>+<base64 of 0x01 and the seed>`
//!   (the `signed_note` crate parses both and signs; this module adds key files and checks).
//! - a witness cosignature (c2sp.org/tlog-cosignature) is a note signature by a key of type
//!   0x04 over `cosignature/v1\ntime <t>\n<checkpoint text>`; its bytes are the key ID, the time
//!   (8 bytes big-endian) and the Ed25519 signature. `signed_note` has no cosignature type, so
//!   it is written here on `ed25519-dalek`.

use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};
use signed_note::{Note, Signature, StandardSigner, StandardVerifier, Verifier, VerifierList};

use super::tree::Hash;

/// The note signature type of plain Ed25519 keys.
const ALG_ED25519: u8 = 0x01;
/// The note signature type of `cosignature/v1` witness keys.
const ALG_COSIGNATURE_V1: u8 = 0x04;

/// A checkpoint's contents, parsed from a note whose signature was verified.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointBody {
    /// The log's origin (also its key name).
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash of the tree of that size.
    pub root: Hash,
}

fn key_id(name: &str, key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Whether `name` may be a key name and origin: non-empty, printable, no spaces or `+`.
pub fn valid_name(name: &str) -> bool {
    signed_note::is_key_name_valid(name) && !name.chars().any(char::is_control)
}

/// Why a note key, signed note or cosignature was refused.
#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    /// A key name the note format cannot carry.
    #[error("{0:?} is not a valid key name: use the log's origin, such as rdap.nic.example/disclosures (no spaces or '+')")]
    BadName(String),
    /// No randomness for a new key.
    #[error("no secure randomness: {0}")]
    Randomness(getrandom::Error),
    /// Not a signer key.
    #[error("not a signer key (expected PRIVATE+KEY+<name>+<id>+<key>)")]
    NotASigner,
    /// A signer key whose ID does not match.
    #[error("signer key: its key ID does not match its name and key")]
    SignerId,
    /// The log key is not Ed25519.
    #[error("the log key must be an Ed25519 note key (type 0x01)")]
    LogKeyType,
    /// The note library refused the signer key.
    #[error("signer key: {0}")]
    Signer(String),
    /// A key file that cannot be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A key file whose content is refused.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        source: Box<NoteError>,
    },
    /// The note library could not make a note.
    #[error("{0}")]
    Sign(String),
    /// A line that is not a verifier key.
    #[error("line {line}: not a verifier key: {reason}")]
    NotAVerifier {
        /// 1-based line.
        line: usize,
        /// The note library's reason.
        reason: String,
    },
    /// No verifier key at all.
    #[error("no verifier key")]
    NoVerifier,
    /// Not a signed note.
    #[error("not a signed note")]
    NotANote,
    /// Signed by none of the keys.
    #[error("not signed by the log's key (wrong or unknown key)")]
    Unverified,
    /// A signature that does not verify.
    #[error("the signature does not verify: the checkpoint was altered or forged")]
    BadSignature,
    /// Another failure of the signature check.
    #[error("signature check failed: {0}")]
    SignatureCheck(String),
    /// A note whose text is not a checkpoint.
    #[error("not a C2SP checkpoint")]
    NotACheckpoint,
    /// A checkpoint whose origin is not its signer.
    #[error("the checkpoint's origin {0:?} is not the name of the key that signed it")]
    OriginNotSigner(String),
    /// A witness key of another type.
    #[error("a witness key must be a cosignature/v1 key (type 0x04)")]
    WitnessKeyType,
    /// Not a witness verifier key.
    #[error("not a witness verifier key (<name>+<id>+<base64 key>)")]
    NotAWitnessKey,
    /// A witness key whose ID does not match.
    #[error("witness key: its key ID does not match its name and key")]
    WitnessId,
    /// A witness key of an unsupported algorithm.
    #[error("witness key: only cosignature/v1 (0x04) and Ed25519 (0x01) keys")]
    WitnessAlg,
    /// Not a signature line.
    #[error("not a note signature line")]
    NotASignatureLine,
    /// A signature by another key.
    #[error("the signature is by another key")]
    OtherKey,
    /// A key type and signature length that do not go together.
    #[error("unsupported witness key type or signature length")]
    UnsupportedSignature,
    /// A signature of the wrong length.
    #[error("bad signature length")]
    SignatureLength,
    /// A witness signature that does not verify.
    #[error("the witness signature does not verify")]
    WitnessSignature,
}

/// A new Ed25519 key pair for `name`: (signer key, verifier key), as note key strings.
///
/// # Errors
/// An invalid name or no system randomness.
pub fn generate(name: &str, alg: u8) -> Result<(String, String), NoteError> {
    if !valid_name(name) {
        return Err(NoteError::BadName(name.to_string()));
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(NoteError::Randomness)?;
    let sk = SigningKey::from_bytes(&seed);
    let public = [&[alg][..], sk.verifying_key().as_bytes()].concat();
    let private = [&[alg][..], &seed[..]].concat();
    let id = key_id(name, &public);
    Ok((
        format!("PRIVATE+KEY+{name}+{id:08x}+{}", B64.encode(private)),
        format!("{name}+{id:08x}+{}", B64.encode(public)),
    ))
}

/// The verifier key of a signer key.
///
/// # Errors
/// A malformed signer key.
pub fn verifier_key(skey: &str) -> Result<String, NoteError> {
    let (name, alg, sk) = parse_signer(skey)?;
    let public = [&[alg][..], sk.verifying_key().as_bytes()].concat();
    Ok(format!(
        "{name}+{:08x}+{}",
        key_id(&name, &public),
        B64.encode(public)
    ))
}

fn parse_signer(skey: &str) -> Result<(String, u8, SigningKey), NoteError> {
    let bad = || NoteError::NotASigner;
    let rest = skey.trim().strip_prefix("PRIVATE+KEY+").ok_or_else(bad)?;
    // The base64 key may itself hold '+': split off the name and ID only.
    let mut parts = rest.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let key = B64.decode(key).map_err(|_| bad())?;
    let (&alg, seed) = key.split_first().ok_or_else(bad)?;
    let seed: [u8; 32] = seed.try_into().map_err(|_| bad())?;
    let sk = SigningKey::from_bytes(&seed);
    let public = [&[alg][..], sk.verifying_key().as_bytes()].concat();
    if !valid_name(name) || u32::from_str_radix(id, 16).ok() != Some(key_id(name, &public)) {
        return Err(NoteError::SignerId);
    }
    Ok((name.to_string(), alg, sk))
}

/// The log's signing key, loaded from its key file.
#[derive(Clone)]
pub struct LogKey {
    signer: StandardSigner,
    name: String,
    vkey: String,
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        write!(f, "LogKey({})", self.vkey)
    }
}

impl LogKey {
    /// Parse a signer key string.
    ///
    /// # Errors
    /// A malformed key, or one that is not an Ed25519 note key.
    pub fn parse(skey: &str) -> Result<Self, NoteError> {
        let (name, alg, _) = parse_signer(skey)?;
        if alg != ALG_ED25519 {
            return Err(NoteError::LogKeyType);
        }
        let signer =
            StandardSigner::new(skey.trim()).map_err(|e| NoteError::Signer(e.to_string()))?;
        Ok(Self {
            signer,
            vkey: verifier_key(skey)?,
            name,
        })
    }

    /// Read a key file written by `rddsd audit keygen`.
    ///
    /// # Errors
    /// An unreadable or malformed file, named.
    pub fn load(path: &Path) -> Result<Self, NoteError> {
        let text = std::fs::read_to_string(path).map_err(|source| NoteError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|e| NoteError::File {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }

    /// The key name, which is the checkpoints' origin.
    pub fn origin(&self) -> &str {
        &self.name
    }

    /// The public verifier key.
    pub fn verifier_key(&self) -> &str {
        &self.vkey
    }

    /// Sign a checkpoint for the tree of `size` leaves and `root`: the whole signed note.
    ///
    /// # Errors
    /// Signing failed.
    pub fn sign_checkpoint(&self, size: u64, root: &Hash) -> Result<String, NoteError> {
        let text = checkpoint_text(&self.name, size, root);
        let sign = |e: &dyn std::fmt::Display| NoteError::Sign(e.to_string());
        let mut note = Note::new(text.as_bytes(), &[]).map_err(|e| sign(&e))?;
        note.add_sigs(&[&self.signer]).map_err(|e| sign(&e))?;
        String::from_utf8(note.to_bytes()).map_err(|e| sign(&e))
    }
}

/// The C2SP checkpoint text (the signed part of the note).
pub fn checkpoint_text(origin: &str, size: u64, root: &Hash) -> String {
    format!("{origin}\n{size}\n{root}\n")
}

/// Parse verifier keys, one per line (blank lines and `#` comments skipped).
///
/// # Errors
/// A malformed key, with its line.
pub fn parse_verifiers(text: &str) -> Result<Vec<StandardVerifier>, NoteError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(
            StandardVerifier::new(line).map_err(|e| NoteError::NotAVerifier {
                line: i + 1,
                reason: e.to_string(),
            })?,
        );
    }
    if out.is_empty() {
        return Err(NoteError::NoVerifier);
    }
    Ok(out)
}

/// Read public keys from a file (`rddsd audit keygen` prints and writes them).
///
/// # Errors
/// Unreadable file or a malformed key, naming the file and line.
pub fn load_verifiers(path: &Path) -> Result<Vec<StandardVerifier>, NoteError> {
    let text = std::fs::read_to_string(path).map_err(|source| NoteError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_verifiers(&text).map_err(|e| NoteError::File {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

/// Verify a signed checkpoint with the log's public keys and parse it. The origin must be the
/// name of the key that signed it.
///
/// # Errors
/// Malformed, unsigned by any of the keys, signed wrongly, or a malformed body.
pub fn open_checkpoint(
    note: &[u8],
    keys: &[StandardVerifier],
) -> Result<CheckpointBody, NoteError> {
    let parsed = Note::from_bytes(note).map_err(|_| NoteError::NotANote)?;
    let list = VerifierList::new(
        keys.iter()
            .map(|k| Box::new(k.clone()) as Box<dyn Verifier>)
            .collect(),
    );
    let (verified, _) = parsed.verify(&list).map_err(|e| match e {
        signed_note::NoteError::UnverifiedNote => NoteError::Unverified,
        signed_note::NoteError::InvalidSignature { .. } => NoteError::BadSignature,
        other => NoteError::SignatureCheck(other.to_string()),
    })?;
    let body =
        tlog_tiles::Checkpoint::from_bytes(parsed.text()).map_err(|_| NoteError::NotACheckpoint)?;
    if !verified.iter().any(|s| s.name() == body.origin()) {
        return Err(NoteError::OriginNotSigner(body.origin().to_string()));
    }
    Ok(CheckpointBody {
        origin: body.origin().to_string(),
        size: body.size(),
        root: *body.hash(),
    })
}

/// Parse a checkpoint without checking any signature (to report what a refused one claims).
///
/// # Errors
/// Not a signed note holding a checkpoint.
pub fn peek_checkpoint(note: &[u8]) -> Result<CheckpointBody, NoteError> {
    let parsed = Note::from_bytes(note).map_err(|_| NoteError::NotANote)?;
    let body =
        tlog_tiles::Checkpoint::from_bytes(parsed.text()).map_err(|_| NoteError::NotACheckpoint)?;
    Ok(CheckpointBody {
        origin: body.origin().to_string(),
        size: body.size(),
        root: *body.hash(),
    })
}

/// A witness key for `cosignature/v1` (what `rddsd audit witness` signs with).
pub struct Cosigner {
    name: String,
    id: u32,
    key: SigningKey,
}

impl Cosigner {
    /// Parse a `cosignature/v1` signer key (type 0x04).
    ///
    /// # Errors
    /// A malformed key or another type.
    pub fn parse(skey: &str) -> Result<Self, NoteError> {
        let (name, alg, key) = parse_signer(skey)?;
        if alg != ALG_COSIGNATURE_V1 {
            return Err(NoteError::WitnessKeyType);
        }
        let public = [&[alg][..], key.verifying_key().as_bytes()].concat();
        Ok(Self {
            id: key_id(&name, &public),
            name,
            key,
        })
    }

    /// The signature line (`— name base64`) cosigning `checkpoint_text` at `time` (Unix s).
    pub fn cosign(&self, checkpoint_text: &str, time: u64) -> String {
        let msg = format!("cosignature/v1\ntime {time}\n{checkpoint_text}");
        let sig = self.key.sign(msg.as_bytes());
        let mut bytes = self.id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&time.to_be_bytes());
        bytes.extend_from_slice(&sig.to_bytes());
        format!("— {} {}\n", self.name, B64.encode(bytes))
    }
}

/// Generate a witness key pair (type 0x04): (signer key, verifier key).
///
/// # Errors
/// As [`generate`].
pub fn generate_witness(name: &str) -> Result<(String, String), NoteError> {
    generate(name, ALG_COSIGNATURE_V1)
}

/// Generate a log key pair (Ed25519 note key, type 0x01): (signer key, verifier key).
///
/// # Errors
/// As [`generate`].
pub fn generate_log(name: &str) -> Result<(String, String), NoteError> {
    generate(name, ALG_ED25519)
}

/// Parse a witness verifier key: (name, key ID, type, public key). Types 0x04
/// (`cosignature/v1`) and 0x01 (Ed25519 note signatures) are accepted.
///
/// # Errors
/// A malformed key, a key ID that does not match, or another type.
pub fn parse_witness_key(vkey: &str) -> Result<(String, u32, u8, VerifyingKey), NoteError> {
    let bad_key = || NoteError::NotAWitnessKey;
    let mut parts = vkey.trim().splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad_key());
    };
    let key = B64.decode(key).map_err(|_| bad_key())?;
    let id = u32::from_str_radix(id, 16).map_err(|_| bad_key())?;
    if !valid_name(name) || id != key_id(name, &key) {
        return Err(NoteError::WitnessId);
    }
    let (&alg, public) = key.split_first().ok_or_else(bad_key)?;
    if alg != ALG_COSIGNATURE_V1 && alg != ALG_ED25519 {
        return Err(NoteError::WitnessAlg);
    }
    let public: [u8; 32] = public.try_into().map_err(|_| bad_key())?;
    let vk = VerifyingKey::from_bytes(&public).map_err(|_| bad_key())?;
    Ok((name.to_string(), id, alg, vk))
}

/// Verify one witness signature line over a checkpoint's text with the witness's verifier key:
/// a `cosignature/v1` key (type 0x04, time-stamped) or a plain Ed25519 note key (type 0x01).
///
/// # Errors
/// A malformed key or line, another key's line, or a signature that does not verify.
pub fn verify_cosignature(
    witness_vkey: &str,
    checkpoint_text: &str,
    line: &str,
) -> Result<(), NoteError> {
    let (name, id, alg, vk) = parse_witness_key(witness_vkey)?;
    let sig = Signature::from_bytes(line.trim_end_matches('\n').as_bytes())
        .map_err(|_| NoteError::NotASignatureLine)?;
    if sig.name() != name || sig.id() != id {
        return Err(NoteError::OtherKey);
    }
    let bytes = sig.signature();
    let (msg, ed) = match alg {
        ALG_COSIGNATURE_V1 if bytes.len() == 8 + 64 => {
            let mut t = [0u8; 8];
            t.copy_from_slice(&bytes[..8]);
            let time = u64::from_be_bytes(t);
            (
                format!("cosignature/v1\ntime {time}\n{checkpoint_text}"),
                &bytes[8..],
            )
        }
        ALG_ED25519 if bytes.len() == 64 => (checkpoint_text.to_string(), bytes),
        _ => return Err(NoteError::UnsupportedSignature),
    };
    let ed: [u8; 64] = ed.try_into().map_err(|_| NoteError::SignatureLength)?;
    vk.verify(msg.as_bytes(), &ed25519_dalek::Signature::from_bytes(&ed))
        .map_err(|_| NoteError::WitnessSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed key (seed 0..32), so the golden checkpoint is reproducible: Ed25519 signatures
    /// are deterministic.
    fn fixed_key() -> LogKey {
        let seed: Vec<u8> = (0u8..32).collect();
        let public = {
            let sk = SigningKey::from_bytes(&seed.clone().try_into().expect("32"));
            [&[ALG_ED25519][..], sk.verifying_key().as_bytes()].concat()
        };
        let name = "rdap.nic.example/disclosures";
        let skey = format!(
            "PRIVATE+KEY+{name}+{:08x}+{}",
            key_id(name, &public),
            B64.encode([&[ALG_ED25519][..], &seed[..]].concat())
        );
        LogKey::parse(&skey).expect("key")
    }

    #[test]
    fn the_checkpoint_is_byte_for_byte_the_c2sp_format() {
        let key = fixed_key();
        let mut tree = super::super::tree::Tree::new();
        for i in 0..5 {
            tree.push(format!("entry {i}").as_bytes()).expect("push");
        }
        let note = key
            .sign_checkpoint(5, &tree.root(5).expect("root"))
            .expect("sign");
        let golden = include_str!("../../../tests/golden/checkpoint.txt");
        if std::env::var_os("RDDSD_BLESS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/checkpoint.txt");
            std::fs::write(path, &note).expect("bless");
        }
        assert_eq!(note, golden);
        // The structure the C2SP specs require, independently of our code: origin, decimal
        // size, base64 root, blank line, one em-dash signature line by the origin's key.
        let lines: Vec<&str> = golden.split('\n').collect();
        assert_eq!(lines[0], "rdap.nic.example/disclosures");
        assert_eq!(lines[1], "5");
        assert_eq!(B64.decode(lines[2]).expect("b64").len(), 32);
        assert_eq!(lines[3], "");
        assert!(lines[4].starts_with("— rdap.nic.example/disclosures "));
        let sig = B64
            .decode(lines[4].rsplit(' ').next().expect("sig"))
            .expect("b64");
        assert_eq!(sig.len(), 4 + 64);
        assert_eq!(lines[5], "");
        assert_eq!(lines.len(), 6);
        // And Go's note verifier key format for the public key.
        assert!(key
            .verifier_key()
            .starts_with("rdap.nic.example/disclosures+"));
    }

    #[test]
    fn a_checkpoint_opens_only_with_its_key_and_unaltered() {
        let (skey, vkey) = generate_log("log.example/x").expect("key");
        let key = LogKey::parse(&skey).expect("parse");
        assert_eq!(key.verifier_key(), vkey);
        let root = super::super::tree::leaf_hash(b"x");
        let note = key.sign_checkpoint(7, &root).expect("sign");
        let keys = parse_verifiers(&vkey).expect("vkey");
        let body = open_checkpoint(note.as_bytes(), &keys).expect("opens");
        assert_eq!((body.size, body.root), (7, root));
        // Another key of the same name.
        let (_, other) = generate_log("log.example/x").expect("key");
        let e = open_checkpoint(note.as_bytes(), &parse_verifiers(&other).expect("v"))
            .expect_err("wrong key")
            .to_string();
        assert!(e.contains("not signed by the log's key"), "{e}");
        // Edited size, edited root.
        let e = open_checkpoint(note.replacen("\n7\n", "\n8\n", 1).as_bytes(), &keys)
            .expect_err("size")
            .to_string();
        assert!(e.contains("altered or forged"), "{e}");
        let other_root = format!("{}", super::super::tree::leaf_hash(b"y"));
        let e = open_checkpoint(
            note.replacen(&format!("{root}"), &other_root, 1).as_bytes(),
            &keys,
        )
        .expect_err("root")
        .to_string();
        assert!(e.contains("altered or forged"), "{e}");
        assert!(open_checkpoint(b"garbage", &keys).is_err());
        assert!(LogKey::parse("PRIVATE+KEY+x+00000000+AAAA").is_err());
        assert!(generate_log("has space").is_err());
    }

    #[test]
    fn cosignatures_verify_only_for_their_checkpoint_and_key() {
        let (wsk, wvk) = generate_witness("witness.example").expect("key");
        let w = Cosigner::parse(&wsk).expect("cosigner");
        let text = checkpoint_text("log.example/x", 3, &super::super::tree::leaf_hash(b"r"));
        let line = w.cosign(&text, 1_700_000_000);
        verify_cosignature(&wvk, &text, &line).expect("verifies");
        let other = checkpoint_text("log.example/x", 4, &super::super::tree::leaf_hash(b"r"));
        assert!(verify_cosignature(&wvk, &other, &line).is_err());
        let (_, wvk2) = generate_witness("witness.example").expect("key");
        assert!(verify_cosignature(&wvk2, &text, &line).is_err());
        assert!(Cosigner::parse(&generate_log("a").expect("k").0).is_err());
    }
}
