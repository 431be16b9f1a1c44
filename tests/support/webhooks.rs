//! A webhook receiver that verifies with the `standardwebhooks` package (npm, pinned by
//! `tests/node/package-lock.json`): `tests/node/webhook-receiver.mjs` on a free loopback port.
//! Each test starts its own; it logs every request it gets, and answers as the test sets.

use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

/// The secret portals and receivers share in the tests.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub struct Receiver {
    /// `http://127.0.0.1:<port>`: the portal's `webhook_origin`.
    pub origin: String,
    log_file: PathBuf,
    mode_file: PathBuf,
    child: Child,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log_file);
        let _ = std::fs::remove_file(&self.mode_file);
    }
}

impl Receiver {
    /// A receiver verifying with `secret`, answering `ok`.
    pub fn start(secret: &str) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/webhook-receiver.mjs");
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let base = std::env::temp_dir().join(format!(
            "portal-webhooks-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let log_file = base.with_extension("log");
        let mode_file = base.with_extension("mode");
        std::fs::write(&log_file, "").unwrap();
        std::fs::write(&mode_file, "ok").unwrap();
        let started = super::node::start(
            "the webhook receiver",
            script,
            &[
                ("SECRET", secret.into()),
                ("LOG_FILE", log_file.clone().into()),
                ("MODE_FILE", mode_file.clone().into()),
            ],
            &base,
        );
        let (child, port) = (started.child, started.port);
        Self {
            origin: format!("http://127.0.0.1:{port}"),
            log_file,
            mode_file,
            child,
        }
    }

    /// The portal variables that send webhooks here, signed with `secret`.
    pub fn portal_variables(&self, secret: &str) -> Vec<(String, String)> {
        vec![
            ("webhook_url".into(), format!("{}/webhooks/portal", self.origin)),
            ("webhook_origin".into(), self.origin.clone()),
            ("webhook_secret".into(), secret.into()),
        ]
    }

    /// How it answers from now on: `ok`, `fail` (500) or `hang` (never).
    pub fn set_mode(&self, mode: &str) {
        std::fs::write(&self.mode_file, mode).unwrap();
    }

    /// Every request so far, in arrival order.
    pub fn entries(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log_file)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The types of the deliveries it accepted (verified and answered 204), in order.
    pub fn accepted_types(&self) -> Vec<String> {
        self.entries()
            .iter()
            .filter(|entry| entry["status"] == 204)
            .map(|entry| entry["type"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Waits (at most 20 s) until it has had `count` requests; answers them all.
    pub fn wait_for(&self, count: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let entries = self.entries();
            if entries.len() >= count || Instant::now() > deadline {
                return entries;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
