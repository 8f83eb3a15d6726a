//! Failed authentication per client address: after
//! [`DEFAULT_AUTH_FAILURES`] failures (401) within
//! [`DEFAULT_AUTH_FAILURE_WINDOW_SECS`], an address's authenticated
//! requests are answered 429 + `Retry-After` until its window ends, before
//! any token is hashed or looked up (`serve --auth-failure-limit`,
//! `--auth-failure-window-secs`). A 401 flood otherwise costs a hash and a
//! store read per request, beside every other tenant's traffic.
//!
//! The address is the one the service trusts ([`super::client`]); an IPv6
//! client is counted by its /64, the block one host is usually given.
//! Trusted proxies themselves are exempt, as from the per-client connection
//! cap: what they forward names the client.
//!
//! Memory is one fixed table of [`SETS`] × [`WAYS`] entries, allocated at
//! start; an address hashes (SipHash, random key per process) to one set.
//! Counts are kept per exact address, never shared: a new address takes an
//! expired entry of its set, else the one with the fewest failures. So one
//! address's flood can lock out only itself; at worst, many addresses in
//! one set push each other's counts out, which only lets a flooder start
//! its count again.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures of one address within a window before it is refused; 0: off.
pub const DEFAULT_AUTH_FAILURES: u32 = 50;
/// The window, seconds.
pub const DEFAULT_AUTH_FAILURE_WINDOW_SECS: u64 = 60;
/// Sets of the table.
pub const SETS: usize = 1024;
/// Entries per set.
pub const WAYS: usize = 4;

/// One address's count within its window.
#[derive(Clone, Copy)]
struct Entry {
    client: u128,
    started: Instant,
    failures: u32,
}

/// The table of failed authentications.
pub struct AuthLimiter {
    sets: Vec<Mutex<[Option<Entry>; WAYS]>>,
    hasher: RandomState,
    limit: u32,
    window: Duration,
}

impl AuthLimiter {
    /// A table refusing an address after `limit` failures within
    /// `window` (`limit` 0: never refuses, counts nothing).
    pub fn new(limit: u32, window: Duration) -> AuthLimiter {
        let sets = (0..SETS).map(|_| Mutex::new([None; WAYS])).collect();
        AuthLimiter { sets, hasher: RandomState::new(), limit, window: window.max(MIN_WINDOW) }
    }

    /// `Err(seconds until the address may try again)` while `client` is
    /// refused.
    pub fn check(&self, client: IpAddr) -> Result<(), u64> {
        if self.limit == 0 {
            return Ok(());
        }
        let key = client_key(client);
        let now = Instant::now();
        let set = self.set(key);
        let set = set.lock().unwrap_or_else(|p| p.into_inner());
        let Some(e) = set.iter().flatten().find(|e| e.client == key) else { return Ok(()) };
        let ends = e.started + self.window;
        if e.failures >= self.limit && now < ends {
            return Err(ends.duration_since(now).as_secs().max(1));
        }
        Ok(())
    }

    /// Counts one failed authentication of `client`.
    pub fn failed(&self, client: IpAddr) {
        if self.limit == 0 {
            return;
        }
        let key = client_key(client);
        let now = Instant::now();
        let set = self.set(key);
        let mut set = set.lock().unwrap_or_else(|p| p.into_inner());
        let live = |e: &Entry| now < e.started + self.window;
        if let Some(e) = set.iter_mut().flatten().find(|e| e.client == key) {
            if live(e) {
                e.failures = e.failures.saturating_add(1);
            } else {
                *e = Entry { client: key, started: now, failures: 1 };
            }
            return;
        }
        // An empty or expired entry, else the one with the fewest failures.
        let victim = (0..WAYS)
            .min_by_key(|&i| match &set[i] {
                None => (0, 0),
                Some(e) if !live(e) => (0, 1),
                Some(e) => (1, e.failures),
            })
            .unwrap_or(0);
        set[victim] = Some(Entry { client: key, started: now, failures: 1 });
    }

    fn set(&self, key: u128) -> &Mutex<[Option<Entry>; WAYS]> {
        &self.sets[(self.hasher.hash_one(key) as usize) % SETS]
    }
}

/// Shortest window (a zero window would count nothing).
const MIN_WINDOW: Duration = Duration::from_secs(1);

/// The key an address is counted under: an IPv4 address as itself, an
/// IPv6 address by its /64 (an IPv4-mapped one as the IPv4 address).
fn client_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(u32::from(v4)),
            None => (u128::from(v6) & !((1u128 << 64) - 1)) | (1u128 << 63),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_flooder_locks_out_itself_only() {
        let l = AuthLimiter::new(3, Duration::from_secs(60));
        let bad = ip("192.0.2.9");
        for _ in 0..3 {
            assert!(l.check(bad).is_ok());
            l.failed(bad);
        }
        let wait = l.check(bad).unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        // Every other address is still served, even after many failures
        // of many addresses pushed entries around the table.
        assert!(l.check(ip("192.0.2.10")).is_ok());
        for i in 0..20_000u32 {
            let other = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            l.failed(other);
            assert!(l.check(other).is_ok(), "one failure never refuses");
        }
        assert!(l.check(ip("198.51.100.1")).is_ok());
        // The table did not grow.
        assert_eq!(l.sets.len(), SETS);
    }

    #[test]
    fn ipv6_counts_by_its_64_and_the_window_ends() {
        let l = AuthLimiter::new(2, Duration::from_secs(1));
        l.failed(ip("2001:db8:1:2::1"));
        l.failed(ip("2001:db8:1:2::ffff"));
        assert!(l.check(ip("2001:db8:1:2::77")).is_err());
        assert!(l.check(ip("2001:db8:1:3::1")).is_ok());
        assert_eq!(client_key(ip("::ffff:192.0.2.1")), client_key(ip("192.0.2.1")));
        std::thread::sleep(Duration::from_millis(1100));
        assert!(l.check(ip("2001:db8:1:2::1")).is_ok());
        let off = AuthLimiter::new(0, Duration::from_secs(60));
        for _ in 0..10 {
            off.failed(ip("192.0.2.1"));
        }
        assert!(off.check(ip("192.0.2.1")).is_ok());
    }
}
