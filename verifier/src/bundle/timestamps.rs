//! The RFC 3161 checks of a bundle: every event's `timestamp_token` (over
//! its document hash: the document existed by then), its
//! `event_timestamp_token` (over the event's own canonical JSON: the event
//! existed by then), and the token over the checkpoint body (the log state
//! existed by then).
//!
//! A token is checked against the TSA roots of your policy; only then is its
//! time a trusted time. A token that chains only to a root the bundle
//! carries is `unanchored`: anyone can make a root called "National Time
//! Service Center" and date a token 2020 (docs/trust-policy.md §2).

use base64::Engine as _;

use super::Bundle;
use crate::check::{check_id, Check};
use crate::checkpoint::SignedCheckpoint;
use crate::entry::LeafEntry;
use crate::policy::TrustPolicy;
use crate::report::{TimestampCovers, TimestampFact};
use crate::text::plain;
use crate::tsa::{verify_timestamp_token_over, Imprinted, TimestampInfo, TrustedTsa};
use crate::{Hash, VerifyError};

/// Allowed clock skew for genTime against "now".
const SKEW_SECS: i64 = 300;
/// Most RFC 3161 tokens checked in one bundle: each may cost dozens of
/// signature checks (chain building over the token's and the roots'
/// certificates, twice), so a hostile bundle must not buy unbounded work.
/// Tokens past the limit fail their check.
pub const MAX_TOKENS: usize = 256;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// What the timestamp checks found.
pub(super) struct Stamped {
    pub(super) checks: Vec<Check>,
    /// Trusted times (tokens that chain to a root of the policy).
    pub(super) facts: Vec<TimestampFact>,
    /// Times claimed by tokens that chain only to the bundle's roots.
    pub(super) claims: Vec<String>,
}

/// One token to check: what it is about, the hash it must cover.
struct Token {
    id: &'static str,
    subject: Option<String>,
    what: String,
    covers: TimestampCovers,
    entry: Option<u64>,
    imprint: Hash,
    /// The imprinted bytes, where the bundle has them (the event's content,
    /// the checkpoint body): then the imprint may be SM3 too (GM/T 0033).
    data: Option<Vec<u8>>,
    der: Vec<u8>,
}

impl Token {
    /// What the token must be over, for the verifier.
    fn over(&self) -> Imprinted<'_> {
        match &self.data {
            Some(data) => Imprinted::Bytes(data),
            None => Imprinted::Sha256(&self.imprint),
        }
    }
}

/// Checks every token of `bundle` (events' tokens from its `readable`
/// entries, v1 leaves and opened v2 records) against `policy`'s TSA roots.
pub(super) fn checks(
    bundle: &Bundle,
    readable: &[(u64, &LeafEntry)],
    policy: &TrustPolicy,
    now: i64,
) -> Stamped {
    let mut out = Stamped { checks: Vec::new(), facts: Vec::new(), claims: Vec::new() };
    let claimed: Vec<TrustedTsa> = bundle
        .timestamp_authorities
        .iter()
        .filter_map(|t| TrustedTsa::from_pem(t.name.clone(), &t.root_pem).ok())
        .collect();
    let trusted = policy.tsa_roots();
    let mut all = tokens(bundle, readable, &mut out);
    for t in all.drain(MAX_TOKENS.min(all.len())..) {
        out.checks.push(fail_text(
            t.id,
            t.subject,
            format!("{}: not checked, the bundle carries more than {MAX_TOKENS} tokens", t.what),
        ));
    }
    for token in all {
        let checked =
            verify_timestamp_token_over(&token.der, token.over(), &trusted, now, SKEW_SECS);
        match checked {
            Ok(info) => {
                out.checks.push(pass(&token, &info));
                out.facts.push(TimestampFact {
                    subject: token.what.clone(),
                    covers: token.covers,
                    entry: token.entry,
                    tsa: info.tsa,
                    gen_time: info.gen_time,
                    serial: info.serial,
                });
            }
            Err(trusted_err) => {
                match verify_timestamp_token_over(
                    &token.der,
                    token.over(),
                    &claimed,
                    now,
                    SKEW_SECS,
                ) {
                    Ok(info) => {
                        out.claims.push(format!(
                            "The bundle claims that {} existed no later than {}, per a TSA it calls {}; that root is not in your policy.",
                            token.what,
                            info.gen_time,
                            plain(&info.tsa)
                        ));
                        out.checks.push(unanchored(&token, &info));
                    }
                    Err(_) => out.checks.push(fail(&token, &trusted_err)),
                }
            }
        }
    }
    out
}

/// The tokens of the bundle; undecodable ones become failed checks.
fn tokens(bundle: &Bundle, readable: &[(u64, &LeafEntry)], out: &mut Stamped) -> Vec<Token> {
    let mut list = Vec::new();
    for (index, entry) in readable {
        let ev = &entry.event;
        if let Some(der) = &ev.timestamp_token {
            let h = ev.document_hash;
            list.push(Token {
                id: check_id::EVENT_TIMESTAMP,
                subject: Some(index.to_string()),
                what: format!("the document of entry {index} (SHA-256 {})", h.to_hex()),
                covers: TimestampCovers::Document,
                entry: Some(*index),
                imprint: h,
                data: None,
                der: der.clone(),
            });
        }
        if let Some(der) = &ev.event_timestamp_token {
            let data = ev.content_imprint_data();
            let h = Hash::digest(&data);
            list.push(Token {
                id: check_id::EVENT_CONTENT_TIMESTAMP,
                subject: Some(index.to_string()),
                what: format!("the event of entry {index} (content SHA-256 {})", h.to_hex()),
                covers: TimestampCovers::Event,
                entry: Some(*index),
                imprint: h,
                data: Some(data),
                der: der.clone(),
            });
        }
    }
    if let Some(t) = &bundle.checkpoint_timestamp {
        let cp = SignedCheckpoint::parse(bundle.checkpoint.as_bytes());
        let der = B64.decode(&t.token);
        match (cp, der) {
            (Ok(cp), Ok(der)) => list.push(Token {
                id: check_id::CHECKPOINT_TIMESTAMP,
                subject: None,
                what: format!("the log state of {} entries", cp.checkpoint.size),
                covers: TimestampCovers::Checkpoint,
                entry: None,
                imprint: Hash::digest(cp.note.text.as_bytes()),
                data: Some(cp.note.text.as_bytes().to_vec()),
                der,
            }),
            (Err(e), _) => out.checks.push(fail_text(
                check_id::CHECKPOINT_TIMESTAMP,
                None,
                format!("the checkpoint cannot be read ({})", plain(&e.to_string())),
            )),
            (_, Err(e)) => out.checks.push(fail_text(
                check_id::CHECKPOINT_TIMESTAMP,
                None,
                format!("the token is not base64 ({e})"),
            )),
        }
    }
    list
}

fn pass(t: &Token, i: &TimestampInfo) -> Check {
    Check::new(
        t.id,
        t.subject.clone(),
        true,
        format!("The trusted timestamp on {} is valid", t.what),
        format!(
            "Time-stamp authority {} (a root you trust) vouches that {} existed no later than {} (token serial {}).",
            plain(&i.tsa),
            t.what,
            i.gen_time,
            i.serial
        ),
    )
}

fn unanchored(t: &Token, i: &TimestampInfo) -> Check {
    Check::unanchored(
        t.id,
        t.subject.clone(),
        format!("The timestamp on {} comes from a TSA you trust", t.what),
        format!(
            "The token is signed under a root the bundle itself carries ({}), not one of your policy: \
             its date ({}) is a claim, not a trusted time. Add the TSA's root to your policy if you trust it.",
            plain(&i.tsa),
            i.gen_time
        ),
    )
}

fn fail(t: &Token, e: &VerifyError) -> Check {
    fail_text(t.id, t.subject.clone(), format!("{}: {}", t.what, plain(&e.to_string())))
}

fn fail_text(id: &'static str, subject: Option<String>, why: String) -> Check {
    Check::new(
        id,
        subject,
        false,
        "A trusted timestamp does not verify",
        format!("The trusted timestamp on {why}."),
    )
}
