//! Timestamping anchored checkpoints with an RFC 3161 TSA over HTTP: the
//! checkpoint body's SHA-256 goes out as a TimeStampReq, the token that
//! comes back is verified against the trusted root before it is stored.

use std::time::Duration;

use ledger::Ledger;
use rand::Rng;
use verifier::checkpoint::SignedCheckpoint;
use verifier::tsa::{parse_timestamp_response, timestamp_request_der, verify_timestamp_token};
use verifier::Hash;

use crate::config::TsaPartner;

/// Largest TSA answer read.
const MAX_RESPONSE: u64 = 64 * 1024;
/// Clock skew allowed between the TSA and us.
const SKEW_SECS: i64 = 300;

/// A TSA client.
pub(crate) struct TsaClient {
    pub partner: TsaPartner,
    http: reqwest::blocking::Client,
}

impl TsaClient {
    pub(crate) fn new(partner: TsaPartner, timeout: Duration) -> Result<TsaClient, String> {
        let http = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(TsaClient { partner, http })
    }

    /// Asks for a token over the checkpoint body and verifies it: the
    /// imprint, the nonce, the signature and the chain to the trusted root.
    pub(crate) fn timestamp(
        &self,
        ledger: &Ledger,
        cp: &SignedCheckpoint,
    ) -> Result<Vec<u8>, String> {
        let imprint = Hash::digest(cp.note.text.as_bytes());
        let nonce: u64 = rand::thread_rng().gen_range(1..i64::MAX as u64);
        let resp = self
            .http
            .post(&self.partner.url)
            .header("content-type", "application/timestamp-query")
            .body(timestamp_request_der(&imprint, nonce))
            .send()
            .map_err(|e| format!("TSA unreachable: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("TSA answered {}", resp.status()));
        }
        if resp.content_length().is_some_and(|n| n > MAX_RESPONSE) {
            return Err("TSA answer too large".into());
        }
        let body = resp.bytes().map_err(|e| e.to_string())?;
        let token = parse_timestamp_response(&body).map_err(|e| e.to_string())?;
        let roots: Vec<_> =
            ledger.trusted_tsas().iter().filter(|t| t.name == self.partner.name).cloned().collect();
        if roots.is_empty() {
            return Err(format!("TSA {} is not among the trusted TSAs", self.partner.name));
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let info = verify_timestamp_token(&token, &imprint, &roots, now, SKEW_SECS)
            .map_err(|e| e.to_string())?;
        let echoed = info
            .nonce
            .as_deref()
            .and_then(|h| u64::from_str_radix(h.trim_start_matches('0'), 16).ok());
        if echoed != Some(nonce) {
            return Err("TSA token does not echo our nonce".into());
        }
        Ok(token)
    }
}
