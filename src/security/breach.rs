//! Breached passwords (NIST SP 800-63B-4 §3.1.1.2: new passwords are compared against values
//! known to be compromised), by Have I Been Pwned's range API with k-anonymity.
//!
//! # Threat
//! The check must not leak the password it checks: only the first five hex digits of its SHA-1
//! leave the portal (one of about a million buckets, each shared by hundreds of known hashes),
//! and the answer is padded (`Add-Padding: true`) so its size says nothing about the bucket; the
//! rest of the hash is compared here, and padding rows (count 0) never match. A slow or broken
//! service must not become an outage (the caller fails open by default, and logs it) nor a way
//! to slip a breached password through unnoticed (fail closed is a setting).

use sha1::{Digest, Sha1};

/// The SHA-1 of `password` in upper-case hex, split into the five digits that are sent and the
/// thirty-five that are not.
pub fn split_hash(password: &str) -> (String, String) {
    let digest = Sha1::digest(password.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02X}")).collect();
    let (prefix, suffix) = hex.split_at(5);
    (prefix.to_owned(), suffix.to_owned())
}

/// The range request for `prefix` to the API at `origin`.
pub fn range_request(origin: &str, prefix: &str) -> Option<http::Request<Vec<u8>>> {
    http::Request::builder()
        .method("GET")
        .uri(format!("{}/range/{prefix}", origin.trim_end_matches('/')))
        .header("add-padding", "true")
        .header("user-agent", "account-portal")
        .body(Vec::new())
        .ok()
}

/// How often `suffix` appears in a range answer (`SUFFIX:COUNT` lines; padding rows have count
/// 0 and never match). `None` when the answer is not that format.
pub fn times_seen(body: &str, suffix: &str) -> Option<u64> {
    let mut seen = 0;
    let mut lines = 0;
    for line in body.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let (hash, count) = line.split_once(':')?;
        let count: u64 = count.trim().parse().ok()?;
        if hash.len() != 35 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        lines += 1;
        if count > 0 && hash.eq_ignore_ascii_case(suffix) {
            seen = count;
        }
    }
    (lines > 0).then_some(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_five_digit_prefix_is_sent() {
        // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8
        let (prefix, suffix) = split_hash("password");
        assert_eq!(prefix, "5BAA6");
        assert_eq!(suffix, "1E4C9B93F3F0682250B6CF8331B7EE68FD8");
        let request = range_request("https://api.pwnedpasswords.com", &prefix).unwrap();
        assert_eq!(request.uri(), "https://api.pwnedpasswords.com/range/5BAA6");
        assert!(!request.uri().to_string().contains(&suffix));
        assert!(request.body().is_empty());
        assert_eq!(request.headers()["add-padding"], "true");
    }

    #[test]
    fn the_range_answer_is_read_and_padding_never_matches() {
        let body = "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n1E4C9B93F3F0682250B6CF8331B7EE68FD8:9545824\r\n\
                    00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0\r\n";
        assert_eq!(times_seen(body, "1E4C9B93F3F0682250B6CF8331B7EE68FD8"), Some(9545824));
        assert_eq!(
            times_seen(body, "00D4F6E8FA6EECAD2A3AA415EEC418D38EC"),
            Some(0),
            "a padding row"
        );
        assert_eq!(times_seen(body, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"), Some(0));
    }

    #[test]
    fn garbage_is_not_an_answer() {
        for garbage in ["", "<html>", "1E4C9B93:12", "1E4C9B93F3F0682250B6CF8331B7EE68FD8:many"] {
            assert_eq!(
                times_seen(garbage, "1E4C9B93F3F0682250B6CF8331B7EE68FD8"),
                None,
                "{garbage:?}"
            );
        }
    }
}
