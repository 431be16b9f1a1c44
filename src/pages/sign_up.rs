//! `/sign-up`: email address, password and the optional attributes the operator enabled.

use crate::service::auth::Factor;
use maud::{Markup, html};

use super::bot_check::{self, Protected};
use super::mail::{self, CodeFlowStart, Email};
use super::parts::{FormCard, alternate_link, field_error, invited_email, prefill};
use super::redirects::{self, link_keeping_redirect};
use super::render::{PageResult, or_show_form};
use super::{Ctx, auth, oauth, passwords};
use crate::config::{FieldMode, SignUpMode};
use crate::domain::{EmailAddress, PersonName, PhoneNumber, Username};
use crate::error::FormProblem;
use crate::error::PortalError;
use crate::form::Params;
use crate::redirect::{Flow, RedirectChoice, RedirectTarget};
use crate::security::password::MAX_PASSWORD_CHARS;
use crate::service::accounts::{self, SignUpInput, SignUpRequest, SignedUp};
use crate::service::email::Purpose;
use crate::service::invitations;
use crate::views::Field;

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    let choice = redirects::choose(ctx, Flow::SignUp);
    if let Some(visitor) = ctx.signed_in()? {
        return auth::resume(ctx, visitor, &choice.target);
    }
    let invitation = invitation(ctx, ctx.query.text("invitation"), ctx.query.text("proof"))?;
    if invitation.is_none() && ctx.settings.sign_up_mode().needs_invitation() {
        return closed(ctx);
    }
    // A form that could never be sent is not shown: production with verified sign-up and no
    // provider says so at once.
    if !ctx.settings.is_development() && ctx.settings.verification_required() {
        mail::require_email(ctx)?;
    }
    let value = |name: &str, max: usize| prefill(ctx, name, max).unwrap_or_default().to_owned();
    // The invitation is looked up only when the app prefilled nothing: it costs statements.
    let email_address = match prefill(ctx, "email_address", EmailAddress::MAX_LEN) {
        Some(prefilled) => prefilled.to_owned(),
        None => invited_email(ctx)?.unwrap_or_default(),
    };
    let input = SignUpInput {
        email_address,
        phone_number: value("phone_number", PhoneNumber::MAX_LEN),
        username: value("username", Username::MAX_LEN),
        first_name: value("first_name", PersonName::MAX_LEN),
        last_name: value("last_name", PersonName::MAX_LEN),
        password: String::new(),
        password_min_length: 0,
    };
    render(ctx, &choice.target, Some(&choice), &input, None, invitation.as_ref())
}

/// The instance invitation a sign-up carries (`invitation`, the link's token): `None` without
/// one; a token that opens nothing live is a clear "no longer available" page.
fn invitation(ctx: &Ctx<'_>, token: &str, proof: &str) -> Result<Option<Invited>, PortalError> {
    if token.is_empty() {
        return Ok(None);
    }
    let invitation = invitations::open(ctx.db()?, token, ctx.now())?
        .ok_or(PortalError::Gone(crate::views::Msg::InvitationUnavailable))?;
    Ok(Some(Invited {
        token: token.to_owned(),
        invitation,
        proof: proof.chars().take(100).collect(),
    }))
}

/// A sign-up opened by an instance invitation: its token (carried by the form), what it is, and
/// the emailed link's mailbox proof when the form came from the email.
struct Invited {
    token: String,
    invitation: crate::store::instance_invitations::InstanceInvitation,
    proof: String,
}

impl Invited {
    /// Whether the person opened the link the portal emailed to the invitation's address (so the
    /// address is theirs, and the account is made verified without a code).
    fn proves_mailbox(&self, ctx: &Ctx<'_>) -> bool {
        !self.proof.is_empty()
            && ctx
                .mac_keys()
                .is_ok_and(|keys| keys.check_tag(EMAILED_PROOF_PURPOSE, &self.token, &self.proof))
    }
}

/// What the emailed instance invitation link adds to the token: proof that whoever opens it read
/// the invitee's mailbox.
///
/// # Threat
/// The operator who invites sees the token (the Backend API answers the link), so the token alone
/// proves nothing about the address. Only the link the portal emails carries this tag (HMAC under
/// the portal's key, bound to the token); an account is made verified by an invitation only with
/// it. Without it, a verified sign-up still sends its code to the address.
const EMAILED_PROOF_PURPOSE: &str = "instance invitation link as emailed to its address";

/// The sign-up link of an instance invitation (what the operator is shown: no mailbox proof).
pub(crate) fn instance_invitation_link(ctx: &Ctx<'_>, token: &str) -> Result<url::Url, PortalError> {
    let mut link = ctx.link_origin()?.clone();
    link.set_path("/sign-up");
    link.query_pairs_mut().clear().append_pair("invitation", token);
    Ok(link)
}

/// Emails an instance invitation to its address: the sign-up link with the mailbox proof.
pub(crate) fn send_instance_invitation(ctx: &Ctx<'_>, email: &str, token: &str) -> Result<(), PortalError> {
    let mut link = instance_invitation_link(ctx, token)?;
    let proof = ctx.signing_mac()?.tag(EMAILED_PROOF_PURPOSE, token);
    link.query_pairs_mut().append_pair("proof", &proof);
    mail::send(ctx, email, Email::InstanceInvitation { link: link.to_string() })
}

/// Emails a new instance invitation; when the email cannot go, the invitation is revoked (no
/// link nobody received stays live) and the error is answered.
pub(crate) fn email_or_withdraw(
    ctx: &Ctx<'_>,
    invitation: &crate::store::instance_invitations::InstanceInvitation,
    token: &str,
) -> Result<(), PortalError> {
    let sent = mail::require_email(ctx).and_then(|()| send_instance_invitation(ctx, invitation.email.as_str(), token));
    if let Err(error) = sent {
        eprintln!("the invitation to {} was not sent: {error}", invitation.email.as_str());
        invitations::revoke(ctx.db()?, &invitation.id, ctx.now())?;
        return Err(error);
    }
    Ok(())
}

/// Approves a waiting entry and emails its invitation; an email that cannot go takes the
/// approval back. `None` when the entry is not waiting.
pub(crate) fn approve_waitlist_entry(
    ctx: &Ctx<'_>,
    id: &str,
) -> Result<Option<crate::store::instance_invitations::InstanceInvitation>, PortalError> {
    let db = ctx.db()?;
    let days = invitations::DEFAULT_LIFETIME_DAYS;
    let Some((invitation, token)) = crate::service::waitlist::approve(db, id, days, ctx.now())? else {
        return Ok(None);
    };
    if let Err(error) = email_or_withdraw(ctx, &invitation, &token) {
        crate::service::waitlist::unapprove(db, id)?;
        return Err(error);
    }
    Ok(Some(invitation))
}

pub fn submit(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.parse_form()?;
    let invited = invitation(ctx, form.text("invitation"), form.text("proof"))?;
    if invited.is_none() && ctx.settings.sign_up_mode().needs_invitation() {
        let mut page = closed(ctx)?;
        *page.status_mut() = http::StatusCode::FORBIDDEN;
        return Ok(page);
    }
    let target = redirects::from_form(ctx, Flow::SignUp, &form)?;
    // An invitation fixes the address: the one it was made out to, whatever the form says.
    let email = invited
        .as_ref()
        .map_or(form.text("email_address"), |invited| invited.invitation.email.as_str());
    let input = posted_account(ctx, &form, email);
    let signed_up = ctx
        .check_form(&form)
        .and_then(|()| bot_check::check(ctx, &form, Protected::SignUp))
        .and_then(|()| sign_up(ctx, &input, &target, invited.as_ref()));
    or_show_form(signed_up, |problem| {
        render(ctx, &target, None, &input, Some(&problem), invited.as_ref())
    })
}

/// `sign_up_mode = restricted`: the page says sign-up is by invitation, with the way to sign in;
/// `waitlist`: that it is by the waitlist, with the way to join it.
fn closed(ctx: &Ctx<'_>) -> PageResult {
    let strings = ctx.strings();
    let waitlist = ctx.strings().waitlist();
    let on_waitlist = ctx.settings.sign_up_mode() == SignUpMode::Waitlist;
    let (title, lead) = if on_waitlist {
        (waitlist.closed_title, waitlist.closed_lead)
    } else {
        (
            strings.errors().sign_up_closed_title,
            strings.errors().sign_up_closed_lead,
        )
    };
    let content = html! {
        div.card {
            h1 { (title) }
            p.lead { (lead) }
            div.actions {
                @if on_waitlist {
                    a.button href="/waitlist" { (waitlist.join_button) }
                }
                a.button.secondary[on_waitlist] href=(link_keeping_redirect(ctx, "/sign-in")) { (strings.sign_in_link) }
            }
        }
    };
    Ok(super::render::Page::new(ctx, title).render(content))
}

/// The fields [`account_fields`] renders, as posted, for `email_address` (the form's,
/// or one the page fixed).
pub(super) fn posted_account(ctx: &Ctx<'_>, form: &Params, email_address: &str) -> SignUpInput {
    SignUpInput {
        email_address: email_address.to_owned(),
        password: form.text("password").to_owned(),
        first_name: form.text("first_name").to_owned(),
        last_name: form.text("last_name").to_owned(),
        username: form.text("username").to_owned(),
        phone_number: form.text("phone_number").to_owned(),
        password_min_length: ctx.settings.password_min_length(),
    }
}

/// With `email_verification = required` (the default): sends a code and shows the code page;
/// the account exists once the code is entered. An address that already has an account gets
/// the same page (its owner gets an email saying someone tried), so sign-up reveals nothing.
/// With `off`: creates the account (or signs into the existing one with that email and password)
/// and starts the session.
fn sign_up(ctx: &Ctx<'_>, input: &SignUpInput, target: &RedirectTarget, invited: Option<&Invited>) -> PageResult {
    passwords::check_sign_up(ctx, input)?;
    // An invitation lifts the restricted mode for its address; the block list still applies.
    let policy = match invited {
        Some(_) => ctx.settings.sign_up_policy().for_invitation(),
        None => ctx.settings.sign_up_policy().clone(),
    };
    // The emailed invitation link proved the mailbox: a new account is made verified at once.
    if let Some(invited) = invited.filter(|invited| invited.proves_mailbox(ctx)) {
        let db = ctx.db()?;
        if let SignUpRequest::New(pending) =
            accounts::request_sign_up(db, input, ctx.settings.sign_up_fields(), &policy, &ctx.attempt())?
        {
            let pending = accounts::PendingSignUp {
                invitation: Some(invited.invitation.id.clone()),
                ..pending
            };
            let user = crate::store::transaction(db, || {
                accounts::create_verified_account(db, &pending, &policy, ctx.now())
            })?;
            return auth::first_factor(ctx, &user, Factor::Password, &target.location());
        }
        // The address has an account already: as any sign-up of a taken address, below.
    }
    if !ctx.settings.verification_required() {
        let db = ctx.db()?;
        return match accounts::sign_up(db, input, ctx.settings.sign_up_fields(), &policy, &ctx.attempt())? {
            SignedUp::Created(user) => {
                if let Some(invited) = invited {
                    invitations::take(db, &invited.invitation.id, &user.email, ctx.now())?;
                }
                auth::first_factor(ctx, &user, Factor::Password, &target.location())
            }
            SignedUp::ExistingAccount(user) => auth::first_factor(ctx, &user, Factor::Password, &target.location()),
        };
    }
    let request = accounts::request_sign_up(ctx.db()?, input, ctx.settings.sign_up_fields(), &policy, &ctx.attempt())?;
    mail::require_email(ctx)?;
    let (email, payload, decoy) = match &request {
        SignUpRequest::New(pending) => {
            let pending = accounts::PendingSignUp {
                invitation: invited.map(|invited| invited.invitation.id.clone()),
                ..pending.clone()
            };
            (pending.email.clone(), Some(pending.to_json()), None)
        }
        SignUpRequest::Existing(user) => (user.email.as_str().to_owned(), None, Some(Some(Email::SignUpAttempt))),
    };
    mail::start_code_flow(
        ctx,
        CodeFlowStart {
            purpose: Purpose::SignUp,
            email: &email,
            user_id: None,
            payload,
            target: Some(target),
            decoy,
        },
    )
}

fn render(
    ctx: &Ctx<'_>,
    target: &RedirectTarget,
    choice: Option<&RedirectChoice>,
    input: &SignUpInput,
    problem: Option<&FormProblem>,
    invited: Option<&Invited>,
) -> PageResult {
    let strings = ctx.strings();
    let card = FormCard {
        title: strings.sign_up_title,
        lead: strings.sign_up_lead,
        action: &link_keeping_redirect(ctx, "/sign-up"),
        flow: Flow::SignUp,
        target,
        choice,
        problem,
        bot_check: true,
    };
    let fixed_email = invited.map(|invited| invited.invitation.email.as_str());
    let form_fields = html! {
        @if let Some(invited) = invited {
            input type="hidden" name="invitation" value=(invited.token);
            @if !invited.proof.is_empty() {
                input type="hidden" name="proof" value=(invited.proof);
            }
        }
        (account_fields(ctx, input, problem, fixed_email))
                (bot_check::widget(ctx, Protected::SignUp))
                button type="submit" { (strings.sign_up_button) }
    };
    let legal = ctx.settings.legal_links();
    let after = html! {
        (oauth::buttons(ctx))
        @if legal.terms.is_some() || legal.privacy.is_some() {
            p.hint.legal {
                (strings.legal_lead) " "
                @if let Some(terms) = &legal.terms { a href=(terms) { (strings.terms_link) } }
                @if legal.terms.is_some() && legal.privacy.is_some() { " · " }
                @if let Some(privacy) = &legal.privacy { a href=(privacy) { (strings.privacy_link) } }
            }
        }
        (alternate_link(ctx, strings.have_account, strings.sign_in_link, "/sign-in"))
    };
    card.render(ctx, form_fields, after)
}

/// The fields of a new account: the optional ones the operator shows, the address (or, from an
/// invitation, the fixed address it was made out to), and the password.
pub(super) fn account_fields(
    ctx: &Ctx<'_>,
    input: &SignUpInput,
    problem: Option<&FormProblem>,
    fixed_email: Option<&str>,
) -> Markup {
    let strings = ctx.strings();
    let fields = ctx.settings.sign_up_fields();
    let error = |name: &str| field_error(ctx, problem, name);
    let is_required = |mode: FieldMode| mode == FieldMode::Required;
    html! {
                @if fields.first_name.is_shown() || fields.last_name.is_shown() {
                    div.row {
                        @if fields.first_name.is_shown() {
                            (Field::new("first_name", strings.first_name_label, "text", "given-name")
                                .value(&input.first_name).error(error("first_name"))
                                .required(is_required(fields.first_name)).max_length(PersonName::MAX_LEN).render(strings))
                        }
                        @if fields.last_name.is_shown() {
                            (Field::new("last_name", strings.last_name_label, "text", "family-name")
                                .value(&input.last_name).error(error("last_name"))
                                .required(is_required(fields.last_name)).max_length(PersonName::MAX_LEN).render(strings))
                        }
                    }
                }
                @if fields.username.is_shown() {
                    (Field::new("username", strings.username_label, "text", "username")
                        .value(&input.username).error(error("username"))
                        .required(is_required(fields.username)).max_length(Username::MAX_LEN)
                        .hint(strings.username_hint).render(strings))
                }
                @if let Some(fixed) = fixed_email {
                    // The address an invitation was made out to: shown, not asked.
                    p { strong { (strings.email_label) ": " } (crate::views::email(fixed)) }
                } @else {
                    (Field::new("email_address", strings.email_label, "email", "email")
                        .value(&input.email_address).error(error("email_address"))
                        .required(true).max_length(EmailAddress::MAX_LEN).render(strings))
                }
                @if fields.phone_number.is_shown() {
                    (Field::new("phone_number", strings.phone_label, "tel", "tel")
                        .value(&input.phone_number).error(error("phone_number"))
                        .required(is_required(fields.phone_number)).max_length(PhoneNumber::MAX_LEN)
                        .hint(strings.phone_hint).render(strings))
                }
                (Field::new("password", strings.password_label, "password", "new-password")
                    .error(error("password")).required(true).max_length(MAX_PASSWORD_CHARS)
                    .hint(super::parts::password_hint(strings, ctx.settings.password_min_length_if_read()))
                    .render(strings))
    }
}
