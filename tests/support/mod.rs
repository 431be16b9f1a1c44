//! Test support: the wasmtime-based Spin stand-in ([`host`]) and an HTTP client over it.

#![allow(dead_code)]

#[path = "../../src/testing/authenticator.rs"]
pub mod authenticator;
#[path = "../../src/testing/email_text.rs"]
pub mod email_text;
pub mod github;
pub mod host;
#[path = "../../src/testing/html.rs"]
pub mod html;
pub mod local_http;
pub mod netns;
pub mod node;
pub mod oidc;
pub mod orgs;
pub mod passkeys;
#[path = "../../src/testing/postgres_server.rs"]
pub mod postgres_server;
pub mod ses;
pub mod spin_cli;
pub mod two_step;
pub mod webdriver;
pub mod webhooks;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::HeaderMap;

use host::{AppConfig, HostCalls, Runtime, dispatch_to};

/// A production `secret_key` for tests (32 random bytes; never use it anywhere else).
pub const SECRET_KEY: &str = "q3Vn1a1m2Z7xkq0aY9Yq8lqkq0p2wq9oVv3t8QGxv2M=";

/// The password test accounts are created with.
pub const PASSWORD: &str = "correct horse battery";

/// A plain client to a test database (outside the component, for inspecting what was stored).
fn postgres_client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("connect to the test PostgreSQL")
}

pub use email_text::link_in;

/// The value part of a `Set-Cookie` header.
pub fn cookie_value(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap().split_once('=').unwrap().1
}

/// Verifies a `__session` token with an independent JOSE implementation against the JWKS, as an
/// app does: signature, issuer, times, and the audience the portal is configured for
/// (`session_token_audience`, else `instance_domain`, else the issuer).
pub fn verify_token(portal: &Portal, token: &str, issuer: &str) -> serde_json::Value {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
    let jwks = portal.get("/.well-known/jwks.json");
    jwks.assert_status(200);
    assert_eq!(jwks.header("content-type"), Some("application/json"));
    let set: JwkSet = serde_json::from_str(&jwks.body).expect("JWKS parses as RFC 7517");
    let header = decode_header(token).expect("JWT header");
    assert_eq!(header.alg, Algorithm::ES256);
    let kid = header.kid.expect("kid in header");
    let jwk = set.find(&kid).expect("the token's kid is published");
    let key = DecodingKey::from_jwk(jwk).expect("EC key");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[issuer]);
    let audience = [
        portal.app.variable("session_token_audience"),
        portal.app.variable("instance_domain"),
    ]
    .into_iter()
    .find(|value| !value.is_empty())
    .unwrap_or_else(|| issuer.to_owned());
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "sub", "aud"]);
    validation.validate_nbf = true;
    decode::<serde_json::Value>(token, &key, &validation)
        .expect("an independent verifier accepts the token")
        .claims
}

/// One portal application with its own database file, removed when dropped.
pub struct Portal {
    app: Arc<AppConfig>,
    dir: PathBuf,
    backend: Backend,
    /// The PostgreSQL database this portal uses, when it runs on PostgreSQL.
    postgres_url: Option<String>,
}

/// What runs the component: the wasmtime test host in this process (fast, counts host calls),
/// or the real Spin CLI in a process of its own (the judge of the test host).
enum Backend {
    TestHost(&'static Runtime),
    Spin(spin_cli::SpinProcess),
}

/// Whether the running test is one of the suites that run again on PostgreSQL
/// (`tests/portal/main.rs` includes them a second time under `on_postgres`; libtest names each
/// test's thread after its path).
pub fn on_postgres() -> bool {
    std::thread::current()
        .name()
        .is_some_and(|name| name.starts_with("on_postgres::"))
}

impl Portal {
    /// The portal with `spin.toml`'s defaults: what `spin build --up` runs.
    pub fn new() -> Self {
        Self::with_vars(&[])
    }

    /// The portal with some application variables set, as `spin up --variable name=value`.
    pub fn with_vars(overrides: &[(&str, &str)]) -> Self {
        Self::on_test_host(overrides, on_postgres())
    }

    /// [`Portal::with_vars`] on a fresh database of the tests' PostgreSQL server.
    pub fn postgres_with_vars(overrides: &[(&str, &str)]) -> Self {
        Self::on_test_host(overrides, true)
    }

    fn on_test_host(overrides: &[(&str, &str)], postgres: bool) -> Self {
        let (dir, overrides, postgres_url) = prepare(overrides, postgres);
        let overrides: Vec<(&str, &str)> = overrides
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let app = Arc::new(AppConfig::new(dir.join("sqlite_db.db"), &overrides));
        Self {
            app,
            dir,
            backend: Backend::TestHost(host::runtime()),
            postgres_url,
        }
    }

    /// The portal run by the real `spin up` (see [`spin_cli`]) with these variables, on Spin's
    /// SQLite, or on a fresh database of the tests' PostgreSQL server when `postgres` is set.
    pub fn on_spin(overrides: &[(&str, &str)], postgres: bool) -> Self {
        Self::on_spin_listening(overrides, postgres, std::net::Ipv4Addr::LOCALHOST)
    }

    /// [`Portal::on_spin`], with Spin listening on `listen` (`0.0.0.0`: reachable from another
    /// machine too, see [`netns`]).
    pub fn on_spin_listening(overrides: &[(&str, &str)], postgres: bool, listen: std::net::Ipv4Addr) -> Self {
        let (dir, overrides, postgres_url) = prepare(overrides, postgres);
        let overrides: Vec<(&str, &str)> = overrides
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let app = Arc::new(AppConfig::new(dir.join(".spin/sqlite_db.db"), &overrides));
        let spin = spin_cli::SpinProcess::start(&dir, &overrides, listen);
        Self {
            app,
            dir,
            backend: Backend::Spin(spin),
            postgres_url,
        }
    }

    /// A production portal on `https://accounts.myapp.com` for apps on `myapp.com`, with a secret,
    /// and `extra` variables set or replacing those.
    pub fn production(extra: &[(&str, &str)]) -> Self {
        Self::with_vars(&production_vars(extra))
    }

    /// [`Portal::production`] run by the real `spin up`.
    pub fn production_on_spin(extra: &[(&str, &str)], postgres: bool) -> Self {
        Self::on_spin(&production_vars(extra), postgres)
    }

    /// Spin's hello-world component on the same host (for the page benchmark's ceiling).
    pub fn hello_world() -> Self {
        let mut portal = Self::new();
        portal.backend = Backend::TestHost(host::hello_world_runtime());
        portal
    }

    /// Spin's hello-world component run by the real `spin up` (the real-Spin benchmark's ceiling).
    pub fn hello_world_on_spin() -> Self {
        let manifest = "spin_manifest_version = 2\n\n[application]\nname = \"hello\"\n\n[[trigger.http]]\n\
                        route = \"/...\"\ncomponent = \"hello\"\n\n[component.hello]\nsource = \"hello.wasm\"\n";
        Self::component_on_spin("hello", host::hello_world_wasm(), manifest, |_| {})
    }

    /// A component of the benchmark (`benches/<name>`) run by the real `spin up`: its `.wasm` as
    /// `<name>.wasm` beside `manifest`, after `lay_out` put whatever else it needs in its directory.
    fn component_on_spin(
        name: &str,
        wasm: &std::path::Path,
        manifest: &str,
        lay_out: impl FnOnce(&std::path::Path),
    ) -> Self {
        let mut portal = Self::new();
        let dir = portal.dir.join(name);
        std::fs::create_dir_all(dir.join(".spin")).unwrap();
        std::fs::copy(wasm, dir.join(format!("{name}.wasm"))).expect("copy the component's .wasm");
        lay_out(&dir);
        let path = dir.join("spin.toml");
        std::fs::write(&path, manifest).unwrap();
        portal.backend = Backend::Spin(spin_cli::SpinProcess::start_manifest(
            &path,
            &[],
            std::net::Ipv4Addr::LOCALHOST,
        ));
        portal
    }

    /// The PostgreSQL database this portal stores in (`None`: Spin's SQLite).
    pub fn postgres_url(&self) -> Option<&str> {
        self.postgres_url.as_deref()
    }

    /// The probe component (`benches/probe`) run by the real `spin up`, on a copy of the store at
    /// `database` (a fresh, empty one without).
    pub fn probe_on_spin(database: Option<&std::path::Path>) -> Self {
        Self::some_probe_on_spin(host::probe_wasm(), database)
    }

    /// [`Portal::probe_on_spin`] with the probe built with Rust's defaults (a 1 MiB stack).
    pub fn stock_probe_on_spin() -> Self {
        Self::some_probe_on_spin(host::stock_probe_wasm(), None)
    }

    fn some_probe_on_spin(wasm: &std::path::Path, database: Option<&std::path::Path>) -> Self {
        let mut manifest =
            String::from("spin_manifest_version = 2\n\n[application]\nname = \"probe\"\n\n[variables]\n");
        for i in 0..10 {
            manifest.push_str(&format!("v{i} = {{ default = \"a\" }}\n"));
        }
        manifest.push_str(
            "\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n\n[component.probe]\n\
             source = \"probe.wasm\"\nsqlite_databases = [\"default\"]\n\n[component.probe.variables]\n",
        );
        for i in 0..10 {
            manifest.push_str(&format!("v{i} = \"{{{{ v{i} }}}}\"\n"));
        }
        Self::component_on_spin("probe", wasm, &manifest, |dir| {
            if let Some(database) = database {
                // A consistent copy, write-ahead log included.
                let copy = dir.join(".spin/sqlite_db.db");
                rusqlite::Connection::open(database)
                    .and_then(|store| store.execute("VACUUM INTO ?1", [copy.to_string_lossy()]))
                    .expect("copy the store");
            }
        })
    }

    /// Where the real Spin serving this portal listens (`None` on the test host).
    pub fn spin_addr(&self) -> Option<SocketAddr> {
        match &self.backend {
            Backend::Spin(spin) => Some(spin.addr),
            Backend::TestHost(_) => None,
        }
    }

    /// Path of this application's SQLite file, for tests that inspect what was stored.
    pub fn database_path(&self) -> PathBuf {
        self.app.database.clone()
    }

    /// Every variable the component may read (`spin.toml`'s component variables), sorted.
    pub fn declared_variables(&self) -> Vec<String> {
        let mut names: Vec<String> = self.app.component_variables.keys().cloned().collect();
        names.sort_unstable();
        names
    }

    /// The code in the newest email of the development outbox.
    pub fn newest_outbox_code(&self) -> Option<String> {
        email_text::code_in(&self.text("SELECT text_body FROM dev_outbox ORDER BY id DESC LIMIT 1")?)
    }

    /// Whether this portal stores in PostgreSQL.
    pub fn is_on_postgres(&self) -> bool {
        self.postgres_url.is_some()
    }

    /// The single integer `sql` selects from this portal's database (`SELECT COUNT(*) …`; a
    /// PostgreSQL boolean counts as 0 or 1).
    pub fn count(&self, sql: &str) -> i64 {
        match &self.postgres_url {
            Some(url) => {
                let row = postgres_client(url)
                    .query_one(sql, &[])
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                row.try_get::<_, i64>(0)
                    .or_else(|_| row.try_get::<_, i32>(0).map(i64::from))
                    .or_else(|_| row.try_get::<_, bool>(0).map(i64::from))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
            None => {
                let db = rusqlite::Connection::open(self.database_path()).unwrap();
                db.query_row(sql, [], |row| row.get(0)).unwrap()
            }
        }
    }

    /// Runs one statement on this portal's database, from outside the component (a test that
    /// needs time to have passed ages what is stored).
    pub fn execute(&self, sql: &str) {
        match &self.postgres_url {
            Some(url) => {
                postgres_client(url)
                    .batch_execute(sql)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            None => {
                let db = rusqlite::Connection::open(self.database_path()).unwrap();
                db.execute_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }

    /// The text `sql` selects (first column of the first row), if any.
    pub fn text(&self, sql: &str) -> Option<String> {
        self.value(sql)
    }

    /// The bytes `sql` selects (first column of the first row), if any.
    pub fn blob(&self, sql: &str) -> Option<Vec<u8>> {
        self.value(sql)
    }

    /// The first column of the first row `sql` selects, from whichever store this portal uses;
    /// `None` for no row or NULL.
    fn value<T>(&self, sql: &str) -> Option<T>
    where
        T: rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a>,
    {
        match &self.postgres_url {
            Some(url) => postgres_client(url)
                .query_opt(sql, &[])
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .and_then(|row| row.get::<_, Option<T>>(0)),
            None => {
                let db = rusqlite::Connection::open(self.database_path()).unwrap();
                db.query_row(sql, [], |row| row.get(0)).ok()
            }
        }
    }

    /// Sends one request from client address `127.0.0.1`.
    pub fn send(&self, request: http::Request<Bytes>) -> TestResponse {
        self.send_from(request, "127.0.0.1:50000")
    }

    /// Sends one request from client address `client_addr`; on the real Spin the address is the
    /// test's own loopback connection, whatever `client_addr` says.
    pub fn send_from(&self, request: http::Request<Bytes>, client_addr: &str) -> TestResponse {
        let runtime = match &self.backend {
            Backend::TestHost(runtime) => *runtime,
            Backend::Spin(spin) => {
                let (parts, body) = spin.send(request);
                return TestResponse {
                    status: parts.status.as_u16(),
                    headers: parts.headers,
                    body: String::from_utf8(body.to_vec()).unwrap_or_else(|_| "<binary>".into()),
                    logs: spin.logs(),
                    calls: HostCalls::default(),
                };
            }
        };
        let answer = host::tokio()
            .block_on(dispatch_to(runtime, self.app.clone(), request, client_addr))
            .unwrap_or_else(|e| panic!("request failed: {e:?}"));
        TestResponse {
            status: answer.parts.status.as_u16(),
            headers: answer.parts.headers,
            body: String::from_utf8(answer.body.to_vec()).unwrap_or_else(|_| "<binary>".into()),
            logs: answer.logs,
            calls: answer.calls,
        }
    }

    pub fn get(&self, path_and_query: &str) -> TestResponse {
        self.send(request("GET", path_and_query).body(Bytes::new()).unwrap())
    }

    /// A GET addressed to `host` (the `Host` a browser sends), from loopback.
    pub fn get_at_host(&self, host: &str, path_and_query: &str) -> TestResponse {
        let request = http::Request::builder()
            .uri(path_and_query)
            .header("host", host)
            .body(Bytes::new())
            .unwrap();
        self.send(request)
    }

    /// Serves this application on a real TCP port on 127.0.0.1 (for browser tests). The server
    /// runs on the shared runtime until the test process ends.
    pub fn serve(&self) -> SocketAddr {
        let app = self.app.clone();
        let runtime = match &self.backend {
            Backend::TestHost(runtime) => *runtime,
            Backend::Spin(spin) => return spin.addr,
        };
        let listener = host::tokio()
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        host::tokio().spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                let app = app.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |request| serve_one(runtime, app.clone(), request, peer));
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        addr
    }
}

async fn serve_one(
    runtime: &'static Runtime,
    app: Arc<AppConfig>,
    request: http::Request<hyper::body::Incoming>,
    peer: SocketAddr,
) -> Result<http::Response<http_body_util::Full<Bytes>>, std::io::Error> {
    use http_body_util::BodyExt;
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(std::io::Error::other)?.to_bytes();
    let answer = dispatch_to(runtime, app, http::Request::from_parts(parts, body), &peer.to_string())
        .await
        .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    Ok(http::Response::from_parts(
        answer.parts,
        http_body_util::Full::new(answer.body),
    ))
}

impl Drop for Portal {
    fn drop(&mut self) {
        // Spin stops before its state directory goes.
        if let Backend::Spin(spin) = &mut self.backend {
            spin.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh directory for one portal and the variables it runs with: `overrides`, plus
/// `email_verification=off` unless a test sets it (most suites test what happens after an
/// account exists), plus a fresh PostgreSQL database when `postgres` is asked and the test gave
/// no `database_url` of its own. Answers the directory, the variables and that database's URL.
fn prepare(overrides: &[(&str, &str)], postgres: bool) -> (PathBuf, Vec<(String, String)>, Option<String>) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "portal-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test directory");
    let mut overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    if !overrides.iter().any(|(name, _)| name == "email_verification") {
        overrides.push(("email_verification".to_owned(), "off".to_owned()));
    }
    // Have I Been Pwned is not reachable from the tests: their portals check no breaches unless
    // a test points the check at its own range server (`tests/portal/breach.rs`).
    if !overrides.iter().any(|(name, _)| name == "password_breach_check") {
        overrides.push(("password_breach_check".to_owned(), "off".to_owned()));
    }
    let configured = overrides
        .iter()
        .find(|(name, _)| name == "database_url")
        .map(|(_, url)| url.clone());
    let postgres_url = configured.or_else(|| {
        postgres.then(|| {
            let server = postgres_server::server();
            let url = server.url(&server.create_database());
            overrides.push(("database_url".to_owned(), url.clone()));
            overrides.push(("database_host".to_owned(), server.host()));
            url
        })
    });
    (dir, overrides, postgres_url)
}

/// The production variables of [`Portal::production`], with `extra` set or replacing them.
fn production_vars<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut vars = vec![
        ("environment", "production"),
        ("public_origin", "https://accounts.myapp.com"),
        ("instance_domain", "myapp.com"),
        ("secret_key", SECRET_KEY),
        // Production sends email only through a provider; suites that test email set one.
        ("email_verification", "off"),
    ];
    vars.retain(|(name, _)| !extra.iter().any(|(other, _)| other == name));
    vars.extend_from_slice(extra);
    vars
}

/// A request to the portal as a browser on `127.0.0.1:3000` sends it.
pub fn request(method: &str, path_and_query: &str) -> http::request::Builder {
    http::Request::builder()
        .method(method)
        .uri(path_and_query)
        .header("host", "127.0.0.1:3000")
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
    pub logs: String,
    /// What the request asked of the host (variables, statements, outbound requests).
    pub calls: HostCalls,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn location(&self) -> &str {
        self.header("location")
            .unwrap_or_else(|| panic!("no location header: {self:?}"))
    }

    /// Every `Set-Cookie` value.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The `Set-Cookie` header for `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The value of `<input name=… value=…>` in the body (values are HTML-escaped by the portal).
    pub fn input_value(&self, name: &str) -> Option<String> {
        html::input_value(&self.body, name)
    }

    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body:\n{}\nlogs:\n{}",
            self.body, self.logs
        );
        self
    }
}

/// A browser: keeps cookies between requests and sends the headers a same-origin form post has.
pub struct Browser<'p> {
    pub portal: &'p Portal,
    pub cookies: BTreeMap<String, String>,
    pub client_addr: String,
    /// The origin the browser reports on form posts (the portal's own, as a browser on it would).
    pub origin: String,
}

impl<'p> Browser<'p> {
    pub fn new(portal: &'p Portal) -> Self {
        Self {
            portal,
            cookies: BTreeMap::new(),
            client_addr: "127.0.0.1:50000".to_owned(),
            origin: "http://127.0.0.1:3000".to_owned(),
        }
    }

    /// A browser that has just signed up with `email` and [`PASSWORD`].
    pub fn signed_up(portal: &'p Portal, email: &str) -> Self {
        let mut browser = Self::new(portal);
        browser.sign_up(email, PASSWORD).assert_status(302);
        browser.verify_email();
        browser
    }

    /// Verifies the signed-in account's address through `/user` and the emailed code, where the
    /// portal can send email (development outbox); invitations need a verified address.
    pub fn verify_email(&mut self) {
        if !self.get("/user").body.contains("action=\"/user/email/verify\"") {
            return;
        }
        let asked = self.submit("/user", "/user/email/verify", &[]);
        if asked.status == 303 && asked.location().starts_with("/verify?") {
            self.enter_emailed_code(asked).assert_status(303);
        }
    }

    /// A browser that has just signed up with `email`, [`PASSWORD`] and `username`.
    pub fn signed_up_with_username(portal: &'p Portal, email: &str, username: &str) -> Self {
        let mut browser = Self::new(portal);
        let asked = browser.submit(
            "/sign-up",
            "/sign-up",
            &[("email_address", email), ("password", PASSWORD), ("username", username)],
        );
        browser.enter_emailed_code(asked).assert_status(302);
        browser.verify_email();
        browser
    }

    /// The claims of this browser's current `__session` (its signature is checked by an
    /// independent verifier in the accounts tests; here only its content matters).
    pub fn claims(&self) -> serde_json::Value {
        use base64::Engine as _;
        let token = &self.cookies["__session"];
        let payload = token.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// A browser on a portal served at `origin` (for production settings with `public_origin`).
    pub fn at(portal: &'p Portal, origin: &str) -> Self {
        Self {
            origin: origin.to_owned(),
            ..Self::new(portal)
        }
    }

    /// The `Cookie` header this browser sends, if it holds any cookie.
    pub fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// Sends a request with this browser's cookies and records the cookies it sets.
    pub fn send(&mut self, mut builder: http::request::Builder, body: Bytes) -> TestResponse {
        if let Some(cookies) = self.cookie_header() {
            builder = builder.header("cookie", cookies);
        }
        let response = self.portal.send_from(builder.body(body).unwrap(), &self.client_addr);
        for set_cookie in response.set_cookies() {
            let pair = set_cookie.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let expired = set_cookie.to_ascii_lowercase().contains("max-age=0") || value.is_empty();
            if expired {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        response
    }

    pub fn get(&mut self, path_and_query: &str) -> TestResponse {
        self.send(request("GET", path_and_query), Bytes::new())
    }

    /// A same-origin form post, as a browser submits it.
    pub fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        self.post_form_with(path, fields, &[])
    }

    /// A same-origin form post with extra request headers (what a hostile client adds).
    pub fn post_form_with(&mut self, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> TestResponse {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut builder = request("POST", path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", self.origin.as_str())
            .header("sec-fetch-site", "same-origin");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        self.send(builder, Bytes::from(body))
    }

    /// Opens `page`, then submits its form to `action` with `fields` plus the page's hidden
    /// fields (CSRF token, sealed redirect target), as a person filling the form would.
    pub fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> TestResponse {
        let form_page = self.get(page);
        form_page.assert_status(200);
        let hidden: Vec<(String, String)> = ["csrf_token", "redirect_target"]
            .iter()
            .filter_map(|name| form_page.input_value(name).map(|value| (name.to_string(), value)))
            .collect();
        let mut all: Vec<(&str, &str)> = hidden.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        all.extend_from_slice(fields);
        self.post_form(action, &all)
    }

    /// Signs up through the real pages, entering the emailed code when the portal asks for one
    /// (development outbox); returns the final response (a 302 on success).
    pub fn sign_up(&mut self, email: &str, password: &str) -> TestResponse {
        let asked = self.submit(
            "/sign-up",
            "/sign-up",
            &[("email_address", email), ("password", password)],
        );
        self.enter_emailed_code(asked)
    }

    /// When `response` sends the browser to a code page, enters there the newest code of the
    /// development outbox (what a person reading the email does); else returns `response`.
    pub fn enter_emailed_code(&mut self, response: TestResponse) -> TestResponse {
        if response.status != 303 || !response.location().starts_with("/verify?") {
            return response;
        }
        let location = response.location().to_owned();
        let code = self
            .portal
            .newest_outbox_code()
            .expect("an emailed code in the development outbox");
        self.enter_code(&location, &code)
    }

    /// Opens a code page and submits `code` there.
    pub fn enter_code(&mut self, code_page: &str, code: &str) -> TestResponse {
        let page = self.get(code_page);
        page.assert_status(200);
        let flow = page.input_value("flow").expect("the code page's flow field");
        self.submit(code_page, "/verify", &[("flow", &flow), ("code", code)])
    }

    /// Asks `/forgot-password` for a reset code for `email`: the code page, its flow and the
    /// code from the development outbox.
    pub fn ask_for_reset(&mut self, email: &str) -> (String, String, String) {
        let sent = self.submit("/forgot-password", "/forgot-password", &[("email_address", email)]);
        sent.assert_status(303);
        let page = sent.location().to_owned();
        let flow = self.get(&page).input_value("flow").unwrap();
        let code = self.portal.newest_outbox_code().expect("the reset code");
        (page, flow, code)
    }

    pub fn sign_in(&mut self, identifier: &str, password: &str) -> TestResponse {
        self.submit(
            "/sign-in",
            "/sign-in",
            &[("identifier", identifier), ("password", password)],
        )
    }
}

/// Bytes from base64url (what the portal sends the page's script).
pub fn authenticator_bytes(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("base64url")
}
