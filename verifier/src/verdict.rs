//! The verdict rules (docs/trust-policy.md §3), in one place.
//!
//! The checks say what holds; the verdict says what that is worth: evidence
//! is "verified" only when every check passed against keys that the person
//! verifying chose. Otherwise the verdict names the first rule that applies
//! and lists every reason, so a reader sees all that is missing at once.

use crate::check::{check_id, Check, CheckStatus, TrustFact, Verdict, VerdictStatus};

/// Judges a finished list of checks.
pub fn judge(checks: &[Check], trust: &TrustFact) -> Verdict {
    let failed: Vec<&Check> = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail && c.id != check_id::WITNESS_QUORUM)
        .collect();
    let unanchored_log = checks
        .iter()
        .any(|c| c.id == check_id::LOG_SIGNATURE && c.status == CheckStatus::Unanchored);
    let quorum = checks.iter().find(|c| c.id == check_id::WITNESS_QUORUM && !c.passed);
    let untrusted_times =
        checks.iter().filter(|c| is_timestamp(c.id) && c.status == CheckStatus::Unanchored).count();

    let mut reasons: Vec<String> = failed.iter().map(|c| format!("failed: {}", c.title)).collect();
    if checks.is_empty() {
        reasons.push("no check could be run".into());
    }
    if unanchored_log {
        reasons.push(
            "no trusted log key supplied: the checkpoint is signed by a key named in the bundle \
             itself, which anyone can make; supply the log's key (a policy file or --log-key)"
                .into(),
        );
    }
    if let Some(q) = quorum {
        reasons.push(format!("witness quorum not met: {}", q.detail));
    }
    if untrusted_times > 0 {
        reasons.push(format!(
            "{untrusted_times} trusted timestamp(s) chain only to TSA roots the bundle carries, \
             not to one in your policy"
        ));
    }

    let status = if !failed.is_empty() || checks.is_empty() {
        VerdictStatus::Failed
    } else if unanchored_log {
        VerdictStatus::NoTrustedLogKey
    } else if quorum.is_some() {
        VerdictStatus::QuorumNotMet
    } else if untrusted_times > 0 {
        VerdictStatus::UntrustedTimestamps
    } else if checks.iter().all(|c| c.passed) {
        VerdictStatus::Verified
    } else {
        // Defensive: a check that neither passed nor is covered by a rule
        // above (a future unanchored check) never yields "verified".
        reasons.extend(
            checks.iter().filter(|c| !c.passed).map(|c| format!("not anchored: {}", c.title)),
        );
        VerdictStatus::Failed
    };
    Verdict { status, summary: summary(status, checks, trust, failed.len()), reasons }
}

fn is_timestamp(id: &str) -> bool {
    [check_id::EVENT_TIMESTAMP, check_id::EVENT_CONTENT_TIMESTAMP, check_id::CHECKPOINT_TIMESTAMP]
        .contains(&id)
}

fn summary(status: VerdictStatus, checks: &[Check], trust: &TrustFact, failed: usize) -> String {
    match status {
        VerdictStatus::Verified => format!(
            "VERIFIED against {}: all {} checks passed; the checkpoint is signed by a log key you \
             trust{}.",
            trust.source,
            checks.len(),
            match trust.quorum {
                0 => " (your policy requires no witness)".to_owned(),
                k => format!(" and countersigned by {k} distinct witness key(s) you trust"),
            }
        ),
        VerdictStatus::Failed => format!(
            "NOT VERIFIED: {failed} of {} checks FAILED: this evidence does not hold as presented.",
            checks.len()
        ),
        VerdictStatus::NoTrustedLogKey => {
            "NOT VERIFIED: no trusted log key supplied. The bundle is consistent with itself, but \
             its keys came with it."
                .into()
        }
        VerdictStatus::QuorumNotMet => {
            "NOT VERIFIED: the log signature is good, but not enough of the witnesses you trust \
             countersigned the checkpoint."
                .into()
        }
        VerdictStatus::UntrustedTimestamps => {
            "NOT VERIFIED: the log and witnesses check out, but the bundle's trusted timestamps do \
             not chain to a TSA root you trust."
                .into()
        }
        VerdictStatus::ServerVouched => {
            "NOT VERIFIED: these entries are in the log, but only the server says they are about \
             this file."
                .into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &'static str, status: CheckStatus) -> Check {
        let mut check = Check::new(id, None, status == CheckStatus::Pass, id, "detail");
        check.status = status;
        check
    }

    #[test]
    fn first_rule_wins_and_every_reason_is_listed() {
        use CheckStatus::*;
        let t = TrustFact::default();
        let all = |cs: &[Check]| judge(cs, &t);
        let ok = [c("log_signature", Pass), c("witness_quorum", Pass), c("inclusion", Pass)];
        assert_eq!(all(&ok).status, VerdictStatus::Verified);
        assert!(all(&ok).reasons.is_empty());
        let v = all(&[c("log_signature", Unanchored), c("witness_quorum", Fail), c("x", Fail)]);
        assert_eq!(v.status, VerdictStatus::Failed);
        assert_eq!(v.reasons.len(), 3, "{:?}", v.reasons);
        let v = all(&[c("log_signature", Unanchored), c("witness_quorum", Fail)]);
        assert_eq!(v.status, VerdictStatus::NoTrustedLogKey);
        let v = all(&[c("log_signature", Pass), c("witness_quorum", Fail)]);
        assert_eq!(v.status, VerdictStatus::QuorumNotMet);
        let v = all(&[c("log_signature", Pass), c("checkpoint_timestamp", Unanchored)]);
        assert_eq!(v.status, VerdictStatus::UntrustedTimestamps);
        assert_eq!(all(&[]).status, VerdictStatus::Failed);
        let v = all(&[c("log_signature", Pass), c("attestations", Unanchored)]);
        assert_eq!(v.status, VerdictStatus::Failed, "an unknown unanchored check is no pass");
        assert_eq!(VerdictStatus::QuorumNotMet.exit_code(), 4);
    }
}
