//! Which addresses are inside a network rather than on the internet, and a resolver that
//! keeps only the public ones: a URL someone outside gave us (a status page subscriber's
//! webhook) must not reach inside our network, whatever its name resolves to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Whether an address is inside a network rather than on the internet: loopback,
/// private, link-local, carrier-grade NAT, "this network" (`0.0.0.0/8`), IETF protocol
/// assignments (`192.0.0.0/24`), reserved (`240.0.0.0/4`, with broadcast), multicast,
/// documentation and benchmarking ranges; for IPv6 unique local, link-local, site-local
/// (`fec0::/10`), loopback, unspecified and multicast.
///
/// An IPv6 address that carries an IPv4 address counts as that IPv4 address: mapped
/// (`::ffff:a.b.c.d`), translated (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`),
/// NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`). Otherwise `64:ff9b::a00:1` would reach
/// 10.0.0.1 through a NAT64 gateway. NAT64's local-use prefix (`64:ff9b:1::/48`) is
/// internal whole: a network picks where in it the IPv4 address sits, so it cannot be
/// read out, and the prefix is by definition the network's own.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => is_internal_v4(v4),
            None => {
                let [first, second, third, ..] = v6.segments();
                v6.is_multicast()
                    || (first == 0x64 && second == 0xff9b && third == 1) // NAT64 local use
                    || (first & 0xfe00) == 0xfc00 // unique local
                    || (first & 0xffc0) == 0xfe80 // link-local
                    || (first & 0xffc0) == 0xfec0 // site-local (deprecated, still routed inside)
            }
        },
    }
}

fn is_internal_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || a >= 240 // reserved
}

/// The IPv4 address an IPv6 address carries, in the forms that route to it.
fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    let last = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        // IPv4-compatible, which also covers `::` (0.0.0.0) and `::1` (0.0.0.1): both
        // internal either way.
        [0, 0, 0, 0, 0, 0, hi, lo] => Some(last(hi, lo)),
        // IPv4-translated (SIIT).
        [0, 0, 0, 0, 0xffff, 0, hi, lo] => Some(last(hi, lo)),
        // NAT64's well-known prefix.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(last(hi, lo)),
        // 6to4: the IPv4 address follows the prefix.
        [0x2002, hi, lo, ..] => Some(last(hi, lo)),
        _ => None,
    }
}

/// A resolver (for reqwest) that asks the system's resolver and keeps only public
/// addresses: a name that resolves only to internal ones is refused, internal addresses
/// among public ones are skipped.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| !is_internal(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves only to internal addresses").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::dns::Resolve;
    use std::str::FromStr;

    fn check(address: &str, internal: bool) {
        let ip = IpAddr::from_str(address).expect("an address");
        assert_eq!(is_internal(ip), internal, "{address}");
    }

    #[test]
    fn ipv4_ranges_inside_a_network_are_internal() {
        for address in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "100.127.255.254",
            "198.18.0.1",
            "198.19.255.255",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.1",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "192.0.0.1",
            "192.0.0.170",
            "240.0.0.1",
            "250.1.2.3",
        ] {
            check(address, true);
        }
    }

    #[test]
    fn public_ipv4_is_not_internal() {
        for address in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "192.0.1.1",
            "192.1.0.1",
            "198.17.0.1",
            "198.20.0.1",
            "223.255.255.255",
        ] {
            check(address, false);
        }
    }

    #[test]
    fn ipv6_ranges_inside_a_network_are_internal() {
        for address in [
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "feff::1",
            "ff02::1",
            // Regression (issue 16): NAT64's local-use prefix reached inside.
            "64:ff9b:1::a00:1",
            "64:ff9b:1:ffff::808:808",
        ] {
            check(address, true);
        }
    }

    #[test]
    fn public_ipv6_is_not_internal() {
        for address in [
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450::1",
            "64:ff9c::a00:1",
            "64:ff9b:2::a00:1",
            "2003::1",
        ] {
            check(address, false);
        }
    }

    /// IPv6 forms that carry an IPv4 address are judged by that address.
    #[test]
    fn ipv6_carrying_ipv4_counts_as_that_ipv4() {
        for (address, internal) in [
            ("::ffff:127.0.0.1", true),
            ("::ffff:10.0.0.1", true),
            ("::ffff:8.8.8.8", false),
            ("::10.0.0.1", true),
            ("::127.0.0.1", true),
            ("::8.8.8.8", false),
            ("64:ff9b::10.0.0.1", true),
            ("64:ff9b::169.254.169.254", true),
            ("64:ff9b::8.8.8.8", false),
            ("2002:0a00:0001::1", true),
            ("2002:7f00:0001::", true),
            ("2002:c0a8:0101:1::1", true),
            ("2002:0808:0808::1", false),
            ("::ffff:0:10.0.0.1", true),
            ("::ffff:0:8.8.8.8", false),
        ] {
            check(address, internal);
        }
    }

    #[tokio::test]
    async fn names_that_resolve_only_inside_are_refused() {
        let name = reqwest::dns::Name::from_str("localhost").expect("a name");
        let error = PublicOnly
            .resolve(name)
            .await
            .err()
            .expect("localhost is internal");
        assert_eq!(
            error.to_string(),
            "localhost resolves only to internal addresses"
        );
    }
}
