//! German, Spanish, Brazilian Portuguese and Japanese beside English and French: chosen by
//! `Accept-Language`, overridden by `ui_locales` for the whole flow, with dates and the
//! delete-account phrase in the visitor's language.

use bytes::Bytes;

use crate::support::{Browser, PASSWORD, Portal, request};

fn get_in(portal: &Portal, path: &str, accept_language: &str) -> crate::support::TestResponse {
    portal.send(
        request("GET", path)
            .header("accept-language", accept_language)
            .body(Bytes::new())
            .unwrap(),
    )
}

#[test]
fn each_language_is_chosen_by_accept_language() {
    let portal = Portal::new();
    for (accept, lang, words) in [
        ("de-DE,de;q=0.9", "de", "E-Mail-Adresse oder Benutzername"),
        ("es-MX", "es", "Correo electrónico o nombre de usuario"),
        ("pt-BR,pt;q=0.9,en;q=0.5", "pt-BR", "E-mail ou nome de usuário"),
        ("ja-JP", "ja", "メールアドレスまたはユーザー名"),
    ] {
        let page = get_in(&portal, "/sign-in", accept);
        page.assert_status(200);
        assert!(page.body.contains(&format!("<html lang=\"{lang}\">")), "{accept}");
        assert!(page.body.contains(words), "{accept}");
    }
}

#[test]
fn ui_locales_overrides_accept_language_and_survives_the_flow() {
    let portal = Portal::new();
    let mut browser = Browser::new(&portal);
    let page = browser.send(
        request("GET", "/sign-in?ui_locales=nl%20ja&redirect_url=%2Fuser").header("accept-language", "fr"),
        Bytes::new(),
    );
    page.assert_status(200);
    assert!(page.body.contains("<html lang=\"ja\">"));
    assert!(
        page.body
            .contains("href=\"/sign-up?ui_locales=nl+ja&amp;redirect_url=%2Fuser\""),
        "the sign-up link keeps the language"
    );
    assert!(
        page.body
            .contains("action=\"/sign-in?ui_locales=nl+ja&amp;redirect_url=%2Fuser")
    );
    assert!(
        page.set_cookie("portal_locale")
            .is_some_and(|c| c.starts_with("portal_locale=ja;"))
    );

    // A failed post re-renders in Japanese, then the account pages after sign-in stay Japanese
    // although the redirect to /user carries no parameter.
    browser.sign_up("ada@example.com", PASSWORD).assert_status(302);
    browser.cookies.remove("__session");
    let token = page.input_value("csrf_token").unwrap();
    let failed = browser.post_form(
        "/sign-in?ui_locales=ja",
        &[
            ("csrf_token", &token),
            ("identifier", "ada@example.com"),
            ("password", "wrong password"),
        ],
    );
    assert!(failed.body.contains("<html lang=\"ja\">"), "{}", failed.body);
    assert!(failed.body.contains("正しくありません"));
    let account = browser.send(request("GET", "/user").header("accept-language", "fr"), Bytes::new());
    account.assert_status(200);
    assert!(account.body.contains("<html lang=\"ja\">"));
}

#[test]
fn an_unsupported_ui_locales_or_a_forged_language_cookie_changes_nothing() {
    let portal = Portal::new();
    let page = portal.send(
        request("GET", "/sign-in?ui_locales=xx-YY")
            .header("accept-language", "es")
            .header("cookie", "portal_locale=%3Cscript%3E")
            .body(Bytes::new())
            .unwrap(),
    );
    page.assert_status(200);
    assert!(page.body.contains("<html lang=\"es\">"));
    assert!(page.set_cookie("portal_locale").is_none());
    assert!(!page.body.contains("<script>"));
}

#[test]
fn dates_and_the_delete_phrase_follow_the_language() {
    let portal = Portal::new();
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    let page = browser.get("/user?ui_locales=de");
    assert!(page.body.contains("Geben Sie „mein Konto löschen“ zur Bestätigung ein"));
    // The exact sign-in time, written the German way, is the title of its relative time.
    assert!(page.body.contains(" UTC\">gerade eben</time>"), "German relative time");
    assert!(
        page.body.contains(". Jan. ")
            || [
                "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."
            ]
            .iter()
            .any(|month| page.body.contains(&format!(". {month} "))),
        "a German date"
    );
    let token = page.input_value("csrf_token").unwrap();
    let wrong_words = browser.post_form(
        "/user/delete",
        &[
            ("csrf_token", &token),
            ("confirmation", "konto weg"),
            ("current_password", PASSWORD),
        ],
    );
    wrong_words.assert_status(422);
    assert!(
        wrong_words
            .body
            .contains("Geben Sie die Wörter genau wie angezeigt ein.")
    );
    let deleted = browser.post_form(
        "/user/delete",
        &[
            ("csrf_token", &token),
            ("confirmation", "mein Konto löschen"),
            ("current_password", PASSWORD),
        ],
    );
    deleted.assert_status(303);
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0);
}
