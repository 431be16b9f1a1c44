//! A real OpenID Provider for the sign-in-with-a-provider tests: npm's `oidc-provider` (panva,
//! OpenID Certified; pinned by `tests/node/package-lock.json`, installed by `.ci/run`), run by
//! `tests/node/oidc-server.mjs` on a free loopback port with an RS256 client (`portal-rs`) and an
//! ES256 client (`portal-es`). Each test starts its own, with the accounts it writes; its login
//! page is driven with a small HTTP client that keeps the provider's cookies, as a browser would.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

/// The portal's callback as the test host's portal has it (`Host: 127.0.0.1:3000`).
pub const DEV_CALLBACK: &str = "http://127.0.0.1:3000/sign-in/oauth/callback";
/// The same for a production portal on `https://accounts.myapp.com`.
pub const PROD_CALLBACK: &str = "https://accounts.myapp.com/sign-in/oauth/callback";

pub struct OidcProvider {
    pub issuer: String,
    /// Apple's quirk: the team id, key id and private key (PKCS#8, base64 DER) that sign the
    /// `portal-apple` client's secret.
    pub apple: (String, String, String),
    accounts_file: PathBuf,
    child: Child,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.accounts_file);
    }
}

impl OidcProvider {
    /// Starts a provider whose accounts are `accounts` (`{"alice": {"email": …, …}}`).
    pub fn start(accounts: serde_json::Value) -> Self {
        Self::start_at(accounts, "")
    }

    /// The same, its issuer under `path` (`/<tenant>/v2.0` for Microsoft's quirk).
    pub fn start_at(accounts: serde_json::Value, path: &str) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/oidc-server.mjs");
        let module = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/node_modules/oidc-provider");
        assert!(
            Path::new(module).exists(),
            "{module} is missing: install the tests' npm packages with `npm ci --prefix tests/node` (.ci/run does)"
        );
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let accounts_file = std::env::temp_dir().join(format!(
            "portal-oidc-accounts-{}-{}.json",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::write(&accounts_file, accounts.to_string()).unwrap();
        let started = super::node::start(
            "oidc-provider",
            script,
            &[
                ("ACCOUNTS_FILE", accounts_file.clone().into()),
                ("REDIRECT_URIS", format!("{DEV_CALLBACK},{PROD_CALLBACK}").into()),
                ("ISSUER_PATH", path.into()),
            ],
            &accounts_file,
        );
        let apple = started
            .output
            .lines()
            .find_map(|line| line.strip_prefix("apple "))
            .map(|line| {
                let parts: Vec<&str> = line.split_whitespace().collect();
                (parts[0].to_owned(), parts[1].to_owned(), parts[2].to_owned())
            })
            .expect("the Apple key line");
        let (child, port) = (started.child, started.port);
        Self {
            issuer: format!("http://127.0.0.1:{port}{path}"),
            apple,
            accounts_file,
            child,
        }
    }

    /// Replaces the provider's accounts (read again at each sign-in).
    pub fn set_accounts(&self, accounts: serde_json::Value) {
        std::fs::write(&self.accounts_file, accounts.to_string()).unwrap();
    }

    /// The variables of a portal whose generic provider is this one, with the `client` given.
    pub fn portal_variables(&self, client: &str) -> Vec<(String, String)> {
        vec![
            ("oauth_providers".into(), "oidc:Acme SSO".into()),
            ("oidc_issuer".into(), self.issuer.clone()),
            ("oidc_origin".into(), self.issuer.clone()),
            ("oidc_client_id".into(), client.into()),
            ("oidc_client_secret".into(), format!("{client}-secret")),
        ]
    }
}

/// A person's browser at the provider: its cookies and the login page.
#[derive(Default)]
pub struct ProviderAgent {
    cookies: BTreeMap<String, String>,
}

/// One HTTP/1.1 answer.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl ProviderAgent {
    /// A GET of `url` with this agent's cookies, redirects not followed.
    pub fn get(&mut self, url: &str) -> Answer {
        self.request("GET", url, None)
    }

    fn request(&mut self, method: &str, url: &str, form: Option<&str>) -> Answer {
        let parsed = url::Url::parse(url).expect("an absolute URL");
        let host = format!(
            "{}:{}",
            parsed.host_str().unwrap(),
            parsed.port_or_known_default().unwrap()
        );
        let path = &url[url.find(parsed.path()).unwrap()..];
        let mut stream = TcpStream::connect(&host).expect("reach the provider");
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let cookies = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let body = form.unwrap_or_default();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        if !cookies.is_empty() {
            head.push_str(&format!("Cookie: {cookies}\r\n"));
        }
        if form.is_some() {
            head.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let mut location = None;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("set-cookie") {
                let pair = value.split(';').next().unwrap_or_default();
                if let Some((name, value)) = pair.split_once('=') {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            } else if name.eq_ignore_ascii_case("location") {
                location = Some(parsed.join(value).unwrap().to_string());
            }
        }
        Answer {
            status,
            location,
            body: body.to_owned(),
        }
    }

    /// Follows redirects from `url` until one leaves the provider (the portal's callback) or a
    /// page answers: the last answer and the URL it came from.
    fn follow(&mut self, mut url: String, issuer: &str) -> (Answer, String) {
        for _ in 0..10 {
            let answer = self.request("GET", &url, None);
            match &answer.location {
                Some(next) if (300..400).contains(&answer.status) => {
                    if !next.starts_with(issuer) {
                        return (answer, url);
                    }
                    url = next.clone();
                }
                _ => return (answer, url),
            }
        }
        panic!("too many redirects at the provider");
    }

    /// Signs in at the provider as `login` from its authorization URL: the URL it sends the
    /// browser back to (the portal's callback with `code`, `state` and `iss`).
    pub fn sign_in(&mut self, authorization_url: &str, issuer: &str, login: &str) -> String {
        self.log_in(authorization_url, issuer, login)
            .location
            .expect("back to the portal")
    }

    /// The provider's login page, filled in and sent: the provider's last answer after it (a
    /// redirect back to the portal, or a page that posts the answer there).
    fn log_in(&mut self, authorization_url: &str, issuer: &str, login: &str) -> Answer {
        let (page, at) = self.follow(authorization_url.to_owned(), issuer);
        if page
            .location
            .as_deref()
            .is_some_and(|location| !location.starts_with(issuer))
        {
            return page;
        }
        assert_eq!(page.status, 200, "the login page: {}", page.body);
        assert!(at.contains("/interaction/"), "{at}");
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("prompt", "login")
            .append_pair("login", login)
            .append_pair("password", "any")
            .finish();
        let submitted = self.request("POST", &at, Some(&form));
        let next = submitted.location.expect("the login redirects");
        self.follow(next, issuer).0
    }

    /// Signs in at the provider as `login` from an authorization URL whose answer is posted
    /// (`response_mode=form_post`): the action and fields of the provider's auto-posting form.
    pub fn sign_in_posted(
        &mut self,
        authorization_url: &str,
        issuer: &str,
        login: &str,
    ) -> (String, Vec<(String, String)>) {
        let last = self.log_in(authorization_url, issuer, login);
        assert_eq!(last.status, 200, "the form_post page: {}", last.body);
        let action = attribute_after(&last.body, "<form", "action").expect("the form's action");
        let mut fields = Vec::new();
        let mut rest = last.body.as_str();
        while let Some(at) = rest.find("<input") {
            rest = &rest[at + 6..];
            let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
            if let (Some(name), Some(value)) = (attribute_after(tag, "", "name"), attribute_after(tag, "", "value")) {
                fields.push((name, value));
            }
        }
        (action, fields)
    }

    /// Cancels at the provider's login page: the URL it sends the browser back to.
    pub fn cancel(&mut self, authorization_url: &str, issuer: &str) -> String {
        let (_, at) = self.follow(authorization_url.to_owned(), issuer);
        let (last, _) = self.follow(format!("{at}/abort"), issuer);
        last.location.expect("back to the portal")
    }
}

/// The path and query of a portal URL (what the test `Browser` asks for).
pub fn path_of(url: &str) -> String {
    let parsed = url::Url::parse(url).unwrap();
    match parsed.query() {
        Some(query) => format!("{}?{query}", parsed.path()),
        None => parsed.path().to_owned(),
    }
}

/// The value of attribute `name` in the first tag after `marker` in `html`, unescaped.
fn attribute_after(html: &str, marker: &str, name: &str) -> Option<String> {
    super::html::attribute(&html[html.find(marker)?..], name)
}
