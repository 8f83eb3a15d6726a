//! The checkpoint against the keys you trust: `log_signature`, one
//! `cosignature` per trusted witness key that countersigned, and
//! `witness_quorum` (docs/trust-policy.md §2).
//!
//! Only keys of the policy anchor anything. The bundle's `log_vkey` is
//! checked, when no log key is trusted, only to say whether the bundle is
//! consistent with itself (`unanchored`); cosignature lines by keys outside
//! the policy are never verified and never counted, only listed as claims.

use super::decoded::Decoded;
use super::Bundle;
use crate::anykey::AnyVerifier;
use crate::check::{check_id, Check};
use crate::checkpoint::SignedCheckpoint;
use crate::note::NoteSignature;
use crate::policy::TrustPolicy;
use crate::report::WitnessFact;
use crate::text::{plain, unix_to_rfc3339};

/// A cosignature may be dated at most this far after the verifier's clock.
const COSIGNATURE_SKEW_SECS: i64 = 300;

const LOG_TITLE: &str = "The checkpoint is signed by the log";

/// The `log_signature` check.
pub(super) fn log_signature_check(bundle: &Bundle, d: &Decoded, policy: &TrustPolicy) -> Check {
    let fail = |detail: String| Check::new(check_id::LOG_SIGNATURE, None, false, LOG_TITLE, detail);
    let key = match &d.log_key {
        Ok(k) => k,
        Err(e) => return fail(format!("It cannot be checked: {e}.")),
    };
    let cp = match &d.checkpoint {
        Ok(c) => c,
        Err(e) => return fail(format!("It cannot be checked: {e}.")),
    };
    if key.suite() != policy.suite {
        return fail(format!(
            "The bundle is from a log of suite {} (its log key {}), but your policy names suite {}: \
             it cannot be checked under the keys and algorithms you trust.",
            key.suite(),
            plain(&key.to_vkey()),
            policy.suite
        ));
    }
    if policy.logs.is_empty() {
        return match verify_under(key, bundle, cp) {
            Ok(()) => Check::unanchored(
                check_id::LOG_SIGNATURE,
                None,
                LOG_TITLE,
                format!(
                    "The checkpoint carries a valid signature by the key the bundle itself names, {}; \
                     but you supplied no log key to trust, and anyone can make a key and sign with it. \
                     Compare this key with the one the log's operator publishes, then supply it \
                     (a policy file, or --log-key).",
                    plain(&key.to_vkey())
                ),
            ),
            Err(e) => fail(e),
        };
    }
    let Some(trusted) = policy.logs.iter().find(|p| *p == key) else {
        let yours: Vec<String> = policy.logs.iter().map(|k| plain(&k.to_vkey())).collect();
        return fail(format!(
            "The bundle was made with the log key {}, but you trust only {}: it does not come from a log you trust.",
            plain(&key.to_vkey()),
            yours.join(", ")
        ));
    };
    match verify_under(trusted, bundle, cp) {
        Ok(()) => Check::new(
            check_id::LOG_SIGNATURE,
            None,
            true,
            LOG_TITLE,
            format!(
                "The checkpoint (a log of {} entries with root hash {}) carries a valid signature by log {} \
                 under the key you trust, {}.",
                cp.checkpoint.size,
                cp.checkpoint.root.to_base64(),
                plain(trusted.name()),
                plain(&trusted.to_vkey())
            ),
        ),
        Err(e) => fail(e),
    }
}

/// The origin rule of C2SP tlog-checkpoint and the signature of C2SP
/// signed-note, under `key`.
fn verify_under(key: &AnyVerifier, bundle: &Bundle, cp: &SignedCheckpoint) -> Result<(), String> {
    if bundle.origin != key.name() || cp.checkpoint.origin != key.name() {
        return Err(format!(
            "The checkpoint's log {:?} is not the name of the log key {:?}.",
            plain(&cp.checkpoint.origin),
            plain(key.name())
        ));
    }
    key.verify_note(&cp.note).map_err(|e| {
        format!(
            "The checkpoint does not carry a valid signature by the log key {} ({}): it was altered or not issued by this log.",
            plain(&key.to_vkey()),
            plain(&e.to_string())
        )
    })
}

/// What the witness checks found.
pub(super) struct Witnessed {
    /// `cosignature` checks, then `witness_quorum`.
    pub(super) checks: Vec<Check>,
    /// Trusted and claimed witnesses.
    pub(super) facts: Vec<WitnessFact>,
    /// What the bundle claims that was not checked.
    pub(super) claims: Vec<String>,
}

/// The `cosignature` checks of the policy's witnesses and the
/// `witness_quorum` check; `newest` is the newest entry's `ledger_time` in
/// Unix seconds, `now` the verifier's clock.
pub(super) fn witness_checks(
    d: &Decoded,
    policy: &TrustPolicy,
    newest: Option<i64>,
    now: i64,
) -> Witnessed {
    let mut out = Witnessed { checks: Vec::new(), facts: Vec::new(), claims: Vec::new() };
    let mut cosigned: Vec<String> = Vec::new();
    let groups = policy.distinct_witness_keys();
    for group in &groups {
        let outcome = d
            .checkpoint
            .as_ref()
            .map_err(|e| e.clone())
            .and_then(|cp| cosignature_of(group, cp, newest, now));
        let label = group[0].name().to_string();
        let title = format!("Witness {} countersigned the checkpoint", plain(&label));
        let at = outcome.as_ref().ok().copied().flatten();
        for w in group {
            out.facts.push(fact(w, d, true, at));
        }
        match outcome {
            Ok(None) => {}
            Ok(Some((ts, by))) => {
                cosigned.push(plain(&label));
                out.checks.push(Check::new(
                    check_id::COSIGNATURE,
                    Some(label),
                    true,
                    title,
                    format!(
                        "Witness {} countersigned this checkpoint at {}; its signature is valid under the key you trust, {}.",
                        plain(by.name()),
                        unix_to_rfc3339(ts),
                        plain(&by.to_vkey())
                    ),
                ));
            }
            Err(detail) => out.checks.push(Check::new(
                check_id::COSIGNATURE,
                Some(label),
                false,
                title,
                detail,
            )),
        }
    }
    if let Ok(cp) = &d.checkpoint {
        out.checks.extend(impersonations(cp, policy));
        claims(cp, d, policy, &mut out);
    }
    out.checks.push(quorum_check(policy, groups.len(), &cosigned));
    out
}

/// `Ok(Some((time, key)))`: every line by the group's keys verifies and is
/// dated plausibly (the time of the first is reported); `Ok(None)`: no line;
/// `Err`: why not.
fn cosignature_of<'a>(
    group: &[&'a AnyVerifier],
    cp: &SignedCheckpoint,
    newest: Option<i64>,
    now: i64,
) -> Result<Option<(u64, &'a AnyVerifier)>, String> {
    let mut first: Option<(u64, &AnyVerifier)> = None;
    for sig in &cp.note.signatures {
        let Some(key) = group.iter().find(|k| k.matches(sig)) else { continue };
        let ts = key.verify_cosignature(&cp.note.text, sig).map_err(|e| {
            format!(
                "The countersignature attributed to witness {} is not valid under the key you trust, {} ({}): the checkpoint or the countersignature was altered.",
                plain(key.name()),
                plain(&key.to_vkey()),
                plain(&e.to_string())
            )
        })?;
        check_time(key, ts, newest, now)?;
        first.get_or_insert((ts, key));
    }
    Ok(first)
}

/// A countersignature is dated neither before the newest entry it covers
/// (in whole seconds) nor more than [`COSIGNATURE_SKEW_SECS`] after `now`.
fn check_time(key: &AnyVerifier, ts: u64, newest: Option<i64>, now: i64) -> Result<(), String> {
    let signed = i64::try_from(ts).unwrap_or(i64::MAX);
    if let Some(n) = newest.filter(|&n| signed < n) {
        return Err(format!(
            "Witness {} dated a countersignature {}, before the newest entry it covers was logged ({}): a countersignature cannot predate what it signs.",
            plain(key.name()),
            unix_to_rfc3339(ts),
            unix_to_rfc3339(u64::try_from(n).unwrap_or(0))
        ));
    }
    if signed > now.saturating_add(COSIGNATURE_SKEW_SECS) {
        return Err(format!(
            "Witness {} dated a countersignature {}, in the future of this clock.",
            plain(key.name()),
            unix_to_rfc3339(ts)
        ));
    }
    Ok(())
}

/// Lines that use a trusted witness's name with a key ID that no trusted key
/// of that name has: someone signing as that witness.
fn impersonations(cp: &SignedCheckpoint, policy: &TrustPolicy) -> Vec<Check> {
    let mut out = Vec::new();
    for sig in &cp.note.signatures {
        let named: Vec<&AnyVerifier> =
            policy.witnesses.iter().filter(|w| w.name() == sig.name).collect();
        if named.is_empty() || named.iter().any(|w| w.matches(sig)) {
            continue;
        }
        let ids: Vec<String> = named.iter().map(|w| hex::encode(w.key_id())).collect();
        out.push(Check::new(
            check_id::COSIGNATURE,
            Some(sig.name.clone()),
            false,
            format!("Witness {} countersigned the checkpoint", plain(&sig.name)),
            format!(
                "A countersignature line claims to be by witness {}, but its key ID {} is not that of the key you trust for it ({}): it was made by someone else under that name.",
                plain(&sig.name),
                hex::encode(sig.key_id),
                ids.join(", ")
            ),
        ));
    }
    out
}

/// Witnesses the bundle lists and signature lines the policy does not know:
/// shown, never checked, never counted.
fn claims(cp: &SignedCheckpoint, d: &Decoded, policy: &TrustPolicy, out: &mut Witnessed) {
    let trusted = |k: &AnyVerifier| policy.witnesses.iter().any(|w| w == k);
    for w in d.witnesses.iter().filter(|w| !trusted(w)) {
        let has_line = cp.note.signatures.iter().any(|s| w.matches(s));
        out.facts.push(fact(w, d, false, None));
        out.claims.push(format!(
            "The bundle lists witness {} ({}){}; it is not in your policy, so it was not checked and does not count.",
            plain(w.name()),
            plain(&w.to_vkey()),
            if has_line { " and the checkpoint carries a countersignature line by it" } else { "" }
        ));
    }
    let known = |s: &NoteSignature| {
        d.log_key.as_ref().is_ok_and(|k| k.matches(s))
            || policy.logs.iter().any(|k| k.matches(s))
            || policy.witnesses.iter().any(|k| k.name() == s.name)
            || d.witnesses.iter().any(|k| k.matches(s))
    };
    for s in cp.note.signatures.iter().filter(|s| !known(s)) {
        out.claims.push(format!(
            "The checkpoint carries a signature line by an unknown key {}+{}; it was ignored.",
            plain(&s.name),
            hex::encode(s.key_id)
        ));
    }
}

fn fact(
    w: &AnyVerifier,
    d: &Decoded,
    trusted: bool,
    at: Option<(u64, &AnyVerifier)>,
) -> WitnessFact {
    let at = at.filter(|(_, by)| *by == w).map(|(t, _)| t);
    WitnessFact {
        name: w.name().to_string(),
        vkey: w.to_vkey(),
        key_id: hex::encode(w.key_id()),
        listed: d.witnesses.iter().any(|l| l == w),
        required: trusted,
        trusted,
        cosigned_at: at.map(unix_to_rfc3339),
        cosigned_unix: at,
    }
}

/// The `witness_quorum` check: at least the policy's quorum of distinct
/// trusted keys countersigned.
fn quorum_check(policy: &TrustPolicy, distinct: usize, cosigned: &[String]) -> Check {
    let need = policy.required_witnesses();
    let title = "Enough of the witnesses you trust countersigned the checkpoint";
    let who = if cosigned.is_empty() { "none".to_owned() } else { cosigned.join(", ") };
    let (passed, detail) = if need == 0 {
        (
            true,
            "Your policy requires no witness countersignature: the log's own signature alone stands behind this checkpoint.".to_owned(),
        )
    } else if cosigned.len() >= need {
        (
            true,
            format!(
                "{} of the {distinct} distinct witness keys you trust countersigned ({who}); your policy requires {need}.",
                cosigned.len()
            ),
        )
    } else {
        (
            false,
            format!(
                "Only {} of the {distinct} distinct witness keys you trust countersigned ({who}); your policy requires {need}.",
                cosigned.len()
            ),
        )
    };
    Check::new(check_id::WITNESS_QUORUM, None, passed, title, detail)
}
