//! Page benchmark: the real release `.wasm` served through the test host, each hot page against
//! Spin's hello-world component (built with the same spin-sdk, on the same host, in the same run),
//! and the sign-in post against a native Argon2id verify with the same parameters.
//!
//! `cargo bench --bench pages` (set `BENCH_ITERATIONS` for more or fewer requests per page;
//! `BENCH_ONLY=bounce` times only the pages whose name contains it, and no post). To see where a
//! page's time goes: build an unstripped `.wasm` (`CARGO_PROFILE_RELEASE_STRIP=false
//! CARGO_TARGET_DIR=/tmp/unstripped cargo build --target wasm32-wasip1 --release`), then run this
//! benchmark's binary under `perf record -g` with `TEST_HOST_PERFMAP=1` and `TEST_HOST_WASM` set to
//! it (the README's performance section shows the commands).
//! These are single-request latencies on this machine, not a load test: the ratio to hello-world
//! is what carries over to a real Spin host, where each page also pays for the variables and
//! statements that `tests/portal/budgets.rs` counts.

// The tests may parse JSON from `&str` (clippy.toml keeps it out of the `.wasm`).
#![allow(clippy::disallowed_methods)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use support::{Browser, PASSWORD, Portal, request};

fn iterations() -> usize {
    std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(300)
}

/// The median time of `runs` calls of `once`, after a warm-up.
fn median(runs: usize, mut once: impl FnMut()) -> Duration {
    for _ in 0..runs.min(20) {
        once();
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            once();
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    times[times.len() / 2]
}

/// A request to time, with the name it is reported under.
type NamedRequest<'a> = (&'static str, Box<dyn Fn() + 'a>);

fn main() {
    let runs = iterations();
    let hello = Portal::hello_world();
    let hello_time = median(runs, || {
        hello.get("/").assert_status(200);
    });

    let portal = Portal::production(&[("password_checks_per_minute", "1000")]);
    let mut browser = Browser::at(&portal, "https://accounts.myapp.com");
    browser.sign_up("ada@example.com", PASSWORD).assert_status(302);
    let cookies = browser.cookie_header().unwrap_or_default();
    let signed_in = |path: &str| {
        request("GET", path)
            .header("cookie", cookies.as_str())
            .body(Bytes::new())
            .unwrap()
    };
    // An account with an authenticator app, stopped at the second step of a sign-in: the page
    // that asks for the code (the browser that proved the password, with its cookies).
    let mut bea = Browser::at(&portal, "https://accounts.myapp.com");
    bea.sign_up("bea@example.com", PASSWORD).assert_status(302);
    support::two_step::turn_on(&mut bea);
    let mut second = Browser::at(&portal, "https://accounts.myapp.com");
    let first = second.sign_in("bea@example.com", PASSWORD);
    first.assert_status(303);
    let second_step = first.location().to_owned();
    let second_cookies = second.cookie_header().unwrap_or_default();
    let pages: [NamedRequest<'_>; 8] = [
        (
            "GET /healthz (the floor of a portal request)",
            Box::new(|| {
                portal.get("/healthz").assert_status(200);
            }),
        ),
        (
            "GET /sign-in?redirect_url=%2Fdashboard (anonymous)",
            Box::new(|| {
                portal.get("/sign-in?redirect_url=%2Fdashboard").assert_status(200);
            }),
        ),
        (
            "GET /sign-in in French (portal_locale=fr)",
            Box::new(|| {
                let request = request("GET", "/sign-in?redirect_url=%2Fdashboard")
                    .header("cookie", "portal_locale=fr")
                    .body(Bytes::new())
                    .unwrap();
                portal.send(request).assert_status(200);
            }),
        ),
        (
            "GET /sign-up (anonymous)",
            Box::new(|| {
                portal.get("/sign-up").assert_status(200);
            }),
        ),
        (
            "GET /.well-known/jwks.json",
            Box::new(|| {
                portal.get("/.well-known/jwks.json").assert_status(200);
            }),
        ),
        (
            "GET /sign-in, signed in: the bounce back",
            Box::new(|| {
                let path = "/sign-in?redirect_url=https%3A%2F%2Fapp.myapp.com%2F";
                portal.send(signed_in(path)).assert_status(302);
            }),
        ),
        (
            "GET /user",
            Box::new(|| {
                portal.send(signed_in("/user")).assert_status(200);
            }),
        ),
        (
            "GET /sign-in/factor-two (the second step)",
            Box::new(|| {
                let request = request("GET", &second_step)
                    .header("cookie", second_cookies.as_str())
                    .body(Bytes::new())
                    .unwrap();
                portal.send(request).assert_status(200);
            }),
        ),
    ];
    println!("\npage benchmark: median of {runs} requests each, through the test host");
    println!("{:<52} {:>10} {:>10} {:>12}", "request", "µs", "req/s", "of hello");
    let row = |name: &str, time: Duration| {
        let share = hello_time.as_secs_f64() / time.as_secs_f64() * 100.0;
        println!(
            "{name:<52} {:>10.0} {:>10.0} {share:>11.0}%",
            time.as_secs_f64() * 1e6,
            1.0 / time.as_secs_f64()
        );
    };
    row("hello-world component (the ceiling)", hello_time);
    let only = std::env::var("BENCH_ONLY").ok();
    for (name, page) in &pages {
        if only.as_deref().is_none_or(|only| name.contains(only)) {
            row(name, median(runs, page));
        }
    }
    if only.is_some() {
        return;
    }

    // Argon2id: a native verify against the whole sign-in post in wasm (one verify, a session,
    // a token), the post's cost as the component pays it.
    let stored = account_portal::security::password::hash_password(PASSWORD).expect("hash");
    let verify_runs = 10;
    let native = median(verify_runs, || {
        assert!(account_portal::security::password::verify_password(
            PASSWORD,
            Some(&stored)
        ));
    });
    let mut signing_in = Browser::at(&portal, "https://accounts.myapp.com");
    let form = signing_in.get("/sign-in");
    let token = form.input_value("csrf_token").unwrap();
    let in_wasm = median(verify_runs, || {
        signing_in
            .post_form(
                "/sign-in",
                &[
                    ("csrf_token", &token),
                    ("identifier", "ada@example.com"),
                    ("password", PASSWORD),
                ],
            )
            .assert_status(302);
    });
    println!("\nArgon2id (m=19456 KiB, t=2, p=1): median of {verify_runs}");
    println!(
        "native verify                                  {:>8.1} ms",
        native.as_secs_f64() * 1e3
    );
    println!(
        "POST /sign-in in wasm (verify + session + token) {:>6.1} ms",
        in_wasm.as_secs_f64() * 1e3
    );
    println!(
        "ratio                                          {:>8.2}×",
        in_wasm.as_secs_f64() / native.as_secs_f64()
    );
}
