//! HTML layout and components. Every page is rendered with maud, which escapes every
//! interpolated value, so markup cannot be injected through user input, query parameters or
//! configuration.

pub mod email;
pub mod i18n;
pub mod theme;

use std::borrow::Cow;

use maud::{DOCTYPE, Markup, html};

use crate::config::Branding;
pub use i18n::{Msg, Strings};

/// The portal's stylesheet, embedded gzip-compressed (`crate::gzip`; regenerate it with
/// `gzip -9 -n -c src/views/portal.css > src/views/portal.css.gz`; a test fails when it is stale).
pub const PORTAL_CSS_GZIP: &[u8] = include_bytes!("portal.css.gz");

/// FNV-1a, enough to give each stylesheet version its own URL so it can be cached forever.
pub const fn fingerprint(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

// The compressed bytes change whenever the stylesheet does, so they fingerprint it.
const PORTAL_CSS_FINGERPRINT: u64 = fingerprint(PORTAL_CSS_GZIP);

/// The portal's one script, progressive enhancement only (show password, no double submit,
/// copy buttons), embedded gzip-compressed like the stylesheet (`src/views/portal.js.gz`).
pub const PORTAL_JS_GZIP: &[u8] = include_bytes!("portal.js.gz");

const PORTAL_JS_FINGERPRINT: u64 = fingerprint(PORTAL_JS_GZIP);

pub fn portal_js_path() -> String {
    format!("/assets/portal-{PORTAL_JS_FINGERPRINT:016x}.js")
}

/// The favicon: a key on the brand colour's neutral ground, the same for every deployment.
pub const FAVICON_SVG: &str = include_str!("favicon.svg");

const FAVICON_FINGERPRINT: u64 = fingerprint(FAVICON_SVG.as_bytes());

pub fn favicon_path() -> String {
    format!("/assets/favicon-{FAVICON_FINGERPRINT:016x}.svg")
}

pub fn portal_css_path() -> String {
    format!("/assets/portal-{PORTAL_CSS_FINGERPRINT:016x}.css")
}

/// The theme stylesheet's URL carries the configured primary colour itself (`#4f46e5` is
/// `/assets/theme-4f46e5.css`), so serving it reads no setting and the URL changes with the
/// colour, which lets browsers cache it forever.
pub fn theme_css_path(branding: &Branding) -> String {
    format!("/assets/theme-{}.css", branding.primary_color.trim_start_matches('#'))
}

/// The theme stylesheet for a path from [`theme_css_path`]; `None` unless the path names a hex
/// colour (`#rgb` or `#rrggbb`), so nothing but a colour ever reaches the CSS.
pub fn theme_css_for_path(path: &str) -> Option<String> {
    let hex = path.strip_prefix("/assets/theme-")?.strip_suffix(".css")?;
    let valid = matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    if !valid {
        return None;
    }
    theme::Rgb::parse(hex).map(|primary| theme::Palette::from_primary(primary).css())
}

/// What every page shows around its content.
pub struct Chrome<'a> {
    pub branding: &'a Branding,
    pub strings: &'a Strings,
    /// Development-mode notices (rejected redirect candidates, configuration problems).
    pub dev_notices: &'a [String],
    /// "Back to the app" link: the validated redirect target, else `home_url`.
    pub back_to_app: Option<&'a str>,
    /// Where the logo and name lead: the validated `home_url`.
    pub home: Option<&'a str>,
    /// A success message after a post/redirect/get.
    pub flash: Option<&'a str>,
}

/// The complete document for one page.
pub fn page(chrome: &Chrome<'_>, title: &str, wide: bool, content: Markup) -> String {
    let branding = chrome.branding;
    let strings = chrome.strings;
    let brand = html! {
        @if let Some(logo) = &branding.logo_url { img src=(logo) alt=""; }
        span.name { (branding.application_name) }
    };
    html! {
        (DOCTYPE)
        html lang=(strings.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " · " (branding.application_name) }
                link rel="stylesheet" href=(portal_css_path());
                link rel="stylesheet" href=(theme_css_path(branding));
                link rel="icon" href=(favicon_path()) type="image/svg+xml";
                script src=(portal_js_path()) defer {}
            }
            body {
                a.skip-link href="#content" { (strings.skip_to_content) }
                header.brand {
                    @if let Some(home) = chrome.home {
                        a.home href=(home) { (brand) }
                    } @else {
                        (brand)
                    }
                }
                main id="content" class=[wide.then_some("wide")] {
                    @if let Some(href) = chrome.back_to_app {
                        a.back href=(href) { "← " (strings.back_to_app) }
                    }
                    @if !chrome.dev_notices.is_empty() {
                        div.dev-notice role="status" {
                            strong { (strings.dev_notice_heading) }
                            ul {
                                @for notice in chrome.dev_notices { li { (notice) } }
                            }
                        }
                    }
                    @if let Some(message) = chrome.flash {
                        p.alert.success id="notice" role="status" { (message) }
                    }
                    (content)
                }
                footer { (strings.footer) }
            }
        }
    }
    .into_string()
}

/// One labelled input with its error tied to it by `aria-describedby`.
pub struct Field<'a> {
    pub name: &'a str,
    /// The input's id when the page has another field of the same name (`field-<name>` else).
    pub id: Option<String>,
    pub label: &'a str,
    pub kind: &'a str,
    pub autocomplete: &'a str,
    pub value: &'a str,
    pub error: Option<Cow<'a, str>>,
    pub required: bool,
    pub max_length: usize,
    pub hint: Option<Cow<'a, str>>,
    /// A one-time code of digits: numeric keyboard, large spaced input, focus on arrival.
    pub numeric_code: bool,
}

impl<'a> Field<'a> {
    pub fn new(name: &'a str, label: &'a str, kind: &'a str, autocomplete: &'a str) -> Self {
        Self {
            name,
            id: None,
            label,
            kind,
            autocomplete,
            value: "",
            error: None,
            required: false,
            max_length: 256,
            hint: None,
            numeric_code: false,
        }
    }

    /// A code of digits from an email or an app: the numeric keyboard on phones, one-time-code
    /// autofill, a large spaced input, and the focus when the page opens.
    pub fn numeric_code(mut self) -> Self {
        self.numeric_code = true;
        self
    }

    /// For a page with several fields of this name: each form's own id.
    pub fn id(mut self, id: String) -> Self {
        self.id = Some(id);
        self
    }

    pub fn value(mut self, value: &'a str) -> Self {
        self.value = value;
        self
    }

    pub fn error(mut self, error: Option<impl Into<Cow<'a, str>>>) -> Self {
        self.error = error.map(Into::into);
        self
    }

    pub fn required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    pub fn max_length(mut self, max_length: usize) -> Self {
        self.max_length = max_length;
        self
    }

    pub fn hint(mut self, hint: impl Into<Cow<'a, str>>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn render(&self, strings: &Strings) -> Markup {
        let id = self.id.clone().unwrap_or_else(|| format!("field-{}", self.name));
        let error_id = format!("{id}-error");
        let hint_id = format!("{id}-hint");
        let mut described_by = Vec::new();
        if self.hint.is_some() {
            described_by.push(hint_id.as_str());
        }
        if self.error.is_some() {
            described_by.push(error_id.as_str());
        }
        let described_by = (!described_by.is_empty()).then(|| described_by.join(" "));
        let is_password = self.kind == "password";
        // Identifiers are typed exactly: no capital letter or spelling fix from the keyboard.
        let is_identifier =
            self.kind == "email" || matches!(self.autocomplete, "username" | "email") || self.name == "slug";
        html! {
            div.field {
                label for=(id) {
                    (self.label)
                    @if !self.required { " " span.optional { (strings.optional) } }
                }
                input id=(id) name=(self.name) type=(self.kind) autocomplete=(self.autocomplete)
                    class=[self.numeric_code.then_some("code-input")]
                    inputmode=[self.numeric_code.then_some("numeric")]
                    autofocus[self.numeric_code && self.error.is_none()]
                    value=[(!is_password && !self.value.is_empty()).then_some(self.value)]
                    maxlength=(self.max_length)
                    required[self.required]
                    aria-invalid=[self.error.as_ref().map(|_| "true")]
                    aria-describedby=[described_by]
                    autocapitalize=[is_identifier.then_some("none")]
                    spellcheck=[is_identifier.then_some("false")]
                    data-show=[is_password.then_some(strings.show_password)]
                    data-hide=[is_password.then_some(strings.hide_password)];
                @if let Some(hint) = &self.hint {
                    p.hint id=(hint_id) { (hint) }
                }
                @if let Some(error) = &self.error {
                    p.field-error id=(error_id) { (error) }
                }
            }
        }
    }
}

/// An email address: kept whole, broken only when it is longer than its line.
pub fn email(address: &str) -> Markup {
    html! { span.mono.email { (address) } }
}

/// Text only assistive technology reads: what a repeated button acts on ("Revoke" … "the
/// session on Firefox").
pub fn hidden_context(text: &str) -> Markup {
    html! { span.visually-hidden { " " (text) } }
}

/// A hidden input.
pub fn hidden(name: &str, value: &str) -> Markup {
    html! { input type="hidden" name=(name) value=(value); }
}

/// What a failed form says above its fields: the message, then a link to each field with a
/// problem. It takes the focus when the page loads (no script needed), so a keyboard or screen
/// reader user lands on it. `way_out` (`(href, text)`) follows the message: a locked sign-in's
/// password reset.
pub fn error_summary(message: &str, links: &[(String, String)], way_out: Option<(&str, &str)>) -> Markup {
    html! {
        div.alert.error role="alert" tabindex="-1" autofocus {
            p {
                (message)
                @if let Some((href, text)) = way_out { " " a href=(href) { (text) } }
            }
            @if !links.is_empty() {
                ul {
                    @for (id, text) in links {
                        li { a href=(format!("#{id}")) { (text) } }
                    }
                }
            }
        }
    }
}

/// How long ago `then` was, in words ("5 min ago"), inside a `<time>` that carries the exact
/// moment (its `title` shows it on hover).
pub fn relative_time(strings: &Strings, now: i64, then: i64) -> Markup {
    let elapsed = (now - then).max(0);
    let text = match elapsed {
        0..60 => strings.account().time_just_now.to_owned(),
        60..3_600 => strings
            .account()
            .time_minutes_ago
            .replace("{n}", &(elapsed / 60).to_string()),
        3_600..86_400 => strings
            .account()
            .time_hours_ago
            .replace("{n}", &(elapsed / 3_600).to_string()),
        86_400..172_800 => strings.time_yesterday.to_owned(),
        _ => strings
            .account()
            .time_days_ago
            .replace("{n}", &(elapsed / 86_400).to_string()),
    };
    let exact = strings.format_date(then);
    html! { time datetime=(iso_timestamp(then)) title=(exact) { (text) } }
}

/// A Unix time split into its UTC calendar date and time of day.
pub struct CivilTime {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
}

/// Splits a Unix time into its UTC date and time (proleptic Gregorian calendar).
pub fn civil_time(seconds: i64) -> CivilTime {
    let days = seconds.div_euclid(86_400);
    let minutes_of_day = seconds.rem_euclid(86_400) / 60;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    CivilTime {
        year: year_of_era + era * 400 + i64::from(month <= 2),
        month,
        day,
        hour: minutes_of_day / 60,
        minute: minutes_of_day % 60,
    }
}

/// A Unix time as ISO 8601 UTC to the minute, `2026-11-23T17:27Z`, for `<time datetime>`.
fn iso_timestamp(seconds: i64) -> String {
    let t = civil_time(seconds);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_theme_stylesheet_comes_from_its_path_and_holds_only_a_colour() {
        let branding = Branding {
            application_name: "x".into(),
            logo_url: None,
            primary_color: "#4f46e5".into(),
        };
        let path = theme_css_path(&branding);
        assert_eq!(path, "/assets/theme-4f46e5.css");
        let css = theme_css_for_path(&path).unwrap();
        assert!(
            css.starts_with(":root{--primary:#4f46e5;--on-primary:#ffffff;"),
            "{css}"
        );
        for injected in [
            "/assets/theme-4f46e5;}body{display:none.css",
            "/assets/theme-ABC.css",
            "/assets/theme-12345.css",
            "/assets/theme-.css",
            "/assets/portal-4f46e5.css",
        ] {
            assert_eq!(theme_css_for_path(injected), None, "{injected}");
        }
    }

    #[test]
    fn formats_timestamps_in_utc() {
        assert_eq!(iso_timestamp(0), "1970-01-01T00:00Z");
        assert_eq!(iso_timestamp(951_782_400), "2000-02-29T00:00Z");
        assert_eq!(iso_timestamp(1_795_451_220), "2026-11-23T16:27Z");
        assert_eq!(iso_timestamp(-60), "1969-12-31T23:59Z");
    }
}

/// "Chrome on macOS": the browser and system a user agent names, for the sessions list. Unknown
/// agents read as `None` (the page says "unknown device").
pub fn device(user_agent: &str) -> Option<String> {
    // Order matters: Edge and Opera say "Chrome" too, Chrome says "Safari", Android says "Linux".
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("CriOS/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| name);
    let system = [
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(browser), Some(system)) => Some(format!("{browser} on {system}")),
        (Some(name), None) | (None, Some(name)) => Some(name.to_owned()),
        (None, None) => None,
    }
}

/// A stored client address as people read it: without its port (`203.0.113.7:51000` is
/// `203.0.113.7`, `[::1]:5` is `::1`); anything that is not an IP address is shown as stored.
pub fn address_without_port(addr: &str) -> String {
    crate::security::client_addr::parse_address(addr).unwrap_or_else(|| addr.to_owned())
}

#[cfg(test)]
mod device_tests {
    use super::*;

    #[test]
    fn user_agents_read_as_browser_on_system() {
        let mac_chrome = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(device(mac_chrome).as_deref(), Some("Chrome on macOS"));
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
        assert_eq!(device(edge).as_deref(), Some("Edge on Windows"));
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(device(iphone).as_deref(), Some("Safari on iOS"));
        let android =
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36";
        assert_eq!(device(android).as_deref(), Some("Chrome on Android"));
        assert_eq!(device("curl/8.5.0"), None);
    }

    #[test]
    fn addresses_lose_their_port() {
        assert_eq!(address_without_port("203.0.113.7:51000"), "203.0.113.7");
        assert_eq!(address_without_port("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(address_without_port("2001:db8::1"), "2001:db8::1");
        assert_eq!(address_without_port("10.0.0.1"), "10.0.0.1");
        assert_eq!(address_without_port("unknown"), "unknown");
    }
}
