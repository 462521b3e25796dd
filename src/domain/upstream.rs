//! Outbound URL safety for provider `base_url`s and HTTP steps: https only, and never a private,
//! loopback or link-local address, unless the deployment explicitly allows private upstreams (local
//! development and the tests do, to reach stand-in servers on 127.0.0.1).
//!
//! Workers resolve names inside `fetch`, so names are checked by what they say (`localhost`,
//! `*.internal`, ...) and IP literals by their range; on Cloudflare's network a public name cannot
//! reach a private address anyway. URLs are read by a WHATWG parser, so numeric spellings of an
//! address (`2130706433`, `0x7f.1`) are seen as the address they are.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A URL as a WHATWG parser reads it: what the checks look at, and the serialisation to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts {
    /// `https:` or `http:` (with the colon, as WHATWG gives it).
    pub protocol: String,
    /// The host as serialised: a name, a dotted IPv4 (numeric forms already normalised), or a
    /// bracketed IPv6.
    pub hostname: String,
    pub has_credentials: bool,
    pub has_query: bool,
    pub has_fragment: bool,
    pub href: String,
}

/// Parses with the runtime's WHATWG `URL`: the very parser `fetch` will use on the same string,
/// so what is checked is what is fetched.
#[cfg(target_arch = "wasm32")]
pub fn parse(raw: &str) -> Option<UrlParts> {
    let u = web_sys::Url::new(raw).ok()?;
    Some(UrlParts {
        protocol: u.protocol(),
        hostname: u.hostname(),
        has_credentials: !u.username().is_empty() || !u.password().is_empty(),
        has_query: !u.search().is_empty(),
        has_fragment: !u.hash().is_empty(),
        href: u.href(),
    })
}

/// On the host (unit tests), the url crate: the same WHATWG rules.
#[cfg(not(target_arch = "wasm32"))]
pub fn parse(raw: &str) -> Option<UrlParts> {
    let u = url::Url::parse(raw).ok()?;
    Some(UrlParts {
        protocol: format!("{}:", u.scheme()),
        hostname: u.host_str().unwrap_or("").to_string(),
        has_credentials: !u.username().is_empty() || u.password().is_some(),
        has_query: u.query().is_some_and(|q| !q.is_empty()),
        has_fragment: u.fragment().is_some_and(|f| !f.is_empty()),
        href: u.as_str().to_string(),
    })
}

/// Parses and checks a base URL; answers it normalised (no trailing slash), or why not.
pub fn parse_base_url(raw: &str, allow_private: bool) -> Result<String, &'static str> {
    let url = check_url(raw, allow_private)?;
    if url.has_query || url.has_fragment {
        return Err("must not have a query or fragment");
    }
    Ok(url.href.trim_end_matches('/').to_string())
}

/// Checks any outbound URL against the same rules.
pub fn check_url(raw: &str, allow_private: bool) -> Result<UrlParts, &'static str> {
    let url = parse(raw.trim()).ok_or("must be an absolute URL like https://api.example.com")?;
    match url.protocol.as_str() {
        "https:" => {}
        "http:" if allow_private => {}
        _ => return Err("must use https"),
    }
    if url.has_credentials {
        return Err("must not carry credentials");
    }
    if url.hostname.is_empty() {
        return Err("must name a host");
    }
    if !allow_private && is_private_host(&url.hostname) {
        return Err("must not point at a private, loopback or link-local address");
    }
    Ok(url)
}

fn is_private_host(hostname: &str) -> bool {
    if let Some(v6) = hostname.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        // Unparseable brackets are not a public host either.
        return v6.parse::<Ipv6Addr>().map_or(true, is_private_v6);
    }
    let name = hostname.trim_end_matches('.').to_ascii_lowercase();
    if let Ok(ip) = name.parse::<IpAddr>() {
        return match ip {
            IpAddr::V4(v4) => is_private_v4(v4),
            IpAddr::V6(v6) => is_private_v6(v6),
        };
    }
    name == "localhost"
        || [".localhost", ".local", ".internal", ".lan", ".home.arpa"]
            .iter()
            .any(|s| name.ends_with(s))
        || !name.contains('.')
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved (240.0.0.0/4) and broadcast
}

/// Only global unicast (2000::/3) is public, and not all of it: 6to4 (2002::/16) and Teredo
/// (2001::/32) wrap an IPv4 address the check never sees, documentation (2001:db8::/32) is
/// nobody's. Everything outside 2000::/3 is refused: loopback, unspecified, IPv4-mapped
/// (::ffff:0:0/96) and -compatible (::a.b.c.d), NAT64 (64:ff9b::/96, 64:ff9b:1::/48),
/// unique-local (fc00::/7), link-local (fe80::/10), site-local (fec0::/10), multicast.
fn is_private_v6(ip: Ipv6Addr) -> bool {
    let [first, second, ..] = ip.segments();
    let global_unicast = (first & 0xe000) == 0x2000;
    !global_unicast
        || first == 0x2002
        || (first == 0x2001 && second == 0)
        || (first == 0x2001 && second == 0x0db8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_https_urls_pass_and_are_normalised() {
        assert_eq!(
            parse_base_url("https://api.openai.com/", false).unwrap(),
            "https://api.openai.com"
        );
        assert_eq!(
            parse_base_url("https://llm.example.com/proxy", false).unwrap(),
            "https://llm.example.com/proxy"
        );
    }

    #[test]
    fn private_and_plain_http_urls_are_refused() {
        for bad in [
            "http://api.openai.com",
            "https://127.0.0.1",
            "https://10.1.2.3",
            "https://192.168.0.1",
            "https://172.20.0.1",
            "https://169.254.169.254/latest",
            "https://[::1]",
            "https://[fe80::1]",
            "https://[fd00::1]",
            "https://[::ffff:127.0.0.1]",
            "https://[::ffff:8.8.8.8]",
            "https://[::127.0.0.1]",
            "https://[::8.8.8.8]",
            "https://[64:ff9b::a00:1]",
            "https://[64:ff9b::808:808]",
            "https://[64:ff9b:1::1]",
            "https://[2002:7f00:1::1]",
            "https://[2001:0:4136:e378::1]",
            "https://[2001:db8::1]",
            "https://[fec0::1]",
            "https://[feff::1]",
            "https://[ff02::1]",
            "https://240.0.0.1",
            "https://255.255.255.254",
            "https://250.1.2.3",
            "https://localhost",
            "https://db.internal",
            "https://printer.local",
            "https://intranet",
            "https://0.0.0.0",
            "https://100.64.0.1",
            "https://2130706433",
            "https://0x7f.0.0.1",
            "ftp://example.com",
            "https://user:pw@example.com",
            "not a url",
        ] {
            assert!(
                parse_base_url(bad, false).is_err(),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn public_addresses_pass() {
        for good in [
            "https://8.8.8.8",
            "https://239.255.255.255.example.com",
            "https://223.255.255.1",
            "https://[2606:4700:4700::1111]",
            "https://[2a00:1450:4001::1]",
        ] {
            assert!(parse_base_url(good, false).is_ok(), "{good} should pass");
        }
    }

    #[test]
    fn the_allow_flag_admits_local_stand_ins() {
        assert_eq!(
            parse_base_url("http://127.0.0.1:9000", true).unwrap(),
            "http://127.0.0.1:9000"
        );
        assert!(parse_base_url("ftp://127.0.0.1", true).is_err());
        assert!(parse_base_url("https://api.example.com?x=1", true).is_err());
    }
}
