//! Signing in with another provider through the real component, against a real OpenID Provider
//! (npm's oidc-provider), each flow also on PostgreSQL: sign-up, sign-in again, linking rules,
//! connecting and disconnecting on the profile, the second factor after a provider, and the
//! attacks on the round trip.

use crate::support::oidc::{OidcProvider, ProviderAgent, path_of};
use crate::support::{Browser, Portal, TestResponse};
use serde_json::json;

fn portal_for(provider: &OidcProvider, client: &str, extra: &[(&str, &str)]) -> Portal {
    let owned = provider.portal_variables(client);
    let mut vars: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    vars.extend_from_slice(extra);
    Portal::with_vars(&vars)
}

/// From the sign-in page's button to the provider and back: the callback's response.
fn round_trip(
    browser: &mut Browser<'_>,
    provider: &OidcProvider,
    agent: &mut ProviderAgent,
    login: &str,
) -> TestResponse {
    let sign_in = browser.get("/sign-in?redirect_url=%2Fuser");
    assert!(sign_in.body.contains("Continue with Acme SSO"), "the button");
    let started = browser.get("/sign-in/oauth?provider=oidc&redirect_url=%2Fuser");
    started.assert_status(302);
    let back = agent.sign_in(started.location(), &provider.issuer, login);
    assert!(back.starts_with(crate::support::oidc::DEV_CALLBACK), "{back}");
    browser.get(&path_of(&back))
}

fn alice() -> serde_json::Value {
    json!({ "alice": { "email": "alice@example.com", "email_verified": true,
                       "given_name": "Alice", "family_name": "Liddell" } })
}

#[test]
fn a_new_person_signs_up_through_the_provider_and_signs_in_again() {
    for client in ["portal-rs", "portal-es"] {
        let provider = OidcProvider::start(alice());
        let portal = portal_for(&provider, client, &[]);
        let mut browser = Browser::new(&portal);
        let done = round_trip(&mut browser, &provider, &mut ProviderAgent::default(), "alice");
        done.assert_status(302);
        assert_eq!(done.location(), "/user", "{client}");
        let claims = browser.claims();
        assert_eq!(claims["amr"], json!(["fed"]), "{client}");
        let profile = browser.get("/user");
        assert!(profile.body.contains("Connected accounts"));
        assert!(profile.body.contains("alice@example.com"));
        assert!(profile.body.contains("Set a password"), "no password yet");
        assert_eq!(
            portal.count("SELECT COUNT(*) FROM users WHERE email_verified_at IS NOT NULL"),
            1
        );
        assert_eq!(portal.text("SELECT first_name FROM users").as_deref(), Some("Alice"));

        // Signed out, the same provider account signs in to the same account.
        browser.submit("/sign-out", "/sign-out", &[]).assert_status(302);
        let mut again = Browser::new(&portal);
        round_trip(&mut again, &provider, &mut ProviderAgent::default(), "alice").assert_status(302);
        assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1);
        assert_eq!(portal.count("SELECT COUNT(*) FROM oauth_identities"), 1);
        assert_eq!(
            portal.count("SELECT COUNT(*) FROM oauth_cache"),
            2,
            "the discovery document and the key set are cached"
        );
    }
}

#[test]
fn attack_unverified_provider_email_of_an_existing_account_is_no_takeover() {
    let provider = OidcProvider::start(json!({ "mallory": { "email": "ada@example.com", "email_verified": false } }));
    let portal = portal_for(&provider, "portal-rs", &[]);
    let _ada = Browser::signed_up(&portal, "ada@example.com");
    let mut attacker = Browser::new(&portal);
    let refused = round_trip(&mut attacker, &provider, &mut ProviderAgent::default(), "mallory");
    refused.assert_status(409);
    assert!(refused.body.contains("An account with ada@example.com already exists"));
    assert!(!attacker.cookies.contains_key("__portal_session"));
    assert_eq!(portal.count("SELECT COUNT(*) FROM oauth_identities"), 0);
    // Verified, but the generic provider is not trusted for addresses by default: still no.
    provider.set_accounts(json!({ "mallory": { "email": "ada@example.com", "email_verified": true } }));
    let mut again = Browser::new(&portal);
    round_trip(&mut again, &provider, &mut ProviderAgent::default(), "mallory").assert_status(409);
    assert_eq!(portal.count("SELECT COUNT(*) FROM oauth_identities"), 0);
}

#[test]
fn a_trusted_providers_verified_address_links_the_account_and_two_step_still_applies() {
    use crate::support::two_step::{oathtool, turn_on};
    let provider = OidcProvider::start(json!({ "ada-at-idp": { "email": "ada@example.com", "email_verified": true } }));
    let portal = portal_for(&provider, "portal-rs", &[("oauth_trusted_email_providers", "oidc")]);
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let (key, _) = turn_on(&mut ada);
    let mut browser = Browser::new(&portal);
    let second_step = round_trip(&mut browser, &provider, &mut ProviderAgent::default(), "ada-at-idp");
    second_step.assert_status(303);
    assert!(
        second_step.location().starts_with("/sign-in/factor-two?flow="),
        "{}",
        second_step.location()
    );
    let page = second_step.location().to_owned();
    let flow = browser.get(&page).input_value("flow").unwrap();
    let done = browser.submit(
        &page,
        "/sign-in/factor-two",
        &[("flow", &flow), ("code", &oathtool(&key, 30))],
    );
    done.assert_status(302);
    assert_eq!(browser.claims()["amr"], json!(["fed", "otp", "mfa"]));
    assert_eq!(portal.count("SELECT COUNT(*) FROM oauth_identities"), 1);
}

#[test]
fn connecting_and_disconnecting_on_the_profile() {
    let provider = OidcProvider::start(alice());
    let portal = portal_for(&provider, "portal-es", &[]);
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let profile = ada.get("/user");
    assert!(profile.body.contains("No accounts connected."));
    assert!(profile.body.contains("Connect Acme SSO"));
    let leaving = ada.submit("/user", "/user/connections/connect", &[("provider", "oidc")]);
    leaving.assert_status(200);
    assert!(leaving.body.contains("data-follow"));
    // The link the script follows: the `<a>` that carries `data-follow`.
    let link = &leaving.body[..leaving.body.find("data-follow").unwrap()];
    let href = crate::support::html::attribute(&link[link.rfind("<a").unwrap()..], "href").unwrap();
    assert!(href.starts_with(&provider.issuer), "{href}");
    let back = ProviderAgent::default().sign_in(&href, &provider.issuer, "alice");
    let connected = ada.get(&path_of(&back));
    connected.assert_status(303);
    assert_eq!(connected.location(), "/user?notice=provider_connected");
    let profile = ada.get("/user?notice=provider_connected");
    assert!(profile.body.contains("Account connected."));
    assert!(
        profile.body.contains("alice@example.com"),
        "the provider account's address"
    );
    assert_eq!(portal.count("SELECT COUNT(*) FROM oauth_identities"), 1);

    // The connected account now signs in to Ada's account.
    let mut elsewhere = Browser::new(&portal);
    round_trip(&mut elsewhere, &provider, &mut ProviderAgent::default(), "alice").assert_status(302);
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1);

    let subject = portal.text("SELECT subject FROM oauth_identities").unwrap();
    let gone = ada.submit(
        "/user",
        "/user/connections/disconnect",
        &[("provider", "oidc"), ("subject", &subject)],
    );
    gone.assert_status(303);
    assert_eq!(gone.location(), "/user?notice=provider_disconnected");
    assert_eq!(portal.count("SELECT COUNT(*) FROM oauth_identities"), 0);
}

#[test]
fn the_only_way_in_is_never_disconnected() {
    let provider = OidcProvider::start(alice());
    let portal = portal_for(&provider, "portal-rs", &[]);
    let mut browser = Browser::new(&portal);
    round_trip(&mut browser, &provider, &mut ProviderAgent::default(), "alice").assert_status(302);
    let subject = portal.text("SELECT subject FROM oauth_identities").unwrap();
    let refused = browser.submit(
        "/user",
        "/user/connections/disconnect",
        &[("provider", "oidc"), ("subject", &subject)],
    );
    refused.assert_status(422);
    assert!(refused.body.contains("This is your only way to sign in."));
    assert_eq!(portal.count("SELECT COUNT(*) FROM oauth_identities"), 1);
}

#[test]
fn cancelling_at_the_provider_says_so() {
    let provider = OidcProvider::start(alice());
    let portal = portal_for(&provider, "portal-rs", &[]);
    let mut browser = Browser::new(&portal);
    let started = browser.get("/sign-in/oauth?provider=oidc");
    let back = ProviderAgent::default().cancel(started.location(), &provider.issuer);
    assert!(back.contains("error=access_denied"), "{back}");
    let page = browser.get(&path_of(&back));
    page.assert_status(200);
    assert!(page.body.contains("You cancelled the sign-in. Nothing was changed."));

    // The language chosen before the round trip is the language after it.
    let mut french = Browser::new(&portal);
    let page = french.get("/sign-in?ui_locales=fr");
    assert!(page.body.contains("Continuer avec Acme SSO"));
    let started = french.get("/sign-in/oauth?provider=oidc&ui_locales=fr");
    assert!(
        started.location().contains("ui_locales=fr"),
        "the provider is asked too"
    );
    let back = ProviderAgent::default().cancel(started.location(), &provider.issuer);
    let page = french.get(&path_of(&back));
    assert!(page.body.contains("Vous avez annulé la connexion."), "{}", page.body);
}

#[test]
fn attack_replayed_callback_is_refused() {
    let provider = OidcProvider::start(alice());
    let portal = portal_for(&provider, "portal-rs", &[]);
    let mut browser = Browser::new(&portal);
    let started = browser.get("/sign-in/oauth?provider=oidc");
    let back = ProviderAgent::default().sign_in(started.location(), &provider.issuer, "alice");
    browser.get(&path_of(&back)).assert_status(302);
    browser.cookies.remove("__portal_session");
    let replayed = browser.get(&path_of(&back));
    replayed.assert_status(400);
    assert!(replayed.body.contains("This sign-in expired or was already used."));
    assert!(!browser.cookies.contains_key("__portal_session"));
}

#[test]
fn attack_callback_in_another_browser_login_csrf_is_refused() {
    let provider = OidcProvider::start(alice());
    let portal = portal_for(&provider, "portal-rs", &[]);
    // The attacker starts a sign-in with their own provider account...
    let mut attacker = Browser::new(&portal);
    let started = attacker.get("/sign-in/oauth?provider=oidc");
    let back = ProviderAgent::default().sign_in(started.location(), &provider.issuer, "alice");
    // ...and makes the victim's browser open the callback.
    let mut victim = Browser::new(&portal);
    victim.get("/sign-in");
    let refused = victim.get(&path_of(&back));
    refused.assert_status(400);
    assert!(refused.body.contains("started in another browser"));
    assert!(!victim.cookies.contains_key("__portal_session"));
}

#[test]
fn attack_mix_up_iss_and_injected_code_are_refused() {
    let provider = OidcProvider::start(alice());
    let portal = portal_for(&provider, "portal-rs", &[]);
    let mut browser = Browser::new(&portal);
    let started = browser.get("/sign-in/oauth?provider=oidc");
    let back = ProviderAgent::default().sign_in(started.location(), &provider.issuer, "alice");
    let mixed = path_of(&back).replace(
        &format!(
            "iss={}",
            url::form_urlencoded::byte_serialize(provider.issuer.as_bytes()).collect::<String>()
        ),
        "iss=https%3A%2F%2Fevil.example.net",
    );
    assert_ne!(mixed, path_of(&back));
    let refused = browser.get(&mixed);
    refused.assert_status(400);
    assert!(refused.body.contains("could not be verified"));

    // A code from another flow (the attacker's) injected into this browser's own flow: PKCE and
    // the nonce do not fit, and the provider refuses the code.
    let mut attacker = Browser::new(&portal);
    let theirs = attacker.get("/sign-in/oauth?provider=oidc");
    let their_back = ProviderAgent::default().sign_in(theirs.location(), &provider.issuer, "alice");
    let their_code = url::Url::parse(&their_back)
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "code")
        .unwrap()
        .1
        .into_owned();
    let mine = browser.get("/sign-in/oauth?provider=oidc");
    let my_back = ProviderAgent::default().sign_in(mine.location(), &provider.issuer, "alice");
    let my_code = url::Url::parse(&my_back)
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "code")
        .unwrap()
        .1
        .into_owned();
    let injected = path_of(&my_back).replace(&my_code, &their_code);
    let refused = browser.get(&injected);
    assert!([400, 502].contains(&refused.status), "{}", refused.status);
    assert!(!browser.cookies.contains_key("__portal_session"));
}

#[test]
fn a_provider_that_is_down_gets_a_clear_page() {
    let provider = OidcProvider::start(alice());
    let owned = provider.portal_variables("portal-rs");
    drop(provider);
    let vars: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let portal = Portal::with_vars(&vars);
    let mut browser = Browser::new(&portal);
    let page = browser.get("/sign-in/oauth?provider=oidc");
    page.assert_status(502);
    assert!(page.body.contains("Acme SSO could not be reached"));
}

#[test]
fn the_sign_in_page_reads_only_the_list_of_providers() {
    let provider = OidcProvider::start(alice());
    let portal = portal_for(&provider, "portal-rs", &[]);
    let page = portal.get("/sign-in");
    assert!(page.body.contains("Continue with Acme SSO"));
    assert!(page.body.contains("href=\"/sign-in/oauth?provider=oidc\""));
    let plain = Portal::new();
    assert!(!plain.get("/sign-in").body.contains("Continue with"));
}

/// The provider's variables as one of the presets (`google`, `gitlab`), pointed at this server.
fn preset_portal(provider: &OidcProvider, preset: &str) -> Portal {
    let issuer_var = match preset {
        "google" => "google_issuer",
        "gitlab" => "gitlab_origin",
        other => panic!("no preset {other}"),
    };
    let id_var = format!("{preset}_client_id");
    let secret_var = format!("{preset}_client_secret");
    Portal::with_vars(&[
        ("oauth_providers", preset),
        (issuer_var, provider.issuer.as_str()),
        (id_var.as_str(), "portal-rs"),
        (secret_var.as_str(), "portal-rs-secret"),
    ])
}

#[test]
fn the_google_preset_links_a_verified_address_by_default_and_gitlab_does_not() {
    let provider = OidcProvider::start(json!({ "ada-at-idp": { "email": "ada@example.com", "email_verified": true } }));
    let google = preset_portal(&provider, "google");
    let _ada = Browser::signed_up(&google, "ada@example.com");
    let mut browser = Browser::new(&google);
    assert!(browser.get("/sign-in").body.contains("Continue with Google"));
    let started = browser.get("/sign-in/oauth?provider=google");
    started.assert_status(302);
    let back = ProviderAgent::default().sign_in(started.location(), &provider.issuer, "ada-at-idp");
    browser.get(&path_of(&back)).assert_status(302);
    assert_eq!(
        google.count("SELECT COUNT(*) FROM oauth_identities WHERE provider = 'google'"),
        1
    );
    assert_eq!(google.count("SELECT COUNT(*) FROM users"), 1);

    let gitlab = preset_portal(&provider, "gitlab");
    let _ada = Browser::signed_up(&gitlab, "ada@example.com");
    let mut browser = Browser::new(&gitlab);
    assert!(browser.get("/sign-in").body.contains("Continue with GitLab"));
    let started = browser.get("/sign-in/oauth?provider=gitlab");
    let back = ProviderAgent::default().sign_in(started.location(), &provider.issuer, "ada-at-idp");
    browser.get(&path_of(&back)).assert_status(409);
    assert_eq!(gitlab.count("SELECT COUNT(*) FROM oauth_identities"), 0);
}

/// A provider that answers its discovery request with `answer` (or never, when `None`), on a
/// loopback port: its origin.
fn hostile_provider(answer: Option<Vec<u8>>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            match &answer {
                Some(body) => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(body);
                }
                // Never answers: holds the connection until the test process ends.
                None => std::mem::forget(stream),
            }
        }
    });
    origin
}

fn portal_at(origin: &str) -> Portal {
    Portal::with_vars(&[
        ("oauth_providers", "oidc:Slow SSO"),
        ("oidc_issuer", origin),
        ("oidc_origin", origin),
        ("oidc_client_id", "portal"),
        ("oidc_client_secret", "secret"),
    ])
}

#[test]
fn attack_a_provider_answering_10_mb_gets_a_clear_page_and_nothing_stored() {
    let mut huge = b"{\"issuer\":\"".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 10 * 1024 * 1024));
    huge.extend(b"\"}");
    let origin = hostile_provider(Some(huge));
    let portal = portal_at(&origin);
    let page = Browser::new(&portal).get("/sign-in/oauth?provider=oidc");
    page.assert_status(502);
    assert!(
        page.body
            .contains("Slow SSO could not be reached or did not answer in time")
    );
    assert_eq!(portal.count("SELECT COUNT(*) FROM oauth_cache"), 0);
}

#[test]
fn attack_a_provider_that_never_answers_times_out_with_a_clear_page() {
    let origin = hostile_provider(None);
    let portal = portal_at(&origin);
    // The portal's own timeout (10 s to the first byte) ends the wait, not the provider.
    let page = Browser::new(&portal).get("/sign-in/oauth?provider=oidc");
    page.assert_status(502);
    assert!(page.body.contains("did not answer in time"));
}

fn github_portal(server: &crate::support::github::GithubServer, extra: &[(&str, &str)]) -> Portal {
    let owned = server.portal_variables();
    let mut vars: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (*n, v.as_str())).collect();
    vars.extend_from_slice(extra);
    Portal::with_vars(&vars)
}

/// Through GitHub's authorize endpoint (which approves at once) and back: the callback's answer.
fn github_round_trip(browser: &mut Browser<'_>) -> TestResponse {
    let started = browser.get("/sign-in/oauth?provider=github&redirect_url=%2Fuser");
    started.assert_status(302);
    assert!(
        started.location().contains("/login/oauth/authorize?"),
        "{}",
        started.location()
    );
    assert!(started.location().contains("code_challenge_method=S256"));
    let approved = ProviderAgent::default().get(started.location());
    assert_eq!(approved.status, 302);
    browser.get(&path_of(&approved.location.expect("back to the portal")))
}

#[test]
fn github_signs_up_by_its_api_with_the_primary_verified_address() {
    use crate::support::github::{GithubServer, GithubUser};
    let server = GithubServer::start(GithubUser {
        id: 583231,
        login: "octocat",
        emails: vec![("old@example.com", false, true), ("octocat@example.com", true, true)],
    });
    let portal = github_portal(&server, &[]);
    let mut browser = Browser::new(&portal);
    assert!(browser.get("/sign-in").body.contains("Continue with GitHub"));
    let done = github_round_trip(&mut browser);
    done.assert_status(302);
    assert_eq!(done.location(), "/user");
    assert_eq!(browser.claims()["amr"], json!(["fed"]));
    assert_eq!(
        portal
            .text("SELECT subject FROM oauth_identities WHERE provider = 'github'")
            .as_deref(),
        Some("583231"),
        "the stable numeric id, not the login"
    );
    assert_eq!(
        portal.text("SELECT email FROM users").as_deref(),
        Some("octocat@example.com")
    );
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM users WHERE email_verified_at IS NOT NULL"),
        1
    );
}

#[test]
fn attack_github_with_an_unverified_primary_address_makes_no_account() {
    use crate::support::github::{GithubServer, GithubUser};
    let server = GithubServer::start(GithubUser {
        id: 7,
        login: "mallory",
        emails: vec![("victim@example.com", true, false)],
    });
    let portal = github_portal(&server, &[("email_verification", "required")]);
    let mut browser = Browser::new(&portal);
    let refused = github_round_trip(&mut browser);
    refused.assert_status(422);
    assert!(refused.body.contains("GitHub has not verified your email address"));
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0);
}

#[test]
fn apple_answers_by_form_post_with_a_signed_client_secret_and_the_name_once() {
    let provider = OidcProvider::start(
        json!({ "apple-user": { "email": "ada@privaterelay.appleid.com", "email_verified": true } }),
    );
    let (team, key_id, key) = provider.apple.clone();
    let portal = Portal::with_vars(&[
        ("oauth_providers", "apple"),
        ("apple_issuer", provider.issuer.as_str()),
        ("apple_client_id", "portal-apple"),
        ("apple_team_id", team.as_str()),
        ("apple_key_id", key_id.as_str()),
        ("apple_private_key", key.as_str()),
    ]);
    let mut browser = Browser::new(&portal);
    assert!(browser.get("/sign-in").body.contains("Continue with Apple"));
    let started = browser.get("/sign-in/oauth?provider=apple&redirect_url=%2Fuser");
    started.assert_status(302);
    assert!(started.location().contains("response_mode=form_post"));
    let (action, mut fields) =
        ProviderAgent::default().sign_in_posted(started.location(), &provider.issuer, "apple-user");
    assert!(action.ends_with("/sign-in/oauth/callback"), "{action}");
    // Apple adds the person's name, at the first sign-in only.
    fields.push((
        "user".into(),
        r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"ada@privaterelay.appleid.com"}"#.into(),
    ));
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    // The post comes from Apple's site: the browser sends no SameSite=Lax cookie with it.
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    let cross_site = portal.send(
        crate::support::request("POST", "/sign-in/oauth/callback")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", provider.issuer.as_str())
            .header("sec-fetch-site", "cross-site")
            .body(bytes::Bytes::from(body))
            .unwrap(),
    );
    cross_site.assert_status(200);
    assert!(cross_site.body.contains("data-autosubmit"));
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM users"),
        0,
        "nothing is spent by the cross-site post"
    );
    // A forged post of the answer from another site carries no cookie: another browser.
    let mut forger = Browser::new(&portal);
    let forged = forger.post_form("/sign-in/oauth/callback/continue", &pairs);
    forged.assert_status(400);
    assert!(forged.body.contains("started in another browser"));
    // The page posts it on from this site, cookies and all.
    let done = browser.post_form("/sign-in/oauth/callback/continue", &pairs);
    done.assert_status(302);
    assert_eq!(done.location(), "/user");
    assert_eq!(portal.text("SELECT first_name FROM users").as_deref(), Some("Ada"));
    assert_eq!(portal.text("SELECT last_name FROM users").as_deref(), Some("Lovelace"));
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM oauth_identities WHERE provider = 'apple'"),
        1
    );
}

#[test]
fn the_microsoft_preset_uses_its_tenants_issuer() {
    let tenant = "9188040d-6c67-4c5b-b112-36a304b66dad";
    let provider = OidcProvider::start_at(alice(), &format!("/{tenant}/v2.0"));
    let authority = provider.issuer.trim_end_matches(&format!("/{tenant}/v2.0")).to_owned();
    let portal = Portal::with_vars(&[
        ("oauth_providers", "microsoft"),
        ("microsoft_authority", authority.as_str()),
        ("microsoft_tenant", tenant),
        ("microsoft_client_id", "portal-rs"),
        ("microsoft_client_secret", "portal-rs-secret"),
    ]);
    let mut browser = Browser::new(&portal);
    assert!(browser.get("/sign-in").body.contains("Continue with Microsoft"));
    let started = browser.get("/sign-in/oauth?provider=microsoft&redirect_url=%2Fuser");
    started.assert_status(302);
    assert!(
        started.location().starts_with(&provider.issuer),
        "{}",
        started.location()
    );
    let back = ProviderAgent::default().sign_in(started.location(), &provider.issuer, "alice");
    browser.get(&path_of(&back)).assert_status(302);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM oauth_identities WHERE provider = 'microsoft'"),
        1
    );
}

#[test]
fn attack_a_flood_of_round_trips_from_one_address_is_limited() {
    let provider = OidcProvider::start(alice());
    let portal = portal_for(&provider, "portal-rs", &[]);
    let mut browser = Browser::new(&portal);
    for _ in 0..30 {
        browser.get("/sign-in/oauth?provider=oidc").assert_status(302);
    }
    let refused = browser.get("/sign-in/oauth?provider=oidc");
    refused.assert_status(429);
    assert!(refused.header("retry-after").is_some());
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM auth_flows WHERE purpose = 'oauth'"),
        30
    );
}
