//! Which address a component publishes for its listener.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A listener on `0.0.0.0` / `::` cannot be dialled at that address: publish the
/// configured one (a pod's IP), else loopback of the same family.
pub fn advertised_ip(listening: IpAddr, configured: Option<IpAddr>) -> IpAddr {
    if !listening.is_unspecified() {
        return listening;
    }
    configured.unwrap_or(match listening {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_specific_listener_address_is_published_as_is() {
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(advertised_ip(ip, Some("10.9.9.9".parse().unwrap())), ip);
    }

    #[test]
    fn an_unspecified_listener_address_is_replaced() {
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        assert_eq!(advertised_ip(any, None), IpAddr::V4(Ipv4Addr::LOCALHOST));
        let v6: IpAddr = "::".parse().unwrap();
        assert_eq!(advertised_ip(v6, None), IpAddr::V6(Ipv6Addr::LOCALHOST));
        let configured: IpAddr = "192.168.1.5".parse().unwrap();
        assert_eq!(advertised_ip(any, Some(configured)), configured);
    }
}
