//! One line of the log: a disclosure or a prune checkpoint, its hash and its canonical form.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::DisclosedContact;

/// What one disclosure was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Disclosure {
    /// Request id, also sent to the authority.
    pub request_id: String,
    /// Authority name.
    pub authority: String,
    /// Credential id.
    pub credential_id: String,
    /// Client address as seen by the server.
    pub client: String,
    /// Stated purpose.
    pub purpose: String,
    /// Stated legal basis.
    pub legal_basis: String,
    /// Stated case reference.
    pub case_reference: String,
    /// The query path.
    pub query: String,
    /// Objects returned, e.g. `domain:D1002-EXAMPLE`.
    pub objects: Vec<String>,
    /// Per contact, the non-public fields disclosed.
    pub disclosed: Vec<DisclosedContact>,
    /// SHA-256 of the response body.
    pub response_sha256: String,
    /// The credential's jurisdiction, for reports (`audit stats --by jurisdiction`, the subject
    /// report). Absent in entries written before it was recorded; reports then look it up in
    /// the credentials file when they are given one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    /// RFC 3339 UTC time until which the authority asked that this disclosure be withheld from
    /// the person it concerns (`RDDS-Withhold-Until`): the subject report states only that an
    /// entry is withheld, and until when, before this time. Inside the hash chain like every
    /// other field, so it cannot be shortened or removed afterwards. Absent when not asked
    /// (and in entries written before it existed, which therefore hash and verify as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld_until: Option<String>,
    /// Which kind of credential was used: `registry` (issued by `rddsd authority add`) or `jwt`
    /// (from a trusted identity provider, RFC 9560). Absent in entries written before it was
    /// recorded (all of which used registry credentials), which therefore verify as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_kind: Option<String>,
    /// For a `jwt` credential: the identity provider (`iss`). Never the token itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// For a `jwt` credential: the officer as the identity provider names them (`sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// For a disclosure of an approved workflow request (`credentialKind` `request`, issue
    /// #25): the request's id, the officer who approved it and the rationale. Absent otherwise
    /// (and in entries written before it existed, which therefore verify as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<crate::policy::access::WorkflowRef>,
}

/// What a prune removed. The checkpoint entry stands in for the last removed entry: it carries
/// that entry's seq, its `prev` is that entry's hash, and the first kept entry chains from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Checkpoint {
    /// The prune date: only entries older than this were removed. Never later than the prune
    /// itself (the checkpoint entry's `time`).
    pub pruned_before: String,
    /// How many entries were removed since the log began (equal to the last removed seq).
    pub pruned_entries: u64,
    /// Sequence number of the last removed entry.
    pub pruned_through_seq: u64,
    /// Time of the last removed entry; older than `pruned_before`.
    pub pruned_through_time: String,
    /// Hash of the last removed entry: the anchor the rest of the log chains from.
    pub pruned_through_hash: String,
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Entry {
    /// Sequence number, one more than the previous entry's.
    pub seq: u64,
    /// RFC 3339 UTC time of the entry.
    pub time: String,
    /// A disclosure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclosure: Option<Disclosure>,
    /// A prune checkpoint (only ever the first line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
    /// Random salt (hex), so the entry's Merkle leaf hash cannot be confirmed by guessing its
    /// contents (transparency, issue #14). Absent in entries written without transparency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// Hash of the previous entry.
    pub prev: String,
    /// Hash of this entry.
    pub hash: String,
}

pub(super) fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// SHA-256 in lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

impl Entry {
    /// The hash this entry must carry.
    pub fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        // Serialising plain strings and integers cannot fail.
        let bytes = serde_json::to_vec(&unhashed).unwrap_or_default();
        sha256_hex(&bytes)
    }

    /// Set `hash` and serialise as one line with its line ending.
    pub fn sealed(mut self) -> (Self, Vec<u8>) {
        self.hash = self.compute_hash();
        let mut line = serde_json::to_vec(&self).unwrap_or_default();
        line.push(b'\n');
        (self, line)
    }
}
