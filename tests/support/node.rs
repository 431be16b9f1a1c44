//! Starting the tests' Node.js servers (`tests/node/*.mjs`). Each prints `listening <port>` once
//! it serves (and may print other lines first); its stdout and stderr go to files beside
//! `scratch`, read until that line shows.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A started server: its process, its port, and what it printed up to then.
pub struct Started {
    pub child: Child,
    pub port: String,
    pub output: String,
}

/// Starts `node <script>` with `env` and waits for its `listening` line. A node that prints
/// nothing is started again: once in a few hundred runs on a loaded two-core machine a node sat
/// silent for the whole wait (exit None, empty output) while a start normally takes 0.3 s.
/// `name` names the server in failures.
pub fn start(name: &str, script: &str, env: &[(&str, OsString)], scratch: &Path) -> Started {
    let out = scratch.with_extension("out");
    let errors = scratch.with_extension("err");
    let mut attempts = 0;
    let started = loop {
        attempts += 1;
        let mut command = Command::new("node");
        command.arg(script).env_remove("PORT");
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&errors).unwrap())
            .spawn()
            .expect("start node (install Node.js and the tests' npm packages: .ci/run does)");
        let deadline = Instant::now() + Duration::from_secs(30);
        let started = loop {
            let output = std::fs::read_to_string(&out).unwrap_or_default();
            if let Some(port) = output.lines().find_map(|line| line.strip_prefix("listening ")) {
                let port = port.trim().to_owned();
                break Some((port, output));
            }
            let exited = child.try_wait().ok().flatten();
            if Instant::now() > deadline || exited.is_some() {
                let _ = child.kill();
                let status = child.wait().ok();
                let stderr = std::fs::read_to_string(&errors).unwrap_or_default();
                assert!(
                    attempts < 3,
                    "{name} did not start in {attempts} attempts (last exit: {status:?}): {output}{stderr}"
                );
                eprintln!("{name} did not start (exit: {status:?}), starting it again: {output}{stderr}");
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if let Some((port, output)) = started {
            break Started { child, port, output };
        }
    };
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&errors);
    started
}
