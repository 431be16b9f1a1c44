//! The emails the portal sends, composed in the visitor's language with the application's
//! branding, and sent through `service::email`. A send that fails becomes a retryable page
//! (`PortalError::EmailNotSent`) after the caller has undone what the email was for.

use super::Ctx;
use crate::error::PortalError;
use crate::outbound::email::Message;
use crate::security::email_text;
use crate::service::email::{self as email_rules, Purpose, SendError};
use crate::views::email::{EmailContent, render};
use crate::views::i18n::mail::MailStrings;

/// One email to compose.
pub enum Email<'a> {
    /// A code, with a link to the code page that has it filled in (a GET never consumes it).
    Code {
        purpose: Purpose,
        code: &'a str,
        flow_id: &'a str,
    },
    /// To an address that already has an account, instead of a sign-up code.
    SignUpAttempt,
    /// To the old address after an email change.
    AddressChanged { new_address: &'a str },
    Invitation {
        inviter: &'a str,
        organization: &'a str,
        role: &'a str,
        link: String,
    },
    /// A browser the account never used signed in.
    NewDevice {
        device: String,
        address: String,
        when: String,
        token: String,
    },
    /// Two-step verification was turned on (`true`) or off.
    TwoStepChanged { on: bool },
    /// A backup code was used to sign in; `left` remain.
    BackupCodeUsed { left: usize },
    /// A passkey was added to the account.
    PasskeyAdded { name: String },
    /// The operator asks the person to verify their address (the admin console).
    VerifyReminder,
    /// An invitation to make an account on the instance (an operator's invitation, or an
    /// approval from the waitlist): `link` carries the mailbox proof.
    InstanceInvitation { link: String },
}

/// Whether emails can be sent at all; otherwise the configuration error to show.
pub fn require_email(ctx: &Ctx<'_>) -> Result<(), PortalError> {
    let errors = ctx.settings.email_errors();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(PortalError::Config(errors))
    }
}

/// Admits one email to `to` from this visitor (the flood limits), before anything is stored.
pub fn admit(ctx: &Ctx<'_>, to: &str) -> Result<(), PortalError> {
    let per_client = ctx.settings.emails_per_address_per_hour();
    email_rules::admit_send(ctx.db()?, to, ctx.client_addr(), per_client, ctx.now()).map_err(send_error)
}

/// Composes and sends `email` to `to`, waiting for the provider.
pub fn send(ctx: &Ctx<'_>, to: &str, email: Email<'_>) -> Result<(), PortalError> {
    let message = compose(ctx, to, email)?;
    email_rules::deliver(ctx.db()?, ctx.http, ctx.settings.email(), &message, ctx.now()).map_err(send_error)
}

/// Composes `email` to `to` now and sends it once the response is out, so that whether an
/// email goes at all does not show in the response's timing (see
/// `service::email::AfterResponse`). `flow_id`: the code flow it belongs to.
pub fn send_after_response(
    ctx: &Ctx<'_>,
    to: &str,
    email: Email<'_>,
    flow_id: Option<&str>,
) -> Result<(), PortalError> {
    let Some(later) = ctx.later else {
        return send(ctx, to, email);
    };
    let message = compose(ctx, to, email)?;
    email_rules::deliver_after_response(ctx.db()?, ctx.settings.email(), &message, flow_id, later, ctx.now())
        .map_err(send_error)
}

/// Sends an email of code flow `flow_id`: after the response where the flow's purpose may be
/// a silent decoy (`Purpose::sends_after_response`), else at once.
pub fn send_for_flow(
    ctx: &Ctx<'_>,
    purpose: Purpose,
    to: &str,
    email: Email<'_>,
    flow_id: &str,
) -> Result<(), PortalError> {
    if purpose.sends_after_response() {
        send_after_response(ctx, to, email, Some(flow_id))
    } else {
        send(ctx, to, email)
    }
}

/// The message `email` to `to`, in the visitor's language and the portal's branding.
fn compose(ctx: &Ctx<'_>, to: &str, email: Email<'_>) -> Result<Message, PortalError> {
    require_email(ctx)?;
    let settings = &ctx.settings;
    let branding = settings.branding();
    let strings = ctx.strings().mail();
    let app = branding.application_name.as_str();
    let origin = ctx.link_origin()?.origin().ascii_serialization();
    // One pass over each template: what a value says is never expanded (`security::email_text`).
    let fill_with = |text: &str, values: &[(&str, &str)]| {
        let mut all = vec![("app", app)];
        all.extend_from_slice(values);
        email_text::fill(text, &all)
    };
    let fill = |text: &str| fill_with(text, &[]);
    let why = fill(strings.mail_why);
    let language = format!("ui_locales={}", ctx.strings().lang);
    // What every email shares: no code unless it is a code email, the language, why it came.
    let plain = |subject: String, lead: String, buttons: Vec<(&'static str, String)>, mut footer: Vec<String>| {
        footer.push(why.clone());
        EmailContent {
            subject,
            lead,
            code: None,
            buttons,
            footer,
            code_heading: strings.mail_code_heading,
            lang: ctx.strings().lang,
        }
    };
    let content = match &email {
        Email::Code { purpose, code, flow_id } => {
            let (subject, lead) = code_texts(strings, *purpose);
            EmailContent {
                code: Some(code),
                ..plain(
                    fill_with(subject, &[("code", code)]),
                    fill(lead),
                    vec![(
                        strings.mail_open_button,
                        format!("{origin}/verify?flow={flow_id}&code={code}&{language}"),
                    )],
                    vec![fill(strings.mail_code_expires), strings.mail_ignore.to_owned()],
                )
            }
        }
        Email::InstanceInvitation { link } => {
            let waitlist = ctx.strings().waitlist();
            plain(
                fill(waitlist.subject_invited),
                fill(waitlist.lead_invited),
                vec![(waitlist.create_button, link.clone())],
                vec![strings.mail_ignore.to_owned()],
            )
        }
        Email::VerifyReminder => {
            let admin = ctx.strings().admin();
            plain(
                fill(admin.verify_subject),
                fill(admin.verify_lead),
                vec![(
                    ctx.strings().sign_in_link,
                    format!("{origin}/sign-in?redirect_url=%2Fuser&{language}"),
                )],
                Vec::new(),
            )
        }
        Email::SignUpAttempt => plain(
            fill(strings.subject_sign_up_attempt),
            fill(strings.lead_sign_up_attempt),
            vec![
                (ctx.strings().sign_in_link, format!("{origin}/sign-in?{language}")),
                (
                    strings.reset_password_button,
                    format!("{origin}/forgot-password?{language}"),
                ),
            ],
            Vec::new(),
        ),
        Email::AddressChanged { new_address } => plain(
            fill(strings.subject_email_changed),
            fill_with(strings.lead_email_changed, &[("address", new_address)]),
            vec![(
                strings.reset_password_button,
                format!("{origin}/forgot-password?{language}"),
            )],
            Vec::new(),
        ),
        Email::Invitation {
            inviter,
            organization,
            role,
            link,
        } => {
            // Names that could read as a link or an address give way to neutral words.
            let inviter = email_text::name_for_email(inviter).unwrap_or(strings.mail_someone);
            let organization = email_text::name_for_email(organization).unwrap_or(strings.mail_an_organization);
            let values = [("inviter", inviter), ("org", organization), ("role", *role)];
            plain(
                fill_with(strings.subject_invitation, &values),
                fill_with(strings.lead_invitation, &values),
                vec![(strings.accept_button, link.clone())],
                vec![strings.mail_ignore.to_owned()],
            )
        }
        Email::TwoStepChanged { on } => {
            let two_step = ctx.strings().two_step();
            let (subject, lead) = if *on {
                (two_step.subject_on, two_step.lead_on)
            } else {
                (two_step.subject_off, two_step.lead_off)
            };
            plain(
                fill(subject),
                fill(lead),
                vec![(
                    strings.reset_password_button,
                    format!("{origin}/forgot-password?{language}"),
                )],
                Vec::new(),
            )
        }
        Email::PasskeyAdded { name } => {
            let passkey = ctx.strings().passkey();
            let name = email_text::name_for_email(name).unwrap_or("Passkey");
            plain(
                fill(passkey.subject_added),
                fill_with(passkey.lead_added, &[("name", name)]),
                vec![(
                    strings.reset_password_button,
                    format!("{origin}/forgot-password?{language}"),
                )],
                Vec::new(),
            )
        }
        Email::BackupCodeUsed { left } => {
            let two_step = ctx.strings().two_step();
            plain(
                fill(two_step.subject_backup_used),
                fill_with(two_step.lead_backup_used, &[("count", &left.to_string())]),
                vec![(
                    strings.reset_password_button,
                    format!("{origin}/forgot-password?{language}"),
                )],
                Vec::new(),
            )
        }
        Email::NewDevice {
            device,
            address,
            when,
            token,
        } => plain(
            fill(strings.subject_new_device),
            fill_with(
                strings.lead_new_device,
                &[("device", device), ("address", address), ("when", when)],
            ),
            vec![(
                strings.not_me_button,
                format!("{origin}/unauthorized-sign-in?token={token}&{language}"),
            )],
            Vec::new(),
        ),
    };
    // A logo on the portal itself (`/logo.png`) needs the portal's origin in an email.
    let logo = branding.logo_url.as_deref().map(|logo| {
        if logo.starts_with('/') {
            format!("{origin}{logo}")
        } else {
            logo.to_owned()
        }
    });
    let (text, html) = render(branding, logo.as_deref(), &content);
    Ok(Message {
        to: to.to_owned(),
        from: settings.email().from.clone(),
        subject: content.subject,
        text,
        html,
    })
}

fn code_texts(strings: &MailStrings, purpose: Purpose) -> (&'static str, &'static str) {
    match purpose {
        Purpose::SignUp => (strings.subject_sign_up, strings.lead_sign_up),
        Purpose::Reset => (strings.subject_reset, strings.lead_reset),
        Purpose::SignIn => (strings.subject_sign_in, strings.lead_sign_in),
        Purpose::EmailChange => (strings.subject_email_change, strings.lead_email_change),
        Purpose::VerifyEmail => (strings.subject_verify, strings.lead_verify),
    }
}

fn send_error(error: SendError) -> PortalError {
    match error {
        SendError::NotConfigured => PortalError::Config(Vec::new()),
        SendError::Failed(_) => PortalError::EmailNotSent,
        // A form problem: the page shows again with what was typed and the minutes to wait.
        SendError::RateLimited { until } => crate::error::FormProblem {
            locked_until: Some(until),
            ..crate::error::FormProblem::new(http::StatusCode::TOO_MANY_REQUESTS, crate::views::Msg::TooManyEmails)
        }
        .into(),
        SendError::Db(error) => error.into(),
    }
}

/// A code flow to start from a page.
pub struct CodeFlowStart<'a> {
    pub purpose: Purpose,
    pub email: &'a str,
    pub user_id: Option<&'a crate::domain::UserId>,
    pub payload: Option<String>,
    pub target: Option<&'a crate::redirect::RedirectTarget>,
    /// The address must not learn anything: no code works, and this email (if any) goes instead.
    pub decoy: Option<Option<Email<'a>>>,
}

/// Starts a code flow: flood limits, the flow stored, the email sent (the flow is forgotten if
/// it could not be), then 303 to the code page. A decoy looks the same from the browser.
pub fn start_code_flow(ctx: &Ctx<'_>, start: CodeFlowStart<'_>) -> super::PageResult {
    require_email(ctx)?;
    admit(ctx, start.email)?;
    let db = ctx.db()?;
    let decoy = start.decoy.is_some();
    let (flow_id, code) = email_rules::start_flow(
        db,
        ctx.signing_mac()?,
        &email_rules::NewFlow {
            purpose: start.purpose,
            email: start.email,
            user_id: start.user_id,
            payload: start.payload,
            target: start.target.map(|target| target.url().as_str().to_owned()),
            decoy,
            browser_hash: matches!(start.purpose, Purpose::SignIn | Purpose::SignUp | Purpose::Reset)
                .then(|| email_rules::browser_hash(ctx.csrf_cookie_value())),
        },
        ctx.now(),
    )?;
    let sent = match (code, start.decoy) {
        (Some(code), _) => send_for_flow(
            ctx,
            start.purpose,
            start.email,
            Email::Code {
                purpose: start.purpose,
                code: &code,
                flow_id: &flow_id,
            },
            &flow_id,
        ),
        (None, Some(Some(email))) => send_for_flow(ctx, start.purpose, start.email, email, &flow_id),
        (None, _) => Ok(()),
    };
    if let Err(error) = sent {
        email_rules::abandon_flow(db, &flow_id)?;
        return Err(error);
    }
    Ok(super::render::see_other(&code_page(ctx, &flow_id)))
}

/// The code page of a flow, in the visitor's language.
pub fn code_page(ctx: &Ctx<'_>, flow_id: &str) -> String {
    flow_page(ctx, "/verify", flow_id)
}

/// The page at `path` of pending flow `flow_id`, keeping the visitor's `ui_locales`.
pub fn flow_page(ctx: &Ctx<'_>, path: &str, flow_id: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("flow", flow_id);
    if let Some(locales) = ctx.query.get("ui_locales") {
        query.append_pair("ui_locales", locales);
    }
    format!("{path}?{}", query.finish())
}

/// Starts a code flow for the account with `typed` as its address (reset or email-code
/// sign-in); for an unknown address, a decoy flow whose page looks the same and sends nothing.
pub fn start_for_address(
    ctx: &Ctx<'_>,
    typed: &str,
    target: &crate::redirect::RedirectTarget,
    purpose: Purpose,
) -> super::PageResult {
    let email = crate::domain::EmailAddress::parse(typed).map_err(|problem| {
        crate::error::FormProblem::fields(vec![("email_address", crate::domain::FieldError::Field(problem))])
    })?;
    let user = crate::service::accounts::account_with_address(ctx.db()?, &email)?;
    start_code_flow(
        ctx,
        CodeFlowStart {
            purpose,
            email: email.as_str(),
            user_id: user.as_ref().map(|user| &user.id),
            payload: None,
            target: Some(target),
            decoy: user.is_none().then_some(None),
        },
    )
}
