//! The log's side of c2sp.org/tlog-witness: ask one witness to cosign a
//! checkpoint, re-syncing on 409. Blocking (reqwest::blocking): call it from
//! a thread or `spawn_blocking`, never directly on an async runtime.

use std::io::Read as _;
use std::time::Duration;

use reqwest::blocking::{Client, Response};

use reqwest::StatusCode;
use verifier::anykey::AnyVerifier;
use verifier::checkpoint::SignedCheckpoint;
use verifier::note::{Note, NoteSignature};
use verifier::Hash;

use crate::protocol::{self, CONTENT_TYPE_TLOG_SIZE, MAX_RESPONSE_BODY};
use crate::BridgeError;

/// How many add-checkpoint calls `anchor_to` makes at most (the first and
/// two re-syncs): a witness that moves more often than that is not settling.
pub const MAX_ANCHOR_ATTEMPTS: usize = 3;
/// Default timeout of one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest error text kept from a witness.
const MAX_ERROR_TEXT: usize = 1024;

/// A client of one witness, trusting one cosigning key.
pub struct WitnessClient {
    add_checkpoint_url: String,
    http: Client,
    witness: AnyVerifier,
}

impl WitnessClient {
    /// A client of the witness at `base_url` (its submission prefix, e.g.
    /// `http://127.0.0.1:7380`) whose cosignature/v1 vkey is `witness_vkey`.
    pub fn new(base_url: &str, witness_vkey: &str) -> Result<WitnessClient, BridgeError> {
        Self::with_timeout(base_url, witness_vkey, DEFAULT_TIMEOUT)
    }

    /// As [`WitnessClient::new`], with a per-request timeout.
    pub fn with_timeout(
        base_url: &str,
        witness_vkey: &str,
        timeout: Duration,
    ) -> Result<WitnessClient, BridgeError> {
        Self::with_options(base_url, witness_vkey, timeout, None)
    }

    /// As [`WitnessClient::new`], with a per-request timeout and, for a
    /// witness behind a private CA, the CA certificates (PEM) to trust
    /// besides the webpki roots. Redirects are never followed.
    pub fn with_options(
        base_url: &str,
        witness_vkey: &str,
        timeout: Duration,
        ca_pem: Option<&str>,
    ) -> Result<WitnessClient, BridgeError> {
        let witness = AnyVerifier::from_vkey(witness_vkey)
            .map_err(|e| BridgeError::Config(format!("witness vkey: {e}")))?;
        let http = crate::tls::partner_client(timeout, ca_pem)?;
        let add_checkpoint_url = format!("{}/add-checkpoint", base_url.trim_end_matches('/'));
        Ok(WitnessClient { add_checkpoint_url, http, witness })
    }

    /// The witness's key name.
    pub fn witness_name(&self) -> &str {
        self.witness.name()
    }

    /// One add-checkpoint call (c2sp.org/tlog-witness): returns the
    /// witness's cosignature, verified against its vkey. A 409 with
    /// `text/x.tlog.size` is [`BridgeError::Conflict`].
    pub fn add_checkpoint(
        &self,
        old_size: u64,
        proof: &[Hash],
        checkpoint: &Note,
    ) -> Result<NoteSignature, BridgeError> {
        let body = protocol::format_add_checkpoint(old_size, proof, checkpoint)?;
        let response = self
            .http
            .post(&self.add_checkpoint_url)
            .body(body)
            .send()
            .map_err(|e| BridgeError::Transport(e.to_string()))?;
        match response.status() {
            StatusCode::OK => self.cosignature_from(checkpoint, response),
            status => Err(refusal(status, response)),
        }
    }

    /// Gets `checkpoint` cosigned, starting from `old_size` (the size this
    /// witness last cosigned, as far as the caller knows; 0 if unknown).
    /// A 409 naming a size below `old_size` is [`BridgeError::Rollback`]:
    /// the witness forgot what it cosigned, which is never re-synced away.
    /// On another 409 it re-syncs to the size the witness reports and asks
    /// `fetch_proof(old)` for a consistency proof from `old` to the
    /// checkpoint's size, up to [`MAX_ANCHOR_ATTEMPTS`] calls in all.
    pub fn anchor_to<F>(
        &self,
        checkpoint: &SignedCheckpoint,
        old_size: u64,
        fetch_proof: F,
    ) -> Result<NoteSignature, BridgeError>
    where
        F: Fn(u64) -> Result<Vec<Hash>, String>,
    {
        let size = checkpoint.checkpoint.size;
        let mut old = old_size;
        let mut last = BridgeError::Conflict { witness_size: old };
        for _ in 0..MAX_ANCHOR_ATTEMPTS {
            let proof = if old == 0 || old == size {
                Vec::new()
            } else {
                fetch_proof(old).map_err(BridgeError::ProofSource)?
            };
            match self.add_checkpoint(old, &proof, &checkpoint.note) {
                Err(BridgeError::Conflict { witness_size }) if witness_size < old_size => {
                    return Err(BridgeError::Rollback { witness_size, cosigned: old_size });
                }
                // Re-sync only forward-compatible sizes; a witness ahead of
                // this checkpoint, or one that repeats our size, needs a human
                // or a newer checkpoint, not a retry.
                Err(BridgeError::Conflict { witness_size })
                    if witness_size != old && witness_size <= size =>
                {
                    tracing::info!(witness = %self.witness.name(), from = old, to = witness_size, "re-syncing");
                    last = BridgeError::Conflict { witness_size };
                    old = witness_size;
                }
                other => return other,
            }
        }
        Err(last)
    }

    /// The witness's latest cosigned checkpoint of `origin` (its monitoring
    /// side): `GET <url>/<hex SHA-256(origin)>/checkpoint`, falling back to
    /// `GET <url>/checkpoint/<origin>` on a 404. Read with a 64 KiB cap.
    pub fn latest_checkpoint(&self, origin: &str) -> Result<String, BridgeError> {
        let base = self.add_checkpoint_url.trim_end_matches("/add-checkpoint");
        let hex = Hash::digest(origin.as_bytes()).to_hex();
        let mut last = BridgeError::UnknownLog(origin.into());
        for url in [format!("{base}/{hex}/checkpoint"), format!("{base}/checkpoint/{origin}")] {
            let response =
                self.http.get(&url).send().map_err(|e| BridgeError::Transport(e.to_string()))?;
            match response.status() {
                StatusCode::OK => {
                    let body = read_capped(response, verifier::note::MAX_NOTE_SIZE)?;
                    return String::from_utf8(body)
                        .map_err(|_| BridgeError::BadResponse("checkpoint is not UTF-8".into()));
                }
                StatusCode::NOT_FOUND => last = refusal(StatusCode::NOT_FOUND, response),
                status => return Err(refusal(status, response)),
            }
        }
        Err(last)
    }

    /// Picks the cosignature by our trusted witness key out of a 200 body.
    fn cosignature_from(
        &self,
        checkpoint: &Note,
        response: Response,
    ) -> Result<NoteSignature, BridgeError> {
        let body = read_capped(response, MAX_RESPONSE_BODY)?;
        let lines = protocol::parse_cosignature_lines(checkpoint, &body)
            .map_err(|e| BridgeError::BadResponse(e.to_string()))?;
        lines
            .into_iter()
            .filter(|s| self.witness.matches(s))
            .find(|s| self.witness.verify_cosignature(&checkpoint.text, s).is_ok())
            .ok_or_else(|| {
                BridgeError::BadResponse(format!("no valid cosignature by {}", self.witness.name()))
            })
    }
}

/// Maps a non-200 answer to the error the caller acts on, with the
/// witness's words.
fn refusal(status: StatusCode, response: Response) -> BridgeError {
    let is_size = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(CONTENT_TYPE_TLOG_SIZE));
    let body = read_prefix(response, MAX_ERROR_TEXT);
    if status == StatusCode::CONFLICT && is_size {
        return match protocol::parse_size_body(&body) {
            Ok(witness_size) => BridgeError::Conflict { witness_size },
            Err(e) => BridgeError::BadResponse(format!("409 body: {e}")),
        };
    }
    let message = String::from_utf8_lossy(&body).trim().to_string();
    match status.as_u16() {
        403 => BridgeError::BadLogSignature(message),
        404 => BridgeError::UnknownLog(message),
        422 => BridgeError::BadProof(message),
        s @ 400..=499 => BridgeError::Refused { status: s, message },
        s @ 500..=599 => BridgeError::Unavailable { status: s, message },
        s => BridgeError::BadResponse(format!("unexpected status {s}: {message}")),
    }
}

/// The first `limit` bytes of an error body; errors are worded, not vital.
fn read_prefix(response: Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    let _ = response.take(limit as u64).read_to_end(&mut body);
    body
}

/// Reads at most `limit` bytes; more is an error, not a truncation.
fn read_capped(response: Response, limit: usize) -> Result<Vec<u8>, BridgeError> {
    let mut body = Vec::new();
    response
        .take(limit as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| BridgeError::Transport(e.to_string()))?;
    if body.len() > limit {
        return Err(BridgeError::TooLarge { what: "witness response", size: body.len(), limit });
    }
    Ok(body)
}
