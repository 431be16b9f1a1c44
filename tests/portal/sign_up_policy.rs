//! Who may sign up, through the real component: the operator's allow and block lists on the
//! sign-up form (with and without a verification code) and on a provider's sign-up; the
//! refusal says nothing about other accounts.

use crate::support::{Browser, PASSWORD, Portal};

#[test]
fn attack_a_blocked_domain_is_refused_at_sign_up_and_a_look_alike_suffix_is_not_it() {
    for verification in ["off", "required"] {
        let portal = Portal::with_vars(&[
            ("sign_up_blocked", "*@evil.example"),
            ("email_verification", verification),
        ]);
        let mut browser = Browser::new(&portal);
        let refused = browser.submit(
            "/sign-up",
            "/sign-up",
            &[("email_address", "Mallory@EVIL.example"), ("password", PASSWORD)],
        );
        refused.assert_status(422);
        assert!(
            refused.body.contains("Sign-up is not open to this email address."),
            "{verification}"
        );
        assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0);
        assert_eq!(
            portal.count("SELECT COUNT(*) FROM auth_flows"),
            0,
            "no code is sent either"
        );
        let welcome = Browser::new(&portal).sign_up("ada@notevil.example", PASSWORD);
        welcome.assert_status(302);
        assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1, "{verification}");
    }
}

#[test]
fn an_allowlist_admits_only_its_domain_and_subaddresses_fold_when_asked() {
    let portal = Portal::with_vars(&[
        ("sign_up_allowed", "*@myco.com, *@*.myco.com"),
        ("sign_up_blocked", "intern@myco.com"),
        ("sign_up_fold_subaddress", "true"),
    ]);
    for outsider in ["a@gmail.com", "a@myco.com.evil.net", "a@notmyco.com"] {
        let refused = Browser::new(&portal).submit(
            "/sign-up",
            "/sign-up",
            &[("email_address", outsider), ("password", PASSWORD)],
        );
        refused.assert_status(422);
    }
    let tagged = Browser::new(&portal).submit(
        "/sign-up",
        "/sign-up",
        &[("email_address", "intern+again@myco.com"), ("password", PASSWORD)],
    );
    tagged.assert_status(422);
    Browser::new(&portal)
        .sign_up("ada@eu.myco.com", PASSWORD)
        .assert_status(302);
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1);
}

#[test]
fn attack_a_blocked_address_makes_no_account_through_a_provider() {
    use crate::support::oidc::{OidcProvider, ProviderAgent, path_of};
    let provider = OidcProvider::start(serde_json::json!({
        "mallory": { "email": "mallory@evil.example", "email_verified": true }
    }));
    let owned = provider.portal_variables("portal-rs");
    let mut vars: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    vars.push(("sign_up_blocked", "*@evil.example"));
    let portal = Portal::with_vars(&vars);
    let mut browser = Browser::new(&portal);
    let started = browser.get("/sign-in/oauth?provider=oidc");
    let back = ProviderAgent::default().sign_in(started.location(), &provider.issuer, "mallory");
    let refused = browser.get(&path_of(&back));
    refused.assert_status(403);
    assert!(refused.body.contains("Sign-up is not open to this email address."));
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0);
}
