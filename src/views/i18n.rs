//! User-facing text. Pages never hold literal English: they read it from a [`Strings`] table, so a
//! translation is one more table and one more arm in [`Strings::negotiate`].

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

    pub identifier_label: &'static str,
    pub email_label: &'static str,
    pub password_label: &'static str,
    pub password_hint: &'static str,
    pub first_name_label: &'static str,
    pub last_name_label: &'static str,
    pub username_label: &'static str,
    pub username_hint: &'static str,
    pub phone_label: &'static str,
    pub phone_hint: &'static str,

    pub not_found_title: &'static str,
    pub not_found_lead: &'static str,
    pub method_not_allowed_title: &'static str,
    pub method_not_allowed_lead: &'static str,
    pub config_error_title: &'static str,
    pub config_error_lead: &'static str,
    pub unauthorized_title: &'static str,
    pub unauthorized_lead: &'static str,
    pub go_to_sign_in: &'static str,
    pub error_title: &'static str,
}

pub const ENGLISH: Strings = Strings {
    lang: "en",
    skip_to_content: "Skip to content",
    back_to_app: "Back to the application",
    optional: "(optional)",
    footer: "Secured by account-portal",
    dev_notice_heading: "Development notice",

    sign_in_title: "Sign in",
    sign_in_lead: "Welcome back. Sign in to continue.",
    sign_in_button: "Continue",
    no_account: "No account yet?",
    sign_up_link: "Sign up",
    sign_up_title: "Create your account",
    sign_up_lead: "Welcome. Fill in the details to get started.",
    sign_up_button: "Create account",
    have_account: "Already have an account?",
    sign_in_link: "Sign in",

    identifier_label: "Email address or username",
    email_label: "Email address",
    password_label: "Password",
    password_hint: "At least 8 characters.",
    first_name_label: "First name",
    last_name_label: "Last name",
    username_label: "Username",
    username_hint: "3 to 64 letters, digits, '-', '_' or '.'.",
    phone_label: "Phone number",
    phone_hint: "International format, for example +14155550123.",

    not_found_title: "Page not found",
    not_found_lead: "There is no page at this address.",
    method_not_allowed_title: "Method not allowed",
    method_not_allowed_lead: "This page does not accept that kind of request.",
    config_error_title: "Configuration error",
    config_error_lead: "The portal's Spin variables have problems. Fix them and reload:",
    unauthorized_title: "Sign-in not allowed",
    unauthorized_lead: "This sign-in was not authorized. If you think this is a mistake, contact the application's administrator.",
    go_to_sign_in: "Go to sign in",
    error_title: "Something went wrong",
};

impl Strings {
    /// Picks the best language from `Accept-Language`; English when nothing else matches.
    pub fn negotiate(_accept_language: Option<&str>) -> &'static Strings {
        &ENGLISH
    }
}
