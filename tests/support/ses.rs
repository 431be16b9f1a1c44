//! A real SES v2 server for the email tests: `aws-ses-v2-local` (npm, pinned by
//! `tests/node/package-lock.json`, installed by `.ci/run`), started once per test run on a free
//! loopback port. Sent mail is read back from its `GET /store`.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct SesServer {
    pub origin: String,
    _child: Child,
}

/// The shared server (started on first use; it lives as long as the test binary).
pub fn server() -> &'static SesServer {
    static SERVER: OnceLock<SesServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let cli = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/node/node_modules/aws-ses-v2-local/dist/cli.js"
        );
        assert!(
            Path::new(cli).exists(),
            "{cli} is missing: install the tests' npm packages with `npm ci --prefix tests/node` (.ci/run does)"
        );
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // The server must not outlive the test run (a static is never dropped): a shell starts
        // it and kills it when its stdin, a pipe held by this process, closes at exit.
        let script = format!(
            "node '{cli}' --host 127.0.0.1 --port {port} >/dev/null 2>&1 & server=$!; cat >/dev/null; kill $server"
        );
        let child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node through sh (install Node.js: .ci/run does)");
        let origin = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while get(&origin, "/health-check").is_none() {
            assert!(
                Instant::now() < deadline,
                "aws-ses-v2-local did not start on {origin} (it needs Node.js; .ci/run installs it)"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        SesServer { origin, _child: child }
    })
}

/// One email the server received.
#[derive(Debug, Clone)]
pub struct ReceivedEmail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl SesServer {
    /// The variables of a portal that sends through the SES v2 provider to this server, with
    /// verified sign-up.
    pub fn portal_variables(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("email_provider", "ses"),
            ("email_api_key", "AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            ("email_from", "My App <no-reply@myapp.com>"),
            ("email_region", "us-east-1"),
            ("email_api_origin", self.origin.as_str()),
            ("email_verification", "required"),
        ]
    }

    /// Every email the server holds for `address`, oldest first.
    pub fn emails_to(&self, address: &str) -> Vec<ReceivedEmail> {
        let body = get(&self.origin, "/store").expect("GET /store");
        let store: serde_json::Value = serde_json::from_str(&body).expect("store JSON");
        store["emails"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|email| ReceivedEmail {
                from: email["from"].as_str().unwrap_or_default().to_owned(),
                to: email["destination"]["to"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|to| to.as_str().map(str::to_owned))
                    .collect(),
                subject: email["subject"].as_str().unwrap_or_default().to_owned(),
                text: email["body"]["text"].as_str().unwrap_or_default().to_owned(),
                html: email["body"]["html"].as_str().unwrap_or_default().to_owned(),
            })
            .filter(|email| email.to.iter().any(|to| to == address))
            .collect()
    }
}

impl ReceivedEmail {
    /// The six-digit code in the text.
    pub fn code(&self) -> String {
        super::email_text::code_in(&self.text).expect("a code in the email")
    }

    /// The path and query of the first portal link in the text that starts with `path`.
    pub fn link(&self, path: &str) -> String {
        super::link_in(&self.text, path)
    }
}

/// A plain HTTP/1.1 GET on loopback, without a client library.
fn get(origin: &str, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let address = origin.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let split = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let body = &response[split + 4..];
    if !head.starts_with("http/1.1 200") {
        return None;
    }
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_vec()
    };
    String::from_utf8(body).ok()
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&rest[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok());
        let after = &rest[line_end + 2..];
        match size {
            Some(size) if size > 0 && after.len() >= size => {
                out.extend_from_slice(&after[..size]);
                rest = after[size..].strip_prefix(b"\r\n").unwrap_or(&after[size..]);
            }
            _ => break,
        }
    }
    out
}
