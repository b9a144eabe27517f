//! Which addresses outgoing webhooks may reach: with `[http] block_private = true`, loopback,
//! private, link-local, unique-local and unspecified addresses are refused (against server-side
//! request forgery: a webhook URL or a redirect pointing at internal services), except the
//! networks and host names listed in `[http] allow`.
//!
//! Host names are checked after resolution, by [`GuardedResolver`] (so a public name that
//! resolves to `127.0.0.1` is refused too); literal IP addresses never reach a resolver, so
//! [`Policy::check_url`] checks them before sending and on every followed redirect.

use std::{
    net::{IpAddr, SocketAddr},
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

/// An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether an address is one a public webhook should never reach.
pub fn is_private(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        }
    }
}

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
                        Box::<dyn std::error::Error + Send + Sync>::from(reason)
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
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "2001:4860:4860::8888", "172.32.0.1"] {
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
