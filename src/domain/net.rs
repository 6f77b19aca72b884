//! Which address a request comes from, behind reverse proxies. Only proxies the operator names
//! (`LOKET_TRUSTED_PROXIES`, CIDRs) are believed: when the connecting peer is one of them, the
//! client is the right-most address in `X-Forwarded-For` that is not a trusted proxy — the
//! last hop a trusted proxy saw. Everything to the left of it was written by the client and
//! may be anything (taking the left-most let one script claim a new address per request and
//! walk past every per-address limit).

use std::net::IpAddr;

/// An address block such as `10.0.0.0/8` or `2001:db8::/32` (a bare address is a /32 or /128).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(raw: &str) -> Result<Cidr, String> {
        let raw = raw.trim();
        let (addr, prefix) = match raw.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (raw, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{raw:?} is not an address or CIDR"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{raw:?} has a bad prefix length"))?,
        };
        Ok(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 address seen as IPv6 (`::ffff:1.2.3.4`, from a dual-stack listener) is IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One entry of `X-Forwarded-For`: an address, maybe with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`). Anything else is `None`.
pub fn parse_forwarded_entry(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim().trim_matches('"');
    if let Ok(ip) = raw.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = raw.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok().map(canonical);
    }
    let (host, port) = raw.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The client's address: `peer` itself unless it is trusted (`peer_trusted`, or inside a
/// trusted block); then the right-most forwarded address outside the trusted blocks. An entry
/// that is not an address ends the walk there (the proxy would not have written it), and so
/// does running out of entries: the left-most trusted hop then counts as the client.
pub fn client_address(
    peer: IpAddr,
    forwarded: &[&str],
    trusted: &[Cidr],
    peer_trusted: bool,
) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !(peer_trusted || is_trusted(peer)) {
        return peer;
    }
    let mut client = peer;
    for entry in forwarded.iter().rev() {
        let Some(ip) = parse_forwarded_entry(entry) else {
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_and_contain() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains(ip("10.200.3.4")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped IPv6");
        assert!(Cidr::parse("127.0.0.1").unwrap().contains(ip("127.0.0.1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")) && !v6.contains(ip("2001:db9::1")));
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/x", "::/129"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_right_most_untrusted_forwarded_address_is_the_client() {
        let trusted = [Cidr::parse("10.0.0.0/8").unwrap()];
        let proxy = ip("10.0.0.2");
        // The client wrote "6.6.6.6"; the proxy appended what it saw.
        assert_eq!(
            client_address(proxy, &["6.6.6.6", "203.0.113.7"], &trusted, false),
            ip("203.0.113.7")
        );
        // Two trusted hops.
        assert_eq!(
            client_address(
                proxy,
                &["6.6.6.6", "203.0.113.7", "10.0.0.9"],
                &trusted,
                false
            ),
            ip("203.0.113.7")
        );
        // An untrusted peer's header is ignored altogether.
        assert_eq!(
            client_address(ip("198.51.100.1"), &["6.6.6.6"], &trusted, false),
            ip("198.51.100.1")
        );
        // LOKET_TRUST_PROXY=1: the peer is a proxy; still the right-most entry.
        assert_eq!(
            client_address(ip("127.0.0.1"), &["6.6.6.6", "203.0.113.8"], &[], true),
            ip("203.0.113.8")
        );
        // Ports and brackets.
        assert_eq!(
            client_address(proxy, &["203.0.113.9:5555"], &trusted, false),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(proxy, &["[2001:db8::7]:443"], &trusted, false),
            ip("2001:db8::7")
        );
        // Garbage where the proxy's entry should be: stop at the proxy.
        assert_eq!(
            client_address(proxy, &["6.6.6.6", "unknown"], &trusted, false),
            proxy
        );
    }
}
