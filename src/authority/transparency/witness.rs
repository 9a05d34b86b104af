//! Pushing checkpoints to witnesses, on a thread of its own so a slow witness never holds up
//! the log's writer.
//!
//! - A directory target gets the latest checkpoint as `<dir>/checkpoint` (replaced atomically).
//! - An HTTP target is spoken to with the C2SP tlog-witness protocol: `POST <url>/add-checkpoint`
//!   with `old <size>`, the consistency proof from that size (base64 lines), a blank line and the
//!   signed checkpoint. A `200` carries cosignature lines, which are verified with the witness's
//!   key and stored in `LOG.cosignatures`; a `409` carries the size the witness already has, and
//!   the push is retried once from there. `http://` or `https://` (verified against the
//!   witness's `ca_file` or the system's roots; see `authority::https_client`).

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};

use super::note::verify_cosignature;
use super::published::{store_cosignature, Published, StoredCosignature};
use super::store::Shared;
use super::WitnessTarget;
use crate::authority::https_client::Endpoint;

/// Time allowed for one witness request.
pub const WITNESS_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest witness answer read.
const MAX_ANSWER: usize = 64 * 1024;

/// Why a witness did not cosign a checkpoint (logged; the log goes on).
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The published checkpoint is not a note (it was just signed, so this is a bug).
    #[error("{0}")]
    Checkpoint(signed_note::NoteError),
    /// The checkpoint's text is not UTF-8.
    #[error("{0}")]
    Text(std::string::FromUtf8Error),
    /// No consistency proof from the witness's size.
    #[error(transparent)]
    Proof(#[from] super::tree::TreeError),
    /// The witness did not answer in time.
    #[error("no answer within {secs} s")]
    Timeout {
        /// The time allowed.
        secs: u64,
    },
    /// The connection, TLS handshake or HTTP handshake failed (`https_client`'s message).
    #[error("{0}")]
    Http(String),
    /// The request could not be built.
    #[error("{0}")]
    Request(hyper::http::Error),
    /// The request could not be sent or its answer did not come.
    #[error("request: {0}")]
    Send(hyper::Error),
    /// The answer's body could not be read (or was too large).
    #[error("answer: {0}")]
    Answer(Box<dyn std::error::Error + Send + Sync>),
    /// A `200` without a valid cosignature by the configured key.
    #[error("no cosignature by the configured witness key")]
    NoCosignature,
    /// A `409` whose body is not a tree size.
    #[error("409 without a tree size")]
    ConflictWithoutSize,
    /// The witness has seen a larger tree than this checkpoint's.
    #[error("the witness has already seen size {theirs}, larger than this checkpoint's {ours}: the log may have been rolled back")]
    AheadOfTheLog {
        /// The witness's size.
        theirs: u64,
        /// This checkpoint's size.
        ours: u64,
    },
    /// Another status.
    #[error("HTTP {status}: {excerpt}")]
    Status {
        /// The status code.
        status: u16,
        /// The answer's first 200 characters.
        excerpt: String,
    },
    /// A second `409` after retrying from the witness's size.
    #[error("the witness kept refusing the old size")]
    KeptRefusing,
}

/// Start the witness thread; `None` if it cannot start (logged; checkpoints still publish).
pub fn spawn(
    log: &Path,
    targets: Vec<WitnessTarget>,
    shared: Arc<Shared>,
) -> Option<SyncSender<Published>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(16);
    let log = log.to_path_buf();
    let targets = prepare(targets);
    let started = std::thread::Builder::new()
        .name("tlog-witness".into())
        .spawn(move || run(&log, &targets, &shared, &rx));
    match started {
        Ok(_) => Some(tx),
        Err(e) => {
            tracing::error!(error = %e, "cannot start the witness thread; checkpoints are not pushed");
            None
        }
    }
}

/// A witness ready to be spoken to: an HTTP one's URL parsed and its TLS setup built once.
enum Target {
    Dir(std::path::PathBuf),
    Http {
        url: String,
        key: String,
        // Boxed: a prepared URL and TLS setup are ten times the size of a directory path.
        endpoint: Box<Endpoint>,
    },
}

/// The targets that can be used; an HTTP witness whose endpoint cannot be prepared (an empty
/// system trust store) is logged and left out, like any witness failure: the log goes on.
fn prepare(targets: Vec<WitnessTarget>) -> Vec<Target> {
    targets
        .into_iter()
        .filter_map(|t| match t {
            WitnessTarget::Dir(dir) => Some(Target::Dir(dir)),
            WitnessTarget::Http { url, key, roots } => match Endpoint::new(&url, &roots) {
                Ok(endpoint) => Some(Target::Http {
                    url,
                    key,
                    endpoint: Box::new(endpoint),
                }),
                Err(e) => {
                    tracing::error!(witness = %url, error = %e, "witness unusable; checkpoints are not pushed to it");
                    None
                }
            },
        })
        .collect()
}

fn run(log: &Path, targets: &[Target], shared: &Shared, rx: &Receiver<Published>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the witness runtime; checkpoints are not pushed");
            return;
        }
    };
    // What each HTTP witness is known to have cosigned (it tells us with 409 otherwise).
    let mut known = vec![0u64; targets.len()];
    while let Ok(mut cp) = rx.recv() {
        // Only the newest checkpoint matters: it covers the older ones.
        while let Ok(newer) = rx.try_recv() {
            cp = newer;
        }
        for (target, old) in targets.iter().zip(known.iter_mut()) {
            match target {
                Target::Dir(dir) => {
                    if let Err(e) =
                        super::store::replace_file(&dir.join("checkpoint"), cp.note.as_bytes())
                    {
                        tracing::warn!(error = %e, "checkpoint not dropped for the witness");
                    }
                }
                Target::Http { url, key, endpoint } => {
                    match rt.block_on(push(endpoint, key, old, &cp, shared)) {
                        Ok(lines) => {
                            for signature in lines {
                                let stored = StoredCosignature {
                                    time: crate::registry::Timestamp::now().text().to_string(),
                                    size: cp.size,
                                    witness: key.clone(),
                                    signature,
                                };
                                if let Err(e) = store_cosignature(log, &stored) {
                                    tracing::warn!(error = %e, "cosignature not stored");
                                }
                            }
                            tracing::info!(size = cp.size, witness = %url, "checkpoint cosigned");
                        }
                        Err(e) => {
                            tracing::warn!(witness = %url, error = %e, "witness did not cosign the checkpoint")
                        }
                    }
                }
            }
        }
    }
}

/// The request body of `add-checkpoint`.
pub fn add_checkpoint_body(old: u64, proof: &[super::tree::Hash], note: &str) -> String {
    let mut body = format!("old {old}\n");
    for h in proof {
        body.push_str(&format!("{h}\n"));
    }
    body.push('\n');
    body.push_str(note);
    body
}

/// Push one checkpoint; on success, the verified cosignature lines.
async fn push(
    endpoint: &Endpoint,
    key: &str,
    old: &mut u64,
    cp: &Published,
    shared: &Shared,
) -> Result<Vec<String>, WitnessError> {
    let text = signed_note::Note::from_bytes(cp.note.as_bytes())
        .map_err(WitnessError::Checkpoint)?
        .text()
        .to_vec();
    let text = String::from_utf8(text).map_err(WitnessError::Text)?;
    for _attempt in 0..2 {
        let from = (*old).min(cp.size);
        let proof = shared.consistency(from, cp.size)?;
        let body = add_checkpoint_body(from, &proof, &cp.note);
        let (status, answer) = tokio::time::timeout(WITNESS_TIMEOUT, post(endpoint, body))
            .await
            .map_err(|_| WitnessError::Timeout {
                secs: WITNESS_TIMEOUT.as_secs(),
            })??;
        match status {
            200 => {
                let lines: Vec<String> = answer
                    .lines()
                    .filter(|l| !l.is_empty())
                    .filter(|l| verify_cosignature(key, &text, l).is_ok())
                    .map(|l| format!("{l}\n"))
                    .collect();
                if lines.is_empty() {
                    return Err(WitnessError::NoCosignature);
                }
                *old = cp.size;
                return Ok(lines);
            }
            409 => {
                let theirs: u64 = answer
                    .trim()
                    .parse()
                    .map_err(|_| WitnessError::ConflictWithoutSize)?;
                if theirs > cp.size {
                    return Err(WitnessError::AheadOfTheLog {
                        theirs,
                        ours: cp.size,
                    });
                }
                *old = theirs;
            }
            s => {
                let excerpt: String = answer.chars().take(200).collect();
                return Err(WitnessError::Status { status: s, excerpt });
            }
        }
    }
    Err(WitnessError::KeptRefusing)
}

/// One `add-checkpoint` request; the caller bounds its time (connection, TLS handshake and
/// answer together).
async fn post(endpoint: &Endpoint, body: String) -> Result<(u16, String), WitnessError> {
    let (mut sender, authority) = endpoint
        .connect::<Full<Bytes>>()
        .await
        .map_err(|e| WitnessError::Http(e.to_string()))?;
    let path = format!(
        "{}/add-checkpoint",
        endpoint.uri().path().trim_end_matches('/')
    );
    let req = hyper::Request::post(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::CONTENT_TYPE, "text/plain")
        .body(Full::new(Bytes::from(body)))
        .map_err(WitnessError::Request)?;
    let resp = sender.send_request(req).await.map_err(WitnessError::Send)?;
    let status = resp.status().as_u16();
    let bytes = Limited::new(resp.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(WitnessError::Answer)?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}
