//! Where the adapters may fetch from: public addresses only, unless the
//! operator allows a network (`serve --integration-allow-network CIDR`).
//!
//! A tenant's admin sets the platform's base URL, and DocuSeal's answer
//! names the URLs of its files: without this, either could make the
//! service fetch from inside its own network (a cloud metadata address,
//! an internal admin page) and report the hash or the error text. Every
//! address is checked where the connection is made: host names through
//! the client's resolver (which drops every non-public address, so a name
//! that resolves to 10.0.0.5 fails), literal addresses before the request
//! and on every redirect.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// An address block, `ADDR/PREFIX` (or one address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
            let keep = u32::from(prefix.min(width));
            if keep == 0 {
                0
            } else {
                bits >> (u32::from(width) - keep)
            }
        }
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                masked(u32::from(n).into(), self.prefix, 32)
                    == masked(u32::from(a).into(), self.prefix, 32)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                masked(u128::from(n), self.prefix, 128) == masked(u128::from(a), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// Parses `--integration-allow-network`: `10.1.0.0/16`, `fd00::/8`, or one
/// address.
pub fn parse_network(s: &str) -> Result<Network, String> {
    let bad = || format!("--integration-allow-network {s:?}: expected ADDRESS[/PREFIX]");
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
        None => (s, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let width = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.unwrap_or(width);
    if prefix > width {
        return Err(bad());
    }
    Ok(Network { addr: canonical(addr), prefix })
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Whether `ip` is a public unicast address: not loopback, private,
/// link-local (169.254/16: cloud metadata), shared (100.64/10),
/// unspecified, multicast, broadcast, documentation or reserved space, nor
/// their IPv6 counterparts (::1, fc00::/7, fe80::/10, and IPv4-mapped).
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(a) => {
            let o = a.octets();
            !(a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_multicast()
                || a.is_broadcast()
                || a.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240)
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x0064 && s[1] == 0xff9b))
        }
    }
}

/// The addresses the adapters may reach.
#[derive(Clone, Debug, Default)]
pub struct Egress {
    allowed: Arc<Vec<Network>>,
}

/// What `serve` configured ([`configure`]); public addresses only before.
static CONFIGURED: std::sync::OnceLock<Egress> = std::sync::OnceLock::new();

/// Sets the networks the adapters may reach besides public addresses
/// (once, at `serve` start).
pub fn configure(allowed: Vec<Network>) {
    let _ = CONFIGURED.set(Egress::new(allowed));
}

impl Egress {
    /// What `serve` configured.
    pub fn current() -> Egress {
        CONFIGURED.get().cloned().unwrap_or_default()
    }

    /// Public addresses and the operator's allowed networks.
    pub fn new(allowed: Vec<Network>) -> Egress {
        Egress { allowed: Arc::new(allowed) }
    }

    /// Whether the adapters may connect to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.allowed.iter().any(|n| n.contains(ip))
    }

    /// Refuses a URL whose host is a literal address the adapters may not
    /// reach (names are checked by [`Egress::resolver`] when resolved).
    pub fn check_url(&self, url: &url::Url) -> Result<(), String> {
        let ip = match url.host() {
            Some(url::Host::Ipv4(a)) => IpAddr::V4(a),
            Some(url::Host::Ipv6(a)) => IpAddr::V6(a),
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err("the URL has no host".into()),
        };
        if self.permits(ip) {
            Ok(())
        } else {
            Err(format!(
                "{ip} is not a public address (the operator may allow its network with \
                 serve --integration-allow-network)"
            ))
        }
    }

    /// A resolver for the HTTP client that keeps only permitted addresses.
    pub fn resolver(&self) -> Arc<Egress> {
        Arc::new(self.clone())
    }
}

impl reqwest::dns::Resolve for Egress {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let egress = self.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })?
                .collect();
            let kept: Vec<SocketAddr> =
                found.iter().copied().filter(|a| egress.permits(a.ip())).collect();
            if kept.is_empty() {
                let msg = format!(
                    "{host} resolves to no public address (the operator may allow its \
                     network with serve --integration-allow-network)"
                );
                return Err(msg.into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
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
    fn inner_addresses_are_not_public() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(ip(a)), "{a}");
        }
        for a in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(ip(a)), "{a}");
        }
    }

    #[test]
    fn an_allowed_network_admits_only_its_addresses() {
        let e = Egress::new(vec![parse_network("10.1.0.0/16").unwrap()]);
        assert!(e.permits(ip("10.1.200.3")));
        assert!(e.permits(ip("::ffff:10.1.0.9")));
        assert!(!e.permits(ip("10.2.0.1")));
        assert!(!e.permits(ip("127.0.0.1")));
        let one = Egress::new(vec![parse_network("127.0.0.1").unwrap()]);
        assert!(one.permits(ip("127.0.0.1")) && !one.permits(ip("127.0.0.2")));
        for bad in ["10.0.0.0/33", "fd00::/129", "nope", "10.0.0.0/x"] {
            assert!(parse_network(bad).is_err(), "{bad}");
        }
        let url = url::Url::parse("http://169.254.169.254/latest/meta-data").unwrap();
        assert!(e.check_url(&url).is_err());
        assert!(e.check_url(&url::Url::parse("http://10.1.0.1/x").unwrap()).is_ok());
        assert!(e.check_url(&url::Url::parse("https://docs.example/x").unwrap()).is_ok());
    }
}
