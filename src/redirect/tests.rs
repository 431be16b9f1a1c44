use super::*;

fn rules() -> FixedRules {
    FixedRules {
        instance_domain: Some("myapp.com".into()),
        allowed_origins: parse_origin_patterns(
            "https://partner.example.net, https://*.preview.dev:*, http://intranet.corp:8080",
        )
        .0,
        trust_requesting_origin: false,
    }
}

/// Origin rules that live as long as the test (policies borrow them).
fn leak(rules: FixedRules) -> &'static FixedRules {
    Box::leak(Box::new(rules))
}

fn policy() -> RedirectPolicy<'static> {
    RedirectPolicy {
        portal_origin: Url::parse("https://accounts.myapp.com").unwrap(),
        development: false,
        requesting_origin: None,
        rules: leak(rules()),
    }
}

fn dev_policy() -> RedirectPolicy<'static> {
    RedirectPolicy {
        development: true,
        ..policy()
    }
}

fn accepted(policy: &RedirectPolicy, raw: &str) -> String {
    match policy.check(raw) {
        Ok(target) => target.location(),
        Err(reason) => panic!("{raw:?} should be accepted, was rejected: {reason}"),
    }
}

fn rejected(policy: &RedirectPolicy, raw: &str) -> RejectReason {
    match policy.check(raw) {
        Ok(target) => panic!("{raw:?} should be rejected, was accepted as {}", target.url()),
        Err(reason) => reason,
    }
}

#[test]
fn accepts_instance_domain_and_subdomains_over_https_on_any_port() {
    let p = policy();
    assert_eq!(accepted(&p, "https://myapp.com"), "https://myapp.com/");
    assert_eq!(
        accepted(&p, "https://myapp.com/dashboard?tab=1#top"),
        "https://myapp.com/dashboard?tab=1#top"
    );
    assert_eq!(accepted(&p, "https://app.myapp.com/x"), "https://app.myapp.com/x");
    assert_eq!(
        accepted(&p, "https://a.b.c.myapp.com:8443/"),
        "https://a.b.c.myapp.com:8443/"
    );
}

#[test]
fn accepts_upper_case_scheme_and_host_as_the_parser_normalizes_them() {
    assert_eq!(
        accepted(&policy(), "HTTPS://App.MyApp.com/Path"),
        "https://app.myapp.com/Path"
    );
}

#[test]
fn accepts_path_absolute_references_as_portal_paths() {
    let p = policy();
    let target = p.check("/user?tab=security#sessions").unwrap();
    assert!(target.is_same_origin());
    assert_eq!(target.location(), "/user?tab=security#sessions");
    assert_eq!(
        target.url().as_str(),
        "https://accounts.myapp.com/user?tab=security#sessions"
    );
    assert_eq!(accepted(&p, "/a/%2F/b"), "/a/%2F/b");
}

#[test]
fn accepts_the_portal_origin_as_a_relative_location() {
    assert_eq!(
        accepted(&policy(), "https://accounts.myapp.com/organization"),
        "/organization"
    );
}

#[test]
fn rejects_plain_http_on_the_instance_domain_in_production() {
    assert_eq!(rejected(&policy(), "http://myapp.com/"), RejectReason::InsecureScheme);
    assert_eq!(
        rejected(&policy(), "http://app.myapp.com/"),
        RejectReason::InsecureScheme
    );
    assert_eq!(
        accepted(&dev_policy(), "http://app.myapp.com/"),
        "http://app.myapp.com/"
    );
}

#[test]
fn rejects_look_alike_hosts() {
    let p = policy();
    for raw in [
        "https://myapp.com.evil.com/",
        "https://evilmyapp.com/",
        "https://myapp.co/",
        "https://myappxcom/",
        "https://xn--myapp-.com/",
        "https://accounts.myapp.com.evil.com/",
    ] {
        assert!(
            matches!(
                rejected(&p, raw),
                RejectReason::OriginNotAllowed(_) | RejectReason::NonCanonicalHost | RejectReason::Unparseable
            ),
            "{raw}"
        );
    }
}

#[test]
fn rejects_userinfo_in_redirect() {
    let p = policy();
    for raw in [
        "https://myapp.com@evil.com/",
        "https://@myapp.com/",
        "https://a:b@myapp.com/",
        "https://evil.com:@myapp.com/",
        "https://myapp.com%40evil.com@evil.com/",
        "https://user@app.myapp.com/",
    ] {
        assert_eq!(rejected(&p, raw), RejectReason::Userinfo, "{raw}");
    }
}

#[test]
fn rejects_backslashes_anywhere() {
    let p = policy();
    for raw in [
        "https://evil.com\\@myapp.com",
        "/\\evil.com",
        "\\\\evil.com",
        "https:\\\\evil.com",
        "https://myapp.com\\.evil.com",
        "/path\\x",
    ] {
        assert_eq!(rejected(&p, raw), RejectReason::ForbiddenCharacter, "{raw}");
    }
}

#[test]
fn rejects_protocol_relative_references() {
    let p = policy();
    assert_eq!(rejected(&p, "//evil.com"), RejectReason::NotAbsolute);
    assert_eq!(rejected(&p, "//myapp.com/"), RejectReason::NotAbsolute);
    assert_eq!(rejected(&p, "///evil.com"), RejectReason::NotAbsolute);
}

#[test]
fn rejects_paths_that_decode_to_another_host() {
    let p = policy();
    for raw in ["/%2Fevil.com", "/%2f%2fevil.com", "/%5Cevil.com", "/%5cevil.com"] {
        assert_eq!(rejected(&p, raw), RejectReason::AmbiguousPath, "{raw}");
    }
}

#[test]
fn rejects_embedded_tab_cr_lf_and_other_controls() {
    let p = policy();
    for raw in [
        "https://myapp.com/\tx",
        "java\tscript:alert(1)",
        "https://myapp.com/\r\nSet-Cookie: x=y",
        "/\n/evil.com",
        "https://myapp.com/\u{0}",
        "https://myapp.com/\u{7f}",
        "https://myapp.com/ x",
        " https://myapp.com/",
    ] {
        assert_eq!(rejected(&p, raw), RejectReason::ForbiddenCharacter, "{raw:?}");
    }
}

#[test]
fn rejects_non_ascii_including_idn_and_fullwidth_dots() {
    let p = policy();
    for raw in [
        "https://myapp。com/",
        "https://mÿapp.com/",
        "/ünïcode",
        "https://myapp.com/\u{202e}",
    ] {
        assert_eq!(rejected(&p, raw), RejectReason::ForbiddenCharacter, "{raw}");
    }
}

#[test]
fn rejects_script_and_data_schemes_in_any_case() {
    let p = policy();
    for raw in [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "JAVASCRIPT://myapp.com/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "DATA:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox",
        "ftp://myapp.com/",
        "file:///etc/passwd",
        "blob:https://myapp.com/uuid",
    ] {
        assert!(matches!(rejected(&p, raw), RejectReason::UnsupportedScheme(_)), "{raw}");
    }
}

#[test]
fn rejects_scheme_without_double_slash() {
    let p = policy();
    for raw in [
        "https:evil.com",
        "https:/evil.com",
        "https:myapp.com",
        "https:///evil.com",
        "https://",
        "https://?x",
        "https://#x",
    ] {
        assert_eq!(rejected(&p, raw), RejectReason::MissingAuthority, "{raw}");
    }
}

#[test]
fn rejects_other_relative_forms() {
    let p = policy();
    for raw in [
        "?x=1",
        "#frag",
        "path",
        "../x",
        "./x",
        "myapp.com/x",
        "",
        ":x",
        "1https://myapp.com",
    ] {
        let reason = rejected(&p, raw);
        assert!(
            matches!(reason, RejectReason::NotAbsolute | RejectReason::Empty),
            "{raw}: {reason:?}"
        );
    }
}

#[test]
fn rejects_percent_encoded_hosts() {
    let p = policy();
    for raw in [
        "https://my%61pp.com/",
        "https://%6dyapp.com/",
        "https://app%2emyapp.com/",
    ] {
        assert_eq!(rejected(&p, raw), RejectReason::NonCanonicalHost, "{raw}");
    }
}

#[test]
fn rejects_ip_literals_in_production() {
    let p = policy();
    for raw in [
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://10.0.0.1/",
        "https://2130706433/",
        "https://0x7f.1/",
        "https://127.1/",
    ] {
        let reason = rejected(&p, raw);
        assert!(
            matches!(
                reason,
                RejectReason::OriginNotAllowed(_) | RejectReason::NonCanonicalHost
            ),
            "{raw}: {reason:?}"
        );
    }
}

#[test]
fn rejects_numeric_ip_forms_even_for_loopback_in_development() {
    let p = dev_policy();
    for raw in [
        "http://2130706433/",
        "http://0x7f.0.0.1/",
        "http://127.1/",
        "http://[0:0:0:0:0:0:0:1]/",
    ] {
        assert_eq!(rejected(&p, raw), RejectReason::NonCanonicalHost, "{raw}");
    }
}

#[test]
fn rejects_trailing_dots_and_empty_labels() {
    let p = policy();
    for raw in [
        "https://myapp.com./",
        "https://app..myapp.com/",
        "https://.myapp.com/",
        "https://app.myapp.com.:443/",
    ] {
        assert_eq!(rejected(&p, raw), RejectReason::NonCanonicalHost, "{raw}");
    }
}

#[test]
fn rejects_invalid_labels() {
    let p = policy();
    for raw in [
        "https://-app.myapp.com/",
        "https://app-.myapp.com/",
        "https://a_b.myapp.com/",
    ] {
        assert_eq!(rejected(&p, raw), RejectReason::NonCanonicalHost, "{raw}");
    }
    let long_label = format!("https://{}.myapp.com/", "a".repeat(64));
    assert_eq!(rejected(&p, &long_label), RejectReason::NonCanonicalHost);
}

#[test]
fn rejects_overlong_input() {
    let p = policy();
    let at_limit = format!(
        "https://myapp.com/{}",
        "a".repeat(MAX_REDIRECT_URL_LEN - "https://myapp.com/".len())
    );
    assert_eq!(at_limit.len(), MAX_REDIRECT_URL_LEN);
    accepted(&p, &at_limit);
    let over = format!("{at_limit}a");
    assert_eq!(rejected(&p, &over), RejectReason::TooLong);
}

#[test]
fn rejects_empty() {
    assert_eq!(rejected(&policy(), ""), RejectReason::Empty);
}

#[test]
fn allowed_origins_match_exactly() {
    let p = policy();
    accepted(&p, "https://partner.example.net/cb");
    accepted(&p, "https://partner.example.net:443/cb");
    assert!(matches!(
        rejected(&p, "https://partner.example.net:8443/"),
        RejectReason::OriginNotAllowed(_)
    ));
    assert!(matches!(
        rejected(&p, "http://partner.example.net/"),
        RejectReason::OriginNotAllowed(_)
    ));
    assert!(matches!(
        rejected(&p, "https://x.partner.example.net/"),
        RejectReason::OriginNotAllowed(_)
    ));
    assert!(matches!(
        rejected(&p, "https://partner.example.net.evil.com/"),
        RejectReason::OriginNotAllowed(_)
    ));
    accepted(&p, "http://intranet.corp:8080/");
    assert!(matches!(
        rejected(&p, "http://intranet.corp/"),
        RejectReason::OriginNotAllowed(_)
    ));
}

#[test]
fn wildcard_origins_match_subdomains_at_any_depth_but_not_the_apex() {
    let p = policy();
    accepted(&p, "https://pr-1.preview.dev/");
    accepted(&p, "https://a.b.preview.dev:3000/");
    assert!(matches!(
        rejected(&p, "https://preview.dev/"),
        RejectReason::OriginNotAllowed(_)
    ));
    assert!(matches!(
        rejected(&p, "https://evilpreview.dev/"),
        RejectReason::OriginNotAllowed(_)
    ));
    assert!(matches!(
        rejected(&p, "http://a.preview.dev/"),
        RejectReason::OriginNotAllowed(_)
    ));
}

#[test]
fn loopback_is_allowed_only_in_development() {
    let prod = policy();
    let dev = dev_policy();
    for raw in [
        "http://localhost:3000/",
        "https://localhost/",
        "http://127.0.0.1:8080/x",
        "http://[::1]:5173/",
    ] {
        assert!(
            matches!(rejected(&prod, raw), RejectReason::OriginNotAllowed(_)),
            "{raw}"
        );
        accepted(&dev, raw);
    }
    assert!(matches!(
        rejected(&dev, "http://localhost.evil.com/"),
        RejectReason::OriginNotAllowed(_)
    ));
    assert!(matches!(
        rejected(&dev, "http://127.0.0.2/"),
        RejectReason::OriginNotAllowed(_)
    ));
}

#[test]
fn requesting_origin_is_trusted_in_development_only_when_equal() {
    let mut dev = dev_policy();
    dev.requesting_origin = requesting_origin(Some("https://staging.other.io"), None);
    accepted(&dev, "https://staging.other.io/after");
    assert!(matches!(
        rejected(&dev, "https://staging.other.io:444/"),
        RejectReason::OriginNotAllowed(_)
    ));
    assert!(matches!(
        rejected(&dev, "http://staging.other.io/"),
        RejectReason::OriginNotAllowed(_)
    ));
    assert!(matches!(
        rejected(&dev, "https://evil.other.io/"),
        RejectReason::OriginNotAllowed(_)
    ));
}

#[test]
fn requesting_origin_in_production_needs_trust_requesting_origin() {
    let mut prod = policy();
    prod.requesting_origin = requesting_origin(None, Some("https://staging.other.io/page?x=1"));
    assert!(matches!(
        rejected(&prod, "https://staging.other.io/"),
        RejectReason::OriginNotAllowed(_)
    ));
    prod.rules = leak(FixedRules {
        trust_requesting_origin: true,
        ..rules()
    });
    accepted(&prod, "https://staging.other.io/");
}

#[test]
fn requesting_origin_ignores_null_and_non_http() {
    assert_eq!(requesting_origin(Some("null"), None), None);
    assert_eq!(requesting_origin(Some("file:///x"), None), None);
    assert_eq!(requesting_origin(Some("not a url"), None), None);
    let origin = requesting_origin(Some("null"), Some("https://a.io/x")).unwrap();
    assert_eq!(origin.ascii_serialization(), "https://a.io");
}

#[test]
fn origin_patterns_refuse_anything_but_scheme_host_port() {
    for bad in [
        "myapp.com",
        "ftp://myapp.com",
        "https://myapp.com/path",
        "https://user@myapp.com",
        "https://*.com.",
        "https://MyApp.com",
        "https://my%61pp.com",
        "https://a.com:99999",
        "https://a.com:x",
        "https://*",
        "https://",
    ] {
        assert!(OriginPattern::parse(bad).is_err(), "{bad}");
    }
    let (patterns, errors) = parse_origin_patterns(" https://a.io , ,https://[::1]:*, bad");
    assert_eq!(patterns.len(), 2);
    assert_eq!(errors.len(), 1);
}

fn query<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
    move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
}

#[test]
fn chain_prefers_force_param_then_redirect_url_then_fallback_param() {
    let p = policy();
    let pairs = [
        ("sign_in_fallback_redirect_url", "https://myapp.com/fallback"),
        ("redirect_url", "https://myapp.com/redirect"),
        ("sign_in_force_redirect_url", "https://myapp.com/force"),
    ];
    let choice = choose_redirect(&p, Flow::SignIn, query(&pairs), &Fallbacks::default());
    assert_eq!(choice.target.location(), "https://myapp.com/force");
    assert_eq!(choice.source, CandidateSource::Query("sign_in_force_redirect_url"));
    let choice = choose_redirect(&p, Flow::SignIn, query(&pairs[..2]), &Fallbacks::default());
    assert_eq!(choice.target.location(), "https://myapp.com/redirect");
    let choice = choose_redirect(&p, Flow::SignIn, query(&pairs[..1]), &Fallbacks::default());
    assert_eq!(choice.target.location(), "https://myapp.com/fallback");
}

#[test]
fn chain_ignores_other_flows_params() {
    let pairs = [("sign_up_force_redirect_url", "https://myapp.com/up")];
    let choice = choose_redirect(&policy(), Flow::SignIn, query(&pairs), &Fallbacks::default());
    assert_eq!(choice.source, CandidateSource::PortalDefault);
    assert!(choice.rejected.is_empty());
}

#[test]
fn chain_moves_on_past_rejected_candidates_and_records_why() {
    let pairs = [
        ("sign_up_force_redirect_url", "javascript:alert(1)"),
        ("redirect_url", "https://evil.com/"),
    ];
    let fallbacks = Fallbacks {
        flow_url: Some("https://myapp.com/welcome"),
        home_url: Some("https://myapp.com/"),
    };
    let choice = choose_redirect(&policy(), Flow::SignUp, query(&pairs), &fallbacks);
    assert_eq!(choice.target.location(), "https://myapp.com/welcome");
    assert_eq!(choice.source, CandidateSource::Variable("after_sign_up_url"));
    assert_eq!(choice.rejected.len(), 2);
    assert!(matches!(choice.rejected[0].reason, RejectReason::UnsupportedScheme(_)));
    assert!(matches!(choice.rejected[1].reason, RejectReason::OriginNotAllowed(_)));
}

#[test]
fn chain_falls_back_to_home_url_then_the_portal_user_page() {
    let p = policy();
    let choice = choose_redirect(
        &p,
        Flow::SignOut,
        query(&[]),
        &Fallbacks {
            flow_url: None,
            home_url: Some("https://myapp.com/home"),
        },
    );
    assert_eq!(choice.target.location(), "https://myapp.com/home");
    assert_eq!(choice.source, CandidateSource::Variable("home_url"));
    let choice = choose_redirect(
        &p,
        Flow::SignOut,
        query(&[]),
        &Fallbacks {
            flow_url: Some("https://evil.com"),
            home_url: Some("//evil.com"),
        },
    );
    assert_eq!(choice.target.location(), "/user");
    assert_eq!(choice.source, CandidateSource::PortalDefault);
    assert_eq!(choice.rejected.len(), 2);
}

#[test]
fn chain_rejects_a_present_but_empty_redirect_url() {
    let choice = choose_redirect(
        &policy(),
        Flow::SignIn,
        query(&[("redirect_url", "")]),
        &Fallbacks::default(),
    );
    assert_eq!(choice.rejected[0].reason, RejectReason::Empty);
}

#[test]
fn rejected_values_are_shortened_and_log_safely() {
    let long = format!("https://evil.com/{}\n", "x".repeat(500));
    let choice = choose_redirect(
        &policy(),
        Flow::SignIn,
        query(&[("redirect_url", &long)]),
        &Fallbacks::default(),
    );
    let rejection = &choice.rejected[0];
    assert!(rejection.value.chars().count() <= ECHO_LIMIT + 1);
    let line = rejection.to_string();
    assert!(!line.contains('\n'), "{line}");
}

#[test]
fn form_action_origin_is_the_targets_origin() {
    let target = policy().check("https://app.myapp.com:8443/x?y").unwrap();
    assert_eq!(target.origin(), "https://app.myapp.com:8443");
}

#[test]
fn portal_on_plain_http_in_development_accepts_its_own_origin() {
    let p = RedirectPolicy {
        portal_origin: Url::parse("http://127.0.0.1:3000").unwrap(),
        development: true,
        requesting_origin: None,
        rules: leak(FixedRules::default()),
    };
    assert_eq!(accepted(&p, "http://127.0.0.1:3000/user"), "/user");
    assert!(matches!(
        rejected(&p, "https://myapp.com/"),
        RejectReason::OriginNotAllowed(_)
    ));
}

#[test]
fn rejects_paths_that_normalize_to_another_host() {
    let p = policy();
    for raw in [
        "/%2e%2e//evil.com",
        "/%2E%2E//evil.com",
        "/.//evil.com",
        "/x/..//evil.com",
        "/%2e//evil.com",
        "/x/%2e%2e/%2Fevil.com",
        "https://accounts.myapp.com//evil.com",
        "https://accounts.myapp.com/.//evil.com",
        "https://accounts.myapp.com/%2F%2Fevil.com",
    ] {
        assert_eq!(rejected(&p, raw), RejectReason::AmbiguousPath, "{raw}");
    }
    assert_eq!(accepted(&p, "/a/../b"), "/b");
    assert_eq!(
        accepted(&p, "https://myapp.com//not-ambiguous-on-another-origin"),
        "https://myapp.com//not-ambiguous-on-another-origin"
    );
}

#[test]
fn locations_of_accepted_portal_paths_never_start_with_two_slashes() {
    let p = policy();
    for raw in [
        "/",
        "/user",
        "/a/./b",
        "/a/%2e%2e/b",
        "/%2e",
        "/%2e%2e",
        "/..",
        "/x?//y",
        "/x#//y",
    ] {
        if let Ok(target) = p.check(raw) {
            let location = target.location();
            assert!(
                location.starts_with('/') && !location.starts_with("//"),
                "{raw} -> {location}"
            );
        }
    }
}

#[test]
fn punycode_hosts_are_compared_as_written() {
    let p = policy();
    assert_eq!(
        accepted(&p, "https://xn--bcher-kva.myapp.com/"),
        "https://xn--bcher-kva.myapp.com/"
    );
    assert!(matches!(
        rejected(&p, "https://xn--myapp-xya.com/"),
        RejectReason::OriginNotAllowed(_) | RejectReason::Unparseable
    ));
}

/// Builds many candidates from fragments that URL parsers disagree about, and checks the one
/// property that matters: whatever the policy accepts, a browser following the `Location` lands
/// on an allowed host, never on `evil.com`.
#[test]
fn no_generated_candidate_leads_a_browser_off_the_allowed_hosts() {
    const FRAGMENTS: &[&str] = &[
        "https:",
        "http:",
        "HTTPS:",
        "javascript:",
        "//",
        "/",
        "\\",
        "@",
        ":",
        "evil.com",
        "myapp.com",
        "accounts.myapp.com",
        "app.myapp.com",
        ".",
        "..",
        "%2f",
        "%2F",
        "%2e",
        "%2E",
        "%5c",
        "%40",
        "%00",
        ":443",
        ":8443",
        "#",
        "?",
        "\t",
        " ",
        "x",
        "xn--",
        "localhost",
        "127.0.0.1",
        "[::1]",
        "%252f",
        "/./",
        "/../",
        "@@",
        "\u{3002}",
        "\u{ff0f}",
    ];
    let p = policy();
    let portal = Url::parse("https://accounts.myapp.com").unwrap();
    // A small deterministic generator (xorshift), so failures reproduce.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    let mut accepted_count = 0;
    for _ in 0..200_000 {
        let length = 1 + next(7);
        let candidate: String = (0..length).map(|_| FRAGMENTS[next(FRAGMENTS.len())]).collect();
        let Ok(target) = p.check(&candidate) else { continue };
        accepted_count += 1;
        let location = target.location();
        let landed = portal
            .join(&location)
            .unwrap_or_else(|e| panic!("{candidate:?} -> {location:?}: {e}"));
        let host = landed.host_str().unwrap_or_default();
        let allowed_host = host == "myapp.com"
            || host.ends_with(".myapp.com")
            || host == "partner.example.net"
            || host.ends_with(".preview.dev")
            || host == "intranet.corp";
        assert!(
            allowed_host && !host.contains("evil"),
            "{candidate:?} -> {location:?} lands on {host}"
        );
        assert!(
            landed.username().is_empty() && landed.password().is_none(),
            "{candidate:?}"
        );
    }
    assert!(
        accepted_count > 1000,
        "the generator must also produce allowed candidates ({accepted_count})"
    );
}

#[test]
fn rejects_xn_labels_that_are_not_valid_punycode_as_browsers_do() {
    // The URL parser's ASCII-only IDNA back end already refuses labels that do not decode; these
    // decode, to text a browser's UTS #46 processing refuses, and were accepted before.
    let p = policy();
    for raw in [
        "https://xn--abc.myapp.com/",         // C1 control characters
        "https://xn--paypal-df0c.myapp.com/", // a zero-width space
        "https://xn--lapyap-9l0c.myapp.com/", // a right-to-left override
        "https://xn--ab-r13a.myapp.com/",     // an ideographic full stop
        "https://xn--ab-5da.myapp.com/",      // a soft hyphen
        "https://xn--ab-7tb.myapp.com/",      // a leading combining mark
        "https://xn--e-xbb.myapp.com/",       // e + U+0301: not NFC
        "https://xn--aeb-ldc.myapp.com/",     // a, e + U+0301, b: not NFC
    ] {
        assert_eq!(rejected(&p, raw), RejectReason::NonCanonicalHost, "{raw}");
    }
    assert_eq!(
        accepted(&p, "https://xn--bcher-kva.myapp.com/"),
        "https://xn--bcher-kva.myapp.com/"
    );
}
