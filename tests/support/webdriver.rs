//! A real Chromium driven through ChromeDriver (W3C WebDriver over HTTP/1.1 on loopback), for the
//! browser tier: pages are loaded from the portal served on a real TCP port, checked with
//! axe-core, and used by keyboard and with JavaScript off.
//!
//! Debian's `chromium` and `chromium-driver` packages provide the browser; `.ci/run` installs
//! them when missing. A test that cannot find them fails and says how to install them: it never
//! skips.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A running ChromeDriver, stopped when dropped.
pub struct Driver {
    process: Child,
    addr: SocketAddr,
}

impl Driver {
    pub fn start() -> Self {
        for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: the browser tests need Debian's chromium and chromium-driver packages \
                 (`apt-get install chromium chromium-driver`, as .ci/run does); install {package}"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Self {
            process,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while driver.request("GET", "/status", None).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    /// A new browser window; `javascript` false turns scripts off, as some visitors do.
    pub fn session(&self, javascript: bool) -> Session<'_> {
        let profile = tempdir();
        let mut options = json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-features=Translate",
                format!("--user-data-dir={}", profile.display()),
            ],
        });
        if !javascript {
            options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let body = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
        } } });
        let answer = self.request("POST", "/session", Some(&body)).expect("new session");
        let id = answer["sessionId"].as_str().expect("session id").to_owned();
        let timeouts = json!({ "script": 120_000, "pageLoad": 60_000 });
        self.request("POST", &format!("/session/{id}/timeouts"), Some(&timeouts))
            .expect("set timeouts");
        Session {
            driver: self,
            id,
            profile,
        }
    }

    /// One WebDriver command: `Ok(value)`, or the driver's error as text.
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let mut stream = TcpStream::connect(self.addr).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(60))).ok();
        let body = body.map(Value::to_string).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).map_err(|e| e.to_string())?;
        let mut length = None;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).map_err(|e| e.to_string())?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let mut text = String::new();
        match length {
            Some(length) => {
                let mut buffer = vec![0; length];
                reader.read_exact(&mut buffer).map_err(|e| e.to_string())?;
                text = String::from_utf8_lossy(&buffer).into_owned();
            }
            None => {
                reader.read_to_string(&mut text).map_err(|e| e.to_string())?;
            }
        }
        let answer: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
        if status_line.split_whitespace().nth(1) != Some("200") {
            return Err(format!("{status_line}{}", answer["value"]));
        }
        Ok(answer["value"].clone())
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn tempdir() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "portal-chromium-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("profile directory");
    dir
}

/// One browser window.
pub struct Session<'d> {
    driver: &'d Driver,
    id: String,
    profile: PathBuf,
}

impl Session<'_> {
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.id);
        self.driver
            .request(method, &path, body.as_ref())
            .unwrap_or_else(|error| panic!("{method} {path}: {error}"))
    }

    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn url(&self) -> String {
        self.command("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn title(&self) -> String {
        self.command("GET", "/title", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The window's size in CSS pixels (1280×800 desktop, 390×844 phone).
    pub fn resize(&self, width: u32, height: u32) {
        self.command(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        );
    }

    /// A phone's viewport exactly (the window rect includes browser chrome, so `resize`
    /// leaves a shorter page than the phone has).
    pub fn emulate_phone(&self, width: u32, height: u32) {
        self.devtools(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 3, "mobile": true }),
        );
    }

    /// `prefers-color-scheme: dark` (or light) for this window.
    pub fn color_scheme(&self, scheme: &str) {
        self.devtools(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        );
    }

    /// One DevTools protocol command, through ChromeDriver's `goog/cdp/execute` extension.
    fn devtools(&self, cmd: &str, params: Value) {
        self.command(
            "POST",
            "/goog/cdp/execute",
            Some(json!({ "cmd": cmd, "params": params })),
        );
    }

    /// Runs a script in the page and returns its value.
    pub fn script(&self, script: &str, args: Value) -> Value {
        self.command("POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
    }

    /// Runs a script whose last argument is the callback that returns its value.
    pub fn async_script(&self, script: &str, args: Value) -> Value {
        self.command(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
    }

    fn element(&self, css: &str) -> String {
        let found = self.command(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        found
            .as_object()
            .and_then(|object| object.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_owned()
    }

    /// Types into the field `css`.
    pub fn fill(&self, css: &str, text: &str) {
        let element = self.element(css);
        self.command("POST", &format!("/element/{element}/clear"), Some(json!({})));
        self.command(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    pub fn click(&self, css: &str) {
        let element = self.element(css);
        self.command("POST", &format!("/element/{element}/click"), Some(json!({})));
    }

    /// Runs `act` (a click, a key press) that submits a form, and waits until the response's
    /// document has replaced this one and finished loading.
    pub fn navigating(&self, act: impl FnOnce()) {
        self.script("window.__portal_old_document = true;", json!([]));
        act();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let loaded = self.driver.request(
                "POST",
                &format!("/session/{}/execute/sync", self.id),
                Some(&json!({
                    "script": "return !window.__portal_old_document && document.readyState === 'complete';",
                    "args": [],
                })),
            );
            if loaded == Ok(json!(true)) {
                return;
            }
            assert!(Instant::now() < deadline, "the form post did not load a new page");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Presses keys as a person at the keyboard: text, `\u{E004}` for Tab, `\u{E007}` for Enter.
    pub fn keys(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|key| {
                let key = key.to_string();
                [
                    json!({ "type": "keyDown", "value": key }),
                    json!({ "type": "keyUp", "value": key }),
                ]
            })
            .collect();
        self.command(
            "POST",
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })),
        );
    }

    /// The `id` or `name` of the focused element.
    pub fn focused(&self) -> String {
        self.script(
            "const e = document.activeElement; return e ? (e.id || e.name || e.tagName) : '';",
            json!([]),
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Adds a virtual authenticator to this window (the WebDriver extension of WebAuthn §11,
    /// Chromium's DevTools authenticator underneath): a platform authenticator (`internal`)
    /// speaking CTAP2 that keeps resident keys and verifies the person. Its id.
    pub fn add_virtual_authenticator(&self) -> String {
        let answer = self.command(
            "POST",
            "/webauthn/authenticator",
            Some(json!({
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserConsenting": true,
                "isUserVerified": true,
            })),
        );
        answer.as_str().expect("an authenticator id").to_owned()
    }

    /// The credentials the virtual authenticator `id` holds.
    pub fn authenticator_credentials(&self, id: &str) -> Vec<Value> {
        self.command("GET", &format!("/webauthn/authenticator/{id}/credentials"), None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn source(&self) -> String {
        self.command("GET", "/source", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self.driver.request("DELETE", &format!("/session/{}", self.id), None);
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
