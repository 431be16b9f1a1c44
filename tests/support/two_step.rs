//! Two-step verification steps the tests and the benchmark share: codes from Debian's
//! `oathtool` (a generator this project does not contain) and turning it on through the pages.

use std::process::Command;

use super::{Browser, TestResponse};

/// The TOTP code `oathtool` computes for `secret` (base32) at now + `offset` seconds.
pub fn oathtool(secret: &str, offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let output = Command::new("oathtool")
        .args(["--totp", "-b", secret, "--now", &format!("@{}", now + offset)])
        .output()
        .expect("run oathtool (Debian's oathtool package; .ci/run installs it)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The key of the `otpauth://` link on a setup page.
pub fn key_on(page: &TestResponse) -> String {
    let start = page.body.find("secret=").expect("the otpauth link") + "secret=".len();
    page.body[start..].split(['&', '"']).next().unwrap().to_owned()
}

/// The backup codes a page shows.
pub fn codes_on(page: &TestResponse) -> Vec<String> {
    let list = &page.body[page.body.find("backup-codes").expect("the codes list")..];
    let list = &list[..list.find("</ul>").unwrap()];
    list.split("<li>")
        .skip(1)
        .map(|item| item.split('<').next().unwrap().to_owned())
        .collect()
}

/// Turns on two-step verification for the signed-in `browser` through the pages: its key and
/// backup codes.
pub fn turn_on(browser: &mut Browser<'_>) -> (String, Vec<String>) {
    let started = browser.submit("/user", "/user/two-step", &[]);
    started.assert_status(303);
    assert_eq!(started.location(), "/user/two-step");
    let setup = browser.get("/user/two-step");
    setup.assert_status(200);
    assert!(
        setup.body.contains("role=\"img\"") && setup.body.contains("<svg"),
        "a QR code drawn on the server, inline"
    );
    let key = key_on(&setup);
    assert_eq!(key.len(), 32, "160 bits in base32");
    let done = browser.submit(
        "/user/two-step",
        "/user/two-step/confirm",
        &[("code", &oathtool(&key, 0))],
    );
    done.assert_status(200);
    let codes = codes_on(&done);
    assert_eq!(codes.len(), 10);
    (key, codes)
}
