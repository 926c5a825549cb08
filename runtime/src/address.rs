//! Provides how peers are told apart for per-address limits (connections, failed logins).

use std::net::IpAddr;

/// An address as per-address limits count it: IPv4 as is, IPv6 by its /64 prefix (one host usually
/// holds a whole /64), IPv4-mapped IPv6 as IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct AddressKey(IpAddr);

impl AddressKey {
    pub(crate) fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => AddressKey(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddressKey(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    AddressKey(IpAddr::V6(prefix.into()))
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_its_64_prefix_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            AddressKey::of("2001:db8::1".parse().expect("ip")),
            AddressKey::of("2001:db8::ffff:2".parse().expect("ip"))
        );
        assert_ne!(
            AddressKey::of("2001:db8::1".parse().expect("ip")),
            AddressKey::of("2001:db8:0:1::1".parse().expect("ip"))
        );
        assert_eq!(
            AddressKey::of("::ffff:10.0.0.1".parse().expect("ip")),
            AddressKey::of("10.0.0.1".parse().expect("ip"))
        );
    }
}
