//! The visitor's network address, as far as it can be trusted.
//!
//! # Threat
//! The address keys the per-address lockout and the password-check rate limit, and it is shown
//! in the sessions list. Spin copies the client's request headers and then *appends* its own
//! `spin-client-addr`, so a client that sends its own `spin-client-addr: 1.2.3.4` puts a forged
//! value first: read the first and any client sprays guesses from "new" addresses, locks out
//! any address it names, and writes what it likes into the sessions list. Only the value Spin
//! appended, the last, is trustworthy.
//!
//! Behind a CDN or proxy Spin sees the proxy, so every visitor would share one address. The
//! operator may name the header their proxy sets (`client_ip_header`). A proxy may append to a
//! value the client sent (`x-forwarded-for: forged, real`), so only the rightmost entry of the
//! last such header is taken: the one the operator's own proxy wrote. A value that is not an IP
//! address is ignored, and Spin's own address is used instead.

use std::net::{IpAddr, SocketAddr};

/// The address to account this request to: from the last value of the operator's
/// `client_ip_header` when one is configured and holds an address, else the last
/// `spin-client-addr` value (see [`last_value`]).
pub fn client_address(spin_client_addr: Option<&str>, proxy_header: Option<&str>) -> Option<String> {
    let from_proxy = proxy_header
        .and_then(|value| value.rsplit(',').next())
        .and_then(parse_address);
    from_proxy.or_else(|| spin_client_addr.map(|value| value.trim().to_owned()))
}

/// An IP address, with or without a port (`203.0.113.7`, `203.0.113.7:4711`, `[2001:db8::1]:443`,
/// `2001:db8::1`), in its canonical text.
pub fn parse_address(text: &str) -> Option<String> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_string());
    }
    text.parse::<SocketAddr>().ok().map(|addr| addr.ip().to_string())
}

/// The last value of a header: the one the host, or the operator's proxy, wrote. `None` when
/// that value is not text: an earlier, client-sent value never stands in for it.
pub fn last_value<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get_all(name).iter().next_back()?.to_str().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The address for a request carrying these header values, in order.
    fn address(spin: &[&str], proxy: Option<&[&str]>) -> Option<String> {
        let mut headers = http::HeaderMap::new();
        for value in spin {
            headers.append("spin-client-addr", value.parse().unwrap());
        }
        for value in proxy.unwrap_or_default() {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        let proxy_value = proxy.and(last_value(&headers, "x-forwarded-for"));
        client_address(last_value(&headers, "spin-client-addr"), proxy_value)
    }

    #[test]
    fn a_client_sent_spin_client_addr_is_ignored_for_spins_own() {
        assert_eq!(
            address(&["6.6.6.6:1", "203.0.113.7:51000"], None).as_deref(),
            Some("203.0.113.7:51000")
        );
        assert_eq!(address(&[], None), None);
    }

    #[test]
    fn the_proxy_header_is_read_from_the_right() {
        let forwarded = ["6.6.6.6, 198.51.100.9"];
        assert_eq!(
            address(&["10.0.0.1:1"], Some(&forwarded)).as_deref(),
            Some("198.51.100.9")
        );
        let two_fields = ["6.6.6.6", "198.51.100.9"];
        assert_eq!(
            address(&["10.0.0.1:1"], Some(&two_fields)).as_deref(),
            Some("198.51.100.9")
        );
        assert_eq!(
            address(&["10.0.0.1:1"], Some(&["[2001:db8::1]:443"])).as_deref(),
            Some("2001:db8::1")
        );
    }

    #[test]
    fn a_last_value_that_is_not_text_is_not_replaced_by_an_earlier_client_value() {
        let mut headers = http::HeaderMap::new();
        headers.append("spin-client-addr", "6.6.6.6:1".parse().unwrap());
        headers.append("spin-client-addr", http::HeaderValue::from_bytes(b"\xff").unwrap());
        assert_eq!(last_value(&headers, "spin-client-addr"), None);
    }

    #[test]
    fn a_forged_or_missing_proxy_value_falls_back_to_spins_address() {
        for bad in [&["not-an-ip"][..], &["1.2.3.4, <script>"], &[]] {
            assert_eq!(
                address(&["10.0.0.1:1"], Some(bad)).as_deref(),
                Some("10.0.0.1:1"),
                "{bad:?}"
            );
        }
    }
}
