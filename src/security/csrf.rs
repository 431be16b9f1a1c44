//! Cross-site request forgery protection for every POST.
//!
//! # Threat
//! A page on another site submits a form to the portal with the victim's cookies: signing them
//! out, into the attacker's account (login CSRF), or changing their profile.
//!
//! # Defence
//! Two independent checks, both required:
//! 1. The browser's own word: a cross-site `Origin` (anything but the portal's exact origin,
//!    `null` included) or a `Sec-Fetch-Site` other than `same-origin`/`none` is refused. `same-site`
//!    is refused too: a sibling subdomain is not the portal.
//! 2. A signed double-submit token: the visitor holds a random value in an HttpOnly cookie
//!    (`__Host-` prefixed in production so a sibling subdomain cannot plant one) and every form
//!    carries HMAC(server key, that value). An attacker can neither read the cookie nor compute
//!    the tag for it.

use super::{base64url, random_bytes, token::MacKeys};

const PURPOSE: &str = "csrf";

/// Seconds the CSRF cookie lasts: longer than any form stays open, and a constant, so a page
/// with a form reads no setting for it.
pub const COOKIE_LIFETIME: i64 = 30 * 24 * 3600;

/// The form field that carries the token.
pub const FIELD: &str = "csrf_token";

/// The cookie that carries the visitor's random value.
pub fn cookie_name(production: bool) -> &'static str {
    if production {
        "__Host-portal_csrf"
    } else {
        "__portal_csrf"
    }
}

/// A fresh random cookie value (256 bits).
pub fn new_cookie_value() -> String {
    base64url(&random_bytes::<32>())
}

/// The token forms carry for a cookie value.
pub fn form_token(keys: &MacKeys, cookie_value: &str) -> String {
    keys.tag(PURPOSE, cookie_value)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfRejection {
    CrossSiteOrigin,
    CrossSiteFetch,
    MissingToken,
    BadToken,
}

impl std::fmt::Display for CsrfRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::CrossSiteOrigin => "the form was sent from another site",
            Self::CrossSiteFetch => "the browser reported a cross-site request",
            Self::MissingToken => "the form's security token is missing (are cookies enabled?)",
            Self::BadToken => "the form's security token is invalid or expired; reload the page and try again",
        })
    }
}

/// Checks the headers a browser attaches to every POST.
pub fn check_headers(
    origin: Option<&str>,
    sec_fetch_site: Option<&str>,
    portal_origin: &url::Origin,
) -> Result<(), CsrfRejection> {
    if let Some(origin) = origin
        && origin != portal_origin.ascii_serialization()
    {
        return Err(CsrfRejection::CrossSiteOrigin);
    }
    match sec_fetch_site {
        None | Some("same-origin") | Some("none") => Ok(()),
        Some(_) => Err(CsrfRejection::CrossSiteFetch),
    }
}

/// Checks the form's token against the visitor's cookie, in constant time.
pub fn check_token(keys: &MacKeys, cookie_value: Option<&str>, form_token: Option<&str>) -> Result<(), CsrfRejection> {
    let (Some(cookie_value), Some(form_token)) = (cookie_value, form_token) else {
        return Err(CsrfRejection::MissingToken);
    };
    if cookie_value.is_empty() || !keys.check_tag(PURPOSE, cookie_value, form_token) {
        return Err(CsrfRejection::BadToken);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn portal() -> url::Origin {
        url::Url::parse("https://accounts.myapp.com").unwrap().origin()
    }

    #[test]
    fn accepts_same_origin_and_header_less_posts() {
        assert_eq!(
            check_headers(Some("https://accounts.myapp.com"), Some("same-origin"), &portal()),
            Ok(())
        );
        assert_eq!(check_headers(None, None, &portal()), Ok(()));
        assert_eq!(check_headers(None, Some("none"), &portal()), Ok(()));
    }

    #[test]
    fn rejects_cross_site_origin_including_null_and_siblings() {
        for origin in [
            "https://evil.com",
            "null",
            "https://myapp.com",
            "http://accounts.myapp.com",
            "https://accounts.myapp.com:8443",
        ] {
            assert_eq!(
                check_headers(Some(origin), None, &portal()),
                Err(CsrfRejection::CrossSiteOrigin),
                "{origin}"
            );
        }
    }

    #[test]
    fn rejects_cross_site_and_same_site_fetches() {
        for site in ["cross-site", "same-site", "garbage"] {
            assert_eq!(
                check_headers(None, Some(site), &portal()),
                Err(CsrfRejection::CrossSiteFetch),
                "{site}"
            );
        }
    }

    #[test]
    fn token_must_match_the_cookie() {
        let keys = MacKeys::new(random_bytes(), Vec::new());
        let cookie = new_cookie_value();
        let token = form_token(&keys, &cookie);
        assert_eq!(check_token(&keys, Some(&cookie), Some(&token)), Ok(()));
        assert_eq!(
            check_token(&keys, Some(&new_cookie_value()), Some(&token)),
            Err(CsrfRejection::BadToken)
        );
        assert_eq!(check_token(&keys, None, Some(&token)), Err(CsrfRejection::MissingToken));
        assert_eq!(
            check_token(&keys, Some(&cookie), None),
            Err(CsrfRejection::MissingToken)
        );
        assert_eq!(
            check_token(&keys, Some(""), Some(&form_token(&keys, ""))),
            Err(CsrfRejection::BadToken)
        );
        let other = MacKeys::new(random_bytes(), Vec::new());
        assert_eq!(
            check_token(&keys, Some(&cookie), Some(&form_token(&other, &cookie))),
            Err(CsrfRejection::BadToken)
        );
    }

    #[test]
    fn production_cookie_uses_the_host_prefix() {
        assert_eq!(cookie_name(true), "__Host-portal_csrf");
        assert_eq!(cookie_name(false), "__portal_csrf");
    }
}
