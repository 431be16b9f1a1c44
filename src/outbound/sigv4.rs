//! AWS Signature Version 4 for the Amazon SES v2 provider: a pure function of the request, the
//! credentials and the time, tested against AWS's published test suite (`AKIDEXAMPLE`).
//!
//! Threat notes: the secret access key never leaves this module in any form but the derived,
//! date- and region-scoped signing key; the signature covers the method, path, query, the body's
//! hash and every header sent that matters (`host`, `x-amz-date`, `content-type`), so a relay
//! cannot change the message without invalidating it, and AWS refuses a signature older than
//! 15 minutes (replay window).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::hex;

/// An AWS access key pair (`<access key id>:<secret access key>` in `email_api_key`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}:***)", self.access_key_id)
    }
}

/// What is signed: the request parts, with header names as sent.
pub struct Signable<'a> {
    pub method: &'a str,
    /// Path, already URI-encoded as sent (`/v2/email/outbound-emails`).
    pub path: &'a str,
    /// Query string as sent, without `?` (empty for none).
    pub query: &'a str,
    /// Every header to sign, `host` and `x-amz-date` included.
    pub headers: &'a [(&'a str, &'a str)],
    pub payload: &'a [u8],
}

/// The signing scope: `YYYYMMDD`, region and service.
pub struct Scope<'a> {
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// The canonical request (AWS's step 1).
pub fn canonical_request(request: &Signable<'_>) -> String {
    let (canonical_headers, signed_headers) = canonical_headers(request.headers);
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method.to_ascii_uppercase(),
        if request.path.is_empty() { "/" } else { request.path },
        canonical_query(request.query),
        canonical_headers,
        signed_headers,
        hex(&Sha256::digest(request.payload)),
    )
}

/// Header names lower-cased and sorted; values trimmed with inner runs of spaces folded; the
/// values of a repeated name joined by commas in the order sent.
fn canonical_headers(headers: &[(&str, &str)]) -> (String, String) {
    let mut entries: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        match entries.iter_mut().find(|(existing, _)| *existing == name) {
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            None => entries.push((name, value)),
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let canonical = entries
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let signed = entries
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (canonical, signed)
}

/// Parameters sorted by name then value (already encoded as sent).
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .collect();
    pairs.sort_unstable();
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The string to sign (step 2) for `amz_date` (`YYYYMMDDTHHMMSSZ`).
pub fn string_to_sign(canonical_request: &str, amz_date: &str, scope: &Scope<'_>) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}/{}/{}/aws4_request\n{}",
        scope.date,
        scope.region,
        scope.service,
        hex(&Sha256::digest(canonical_request.as_bytes()))
    )
}

/// The `Authorization` header value for `request`, signed at `amz_date`.
pub fn authorization(credentials: &Credentials, request: &Signable<'_>, amz_date: &str, scope: &Scope<'_>) -> String {
    let canonical = canonical_request(request);
    let to_sign = string_to_sign(&canonical, amz_date, scope);
    let key = [scope.date, scope.region, scope.service, "aws4_request"].iter().fold(
        format!("AWS4{}", credentials.secret_access_key).into_bytes(),
        |key, part| mac(&key, part.as_bytes()),
    );
    let signature = hex(&mac(&key, to_sign.as_bytes()));
    let (_, signed_headers) = canonical_headers(request.headers);
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{}/{}/{}/aws4_request, SignedHeaders={signed_headers}, Signature={signature}",
        credentials.access_key_id, scope.date, scope.region, scope.service
    )
}

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `YYYYMMDDTHHMMSSZ` for Unix seconds (UTC).
pub fn amz_date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let seconds = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's civil-from-days).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's test-suite credentials and time (`docs.aws.amazon.com`, Signature V4 test suite).
    fn suite() -> (Credentials, Scope<'static>) {
        (
            Credentials {
                access_key_id: "AKIDEXAMPLE".into(),
                secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            },
            Scope {
                date: "20150830",
                region: "us-east-1",
                service: "service",
            },
        )
    }

    const HOST: (&str, &str) = ("Host", "example.amazonaws.com");
    const STAMP: (&str, &str) = ("X-Amz-Date", "20150830T123600Z");

    fn signature_of(method: &str, query: &str, headers: &[(&str, &str)], payload: &[u8]) -> String {
        let (credentials, scope) = suite();
        let request = Signable {
            method,
            path: "/",
            query,
            headers,
            payload,
        };
        authorization(&credentials, &request, "20150830T123600Z", &scope)
    }

    #[test]
    fn get_vanilla_matches_the_aws_suite() {
        let request = Signable {
            method: "GET",
            path: "/",
            query: "",
            headers: &[HOST, STAMP],
            payload: b"",
        };
        assert_eq!(
            canonical_request(&request),
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            signature_of("GET", "", &[HOST, STAMP], b""),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn post_vanilla_and_query_match_the_aws_suite() {
        assert!(
            signature_of("POST", "", &[HOST, STAMP], b"")
                .ends_with("Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
        );
        assert!(
            signature_of("POST", "Param1=value1", &[HOST, STAMP], b"")
                .ends_with("Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11")
        );
    }

    #[test]
    fn query_parameters_are_sorted_like_the_aws_suite() {
        // get-vanilla-query-order-key-case: sent out of order, signed sorted.
        assert!(
            signature_of("GET", "Param2=value2&Param1=value1", &[HOST, STAMP], b"")
                .ends_with("Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
        );
    }

    #[test]
    fn a_signed_body_and_content_type_match_the_aws_suite() {
        let headers = [("Content-Type", "application/x-www-form-urlencoded"), HOST, STAMP];
        let request = Signable {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            payload: b"Param1=value1",
        };
        let (_, scope) = suite();
        assert_eq!(
            string_to_sign(&canonical_request(&request), "20150830T123600Z", &scope),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
             42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281"
        );
        assert_eq!(
            signature_of("POST", "", &headers, b"Param1=value1"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
    }

    #[test]
    fn tampering_with_the_body_changes_the_signature() {
        // A relay that rewrites the recipient cannot keep the signature.
        let headers = [HOST, STAMP];
        assert_ne!(
            signature_of("POST", "", &headers, b"{\"to\":\"a@x.com\"}"),
            signature_of("POST", "", &headers, b"{\"to\":\"evil@x.com\"}")
        );
    }

    #[test]
    fn dates_are_formatted_in_utc() {
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
    }

    #[test]
    fn credentials_never_print_the_secret() {
        let (credentials, _) = suite();
        assert!(!format!("{credentials:?}").contains("wJalr"));
    }
}
