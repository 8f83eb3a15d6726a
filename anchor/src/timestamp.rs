//! Timestamping anchored checkpoints with an RFC 3161 TSA over HTTP: the
//! checkpoint body's SHA-256 goes out as a TimeStampReq, the token that
//! comes back is verified against the trusted root before it is stored.

use std::io::Read;
use std::time::Duration;

use const_oid::db::rfc5912::ID_SHA_256;
use const_oid::ObjectIdentifier;
use ledger::Ledger;
use rand::Rng;
use verifier::checkpoint::SignedCheckpoint;
use verifier::tsa::{
    parse_timestamp_response, timestamp_request_der_for, verify_timestamp_token_imprint, TrustedTsa,
};
use verifier::Hash;

use crate::config::TsaPartner;

/// Largest TSA answer read.
const MAX_RESPONSE: u64 = 64 * 1024;
/// Clock skew allowed between the TSA and us.
const SKEW_SECS: i64 = 300;

/// A TSA client: the anchoring rounds' (checkpoint tokens) and the
/// evidence records' (archive timestamps, any imprint algorithm).
pub struct TsaClient {
    /// The TSA: its trusted name, URL and private CA.
    pub partner: TsaPartner,
    http: reqwest::blocking::Client,
}

impl TsaClient {
    /// A client for `partner`, with `timeout` per request.
    pub fn new(partner: TsaPartner, timeout: Duration) -> Result<TsaClient, String> {
        let http = notary_bridge::tls::partner_client(timeout, partner.ca_pem.as_deref())
            .map_err(|e| e.to_string())?;
        Ok(TsaClient { partner, http })
    }

    /// Asks for a token over the checkpoint body and verifies it: the
    /// imprint, the nonce, the signature and the chain to the trusted root.
    pub(crate) fn timestamp(
        &self,
        ledger: &Ledger,
        cp: &SignedCheckpoint,
    ) -> Result<Vec<u8>, TsaError> {
        let imprint = Hash::digest(cp.note.text.as_bytes());
        self.timestamp_imprint(&ledger.trusted_tsas(), ID_SHA_256, &imprint.0)
    }

    /// Asks for a token over `hashed` (a hash made with `algorithm`) and
    /// verifies it against the roots in `trusted` named like this TSA: the
    /// imprint, the nonce, the signature and the chain.
    pub fn timestamp_imprint(
        &self,
        trusted: &[TrustedTsa],
        algorithm: ObjectIdentifier,
        hashed: &[u8],
    ) -> Result<Vec<u8>, TsaError> {
        let nonce: u64 = rand::thread_rng().gen_range(1..i64::MAX as u64);
        let resp = self
            .http
            .post(&self.partner.url)
            .header("content-type", "application/timestamp-query")
            .body(timestamp_request_der_for(algorithm, hashed, nonce))
            .send()
            .map_err(|e| TsaError::unreachable(format!("TSA unreachable: {e}")))?;
        let status = resp.status();
        if status.is_server_error() {
            return Err(TsaError::unreachable(format!("TSA unavailable: {status}")));
        }
        if !status.is_success() {
            return Err(TsaError::refused(format!("TSA answered {status}")));
        }
        // Read at most one byte past the cap, whatever Content-Length says.
        let mut body = Vec::new();
        resp.take(MAX_RESPONSE + 1)
            .read_to_end(&mut body)
            .map_err(|e| TsaError::unreachable(format!("reading the TSA's answer: {e}")))?;
        if body.len() as u64 > MAX_RESPONSE {
            return Err(TsaError::refused("TSA answer too large".into()));
        }
        let token =
            parse_timestamp_response(&body).map_err(|e| TsaError::refused(e.to_string()))?;
        let roots: Vec<_> =
            trusted.iter().filter(|t| t.name == self.partner.name).cloned().collect();
        if roots.is_empty() {
            let why = format!("TSA {} is not among the trusted TSAs", self.partner.name);
            return Err(TsaError::refused(why));
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let (info, _) =
            verify_timestamp_token_imprint(&token, algorithm, hashed, &roots, now, SKEW_SECS)
                .map_err(|e| TsaError::refused(e.to_string()))?;
        let echoed = info
            .nonce
            .as_deref()
            .and_then(|h| u64::from_str_radix(h.trim_start_matches('0'), 16).ok());
        if echoed != Some(nonce) {
            return Err(TsaError::refused("TSA token does not echo our nonce".into()));
        }
        Ok(token)
    }
}

/// Why timestamping failed, sorted like the witnesses' failures: a TSA
/// that cannot be reached (retry) or one whose answer is refused.
#[derive(Debug)]
pub struct TsaError {
    /// `unreachable` or `refused` (the metrics' failure kinds).
    pub kind: &'static str,
    /// The reason, in words.
    pub message: String,
}

impl TsaError {
    fn unreachable(message: String) -> TsaError {
        TsaError { kind: "unreachable", message }
    }

    fn refused(message: String) -> TsaError {
        TsaError { kind: "refused", message }
    }
}
