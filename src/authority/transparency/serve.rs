//! The receipt route's answers (`GET /authority/receipt/<index>`): a receipt when the entry is
//! covered by a checkpoint, or why not yet.

use crate::authority::log::Entry;

/// A receipt route answer before HTTP framing.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Error title (RFC 9083 body) when `body` is `None`.
    pub title: &'static str,
    /// Error description.
    pub description: String,
    /// Access-log label.
    pub outcome: &'static str,
    /// A receipt or a pending answer, instead of the error body.
    pub body: Option<bytes::Bytes>,
    /// Seconds until the entry is covered (pending).
    pub retry_after: Option<u64>,
}

fn refuse(status: u16, title: &'static str, description: &str, outcome: &'static str) -> Answer {
    Answer {
        status,
        title,
        description: description.to_string(),
        outcome,
        body: None,
        retry_after: None,
    }
}

/// Answer `GET /authority/receipt/<index>` for an authenticated credential.
pub fn answer(shared: &super::store::Shared, credential: &str, index: &str) -> Answer {
    use super::store::Lookup;
    let index = match index.parse::<u64>() {
        Ok(i) if !index.starts_with('+') && index.len() <= 20 => i,
        _ => {
            return refuse(
                400,
                "Bad Request",
                "The receipt index must be a decimal leaf index (the RDDS-Log-Index header of the disclosure).",
                "bad-receipt-index",
            )
        }
    };
    let auditor = shared.auditors.iter().any(|a| a == credential);
    let owner_ok = |line: &str| {
        auditor
            || serde_json::from_str::<Entry>(line)
                .is_ok_and(|e| e.disclosure.is_some_and(|d| d.credential_id == credential))
    };
    let forbidden = || {
        refuse(
            403,
            "Forbidden",
            "Only the credential that made this disclosure, or an auditor credential, may fetch its receipt.",
            "receipt-forbidden",
        )
    };
    match shared.lookup(index) {
        Lookup::Missing => refuse(
            404,
            "Not Found",
            "The disclosure log has no entry with this index.",
            "not-found",
        ),
        Lookup::Pruned => refuse(
            410,
            "Gone",
            "This entry was removed by retention; its hash stays in the tree, so a receipt fetched earlier still verifies.",
            "receipt-pruned",
        ),
        Lookup::Pending { line, .. } | Lookup::Covered { line, .. } if !owner_ok(&line) => {
            forbidden()
        }
        Lookup::Pending { due, .. } => {
            let secs = due
                .duration_since(std::time::SystemTime::now())
                .map_or(0, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
                .max(1);
            let due_text = time::OffsetDateTime::from(due)
                .replace_nanosecond(0)
                .ok()
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                .unwrap_or_default();
            let body = serde_json::json!({
                "index": index,
                "status": "pending",
                "checkpointDue": due_text,
                "description": [format!("The entry is logged but not yet covered by a signed checkpoint. A checkpoint will cover it by {due_text}; fetch the receipt again then.")],
            });
            Answer {
                status: 202,
                title: "Accepted",
                description: String::new(),
                outcome: "receipt-pending",
                body: serde_json::to_vec(&body).ok().map(bytes::Bytes::from),
                retry_after: Some(secs),
            }
        }
        Lookup::Covered { receipt, .. } => Answer {
            status: 200,
            title: "OK",
            description: String::new(),
            outcome: "receipt",
            body: serde_json::to_vec(&receipt).ok().map(bytes::Bytes::from),
            retry_after: None,
        },
    }
}
