//! The real Spin CLI as the judge of the test host: `spin up` on the built `.wasm` and the
//! project's own `spin.toml`, exactly as a user runs the portal, reached over HTTP on a free
//! loopback port. Every request has a timeout, so a request that hangs inside Spin (as
//! PostgreSQL's zero-row `query` does on Spin 4.0.x, spinframework/spin#3671) fails its test
//! instead of blocking the run.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::host;

/// How long one request to Spin may take before the test fails as a hang.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `spin up` may take to listen (it compiles the component on first use).
const START_TIMEOUT: Duration = Duration::from_secs(180);

/// The `spin` binary: `$SPIN`, else the first `spin` on `PATH`. Without one the tier fails with
/// how to get it.
pub fn spin_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SPIN").filter(|path| !path.is_empty()) {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("spin"))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the real-Spin tests need the Spin CLI: put `spin` (4.0.2 or 3.x) on PATH or set SPIN=/path/to/spin. \
                 Install it from https://spinframework.dev/install, or on this project's machines run \
                 `../shared/tools/spin/install ~/.local/bin` (.ci/run does)"
            )
        })
}

/// One `spin up` of the portal, stopped when dropped, or when the test process ends (a
/// watchdog shell kills it when its standard input, held by this process, closes).
pub struct SpinProcess {
    /// Where this process reaches Spin (loopback, whatever address Spin listens on).
    pub addr: SocketAddr,
    log: PathBuf,
    spin: Child,
    watchdog: Option<(Child, ChildStdin)>,
}

impl SpinProcess {
    /// Runs the portal from `dir` (a copy of `spin.toml` beside the built `.wasm`, Spin's state
    /// in `dir/.spin`) with `variables` given as `--variable name=value`.
    /// `listen` is the address Spin listens on: `127.0.0.1`, or `0.0.0.0` for a test that
    /// also reaches it from another machine.
    pub fn start(dir: &Path, variables: &[(&str, &str)], listen: std::net::Ipv4Addr) -> Self {
        Self::start_manifest(&app_dir(dir), variables, listen)
    }

    /// `spin up -f manifest` (any application; its directory holds the log and Spin's state).
    pub fn start_manifest(manifest: &Path, variables: &[(&str, &str)], listen: std::net::Ipv4Addr) -> Self {
        let dir = manifest.parent().expect("the manifest's directory");
        let port = TcpListener::bind((listen, 0)).unwrap().local_addr().unwrap().port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let log = dir.join("spin.log");
        let output = std::fs::File::create(&log).expect("create spin.log");
        let mut command = Command::new(spin_binary());
        command
            .arg("up")
            .arg("-f")
            .arg(manifest)
            .args(["--listen", &SocketAddr::from((listen, port)).to_string()])
            .stdin(Stdio::null())
            .stdout(output.try_clone().unwrap())
            .stderr(output);
        for (name, value) in variables {
            command.arg("--variable").arg(format!("{name}={value}"));
        }
        // Variables come from the command line only, never from the test run's environment.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SPIN_VARIABLE_") {
                command.env_remove(name);
            }
        }
        // Its own process group: `spin up` runs the app in a child (`spin trigger http`), which
        // killing `spin up` alone would leave running; the group goes as one.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let spin = command.spawn().expect("run spin up");
        let mut watchdog = Command::new("sh")
            .args([
                "-c",
                &format!("cat >/dev/null; kill -KILL -- -{} 2>/dev/null", spin.id()),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the watchdog shell");
        let watchdog_input = watchdog.stdin.take().unwrap();
        let mut process = Self {
            addr,
            log,
            spin,
            watchdog: Some((watchdog, watchdog_input)),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = process.spin.try_wait() {
                panic!("spin up stopped ({status}); its output:\n{}", process.logs());
            }
            assert!(
                Instant::now() < deadline,
                "spin up did not listen on {addr} within {START_TIMEOUT:?}; its output:\n{}",
                process.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        process
    }

    /// Everything Spin and the component printed so far.
    pub fn logs(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// Sends `request` over a fresh connection and waits at most [`REQUEST_TIMEOUT`] for the
    /// whole answer. The `Host` header is the request's own when it has one (as a browser sends
    /// it), else Spin's address.
    pub fn send(&self, request: http::Request<Bytes>) -> (http::response::Parts, Bytes) {
        use http_body_util::BodyExt;
        let addr = self.addr;
        let (mut parts, body) = request.into_parts();
        if !parts.headers.contains_key(http::header::HOST) {
            parts
                .headers
                .insert(http::header::HOST, addr.to_string().parse().unwrap());
        }
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        parts.uri = path.parse().unwrap();
        let description = format!("{} {}", parts.method, parts.uri);
        let request = http::Request::from_parts(parts, http_body_util::Full::new(body));
        let exchange = async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            let response = sender.send_request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((parts, body))
        };
        match host::tokio().block_on(async { tokio::time::timeout(REQUEST_TIMEOUT, exchange).await }) {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => panic!(
                "{description} to spin at {addr} failed: {error}\nspin's output:\n{}",
                self.logs()
            ),
            Err(_) => panic!(
                "{description} to spin at {addr} got no answer within {REQUEST_TIMEOUT:?}: the request hangs inside \
                 Spin\nspin's output:\n{}",
                self.logs()
            ),
        }
    }
}

impl SpinProcess {
    /// Stops Spin (again: nothing).
    pub fn stop(&mut self) {
        // The whole group: `spin up` and the `spin trigger http` it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.spin.id())])
            .status();
        let _ = self.spin.kill();
        let _ = self.spin.wait();
        if let Some((mut watchdog, input)) = self.watchdog.take() {
            drop(input);
            let _ = watchdog.wait();
        }
    }
}

impl Drop for SpinProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Lays out in `dir` what `spin up` needs: the project's `spin.toml` and the release `.wasm` at
/// the path its `source` names (built once per test run, as `spin build` builds it).
fn app_dir(dir: &Path) -> PathBuf {
    let manifest_text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("spin.toml")).expect("read spin.toml");
    let manifest: toml::Table = toml::from_str(&manifest_text).expect("spin.toml parses");
    let source = manifest["component"]["account-portal"]["source"]
        .as_str()
        .expect("the component's source in spin.toml");
    let wasm = dir.join(source);
    std::fs::create_dir_all(wasm.parent().unwrap()).unwrap();
    std::fs::copy(host::built_wasm(), &wasm).expect("copy the built .wasm beside spin.toml");
    let manifest = dir.join("spin.toml");
    std::fs::write(&manifest, manifest_text).unwrap();
    manifest
}
