//! The bilingual words an evidence report gives an attestation: whether
//! it holds, and what its message version binds (docs/evidence-v2.md
//! "Attestation v2.1").

use verifier::report::AttestationFact;

/// The mark (valid, not checked, invalid) and the binding note of `a`.
pub(crate) fn attestation_words(a: &AttestationFact) -> (&'static str, &'static str) {
    let mark = match (a.valid, &a.unchecked) {
        (true, _) => "有效 valid",
        (false, Some(_)) => "未核验 not checked: identity opening not included",
        (false, None) => "无效 INVALID",
    };
    let binding = match (a.version, a.minor) {
        (1, _) => "\n（v1：未绑定租户、合同与当事人 v1: does not bind tenant, contract or actor）",
        (_, 1) => "\n（v2.1：绑定当事人身份与日志 v2.1: binds the person's identity and the log）",
        _ => "\n（v2：未绑定当事人身份与日志 v2: binds neither the person's identity nor the log）",
    };
    (mark, binding)
}
