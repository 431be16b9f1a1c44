//! A real PostgreSQL server for the tests, started once per test process in a temporary
//! directory (`initdb` + `pg_ctl` from Debian's `postgresql` package, which `.ci/run` installs
//! when it is missing) on a free loopback port, with password authentication. It stops when the
//! test process ends. Shared by the unit tests and the integration tests (`#[path]`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The superuser the tests connect as, and its password.
pub const USER: &str = "portal";
pub const PASSWORD: &str = "portal-test-password";

pub struct PostgresServer {
    pub port: u16,
    _stopper: Child,
}

/// The shared server, started on first use.
pub fn server() -> &'static PostgresServer {
    static SERVER: OnceLock<PostgresServer> = OnceLock::new();
    SERVER.get_or_init(start)
}

impl PostgresServer {
    /// `host:port`, as `database_host` takes it.
    #[allow(dead_code, reason = "the integration tests use it; the unit tests connect by URL")]
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The connection string of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{name}?sslmode=disable",
            self.port
        )
    }

    /// A new, empty database with a unique name (`portal_<pid>_<n>`), created through `psql`.
    pub fn create_database(&self) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("portal_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let status = Command::new(tool("psql"))
            .args([
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                USER,
                "-d",
                "postgres",
            ])
            .args(["-c", &format!("CREATE DATABASE {name}")])
            .env("PGPASSWORD", PASSWORD)
            .stdout(Stdio::null())
            .status()
            .expect("run psql");
        assert!(status.success(), "CREATE DATABASE {name} failed");
        name
    }
}

/// A PostgreSQL program: on `PATH`, else in Debian's `/usr/lib/postgresql/<version>/bin`.
fn tool(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    if let Some(found) = on_path {
        return found;
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| dirs.flatten().map(|dir| dir.path().join("bin").join(name)).collect())
        .unwrap_or_default();
    versions.sort();
    versions
        .into_iter()
        .rev()
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("PostgreSQL's {name} is missing: install Debian's postgresql package (.ci/run does)"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// Runs a server program; as root, as the `postgres` user (initdb refuses root).
fn server_command(program: &Path, root: bool) -> Command {
    if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn start() -> PostgresServer {
    let root = is_root();
    let dir = std::env::temp_dir().join(format!("account-portal-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the PostgreSQL directory");
    let data = dir.join("data");
    let password_file = dir.join("password");
    std::fs::write(&password_file, PASSWORD).expect("write the password file");
    if root {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "chown the PostgreSQL directory to postgres"
        );
    }
    let initdb = server_command(&tool("initdb"), root)
        .arg("-D")
        .arg(&data)
        .args(["-U", USER, "--auth=scram-sha-256", "--no-sync", "-E", "UTF8"])
        .arg(format!("--pwfile={}", password_file.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run initdb");
    assert!(
        initdb.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&initdb.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
        dir.display()
    );
    let started = server_command(&tool("pg_ctl"), root)
        .arg("-D")
        .arg(&data)
        .args(["-o", &options, "-w", "-t", "60", "-l"])
        .arg(dir.join("server.log"))
        .arg("start")
        .stdout(Stdio::null())
        .status()
        .expect("run pg_ctl start");
    assert!(
        started.success(),
        "pg_ctl start failed; see {}",
        dir.join("server.log").display()
    );
    // A static is never dropped: a shell waits for this process's end (its stdin closes) and
    // stops the server then.
    let pg_ctl = tool("pg_ctl");
    let stop = if root {
        format!(
            "cat >/dev/null; runuser -u postgres -- '{}' -D '{}' -m immediate stop >/dev/null 2>&1; rm -rf '{}'",
            pg_ctl.display(),
            data.display(),
            dir.display()
        )
    } else {
        format!(
            "cat >/dev/null; '{}' -D '{}' -m immediate stop >/dev/null 2>&1; rm -rf '{}'",
            pg_ctl.display(),
            data.display(),
            dir.display()
        )
    };
    let stopper = Command::new("sh")
        .args(["-c", &stop])
        .stdin(Stdio::piped())
        .spawn()
        .expect("start the PostgreSQL stopper");
    PostgresServer {
        port,
        _stopper: stopper,
    }
}
