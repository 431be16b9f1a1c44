//! Portal sessions and the cookies that carry them.
//!
//! # Threat
//! Session theft and fixation. The portal session token is 256 random bits that only the
//! browser holds (HttpOnly, SameSite=Lax, Secure in production); the database keeps only its
//! SHA-256, so a database leak yields no usable session, and a token is never reused across
//! sign-ins (fixation is impossible: a new token is minted at every sign-in). Revoking a session
//! deletes its row, which ends it on the next request everywhere.
//!
//! `__session` is the short-lived JWT apps verify. In production it is scoped to the instance
//! domain so every app subdomain receives it; in development it stays host-only.

pub const SESSION_TOKEN_COOKIE: &str = "__session";

/// The portal session cookie. In production it carries the `__Host-` prefix, which browsers
/// accept only host-only, `Secure` and on `Path=/`: an app subdomain (say, one with an XSS hole)
/// cannot plant a session of its choosing on the portal (session fixation).
pub fn portal_session_cookie(production: bool) -> &'static str {
    if production {
        "__Host-portal_session"
    } else {
        "__portal_session"
    }
}

/// Attributes shared by every cookie the portal sets.
#[derive(Debug, Clone)]
pub struct CookieScope<'a> {
    pub secure: bool,
    /// `Domain=` for cookies apps must receive; `None` for host-only.
    pub domain: Option<&'a str>,
}

/// A `Set-Cookie` value. Values are base64url or JWTs, so they need no quoting.
pub fn set_cookie(name: &str, value: &str, max_age: i64, scope: &CookieScope<'_>) -> String {
    let mut cookie = format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax");
    if let Some(domain) = scope.domain {
        cookie.push_str("; Domain=");
        cookie.push_str(domain);
    }
    if scope.secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// A `Set-Cookie` value that removes the cookie (same name, path and domain as when set).
pub fn clear_cookie(name: &str, scope: &CookieScope<'_>) -> String {
    set_cookie(name, "", 0, scope)
}

/// The `Domain` for `__session`: the instance domain when the portal is served from it or one
/// of its subdomains (browsers refuse any other), else host-only.
pub fn session_cookie_domain<'a>(instance_domain: Option<&'a str>, portal_host: &str) -> Option<&'a str> {
    let domain = instance_domain?;
    let inside = portal_host == domain || portal_host.ends_with(&format!(".{domain}"));
    inside.then_some(domain)
}

/// The value of cookie `name` from every `Cookie` header field of a request (HTTP/2 clients send
/// one field per cookie); the first when repeated.
pub fn read_cookie<'h>(cookie_headers: impl IntoIterator<Item = &'h str>, name: &str) -> Option<&'h str> {
    cookie_headers
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_carry_the_security_attributes() {
        let dev = CookieScope {
            secure: false,
            domain: None,
        };
        assert_eq!(
            set_cookie("__portal_session", "abc", 60, &dev),
            "__portal_session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax"
        );
        let prod = CookieScope {
            secure: true,
            domain: Some("myapp.com"),
        };
        let cookie = set_cookie("__session", "jwt", 600, &prod);
        assert!(cookie.ends_with("; Domain=myapp.com; Secure"), "{cookie}");
        assert!(clear_cookie("__session", &prod).contains("Max-Age=0"));
    }

    #[test]
    fn session_cookie_domain_only_when_the_portal_is_inside_it() {
        assert_eq!(
            session_cookie_domain(Some("myapp.com"), "accounts.myapp.com"),
            Some("myapp.com")
        );
        assert_eq!(session_cookie_domain(Some("myapp.com"), "myapp.com"), Some("myapp.com"));
        assert_eq!(session_cookie_domain(Some("myapp.com"), "accounts.evilmyapp.com"), None);
        assert_eq!(session_cookie_domain(None, "accounts.myapp.com"), None);
    }

    #[test]
    fn reads_cookies_from_the_header() {
        let header = ["a=1; __portal_session=tok; b=\"2\"; __portal_session=second"];
        assert_eq!(read_cookie(header, "__portal_session"), Some("tok"));
        assert_eq!(read_cookie(header, "b"), Some("2"));
        assert_eq!(read_cookie(header, "c"), None);
        assert_eq!(read_cookie([], "a"), None);
        assert_eq!(read_cookie(["garbage;;=;x"], "x"), None);
    }

    #[test]
    fn reads_cookies_from_every_header_field_as_http2_clients_send_them() {
        let fields = ["a=1", "__Host-portal_session=tok", "b=2; c=3"];
        assert_eq!(read_cookie(fields, "__Host-portal_session"), Some("tok"));
        assert_eq!(read_cookie(fields, "c"), Some("3"));
    }
}
