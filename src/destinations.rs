//! Which addresses outgoing webhooks may reach: with `[http] block_private = true`, loopback,
//! private, link-local, unique-local and unspecified addresses are refused (against server-side
//! request forgery: a webhook URL or a redirect pointing at internal services), except the
//! networks and host names listed in `[http] allow`.
//!
//! Host names are checked after resolution, by [`GuardedResolver`] (so a public name that
//! resolves to `127.0.0.1` is refused too); literal IP addresses never reach a resolver, so
//! [`Policy::check_url`] checks them before sending and on every followed redirect.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

/// A network from `[http] allow`: an address and a prefix length.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// `10.1.2.0/24`, `fd00::/8`, or a bare address (one host).
    fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
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

/// The IPv4 address an IPv6 address carries where the network would deliver to it: mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, deprecated but still routed by some stacks),
/// NAT64's well-known prefix (`64:ff9b::/96`) and 6to4 (`2002:AABB:CCDD::/48`). A webhook aimed
/// at one of these reaches the IPv4 address inside, so that is the one to judge.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(mapped) = v6.to_ipv4_mapped() {
        Some(mapped)
    } else if (s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1)) // ::a.b.c.d, not :: or ::1
        || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
    {
        Some(low)
    } else if s[0] == 0x2002 {
        Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ))
    } else {
        None
    }
}

/// An IPv6 address that carries an IPv4 one (see [`embedded_v4`]) as that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether an address is one a public webhook should never reach: everything IANA's
/// special-purpose registries mark as not globally reachable, looked for inside IPv6 addresses
/// that carry an IPv4 one too.
pub fn is_private(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast() // 224.0.0.0/4
                || a >= 240 // reserved 240.0.0.0/4, broadcast included
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
                || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18.0.0/15
                || (a == 192 && b == 0 && (c == 0 || c == 2)) // IETF 192.0.0.0/24, TEST-NET-1
                || (a == 198 && b == 51 && c == 100) // TEST-NET-2
                || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast() // ff00::/8
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
                || (s[0], s[1]) == (0x2001, 0x0db8) // documentation 2001:db8::/32
                || (s[0], s[1], s[2]) == (0x64, 0xff9b, 1) // local-use NAT64 64:ff9b:1::/48
                || s[..4] == [0x100, 0, 0, 0] // discard-only 100::/64
                || (s[0] == 0x2001 && s[1] < 0x200) // IETF 2001::/23, Teredo's hidden peers included
        }
    }
}

/// Why a destination was refused, as its own error type, so a failed request can say "refused"
/// whether the refusal came from the literal address, the resolver or a redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The refusal text, the same for host names and literal addresses.
fn refusal(ip: IpAddr) -> String {
    format!(
        "destination {} is a private or loopback address; refused by [http] block_private (allow it with [http] allow)",
        canonical(ip)
    )
}

/// The destination rules from `[http]`.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    block_private: bool,
    networks: Vec<Network>,
    hosts: Vec<String>,
}

impl Policy {
    /// The policy `[http] block_private` and `allow` describe; an `allow` entry that is
    /// neither a network nor a host name is an error naming it.
    pub fn new(block_private: bool, allow: &[String]) -> Result<Self, String> {
        let mut policy = Self {
            block_private,
            ..Self::default()
        };
        for entry in allow {
            if let Some(network) = Network::parse(entry) {
                policy.networks.push(network);
            } else if !entry.is_empty()
                && !entry.contains('/')
                && url::Host::parse(entry).is_ok_and(|h| matches!(h, url::Host::Domain(_)))
            {
                policy.hosts.push(entry.to_ascii_lowercase());
            } else {
                return Err(format!(
                    "expected a network such as 10.1.2.0/24, an address or a host name, found {entry:?}"
                ));
            }
        }
        Ok(policy)
    }

    /// Whether anything is refused at all (no resolver is needed otherwise).
    pub fn blocks(&self) -> bool {
        self.block_private
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.iter().any(|h| h.trim_end_matches('.') == host)
    }

    /// `Err(reason)` when `ip` may not be reached.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        if self.block_private && is_private(ip) && !self.networks.iter().any(|n| n.contains(ip)) {
            return Err(refusal(ip));
        }
        Ok(())
    }

    /// Checks a URL whose host is a literal address (names are checked when resolved).
    pub fn check_url(&self, url: &url::Url) -> Result<(), String> {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            _ => Ok(()),
        }
    }
}

/// A DNS resolver for reqwest that drops nothing silently: when any resolved address of a name
/// is refused by the [`Policy`], the whole lookup fails with the refusal as its reason.
pub struct GuardedResolver {
    policy: Arc<Policy>,
}

impl GuardedResolver {
    /// A resolver applying `policy`.
    pub fn new(policy: Arc<Policy>) -> Self {
        Self { policy }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !policy.host_allowed(&host) {
                for addr in &addrs {
                    policy.check_ip(addr.ip()).map_err(|reason| {
                        Box::new(Refused(reason)) as Box<dyn std::error::Error + Send + Sync>
                    })?;
                }
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(block: bool, allow: &[&str]) -> Policy {
        let allow: Vec<String> = allow.iter().map(|s| s.to_string()).collect();
        Policy::new(block, &allow).unwrap()
    }

    #[test]
    fn private_ranges() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            // IPv6 addresses that carry a private IPv4 one: NAT64, IPv4-compatible, 6to4.
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "::127.0.0.1",
            "::10.0.0.1",
            "2002:7f00:1::1",
            "2002:c0a8:101::",
            "198.18.0.1",
            "198.19.255.255",
            "240.0.0.1",
            "255.255.255.255",
            "224.0.0.251",
            "239.255.255.250",
            "ff02::1",
            "192.0.2.1",
            "2001:db8::1",
            "64:ff9b:1::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "2001:4860:4860::8888",
            "172.32.0.1",
            "198.20.0.1",
            "223.255.255.255",
            // The same public address behind NAT64 and 6to4 is as reachable as it is.
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn block_and_allow() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(policy(false, &[]).check_ip(loopback).is_ok());
        assert_eq!(
            policy(true, &[]).check_ip(loopback).unwrap_err(),
            "destination 127.0.0.1 is a private or loopback address; refused by [http] block_private (allow it with [http] allow)"
        );
        assert!(policy(true, &["127.0.0.0/8"]).check_ip(loopback).is_ok());
        assert!(policy(true, &["127.0.0.1"]).check_ip(loopback).is_ok());
        let p = policy(true, &["10.1.2.0/24", "hooks.internal", "fd00::/8"]);
        assert!(p.check_ip("10.1.2.9".parse().unwrap()).is_ok());
        assert!(p.check_ip("10.1.3.9".parse().unwrap()).is_err());
        assert!(p.check_ip("fd12::1".parse().unwrap()).is_ok());
        assert!(p.host_allowed("Hooks.Internal."));
        let url = url::Url::parse("http://[::ffff:127.0.0.1]:80/").unwrap();
        assert!(p.check_url(&url).is_err());
        assert!(p
            .check_url(&url::Url::parse("http://example.com/").unwrap())
            .is_ok());
    }

    #[test]
    fn bad_allow_entries_are_named() {
        for bad in ["10.0.0.0/33", "not a host", "", "1.2.3.4/x"] {
            let err = Policy::new(false, &[bad.to_string()]).unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }
}
