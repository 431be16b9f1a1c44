//! The `redirect_url` policy and the fallback chain.
//!
//! # Threat
//! An account portal that sends people back "wherever the link says" is an open redirector: a
//! phishing mail links to `accounts.myapp.com/sign-in?redirect_url=https://myapp.com.evil.net`,
//! the victim signs in on the real portal and lands on a look-alike page, session cookie and all.
//! Every way browsers and URL parsers disagree is a way around a naive check: userinfo
//! (`https://myapp.com@evil.net`), backslashes that browsers read as slashes
//! (`/\evil.net`), protocol-relative references (`//evil.net`), tabs and newlines that browsers
//! strip (`java\tscript:`), scheme-relative forms (`https:evil.net`), percent-encoded or
//! non-canonical hosts, and prefix matches (`myapp.com.evil.net`).
//!
//! # Defence
//! A candidate is accepted only when its raw text is plain printable ASCII, it is either a
//! path-absolute reference or an absolute `http(s)://` URL written in canonical form (the host as
//! typed is exactly the host the WHATWG parser reads), it carries no userinfo at all, and its
//! parsed origin is compared *exactly* (scheme, host, port) with the allowed origins. Nothing
//! here matches string prefixes. Rejected candidates never become error pages: the chain moves on
//! to the next candidate and records why, so development mode can show the reason.
//!
//! Everything in this module is pure: no I/O, no configuration lookups.

use std::fmt;

use url::{Host, Url};

/// Longest candidate accepted, in bytes.
pub const MAX_REDIRECT_URL_LEN: usize = 2048;

/// How many characters of a rejected candidate are echoed in logs and notices.
const ECHO_LIMIT: usize = 200;

/// Why a candidate was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    Empty,
    TooLong,
    ForbiddenCharacter,
    /// `?x`, `#x`, `path`, `../x`, `//host`: neither path-absolute nor an absolute URL.
    NotAbsolute,
    /// A path whose first segment is empty once decoded (`//`, `/\`, `/%2F…`).
    AmbiguousPath,
    UnsupportedScheme(String),
    /// `https:host`, `https:/host`, `https:///host`: the authority is not introduced by exactly `//`.
    MissingAuthority,
    Unparseable,
    Userinfo,
    /// The host is not written the way the URL parser reads it (percent-encoding, numeric or
    /// shortened IP forms, empty labels, a trailing dot…) or is not a valid domain name.
    NonCanonicalHost,
    InsecureScheme,
    OriginNotAllowed(String),
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "it is empty"),
            Self::TooLong => write!(f, "it is longer than {MAX_REDIRECT_URL_LEN} bytes"),
            Self::ForbiddenCharacter => write!(
                f,
                "it contains a control character, space, backslash or non-ASCII character \
                 (encode IDN hosts as punycode and paths with percent-encoding)"
            ),
            Self::NotAbsolute => write!(
                f,
                "it is neither an absolute http(s) URL nor a path starting with a single '/'"
            ),
            Self::AmbiguousPath => write!(
                f,
                "its path starts with '//' or '/\\' (a browser would treat it as another host)"
            ),
            Self::UnsupportedScheme(scheme) => {
                write!(f, "the scheme '{scheme}' is not allowed (only http and https)")
            }
            Self::MissingAuthority => write!(f, "the scheme must be followed by '//' and a host"),
            Self::Unparseable => write!(f, "it is not a valid URL"),
            Self::Userinfo => write!(f, "it contains a user name or password ('@' before the host)"),
            Self::NonCanonicalHost => write!(
                f,
                "its host is not a canonical domain name or IP address (no percent-encoding, \
                 empty labels or trailing dot)"
            ),
            Self::InsecureScheme => write!(f, "plain http is not allowed for the instance domain in production"),
            Self::OriginNotAllowed(origin) => write!(
                f,
                "the origin {origin} is not the instance domain, the portal, or listed in \
                 allowed_redirect_origins"
            ),
        }
    }
}

/// A host pattern from `allowed_redirect_origins`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.net`: any subdomain, at any depth, but not `example.net` itself.
    SubdomainsOf(String),
}

/// One entry of `allowed_redirect_origins`: `https://app.example.net`,
/// `https://*.example.net`, `http://localhost:*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: &'static str,
    host: HostPattern,
    /// `None` matches any port.
    port: Option<u16>,
}

impl OriginPattern {
    /// Parses one origin pattern. Paths, queries, userinfo and anything else but
    /// `scheme://host[:port]` are refused so that a typo cannot widen the policy.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("'{text}' is not of the form scheme://host[:port]"))?;
        let scheme = match scheme {
            "https" => "https",
            "http" => "http",
            other => return Err(format!("'{text}': scheme '{other}' is not http or https")),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@', '\\', '%']) || rest.is_empty() {
            return Err(format!("'{text}' must be only scheme://host[:port]"));
        }
        let (host, port) = split_host_port(rest).ok_or_else(|| format!("'{text}' has an invalid host or port"))?;
        let port = match port {
            None => Some(default_port(scheme)),
            Some("*") => None,
            Some(digits) => Some(parse_port(digits).ok_or_else(|| format!("'{text}' has an invalid port"))?),
        };
        let host = if let Some(domain) = host.strip_prefix("*.") {
            if !is_canonical_domain(domain) {
                return Err(format!("'{text}': '{domain}' is not a valid lower-case domain name"));
            }
            HostPattern::SubdomainsOf(domain.to_owned())
        } else if is_canonical_domain(host) || is_ip_literal(host) {
            HostPattern::Exact(host.to_owned())
        } else {
            return Err(format!("'{text}': '{host}' is not a valid lower-case host name"));
        };
        Ok(Self { scheme, host, port })
    }

    fn matches(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let port_ok = match self.port {
            None => true,
            Some(port) => url.port_or_known_default() == Some(port),
        };
        let host_ok = match &self.host {
            HostPattern::Exact(expected) => host == expected,
            HostPattern::SubdomainsOf(domain) => is_strict_subdomain(host, domain),
        };
        url.scheme() == self.scheme && port_ok && host_ok
    }
}

/// Parses the comma separated `allowed_redirect_origins` list.
pub fn parse_origin_patterns(list: &str) -> (Vec<OriginPattern>, Vec<String>) {
    let mut patterns = Vec::new();
    let mut errors = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
        match OriginPattern::parse(entry) {
            Ok(pattern) => patterns.push(pattern),
            Err(error) => errors.push(error),
        }
    }
    (patterns, errors)
}

/// The operator's origin rules. Consulted only for absolute URLs (a path on the portal needs
/// none), so the portal reads the variables behind them only when a candidate needs them.
pub trait OriginRules: fmt::Debug {
    /// Lower-case instance domain (`myapp.com`); `None` when not configured.
    fn instance_domain(&self) -> Option<&str>;
    fn allowed_origins(&self) -> &[OriginPattern];
    fn trust_requesting_origin(&self) -> bool;
}

/// Origin rules given directly.
#[cfg(test)]
#[derive(Debug, Clone, Default)]
pub struct FixedRules {
    pub instance_domain: Option<String>,
    pub allowed_origins: Vec<OriginPattern>,
    pub trust_requesting_origin: bool,
}

#[cfg(test)]
impl OriginRules for FixedRules {
    fn instance_domain(&self) -> Option<&str> {
        self.instance_domain.as_deref()
    }

    fn allowed_origins(&self) -> &[OriginPattern] {
        &self.allowed_origins
    }

    fn trust_requesting_origin(&self) -> bool {
        self.trust_requesting_origin
    }
}

/// Where the portal may send a browser, for one request.
#[derive(Debug, Clone)]
pub struct RedirectPolicy<'r> {
    /// The portal's origin as the browser sees it (`public_origin`, or derived from the request).
    pub portal_origin: Url,
    pub development: bool,
    /// Origin of the page that carried the redirect (`Origin`, else `Referer`).
    pub requesting_origin: Option<url::Origin>,
    pub rules: &'r dyn OriginRules,
}

/// A validated destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectTarget {
    url: Url,
    same_origin: bool,
}

impl RedirectTarget {
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The value for a `Location` header: a path for the portal's own origin (so that it works
    /// whatever scheme the host reports), the full URL otherwise.
    pub fn location(&self) -> String {
        if self.same_origin {
            let mut location = self.url.path().to_owned();
            if let Some(query) = self.url.query() {
                location.push('?');
                location.push_str(query);
            }
            if let Some(fragment) = self.url.fragment() {
                location.push('#');
                location.push_str(fragment);
            }
            location
        } else {
            self.url.as_str().to_owned()
        }
    }

    pub fn is_same_origin(&self) -> bool {
        self.same_origin
    }

    /// The origin to list in CSP `form-action` when a form post ends in this redirect.
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }
}

impl RedirectPolicy<'_> {
    /// Checks one candidate against every clause of the policy.
    pub fn check(&self, raw: &str) -> Result<RedirectTarget, RejectReason> {
        if raw.is_empty() {
            return Err(RejectReason::Empty);
        }
        if raw.len() > MAX_REDIRECT_URL_LEN {
            return Err(RejectReason::TooLong);
        }
        if raw
            .bytes()
            .any(|b| b.is_ascii_control() || b == b' ' || b == b'\\' || !b.is_ascii())
        {
            return Err(RejectReason::ForbiddenCharacter);
        }
        if raw.starts_with('/') {
            return self.check_path_absolute(raw);
        }
        self.check_absolute(raw)
    }

    fn check_path_absolute(&self, raw: &str) -> Result<RedirectTarget, RejectReason> {
        if raw.starts_with("//") {
            return Err(RejectReason::NotAbsolute);
        }
        let path = raw.split(['?', '#']).next().unwrap_or_default();
        if is_ambiguous_path(path) {
            return Err(RejectReason::AmbiguousPath);
        }
        let url = self.portal_origin.join(raw).map_err(|_| RejectReason::Unparseable)?;
        // Joining a path-absolute reference cannot change the origin; checked anyway so that a
        // parser surprise fails closed.
        if url.origin() != self.portal_origin.origin() {
            return Err(RejectReason::AmbiguousPath);
        }
        self.same_origin_target(url)
    }

    /// A target on the portal's own origin is sent as a bare path, so its *normalized* path must
    /// not read as another host: `/%2e%2e//evil.com` and `/.//evil.com` normalize to
    /// `//evil.com`, which a browser resolves to `evil.com`.
    fn same_origin_target(&self, url: Url) -> Result<RedirectTarget, RejectReason> {
        if is_ambiguous_path(url.path()) {
            return Err(RejectReason::AmbiguousPath);
        }
        Ok(RedirectTarget { url, same_origin: true })
    }

    fn check_absolute(&self, raw: &str) -> Result<RedirectTarget, RejectReason> {
        let Some((scheme, after_scheme)) = split_scheme(raw) else {
            return Err(RejectReason::NotAbsolute);
        };
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(RejectReason::UnsupportedScheme(scheme));
        }
        let Some(after_slashes) = after_scheme.strip_prefix("//") else {
            return Err(RejectReason::MissingAuthority);
        };
        let authority_end = after_slashes.find(['/', '?', '#']).unwrap_or(after_slashes.len());
        let raw_authority = &after_slashes[..authority_end];
        if raw_authority.is_empty() {
            return Err(RejectReason::MissingAuthority);
        }
        if raw_authority.contains('@') {
            return Err(RejectReason::Userinfo);
        }
        let url = Url::parse(raw).map_err(|_| RejectReason::Unparseable)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(RejectReason::Userinfo);
        }
        let Some((raw_host, _)) = split_host_port(raw_authority) else {
            return Err(RejectReason::NonCanonicalHost);
        };
        let parsed_host = url.host_str().unwrap_or_default();
        if !raw_host.eq_ignore_ascii_case(parsed_host) || raw_host.contains('%') {
            return Err(RejectReason::NonCanonicalHost);
        }
        let is_domain = matches!(url.host(), Some(Host::Domain(_)));
        if is_domain && !is_canonical_domain(parsed_host) {
            return Err(RejectReason::NonCanonicalHost);
        }
        self.check_origin(url)
    }

    fn check_origin(&self, url: Url) -> Result<RedirectTarget, RejectReason> {
        let origin = url.origin();
        if origin == self.portal_origin.origin() {
            return self.same_origin_target(url);
        }
        let allowed = |url: Url| {
            Ok(RedirectTarget {
                url,
                same_origin: false,
            })
        };
        let host = url.host_str().unwrap_or_default();
        if let (Some(domain), Some(Host::Domain(_))) = (self.rules.instance_domain(), url.host())
            && (host == domain || is_strict_subdomain(host, domain))
        {
            if url.scheme() == "https" || self.development {
                return allowed(url);
            }
            return Err(RejectReason::InsecureScheme);
        }
        if self.rules.allowed_origins().iter().any(|pattern| pattern.matches(&url)) {
            return allowed(url);
        }
        if self.development && is_loopback_host(&url) {
            return allowed(url);
        }
        if (self.development || self.rules.trust_requesting_origin())
            && self.requesting_origin.as_ref() == Some(&origin)
        {
            return allowed(url);
        }
        Err(RejectReason::OriginNotAllowed(origin.ascii_serialization()))
    }
}

/// The flows that end in a redirect, each with its own parameters and fallback variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    SignIn,
    SignUp,
    SignOut,
    CreateOrganization,
    LeaveOrganization,
    /// Pages that only link back to the app (profile, organization profile).
    ReturnToApp,
}

impl Flow {
    fn force_param(self) -> Option<&'static str> {
        match self {
            Self::SignIn => Some("sign_in_force_redirect_url"),
            Self::SignUp => Some("sign_up_force_redirect_url"),
            _ => None,
        }
    }

    fn fallback_param(self) -> Option<&'static str> {
        match self {
            Self::SignIn => Some("sign_in_fallback_redirect_url"),
            Self::SignUp => Some("sign_up_fallback_redirect_url"),
            _ => None,
        }
    }

    /// The Spin variable holding this flow's fallback.
    pub fn fallback_variable(self) -> Option<&'static str> {
        match self {
            Self::SignIn => Some("after_sign_in_url"),
            Self::SignUp => Some("after_sign_up_url"),
            Self::SignOut => Some("after_sign_out_url"),
            Self::CreateOrganization => Some("after_create_organization_url"),
            Self::LeaveOrganization => Some("after_leave_organization_url"),
            Self::ReturnToApp => None,
        }
    }

    /// The query parameters that carry redirect candidates for this flow, in chain order.
    pub fn query_params(self) -> Vec<&'static str> {
        let mut params = Vec::with_capacity(3);
        params.extend(self.force_param());
        params.push("redirect_url");
        params.extend(self.fallback_param());
        params
    }
}

/// Where a candidate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateSource {
    Query(&'static str),
    Variable(&'static str),
    PortalDefault,
}

impl fmt::Display for CandidateSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Query(name) => write!(f, "query parameter {name}"),
            Self::Variable(name) => write!(f, "variable {name}"),
            Self::PortalDefault => write!(f, "the portal's default"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedCandidate {
    pub source: CandidateSource,
    /// The candidate, shortened for display; escape it before showing it.
    pub value: String,
    pub reason: RejectReason,
}

impl fmt::Display for RejectedCandidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `{:?}` escapes control characters so a hostile value cannot forge log lines.
        write!(f, "{} {:?} was ignored: {}", self.source, self.value, self.reason)
    }
}

/// The outcome of the chain: the first allowed candidate and every rejection before it.
#[derive(Debug, Clone)]
pub struct RedirectChoice {
    pub target: RedirectTarget,
    pub source: CandidateSource,
    pub rejected: Vec<RejectedCandidate>,
}

/// Fallback values given directly (the portal reads them from `Settings`, lazily).
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default)]
pub struct Fallbacks<'a> {
    /// The flow's own variable (`after_sign_in_url`, …), if set.
    pub flow_url: Option<&'a str>,
    pub home_url: Option<&'a str>,
}

/// The portal's own page used when nothing else is allowed.
pub const LAST_RESORT_PATH: &str = "/user";

/// Where the chain's fallbacks come from: the operator's variables, read only when the chain
/// reaches them (an allowed `redirect_url` needs none of them).
pub trait FallbackSource {
    /// The flow's own fallback variable (`after_sign_in_url`, …), if set.
    fn flow_url(&self, flow: Flow) -> Option<&str>;
    fn home_url(&self) -> Option<&str>;
}

#[cfg(test)]
impl FallbackSource for Fallbacks<'_> {
    fn flow_url(&self, _flow: Flow) -> Option<&str> {
        self.flow_url
    }

    fn home_url(&self) -> Option<&str> {
        self.home_url
    }
}

/// Runs the chain: force param → `redirect_url` → fallback param → the flow's variable →
/// `home_url` → the portal's `/user` page. `query` returns the first value of a parameter.
pub fn choose_redirect<'q>(
    policy: &RedirectPolicy,
    flow: Flow,
    query: impl Fn(&str) -> Option<&'q str>,
    fallbacks: &dyn FallbackSource,
) -> RedirectChoice {
    let mut rejected = Vec::new();
    let mut try_candidate = |source: CandidateSource, value: &str| match policy.check(value) {
        Ok(target) => Some((target, source)),
        Err(reason) => {
            rejected.push(RejectedCandidate {
                source,
                value: shorten(value),
                reason,
            });
            None
        }
    };
    let chosen = flow
        .query_params()
        .into_iter()
        .find_map(|name| try_candidate(CandidateSource::Query(name), query(name)?))
        .or_else(|| {
            let variable = flow.fallback_variable()?;
            try_candidate(CandidateSource::Variable(variable), fallbacks.flow_url(flow)?)
        })
        .or_else(|| try_candidate(CandidateSource::Variable("home_url"), fallbacks.home_url()?));
    let (target, source) = chosen.unwrap_or_else(|| {
        let target = policy
            .check(LAST_RESORT_PATH)
            .expect("the portal's own path-absolute page is always allowed");
        (target, CandidateSource::PortalDefault)
    });
    RedirectChoice {
        target,
        source,
        rejected,
    }
}

/// The origin of the page that sent the request: the `Origin` header, else the `Referer`'s.
pub fn requesting_origin(origin_header: Option<&str>, referer: Option<&str>) -> Option<url::Origin> {
    let from = |text: &str| {
        let url = Url::parse(text).ok()?;
        matches!(url.scheme(), "http" | "https").then(|| url.origin())
    };
    match origin_header {
        Some(origin) if origin != "null" => from(origin),
        _ => referer.and_then(from),
    }
}

fn shorten(value: &str) -> String {
    match value.char_indices().nth(ECHO_LIMIT) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

/// A path whose first segment is empty once percent-decoded: `//host`, `/\\host`, `/%2F…`.
fn is_ambiguous_path(path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(path).collect::<Vec<u8>>();
    decoded.starts_with(b"//") || decoded.starts_with(b"/\\")
}

/// Splits `scheme:rest` when the text starts with a syntactically valid scheme.
fn split_scheme(raw: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = raw.split_once(':')?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (first_ok && rest_ok).then_some((scheme, rest))
}

/// Splits `host[:port]` (IPv6 literals in brackets); `None` when malformed.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        return match rest {
            "" => Some((host, None)),
            _ => rest.strip_prefix(':').map(|port| (host, Some(port))),
        };
    }
    match authority.split_once(':') {
        Some((host, port)) if !host.is_empty() => Some((host, Some(port))),
        Some(_) => None,
        None if authority.is_empty() => None,
        None => Some((authority, None)),
    }
}

fn parse_port(digits: &str) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "https" { 443 } else { 80 }
}

/// A lower-case domain name of LDH labels: no empty label, no trailing dot, no leading or
/// trailing hyphen, labels of 1 to 63 characters, `xn--` labels that are valid punycode (see
/// `punycode`), and not all-numeric at the end (which the URL parser would read as an IPv4
/// address).
pub fn is_canonical_domain(host: &str) -> bool {
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && punycode::is_valid_ace_label(label)
    });
    let last_label = host.rsplit('.').next().unwrap_or_default();
    labels_ok && !last_label.bytes().all(|b| b.is_ascii_digit())
}

fn is_ip_literal(host: &str) -> bool {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => host.parse::<std::net::Ipv4Addr>().is_ok(),
    }
}

/// `a.b.example.net` is a strict subdomain of `example.net`; `example.net` and
/// `evilexample.net` are not.
fn is_strict_subdomain(host: &str, domain: &str) -> bool {
    host.len() > domain.len() + 1 && host.ends_with(domain) && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
}

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain == "localhost",
        Some(Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        None => false,
    }
}

pub(crate) mod punycode;

#[cfg(test)]
mod tests;
