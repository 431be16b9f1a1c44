//! The real-browser tier: the portal on a real TCP port, in Debian's Chromium through
//! ChromeDriver. Every page state is audited with axe-core in light and dark mode at desktop and
//! phone sizes; sign-up and sign-in are completed by keyboard alone; the main journeys run with
//! JavaScript off.

use serde_json::{Value, json};

use crate::support::webdriver::{Driver, Session};
use crate::support::{Browser, PASSWORD, Portal};

/// axe-core, installed from the lockfile in `tests/node` (`npm ci --prefix tests/node`,
/// which .ci/run does).
fn axe_source() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/node/node_modules/axe-core/axe.min.js"
    );
    std::fs::read_to_string(path).unwrap_or_else(|_| {
        panic!("{path} is missing: install the browser tests' npm packages with `npm ci --prefix tests/node` (.ci/run does)")
    })
}

const SIZES: [(u32, u32, &str); 2] = [(1280, 800, "desktop"), (390, 844, "phone")];
const SCHEMES: [&str; 2] = ["light", "dark"];

/// Every axe violation and duplicate id of the page `session` shows, in every colour scheme and
/// size, as readable lines.
fn audit(session: &Session<'_>, axe: &str, state: &str) -> Vec<String> {
    eprintln!("auditing {state}: {}", session.url());
    let mut problems = Vec::new();
    for (width, height, size) in SIZES {
        session.resize(width, height);
        for scheme in SCHEMES {
            session.color_scheme(scheme);
            if session.script("return typeof axe", json!([])) != json!("object") {
                session.script(axe, json!([]));
            }
            let result = session.async_script(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations.map(v => ({ id: v.id, nodes: v.nodes.map(n => n.target.join(' ')) }))))
                    .catch(e => done([{ id: 'axe-error', nodes: [String(e)] }]));",
                json!([]),
            );
            for violation in result.as_array().cloned().unwrap_or_default() {
                problems.push(format!(
                    "{state} [{size}, {scheme}] {}: {}",
                    violation["id"], violation["nodes"]
                ));
            }
            let duplicates = session.script(
                "const seen = {}; const twice = [];
                 document.querySelectorAll('[id]').forEach(e => { if (seen[e.id]) twice.push(e.id); seen[e.id] = true; });
                 return twice;",
                json!([]),
            );
            if duplicates.as_array().is_some_and(|ids| !ids.is_empty()) {
                problems.push(format!("{state} [{size}, {scheme}] duplicate ids: {duplicates}"));
            }
            let overflow = session.script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                json!([]),
            );
            if overflow.as_i64().is_some_and(|pixels| pixels > 0) {
                problems.push(format!("{state} [{size}, {scheme}] scrolls sideways by {overflow}px"));
            }
        }
    }
    session.resize(1280, 800);
    session.color_scheme("light");
    problems
}

/// Submits the form `action` on the current page with `fields`, as a person would.
fn submit(session: &Session<'_>, action: &str, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        session.fill(&format!("form[action^='{action}'] [name='{name}']"), value);
    }
    session.navigating(|| session.click(&format!("form[action^='{action}'] button[type='submit']:not([name])")));
}

/// Audits page states of one session and gathers every problem.
struct Audit<'s, 'd> {
    session: &'s Session<'d>,
    base: String,
    axe: String,
    problems: Vec<String>,
}

impl<'s, 'd> Audit<'s, 'd> {
    fn new(session: &'s Session<'d>, base: &str) -> Self {
        Self {
            session,
            base: base.to_owned(),
            axe: axe_source(),
            problems: Vec::new(),
        }
    }

    /// Audits `path` (or the current page when `None`) as `state`.
    fn check(&mut self, path: Option<&str>, state: &str) {
        if let Some(path) = path {
            self.session.goto(&format!("{}{path}", self.base));
        }
        self.problems.extend(audit(self.session, &self.axe, state));
    }

    fn assert_clean(self) {
        assert!(
            self.problems.is_empty(),
            "{} accessibility problems:\n{}",
            self.problems.len(),
            self.problems.join("\n")
        );
    }
}

#[test]
fn every_page_state_passes_axe_in_light_and_dark_at_desktop_and_phone_sizes() {
    let portal = Portal::new();
    let base = format!("http://{}", portal.serve());
    // Bea belongs to Ada's organization; the browser below is Ada.
    let mut bea = Browser::signed_up(&portal, "bea@example.com");
    let driver = Driver::start();
    let session = driver.session(true);
    let mut auditor = Audit::new(&session, &base);
    let mut check = |path: Option<&str>, state: &str| auditor.check(path, state);

    check(Some("/sign-in"), "sign-in");
    check(Some("/sign-up"), "sign-up");
    check(Some("/sign-up?ui_locales=pt-BR"), "sign-up in Brazilian Portuguese");
    check(Some("/sign-in?ui_locales=en"), "sign-in");
    check(Some("/unauthorized-sign-in"), "unauthorized sign-in");
    check(Some("/nope"), "404");
    session.goto(&format!("{base}/sign-in"));
    submit(
        &session,
        "/sign-in",
        &[("identifier", "ada@example.com"), ("password", "wrong")],
    );
    check(None, "sign-in, wrong password");
    session.goto(&format!("{base}/sign-up"));
    submit(
        &session,
        "/sign-up",
        &[("email_address", "not an email"), ("password", "short")],
    );
    check(None, "sign-up, field errors");
    submit(
        &session,
        "/sign-up",
        &[("email_address", "ada@example.com"), ("password", PASSWORD)],
    );
    check(Some("/user"), "user");
    submit(
        &session,
        "/user/password",
        &[("current_password", "wrong"), ("new_password", "x")],
    );
    check(None, "user, failed password change");
    check(Some("/create-organization"), "create organization");
    submit(&session, "/create-organization", &[("name", "Acme"), ("slug", "acme")]);
    check(Some("/organization"), "organization");
    submit(
        &session,
        "/organization/invitations",
        &[("email_address", "bea@example.com")],
    );
    let link: Value = session.script("return document.querySelector('input[readonly]').value", json!([]));
    check(None, "invitation created");
    let link = link.as_str().unwrap().to_owned();
    let path = &link[link.find("/organization").unwrap()..];
    bea.get(path);
    check(Some("/organization"), "organization with a pending invitation");
    submit(&session, "/organization/general", &[("name", ""), ("slug", "x")]);
    check(None, "organization, field errors");
    check(Some("/organization?switch=acme"), "switch organization");
    check(Some(path), "invitation for another email");
    check(Some("/user?ui_locales=ja"), "user in Japanese");
    check(Some("/organization?ui_locales=de"), "organization in German");
    check(Some("/sign-out?ui_locales=en"), "sign-out");
    auditor.assert_clean();
}

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// Presses Tab until the element with `id` has the focus (at most 30 times), as a keyboard
/// user moves through a page.
fn tab_to(session: &Session<'_>, id: &str) {
    for _ in 0..30 {
        if session.focused() == id {
            return;
        }
        session.keys(TAB);
    }
    panic!("Tab never reached #{id}; focus is on {:?}", session.focused());
}

#[test]
fn sign_up_and_sign_in_work_by_keyboard_alone() {
    let portal = Portal::new();
    let base = format!("http://{}", portal.serve());
    let driver = Driver::start();
    let session = driver.session(true);
    session.goto(&format!("{base}/sign-up"));
    tab_to(&session, "field-email_address");
    session.keys("ada@example.com");
    tab_to(&session, "field-password");
    session.keys(PASSWORD);
    session.navigating(|| session.keys(ENTER));
    assert!(session.url().ends_with("/user"), "{}", session.url());
    assert!(session.source().contains("ada@example.com"));

    let session = driver.session(true);
    session.goto(&format!("{base}/sign-in"));
    tab_to(&session, "field-identifier");
    session.keys("ada@example.com");
    tab_to(&session, "field-password");
    session.keys("wrong password");
    session.navigating(|| session.keys(ENTER));
    assert!(session.title().starts_with("Error:"), "{}", session.title());
    assert_eq!(session.focused(), "DIV", "the error summary takes the focus");
    tab_to(&session, "field-password");
    session.keys(PASSWORD);
    session.navigating(|| session.keys(ENTER));
    assert!(session.url().ends_with("/user"), "{}", session.url());
}

#[test]
fn the_main_journeys_work_with_javascript_off() {
    let portal = Portal::new();
    let base = format!("http://{}", portal.serve());
    let driver = Driver::start();
    let session = driver.session(false);
    let page = |path: &str| session.goto(&format!("{base}{path}"));
    page("/sign-up?redirect_url=%2Fuser");
    submit(
        &session,
        "/sign-up",
        &[
            ("email_address", "ada@example.com"),
            ("password", PASSWORD),
            ("first_name", "Ada"),
        ],
    );
    assert!(session.url().ends_with("/user"), "{}", session.url());
    submit(
        &session,
        "/user/profile",
        &[("first_name", "Ada"), ("last_name", "Lovelace")],
    );
    assert!(session.source().contains("Lovelace"));
    submit(
        &session,
        "/user/password",
        &[("current_password", "wrong"), ("new_password", "another long one")],
    );
    assert!(
        session.url().ends_with("/user/password"),
        "the failed post, no fragment carried: {}",
        session.url()
    );
    page("/create-organization");
    submit(&session, "/create-organization", &[("name", "Acme"), ("slug", "acme")]);
    page("/organization");
    assert!(session.source().contains("Acme"));
    page("/sign-out");
    submit(&session, "/sign-out", &[]);
    page("/user");
    assert!(session.url().contains("/sign-in"), "signed out: {}", session.url());
    submit(
        &session,
        "/sign-in",
        &[("identifier", "ada@example.com"), ("password", PASSWORD)],
    );
    assert!(session.url().ends_with("/user"), "{}", session.url());
}

#[test]
fn the_script_enhances_forms_and_sign_up_fits_a_phone_screen() {
    let portal = Portal::new();
    let base = format!("http://{}", portal.serve());
    let driver = Driver::start();
    let session = driver.session(true);
    session.emulate_phone(390, 844);
    session.goto(&format!("{base}/sign-up"));
    let bottom = session.script(
        "return document.querySelector(\"form[action^='/sign-up'] button[type=submit]\").getBoundingClientRect().bottom;",
        json!([]),
    );
    let height = session.script("return window.innerHeight;", json!([]));
    assert!(
        bottom.as_f64().unwrap() <= height.as_f64().unwrap(),
        "the sign-up button is below the fold on a phone: {bottom} > {height}"
    );
    session.fill("#field-password", "secret words");
    session.click("button.reveal");
    assert_eq!(
        session.script("return document.getElementById('field-password').type", json!([])),
        "text"
    );
    session.click("button.reveal");
    assert_eq!(
        session.script("return document.getElementById('field-password').type", json!([])),
        "password"
    );
}

/// A portal with the email features on (verified sign-up, code sign-in, development outbox).
fn email_portal() -> Portal {
    Portal::with_vars(&[("email_verification", "required"), ("sign_in_with_email_code", "true")])
}

#[test]
fn the_email_pages_pass_axe_in_light_and_dark_at_desktop_and_phone_sizes() {
    let portal = email_portal();
    let base = format!("http://{}", portal.serve());
    let driver = Driver::start();
    let session = driver.session(true);
    let mut auditor = Audit::new(&session, &base);
    let mut check = |path: Option<&str>, state: &str| auditor.check(path, state);
    check(Some("/sign-in"), "sign-in with the email-code button");
    check(Some("/forgot-password"), "forgot password");
    check(Some("/verify?flow=flow_unknown"), "a dead code page");
    check(
        Some("/unauthorized-sign-in?token=not-a-token"),
        "a used \"this wasn't me\" link",
    );
    session.goto(&format!("{base}/sign-up"));
    submit(
        &session,
        "/sign-up",
        &[("email_address", "ada@example.com"), ("password", PASSWORD)],
    );
    check(None, "the code page");
    submit(&session, "/verify", &[("code", "000000")]);
    check(None, "the code page, wrong code");
    let code = portal.newest_outbox_code().unwrap();
    submit(&session, "/verify", &[("code", &code)]);
    check(Some("/user"), "user with a verified address");
    check(Some("/dev/outbox"), "the development outbox");
    session.goto(&format!("{base}/sign-out"));
    submit(&session, "/sign-out", &[]);
    session.goto(&format!("{base}/forgot-password"));
    submit(&session, "/forgot-password", &[("email_address", "ada@example.com")]);
    check(None, "the reset code page (code and new password)");
    check(Some("/verify?flow=x&ui_locales=ja"), "a dead code page in Japanese");
    auditor.assert_clean();
}

#[test]
fn sign_up_reset_and_code_sign_in_work_with_javascript_off() {
    let portal = email_portal();
    let base = format!("http://{}", portal.serve());
    let driver = Driver::start();
    let session = driver.session(false);
    let page = |path: &str| session.goto(&format!("{base}{path}"));
    page("/sign-up?redirect_url=%2Fuser");
    submit(
        &session,
        "/sign-up",
        &[("email_address", "ada@example.com"), ("password", PASSWORD)],
    );
    assert!(session.url().contains("/verify?flow="), "{}", session.url());
    let code = portal.newest_outbox_code().unwrap();
    submit(&session, "/verify", &[("code", &code)]);
    assert!(session.url().ends_with("/user"), "signed up: {}", session.url());
    page("/sign-out");
    submit(&session, "/sign-out", &[]);

    page("/sign-in");
    session.navigating(|| session.click("a[href^='/forgot-password']"));
    submit(&session, "/forgot-password", &[("email_address", "ada@example.com")]);
    let code = portal.newest_outbox_code().unwrap();
    submit(
        &session,
        "/verify",
        &[("code", &code), ("password", "a brand new passphrase")],
    );
    assert!(
        session.url().contains("/user"),
        "reset and signed in: {}",
        session.url()
    );
    assert!(session.source().contains("Your password was changed"));
    page("/sign-out");
    submit(&session, "/sign-out", &[]);

    page("/sign-in");
    session.fill("form[action^='/sign-in'] [name='identifier']", "ada@example.com");
    session.navigating(|| session.click("button[formaction^='/sign-in/code']"));
    assert!(session.url().contains("/verify?flow="), "{}", session.url());
    let code = portal.newest_outbox_code().unwrap();
    submit(&session, "/verify", &[("code", &code)]);
    assert!(session.url().ends_with("/user"), "signed in by code: {}", session.url());
}

/// The key of the `otpauth://` link on the page `session` shows.
fn key_on_page(session: &Session<'_>) -> String {
    let source = session.source();
    let start = source.find("secret=").expect("the otpauth link") + "secret=".len();
    source[start..].split(['&', '"']).next().unwrap().to_owned()
}

#[test]
fn two_step_pages_pass_axe_work_by_keyboard_and_step_up_carries_out_the_change_without_javascript() {
    use crate::support::two_step::oathtool;
    let portal = Portal::new();
    let base = format!("http://{}", portal.serve());
    let driver = Driver::start();
    let session = driver.session(true);
    let mut auditor = Audit::new(&session, &base);
    session.goto(&format!("{base}/sign-up"));
    submit(
        &session,
        "/sign-up",
        &[("email_address", "ada@example.com"), ("password", PASSWORD)],
    );
    auditor.check(Some("/user"), "user, two-step off");
    submit(&session, "/user/two-step", &[]);
    assert!(session.url().ends_with("/user/two-step"), "{}", session.url());
    auditor.check(None, "two-step setup");
    let key = key_on_page(&session);
    submit(&session, "/user/two-step/confirm", &[("code", "000000")]);
    if oathtool(&key, 0) != "000000" {
        auditor.check(None, "two-step setup, wrong code");
    }
    submit(&session, "/user/two-step/confirm", &[("code", &oathtool(&key, 0))]);
    let source = session.source();
    let codes = &source[source.find("backup-codes").expect("the backup codes")..];
    let backup_code = codes
        .split("<li>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    auditor.check(None, "backup codes");
    auditor.check(Some("/user?notice=two_step_on"), "user, two-step on");
    session.goto(&format!("{base}/create-organization"));
    submit(&session, "/create-organization", &[("name", "Acme"), ("slug", "acme")]);
    auditor.check(Some("/organization"), "organization with its two-step setting");
    // Ten minutes later, a sensitive change asks for a fresh code first.
    portal.execute("UPDATE portal_sessions SET first_factor_at = 0, second_factor_at = 0");
    session.goto(&format!("{base}/user"));
    submit(&session, "/user/two-step/backup-codes", &[]);
    auditor.check(None, "step-up");

    // Another browser, without JavaScript: the second step, its error, the backup-code form,
    // then a step-up after which the browser posts the change again by itself (307).
    let plain = driver.session(false);
    plain.goto(&format!("{base}/sign-in?redirect_url=%2Fuser"));
    submit(
        &plain,
        "/sign-in",
        &[("identifier", "ada@example.com"), ("password", PASSWORD)],
    );
    assert!(plain.url().contains("/sign-in/factor-two?flow="), "{}", plain.url());
    let second_step = plain.url();
    submit(&plain, "/sign-in/factor-two", &[("code", "000000")]);
    // By keyboard alone: Tab to the code, type it, Enter.
    tab_to(&plain, "field-code");
    plain.keys(&oathtool(&key, 30));
    plain.navigating(|| plain.keys(ENTER));
    assert!(plain.url().ends_with("/user"), "{}", plain.url());
    for (path, state) in [
        (second_step[base.len()..].to_owned(), "second step (used)"),
        (
            format!("{}&method=backup", &second_step[base.len()..]),
            "second step, backup code",
        ),
    ] {
        auditor.check(Some(&path), state);
    }
    portal.execute("UPDATE portal_sessions SET first_factor_at = 0, second_factor_at = 0");
    plain.goto(&format!("{base}/user"));
    submit(&plain, "/user/two-step/disable", &[]);
    assert!(plain.source().contains("step_up_code"), "the step-up page");
    // Both steps of this half-minute were used (setting up, signing in): a backup code.
    submit(&plain, "/user/verify", &[("step_up_code", &backup_code)]);
    assert!(plain.url().ends_with("/user?notice=two_step_off"), "{}", plain.url());
    assert!(plain.source().contains("Two-step verification is off."));
    assert_eq!(portal.count("SELECT COUNT(*) FROM totp_factors"), 0);
    auditor.assert_clean();
}

#[test]
fn the_code_page_focuses_its_numeric_input_and_counts_the_resend_wait_down_on_a_phone() {
    let portal = Portal::with_vars(&[("email_verification", "required")]);
    let base = format!("http://{}", portal.serve());
    let driver = Driver::start();
    let session = driver.session(true);
    session.emulate_phone(390, 844);
    session.goto(&format!("{base}/sign-up"));
    submit(
        &session,
        "/sign-up",
        &[("email_address", "sam@example.com"), ("password", PASSWORD)],
    );
    assert!(session.url().contains("/verify?flow="), "{}", session.url());
    assert_eq!(
        session.focused(),
        "field-code",
        "the code input has the focus on arrival"
    );
    let inputmode = session.script("return document.getElementById('field-code').inputMode", json!([]));
    assert_eq!(inputmode, json!("numeric"));
    let button = session.script(
        "const b = document.querySelector('button[data-wait]'); return [b.disabled, b.textContent];",
        json!([]),
    );
    assert_eq!(button[0], json!(true), "the resend button waits");
    assert!(
        button[1].as_str().unwrap().contains(" s)"),
        "and says how long: {button}"
    );
}

/// Whether the element `css` matches lies within the window (the person sees it).
fn in_view(session: &Session<'_>, css: &str) -> bool {
    session.script(
        "const e = document.querySelector(arguments[0]); if (!e) return false;
         const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight;",
        json!([css]),
    ) == json!(true)
}

#[test]
fn every_post_lands_where_the_person_looks() {
    let portal = Portal::new();
    let base = format!("http://{}", portal.serve());
    let driver = Driver::start();
    let session = driver.session(true);
    session.goto(&format!("{base}/sign-up"));
    submit(
        &session,
        "/sign-up",
        &[("email_address", "ada@example.com"), ("password", PASSWORD)],
    );
    session.goto(&format!("{base}/user"));
    // A failed post deep in the page: the focus is on its error summary, in view.
    submit(
        &session,
        "/user/password",
        &[("current_password", "wrong"), ("new_password", "x")],
    );
    assert_eq!(session.focused(), "DIV", "the error summary has the focus");
    assert!(in_view(&session, "[role=alert]"), "and is in view");
    // A saved section: the confirmation is in view.
    session.goto(&format!("{base}/user"));
    submit(&session, "/user/phone", &[("phone_number", "+14155550123")]);
    assert!(session.url().contains("/user?notice="), "{}", session.url());
    assert!(
        !session.url().contains('#'),
        "no fragment carried over: {}",
        session.url()
    );
    assert!(in_view(&session, "#notice"), "the notice is in view");
    // Deleting an organization lands on the notice, not on the account's delete form.
    session.goto(&format!("{base}/create-organization"));
    submit(&session, "/create-organization", &[("name", "Acme"), ("slug", "acme")]);
    session.goto(&format!("{base}/organization"));
    submit(&session, "/organization/delete", &[("confirmation", "acme")]);
    assert!(!session.url().contains("#delete"), "{}", session.url());
    assert!(in_view(&session, "#notice"), "the notice is in view after deleting");
}

/// Submits the form whose action is exactly `action` and counts the click.
fn post_form(session: &Session<'_>, clicks: &mut u32, action: &str, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        session.fill(&format!("form[action='{action}'] [name='{name}']"), value);
    }
    session.navigating(|| session.click(&format!("form[action='{action}'] button[type='submit']:not([name])")));
    *clicks += 1;
}

/// A page, the action of one of its forms, and what to type.
type SectionPost<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// Signs ada@example.com up in `session` and creates the organization Acme (`acme`).
fn sign_up_with_organization(session: &Session<'_>, base: &str) {
    session.goto(&format!("{base}/sign-up"));
    submit(
        session,
        "/sign-up",
        &[("email_address", "ada@example.com"), ("password", PASSWORD)],
    );
    session.goto(&format!("{base}/create-organization"));
    submit(session, "/create-organization", &[("name", "Acme"), ("slug", "acme")]);
}

#[test]
fn every_section_post_shows_its_notice_or_focuses_its_error_summary_in_view() {
    let portal = Portal::new();
    let base = format!("http://{}", portal.serve());
    let driver = Driver::start();
    let session = driver.session(true);
    sign_up_with_organization(&session, &base);
    let mut clicks = 0;
    let saved: &[SectionPost<'_>] = &[
        (
            "/user",
            "/user/profile",
            &[("first_name", "Ada"), ("last_name", "Lovelace")],
        ),
        ("/user", "/user/phone", &[("phone_number", "+14155550123")]),
        (
            "/user",
            "/user/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "another long passphrase 42"),
            ],
        ),
        ("/organization", "/organization/general", &[("name", "Acme Labs")]),
    ];
    for (page, action, fields) in saved {
        session.goto(&format!("{base}{page}"));
        post_form(&session, &mut clicks, action, fields);
        let url = session.url();
        assert!(url.contains("notice="), "{action} saved: {url}");
        assert!(!url.contains('#'), "{action}: no fragment carried over: {url}");
        assert!(in_view(&session, "#notice"), "{action}: the notice is in view");
    }
    let failed: &[SectionPost<'_>] = &[
        ("/user", "/user/phone", &[("phone_number", "not a number")]),
        (
            "/user",
            "/user/password",
            &[("current_password", "wrong"), ("new_password", "x")],
        ),
        ("/organization", "/organization/general", &[("slug", "!!")]),
        (
            "/organization",
            "/organization/invitations",
            &[("email_address", "nobody")],
        ),
        (
            "/organization",
            "/organization/delete",
            &[("confirmation", "not the slug")],
        ),
    ];
    for (page, action, fields) in failed {
        session.goto(&format!("{base}{page}"));
        post_form(&session, &mut clicks, action, fields);
        assert_eq!(session.focused(), "DIV", "{action}: the error summary has the focus");
        assert!(in_view(&session, "[role=alert]"), "{action}: and is in view");
    }
    assert_eq!(clicks, (saved.len() + failed.len()) as u32);
}

#[test]
fn a_new_invitee_joins_in_one_click_from_the_emailed_link() {
    let portal = Portal::new();
    let base = format!("http://{}", portal.serve());
    let driver = Driver::start();
    let admin = driver.session(true);
    sign_up_with_organization(&admin, &base);
    admin.goto(&format!("{base}/organization"));
    let mut admin_clicks = 0;
    post_form(
        &admin,
        &mut admin_clicks,
        "/organization/invitations",
        &[("email_address", "bea@example.com")],
    );
    assert!(
        admin.url().ends_with("/organization/invitations/created"),
        "{}",
        admin.url()
    );
    let shown = admin.script("return document.getElementById('invitation-link').value", json!([]));
    let shown = shown.as_str().unwrap().to_owned();
    let text = portal
        .text("SELECT text_body FROM dev_outbox WHERE recipient = 'bea@example.com'")
        .unwrap();
    let emailed = crate::support::link_in(&text, "/organization/invitation?");
    assert!(
        emailed.starts_with(&shown[shown.find("/organization").unwrap()..]) && emailed.contains("&proof="),
        "Bea's link is the admin's plus the mailbox proof: {emailed}"
    );

    // Bea, in a browser of her own that never saw the portal, opens the emailed link (her one
    // mailbox trip) on a phone.
    let bea = driver.session(true);
    bea.emulate_phone(390, 844);
    bea.goto(&format!("{base}{emailed}"));
    let page = bea.source();
    assert!(
        page.contains("Acme") && page.contains("bea@example.com"),
        "says who and what"
    );
    let mut auditor = Audit::new(&bea, &base);
    auditor.check(None, "invitation, signed out, phone");
    // A mistake on the way keeps her on the invitation, the error summary focused.
    post_form(&bea, &mut 0, "/organization/invitation/join", &[("password", "short")]);
    assert_eq!(bea.focused(), "DIV", "the error summary has the focus");
    auditor.check(None, "invitation join failed, phone");
    auditor.assert_clean();
    bea.emulate_phone(390, 844);
    bea.goto(&format!("{base}{emailed}"));
    let mut clicks = 0;
    post_form(
        &bea,
        &mut clicks,
        "/organization/invitation/join",
        &[("password", PASSWORD)],
    );
    assert!(bea.url().contains("/organization?notice="), "{}", bea.url());
    assert!(in_view(&bea, "#notice"), "the welcome is in view");
    assert!(bea.source().contains("Acme"), "she is in the organization");
    assert_eq!(clicks, 1, "one click after the link (Clerk: about 3)");
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM dev_outbox WHERE recipient = 'bea@example.com'"),
        1,
        "and no second email to fetch"
    );
}

#[test]
fn a_failed_post_on_every_single_card_page_focuses_its_error_summary() {
    let portal = Portal::new();
    let base = format!("http://{}", portal.serve());
    let driver = Driver::start();
    let session = driver.session(true);
    let signed_out: &[SectionPost<'_>] = &[
        (
            "/sign-in",
            "/sign-in",
            &[("identifier", "nobody@example.com"), ("password", "wrong password")],
        ),
        (
            "/sign-up",
            "/sign-up",
            &[("email_address", "nope"), ("password", PASSWORD)],
        ),
        ("/forgot-password", "/forgot-password", &[("email_address", "nope")]),
    ];
    let signed_in: &[SectionPost<'_>] = &[("/create-organization", "/create-organization", &[("name", "")])];
    for (round, posts) in [signed_out, signed_in].into_iter().enumerate() {
        if round == 1 {
            sign_up_with_organization(&session, &base);
        }
        for (page, action, fields) in posts {
            session.goto(&format!("{base}{page}"));
            post_form(&session, &mut 0, action, fields);
            assert_eq!(session.focused(), "DIV", "{action}: the error summary has the focus");
            assert!(in_view(&session, "[role=alert]"), "{action}: and is in view");
        }
    }
}

/// Clicks `css` and waits until the page it leads to has loaded (a passkey ceremony runs in
/// between, answered by the virtual authenticator).
fn click_through(session: &Session<'_>, css: &str) {
    session.navigating(|| session.click(css));
}

#[test]
fn passkeys_register_sign_in_by_button_and_autofill_go_passwordless_and_are_removed_in_chromium() {
    let portal = Portal::new();
    // WebAuthn needs a domain name (never an IP address): the portal is opened as localhost.
    let base = format!("http://localhost:{}", portal.serve().port());
    let driver = Driver::start();
    let session = driver.session(true);
    let authenticator = session.add_virtual_authenticator();
    let mut auditor = Audit::new(&session, &base);
    session.goto(&format!("{base}/sign-up"));
    submit(
        &session,
        "/sign-up",
        &[("email_address", "ada@example.com"), ("password", PASSWORD)],
    );
    auditor.check(Some("/user"), "user, no passkeys");
    submit(&session, "/user/passkeys/new", &[]);
    auditor.check(None, "add a passkey");
    // By keyboard alone: Tab to "Create a passkey", Enter.
    for _ in 0..30 {
        let there = session.script(
            "return !!document.activeElement.closest('form[data-passkey=create]')",
            json!([]),
        );
        if there == json!(true) {
            break;
        }
        session.keys(TAB);
    }
    session.navigating(|| session.keys(ENTER));
    assert!(
        session.url().ends_with("/user?notice=passkey_added"),
        "{}",
        session.url()
    );
    assert!(session.source().contains("Passkey added."));
    auditor.check(None, "user, one passkey");
    assert_eq!(session.authenticator_credentials(&authenticator).len(), 1);
    assert_eq!(portal.count("SELECT COUNT(*) FROM passkeys WHERE user_verified = 1"), 1);

    // Signed out, the sign-in page offers the passkey in the identifier field's autofill: the
    // virtual authenticator answers the conditional request as a person picking it would.
    session.goto(&format!("{base}/sign-out"));
    submit(&session, "/sign-out", &[]);
    session.navigating(|| session.goto(&format!("{base}/sign-in?redirect_url=%2Fuser")));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !session.url().ends_with("/user") {
        assert!(
            std::time::Instant::now() < deadline,
            "autofill did not sign in: {}",
            session.url()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        portal
            .text("SELECT amr FROM portal_sessions ORDER BY created_at DESC, id LIMIT 1")
            .as_deref(),
        Some("hwk,user,mfa")
    );

    // With the button, on a page whose autofill has nothing to offer yet.
    session.goto(&format!("{base}/user"));
    submit(&session, "/user/password/remove", &[]);
    assert!(
        session.url().ends_with("/user?notice=password_removed"),
        "{}",
        session.url()
    );
    auditor.check(None, "user, passwordless");
    portal.execute("UPDATE portal_sessions SET first_factor_at = 0, second_factor_at = 0");
    session.goto(&format!("{base}/user"));
    submit(&session, "/user/passkeys/remove", &[]);
    assert!(session.source().contains("Confirm it's you with one of your passkeys."));
    auditor.check(None, "step-up with a passkey");
    click_through(&session, "form[data-passkey=get] button[type=submit]");
    // Stepped up, the browser posts the removal again: refused, it is the last way in.
    assert!(session.source().contains("This passkey is your only way to sign in."));
    auditor.check(None, "user, last passkey refused");
    session.goto(&format!("{base}/user"));
    submit(
        &session,
        "/user/password",
        &[("new_password", "a brand new secret phrase")],
    );
    assert!(session.url().contains("notice=password_updated"), "{}", session.url());
    submit(&session, "/user/passkeys/remove", &[]);
    assert!(
        session.url().ends_with("/user?notice=passkey_removed"),
        "{}",
        session.url()
    );
    assert_eq!(portal.count("SELECT COUNT(*) FROM passkeys"), 0);

    // A passkey the portal no longer knows: a clear message on the sign-in page.
    session.goto(&format!("{base}/sign-out"));
    submit(&session, "/sign-out", &[]);
    let plain_session = driver.session(true);
    plain_session.goto(&format!("{base}/sign-in"));
    assert!(
        plain_session.source().contains("Sign in with a passkey"),
        "the button shows where WebAuthn exists"
    );
    // The authenticator still offers the removed passkey: autofill posts it once, and the page
    // says so (without offering autofill again, which would loop).
    session.goto(&format!("{base}/sign-in"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !session.url().ends_with("/sign-in/passkey") {
        assert!(
            std::time::Instant::now() < deadline,
            "autofill did not post: {}",
            session.url()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(session.url().ends_with("/sign-in/passkey"), "{}", session.url());
    assert!(session.source().contains("not registered for an account here"));
    auditor.check(None, "sign-in, unknown passkey");
    click_through(&session, "form[data-passkey=get] button[type=submit]");
    assert!(session.source().contains("not registered for an account here"));
    auditor.assert_clean();

    // Without JavaScript, no passkey button is visible and password sign-in works.
    let plain = driver.session(false);
    plain.goto(&format!("{base}/sign-in"));
    let visible = plain.script(
        "return [...document.querySelectorAll('[data-passkey]')].some(e => e.offsetParent !== null)",
        json!([]),
    );
    assert_eq!(visible, json!(false));
}

#[test]
fn signing_up_with_an_openid_provider_in_chromium_passes_axe() {
    use crate::support::oidc::OidcProvider;
    let provider = OidcProvider::start(json!({
        "alice": { "email": "alice@example.com", "email_verified": true, "given_name": "Alice" }
    }));
    let mut vars = provider.portal_variables("portal-native");
    vars.push(("username_field".into(), "required".into()));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let portal = Portal::with_vars(&vars);
    let base = format!("http://127.0.0.1:{}", portal.serve().port());
    let driver = Driver::start();
    let session = driver.session(true);
    let mut auditor = Audit::new(&session, &base);
    auditor.check(Some("/sign-in?redirect_url=%2Fuser"), "sign-in with a provider");
    auditor.check(Some("/sign-up"), "sign-up with a provider");
    session.goto(&format!("{base}/sign-in?redirect_url=%2Fuser"));
    session.navigating(|| session.click("a.provider"));
    assert!(
        session.url().starts_with(&provider.issuer),
        "at the provider: {}",
        session.url()
    );
    // The provider's own login page, as a person uses it.
    session.fill("input[name=login]", "alice");
    session.fill("input[name=password]", "any password");
    session.navigating(|| session.click("button[type=submit]"));
    // The provider asks a native client's user to authorize it once.
    if session.url().starts_with(&provider.issuer) {
        session.navigating(|| session.click("button[type=submit]"));
    }
    assert!(
        session.url().contains("/sign-in/oauth/finish?flow="),
        "{}: {}",
        session.url(),
        session.source()
    );
    auditor.check(None, "a new account's missing fields");
    submit(&session, "/sign-in/oauth/finish", &[("username", "alice")]);
    assert!(session.url().ends_with("/user"), "{}", session.url());
    assert!(session.source().contains("Connected accounts"));
    auditor.check(None, "user with a connected account");
    auditor.check(
        Some("/sign-in/oauth/callback?state=nothing"),
        "a provider sign-in that expired",
    );
    auditor.assert_clean();
    assert_eq!(portal.count("SELECT COUNT(*) FROM oauth_identities"), 1);
    assert_eq!(portal.text("SELECT username FROM users").as_deref(), Some("alice"));
}

#[test]
fn the_admin_console_passes_axe_and_its_actions_work_in_chromium() {
    use crate::support::two_step::oathtool;
    let portal = Portal::with_vars(&[("admin_emails", "ada@example.com")]);
    let base = format!("http://{}", portal.serve());
    let driver = Driver::start();
    let session = driver.session(true);
    let mut auditor = Audit::new(&session, &base);
    crate::support::Browser::signed_up(&portal, "bea@example.com");
    session.goto(&format!("{base}/sign-up"));
    submit(
        &session,
        "/sign-up",
        &[("email_address", "ada@example.com"), ("password", PASSWORD)],
    );
    // The operator's address is verified (the code flow has its own tests) and their session
    // needs its second factor.
    portal.execute("UPDATE users SET email_verified_at = 1 WHERE email = 'ada@example.com'");
    submit(&session, "/user/two-step", &[]);
    let key = key_on_page(&session);
    submit(&session, "/user/two-step/confirm", &[("code", &oathtool(&key, 0))]);
    auditor.check(Some("/admin"), "admin: users");
    auditor.check(Some("/admin?q=nobody"), "admin: no users found");
    let bea = portal
        .text("SELECT id FROM users WHERE email = 'bea@example.com'")
        .unwrap();
    auditor.check(Some(&format!("/admin/user?id={bea}")), "admin: a user");
    // The first action form is the suspension.
    submit(&session, "/admin/user/action", &[]);
    assert!(session.url().contains("notice=admin_done"), "{}", session.url());
    auditor.check(None, "admin: a user, suspended, with the notice");
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM users WHERE banned_at IS NOT NULL"),
        1
    );
    auditor.check(Some("/admin/organizations"), "admin: organizations");
    auditor.check(Some("/admin/invitations"), "admin: invitations (none)");
    auditor.check(Some("/admin/waitlist"), "admin: waitlist (empty)");
    auditor.check(Some("/admin/webhooks"), "admin: webhooks (off)");
    auditor.check(Some("/admin/audit"), "admin: audit log");
    auditor.assert_clean();
}

#[test]
fn the_waitlist_pages_pass_axe() {
    let portal = Portal::with_vars(&[("sign_up_mode", "waitlist")]);
    let base = format!("http://{}", portal.serve());
    let driver = Driver::start();
    let session = driver.session(true);
    let mut auditor = Audit::new(&session, &base);
    auditor.check(Some("/sign-up"), "sign-up by waitlist");
    auditor.check(Some("/waitlist"), "waitlist");
    submit(&session, "/waitlist", &[("email_address", "not an address")]);
    auditor.check(None, "waitlist, a bad address");
    submit(&session, "/waitlist", &[("email_address", "bea@example.com")]);
    auditor.check(None, "waitlist, joined");
    auditor.assert_clean();
}

#[test]
fn the_pages_with_bot_protection_pass_axe_with_and_without_the_widget_loading() {
    // Cloudflare is out of reach here: the widget's script never loads, as for a visitor whose
    // network blocks it; the pages must stay usable and accessible, and a refusal clear.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let siteverify = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let portal = Portal::with_vars(&[
        ("turnstile_site_key", "0x4AAAAAAAtestsitekey"),
        ("turnstile_secret_key", "0x4AAAAAAAtestsecretkey"),
        ("turnstile_api_origin", &siteverify),
    ]);
    let base = format!("http://{}", portal.serve());
    let driver = Driver::start();
    let session = driver.session(true);
    let mut auditor = Audit::new(&session, &base);
    auditor.check(Some("/forgot-password"), "forgot-password with bot protection");
    auditor.check(Some("/sign-up"), "sign-up with bot protection");
    submit(
        &session,
        "/sign-up",
        &[
            ("email_address", "ada@example.com"),
            ("password", "correct horse battery"),
        ],
    );
    auditor.check(None, "sign-up, the bot check refused");
    auditor.assert_clean();
}
