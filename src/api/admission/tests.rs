//! Unit tests of admission and quotas.

use std::time::Duration;

use super::*;

fn admission(eps: f64, bytes: u64, max: usize) -> Admission {
    Admission::new(AdmissionConfig {
        default_quota: Quota { events_per_sec: eps, bytes_per_day: bytes, writes_per_min: 0.0 },
        burst_secs: 1.0,
        max_in_flight_events: max,
        ..AdmissionConfig::default()
    })
}

#[test]
fn events_per_second_refill_and_tenants_are_apart() {
    let a = admission(10.0, 0, 1000);
    let t0 = Instant::now();
    a.charge("a", 10, 0, t0, 0).unwrap();
    let e = a.charge("a", 1, 0, t0, 0).unwrap_err();
    assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(e.retry_after, Some(1));
    a.charge("b", 10, 0, t0, 0).unwrap();
    a.charge("a", 5, 0, t0 + Duration::from_millis(500), 0).unwrap();
    assert!(a.charge("a", 1, 0, t0 + Duration::from_millis(500), 0).is_err());
    // A request larger than the burst can never pass: it says so by its wait.
    assert_eq!(a.charge("c", 25, 0, t0, 0).unwrap_err().retry_after, Some(2));
}

#[test]
fn bytes_per_day_reset_with_the_day() {
    let a = admission(0.0, 100, 1000);
    let t0 = Instant::now();
    a.charge("a", 1, 60, t0, 7).unwrap();
    assert!(a.charge("a", 1, 60, t0, 7).is_err());
    a.charge("a", 1, 60, t0, 8).unwrap();
}

#[test]
fn in_flight_events_are_bounded_and_released() {
    let a = admission(0.0, 0, 100);
    let first = a.admit("a", 80).unwrap();
    let e = a.admit("b", 30).unwrap_err();
    assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.in_flight(), 80);
    drop(first);
    assert_eq!(a.in_flight(), 0);
    // One batch larger than the bound still goes through an idle service.
    let big = a.admit("a", 150).unwrap();
    assert_eq!(a.in_flight(), 150);
    drop(big);
}

#[test]
fn one_tenant_holds_at_most_its_share_of_requests() {
    let a = admission(0.0, 0, 1000);
    let a = Admission::new(AdmissionConfig { max_in_flight_requests: 8, ..a.config });
    let held: Vec<_> = (0..4).map(|_| a.admit_request("a").unwrap()).collect();
    let e = a.admit_request("a").unwrap_err();
    assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
    let others: Vec<_> = (0..3).map(|_| a.admit_request("b").unwrap()).collect();
    drop(held);
    let again = a.admit_request("a").unwrap();
    // The global bound still holds across tenants.
    let more: Vec<_> = ["c", "c", "d", "f"].iter().map(|t| a.admit_request(t).unwrap()).collect();
    assert_eq!(a.admit_request("e").unwrap_err().status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(a.tenant_requests.lock().unwrap().get("e").is_none(), "refused: share given back");
    drop((others, again, more));
    assert_eq!(a.requests.load(Ordering::Acquire), 0);
    assert!(a.tenant_requests.lock().unwrap().is_empty());
}

#[test]
fn the_bounds_tighten_while_submissions_fall_behind() {
    let a = admission(0.0, 0, 1000);
    let a = Admission::new(AdmissionConfig { max_in_flight_requests: 16, ..a.config });
    a.record_service(std::time::Duration::from_millis(2));
    let held: Vec<_> = (0..8).map(|_| a.admit_request("a").unwrap()).collect();
    assert_eq!(a.admit_request("a").unwrap_err().status, StatusCode::TOO_MANY_REQUESTS);
    drop(held);
    // Behind: half the bound (8), a tenant half of that.
    (0..30).for_each(|_| a.record_service(std::time::Duration::from_secs(1)));
    let held: Vec<_> = (0..4).map(|_| a.admit_request("a").unwrap()).collect();
    assert_eq!(a.admit_request("a").unwrap_err().status, StatusCode::TOO_MANY_REQUESTS);
    let others: Vec<_> = ["b", "c", "d", "e"].iter().map(|t| a.admit_request(t).unwrap()).collect();
    assert_eq!(a.admit_request("f").unwrap_err().status, StatusCode::SERVICE_UNAVAILABLE);
    drop((held, others));
    // Keeping pace again: the whole bound.
    (0..40).for_each(|_| a.record_service(std::time::Duration::from_millis(2)));
    let held: Vec<_> = (0..8).map(|_| a.admit_request("a").unwrap()).collect();
    drop(held);
}

#[test]
fn a_pace_sample_counts_the_time_since_the_body_read_when_dropped() {
    // A sample is taken by the blocking task once a submission passed its
    // quota; it records on drop, whatever the outcome (an error, or a
    // client that hung up while the task ran on).
    let a = admission(0.0, 0, 1000);
    let long_ago = std::time::Instant::now() - std::time::Duration::from_secs(1);
    (0..30).for_each(|_| drop(a.pace_sample(long_ago)));
    assert!(a.pace.behind(), "slow samples taken by guards count");
    (0..40).for_each(|_| drop(a.pace_sample(std::time::Instant::now())));
    assert!(!a.pace.behind(), "and fast ones bring it back");
}

#[test]
fn overrides_parse() {
    let (t, q) = parse_override("acme=100:1000000", 5.0).unwrap();
    assert_eq!((t.as_str(), q.events_per_sec, q.bytes_per_day), ("acme", 100.0, 1_000_000));
    assert_eq!(q.writes_per_min, 5.0);
    assert_eq!(parse_override("acme=1:2:3", 5.0).unwrap().1.writes_per_min, 3.0);
    assert!(parse_override("acme=x:1", 5.0).is_err());
    assert!(parse_override("acme=1:2:3:4", 5.0).is_err());
    assert!(parse_override("acme", 5.0).is_err());
}

#[test]
fn bodies_are_charged_before_they_are_read() {
    use warp::http::{HeaderMap, HeaderValue};
    let a = admission(0.0, 1000, 1000);
    let mut h = HeaderMap::new();
    h.insert("content-length", HeaderValue::from_static("600"));
    assert_eq!(a.charge_body("a", &h, 4096).unwrap(), 600);
    // The second is refused on its declared length alone, before a byte is read.
    assert_eq!(a.charge_body("a", &h, 4096).unwrap_err().status, StatusCode::TOO_MANY_REQUESTS);
    h.insert("content-length", HeaderValue::from_static("5000"));
    assert_eq!(a.charge_body("b", &h, 900).unwrap(), 900, "no more than is read");
    h.insert("content-length", HeaderValue::from_static("x"));
    assert_eq!(a.charge_body("d", &h, 900).unwrap_err().status, StatusCode::BAD_REQUEST);
    // No length: the cap is charged, the unused part given back.
    assert_eq!(a.charge_body("c", &HeaderMap::new(), 900).unwrap(), 900);
    a.refund_bytes("c", 800);
    a.charge_body("c", &HeaderMap::new(), 900).unwrap();
}

#[test]
fn other_writes_have_their_own_bucket() {
    let a = Admission::new(AdmissionConfig {
        default_quota: Quota { events_per_sec: 0.0, bytes_per_day: 0, writes_per_min: 3.0 },
        ..AdmissionConfig::default()
    });
    let t0 = Instant::now();
    for _ in 0..3 {
        a.take_write("a", t0).unwrap();
    }
    let e = a.take_write("a", t0).unwrap_err();
    assert_eq!((e.status, e.retry_after), (StatusCode::TOO_MANY_REQUESTS, Some(20)));
    a.take_write("b", t0).unwrap();
    a.take_write("a", t0 + Duration::from_secs(20)).unwrap();
}
