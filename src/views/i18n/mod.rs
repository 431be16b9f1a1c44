//! User-facing text. Pages never hold literal text: they read it from a [`Strings`] table chosen by
//! the request's `Accept-Language`. A translation is one more table in each module (English's
//! fields, the same order) and one more language in [`packed`]; the compiler makes sure it has
//! every message, and the `.wasm` carries it compressed (see [`packed`]).

pub mod account;
pub mod admin;
#[cfg(test)]
mod de;
mod en;
pub mod errors;
#[cfg(test)]
mod es;
#[cfg(test)]
mod fr;
#[cfg(test)]
mod ja;
pub mod mail;
pub mod oauth;
mod packed;
pub mod passkey;
#[cfg(test)]
mod pt_br;
pub mod two_step;
pub mod waitlist;

pub use en::ENGLISH;
use packed::{Packed, packed_members, text_table};

text_table! {
    /// Every message a page can show, in one language.
    #[derive(Debug)]
    pub struct Strings {
        pub lang: &'static str,
        pub skip_to_content: &'static str,
        pub back_to_app: &'static str,
        pub optional: &'static str,
        pub footer: &'static str,
        pub dev_notice_heading: &'static str,

        pub sign_in_title: &'static str,
        pub sign_in_lead: &'static str,
        pub sign_in_button: &'static str,
        pub no_account: &'static str,
        pub sign_up_link: &'static str,
        pub sign_up_title: &'static str,
        pub sign_up_lead: &'static str,
        pub sign_up_button: &'static str,
        pub have_account: &'static str,
        pub sign_in_link: &'static str,
        pub forgot_password_link: &'static str,
        pub email_code_button: &'static str,
        pub passkey_sign_in_button: &'static str,
        /// The passkey sign-in form's messages, shown by its script.
        pub passkey_cancelled: &'static str,
        pub passkey_failed: &'static str,

        pub identifier_label: &'static str,
        pub email_label: &'static str,
        pub password_label: &'static str,
        /// `{n}`: the operator's `password_min_length`.
        pub password_hint: &'static str,
        /// The hint of a page that has not read `password_min_length` (an anonymous sign-up).
        pub password_hint_without_length: &'static str,
        pub first_name_label: &'static str,
        pub last_name_label: &'static str,
        pub username_label: &'static str,
        pub username_hint: &'static str,
        pub phone_label: &'static str,
        pub phone_hint: &'static str,

        pub notice_signed_out: &'static str,
        pub notice_account_deleted: &'static str,
        pub notice_left_organization: &'static str,
        pub notice_organization_deleted: &'static str,
        pub notice_organization_created: &'static str,
        /// `{email}`, `{role}`.
        pub invitation_for: &'static str,
        pub copy_link: &'static str,
        pub copied: &'static str,
        pub legal_lead: &'static str,
        pub terms_link: &'static str,
        pub privacy_link: &'static str,
        pub show_password: &'static str,
        pub hide_password: &'static str,
        pub title_error_prefix: &'static str,
        pub confirmation_label: &'static str,

        pub sign_out_title: &'static str,
        pub sign_out_lead: &'static str,
        pub sign_out_button: &'static str,
        pub user_title: &'static str,
        pub signed_in_as: &'static str,

        /// An invitation opened by someone without an account: create one there and join.
        pub join_title: &'static str,
        pub join_button: &'static str,
        pub sign_in_to_accept: &'static str,
        pub time_yesterday: &'static str,
        /// The words a visitor types to delete their account.
        pub delete_phrase: &'static str,
        /// Abbreviated month names, January first, for [`Strings::format_date`].
        pub months: [&'static str; 12],
        /// How a date reads: `{year}`, `{month}` (a number), `{mon}` (from `months`), `{day}` and
        /// `{time}` (24-hour `HH:MM`).
        pub date_pattern: &'static str,
    }
}

/// A message that errors and form problems carry as a key; it is translated only when the page
/// is drawn, in the visitor's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    FixErrors,
    MissingCredentials,
    BadCredentials,
    /// Has a `{minutes}` placeholder.
    LockedOut,
    LastAdmin,
    ForbiddenOrg,
    InvitationUnavailable,
    InvitationWrongEmail,
    BadFormEncoding,
    CsrfCrossSite,
    CsrfTokenMissing,
    CsrfTokenInvalid,
    AccountSuspended,
    AdminNeedsVerified,
    AdminNeedsTwoStep,
    TooManyPasswordChecks,
    NotAMember,
    FormExpired,
    CodeWrong,
    InvitationNeedsVerified,
    TooManyEmails,
    PasskeyCancelled,
    PasskeyUnknown,
    PasskeyRejected,
    PasskeyExpired,
    PasskeyExists,
    PasskeyLimit,
    PasskeyLastWayIn,
    PasskeyBadName,
    BotCheckFailed,
}

impl Strings {
    /// The signed-in pages' text (the profile and organizations) in this language.
    pub fn account(&self) -> &'static account::AccountStrings {
        account::for_lang(self.lang)
    }

    /// Error pages' and form problems' text in this language.
    pub fn errors(&self) -> &'static errors::ErrorStrings {
        errors::for_lang(self.lang)
    }

    /// The email pages' and emails' text in this language.
    pub fn mail(&self) -> &'static mail::MailStrings {
        mail::for_lang(self.lang)
    }

    /// Signing in with other providers: this language's text.
    pub fn oauth(&self) -> &'static oauth::OauthStrings {
        oauth::for_lang(self.lang)
    }

    /// Passkeys' text in this language.
    pub fn passkey(&self) -> &'static passkey::PasskeyStrings {
        passkey::for_lang(self.lang)
    }

    /// The waitlist's text in this language.
    pub fn waitlist(&self) -> &'static waitlist::WaitlistStrings {
        waitlist::for_lang(self.lang)
    }

    /// The admin console's text in this language.
    pub fn admin(&self) -> &'static admin::AdminStrings {
        admin::for_lang(self.lang)
    }

    /// Two-step verification's text in this language.
    pub fn two_step(&self) -> &'static two_step::TwoStepStrings {
        two_step::for_lang(self.lang)
    }

    pub fn message(&self, message: Msg) -> &'static str {
        match message {
            Msg::FixErrors => self.errors().fix_errors,
            Msg::MissingCredentials => self.errors().missing_credentials,
            Msg::BadCredentials => self.errors().bad_credentials,
            Msg::LockedOut => self.errors().locked_out,
            Msg::LastAdmin => self.account().last_admin,
            Msg::ForbiddenOrg => self.account().forbidden_org,
            Msg::InvitationUnavailable => self.account().invitation_unavailable,
            Msg::InvitationWrongEmail => self.account().invitation_wrong_email,
            Msg::BadFormEncoding => self.errors().bad_form_encoding,
            Msg::CsrfCrossSite => self.errors().csrf_cross_site,
            Msg::CsrfTokenMissing => self.errors().csrf_token_missing,
            Msg::CsrfTokenInvalid => self.errors().csrf_token_invalid,
            Msg::AccountSuspended => self.errors().account_suspended,
            Msg::AdminNeedsVerified => self.admin().needs_verified,
            Msg::AdminNeedsTwoStep => self.admin().needs_two_step,
            Msg::TooManyPasswordChecks => self.errors().too_many_password_checks,
            Msg::NotAMember => self.errors().not_a_member,
            Msg::FormExpired => self.errors().form_expired,
            Msg::CodeWrong => self.mail().code_wrong,
            Msg::InvitationNeedsVerified => self.mail().invitation_needs_verified,
            Msg::TooManyEmails => self.mail().too_many_emails,
            Msg::PasskeyCancelled => self.passkey_cancelled,
            Msg::PasskeyUnknown => self.passkey().unknown,
            Msg::PasskeyRejected => self.passkey().rejected,
            Msg::PasskeyExpired => self.passkey().expired,
            Msg::PasskeyExists => self.passkey().exists,
            Msg::PasskeyLimit => self.passkey().limit_reached,
            Msg::PasskeyLastWayIn => self.passkey().last_way_in,
            Msg::PasskeyBadName => self.passkey().bad_name,
            Msg::BotCheckFailed => self.errors().bot_check_failed,
        }
    }
}

/// Every language the portal speaks, English first (the fallback), then those packed, in the
/// order of each table's packed members (`packed_members!`).
const LANGUAGE_CODES: [&str; 6] = ["en", "fr", "de", "es", "pt-BR", "ja"];

static PACKED: [Packed<Strings>; 5] = packed_members!("strings");

/// The supported language for a BCP 47 tag: by the whole tag (`pt-BR`), else by its primary
/// subtag (`fr-CA` is French, `pt-PT` the Portuguese we have).
fn language_for_tag(tag: &str) -> Option<&'static str> {
    let tag = tag.trim();
    if tag.is_empty() {
        return None;
    }
    let primary = tag.split(['-', '_']).next().unwrap_or_default();
    LANGUAGE_CODES
        .iter()
        .find(|code| code.eq_ignore_ascii_case(tag))
        .or_else(|| {
            LANGUAGE_CODES
                .iter()
                .find(|code| code.split('-').next().unwrap_or_default().eq_ignore_ascii_case(primary))
        })
        .copied()
}

impl Strings {
    /// Picks the best language's code from `Accept-Language` (RFC 9110: weights, then order);
    /// English when nothing matches. Only the primary subtag counts (`fr-CA` is French).
    pub fn negotiate(accept_language: Option<&str>) -> &'static str {
        let mut best: Option<(&'static str, u16)> = None;
        for entry in accept_language.unwrap_or_default().split(',').take(32) {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let weight = parts
                .find_map(crate::qvalue::q_parameter)
                .map_or(Some(1000), crate::qvalue::thousandths)
                .unwrap_or(0);
            let Some(code) = language_for_tag(tag) else {
                continue;
            };
            if weight > 0 && best.is_none_or(|(_, best_weight)| weight > best_weight) {
                best = Some((code, weight));
            }
        }
        best.map_or(ENGLISH.lang, |(code, _)| code)
    }

    /// The code of the first supported language in an OIDC `ui_locales` value (space-separated tags, most
    /// preferred first); `None` when none is supported. Bounded like `Accept-Language`.
    pub fn from_ui_locales(ui_locales: &str) -> Option<&'static str> {
        ui_locales.split([' ', '+', ',']).take(32).find_map(language_for_tag)
    }

    /// `code` when it names a language exactly (as stored in the language cookie).
    pub fn by_code(code: &str) -> Option<&'static str> {
        LANGUAGE_CODES.iter().find(|known| **known == code).copied()
    }

    /// The pages' text in a language of [`LANGUAGE_CODES`] (English for any other code). Other
    /// languages than English are inflated on first use, so a request picks its language code
    /// first and asks for the text only when it draws something.
    pub fn of(code: &str) -> &'static Strings {
        packed::pick(code, &ENGLISH, &PACKED)
    }

    /// A Unix time as this language writes a date and time (always UTC, said so).
    pub fn format_date(&self, seconds: i64) -> String {
        let civil = super::civil_time(seconds);
        self.date_pattern
            .replace("{year}", &civil.year.to_string())
            .replace("{month}", &civil.month.to_string())
            .replace(
                "{mon}",
                self.months[usize::try_from(civil.month - 1).unwrap_or_default()],
            )
            .replace("{day}", &civil.day.to_string())
            .replace("{time}", &format!("{:02}:{:02}", civil.hour, civil.minute))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every language's source table, in the order of [`LANGUAGE_CODES`].
    const LANGUAGES: [&Strings; 6] = [
        &ENGLISH,
        &fr::FRENCH,
        &de::GERMAN,
        &es::SPANISH,
        &pt_br::PORTUGUESE_BRAZIL,
        &ja::JAPANESE,
    ];

    #[test]
    fn packed_translations_match_their_sources() {
        let [_, sources @ ..] = LANGUAGES;
        packed::tests::check_members("strings", sources, &PACKED);
        let codes: Vec<_> = LANGUAGES.iter().map(|strings| strings.lang).collect();
        assert_eq!(codes, LANGUAGE_CODES);
    }

    #[test]
    fn negotiates_by_weight_then_order() {
        assert_eq!(Strings::negotiate(None), "en");
        assert_eq!(Strings::negotiate(Some("fr-CA,fr;q=0.9,en;q=0.8")), "fr");
        assert_eq!(Strings::negotiate(Some("en-US,en;q=0.9,fr;q=0.8")), "en");
        assert_eq!(Strings::negotiate(Some("de,fr;q=0.5")), "de");
        assert_eq!(Strings::negotiate(Some("nl, ja")), "ja");
        assert_eq!(Strings::negotiate(Some("pt-PT, es;q=0.9")), "pt-BR");
        assert_eq!(Strings::negotiate(Some("pt-br")), "pt-BR");
        assert_eq!(Strings::negotiate(Some("es-419")), "es");
        assert_eq!(Strings::negotiate(Some("nl, zh")), "en");
        assert_eq!(Strings::negotiate(Some("fr;q=0, en;q=0.1")), "en");
        assert_eq!(Strings::negotiate(Some("FR")), "fr");
        assert_eq!(Strings::negotiate(Some("fr;q=abc")), "en");
        // Parameter names are case-insensitive (RFC 9110 §5.6.6), and spaces may surround `;`.
        assert_eq!(Strings::negotiate(Some("fr;Q=0, de ; q = 0.5")), "de");
        assert_eq!(Strings::negotiate(Some(";;;,,,q=")), "en");
    }

    #[test]
    fn ui_locales_takes_the_first_supported_tag() {
        assert_eq!(Strings::from_ui_locales("ja"), Some("ja"));
        assert_eq!(Strings::from_ui_locales("nl pt-BR de"), Some("pt-BR"));
        assert_eq!(Strings::from_ui_locales("de-AT"), Some("de"));
        assert!(Strings::from_ui_locales("nl zh").is_none());
        assert!(Strings::from_ui_locales("").is_none());
        assert!(Strings::from_ui_locales("   ").is_none());
    }

    #[test]
    fn a_language_cookie_must_name_a_language_exactly() {
        assert_eq!(Strings::by_code("pt-BR"), Some("pt-BR"));
        assert!(Strings::by_code("pt").is_none());
        assert!(Strings::by_code("<script>").is_none());
    }

    #[test]
    fn dates_are_written_the_way_each_language_writes_them() {
        let moment = 1_795_451_220; // 2026-11-23 16:27 UTC
        let written: Vec<_> = LANGUAGES.iter().map(|s| (s.lang, s.format_date(moment))).collect();
        assert_eq!(
            written,
            [
                ("en", "Nov 23, 2026, 16:27 UTC".to_owned()),
                ("fr", "23 nov. 2026, 16:27 UTC".to_owned()),
                ("de", "23. Nov. 2026, 16:27 UTC".to_owned()),
                ("es", "23 nov 2026, 16:27 UTC".to_owned()),
                ("pt-BR", "23 de nov. de 2026, 16:27 UTC".to_owned()),
                ("ja", "2026年11月23日 16:27 UTC".to_owned()),
            ]
        );
        assert_eq!(de::GERMAN.format_date(951_782_400), "29. Feb. 2000, 00:00 UTC");
    }

    #[test]
    fn each_language_has_its_own_delete_phrase_and_translates_its_pages() {
        for (i, strings) in LANGUAGES.iter().enumerate() {
            for other in &LANGUAGES[i + 1..] {
                assert_ne!(
                    strings.delete_phrase, other.delete_phrase,
                    "{} {}",
                    strings.lang, other.lang
                );
                assert_ne!(
                    strings.sign_in_lead, other.sign_in_lead,
                    "{} {}",
                    strings.lang, other.lang
                );
                assert_ne!(
                    strings.account().delete_lead,
                    other.account().delete_lead,
                    "{} {}",
                    strings.lang,
                    other.lang
                );
            }
        }
    }

    #[test]
    fn every_translation_keeps_the_placeholders() {
        for strings in LANGUAGES {
            assert!(strings.errors().locked_out.contains("{minutes}"), "{}", strings.lang);
            assert!(
                strings.account().delete_confirmation_label.contains("{phrase}"),
                "{}",
                strings.lang
            );
            assert!(
                strings.account().delete_org_confirmation_label.contains("{slug}"),
                "{}",
                strings.lang
            );
            assert!(
                strings.account().invitation_lead.contains("{org}")
                    && strings.account().invitation_lead.contains("{role}")
            );
            assert!(strings.invitation_for.contains("{email}") && strings.invitation_for.contains("{role}"));
            for with_count in [
                strings.account().time_minutes_ago,
                strings.account().time_hours_ago,
                strings.account().time_days_ago,
            ] {
                assert!(with_count.contains("{n}"), "{}", strings.lang);
            }
            assert!(
                strings.account().revoke_session_context.contains("{what}"),
                "{}",
                strings.lang
            );
            assert!(strings.password_hint.contains("{n}") && strings.errors().password_too_short.contains("{n}"));
            assert!(!strings.password_hint_without_length.contains('{'), "{}", strings.lang);
            assert!(strings.date_pattern.contains("{year}") && strings.date_pattern.contains("{time}"));
        }
    }
}
