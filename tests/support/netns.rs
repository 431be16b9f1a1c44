//! Another machine for the real-Spin tier: a network namespace of the test's own, joined to this
//! one by a veth pair (`10.231.<n>.1` here, `10.231.<n>.2` there), so a request reaches Spin from
//! an address that is not loopback, as one from the network would. Only these two addresses
//! are ever used; the namespace and its link are removed when dropped. Needs root and `ip`
//! (iproute2) and `curl` (Debian's; `.ci/run` installs them when missing).

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub struct OtherMachine {
    name: String,
    /// This machine's address on the link (where Spin is reached from the other machine).
    pub host_ip: String,
    /// The other machine's own address: the peer Spin sees.
    pub peer_ip: String,
}

fn ip(args: &[&str]) {
    let output = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run `ip` (iproute2; .ci/run installs it): {e}"));
    assert!(
        output.status.success(),
        "ip {}: {} (the real-Spin tier makes a network namespace of its own: run the tests as root)",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl OtherMachine {
    pub fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = (std::process::id() + NEXT.fetch_add(1, Ordering::Relaxed)) % 250 + 1;
        let name = format!("ap-test-{n}");
        let (outside, inside) = (format!("vap{n}a"), format!("vap{n}b"));
        let (host_ip, peer_ip) = (format!("10.231.{n}.1"), format!("10.231.{n}.2"));
        // A namespace left by an earlier run that was killed goes first.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let _ = Command::new("ip").args(["link", "del", &outside]).output();
        ip(&["netns", "add", &name]);
        let machine = Self { name, host_ip, peer_ip };
        ip(&["link", "add", &outside, "type", "veth", "peer", "name", &inside]);
        ip(&["link", "set", &inside, "netns", &machine.name]);
        ip(&["addr", "add", &format!("{}/30", machine.host_ip), "dev", &outside]);
        ip(&["link", "set", &outside, "up"]);
        let inside_ns = |args: &[&str]| {
            let mut all = vec!["netns", "exec", machine.name.as_str(), "ip"];
            all.extend_from_slice(args);
            ip(&all);
        };
        inside_ns(&["addr", "add", &format!("{}/30", machine.peer_ip), "dev", &inside]);
        inside_ns(&["link", "set", &inside, "up"]);
        inside_ns(&["link", "set", "lo", "up"]);
        machine
    }

    /// A GET from the other machine to `port` on this one, with `headers`; answers the status
    /// and body (a connection failure or timeout is a failed test).
    pub fn get(&self, port: u16, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let url = format!("http://{}:{port}{path}", self.host_ip);
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, "curl", "-sS", "--max-time"]);
        command.arg(Duration::from_secs(20).as_secs().to_string());
        for (name, value) in headers {
            command.arg("-H").arg(format!("{name}: {value}"));
        }
        command.args(["-w", "\n%{http_code}", &url]);
        let output = command.output().expect("run curl (Debian's curl; .ci/run installs it)");
        assert!(
            output.status.success(),
            "curl {url} from the other machine: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
        (status.trim().parse().unwrap_or(0), body.to_owned())
    }
}

impl Drop for OtherMachine {
    fn drop(&mut self) {
        // Removing the namespace removes the veth pair with it.
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}
