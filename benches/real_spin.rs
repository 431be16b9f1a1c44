//! The real-Spin benchmark: the release `.wasm` under the real `spin up` (the real-Spin tier's
//! CLI) beside Spin's hello-world component (same spin-sdk), loaded by `wrk` (Debian's; `.ci/run`
//! installs it) with production settings. Prints the README's performance table.
//!
//! `cargo bench --bench real_spin` (`BENCH_SECONDS` per load run, 10 by default;
//! `BENCH_SKIP_MILLION=1` skips the million-row store). Each portal row runs right after a
//! hello-world run, and its share is against that run: the machine's other load moves both.
//! Throughput is `wrk -t2 -c16`; the posts are single requests one after another (median),
//! against a native Argon2id verify with the same parameters (the `argon2` crate the portal
//! uses, and libargon2, the reference C implementation, when it is installed). Then: the same
//! on PostgreSQL (the tests' own server), two Spin processes on one PostgreSQL, `spin up` to the
//! first answer, and the hot requests again with a million users and sessions in the store.
//!
//! Beside each rate: the CPU time Spin's process spent per request (the `spin trigger http`
//! child that `spin up` starts, user and system time from `/proc/<pid>/stat`, its threads
//! included), which is what sets the rate on a machine whose cores Spin fills.

// The tests may parse JSON from `&str` (clippy.toml keeps it out of the `.wasm`).
#![allow(clippy::disallowed_methods)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Browser, PASSWORD, Portal};

const ORIGIN: &str = "https://accounts.myapp.com";
const BOUNCE: &str = "/sign-in?redirect_url=https%3A%2F%2Fapp.myapp.com%2F";
const PRODUCTION: &[(&str, &str)] = &[("password_checks_per_minute", "1000")];

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// What one `wrk` run measured.
#[derive(Debug, Clone, Copy)]
struct Load {
    per_second: f64,
    /// Spin's CPU time per request during the run, in microseconds (`None` where the serving
    /// process could not be read).
    cpu_us: Option<f64>,
    /// Answers that were neither 2xx nor 3xx (a benchmark of errors is no benchmark).
    bad: u64,
    /// The median latency, in milliseconds.
    median_ms: f64,
}

/// The `spin trigger http` process that serves `addr` (`spin up` runs the app in that child).
fn trigger_pid(addr: SocketAddr) -> Option<u32> {
    let listen = addr.to_string();
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(Result::ok)
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let command_line = std::fs::read(entry.path().join("cmdline")).ok()?;
            let args: Vec<&[u8]> = command_line.split(|byte| *byte == 0).collect();
            let serves = args.contains(&&b"trigger"[..])
                && args
                    .windows(2)
                    .any(|pair| pair[0] == b"--listen" && pair[1] == listen.as_bytes());
            serves.then_some(pid)
        })
}

/// The user and system CPU time of a process so far, its threads included (ended ones too).
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command's closing parenthesis come fields 3 onwards: utime is field 14, stime 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second()))
}

/// The unit of `/proc/<pid>/stat`'s times (`getconf CLK_TCK`, asked once; 100 on Linux).
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

fn wrk(addr: SocketAddr, path: &str, cookie: Option<&str>, threads: u32, connections: u32) -> Load {
    let pid = trigger_pid(addr);
    let cpu_before = pid.and_then(cpu_time);
    let mut command = Command::new("wrk");
    command
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", env_number("BENCH_SECONDS", 10)))
        .arg("--latency");
    if let Some(cookie) = cookie {
        command.arg("-H").arg(format!("Cookie: {cookie}"));
    }
    let output = command
        .arg(format!("http://{addr}{path}"))
        .output()
        .unwrap_or_else(|error| panic!("run wrk ({error}): install it (`apt-get install wrk`; .ci/run does)"));
    let text = String::from_utf8_lossy(&output.stdout);
    let number_after = |label: &str| {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(label))
            .and_then(|rest| rest.trim().parse::<f64>().ok())
    };
    let cpu_after = pid.and_then(cpu_time);
    let per_second = number_after("Requests/sec:").unwrap_or_else(|| panic!("wrk said:\n{text}"));
    // "  12345 requests in 5.00s, 3.27MB read"
    let requests = text
        .lines()
        .find_map(|line| line.trim().split_once(" requests in "))
        .and_then(|(count, _)| count.trim().parse::<f64>().ok());
    let cpu_us = match (cpu_before, cpu_after, requests) {
        (Some(before), Some(after), Some(requests)) if requests > 0.0 => {
            Some((after - before).as_secs_f64() * 1e6 / requests)
        }
        _ => None,
    };
    let bad = number_after("Non-2xx or 3xx responses:").unwrap_or(0.0) as u64;
    let median_ms = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("50%"))
        .and_then(|latency| {
            let latency = latency.trim();
            let number = |unit: &str| latency.strip_suffix(unit).and_then(|n| n.parse::<f64>().ok());
            number("us")
                .map(|us| us / 1e3)
                .or_else(|| number("ms"))
                .or_else(|| number("s").map(|s| s * 1e3))
        })
        .unwrap_or(f64::NAN);
    Load {
        per_second,
        cpu_us,
        bad,
        median_ms,
    }
}

/// The table: each row after a hello-world run, with its share of that run.
struct Table {
    hello: SocketAddr,
}

impl Table {
    fn row(&self, name: &str, addr: SocketAddr, path: &str, cookie: Option<&str>) -> f64 {
        let ceiling = wrk(self.hello, "/", None, 2, 16);
        let load = wrk(addr, path, cookie, 2, 16);
        let errors = if load.bad > 0 {
            format!(" ({} errors)", load.bad)
        } else {
            String::new()
        };
        println!(
            "| {name} | {:.0}{errors} | {:.2} (hello-world {:.0}) | {} ({}) |",
            load.per_second,
            load.per_second / ceiling.per_second,
            ceiling.per_second,
            microseconds(load.cpu_us),
            microseconds(ceiling.cpu_us)
        );
        load.per_second
    }
}

fn microseconds(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |us| format!("{us:.0} µs"))
}

/// The heading of a table of [`Table::row`]s.
const ROWS_HEADING: &str =
    "| request | req/s | share of hello-world | Spin's CPU per request (hello-world's) |\n| --- | --- | --- | --- |";

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

/// The median time of `runs` calls of `once`.
fn median_time(runs: usize, mut once: impl FnMut()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                once();
                start.elapsed()
            })
            .collect(),
    )
}

/// A signed-up browser's cookie header, after checking the bounce answers 302.
fn signed_in(portal: &Portal, email: &str) -> String {
    let mut browser = Browser::at(portal, ORIGIN);
    browser.sign_up(email, PASSWORD).assert_status(302);
    let cookie = browser.cookie_header().expect("session cookies");
    let bounce = support::request("GET", BOUNCE)
        .header("cookie", cookie.as_str())
        .body(bytes::Bytes::new())
        .unwrap();
    portal.send(bounce).assert_status(302);
    cookie
}

/// The median time of the sign-in post with the right password (`runs` in a row).
fn sign_in_post(portal: &Portal, email: &str, runs: usize) -> Duration {
    let mut browser = Browser::at(portal, ORIGIN);
    let form = browser.get("/sign-in");
    let token = form.input_value("csrf_token").expect("csrf token");
    let fields = [
        ("csrf_token", token.as_str()),
        ("identifier", email),
        ("password", PASSWORD),
    ];
    browser.post_form("/sign-in", &fields).assert_status(302);
    median_time(runs, || {
        browser.post_form("/sign-in", &fields).assert_status(302);
    })
}

/// The median time of a sign-up post (a new account each time).
fn sign_up_post(portal: &Portal, prefix: &str, runs: usize) -> Duration {
    let mut browser = Browser::at(portal, ORIGIN);
    let form = browser.get("/sign-up");
    let token = form.input_value("csrf_token").expect("csrf token");
    median(
        (0..runs)
            .map(|i| {
                let email = format!("{prefix}{i}@example.com");
                let fields = [
                    ("csrf_token", token.as_str()),
                    ("email_address", &email),
                    ("password", PASSWORD),
                ];
                let start = Instant::now();
                browser.post_form("/sign-up", &fields).assert_status(302);
                start.elapsed()
            })
            .collect(),
    )
}

/// A local server answering Have I Been Pwned's range API (padding rows only): the breach
/// check's outbound request, without the internet.
fn range_server() -> String {
    let (origin, _) = support::local_http::serve(|_| {
        Some((
            200,
            "text/plain",
            "0018A45C4D1DEF81644B54AB7F969B88D65:0\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0\r\n".to_owned(),
        ))
    });
    origin
}

fn ms(time: Duration) -> f64 {
    time.as_secs_f64() * 1e3
}

/// `spin up` to the first answer, median of three.
fn start_up(start: impl Fn() -> Portal, path: &str) -> Duration {
    median(
        (0..3)
            .map(|_| {
                let begun = Instant::now();
                let portal = start();
                portal.get(path).assert_status(200);
                begun.elapsed()
            })
            .collect(),
    )
}

/// A million users, each with a live portal session, written straight into the store.
fn add_a_million(portal: &Portal) {
    let future = 4_102_444_800_i64; // 2100-01-01
    match portal.postgres_url() {
        Some(url) => {
            let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect to PostgreSQL");
            client
                .batch_execute(&format!(
                    "INSERT INTO users (id, email, password_hash, created_at, updated_at) \
                     SELECT 'user_seed' || i, 'seed' || i || '@example.com', '', 0, 0 FROM generate_series(1, 1000000) AS i;
                     INSERT INTO portal_sessions (id, token_hash, user_id, created_at, last_active_at, expires_at) \
                     SELECT 'sess_seed' || i, decode(md5(i::text) || md5((-i)::text), 'hex'), 'user_seed' || i, 0, 0, {future} \
                     FROM generate_series(1, 1000000) AS i;
                     ANALYZE users; ANALYZE portal_sessions;"
                ))
                .expect("seed PostgreSQL");
        }
        None => {
            // No ANALYZE here, as the portal runs none: its statistics would be read by every
            // request's fresh connection (with them, /user and the bounce lost a quarter).
            let db = rusqlite::Connection::open(portal.database_path()).unwrap();
            db.execute_batch(&format!(
                "BEGIN;
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
                 INSERT INTO users (id, email, password_hash, created_at, updated_at)
                 SELECT 'user_seed' || i, 'seed' || i || '@example.com', '', 0, 0 FROM n;
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
                 INSERT INTO portal_sessions (id, token_hash, user_id, created_at, last_active_at, expires_at)
                 SELECT 'sess_seed' || i, randomblob(32), 'user_seed' || i, 0, 0, {future} FROM n;
                 COMMIT;
                 PRAGMA wal_checkpoint(TRUNCATE);"
            ))
            .expect("seed SQLite");
        }
    }
    let users = portal.count("SELECT COUNT(*) FROM users");
    assert!(users > 1_000_000, "{users} users");
}

fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("the real-Spin benchmark needs wrk: `apt-get install wrk` (.ci/run installs it)");
        std::process::exit(1);
    }
    let seconds = env_number("BENCH_SECONDS", 10);
    let posts = env_number("BENCH_POSTS", 20) as usize;
    let hello = Portal::hello_world_on_spin();
    let table = Table {
        hello: hello.spin_addr().unwrap(),
    };
    let portal = Portal::production_on_spin(PRODUCTION, false);
    let addr = portal.spin_addr().unwrap();
    let cookie = signed_in(&portal, "ada@example.com");
    let sign_in_page = portal.get("/sign-in");
    let stylesheet = sign_in_page
        .body
        .split("href=\"")
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.starts_with("/assets/theme-"))
        .expect("the theme stylesheet's link")
        .to_owned();

    println!(
        "\nreal Spin ({}), wrk -t2 -c{} for {seconds} s each, SQLite",
        spin_version(),
        16
    );
    println!("\n{ROWS_HEADING}");
    table.row("`GET /healthz`", addr, "/healthz", None);
    table.row(
        "anonymous `GET /sign-in?redirect_url=%2Fdashboard`",
        addr,
        "/sign-in?redirect_url=%2Fdashboard",
        None,
    );
    table.row("anonymous `GET /sign-up`", addr, "/sign-up", None);
    // A language other than English: its text is inflated from the packed translation.
    table.row(
        "anonymous `GET /sign-in` in French (`portal_locale=fr`)",
        addr,
        "/sign-in?redirect_url=%2Fdashboard",
        Some("portal_locale=fr"),
    );
    table.row("`GET /assets/theme-….css`", addr, &stylesheet, None);
    table.row("signed-in `GET /user`", addr, "/user", Some(&cookie));
    table.row("`GET /.well-known/jwks.json`", addr, "/.well-known/jwks.json", None);
    table.row(
        "**the signed-in bounce** (302 + fresh `__session`)",
        addr,
        BOUNCE,
        Some(&cookie),
    );

    // One kept-alive connection, one request at a time: what a browser's page load waits for.
    println!("\none kept-alive connection (wrk -t1 -c1), median latency:\n");
    println!("| request | portal | hello-world |\n| --- | --- | --- |");
    let hello_alone = wrk(table.hello, "/", None, 1, 1);
    for (name, path, cookie) in [
        ("anonymous `GET /sign-in`", "/sign-in?redirect_url=%2Fdashboard", None),
        ("signed-in `GET /user`", "/user", Some(cookie.as_str())),
        ("the signed-in bounce", BOUNCE, Some(cookie.as_str())),
    ] {
        let alone = wrk(addr, path, cookie, 1, 1);
        println!(
            "| {name} | {:.2} ms | {:.2} ms |",
            alone.median_ms, hello_alone.median_ms
        );
    }

    let stored = account_portal::security::password::hash_password(PASSWORD).expect("hash");
    let native = median_time(10, || {
        assert!(account_portal::security::password::verify_password(
            PASSWORD,
            Some(&stored)
        ));
    });
    let reference = libargon2_verify_time(&stored);
    let sign_in = sign_in_post(&portal, "ada@example.com", posts);
    let sign_up = sign_up_post(&portal, "plain", posts);
    let breach_checking = Portal::production_on_spin(
        &[
            ("password_checks_per_minute", "1000"),
            ("password_breach_check", "block"),
            ("password_breach_api_origin", &range_server()),
        ],
        false,
    );
    let sign_up_checked = sign_up_post(&breach_checking, "checked", posts);
    println!("\nposts, one after another, median of {posts}:\n");
    let reference_heading = reference.map_or_else(
        || "libargon2 (not installed)".to_owned(),
        |time| format!("libargon2's verify ({:.1} ms)", ms(time)),
    );
    println!(
        "| request | median | against a native Argon2id verify, the `argon2` crate ({:.1} ms) | against {reference_heading} |\n| --- | --- | --- | --- |",
        ms(native)
    );
    let post_row = |name: &str, time: Duration| {
        println!(
            "| {name} | {:.1} ms | {:.2}× | {} |",
            ms(time),
            time.as_secs_f64() / native.as_secs_f64(),
            reference.map_or_else(
                || "–".to_owned(),
                |reference| format!("{:.2}×", time.as_secs_f64() / reference.as_secs_f64())
            )
        );
    };
    post_row("`POST /sign-in`, right password", sign_in);
    post_row("`POST /sign-up` (breach check off)", sign_up);
    post_row(
        "`POST /sign-up` with the breach check (one outbound request, local range server)",
        sign_up_checked,
    );
    drop(breach_checking);

    println!("\nPostgreSQL (the tests' own server), one Spin process:\n");
    println!("{ROWS_HEADING}");
    let on_postgres = Portal::production_on_spin(PRODUCTION, true);
    let pg_addr = on_postgres.spin_addr().unwrap();
    let pg_cookie = signed_in(&on_postgres, "ada@example.com");
    table.row("signed-in `GET /user`", pg_addr, "/user", Some(&pg_cookie));
    let one = table.row("**the signed-in bounce**", pg_addr, BOUNCE, Some(&pg_cookie));
    let url = on_postgres.postgres_url().unwrap().to_owned();
    let host = support::postgres_server::server().host();
    let mut shared = PRODUCTION.to_vec();
    shared.extend([("database_url", url.as_str()), ("database_host", host.as_str())]);
    let second = Portal::production_on_spin(&shared, true);
    let second_addr = second.spin_addr().unwrap();
    let (first_load, second_load) = std::thread::scope(|scope| {
        let first = scope.spawn(|| wrk(pg_addr, BOUNCE, Some(&pg_cookie), 1, 8));
        let other = scope.spawn(|| wrk(second_addr, BOUNCE, Some(&pg_cookie), 1, 8));
        (first.join().unwrap(), other.join().unwrap())
    });
    let two = first_load.per_second + second_load.per_second;
    println!(
        "\ntwo Spin processes on one PostgreSQL, the bounce, wrk -t1 -c8 on each at once: {two:.0} req/s \
         ({:.0} + {:.0}; {:.2}× one process)",
        first_load.per_second,
        second_load.per_second,
        two / one
    );
    drop(second);

    // What the host itself charges, with a probe component that answers as the portal does.
    let empty = Portal::probe_on_spin(None);
    let stock = Portal::stock_probe_on_spin();
    let portal_store = Portal::probe_on_spin(Some(&portal.database_path()));
    // As many schema entries as the portal's, each a table of one column: whether the cost is
    // the number of entries or what they declare.
    let entries: i64 = rusqlite::Connection::open(portal.database_path())
        .and_then(|store| store.query_row("SELECT COUNT(*) FROM sqlite_master", [], |row| row.get(0)))
        .expect("count the portal's schema entries");
    let small_tables_path = std::env::temp_dir().join(format!("real-spin-small-tables-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&small_tables_path);
    {
        let store = rusqlite::Connection::open(&small_tables_path).expect("a scratch store");
        for table in 0..entries {
            store
                .execute(&format!("CREATE TABLE t{table} (a)"), [])
                .expect("a one-column table");
        }
    }
    let small_tables = Portal::probe_on_spin(Some(&small_tables_path));
    let small_tables_row = format!("open a store of {entries} one-column tables, 1 statement");
    println!("\nwhat Spin charges a request (benches/probe, answering as the portal does):\n");
    println!("| request | req/s | Spin's CPU per request |\n| --- | --- | --- |");
    for (name, probe, path) in [
        ("nothing", &empty, "/variables/0"),
        ("nothing, built with Rust's default 1 MiB stack", &stock, "/variables/0"),
        ("10 variables", &empty, "/variables/10"),
        ("open an empty store, 1 statement", &empty, "/sqlite/1"),
        ("open an empty store, 2 statements", &empty, "/sqlite/2"),
        (
            "open the portal's store (its schema), 1 statement",
            &portal_store,
            "/sqlite/1",
        ),
        ("open the portal's store, 2 statements", &portal_store, "/sqlite/2"),
        (small_tables_row.as_str(), &small_tables, "/sqlite/1"),
    ] {
        let load = wrk(probe.spin_addr().unwrap(), path, None, 2, 16);
        println!("| {name} | {:.0} | {} |", load.per_second, microseconds(load.cpu_us));
    }
    // Argon2's 19 MiB of blocks lie above the 2 MiB Spin keeps resident between requests, so every
    // sign-in faults them in again: the probe times a write to each of their pages, twice.
    let (first, second): (Vec<Duration>, Vec<Duration>) = (0..11)
        .map(|_| {
            let answer = Browser::at(&empty, ORIGIN).get("/first-touch/19");
            let mut times = answer
                .body
                .split_whitespace()
                .map(|time| Duration::from_micros(time.parse().expect("microseconds")));
            (
                times.next().expect("the first pass"),
                times.next().expect("the second pass"),
            )
        })
        .unzip();
    println!(
        "\na byte written to each 4 KiB page of 19 MiB of fresh memory (Argon2's blocks), median of 11: \
         first pass {} µs, second pass {} µs",
        median(first).as_micros(),
        median(second).as_micros()
    );
    drop((empty, stock, portal_store, small_tables));
    let _ = std::fs::remove_file(&small_tables_path);

    let portal_start = start_up(|| Portal::production_on_spin(PRODUCTION, false), "/healthz");
    let hello_start = start_up(Portal::hello_world_on_spin, "/");
    println!(
        "\n`spin up` to the first answer (median of 3): portal {:.0} ms, hello-world {:.0} ms ({:.2}×)",
        ms(portal_start),
        ms(hello_start),
        portal_start.as_secs_f64() / hello_start.as_secs_f64()
    );

    if std::env::var_os("BENCH_SKIP_MILLION").is_some() {
        return;
    }
    for (store, portal, addr, cookie) in [
        ("SQLite", &portal, addr, &cookie),
        ("PostgreSQL", &on_postgres, pg_addr, &pg_cookie),
    ] {
        let before = sign_in_post(portal, "ada@example.com", posts);
        add_a_million(portal);
        println!("\n{store} with 1,000,000 more users and live sessions:\n");
        println!("{ROWS_HEADING}");
        table.row("signed-in `GET /user`", addr, "/user", Some(cookie));
        table.row("**the signed-in bounce**", addr, BOUNCE, Some(cookie));
        let after = sign_in_post(portal, "ada@example.com", posts);
        println!(
            "\n`POST /sign-in` median: {:.1} ms with ten users, {:.1} ms with a million",
            ms(before),
            ms(after)
        );
    }
}

/// The median of ten verifies of `stored` by libargon2, the reference C implementation (Debian's
/// `libargon2-1`, which `.ci/run` installs), loaded at run time; `None` where it is missing.
fn libargon2_verify_time(stored: &str) -> Option<Duration> {
    use std::ffi::{CString, c_char, c_int, c_void};
    unsafe extern "C" {
        fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    }
    const RTLD_NOW: c_int = 2;
    type Verify = unsafe extern "C" fn(encoded: *const c_char, pwd: *const c_void, pwdlen: usize) -> c_int;
    let library = CString::new("libargon2.so.1").unwrap();
    let name = CString::new("argon2id_verify").unwrap();
    // SAFETY: dlopen/dlsym with NUL-terminated names; the symbol, when found, is libargon2's
    // `int argon2id_verify(const char *encoded, const void *pwd, size_t pwdlen)`.
    let verify: Verify = unsafe {
        let handle = dlopen(library.as_ptr(), RTLD_NOW);
        if handle.is_null() {
            return None;
        }
        let symbol = dlsym(handle, name.as_ptr());
        if symbol.is_null() {
            return None;
        }
        std::mem::transmute::<*mut c_void, Verify>(symbol)
    };
    let encoded = CString::new(stored).unwrap();
    Some(median_time(10, || {
        // SAFETY: the encoded hash is NUL-terminated and the password a live byte slice.
        let result = unsafe { verify(encoded.as_ptr(), PASSWORD.as_ptr().cast(), PASSWORD.len()) };
        assert_eq!(result, 0, "libargon2 verifies the portal's own hash (ARGON2_OK)");
    }))
}

fn spin_version() -> String {
    Command::new(support::spin_cli::spin_binary())
        .arg("--version")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|_| "spin".into())
}
