//! The RFC 3161 checks of a bundle: every event's `timestamp_token` over
//! its document hash, and the token over the checkpoint body, each against
//! the TSA roots the bundle carries.

use base64::Engine as _;

use crate::bundle::{Bundle, VerifyOptions};
use crate::checkpoint::SignedCheckpoint;
use crate::entry::parse_leaf;
use crate::report::{check_id, plain, Check, TimestampFact};
use crate::tsa::{verify_timestamp_token, TimestampInfo, TrustedTsa};
use crate::Hash;

/// Allowed clock skew for genTime against "now".
const SKEW_SECS: i64 = 300;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Checks the tokens of `bundle`; returns the checks and the trusted times.
pub(crate) fn checks(bundle: &Bundle, options: &VerifyOptions) -> (Vec<Check>, Vec<TimestampFact>) {
    let now = options.now_unix.unwrap_or_else(system_now);
    let mut roots = Vec::new();
    let mut checks = Vec::new();
    for t in &bundle.timestamp_authorities {
        match TrustedTsa::from_pem(t.name.clone(), &t.root_pem) {
            Ok(r) => roots.push(r),
            Err(e) => checks.push(fail(
                check_id::CHECKPOINT_TIMESTAMP,
                None,
                format!(
                    "The root certificate of TSA {} is unreadable: {}.",
                    plain(&t.name),
                    plain(&e.to_string())
                ),
            )),
        }
    }
    let mut facts = Vec::new();
    for e in &bundle.entries {
        let Some((hash, token)) = entry_token(&e.leaf) else {
            continue;
        };
        let subject = format!("entry {}", e.index);
        let result = verify_timestamp_token(&token, &hash, &roots, now, SKEW_SECS);
        checks.push(outcome(
            check_id::EVENT_TIMESTAMP,
            Some(e.index.to_string()),
            &subject,
            &result,
        ));
        facts.extend(result.ok().map(|i| fact(subject, i)));
    }
    if let Some(t) = &bundle.checkpoint_timestamp {
        let result = checkpoint_token(bundle, &t.token)
            .and_then(|(body, token)| {
                verify_timestamp_token(
                    &token,
                    &Hash::digest(body.as_bytes()),
                    &roots,
                    now,
                    SKEW_SECS,
                )
                .map_err(|e| e.to_string())
            })
            .and_then(|i| {
                if i.tsa == t.tsa {
                    Ok(i)
                } else {
                    Err(format!("the token chains to {}, not {}", i.tsa, t.tsa))
                }
            });
        let result = result.map_err(|e| crate::VerifyError::invalid("checkpoint_timestamp", e));
        checks.push(outcome(check_id::CHECKPOINT_TIMESTAMP, None, "checkpoint", &result));
        facts.extend(result.ok().map(|i| fact("checkpoint".into(), i)));
    }
    (checks, facts)
}

/// The document hash and token of a leaf that carries one.
fn entry_token(leaf_b64: &str) -> Option<(Hash, Vec<u8>)> {
    let leaf = B64.decode(leaf_b64).ok()?;
    let entry = parse_leaf(&leaf).ok()?;
    let token = entry.event.timestamp_token?;
    Some((entry.event.document_hash, token))
}

fn checkpoint_token(bundle: &Bundle, token_b64: &str) -> Result<(String, Vec<u8>), String> {
    let cp = SignedCheckpoint::parse(bundle.checkpoint.as_bytes()).map_err(|e| e.to_string())?;
    let token = B64.decode(token_b64).map_err(|e| format!("token is not base64: {e}"))?;
    Ok((cp.note.text, token))
}

fn outcome(
    id: &'static str,
    subject: Option<String>,
    what: &str,
    result: &Result<TimestampInfo, crate::VerifyError>,
) -> Check {
    match result {
        Ok(i) => Check::new(
            id,
            subject,
            true,
            format!("The trusted timestamp on the {what} is valid"),
            format!(
                "Time-stamp authority {} vouches that the {what} existed no later than {} (token serial {}).",
                plain(&i.tsa),
                i.gen_time,
                i.serial
            ),
        ),
        Err(e) => fail(id, subject, format!("The trusted timestamp on the {what} does not hold: {}.", plain(&e.to_string()))),
    }
}

fn fail(id: &'static str, subject: Option<String>, detail: String) -> Check {
    Check::new(id, subject, false, "A trusted timestamp does not verify", detail)
}

fn fact(subject: String, i: TimestampInfo) -> TimestampFact {
    TimestampFact { subject, tsa: i.tsa, gen_time: i.gen_time, serial: i.serial }
}

fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
