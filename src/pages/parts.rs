//! Fragments and texts several pages share: success notices, field and form problems, the
//! helper that puts a failed post back into its section, the account navigation, the list of
//! the visitor's organizations, and prefill values from the query.

use std::borrow::Cow;

use maud::{Markup, html};

use super::Ctx;
use super::bot_check::{self, Protected};
use super::redirects::link_keeping_redirect;
use super::render::{Page, PageResult};
use crate::domain::{EmailAddress, FieldError, FieldProblem, OrgId, Role};
use crate::error::{FormProblem, PortalError};
use crate::form::Params;
use crate::redirect::{self, Flow, RedirectChoice, RedirectTarget};
use crate::security::password::PasswordProblem;
use crate::service::organizations;
use crate::store::organizations::Membership;
use crate::views::{self, Msg, Strings};

/// A page that is one card with one form (sign-in, sign-up, create an organization): its title
/// and lead, the form's problem above it, and the form ending in `flow`'s redirect to `target`.
pub struct FormCard<'p> {
    pub title: &'p str,
    pub lead: &'p str,
    pub action: &'p str,
    pub flow: Flow,
    pub target: &'p RedirectTarget,
    /// The chain this request ran, when the page is shown rather than re-shown after a post.
    pub choice: Option<&'p RedirectChoice>,
    pub problem: Option<&'p FormProblem>,
    /// The form is protected by Turnstile: its fields hold `bot_check::widget` before the
    /// submit button, and the page's CSP names the widget's origin (when a site key is set).
    pub bot_check: bool,
}

impl FormCard<'_> {
    /// `fields` go into the form after its hidden fields (the submit button too); `after` below.
    pub fn render(self, ctx: &Ctx<'_>, fields: Markup, after: Markup) -> PageResult {
        let content = html! {
            div.card {
                h1 { (self.title) }
                p.lead { (self.lead) }
                (error_summary(ctx, self.problem, field_id))
                form method="post" action=(self.action) novalidate {
                    (ctx.form_fields(self.flow, self.target)?)
                    (fields)
                }
                (after)
            }
        };
        Ok(Page::new(ctx, self.title)
            .notice(Notice::from_query(ctx))
            .redirect_choice(self.choice)
            .form_target(self.target)
            .problem(self.problem)
            .bot_check(self.bot_check && super::bot_check::is_shown(ctx))
            .render(content))
    }
}

/// A card whose form asks for an email address alone and is guarded by the bot check (the
/// waitlist, "forgot password"), with "Already have an account? Sign in" under it.
pub struct EmailOnlyForm<'p> {
    pub title: &'p str,
    pub lead: &'p str,
    /// The page's own path, which the form posts back to (keeping `redirect_url`).
    pub path: &'static str,
    pub flow: Flow,
    pub protected: Protected,
    pub button: &'p str,
}

impl EmailOnlyForm<'_> {
    /// The form holding `email`, with `problem` when re-shown after a post.
    pub fn render(
        self,
        ctx: &Ctx<'_>,
        target: &RedirectTarget,
        choice: Option<&RedirectChoice>,
        email: &str,
        problem: Option<&FormProblem>,
    ) -> PageResult {
        let strings = ctx.strings();
        let card = FormCard {
            title: self.title,
            lead: self.lead,
            action: &link_keeping_redirect(ctx, self.path),
            flow: self.flow,
            target,
            choice,
            problem,
            bot_check: true,
        };
        let fields = html! {
            (views::Field::new("email_address", strings.email_label, "email", "email")
                .value(email).error(field_error(ctx, problem, "email_address"))
                .required(true).max_length(EmailAddress::MAX_LEN).render(strings))
            (bot_check::widget(ctx, self.protected))
            button type="submit" { (self.button) }
        };
        let after = alternate_link(ctx, strings.have_account, strings.sign_in_link, "/sign-in");
        card.render(ctx, fields, after)
    }
}

/// A success notice, carried as `?notice=<key>` after a post/redirect/get (never free text from
/// the query: an unknown key shows nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    ProfileUpdated,
    EmailUpdated,
    PhoneUpdated,
    PhoneRemoved,
    PasswordUpdated,
    SessionRevoked,
    OtherSessionsRevoked,
    InvitationDeclined,
    OrgUpdated,
    RoleChanged,
    MemberRemoved,
    InvitationRevoked,
    InvitationAccepted,
    Switched,
    SignedOut,
    AccountDeleted,
    LeftOrganization,
    OrganizationDeleted,
    OrganizationCreated,
    PasswordReset,
    EmailChanged,
    EmailVerified,
    TwoStepOn,
    TwoStepOff,
    PasskeyAdded,
    PasskeyRemoved,
    PasskeyRenamed,
    PasswordRemoved,
    ProviderConnected,
    ProviderDisconnected,
    Reauthenticated,
    AdminActionDone,
}

impl Notice {
    const ALL: [Self; 32] = [
        Self::ProfileUpdated,
        Self::EmailUpdated,
        Self::PhoneUpdated,
        Self::PhoneRemoved,
        Self::PasswordUpdated,
        Self::SessionRevoked,
        Self::OtherSessionsRevoked,
        Self::InvitationDeclined,
        Self::OrgUpdated,
        Self::RoleChanged,
        Self::MemberRemoved,
        Self::InvitationRevoked,
        Self::InvitationAccepted,
        Self::Switched,
        Self::SignedOut,
        Self::AccountDeleted,
        Self::LeftOrganization,
        Self::OrganizationDeleted,
        Self::OrganizationCreated,
        Self::PasswordReset,
        Self::EmailChanged,
        Self::EmailVerified,
        Self::TwoStepOn,
        Self::TwoStepOff,
        Self::PasskeyAdded,
        Self::PasskeyRemoved,
        Self::PasskeyRenamed,
        Self::PasswordRemoved,
        Self::ProviderConnected,
        Self::ProviderDisconnected,
        Self::Reauthenticated,
        Self::AdminActionDone,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::ProfileUpdated => "profile_updated",
            Self::EmailUpdated => "email_updated",
            Self::PhoneUpdated => "phone_updated",
            Self::PhoneRemoved => "phone_removed",
            Self::PasswordUpdated => "password_updated",
            Self::SessionRevoked => "session_revoked",
            Self::OtherSessionsRevoked => "other_sessions_revoked",
            Self::InvitationDeclined => "invitation_declined",
            Self::OrgUpdated => "org_updated",
            Self::RoleChanged => "role_changed",
            Self::MemberRemoved => "member_removed",
            Self::InvitationRevoked => "invitation_revoked",
            Self::InvitationAccepted => "invitation_accepted",
            Self::Switched => "switched",
            Self::SignedOut => "signed_out",
            Self::AccountDeleted => "account_deleted",
            Self::LeftOrganization => "left_organization",
            Self::OrganizationDeleted => "organization_deleted",
            Self::OrganizationCreated => "organization_created",
            Self::PasswordReset => "password_reset",
            Self::EmailChanged => "email_changed",
            Self::EmailVerified => "email_verified",
            Self::TwoStepOn => "two_step_on",
            Self::TwoStepOff => "two_step_off",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRemoved => "passkey_removed",
            Self::PasskeyRenamed => "passkey_renamed",
            Self::PasswordRemoved => "password_removed",
            Self::ProviderConnected => "provider_connected",
            Self::ProviderDisconnected => "provider_disconnected",
            Self::Reauthenticated => "reauthenticated",
            Self::AdminActionDone => "admin_done",
        }
    }

    pub fn text(self, strings: &Strings) -> &'static str {
        match self {
            Self::ProfileUpdated => strings.account().notice_profile_updated,
            Self::EmailUpdated => strings.account().notice_email_updated,
            Self::PhoneUpdated => strings.account().notice_phone_updated,
            Self::PhoneRemoved => strings.account().notice_phone_removed,
            Self::PasswordUpdated => strings.account().notice_password_updated,
            Self::SessionRevoked => strings.account().notice_session_revoked,
            Self::OtherSessionsRevoked => strings.account().notice_other_sessions_revoked,
            Self::InvitationDeclined => strings.account().notice_invitation_declined,
            Self::OrgUpdated => strings.account().notice_org_updated,
            Self::RoleChanged => strings.account().notice_role_changed,
            Self::MemberRemoved => strings.account().notice_member_removed,
            Self::InvitationRevoked => strings.account().notice_invitation_revoked,
            Self::InvitationAccepted => strings.account().notice_invitation_accepted,
            Self::Switched => strings.account().notice_switched,
            Self::SignedOut => strings.notice_signed_out,
            Self::AccountDeleted => strings.notice_account_deleted,
            Self::LeftOrganization => strings.notice_left_organization,
            Self::OrganizationDeleted => strings.notice_organization_deleted,
            Self::OrganizationCreated => strings.notice_organization_created,
            Self::PasswordReset => strings.mail().notice_password_reset,
            Self::EmailChanged => strings.mail().notice_email_changed,
            Self::EmailVerified => strings.mail().notice_email_verified,
            Self::TwoStepOn => strings.two_step().notice_on,
            Self::TwoStepOff => strings.two_step().notice_off,
            Self::PasskeyAdded => strings.passkey().notice_added,
            Self::PasskeyRemoved => strings.passkey().notice_removed,
            Self::PasskeyRenamed => strings.passkey().notice_renamed,
            Self::PasswordRemoved => strings.passkey().notice_password_removed,
            Self::ProviderConnected => strings.oauth().notice_connected,
            Self::ProviderDisconnected => strings.oauth().notice_disconnected,
            Self::Reauthenticated => strings.oauth().notice_reauthenticated,
            Self::AdminActionDone => strings.admin().notice_done,
        }
    }

    /// Whether the page at `path` shows this notice.
    fn is_shown_on(self, path: &str) -> bool {
        match self {
            Self::InvitationDeclined => true,
            Self::ProfileUpdated
            | Self::EmailUpdated
            | Self::PhoneUpdated
            | Self::PhoneRemoved
            | Self::PasswordUpdated
            | Self::SessionRevoked
            | Self::OtherSessionsRevoked
            | Self::LeftOrganization
            | Self::OrganizationDeleted
            | Self::PasswordReset
            | Self::EmailChanged
            | Self::EmailVerified
            | Self::TwoStepOn
            | Self::TwoStepOff
            | Self::PasskeyAdded
            | Self::PasskeyRemoved
            | Self::PasskeyRenamed
            | Self::PasswordRemoved
            | Self::ProviderConnected
            | Self::ProviderDisconnected
            | Self::Reauthenticated => path == "/user",
            Self::SignedOut | Self::AccountDeleted => path == "/sign-in",
            Self::OrgUpdated
            | Self::RoleChanged
            | Self::MemberRemoved
            | Self::InvitationRevoked
            | Self::InvitationAccepted
            | Self::Switched
            | Self::OrganizationCreated => path == "/organization",
            Self::AdminActionDone => path.starts_with("/admin"),
        }
    }

    /// Where a flow that ends at `target` goes: there, unless it is the portal's own default
    /// page, where the visitor would see no sign of what happened: then `page` with this notice.
    pub fn after(self, target: &RedirectTarget, page: &str) -> String {
        if target.location() == redirect::LAST_RESORT_PATH {
            format!("{page}?notice={}", self.key())
        } else {
            target.location()
        }
    }

    /// The notice this page's `?notice=` names, if it is one this page shows.
    pub fn from_query(ctx: &Ctx<'_>) -> Option<Self> {
        let key = ctx.query.get("notice")?;
        Self::ALL
            .into_iter()
            .find(|notice| notice.key() == key && notice.is_shown_on(ctx.path))
    }
}

/// The message shown next to a field for a problem with it.
pub fn field_error_text(strings: &Strings, field: &str, error: FieldError) -> Cow<'static, str> {
    if let FieldError::Password(PasswordProblem::TooShort { min }) = error {
        return strings
            .errors()
            .password_too_short
            .replace("{n}", &min.to_string())
            .into();
    }
    let text = match (field, error) {
        (_, FieldError::UsernameTaken) => strings.errors().username_taken,
        (_, FieldError::EmailTaken) => strings.errors().email_taken,
        (_, FieldError::ConfirmationMismatch) => strings.errors().confirmation_mismatch,
        (_, FieldError::SlugTaken) => strings.account().slug_taken,
        (_, FieldError::AlreadyMember) => strings.account().already_member,
        (_, FieldError::LastAdminOfOrganization) => strings.account().last_admin_of_organization,
        (_, FieldError::WrongPassword) => strings.errors().wrong_current_password,
        (_, FieldError::SignUpRefused) => strings.errors().sign_up_refused,
        (_, FieldError::Password(PasswordProblem::TooLong)) => strings.errors().password_too_long,
        (_, FieldError::Password(PasswordProblem::SameAsEmail)) => strings.errors().password_same_as_email,
        (_, FieldError::Password(PasswordProblem::Breached)) => strings.errors().password_breached,
        (_, FieldError::Field(FieldProblem::Required)) => strings.errors().field_required,
        (_, FieldError::Field(FieldProblem::TooLong)) => strings.errors().field_too_long,
        ("email_address", _) => strings.errors().invalid_email,
        ("username", _) => strings.errors().invalid_username,
        ("phone_number", _) => strings.errors().invalid_phone,
        ("slug", _) => strings.account().invalid_slug,
        ("role", _) => strings.account().invalid_role,
        _ => strings.errors().invalid_name,
    };
    text.into()
}

/// The message above a failed form, in the visitor's language (a lock says for how long).
pub fn problem_message(ctx: &Ctx<'_>, problem: &FormProblem) -> String {
    let text = ctx.strings().message(problem.message);
    match (problem.message, problem.locked_until) {
        (Msg::LockedOut | Msg::TooManyEmails, Some(until)) => {
            let minutes = ((until - ctx.now()).max(1) + 59) / 60;
            text.replace("{minutes}", &minutes.to_string())
        }
        _ => text.to_owned(),
    }
}

/// The label of a form field, for the links of an error summary.
fn field_label(strings: &Strings, name: &str) -> &'static str {
    match name {
        "identifier" => strings.identifier_label,
        "email_address" => strings.email_label,
        "password" => strings.password_label,
        "new_password" => strings.account().new_password_label,
        "current_password" => strings.account().current_password_label,
        "first_name" => strings.first_name_label,
        "last_name" => strings.last_name_label,
        "username" => strings.username_label,
        "phone_number" => strings.phone_label,
        "name" => strings.account().org_name_label,
        "slug" => strings.account().org_slug_label,
        "role" => strings.account().role_label,
        _ => strings.confirmation_label,
    }
}

/// The summary above a failed form: its message and a link to each field with a problem;
/// `id_of` gives a field's id (`field-<name>` unless the page has several fields of that name).
pub fn error_summary(ctx: &Ctx<'_>, problem: Option<&FormProblem>, id_of: impl Fn(&str) -> String) -> Markup {
    let Some(problem) = problem else {
        return html! {};
    };
    let links: Vec<(String, String)> = problem
        .fields
        .iter()
        .map(|(name, error)| {
            let text = format!(
                "{}: {}",
                field_label(ctx.strings(), name),
                field_error_text(ctx.strings(), name, *error)
            );
            (id_of(name), text)
        })
        .collect();
    // A locked sign-in says how to get in now: a password reset, which ends the lock.
    let way_out = (problem.message == Msg::LockedOut).then(|| {
        (
            super::redirects::link_keeping_redirect(ctx, "/forgot-password"),
            ctx.strings().forgot_password_link,
        )
    });
    views::error_summary(
        &problem_message(ctx, problem),
        &links,
        way_out.as_ref().map(|(href, text)| (href.as_str(), *text)),
    )
}

/// The hint under a new-password field: the operator's minimum when this request has read it
/// (`min_length`), else words without a number (an anonymous `GET /sign-up` reads no policy
/// variable but the mode).
pub fn password_hint(strings: &Strings, min_length: Option<usize>) -> String {
    match min_length {
        Some(min) => strings.password_hint.replace("{n}", &min.to_string()),
        None => strings.password_hint_without_length.to_owned(),
    }
}

/// The id of a field on a page with one form of it.
pub fn field_id(name: &str) -> String {
    format!("field-{name}")
}

/// The message next to field `name` of a failed form.
pub fn field_error(ctx: &Ctx<'_>, problem: Option<&FormProblem>, name: &str) -> Option<Cow<'static, str>> {
    let error = problem?.field(name)?;
    Some(field_error_text(ctx.strings(), name, error))
}

/// A page of several forms (`/user`, `/organization`) after one of them failed: that section
/// shows the problem and what was typed; every other section shows what is stored.
pub struct Sections<'c, 'a> {
    ctx: &'c Ctx<'a>,
    failed: Option<(&'static str, &'c FormProblem, &'c Params)>,
}

impl<'c, 'a> Sections<'c, 'a> {
    /// A page with no failed post.
    pub fn clean(ctx: &'c Ctx<'a>) -> Self {
        Self { ctx, failed: None }
    }

    /// A page whose form in `section` failed with `problem`, having sent `form`.
    pub fn failed(ctx: &'c Ctx<'a>, section: &'static str, problem: &'c FormProblem, form: &'c Params) -> Self {
        Self {
            ctx,
            failed: Some((section, problem, form)),
        }
    }

    /// The failed post's problem, if any: its status and `Retry-After` are the page's.
    pub fn problem(&self) -> Option<&'c FormProblem> {
        self.failed.map(|(_, problem, _)| problem)
    }

    fn problem_in(&self, section: &str) -> Option<&'c FormProblem> {
        self.failed
            .filter(|(failed, _, _)| *failed == section)
            .map(|(_, problem, _)| problem)
    }

    /// The summary above `section`'s form (its fields' ids carry the section only where the
    /// page has several fields of one name: the current password).
    pub fn summary(&self, section: &str) -> Markup {
        error_summary(self.ctx, self.problem_in(section), |name| match name {
            "current_password" => format!("field-{section}-current_password"),
            other => field_id(other),
        })
    }

    /// The message next to `field` in `section`.
    pub fn error(&self, section: &str, field: &str) -> Option<Cow<'static, str>> {
        field_error(self.ctx, self.problem_in(section), field)
    }

    /// What the person typed in `section` when its post failed, else `stored`.
    pub fn value(&self, section: &str, field: &str, stored: Option<&str>) -> String {
        match self.failed {
            Some((failed, _, form)) if failed == section => form.text(field).to_owned(),
            _ => stored.unwrap_or_default().to_owned(),
        }
    }
}

/// The address an invitation was sent to, when this page's `redirect_url` is the invitation's
/// link: the invitee lands on sign-in or sign-up with it filled in.
pub fn invited_email(ctx: &Ctx<'_>) -> Result<Option<String>, PortalError> {
    let token = ctx
        .query
        .get("redirect_url")
        .and_then(|target| target.strip_prefix("/organization/invitation?"))
        .and_then(|query| Params::from_query(query).get("token").map(str::to_owned));
    let Some(token) = token else {
        return Ok(None);
    };
    let email = organizations::invited_email(ctx.db()?, &token, ctx.now())?;
    Ok(email.map(|email| email.as_str().to_owned()))
}

/// A prefill value from the query (`email_address`, `username`, …). Values longer than
/// `max_chars` or holding control characters are dropped rather than cut, so a field never shows
/// something the app did not send.
pub fn prefill<'c>(ctx: &'c Ctx<'_>, name: &str, max_chars: usize) -> Option<&'c str> {
    let value = ctx.query.get(name)?.trim();
    let acceptable = !value.is_empty() && value.chars().count() <= max_chars && !value.chars().any(char::is_control);
    acceptable.then_some(value)
}

/// One section of a page of several forms: a card named by its heading, an introduction, the
/// summary of its failed post, then its forms.
pub fn section_card(id: &str, heading: &str, intro: Markup, summary: Markup, body: Markup) -> Markup {
    let heading_id = format!("{id}-heading");
    html! {
        section.card id=(id) aria-labelledby=(heading_id) {
            h2 id=(heading_id) { (heading) }
            (intro)
            (summary)
            (body)
        }
    }
}

/// "No account yet? Sign up" under a form, keeping the redirect parameters.
pub fn alternate_link(ctx: &Ctx<'_>, question: &str, label: &str, path: &str) -> Markup {
    html! {
        p.alternate {
            (question) " "
            a href=(super::redirects::link_keeping_redirect(ctx, path)) { (label) }
        }
    }
}

/// Links between the signed-in pages: the account, the active organization, sign-out.
pub fn account_nav(ctx: &Ctx<'_>, current: &str) -> Markup {
    let strings = ctx.strings();
    let links = [
        ("/user", strings.user_title),
        ("/organization", strings.account().organizations_section),
        ("/sign-out", strings.sign_out_title),
    ];
    tabs(strings.account().account_navigation, &links, current)
}

/// A row of links between pages (`label` names the navigation), the `current` one marked.
pub fn tabs(label: &str, links: &[(&str, &str)], current: &str) -> Markup {
    html! {
        nav.tabs aria-label=(label) {
            @for (href, text) in links {
                a.button.secondary href=(href) aria-current=[(*href == current).then_some("page")] { (text) }
            }
        }
    }
}

pub fn role_text(strings: &Strings, role: Role) -> &'static str {
    match role {
        Role::Admin => strings.account().role_admin,
        Role::Member => strings.account().role_member,
    }
}

/// The visitor's organizations, each with a button that makes it the active one (a POST with
/// CSRF: a cross-site link must not change which organization the app sees).
pub fn membership_list(
    ctx: &Ctx<'_>,
    memberships: &[Membership],
    active: Option<&OrgId>,
) -> Result<Markup, PortalError> {
    let strings = ctx.strings();
    Ok(html! {
        @if memberships.is_empty() {
            p.hint { (strings.account().no_organizations) }
        } @else {
            table.stack {
                tbody {
                    @for membership in memberships {
                        @let organization = &membership.organization;
                        tr {
                            td { strong { (organization.name) } br; span.mono { (organization.slug) } }
                            td { (role_text(strings, membership.role)) }
                            td {
                                @if active == Some(&organization.id) {
                                    strong { (strings.account().active_label) }
                                } @else {
                                    (switch_form(ctx, &organization.slug, &organization.name)?)
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// "Switch to <name>": makes the organization with `slug` the active one.
pub fn switch_form(ctx: &Ctx<'_>, slug: &str, name: &str) -> Result<Markup, PortalError> {
    Ok(html! {
        form.inline method="post" action="/organization/switch" {
            (ctx.csrf_field()?)
            input type="hidden" name="slug" value=(slug);
            button.secondary type="submit" { (ctx.strings().account().switch_button) " " (name) }
        }
    })
}
