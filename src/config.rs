//! Typed settings read from Spin variables, validated on every request.
//!
//! A malformed value is never silently ignored: it becomes a [`ConfigError`]. Development mode
//! shows those errors as a page so the operator fixes them at once; production logs them and
//! carries on with the safe reading of that one setting (the stricter environment, no fallback
//! URL, no extra allowed origin, the default branding).

use std::cell::{OnceCell, RefCell};

use url::Url;

use crate::domain::EmailAddress;

use crate::outbound::email::{ApiKey, Provider as EmailProvider, ProviderConfig};
use crate::outbound::oidc::{Provider, ProviderKind};

use crate::redirect::{self, Flow, OriginPattern};
use crate::security::lockout::LockPolicy;
use crate::security::password;
use crate::security::secret::{self, Secret};
use crate::security::sign_up_policy::{self, SignUpPolicy};
use crate::security::token::Scalar;

/// Where variable values come from: Spin's variables interface in the component, a map in tests.
pub trait Variables {
    /// `Ok(None)` when the variable is not defined for the component.
    fn get(&self, name: &str) -> Result<Option<String>, String>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// How an optional sign-up attribute is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldMode {
    Off,
    Optional,
    Required,
}

impl FieldMode {
    pub fn is_shown(self) -> bool {
        self != Self::Off
    }
}

#[derive(Debug, Clone)]
pub struct Branding {
    pub application_name: String,
    pub logo_url: Option<String>,
    /// `#rgb` or `#rrggbb`, validated so it is safe to place in CSS.
    pub primary_color: String,
}

/// The sign-up attributes beyond email address and password.
#[derive(Debug, Clone, Copy)]
pub struct SignUpFields {
    pub first_name: FieldMode,
    pub last_name: FieldMode,
    pub username: FieldMode,
    pub phone_number: FieldMode,
}

/// The portal's settings for one request, read from Spin variables.
///
/// Every lookup of a variable costs the host a trip through its variable providers (on Spin 4.0.2
/// more than a whole small request once there are two or more), so in production each setting
/// is read the first time a page asks for it, once per request: a page resolves only what it
/// uses, and the health check and stylesheets resolve nothing. Development mode reads and
/// validates every variable up front, so the configuration error page can list them all.
pub struct Settings<'v> {
    variables: &'v dyn Variables,
    environment: OnceCell<Environment>,
    errors: RefCell<Vec<ConfigError>>,
    instance_domain: OnceCell<Option<String>>,
    public_origin: OnceCell<Option<Url>>,
    home_url: OnceCell<Option<String>>,
    flow_fallbacks: [OnceCell<Option<String>>; FLOW_FALLBACKS.len()],
    allowed_redirect_origins: OnceCell<Vec<OriginPattern>>,
    trust_requesting_origin: OnceCell<bool>,
    branding: OnceCell<Branding>,
    sign_up_fields: OnceCell<SignUpFields>,
    portal_session_lifetime: OnceCell<i64>,
    session_token_lifetime: OnceCell<i64>,
    session_token_audience: OnceCell<Option<String>>,
    lock_policy: OnceCell<LockPolicy>,
    password_checks_per_minute: OnceCell<i64>,
    api_requests_per_minute: OnceCell<i64>,
    session_signing_key: OnceCell<Option<Scalar>>,
    secret_key: OnceCell<Option<Secret>>,
    previous_secret_keys: OnceCell<Vec<Secret>>,
    api_secret_keys: OnceCell<Vec<crate::security::api_key::ApiKey>>,
    webhooks: OnceCell<Option<WebhookSettings>>,
    admin_emails: OnceCell<Vec<EmailAddress>>,
    session_token_public_metadata: OnceCell<bool>,
    client_ip_header: OnceCell<Option<String>>,
    development_hosts: OnceCell<Vec<String>>,
    legal_links: OnceCell<LegalLinks>,
    email: OnceCell<EmailSettings>,
    email_verification: OnceCell<bool>,
    sign_in_with_email_code: OnceCell<bool>,
    mfa_required: OnceCell<bool>,
    passkeys: OnceCell<PasskeySettings>,
    sign_up_policy: OnceCell<SignUpPolicy>,
    sign_up_mode: OnceCell<SignUpMode>,
    breach_check: OnceCell<BreachCheck>,
    password_min_length: OnceCell<usize>,
    turnstile_site_key: OnceCell<Option<String>>,
    bot_check: OnceCell<BotCheck>,
    oauth_providers: OnceCell<Vec<ListedProvider>>,
    oauth: OnceCell<Vec<Provider>>,
    emails_per_address_per_hour: OnceCell<usize>,
}

/// Who may sign up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignUpMode {
    Public,
    /// Only people with an invitation.
    Restricted,
    /// Only people with an invitation, which the operator sends by approving the waitlist
    /// (`/waitlist`).
    Waitlist,
}

impl SignUpMode {
    /// Whether sign-up needs an invitation (restricted and waitlist).
    pub fn needs_invitation(self) -> bool {
        self != Self::Public
    }
}

/// What a breached new password does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreachMode {
    /// Refused (the default).
    Block,
    /// Accepted, and logged.
    Warn,
    /// Not checked.
    Off,
}

/// How new passwords are checked against known breaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachCheck {
    pub mode: BreachMode,
    /// Refuse new passwords while the service cannot be asked (default: accept, and log it).
    pub fail_closed: bool,
    /// The range API's origin (Have I Been Pwned's; another for a mirror or a test server).
    pub api_origin: String,
}

/// What a form with bot protection does when the check cannot be made: the visitor's browser
/// runs no JavaScript (no token), or Cloudflare cannot be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotCheckFallback {
    /// The form is refused (the default: a script sends no token either).
    Refuse,
    /// The form goes through, with the rate limits as they are (and it is logged).
    Allow,
}

/// Cloudflare Turnstile's server side, read only where a protected form is posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotCheck {
    pub secret_key: Option<String>,
    /// `siteverify`'s origin (Cloudflare's; another for a test server).
    pub api_origin: String,
    pub fallback: BotCheckFallback,
}

/// A provider listed in `oauth_providers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedProvider {
    pub kind: ProviderKind,
    /// The generic provider's display name.
    pub label: Option<String>,
}

impl ListedProvider {
    pub fn name(&self) -> &str {
        self.label.as_deref().unwrap_or(self.kind.brand())
    }
}

/// The WebAuthn relying party's settings.
#[derive(Debug, Clone, Default)]
pub struct PasskeySettings {
    /// `passkey_rp_id`; the portal's host when unset. Checked against the host where used.
    pub rp_id: Option<String>,
    /// `passkey_origins`: origins besides the portal's own a ceremony may come from.
    pub origins: Vec<String>,
}

/// How the portal sends email, and which email features are on.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub delivery: Delivery,
    /// `email_from`: the sender every email carries.
    pub from: String,
    /// `new_device_notice`: email the account when a browser it never used signs in. Unset means
    /// on whenever email can be delivered.
    pub new_device_notice: bool,
}

/// Where emails go.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// Through the configured provider's API.
    Provider(ProviderConfig),
    /// Development without a provider: stored for `/dev/outbox` and printed to the log.
    DevOutbox,
    /// Production without a provider: nothing can be sent (email features are a configuration
    /// error).
    Unavailable,
}

impl EmailSettings {
    pub fn can_send(&self) -> bool {
        !matches!(self.delivery, Delivery::Unavailable)
    }
}

/// The value of `email_api_origin` that means "the provider's public API". Spin (up to 4.0.2)
/// refuses an `allowed_outbound_hosts` template that resolves to an empty string, so the variable
/// needs a real origin as its default: `.invalid` is reserved (RFC 2606) and never resolves, so
/// granting it grants nothing.
pub const DEFAULT_EMAIL_API_ORIGIN: &str = "https://default.invalid";

/// `terms_url` and `privacy_url`: what sign-up links to, when set.
#[derive(Debug, Clone, Default)]
pub struct LegalLinks {
    pub terms: Option<String>,
    pub privacy: Option<String>,
}

/// Shows what this request has read; secrets print as `***`.
impl std::fmt::Debug for Settings<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("environment", &self.environment.get())
            .field("public_origin", &self.public_origin.get())
            .field("secret_key", &self.secret_key.get())
            .field("previous_secret_keys", &self.previous_secret_keys.get())
            .field("session_signing_key", &self.session_signing_key.get())
            .finish_non_exhaustive()
    }
}

impl redirect::OriginRules for Settings<'_> {
    fn instance_domain(&self) -> Option<&str> {
        Settings::instance_domain(self)
    }

    fn allowed_origins(&self) -> &[OriginPattern] {
        self.allowed_redirect_origins()
    }

    fn trust_requesting_origin(&self) -> bool {
        Settings::trust_requesting_origin(self)
    }
}

impl redirect::FallbackSource for Settings<'_> {
    fn flow_url(&self, flow: Flow) -> Option<&str> {
        self.flow_fallback(flow)
    }

    fn home_url(&self) -> Option<&str> {
        Settings::home_url(self)
    }
}

/// The flows with a fallback variable, in the order of `Settings::flow_fallbacks`.
const FLOW_FALLBACKS: [(Flow, &str); 5] = [
    (Flow::SignIn, "after_sign_in_url"),
    (Flow::SignUp, "after_sign_up_url"),
    (Flow::SignOut, "after_sign_out_url"),
    (Flow::CreateOrganization, "after_create_organization_url"),
    (Flow::LeaveOrganization, "after_leave_organization_url"),
];

/// One malformed variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl ConfigError {
    /// Errors that stop a production portal from serving anything: without its keys it would
    /// either refuse every form or fall back to keys a database copy reveals.
    pub fn is_fatal_in_production(&self) -> bool {
        matches!(
            self.variable,
            "secret_key" | "previous_secret_keys" | "session_signing_key" | "public_origin"
        )
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

/// Where signed webhooks go (`Settings::webhooks`).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub url: Url,
    pub secret: crate::security::webhook_signature::WebhookSecret,
}

pub const DEFAULT_APPLICATION_NAME: &str = "Account Portal";
pub const DEFAULT_PRIMARY_COLOR: &str = "#4f46e5";

impl<'v> Settings<'v> {
    /// Settings that read nothing until asked.
    pub fn new(variables: &'v dyn Variables) -> Self {
        Self {
            variables,
            environment: OnceCell::new(),
            errors: RefCell::new(Vec::new()),
            instance_domain: OnceCell::new(),
            public_origin: OnceCell::new(),
            home_url: OnceCell::new(),
            flow_fallbacks: Default::default(),
            allowed_redirect_origins: OnceCell::new(),
            trust_requesting_origin: OnceCell::new(),
            branding: OnceCell::new(),
            sign_up_fields: OnceCell::new(),
            portal_session_lifetime: OnceCell::new(),
            session_token_lifetime: OnceCell::new(),
            session_token_audience: OnceCell::new(),
            lock_policy: OnceCell::new(),
            password_checks_per_minute: OnceCell::new(),
            api_requests_per_minute: OnceCell::new(),
            session_signing_key: OnceCell::new(),
            secret_key: OnceCell::new(),
            previous_secret_keys: OnceCell::new(),
            api_secret_keys: OnceCell::new(),
            webhooks: OnceCell::new(),
            admin_emails: OnceCell::new(),
            session_token_public_metadata: OnceCell::new(),
            client_ip_header: OnceCell::new(),
            development_hosts: OnceCell::new(),
            legal_links: OnceCell::new(),
            email: OnceCell::new(),
            email_verification: OnceCell::new(),
            sign_in_with_email_code: OnceCell::new(),
            mfa_required: OnceCell::new(),
            passkeys: OnceCell::new(),
            sign_up_policy: OnceCell::new(),
            sign_up_mode: OnceCell::new(),
            breach_check: OnceCell::new(),
            password_min_length: OnceCell::new(),
            turnstile_site_key: OnceCell::new(),
            bot_check: OnceCell::new(),
            oauth_providers: OnceCell::new(),
            oauth: OnceCell::new(),
            emails_per_address_per_hour: OnceCell::new(),
        }
    }

    /// Reads `environment`, and in development every other variable too (validated for the
    /// configuration error page). Returns every error found, to log once.
    pub fn prepare(&self) -> Vec<ConfigError> {
        if self.is_development() {
            self.read_everything();
        }
        self.errors()
    }

    fn read_everything(&self) {
        self.instance_domain();
        self.public_origin();
        self.home_url();
        for (flow, _) in FLOW_FALLBACKS {
            self.flow_fallback(flow);
        }
        self.allowed_redirect_origins();
        self.trust_requesting_origin();
        self.branding();
        self.sign_up_fields();
        self.portal_session_lifetime();
        self.session_token_lifetime();
        self.session_token_audience();
        self.lock_policy();
        self.password_checks_per_minute();
        self.api_requests_per_minute();
        self.session_signing_key();
        self.secret_key();
        self.previous_secret_keys();
        self.api_secret_keys();
        self.webhooks();
        self.admin_emails();
        self.session_token_public_metadata();
        self.client_ip_header();
        self.development_hosts();
        self.legal_links();
        self.email();
        self.verification_required();
        self.sign_in_with_email_code();
        self.mfa_required();
        self.passkeys();
        self.sign_up_mode();
        self.sign_up_policy();
        self.breach_check();
        self.password_min_length();
        self.bot_check();
        self.oauth();
        self.emails_per_address_per_hour();
    }

    /// Every malformed variable found so far (in development: all of them).
    pub fn errors(&self) -> Vec<ConfigError> {
        self.errors.borrow().clone()
    }

    /// Reads one setting once: `read` runs on first use, and what it finds wrong is recorded
    /// (and logged at once in production, where no error page lists it; development logs what
    /// `prepare` returns).
    fn read<'s, T>(&self, cell: &'s OnceCell<T>, read: impl FnOnce(&mut Reader<'_>) -> T) -> &'s T {
        cell.get_or_init(|| {
            let mut reader = Reader::new(self.variables);
            let value = read(&mut reader);
            if self.environment.get() == Some(&Environment::Production) {
                for error in &reader.errors {
                    eprintln!("configuration error: {error}");
                }
            }
            self.errors.borrow_mut().extend(reader.errors);
            value
        })
    }

    /// `environment`: unset or malformed means production, the stricter reading.
    pub fn environment(&self) -> Environment {
        *self.environment.get_or_init(|| {
            let mut reader = Reader::new(self.variables);
            let environment = match reader.parse("environment", |value| match value {
                "development" => Ok(Environment::Development),
                "production" => Ok(Environment::Production),
                _ => Err("must be \"development\" or \"production\"".into()),
            }) {
                Some(Environment::Development) => Environment::Development,
                _ => Environment::Production,
            };
            self.errors.borrow_mut().extend(reader.errors);
            environment
        })
    }

    pub fn is_development(&self) -> bool {
        self.environment() == Environment::Development
    }

    /// Production, if this request has already read `environment` (a response that read no
    /// settings does not read it just to decide a header).
    pub fn is_known_production(&self) -> bool {
        self.environment.get() == Some(&Environment::Production)
    }

    pub fn instance_domain(&self) -> Option<&str> {
        self.read(&self.instance_domain, |r| {
            r.parse("instance_domain", parse_instance_domain)
        })
        .as_deref()
    }

    /// `public_origin`: the portal's URL as browsers see it. Required in production: every link
    /// the portal emails (reset, sign-in code, verification, invitation, new device) is built
    /// from it, never from the request's `Host`, which whoever sends the request chooses (an
    /// attacker asking for a reset of the victim's address with `Host: evil.example` would
    /// otherwise mail the victim a live code link to the attacker).
    pub fn public_origin(&self) -> Option<&Url> {
        let production = !self.is_development();
        self.read(&self.public_origin, |r| {
            let origin = r.parse("public_origin", |value| {
                let origin = parse_public_origin(value)?;
                if production && origin.scheme() != "https" {
                    // Secure and `__Host-` cookies are refused over plain http.
                    return Err("must be an https origin in production".into());
                }
                Ok(origin)
            });
            if production && origin.is_none() && !r.errors.iter().any(|e| e.variable == "public_origin") {
                r.errors.push(ConfigError {
                    variable: "public_origin",
                    message: "is required in production: set it to the portal's URL as browsers see it \
                              (https://accounts.example.com); emailed links are built from it"
                        .into(),
                });
            }
            origin
        })
        .as_ref()
    }

    pub fn home_url(&self) -> Option<&str> {
        self.read(&self.home_url, |r| r.parse("home_url", parse_fallback_url))
            .as_deref()
    }

    /// The operator's fallback for one flow (`after_sign_in_url`, …).
    pub fn flow_fallback(&self, flow: Flow) -> Option<&str> {
        let index = FLOW_FALLBACKS.iter().position(|(known, _)| *known == flow)?;
        let name = FLOW_FALLBACKS[index].1;
        self.read(&self.flow_fallbacks[index], |r| r.parse(name, parse_fallback_url))
            .as_deref()
    }

    pub fn allowed_redirect_origins(&self) -> &[OriginPattern] {
        self.read(&self.allowed_redirect_origins, |r| r.allowed_origins())
            .as_slice()
    }

    pub fn trust_requesting_origin(&self) -> bool {
        *self.read(&self.trust_requesting_origin, |r| {
            r.parse("trust_requesting_origin", parse_bool).unwrap_or(false)
        })
    }

    pub fn branding(&self) -> &Branding {
        self.read(&self.branding, |r| Branding {
            application_name: r
                .parse("application_name", parse_application_name)
                .unwrap_or_else(|| DEFAULT_APPLICATION_NAME.to_owned()),
            logo_url: r.parse("logo_url", parse_logo_url),
            primary_color: r
                .parse("primary_color", parse_color)
                .unwrap_or_else(|| DEFAULT_PRIMARY_COLOR.to_owned()),
        })
    }

    pub fn sign_up_fields(&self) -> SignUpFields {
        *self.read(&self.sign_up_fields, |r| SignUpFields {
            first_name: r.field_mode("first_name_field"),
            last_name: r.field_mode("last_name_field"),
            username: r.field_mode("username_field"),
            phone_number: r.field_mode("phone_number_field"),
        })
    }

    /// Seconds a portal session lasts.
    pub fn portal_session_lifetime(&self) -> i64 {
        *self.read(&self.portal_session_lifetime, |r| {
            r.seconds("portal_session_lifetime", 604_800, 300, 31_536_000)
        })
    }

    /// Seconds a `__session` token lasts.
    pub fn session_token_lifetime(&self) -> i64 {
        *self.read(&self.session_token_lifetime, |r| {
            r.seconds("session_token_lifetime", 600, 30, 86_400)
        })
    }

    /// `session_token_audience`: the `aud` of `__session` tokens when it should be something else
    /// than the instance domain (an app identifier an API gateway checks). Read only where a
    /// token is signed.
    pub fn session_token_audience(&self) -> Option<&str> {
        self.read(&self.session_token_audience, |r| {
            r.parse("session_token_audience", |value| {
                let printable = value.len() <= 256 && value.chars().all(|c| c.is_ascii_graphic());
                if printable {
                    Ok(value.to_owned())
                } else {
                    Err("must be printable ASCII without spaces, at most 256 characters (a domain or a URL)".into())
                }
            })
        })
        .as_deref()
    }

    pub fn lock_policy(&self) -> LockPolicy {
        // Development is relaxed: one developer's test runs must not lock their own machine.
        let address_default = if self.is_development() { 1_000 } else { 50 };
        *self.read(&self.lock_policy, |r| LockPolicy {
            max_failures: r.seconds("sign_in_max_failures", 5, 1, 1_000),
            window: r.seconds("sign_in_failure_window", 900, 10, 86_400),
            lockout: r.seconds("sign_in_lockout", 900, 10, 86_400),
            address_max_failures: r.seconds("sign_in_max_failures_per_address", address_default, 1, 100_000),
        })
    }

    /// `emails_per_address_per_hour`: emails one client address may cause in an hour (100 by
    /// default, 1,000 in development): a whole office behind one address still gets its codes;
    /// each mailbox keeps its own, strict limit.
    pub fn emails_per_address_per_hour(&self) -> usize {
        let default = if self.is_development() { 1_000 } else { 100 };
        *self.read(&self.emails_per_address_per_hour, |r| {
            r.seconds("emails_per_address_per_hour", default, 1, 100_000) as usize
        })
    }

    /// Password checks (sign-in, sign-up, current-password forms) one client address may ask
    /// for in a minute, before any Argon2 work.
    pub fn password_checks_per_minute(&self) -> i64 {
        *self.read(&self.password_checks_per_minute, |r| {
            r.seconds("password_checks_per_minute", 10, 1, 1_000)
        })
    }

    /// `api_requests_per_minute`: how many Backend API requests one key may make in a minute.
    pub fn api_requests_per_minute(&self) -> i64 {
        *self.read(&self.api_requests_per_minute, |r| {
            r.seconds("api_requests_per_minute", 600, 1, 100_000)
        })
    }

    /// From `session_signing_key` (PKCS#8 P-256): signs tokens instead of the derived key.
    pub fn session_signing_key(&self) -> Option<&Scalar> {
        self.read(&self.session_signing_key, |r| {
            r.secret("session_signing_key", Scalar::from_pkcs8)
        })
        .as_ref()
    }

    /// `secret_key`: every production key derives from it; required in production.
    ///
    /// Bound to `public_origin` when it is set (always in production), so keys differ between
    /// deployments that share a secret (`Secret::bound_to`).
    pub fn secret_key(&self) -> Option<&Secret> {
        let production = !self.is_development();
        let origin = self.deployment_origin();
        self.read(&self.secret_key, |r| {
            let secret = r.secret("secret_key", Secret::parse).map(|secret| match &origin {
                Some(origin) => secret.bound_to(origin),
                None => secret,
            });
            if production && secret.is_none() && !r.errors.iter().any(|e| e.variable == "secret_key") {
                r.errors.push(ConfigError {
                    variable: "secret_key",
                    message: "is required in production: set the secret variable to at least 32 random bytes (`openssl rand -base64 32`)".into(),
                });
            }
            secret
        })
        .as_ref()
    }

    /// `previous_secret_keys`: still verify (JWKS, seals, CSRF tokens) during a rotation.
    pub fn previous_secret_keys(&self) -> &[Secret] {
        let origin = self.deployment_origin();
        self.read(&self.previous_secret_keys, |r| {
            let secrets = r.secret("previous_secret_keys", secret::parse_list).unwrap_or_default();
            match &origin {
                Some(origin) => secrets.into_iter().map(|secret| secret.bound_to(origin)).collect(),
                None => secrets,
            }
        })
        .as_slice()
    }

    /// `api_secret_key`: the Backend API's keys, comma separated (several during a rotation).
    /// None: the API is off and answers 404. Read only by `/api/` requests.
    pub fn api_secret_keys(&self) -> &[crate::security::api_key::ApiKey] {
        self.read(&self.api_secret_keys, |r| {
            r.secret("api_secret_key", crate::security::api_key::parse_list)
                .unwrap_or_default()
        })
        .as_slice()
    }

    /// `webhook_url`, `webhook_secret`, `webhook_origin`: where signed webhooks go. `None` (no
    /// event is recorded) without a URL; a URL without a sound secret, or outside the origin
    /// `spin.toml` grants, is a configuration error and sends nothing. Only `webhook_url` is
    /// read when it is empty.
    pub fn webhooks(&self) -> Option<&WebhookSettings> {
        let development = self.is_development();
        self.read(&self.webhooks, |r| {
            let url = r.parse("webhook_url", |value| {
                let trimmed = value.trim();
                let ok = crate::outbound::oidc::is_allowed_endpoint(trimmed);
                match Url::parse(trimmed) {
                    Ok(url) if ok && url.fragment().is_none() && url.username().is_empty() => Ok(url),
                    _ => Err("must be an https URL (http only on localhost), without credentials or fragment".into()),
                }
            });
            let Some(url) = url else {
                if development {
                    // Development checks every variable on every request.
                    r.secret("webhook_secret", crate::security::webhook_signature::WebhookSecret::parse);
                    r.raw("webhook_origin");
                }
                return None;
            };
            let secret = r.secret(
                "webhook_secret",
                crate::security::webhook_signature::WebhookSecret::parse,
            );
            if secret.is_none() && !r.errors.iter().any(|error| error.variable == "webhook_secret") {
                r.errors.push(ConfigError {
                    variable: "webhook_secret",
                    message: "is required with webhook_url: whsec_ followed by `openssl rand -base64 32`".into(),
                });
            }
            let origin = r.raw("webhook_origin").unwrap_or_default();
            let url_origin = url.origin().ascii_serialization();
            if origin.trim_end_matches('/') != url_origin {
                r.errors.push(ConfigError {
                    variable: "webhook_origin",
                    message: format!(
                        "must be the origin of webhook_url ({url_origin}), so spin.toml's allowed_outbound_hosts lets the portal reach it"
                    ),
                });
                return None;
            }
            Some(WebhookSettings { url, secret: secret? })
        })
        .as_ref()
    }

    /// `session_token_public_metadata`: whether `__session` carries the user's public metadata
    /// (up to 1.2 KB). Asked only when a token is made for a user who has some.
    pub fn session_token_public_metadata(&self) -> bool {
        *self.read(&self.session_token_public_metadata, |r| {
            r.parse("session_token_public_metadata", parse_bool).unwrap_or(false)
        })
    }

    /// `admin_emails`: the addresses (comma separated) whose verified owners may open the admin
    /// console. Read only by `/admin` pages.
    pub fn admin_emails(&self) -> &[EmailAddress] {
        self.read(&self.admin_emails, |r| {
            r.parse("admin_emails", |value| {
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| EmailAddress::parse(item).map_err(|_| format!("{item:?} is not an email address")))
                    .collect::<Result<Vec<_>, String>>()
            })
            .unwrap_or_default()
        })
        .as_slice()
    }

    /// The origin keys are bound to: `public_origin`, as an origin (`https://accounts.myapp.com`).
    fn deployment_origin(&self) -> Option<String> {
        self.public_origin().map(|origin| origin.origin().ascii_serialization())
    }

    /// `client_ip_header`: a header the operator's proxy sets to the visitor's address.
    pub fn client_ip_header(&self) -> Option<&str> {
        self.read(&self.client_ip_header, |r| {
            r.parse("client_ip_header", parse_header_name)
        })
        .as_deref()
    }

    /// `development_hosts`: hosts besides loopback that development mode serves.
    pub fn development_hosts(&self) -> &[String] {
        self.read(&self.development_hosts, |r| {
            r.parse("development_hosts", parse_host_list).unwrap_or_default()
        })
        .as_slice()
    }

    /// `terms_url` and `privacy_url` (an https URL or a path on the portal, like `logo_url`).
    pub fn legal_links(&self) -> &LegalLinks {
        self.read(&self.legal_links, |r| LegalLinks {
            terms: r.parse("terms_url", parse_logo_url),
            privacy: r.parse("privacy_url", parse_logo_url),
        })
    }

    /// The email settings: provider, sender and features. A provider with missing or malformed
    /// settings is reported (see [`Settings::email_errors`]) and sends nothing.
    pub fn email(&self) -> &EmailSettings {
        let development = self.is_development();
        let application_name = self.branding().application_name.clone();
        let host = self
            .public_origin()
            .and_then(|origin| origin.host_str().map(str::to_owned));
        self.read(&self.email, |r| {
            let provider = r.parse("email_provider", EmailProvider::parse);

            let notice = r.parse("new_device_notice", parse_bool);
            // Development reads (and so validates) them all; production only with a provider.
            let provider_settings = (provider.is_some() || development).then(|| {
                (
                    ApiKey(
                        r.secret("email_api_key", |v| Ok::<_, String>(v.to_owned()))
                            .unwrap_or_default(),
                    ),
                    r.parse("email_region", |v| Ok::<_, String>(v.to_owned())),
                    r.parse("email_domain", |v| Ok::<_, String>(v.to_owned())),
                    r.parse("email_api_origin", parse_api_origin).flatten(),
                )
            });
            let delivery = match (provider, provider_settings) {
                (Some(provider), Some((api_key, region, domain, api_origin))) => {
                    let config = ProviderConfig {
                        provider,
                        api_key,
                        region,
                        domain,
                        api_origin,
                    };
                    let problems = config.problems();
                    for problem in &problems {
                        r.errors.push(ConfigError {
                            variable: "email_provider",
                            message: problem.clone(),
                        });
                    }
                    if problems.is_empty() {
                        Delivery::Provider(config)
                    } else {
                        Delivery::Unavailable
                    }
                }
                _ if development => Delivery::DevOutbox,
                _ => Delivery::Unavailable,
            };
            let from = r.parse("email_from", parse_email_from);
            if matches!(delivery, Delivery::Provider(_))
                && from.is_none()
                && !r.errors.iter().any(|e| e.variable == "email_from")
            {
                r.errors.push(ConfigError {
                    variable: "email_from",
                    message:
                        "is required with an email provider: the sender address, e.g. \"My App <no-reply@myapp.com>\""
                            .into(),
                });
            }
            let from = from.unwrap_or_else(|| {
                format!(
                    "{application_name} <no-reply@{}>",
                    host.as_deref().unwrap_or("localhost")
                )
            });
            let can_send = !matches!(delivery, Delivery::Unavailable);
            EmailSettings {
                delivery,
                from,
                new_device_notice: notice.unwrap_or(can_send),
            }
        })
    }

    /// `email_verification`: `required` (the default) or `off`.
    pub fn verification_required(&self) -> bool {
        *self.read(&self.email_verification, |r| {
            r.parse("email_verification", |value| match value {
                "required" => Ok(true),
                "off" => Ok(false),
                _ => Err("must be \"required\" or \"off\"".into()),
            })
            .unwrap_or(true)
        })
    }

    /// `sign_in_with_email_code`: sign-in offers "Email me a code".
    pub fn sign_in_with_email_code(&self) -> bool {
        *self.read(&self.sign_in_with_email_code, |r| {
            r.parse("sign_in_with_email_code", parse_bool).unwrap_or(false)
        })
    }

    /// `mfa_required`: `all` makes every account use two-step verification (no `__session`
    /// until it is on); `off` (the default) leaves it to each person and organization. Read only
    /// where a token is issued.
    pub fn mfa_required(&self) -> bool {
        *self.read(&self.mfa_required, |r| {
            r.parse("mfa_required", |value| match value {
                "off" => Ok(false),
                "all" => Ok(true),
                _ => Err("must be \"off\" or \"all\"".into()),
            })
            .unwrap_or(false)
        })
    }

    /// `passkey_rp_id` and `passkey_origins`: read only by the passkey ceremonies, never by a
    /// page that merely shows a passkey button.
    pub fn passkeys(&self) -> &PasskeySettings {
        self.read(&self.passkeys, |r| PasskeySettings {
            rp_id: r.parse("passkey_rp_id", |value| {
                let id = value.trim().to_ascii_lowercase();
                if redirect::is_canonical_domain(&id) {
                    Ok(id)
                } else {
                    Err("must be a domain name: the portal's host or a registrable parent of it".into())
                }
            }),
            origins: r.parse("passkey_origins", parse_origin_list).unwrap_or_default(),
        })
    }

    /// `sign_up_allowed`, `sign_up_blocked`, `sign_up_fold_subaddress`: who may create an
    /// account (`security::sign_up_policy`). Read only where an account is about to be made.
    pub fn sign_up_policy(&self) -> &SignUpPolicy {
        let restricted = self.sign_up_mode().needs_invitation();
        self.read(&self.sign_up_policy, |r| SignUpPolicy {
            allowed: r
                .parse("sign_up_allowed", sign_up_policy::parse_rules)
                .unwrap_or_default(),
            blocked: r
                .parse("sign_up_blocked", sign_up_policy::parse_rules)
                .unwrap_or_default(),
            fold_subaddress: r.parse("sign_up_fold_subaddress", parse_bool).unwrap_or(false),
            restricted,
        })
    }

    /// `sign_up_mode`: `public` (the default) or `restricted` (only an invitation makes an
    /// account). The one variable `GET /sign-up` reads about who may sign up. A value the portal
    /// does not know (`waitlist` is not built yet) is reported and read as `restricted`, the
    /// safe reading.
    pub fn sign_up_mode(&self) -> SignUpMode {
        *self.read(&self.sign_up_mode, |r| {
            let mode = r.parse("sign_up_mode", |value| match value {
                "public" => Ok(SignUpMode::Public),
                "restricted" => Ok(SignUpMode::Restricted),
                "waitlist" => Ok(SignUpMode::Waitlist),
                _ => Err("must be \"public\", \"restricted\" or \"waitlist\" (read as restricted)".into()),
            });
            match mode {
                Some(mode) => mode,
                None if r.errors.iter().any(|error| error.variable == "sign_up_mode") => SignUpMode::Restricted,
                None => SignUpMode::Public,
            }
        })
    }

    /// `password_breach_check`, `password_breach_fail_closed`, `password_breach_api_origin`: how
    /// new passwords are checked against known breaches. Read only where a new password is set.
    pub fn breach_check(&self) -> &BreachCheck {
        self.read(&self.breach_check, |r| BreachCheck {
            mode: r
                .parse("password_breach_check", |value| match value {
                    "block" => Ok(BreachMode::Block),
                    "warn" => Ok(BreachMode::Warn),
                    "off" => Ok(BreachMode::Off),
                    _ => Err("must be \"block\", \"warn\" or \"off\"".into()),
                })
                .unwrap_or(BreachMode::Block),
            fail_closed: r.parse("password_breach_fail_closed", parse_bool).unwrap_or(false),
            api_origin: r
                .parse("password_breach_api_origin", parse_issuer)
                .unwrap_or_else(|| "https://api.pwnedpasswords.com".to_owned()),
        })
    }

    /// `password_min_length`: the fewest characters a new password may have, from 8 (NIST SP
    /// 800-63B-4's floor, which the rules below the pages keep whatever this says) to 64. Read
    /// only where a new password is set, like the breach check.
    pub fn password_min_length(&self) -> usize {
        *self.read(&self.password_min_length, |r| {
            r.parse("password_min_length", parse_password_min_length)
                .unwrap_or(password::MIN_PASSWORD_CHARS)
        })
    }

    /// [`Self::password_min_length`] if this request has read it already: a page that has not
    /// (an anonymous `GET /sign-up`, which reads no policy variable but the mode) words its
    /// password hint without a number.
    pub fn password_min_length_if_read(&self) -> Option<usize> {
        self.password_min_length.get().copied()
    }

    /// `turnstile_site_key`: Cloudflare Turnstile's widget on sign-up, the waitlist and
    /// forgot-password when set. The one variable those pages read for it.
    pub fn turnstile_site_key(&self) -> Option<&str> {
        self.read(&self.turnstile_site_key, |r| {
            r.parse("turnstile_site_key", |value| {
                let ok = value.len() <= 128
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if ok {
                    Ok(value.to_owned())
                } else {
                    Err("is not a Turnstile site key".into())
                }
            })
        })
        .as_deref()
    }

    /// `turnstile_secret_key`, `turnstile_api_origin`, `turnstile_fallback`: how a protected
    /// form's token is verified. A site key without its secret is reported; every form is then
    /// judged by the fallback (nothing can be verified).
    pub fn bot_check(&self) -> &BotCheck {
        let has_site_key = self.turnstile_site_key().is_some();
        self.read(&self.bot_check, |r| {
            let secret_key = r.secret("turnstile_secret_key", |value| Ok(value.to_owned()));
            if has_site_key && secret_key.is_none() {
                r.errors.push(ConfigError {
                    variable: "turnstile_secret_key",
                    message: "is needed with turnstile_site_key (no token can be verified without it)".into(),
                });
            }
            BotCheck {
                secret_key,
                api_origin: r
                    .parse("turnstile_api_origin", parse_issuer)
                    .unwrap_or_else(|| crate::security::bot_check::WIDGET_ORIGIN.to_owned()),
                fallback: r
                    .parse("turnstile_fallback", |value| match value {
                        "refuse" => Ok(BotCheckFallback::Refuse),
                        "allow" => Ok(BotCheckFallback::Allow),
                        _ => Err("must be \"refuse\" or \"allow\" (read as refuse)".into()),
                    })
                    .unwrap_or(BotCheckFallback::Refuse),
            }
        })
    }

    /// `oauth_providers`: the providers whose buttons the sign-in and sign-up pages show, in
    /// order. The one variable those pages read for them (the generic provider's name rides in
    /// it: `oidc:Acme SSO`).
    pub fn oauth_providers(&self) -> &[ListedProvider] {
        self.read(&self.oauth_providers, |r| {
            r.parse("oauth_providers", parse_provider_list).unwrap_or_default()
        })
        .as_slice()
    }

    /// Every listed provider with its client and issuer, read only where a provider is used
    /// (starting a sign-in with it, its callback). A listed provider without a client id or
    /// secret is reported and left out.
    pub fn oauth(&self) -> &[Provider] {
        let listed = self.oauth_providers().to_vec();
        // Development validates every variable, so every provider's are read there.
        let development = self.is_development();
        self.read(&self.oauth, |r| {
            let trusted_email = r
                .parse("oauth_trusted_email_providers", parse_provider_ids)
                .unwrap_or_else(|| vec![ProviderKind::Google, ProviderKind::Apple]);
            let trusted_mfa = r
                .parse("oauth_trusted_mfa_providers", parse_provider_ids)
                .unwrap_or_default();
            ProviderKind::ALL
                .into_iter()
                .filter_map(|kind| {
                    let entry = listed.iter().find(|entry| entry.kind == kind);
                    if entry.is_none() && !development {
                        return None;
                    }
                    let read = read_provider(r, kind, entry.is_some());
                    let (entry, variables) = (entry?, read?);
                    Some(Provider {
                        kind,
                        name: entry.name().to_owned(),
                        issuer: variables.issuer,
                        client_id: variables.client_id,
                        client_secret: variables.client_secret,
                        api_origin: variables.api_origin,
                        apple: variables.apple,
                        trusted_for_email: trusted_email.contains(&kind),
                        trusted_for_mfa: trusted_mfa.contains(&kind),
                    })
                })
                .collect()
        })
        .as_slice()
    }

    /// The email variables' errors found so far, and in production a missing provider: a page
    /// that must send an email shows these instead of pretending it sent one.
    pub fn email_errors(&self) -> Vec<ConfigError> {
        let email = self.email();
        let mut errors: Vec<ConfigError> = self
            .errors
            .borrow()
            .iter()
            .filter(|error| error.variable.starts_with("email_") || error.variable == "new_device_notice")
            .cloned()
            .collect();
        if errors.is_empty() && !email.can_send() {
            errors.push(ConfigError {
                variable: "email_provider",
                message: "is not set: production sends email (codes, password resets) through a provider; \
                          set email_provider and its variables (see the README), or email_verification=off \
                          to run without email"
                    .into(),
            });
        }
        errors
    }

    /// The key variables' errors found so far: in production they stop the portal serving.
    pub fn fatal_errors(&self) -> Vec<ConfigError> {
        self.errors
            .borrow()
            .iter()
            .filter(|error| error.is_fatal_in_production())
            .cloned()
            .collect()
    }
}

struct Reader<'a> {
    variables: &'a dyn Variables,
    errors: Vec<ConfigError>,
}

impl<'a> Reader<'a> {
    fn new(variables: &'a dyn Variables) -> Self {
        Self {
            variables,
            errors: Vec::new(),
        }
    }

    /// The trimmed value, `None` when unset or empty.
    fn raw(&mut self, name: &'static str) -> Option<String> {
        match self.variables.get(name) {
            Ok(Some(value)) => Some(value.trim().to_owned()).filter(|v| !v.is_empty()),
            Ok(None) => None,
            Err(message) => {
                self.errors.push(ConfigError {
                    variable: name,
                    message,
                });
                None
            }
        }
    }

    fn parse<T>(&mut self, name: &'static str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let value = self.raw(name)?;
        match parse(&value) {
            Ok(parsed) => Some(parsed),
            Err(problem) => {
                self.errors.push(ConfigError {
                    variable: name,
                    message: format!("{:?} {problem}", shorten(&value)),
                });
                None
            }
        }
    }

    /// Like `parse`, but the error never repeats the value: it is a secret.
    fn secret<T>(&mut self, name: &'static str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let value = self.raw(name)?;
        match parse(&value) {
            Ok(parsed) => Some(parsed),
            Err(problem) => {
                self.errors.push(ConfigError {
                    variable: name,
                    message: format!("(value hidden) {problem}"),
                });
                None
            }
        }
    }

    fn allowed_origins(&mut self) -> Vec<OriginPattern> {
        let Some(value) = self.raw("allowed_redirect_origins") else {
            return Vec::new();
        };
        let (patterns, problems) = redirect::parse_origin_patterns(&value);
        self.errors.extend(problems.into_iter().map(|message| ConfigError {
            variable: "allowed_redirect_origins",
            message,
        }));
        patterns
    }

    fn field_mode(&mut self, name: &'static str) -> FieldMode {
        self.parse(name, |value| match value {
            "off" => Ok(FieldMode::Off),
            "optional" => Ok(FieldMode::Optional),
            "required" => Ok(FieldMode::Required),
            _ => Err("must be \"off\", \"optional\" or \"required\"".into()),
        })
        .unwrap_or(FieldMode::Optional)
    }

    fn seconds(&mut self, name: &'static str, default: i64, min: i64, max: i64) -> i64 {
        self.parse(name, |value| match value.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(format!("must be a whole number from {min} to {max}")),
        })
        .unwrap_or(default)
    }
}

fn shorten(value: &str) -> String {
    value.chars().take(120).collect()
}

/// A header name as Spin hands headers to the component: lower-case token characters.
fn parse_header_name(value: &str) -> Result<String, String> {
    let name = value.to_ascii_lowercase();
    let token = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !token || name.starts_with("spin-") {
        return Err("must be the name of a header your proxy sets, such as \"x-forwarded-for\" or \"cf-connecting-ip\" (not a spin-* header)".into());
    }
    Ok(name)
}

/// Host names (no scheme or port), comma separated.
fn parse_host_list(value: &str) -> Result<Vec<String>, String> {
    value
        .split(',')
        .map(|host| host.trim().to_ascii_lowercase())
        .filter(|host| !host.is_empty())
        .map(|host| {
            let ip = host.parse::<std::net::IpAddr>().is_ok();
            if ip || redirect::is_canonical_domain(&host) {
                Ok(host)
            } else {
                Err(format!(
                    "{:?} is not a host name: list names such as \"my-laptop.local\" or addresses, without scheme or port",
                    shorten(&host)
                ))
            }
        })
        .collect()
}

/// A comma-separated list of web origins (`https://app.myapp.com`), each kept as the browser
/// serializes it.
fn parse_origin_list(value: &str) -> Result<Vec<String>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let url = Url::parse(entry).map_err(|_| format!("{:?} is not an origin", shorten(entry)))?;
            let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
            let web = matches!(url.scheme(), "https" | "http") && url.username().is_empty() && url.password().is_none();
            if bare && web {
                Ok(url.origin().ascii_serialization())
            } else {
                Err(format!(
                    "{:?} is not an origin: list them as https://host[:port], without path",
                    shorten(entry)
                ))
            }
        })
        .collect()
}

/// A provider's issuer, client id and secret; what is missing is reported only for a `listed`
/// provider.
/// A provider's own variables, read.
struct ProviderVariables {
    issuer: String,
    client_id: String,
    client_secret: String,
    /// GitHub's API origin; empty for the others.
    api_origin: String,
    /// Apple's signing key; `None` for the others.
    apple: Option<crate::outbound::oidc::AppleKey>,
}

fn read_provider(r: &mut Reader<'_>, kind: ProviderKind, listed: bool) -> Option<ProviderVariables> {
    let (id_var, secret_var) = match kind {
        ProviderKind::Google => ("google_client_id", "google_client_secret"),
        ProviderKind::Microsoft => ("microsoft_client_id", "microsoft_client_secret"),
        ProviderKind::Gitlab => ("gitlab_client_id", "gitlab_client_secret"),
        ProviderKind::Github => ("github_client_id", "github_client_secret"),
        // Apple has no static secret: its key signs one (read below).
        ProviderKind::Apple => ("apple_client_id", ""),
        ProviderKind::Oidc => ("oidc_client_id", "oidc_client_secret"),
    };
    let issuer = match kind {
        ProviderKind::Google => Some(
            r.parse("google_issuer", parse_issuer)
                .unwrap_or_else(|| "https://accounts.google.com".to_owned()),
        ),
        ProviderKind::Microsoft => {
            let authority = r
                .parse("microsoft_authority", parse_issuer)
                .unwrap_or_else(|| "https://login.microsoftonline.com".to_owned());
            let tenant = r
                .parse("microsoft_tenant", parse_tenant)
                .unwrap_or_else(|| "common".to_owned());
            Some(format!("{authority}/{tenant}/v2.0"))
        }
        ProviderKind::Gitlab => Some(
            r.parse("gitlab_origin", parse_issuer)
                .unwrap_or_else(|| "https://gitlab.com".to_owned()),
        ),
        ProviderKind::Github => Some(
            r.parse("github_origin", parse_issuer)
                .unwrap_or_else(|| "https://github.com".to_owned()),
        ),
        ProviderKind::Apple => Some(
            r.parse("apple_issuer", parse_issuer)
                .unwrap_or_else(|| "https://appleid.apple.com".to_owned()),
        ),
        ProviderKind::Oidc => {
            let issuer = r.parse("oidc_issuer", parse_issuer);
            let origin = r.parse("oidc_origin", parse_issuer);
            let outside = issuer
                .as_deref()
                .zip(origin.as_deref())
                .is_some_and(|(issuer, origin)| {
                    Url::parse(issuer).is_ok_and(|url| url.origin().ascii_serialization() != origin)
                });
            if outside {
                r.errors.push(ConfigError {
                    variable: "oidc_origin",
                    message: "must be the origin of oidc_issuer: Spin lets the portal reach only that origin".into(),
                });
            }
            if listed && issuer.is_none() && !r.errors.iter().any(|e| e.variable == "oidc_issuer") {
                r.errors.push(ConfigError {
                    variable: "oidc_issuer",
                    message: "is not set: the generic OpenID Connect provider needs its issuer URL".into(),
                });
            }
            issuer
        }
    };
    let client_id = r.parse(id_var, parse_client_id);
    let client_secret = if secret_var.is_empty() {
        Some(String::new())
    } else {
        r.secret(secret_var, |value| Ok::<_, String>(value.to_owned()))
    };
    let api_origin = if kind == ProviderKind::Github {
        r.parse("github_api_origin", parse_issuer)
            .unwrap_or_else(|| "https://api.github.com".to_owned())
    } else {
        String::new()
    };
    let apple = (kind == ProviderKind::Apple).then(|| {
        let team_id = r.parse("apple_team_id", parse_client_id);
        let key_id = r.parse("apple_key_id", parse_client_id);
        let key = r.secret("apple_private_key", crate::security::token::Scalar::from_pkcs8);
        Some(crate::outbound::oidc::AppleKey {
            team_id: team_id?,
            key_id: key_id?,
            key: key?,
        })
    });
    match (issuer, client_id, client_secret) {
        (Some(_), Some(_), Some(_)) if apple.as_ref().is_some_and(Option::is_none) => {
            if listed {
                r.errors.push(ConfigError {
                    variable: "apple_private_key",
                    message: "apple is listed in oauth_providers but apple_team_id, apple_key_id or apple_private_key is not set: its button leads to an error page".into(),
                });
            }
            None
        }
        (Some(issuer), Some(client_id), Some(client_secret)) => Some(ProviderVariables {
            issuer,
            client_id,
            client_secret,
            api_origin,
            apple: apple.flatten(),
        }),
        _ => {
            if listed {
                r.errors.push(ConfigError {
                    variable: id_var,
                    message: format!(
                        "{} is listed in oauth_providers but {id_var} or {secret_var} is not set: its button leads to an error page",
                        kind.id()
                    ),
                });
            }
            None
        }
    }
}

/// `google,microsoft,oidc:Acme SSO`: the providers, each once; the generic one with its name.
fn parse_provider_list(value: &str) -> Result<Vec<ListedProvider>, String> {
    let mut listed: Vec<ListedProvider> = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
        let (id, label) = match entry.split_once(':') {
            Some((id, label)) => (id.trim(), Some(label.trim())),
            None => (entry, None),
        };
        let kind = ProviderKind::from_id(id).ok_or_else(|| {
            format!("{id:?} is not a provider here: list google, microsoft, gitlab, github, apple or oidc:<name>")
        })?;
        let label = match (kind, label) {
            (ProviderKind::Oidc, Some(label)) if !label.is_empty() => Some(parse_application_name(label)?),
            (ProviderKind::Oidc, _) => Some("OpenID Connect".to_owned()),
            (_, None) => None,
            (_, Some(_)) => {
                return Err(format!(
                    "only the generic provider takes a name (oidc:<name>), not {id:?}"
                ));
            }
        };
        if listed.iter().any(|entry| entry.kind == kind) {
            return Err(format!("{id:?} is listed twice"));
        }
        listed.push(ListedProvider { kind, label });
    }
    Ok(listed)
}

fn parse_provider_ids(value: &str) -> Result<Vec<ProviderKind>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| ProviderKind::from_id(id).ok_or_else(|| format!("{id:?} is not a provider here")))
        .collect()
}

/// An issuer or origin: https (http only on loopback), no query, no fragment, no trailing slash.
fn parse_issuer(value: &str) -> Result<String, String> {
    let trimmed = value.trim_end_matches('/');
    let ok = crate::outbound::oidc::is_allowed_endpoint(trimmed)
        && Url::parse(trimmed).is_ok_and(|url| url.query().is_none() && url.fragment().is_none());
    if ok {
        Ok(trimmed.to_owned())
    } else {
        Err("must be an https URL (http only on localhost) without query or fragment".into())
    }
}

fn parse_tenant(value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if ok {
        Ok(value.to_owned())
    } else {
        Err("must be common, organizations, consumers, a tenant id or a tenant domain".into())
    }
}

fn parse_client_id(value: &str) -> Result<String, String> {
    if value.len() <= 256 && value.chars().all(|c| c.is_ascii_graphic()) {
        Ok(value.to_owned())
    } else {
        Err("must be printable ASCII without spaces, at most 256 characters".into())
    }
}

fn parse_password_min_length(value: &str) -> Result<usize, String> {
    let floor = password::MIN_PASSWORD_CHARS;
    match value.trim().parse::<usize>() {
        Ok(length) if (floor..=MAX_PASSWORD_MIN_LENGTH).contains(&length) => Ok(length),
        _ => Err(format!(
            "must be a whole number from {floor} to {MAX_PASSWORD_MIN_LENGTH}"
        )),
    }
}

/// The most `password_min_length` may ask: longer passphrases are welcome, never required.
const MAX_PASSWORD_MIN_LENGTH: usize = 64;

fn parse_bool(value: &str) -> Result<bool, String> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("must be \"true\" or \"false\"".into()),
    }
}

/// `email_api_origin`: an http(s) origin, no path; the default placeholder means "none".
fn parse_api_origin(value: &str) -> Result<Option<Url>, String> {
    if value == DEFAULT_EMAIL_API_ORIGIN {
        return Ok(None);
    }
    let url = Url::parse(value).map_err(|_| "must be an origin such as https://email.example.com".to_owned())?;
    let bare = matches!(url.path(), "" | "/") && url.query().is_none() && url.fragment().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || !bare || !url.username().is_empty() {
        return Err("must be an http or https origin with no path (Spin's allowed_outbound_hosts takes none)".into());
    }
    Ok(Some(url))
}

/// `email_from`: `address` or `Name <address>`, on one line.
fn parse_email_from(value: &str) -> Result<String, String> {
    let address = match (value.rfind('<'), value.ends_with('>')) {
        (Some(open), true) => &value[open + 1..value.len() - 1],
        _ => value,
    };
    if value.chars().any(char::is_control) || crate::domain::EmailAddress::parse(address).is_err() {
        return Err("must be an address or \"Name <address>\"".into());
    }
    Ok(value.to_owned())
}

fn parse_instance_domain(value: &str) -> Result<String, String> {
    let lower = value.to_ascii_lowercase();
    if redirect::is_canonical_domain(&lower) {
        Ok(lower)
    } else {
        Err("must be a bare domain name such as \"myapp.com\" (no scheme, port, path or trailing dot; IDNs in punycode)".into())
    }
}

fn parse_public_origin(value: &str) -> Result<Url, String> {
    let problem =
        || "must be the portal's origin as browsers see it, such as \"https://accounts.myapp.com\"".to_owned();
    let url = Url::parse(value).map_err(|_| problem())?;
    let is_origin_only = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none();
    if is_origin_only { Ok(url) } else { Err(problem()) }
}

/// Fallback URLs are checked against the full redirect policy on each request; here only their
/// form: an absolute http(s) URL or a path starting with a single `/`.
fn parse_fallback_url(value: &str) -> Result<String, String> {
    let printable = value.bytes().all(|b| b.is_ascii_graphic()) && !value.contains('\\');
    let path_absolute = value.starts_with('/') && !value.starts_with("//");
    let absolute = Url::parse(value)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some())
        && (value.starts_with("https://") || value.starts_with("http://"));
    if printable && (path_absolute || absolute) {
        Ok(value.to_owned())
    } else {
        Err("is not a URL: use an absolute http(s) URL such as \"https://myapp.com/dashboard\" or a path such as \"/user\"".into())
    }
}

fn parse_application_name(value: &str) -> Result<String, String> {
    if value.chars().count() > 80 || value.chars().any(char::is_control) {
        Err("must be at most 80 characters with no control characters".into())
    } else {
        Ok(value.to_owned())
    }
}

fn parse_logo_url(value: &str) -> Result<String, String> {
    let https = Url::parse(value).is_ok_and(|url| url.scheme() == "https" && url.host_str().is_some());
    let path = value.starts_with('/') && !value.starts_with("//");
    if (https || path) && value.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
        Ok(value.to_owned())
    } else {
        Err("must be an https URL or a path on the portal".into())
    }
}

fn parse_color(value: &str) -> Result<String, String> {
    let hex = value.strip_prefix('#').unwrap_or_default();
    if matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err("must be a hex color such as \"#4f46e5\"".into())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Map(HashMap<&'static str, &'static str>);

    impl Variables for Map {
        fn get(&self, name: &str) -> Result<Option<String>, String> {
            Ok(self.0.get(name).map(|v| v.to_string()))
        }
    }

    const SECRET: &str = "q3Vn1a1m2Z7xkq0aY9Yq8lqkq0p2wq9oVv3t8QGxv2M=";

    /// Settings from `pairs`, with a valid `secret_key` and `public_origin` unless the test sets
    /// them (an empty value unsets), every variable read (as development does up front and
    /// production on demand).
    fn load(pairs: &[(&'static str, &'static str)]) -> (Settings<'static>, Vec<ConfigError>) {
        let mut map: HashMap<_, _> = pairs.iter().copied().collect();
        map.entry("secret_key").or_insert(SECRET);
        map.entry("public_origin").or_insert("https://accounts.example.com");
        let settings = Settings::new(Box::leak(Box::new(Map(map))));
        settings.environment();
        settings.read_everything();
        let errors = settings.errors();
        (settings, errors)
    }

    fn error_names(errors: &[ConfigError]) -> Vec<&'static str> {
        errors.iter().map(|e| e.variable).collect()
    }

    #[test]
    fn empty_configuration_is_valid_development() {
        let (settings, errors) = load(&[("environment", "development")]);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(settings.is_development());
        assert_eq!(settings.branding().application_name, DEFAULT_APPLICATION_NAME);
        assert_eq!(settings.branding().primary_color, DEFAULT_PRIMARY_COLOR);
        assert!(settings.allowed_redirect_origins().is_empty());
        assert_eq!(settings.portal_session_lifetime(), 604_800);
    }

    #[test]
    fn unknown_environment_is_an_error_and_means_production() {
        let (settings, errors) = load(&[("environment", "prod")]);
        assert_eq!(error_names(&errors), ["environment"]);
        assert_eq!(settings.environment(), Environment::Production);
        assert!(errors[0].to_string().contains("\"prod\""));
    }

    #[test]
    fn unset_environment_means_production() {
        let (settings, errors) = load(&[]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(settings.environment(), Environment::Production);
    }

    #[test]
    fn malformed_fallback_url_is_reported_and_dropped() {
        let (settings, errors) = load(&[
            ("environment", "development"),
            ("after_sign_in_url", "not a url"),
            ("home_url", "//evil.com"),
            ("after_sign_up_url", "https://myapp.com/welcome"),
            ("after_sign_out_url", "/signed-out"),
            ("after_create_organization_url", "javascript:alert(1)"),
        ]);
        assert_eq!(
            error_names(&errors),
            ["home_url", "after_sign_in_url", "after_create_organization_url"]
        );
        assert_eq!(settings.flow_fallback(Flow::SignIn), None);
        assert_eq!(settings.home_url(), None);
        assert_eq!(settings.flow_fallback(Flow::SignUp), Some("https://myapp.com/welcome"));
        assert_eq!(settings.flow_fallback(Flow::SignOut), Some("/signed-out"));
    }

    #[test]
    fn instance_domain_must_be_a_bare_domain() {
        for bad in [
            "https://myapp.com",
            "myapp.com.",
            "myapp.com:443",
            "my app.com",
            "*.myapp.com",
            "myapp.com/x",
        ] {
            let (settings, errors) = load(&[("instance_domain", bad)]);
            assert_eq!(error_names(&errors), ["instance_domain"], "{bad}");
            assert_eq!(settings.instance_domain(), None);
        }
        let (settings, errors) = load(&[("instance_domain", " MyApp.com ")]);
        assert!(errors.is_empty());
        assert_eq!(settings.instance_domain(), Some("myapp.com"));
    }

    #[test]
    fn public_origin_must_be_an_origin() {
        for bad in [
            "accounts.myapp.com",
            "https://accounts.myapp.com/path",
            "ftp://x.com",
            "https://a@b.com",
        ] {
            let (_, errors) = load(&[("public_origin", bad)]);
            assert_eq!(error_names(&errors), ["public_origin"], "{bad}");
        }
        let (settings, errors) = load(&[("public_origin", "https://accounts.myapp.com/")]);
        assert!(errors.is_empty());
        assert_eq!(
            settings.public_origin().unwrap().as_str(),
            "https://accounts.myapp.com/"
        );
    }

    #[test]
    fn production_needs_an_https_public_origin() {
        let (settings, errors) = load(&[
            ("environment", "production"),
            ("public_origin", "http://accounts.myapp.com"),
        ]);
        assert_eq!(error_names(&errors), ["public_origin"]);
        assert!(settings.public_origin().is_none());
        let (_, errors) = load(&[
            ("environment", "development"),
            ("public_origin", "http://localhost:3000"),
        ]);
        assert!(errors.is_empty());
    }

    #[test]
    fn primary_color_cannot_inject_css() {
        for bad in ["red", "#12345", "#1234567", "#fff;}body{display:none", "url(x)"] {
            let (settings, errors) = load(&[("primary_color", bad)]);
            assert_eq!(error_names(&errors), ["primary_color"], "{bad}");
            assert_eq!(settings.branding().primary_color, DEFAULT_PRIMARY_COLOR);
        }
        let (settings, _) = load(&[("primary_color", "#ABC")]);
        assert_eq!(settings.branding().primary_color, "#abc");
    }

    #[test]
    fn booleans_field_modes_and_numbers_are_strict() {
        let (settings, errors) = load(&[
            ("trust_requesting_origin", "yes"),
            ("username_field", "mandatory"),
            ("phone_number_field", "off"),
            ("session_token_lifetime", "10"),
            ("sign_in_max_failures", "3"),
        ]);
        assert_eq!(
            error_names(&errors),
            ["trust_requesting_origin", "username_field", "session_token_lifetime"]
        );
        assert!(!settings.trust_requesting_origin());
        assert_eq!(settings.sign_up_fields().username, FieldMode::Optional);
        assert_eq!(settings.sign_up_fields().phone_number, FieldMode::Off);
        assert_eq!(settings.session_token_lifetime(), 600);
        assert_eq!(settings.lock_policy().max_failures, 3);
    }

    #[test]
    fn allowed_origins_keep_good_entries_and_report_bad_ones() {
        let (settings, errors) = load(&[("allowed_redirect_origins", "https://a.io,https://b.io/path")]);
        assert_eq!(settings.allowed_redirect_origins().len(), 1);
        assert_eq!(error_names(&errors), ["allowed_redirect_origins"]);
    }

    #[test]
    fn a_malformed_signing_key_is_reported_without_its_value() {
        let (settings, errors) = load(&[("session_signing_key", "super-secret")]);
        assert_eq!(error_names(&errors), ["session_signing_key"]);
        assert!(!errors[0].to_string().contains("super-secret"));
        assert!(settings.session_signing_key().is_none());
    }

    #[test]
    fn a_valid_signing_key_is_loaded_and_never_printed() {
        let pem = "-----BEGIN PRIVATE KEY-----\\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6KrTxEWm//6dJpOY\\nn6QpfogooY4+kCUbRILILxjAvKKhRANCAAQtSehFsg89zo5nW9WlAh5MgiEFLEQX\\nYYKg57XxN/BAzN4QG4UC73AEtlPIoiYBRfKZJijVHLnsrKBsym0cZ3+6\\n-----END PRIVATE KEY-----";
        let (settings, errors) = load(&[("session_signing_key", pem)]);
        assert!(errors.is_empty(), "{errors:?}");
        let printed = format!("{settings:?}");
        assert!(!printed.contains("MIGHAgEA"));
        assert!(printed.contains("***"));
    }

    #[test]
    fn production_without_a_strong_secret_key_is_a_fatal_error() {
        for (secret, problem) in [
            ("", "is required"),
            ("changeme", "random bytes"),
            ("YWFhYQ==", "at least 32"),
        ] {
            let (settings, errors) = load(&[("environment", "production"), ("secret_key", secret)]);
            assert_eq!(error_names(&errors), ["secret_key"], "{secret:?}");
            assert!(errors[0].to_string().contains(problem), "{}", errors[0]);
            assert!(errors[0].is_fatal_in_production());
            assert!(settings.secret_key().is_none());
        }
        let (_, errors) = load(&[("environment", "development"), ("secret_key", "")]);
        assert!(errors.is_empty(), "development keeps the zero-config generated key");
    }

    #[test]
    fn production_without_public_origin_is_a_fatal_error_so_no_link_follows_a_forged_host() {
        let (settings, errors) = load(&[("environment", "production"), ("public_origin", "")]);
        assert_eq!(error_names(&errors), ["public_origin"]);
        assert!(errors[0].is_fatal_in_production());
        assert!(settings.public_origin().is_none());
        // Development derives it from the request (loopback only), as before.
        let (_, errors) = load(&[("environment", "development"), ("public_origin", "")]);
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn rotation_secrets_and_a_malformed_signing_key_are_fatal_too() {
        let (settings, errors) = load(&[("previous_secret_keys", "short"), ("session_signing_key", "nope")]);
        assert_eq!(error_names(&errors), ["session_signing_key", "previous_secret_keys"]);
        assert!(errors.iter().all(ConfigError::is_fatal_in_production));
        assert!(settings.previous_secret_keys().is_empty() && settings.session_signing_key().is_none());
        let (settings, errors) = load(&[("previous_secret_keys", &*format!("{SECRET}, {SECRET}").leak())]);
        assert!(errors.is_empty());
        assert_eq!(settings.previous_secret_keys().len(), 2);
    }

    #[test]
    fn proxy_header_development_hosts_and_the_check_rate_are_validated() {
        let (settings, errors) = load(&[
            ("client_ip_header", "X-Forwarded-For"),
            ("development_hosts", "my-laptop.local, 192.168.1.20"),
            ("password_checks_per_minute", "30"),
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(settings.client_ip_header(), Some("x-forwarded-for"));
        assert_eq!(settings.development_hosts(), ["my-laptop.local", "192.168.1.20"]);
        assert_eq!(settings.password_checks_per_minute(), 30);
        let (settings, errors) = load(&[
            ("client_ip_header", "spin-client-addr"),
            ("development_hosts", "https://x.io"),
            ("password_checks_per_minute", "0"),
        ]);
        assert_eq!(
            error_names(&errors),
            ["password_checks_per_minute", "client_ip_header", "development_hosts"]
        );
        assert_eq!(
            settings.client_ip_header(),
            None,
            "a spin-* header would be the client's own"
        );
        assert_eq!(settings.password_checks_per_minute(), 10);
    }

    #[test]
    fn the_password_minimum_never_drops_below_nist_floor_nor_asks_the_impossible() {
        let (settings, errors) = load(&[("password_min_length", "12")]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(settings.password_min_length_if_read(), Some(12));
        for wrong in ["6", "65", "twelve", "-1"] {
            let (settings, errors) = load(&[("password_min_length", wrong)]);
            assert_eq!(error_names(&errors), ["password_min_length"], "{wrong}");
            assert_eq!(settings.password_min_length(), 8, "{wrong}");
        }
        let settings = Settings::new(Box::leak(Box::new(Map(HashMap::new()))));
        assert_eq!(
            settings.password_min_length_if_read(),
            None,
            "a page that has not read it"
        );
        assert_eq!(settings.password_min_length(), 8);
    }

    #[test]
    fn bot_protection_needs_a_secret_and_a_known_fallback() {
        let (settings, errors) = load(&[("turnstile_site_key", "0x4AAAAAAA-site_key")]);
        assert_eq!(error_names(&errors), ["turnstile_secret_key"]);
        assert_eq!(settings.turnstile_site_key(), Some("0x4AAAAAAA-site_key"));
        assert_eq!(
            settings.bot_check().secret_key,
            None,
            "every form is judged by the fallback"
        );
        let (settings, errors) = load(&[
            ("turnstile_site_key", "0x4AAAAAAAsitekey"),
            ("turnstile_secret_key", "0x4AAAAAAAsecret"),
            ("turnstile_fallback", "allow"),
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(settings.bot_check().fallback, BotCheckFallback::Allow);
        assert_eq!(settings.bot_check().api_origin, "https://challenges.cloudflare.com");
        // Attack: a site key that would break out of the widget's attribute, a fallback typo.
        let (settings, errors) = load(&[
            ("turnstile_site_key", "x\" onload=\"alert(1)"),
            ("turnstile_fallback", "yes"),
        ]);
        assert_eq!(error_names(&errors), ["turnstile_site_key", "turnstile_fallback"]);
        assert_eq!(settings.turnstile_site_key(), None);
        assert_eq!(
            settings.bot_check().fallback,
            BotCheckFallback::Refuse,
            "a typo refuses"
        );
        let (_, errors) = load(&[]);
        assert!(
            errors.is_empty(),
            "no site key, no bot check, nothing to report: {errors:?}"
        );
    }

    #[test]
    fn a_failing_variable_provider_is_reported() {
        struct Failing;
        impl Variables for Failing {
            fn get(&self, name: &str) -> Result<Option<String>, String> {
                match name {
                    "home_url" => Err("provider unavailable".into()),
                    "environment" => Ok(Some("development".into())),
                    _ => Ok(None),
                }
            }
        }
        let errors = Settings::new(&Failing).prepare();
        assert_eq!(error_names(&errors), ["home_url"]);
    }
}
