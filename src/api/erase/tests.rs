//! Unit tests of the retention delay.

use super::*;

#[test]
fn a_sooner_erasure_waits_and_a_later_one_does_not() {
    let now = 1_000_000;
    let d = RETENTION_DELAY_DAYS;
    let delayed = now + i64::from(d) * 86_400;
    assert_eq!(effective_from(None, Some(30), now, d), delayed);
    assert_eq!(effective_from(Some(365), Some(30), now, d), delayed);
    assert_eq!(effective_from(Some(30), Some(365), now, d), now);
    assert_eq!(effective_from(Some(30), None, now, d), now);
    assert_eq!(effective_from(None, Some(30), now, 0), now);
    let p = RetentionPolicy {
        erase_after_days: Some(30),
        set_by: "t".into(),
        set_at: String::new(),
        effective_unix: delayed,
        previous_days: Some(365),
    };
    assert_eq!(p.in_force(now), Some(365));
    assert_eq!(p.in_force(delayed), Some(30));
    // A policy stored before the delay existed applies as it was.
    let old: RetentionPolicy =
        serde_json::from_str(r#"{"erase_after_days":5,"set_by":"t","set_at":""}"#).unwrap();
    assert_eq!(old.in_force(now), Some(5));
}
