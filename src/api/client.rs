//! The client address the service trusts: the socket's peer, unless that
//! peer is one of the operator's reverse proxies (`serve --trusted-proxy`),
//! whose `Forwarded` (RFC 7239) or `X-Forwarded-For` header then names the
//! client. Per-client limits and the access log key on this address, so a
//! TLS proxy in front does not make every client one, and a client that
//! writes its own `X-Forwarded-For` without a trusted proxy changes nothing.
//!
//! The header is read from its right end (the hop nearest the service):
//! each address that is itself a trusted proxy is passed over, and the
//! first one that is not is the client. Anything unreadable there (an
//! obfuscated `for=_hidden`, `unknown`, garbage) stops the walk, and the
//! last trusted hop is taken as the client: a header cannot be used to
//! pick someone else's address.

use std::net::IpAddr;

use warp::http::HeaderMap;

/// The address the service holds the request's client to.
pub fn trusted_client(peer: IpAddr, headers: &HeaderMap, proxies: &[IpAddr]) -> IpAddr {
    if !proxies.contains(&peer) {
        return peer;
    }
    let hops = match forwarded_for(headers) {
        Some(h) => h,
        None => x_forwarded_for(headers),
    };
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) if proxies.contains(ip) => client = *ip,
            Some(ip) => return *ip,
            None => return client,
        }
    }
    client
}

/// The `for=` values of every `Forwarded` header, in order; `None` when
/// there is no such header. An unreadable value is `None` in the list.
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut found = false;
    let mut out = Vec::new();
    for value in headers.get_all("forwarded") {
        found = true;
        let Ok(text) = value.to_str() else {
            out.push(None);
            continue;
        };
        for element in text.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                k.eq_ignore_ascii_case("for").then(|| v.trim().trim_matches('"').to_string())
            });
            if let Some(node) = node {
                out.push(parse_node(&node));
            }
        }
    }
    found.then_some(out)
}

/// The addresses of every `X-Forwarded-For` header, in order.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut out = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        match value.to_str() {
            Ok(text) => out.extend(text.split(',').map(|a| parse_node(a.trim()))),
            Err(_) => out.push(None),
        }
    }
    out
}

/// An address, optionally with a port: `192.0.2.1`, `192.0.2.1:80`,
/// `2001:db8::1`, `[2001:db8::1]:80`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// Parses a `--trusted-proxy` value: one IP address.
pub fn parse_proxy(s: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|_| format!("--trusted-proxy {s:?}: expected an IP address"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use warp::http::HeaderValue;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_header_from_an_untrusted_peer_is_ignored() {
        let h = headers(&[("x-forwarded-for", "10.9.9.9")]);
        assert_eq!(trusted_client(ip("192.0.2.7"), &h, &[ip("192.0.2.1")]), ip("192.0.2.7"));
        assert_eq!(trusted_client(ip("192.0.2.7"), &h, &[]), ip("192.0.2.7"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client_from_the_right() {
        let proxies = [ip("192.0.2.1"), ip("192.0.2.2")];
        // The client wrote a first address itself; the proxies appended theirs.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.4, 192.0.2.2")]);
        assert_eq!(trusted_client(ip("192.0.2.1"), &h, &proxies), ip("198.51.100.4"));
        let h = headers(&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "198.51.100.5")]);
        assert_eq!(trusted_client(ip("192.0.2.1"), &h, &proxies), ip("198.51.100.5"));
        // Forwarded wins over X-Forwarded-For, with quoting, ports and IPv6.
        let h = headers(&[
            ("forwarded", "for=6.6.6.6, for=\"[2001:db8::9]:4711\";proto=https"),
            ("x-forwarded-for", "198.51.100.4"),
        ]);
        assert_eq!(trusted_client(ip("192.0.2.1"), &h, &proxies), ip("2001:db8::9"));
        let h = headers(&[("forwarded", "for=198.51.100.8:80;by=192.0.2.1")]);
        assert_eq!(trusted_client(ip("192.0.2.1"), &h, &proxies), ip("198.51.100.8"));
    }

    #[test]
    fn what_cannot_be_read_leaves_the_last_trusted_hop() {
        let proxies = [ip("192.0.2.1"), ip("192.0.2.2")];
        for v in ["_hidden, 192.0.2.2", "unknown", "", "not an address, 192.0.2.2"] {
            let h = headers(&[("x-forwarded-for", v)]);
            let got = trusted_client(ip("192.0.2.1"), &h, &proxies);
            assert!(proxies.contains(&got), "{v:?}: {got}");
        }
        let h = headers(&[("forwarded", "for=_hidden")]);
        assert_eq!(trusted_client(ip("192.0.2.1"), &h, &proxies), ip("192.0.2.1"));
        // No header: the proxy itself.
        assert_eq!(trusted_client(ip("192.0.2.1"), &HeaderMap::new(), &proxies), ip("192.0.2.1"));
        assert!(parse_proxy("10.0.0.1").is_ok());
        assert!(parse_proxy("10.0.0.0/8").is_err());
    }
}
