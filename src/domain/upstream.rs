//! Outbound URL safety for provider `base_url`s and HTTP steps: https only, and never a private,
//! loopback or link-local address, unless the deployment explicitly allows private upstreams (local
//! development and the tests do, to reach stand-in servers on 127.0.0.1).
//!
//! Workers resolve names inside `fetch`, so names are checked by what they say (`localhost`,
//! `*.internal`, ...) and IP literals by their range; on Cloudflare's network a public name cannot
//! reach a private address anyway.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// Parses and checks a base URL; answers it normalised (no trailing slash), or why not.
pub fn parse_base_url(raw: &str, allow_private: bool) -> Result<String, &'static str> {
    let url = check_url(raw, allow_private)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment");
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Checks any outbound URL against the same rules.
pub fn check_url(raw: &str, allow_private: bool) -> Result<Url, &'static str> {
    let url = Url::parse(raw.trim())
        .map_err(|_| "must be an absolute URL like https://api.example.com")?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err("must use https"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials");
    }
    let host = url.host().ok_or("must name a host")?;
    if !allow_private && is_private_host(&host) {
        return Err("must not point at a private, loopback or link-local address");
    }
    Ok(url)
}

fn is_private_host(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => is_private_v4(*ip),
        Host::Ipv6(ip) => is_private_v6(*ip),
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            // A bare number like `2130706433` is how some resolvers spell 127.0.0.1.
            name.parse::<IpAddr>().is_ok_and(|ip| match ip {
                IpAddr::V4(v4) => is_private_v4(v4),
                IpAddr::V6(v6) => is_private_v6(v6),
            }) || name == "localhost"
                || [".localhost", ".local", ".internal", ".lan", ".home.arpa"]
                    .iter()
                    .any(|s| name.ends_with(s))
                || name == "metadata.google.internal"
                || !name.contains('.')
        }
    }
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
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || ip.to_ipv4_mapped().is_some_and(is_private_v4)
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
            "https://localhost",
            "https://db.internal",
            "https://printer.local",
            "https://intranet",
            "https://0.0.0.0",
            "https://100.64.0.1",
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
    fn the_allow_flag_admits_local_stand_ins() {
        assert_eq!(
            parse_base_url("http://127.0.0.1:9000", true).unwrap(),
            "http://127.0.0.1:9000"
        );
        assert!(parse_base_url("ftp://127.0.0.1", true).is_err());
        assert!(parse_base_url("https://api.example.com?x=1", true).is_err());
    }
}
