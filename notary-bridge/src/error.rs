//! The one error type of the notary bridge, client and witness alike.

use thiserror::Error;

/// Everything that can fail on the wire to a witness, or inside one.
///
/// Variants are sorted by what the caller does next: retry later; re-sync
/// and retry; fix the request; stop and alert a human (a partner refused,
/// or a log misbehaved); fix the local deployment.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BridgeError {
    // --- Retry later: nothing is known to be wrong with the request. ---
    /// The witness could not be reached, or the connection failed.
    #[error("witness unreachable: {0}")]
    Transport(String),
    /// The witness answered with a 5xx status.
    #[error("witness unavailable ({status}): {message}")]
    Unavailable {
        /// HTTP status.
        status: u16,
        /// The witness's words.
        message: String,
    },

    // --- Re-sync and retry. ---
    /// 409 with `text/x.tlog.size`: the witness last cosigned `witness_size`
    /// (c2sp.org/tlog-witness, add-checkpoint); resend with that old size.
    #[error("witness is at tree size {witness_size}")]
    Conflict {
        /// The size of the witness's latest cosigned checkpoint.
        witness_size: u64,
    },

    // --- Fix the request: the sender's fault (HTTP 400 / 413). ---
    /// Bytes that do not parse as the protocol says.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What failed to parse.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A body over the cap; rejected before decoding.
    #[error("{what} too large: {size} > {limit} bytes")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The cap.
        limit: usize,
    },

    // --- Stop and alert: a partner refused, or a log misbehaved. ---
    /// 404: the witness does not know the checkpoint's origin.
    #[error("unknown log: {0}")]
    UnknownLog(String),
    /// 403: no signature by the trusted log key verifies. A client also
    /// gets this for a log the witness froze; its message says which.
    #[error("log signature rejected: {0}")]
    BadLogSignature(String),
    /// 422: the consistency proof does not verify.
    #[error("consistency proof rejected: {0}")]
    BadProof(String),
    /// The log signed two checkpoints that cannot both be true; the
    /// evidence was written to `evidence` and the log is frozen.
    #[error("log {origin} equivocated ({reason}); evidence in {evidence}")]
    Equivocation {
        /// The log's origin.
        origin: String,
        /// True when it showed as a consistency proof that fails, false
        /// when as a second root for the same size (HTTP 422 both).
        proof_failed: bool,
        /// Why the two checkpoints are inconsistent.
        reason: String,
        /// Path of the evidence file on the witness.
        evidence: String,
    },
    /// 409 naming a size below one this witness cosigned for the client
    /// before: it lost or rolled back its state (a client-side finding).
    #[error("witness rolled back: it reports tree size {witness_size}, but cosigned size {cosigned} before")]
    Rollback {
        /// The size the witness now reports.
        witness_size: u64,
        /// The size it cosigned for us before.
        cosigned: u64,
    },
    /// The witness refuses this log for good: it equivocated before.
    #[error("log {origin} is frozen: {reason}")]
    Frozen {
        /// The log's origin.
        origin: String,
        /// The recorded reason.
        reason: String,
    },
    /// Any other 4xx from a witness, with its words.
    #[error("witness refused ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The witness's words.
        message: String,
    },
    /// The witness answered 200 but its answer is unusable (no valid
    /// cosignature by the key we trust, or garbage).
    #[error("bad answer from witness: {0}")]
    BadResponse(String),

    // --- Fix the local deployment. ---
    /// The consistency-proof callback of `anchor_to` failed.
    #[error("cannot get consistency proof: {0}")]
    ProofSource(String),
    /// Reading or writing the witness's data directory failed.
    #[error("storage: {0}")]
    Storage(String),
    /// Bad configuration (key file, vkey, URL, log list).
    #[error("config: {0}")]
    Config(String),
}

impl BridgeError {
    /// Shorthand for [`BridgeError::Malformed`].
    pub fn malformed(what: &'static str, reason: impl Into<String>) -> Self {
        BridgeError::Malformed { what, reason: reason.into() }
    }

    /// Wraps an I/O error with the path or step it concerns.
    pub fn storage(context: impl std::fmt::Display, err: std::io::Error) -> Self {
        BridgeError::Storage(format!("{context}: {err}"))
    }

    /// The HTTP status a witness answers with for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            BridgeError::Malformed { .. } => 400,
            BridgeError::TooLarge { .. } => 413,
            BridgeError::UnknownLog(_) => 404,
            BridgeError::BadLogSignature(_) | BridgeError::Frozen { .. } => 403,
            BridgeError::Conflict { .. } => 409,
            BridgeError::BadProof(_) => 422,
            // c2sp.org/tlog-witness (C2SP #280): an inconsistent request,
            // a failed proof or another root for the same size, is a 422.
            BridgeError::Equivocation { .. } => 422,
            BridgeError::Refused { status, .. } => *status,
            BridgeError::Transport(_)
            | BridgeError::Rollback { .. }
            | BridgeError::Unavailable { .. }
            | BridgeError::BadResponse(_)
            | BridgeError::ProofSource(_)
            | BridgeError::Storage(_)
            | BridgeError::Config(_) => 500,
        }
    }
}
