//! The organization pages: the create form, the chooser, the organization's page (one function
//! per section), the new invitation's link, and the invitation an invitee answers.

use maud::{Markup, html};

use super::super::parts::{
    FormCard, Notice, Sections, account_nav, field_error, membership_list, role_text, section_card, switch_form,
};
use super::super::redirects;
use super::super::render::{Page, PageResult};
use super::Ctx;
use crate::domain::{EmailAddress, OrganizationName, Role, Slug};
use crate::error::{FormProblem, PortalError};
use crate::form::Params;
use crate::redirect::{Flow, RedirectChoice, RedirectTarget};
use crate::security::email_text;
use crate::service::organizations;
use crate::service::sessions::Visitor;
use crate::store::organizations::{Invitation, Member, Membership, Organization};
use crate::views::{self, Field};

pub fn create_page(
    ctx: &Ctx<'_>,
    target: &RedirectTarget,
    choice: Option<&RedirectChoice>,
    form: &Params,
    slug: &str,
    problem: Option<&FormProblem>,
) -> PageResult {
    let strings = ctx.strings();
    let card = FormCard {
        title: strings.account().create_org_title,
        lead: strings.account().create_org_lead,
        action: "/create-organization",
        flow: Flow::CreateOrganization,
        target,
        choice,
        problem,
        bot_check: false,
    };
    let fields = html! {
        (Field::new("name", strings.account().org_name_label, "text", "organization")
            .value(form.text("name")).error(field_error(ctx, problem, "name")).required(true)
            .max_length(OrganizationName::MAX_LEN).render(strings))
        (Field::new("slug", strings.account().org_slug_label, "text", "off")
            .value(slug).error(field_error(ctx, problem, "slug")).required(false)
            .max_length(Slug::MAX_LEN).hint(strings.account().org_slug_hint).render(strings))
        button type="submit" { (strings.account().create_org_button) }
    };
    card.render(ctx, fields, html! {})
}

/// For a visitor with organizations but none active.
pub fn chooser(ctx: &Ctx<'_>, memberships: &[Membership]) -> PageResult {
    let strings = ctx.strings();
    let content = html! {
        div.card {
            h1 { (strings.account().choose_org_title) }
            (membership_list(ctx, memberships, None)?)
            p { a href="/create-organization" { (strings.account().create_org_title) } }
        }
    };
    Ok(Page::new(ctx, strings.account().choose_org_title).render(content))
}

/// `/organization?switch=<slug>` (an old-style link): asks before switching, since a link any
/// site can place must not change which organization the app sees.
pub fn switch_page(ctx: &Ctx<'_>, membership: &Membership) -> PageResult {
    let strings = ctx.strings();
    let organization = &membership.organization;
    let content = html! {
        div.card {
            h1 { (strings.account().choose_org_title) }
            p.lead { strong { (organization.name) } " " span.mono { (organization.slug) } }
            (switch_form(ctx, &organization.slug, &organization.name)?)
        }
    };
    Ok(Page::new(ctx, strings.account().choose_org_title).render(content))
}

/// What every section of the organization's page needs.
struct Shown<'v> {
    visitor: &'v Visitor,
    membership: &'v Membership,
    is_admin: bool,
    /// The visitor is the organization's only admin: demoting or leaving can only fail, so
    /// neither is offered.
    sole_admin: bool,
    /// The CSRF field and the organization the form acts on.
    hidden: Markup,
    /// `hidden` plus the sealed way out, for the forms that end outside the organization.
    leaving: Markup,
}

/// The organization's page. Leaving and deleting end at `leave_target`, which CSP
/// `form-action` must allow.
pub fn profile_page(
    ctx: &Ctx<'_>,
    visitor: &Visitor,
    membership: &Membership,
    leave_target: &RedirectTarget,
    choice: Option<&RedirectChoice>,
    notice: Option<Notice>,
    sections: &Sections<'_, '_>,
) -> PageResult {
    let strings = ctx.strings();
    let organization = &membership.organization;
    let (members, invitations) = organizations::organization_roster(ctx.db()?, membership)?;
    let hidden = html! {
        (ctx.csrf_field()?)
        input type="hidden" name="org_id" value=(organization.id);
    };
    let shown = Shown {
        visitor,
        membership,
        is_admin: membership.role == Role::Admin,
        sole_admin: membership.role == Role::Admin && members.iter().filter(|m| m.role == Role::Admin).count() == 1,
        leaving: html! {
            (hidden)
            (redirects::sealed_field(ctx, Flow::LeaveOrganization, leave_target)?)
        },
        hidden,
    };
    let content = html! {
        (account_nav(ctx, "/organization"))
        h1 { (organization.name) }
        p.lead { span.mono { (organization.slug) } " · " (role_text(strings, membership.role)) }
        @if organization.require_two_step && !visitor.two_step_on() {
            p.notice role="status" {
                (strings.two_step().org_withheld) " "
                a href="/user/two-step?redirect_url=%2Forganization" { (strings.two_step().set_up_button) }
            }
        }
        (general_section(ctx, &shown, sections))
        @if shown.is_admin {
            (two_step_section(ctx, &shown))
        }
        (members_section(ctx, &shown, &members, sections))
        @if shown.is_admin {
            (invitations_section(ctx, &shown, &invitations, sections))
        }
        (leave_section(ctx, &shown, sections))
        @if shown.is_admin {
            (delete_section(ctx, &shown, sections))
        }
    };
    Ok(Page::new(ctx, &organization.name)
        .wide()
        .redirect_choice(choice)
        .notice(notice)
        .problem(sections.problem())
        .form_target(leave_target)
        .render(content))
}

fn general_section(ctx: &Ctx<'_>, shown: &Shown<'_>, sections: &Sections<'_, '_>) -> Markup {
    let strings = ctx.strings();
    let organization = &shown.membership.organization;
    let name = sections.value("general", "name", Some(&organization.name));
    let slug = sections.value("general", "slug", Some(&organization.slug));
    html! {
        (section_card("general", strings.account().general_section, html! {}, sections.summary("general"), html! {
            @if shown.is_admin {
                form method="post" action="/organization/general" novalidate {
                    (shown.hidden)
                    (Field::new("name", strings.account().org_name_label, "text", "organization")
                        .value(&name).error(sections.error("general", "name")).required(true).max_length(OrganizationName::MAX_LEN)
                        .render(strings))
                    (Field::new("slug", strings.account().org_slug_label, "text", "off")
                        .value(&slug).error(sections.error("general", "slug")).required(true)
                        .max_length(Slug::MAX_LEN).render(strings))
                    button type="submit" { (strings.account().save_button) }
                }
            } @else {
                p { strong { (strings.account().org_name_label) ": " } (organization.name) }
                p { strong { (strings.account().org_slug_label) ": " } span.mono { (organization.slug) } }
            }
        }))
    }
}

/// Whether members must use two-step verification (admins only).
fn two_step_section(ctx: &Ctx<'_>, shown: &Shown<'_>) -> Markup {
    let strings = ctx.strings().two_step();
    let required = shown.membership.organization.require_two_step;
    html! {
        (section_card("two-step", strings.title, html! {}, html! {}, html! {
            form method="post" action="/organization/two-step" {
                (shown.hidden)
                p.check {
                    input type="checkbox" id="require_two_step" name="require_two_step" value="on" checked[required]
                        aria-describedby="require_two_step-hint";
                    " "
                    label for="require_two_step" { (strings.org_require_label) }
                }
                p.hint id="require_two_step-hint" { (strings.org_require_hint) }
                button type="submit" { (ctx.strings().account().save_button) }
            }
        }))
    }
}

fn members_section(ctx: &Ctx<'_>, shown: &Shown<'_>, members: &[Member], sections: &Sections<'_, '_>) -> Markup {
    let strings = ctx.strings();
    html! {
        (section_card("members", strings.account().members_section, html! {}, sections.summary("members"), html! {
            table.stack {
                thead { tr {
                    th scope="col" { (strings.account().member_label) }
                    th scope="col" { (strings.account().role_label) }
                    th scope="col" { (strings.account().joined_label) }
                } }
                tbody {
                    @for member in members {
                        @let email = member.email.as_str();
                        tr {
                            td data-label=(strings.account().member_label) {
                                @let full_name = [member.first_name.as_deref(), member.last_name.as_deref()]
                                    .into_iter().flatten().collect::<Vec<_>>().join(" ");
                                @if !full_name.is_empty() { (full_name) br; }
                                (views::email(email))
                                @if member.user_id == shown.visitor.user.id { " " strong { "(" (strings.account().you_label) ")" } }
                                @if shown.is_admin && !member.has_two_step {
                                    br; span.badge { (strings.two_step().org_member_without) }
                                }
                            }
                            td data-label=(strings.account().role_label) {
                                @if shown.is_admin && !(shown.sole_admin && member.user_id == shown.visitor.user.id) {
                                    form.inline method="post" action="/organization/members/role" {
                                        (shown.hidden)
                                        input type="hidden" name="user_id" value=(member.user_id);
                                        label.visually-hidden for=(format!("role-{}", member.user_id)) {
                                            (strings.account().role_label) " " (email)
                                        }
                                        select id=(format!("role-{}", member.user_id)) name="role" {
                                            option value="admin" selected[member.role == Role::Admin] { (strings.account().role_admin) }
                                            option value="member" selected[member.role == Role::Member] { (strings.account().role_member) }
                                        }
                                        " "
                                        button.secondary type="submit" {
                                            (strings.account().change_role_button) (views::hidden_context(email))
                                        }
                                    }
                                } @else {
                                    (role_text(strings, member.role))
                                }
                            }
                            td data-label=(strings.account().joined_label) {
                                (views::relative_time(strings, ctx.now(), member.joined_at))
                                @if shown.is_admin && member.user_id != shown.visitor.user.id {
                                    form.inline method="post" action="/organization/members/remove" {
                                        (shown.hidden)
                                        input type="hidden" name="user_id" value=(member.user_id);
                                        " "
                                        button.secondary type="submit" {
                                            (strings.account().remove_member_button) (views::hidden_context(email))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }))
    }
}

fn invitations_section(
    ctx: &Ctx<'_>,
    shown: &Shown<'_>,
    invitations: &[Invitation],
    sections: &Sections<'_, '_>,
) -> Markup {
    let strings = ctx.strings();
    let invite_email = sections.value("invitations", "email_address", None);
    html! {
        (section_card("invitations", strings.account().invitations_section, html! {},
            sections.summary("invitations"), html! {
            form method="post" action="/organization/invitations" novalidate {
                (shown.hidden)
                div.row {
                    (Field::new("email_address", strings.email_label, "email", "off")
                        .value(&invite_email).error(sections.error("invitations", "email_address")).required(true)
                        .max_length(EmailAddress::MAX_LEN).render(strings))
                    div.field {
                        label for="invite-role" { (strings.account().role_label) }
                        select id="invite-role" name="role" {
                            option value="member" { (strings.account().role_member) }
                            option value="admin" { (strings.account().role_admin) }
                        }
                    }
                }
                button type="submit" { (strings.account().invite_button) }
            }
            @if !invitations.is_empty() {
                h2.spaced { (strings.account().pending_invitations) }
                table.stack {
                    tbody {
                        @for invitation in invitations {
                            tr {
                                td { (views::email(invitation.email.as_str())) }
                                td { (role_text(strings, invitation.role)) }
                                td {
                                    @if invitation.expires_at <= ctx.now() {
                                        (strings.account().expired_label)
                                    } @else {
                                        (strings.account().expires_label) " " (strings.format_date(invitation.expires_at))
                                    }
                                }
                                td {
                                    form.inline method="post" action="/organization/invitations/revoke" {
                                        (shown.hidden)
                                        input type="hidden" name="invitation_id" value=(invitation.id);
                                        button.secondary type="submit" { (strings.account().revoke_invitation_button) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }))
    }
}

fn leave_section(ctx: &Ctx<'_>, shown: &Shown<'_>, sections: &Sections<'_, '_>) -> Markup {
    let strings = ctx.strings();
    html! {
        (section_card("leave", strings.account().leave_section, html! { p.lead { (strings.account().leave_lead) } },
            sections.summary("leave"), html! {
            @if shown.sole_admin {
                p.hint { (strings.account().last_admin) }
            } @else {
                form method="post" action="/organization/leave" {
                    (shown.leaving)
                    button.secondary type="submit" { (strings.account().leave_button) }
                }
            }
        }))
    }
}

fn delete_section(ctx: &Ctx<'_>, shown: &Shown<'_>, sections: &Sections<'_, '_>) -> Markup {
    let strings = ctx.strings();
    let slug = &shown.membership.organization.slug;
    let confirmation_label = strings.account().delete_org_confirmation_label.replace("{slug}", slug);
    let confirmation = sections.value("delete", "confirmation", None);
    html! {
        (section_card("delete", strings.account().delete_org_section, html! { p.lead { (strings.account().delete_org_lead) } },
            sections.summary("delete"), html! {
            form method="post" action="/organization/delete" novalidate {
                (shown.leaving)
                (Field::new("confirmation", &confirmation_label, "text", "off")
                    .value(&confirmation).error(sections.error("delete", "confirmation")).required(true)
                    .max_length(64).render(strings))
                button.danger type="submit" { (strings.account().delete_org_button) }
            }
        }))
    }
}

/// Shows the new invitation's link once (only its hash is stored), with who it is for and the
/// role (as the invitation stored them), and a copy button where scripts run.
pub fn invitation_created(ctx: &Ctx<'_>, created: &organizations::CreatedInvitation) -> PageResult {
    let strings = ctx.strings();
    let link = invitation_link(ctx, &created.token)?;
    let email = created.email.as_str();
    let role = role_text(strings, created.role);
    let lead = strings.invitation_for.replace("{email}", email).replace("{role}", role);
    let content = html! {
        div.card {
            h1 { (strings.account().invitations_section) }
            p.lead { (lead) }
            p.hint { (strings.account().invitation_link_lead) }
            div.field {
                label for="invitation-link" { (strings.account().invitations_section) }
                input.mono id="invitation-link" type="text" readonly value=(link.as_str());
                button.secondary type="button" hidden data-copy="invitation-link" data-copied=(strings.copied) {
                    (strings.copy_link)
                }
            }
            p { a.button href="/organization" { (strings.account().back_to_organization) } }
        }
    };
    Ok(Page::new(ctx, strings.account().invitations_section).render(content))
}

/// The link of an invitation, on the origin emailed links use (`Ctx::link_origin`): what the
/// admin copies.
pub(crate) fn invitation_link(ctx: &Ctx<'_>, token: &str) -> Result<url::Url, crate::error::PortalError> {
    let mut link = ctx.link_origin()?.clone();
    link.set_path("/organization/invitation");
    link.query_pairs_mut().clear().append_pair("token", token);
    Ok(link)
}

/// What the emailed link adds to the token: proof that whoever opens it read the invitee's
/// mailbox.
///
/// # Threat
/// The admin who invites sees the token (they copy the link), so the token alone proves nothing
/// about the address: an admin could open their own copy and make a "verified" account for
/// someone else's address. Only the emailed link carries this tag (HMAC under the portal's key,
/// bound to the token), which the admin never sees; an account is counted verified by an
/// invitation only with it.
const EMAILED_PROOF_PURPOSE: &str = "invitation link as emailed to its address";

/// The link the invitee is emailed: the admin's link plus the mailbox proof.
pub(super) fn emailed_invitation_link(ctx: &Ctx<'_>, token: &str) -> Result<url::Url, crate::error::PortalError> {
    let mut link = invitation_link(ctx, token)?;
    let proof = ctx.signing_mac()?.tag(EMAILED_PROOF_PURPOSE, token);
    link.query_pairs_mut().append_pair("proof", &proof);
    Ok(link)
}

/// Whether `proof` is the emailed link's proof for `token`.
pub(super) fn proves_mailbox(ctx: &Ctx<'_>, token: &str, proof: &str) -> bool {
    !proof.is_empty()
        && ctx
            .mac_keys()
            .is_ok_and(|keys| keys.check_tag(EMAILED_PROOF_PURPOSE, token, proof))
}

/// What an invitation says to its invitee: who invited them (as the email named them) to which
/// organization with which role; without the inviter (a row from before it was recorded, or an
/// account since deleted), only what and as what.
pub fn invitation_lead(
    ctx: &Ctx<'_>,
    invitation: &Invitation,
    organization: &Organization,
) -> Result<String, PortalError> {
    let strings = ctx.strings();
    let role = role_text(strings, invitation.role);
    let Some(inviter) = organizations::inviter(ctx.db()?, invitation)? else {
        return Ok(strings
            .account()
            .invitation_lead
            .replace("{org}", &organization.name)
            .replace("{role}", role));
    };
    let mail = strings.mail();
    let name = super::person_name(&inviter);
    // The email's words and its care for names (a link-shaped one is not repeated); a page makes
    // no links of text, so the inviter's own address stands in for such a name.
    let inviter = email_text::name_for_email(&name).unwrap_or(inviter.email.as_str());
    let values = [
        ("app", ctx.settings.branding().application_name.as_str()),
        ("inviter", inviter),
        ("org", organization.name.as_str()),
        ("role", role),
    ];
    Ok(email_text::fill(mail.lead_invitation, &values))
}

/// The invitation as an invitee who is not signed in sees it: who invited them to what, then, for
/// an address without an account, the new account's form (the address fixed: the invitation's),
/// else the way to sign in and accept.
pub fn invitation_signed_out(
    ctx: &Ctx<'_>,
    token: &str,
    invitation: &Invitation,
    lead: &str,
    proven: Option<(&str, bool)>,
    input: &crate::service::accounts::SignUpInput,
    problem: Option<&FormProblem>,
) -> PageResult {
    let strings = ctx.strings();
    let back_here = format!("/organization/invitation?token={token}");
    let prefilled = |page: &str| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("redirect_url", &back_here)
            .append_pair("email_address", invitation.email.as_str())
            .finish();
        format!("{page}?{query}")
    };
    let sign_in = prefilled("/sign-in");
    let content = html! {
        div.card {
            h1 { (strings.account().invitation_title) }
            p.lead { (lead) }
            (super::super::parts::error_summary(ctx, problem, |name| format!("field-{name}")))
            @if let Some((proof, false)) = proven {
                h2 { (strings.join_title) }
                form method="post" action="/organization/invitation/join" novalidate {
                    (ctx.csrf_field()?)
                    input type="hidden" name="token" value=(token);
                    input type="hidden" name="proof" value=(proof);
                    (super::super::sign_up::account_fields(ctx, input, problem, Some(invitation.email.as_str())))
                    button type="submit" { (strings.join_button) }
                }
                p.alternate { (strings.have_account) " " a href=(sign_in) { (strings.sign_in_link) } }
            } @else {
                // An account exists, or the link is not the emailed one (an admin's copy): the
                // same page either way, so a copy tells its holder nothing about the address.
                p { a.button href=(sign_in) { (strings.sign_in_to_accept) } }
                @if proven.is_none() {
                    p.alternate { (strings.no_account) " " a href=(prefilled("/sign-up")) { (strings.sign_up_link) } }
                }
            }
        }
    };
    Ok(Page::new(ctx, strings.account().invitation_title)
        .problem(problem)
        .render(content))
}

/// The invitation as its invitee sees it, with accept and decline.
pub fn invitation_page(ctx: &Ctx<'_>, token: &str, lead: &str) -> PageResult {
    let strings = ctx.strings();
    let content = html! {
        div.card {
            h1 { (strings.account().invitation_title) }
            p.lead { (lead) }
            div.actions {
                form.inline method="post" action="/organization/invitation/accept" {
                    (ctx.csrf_field()?)
                    input type="hidden" name="token" value=(token);
                    button type="submit" { (strings.account().accept_button) }
                }
                form.inline method="post" action="/organization/invitation/decline" {
                    (ctx.csrf_field()?)
                    input type="hidden" name="token" value=(token);
                    button.secondary type="submit" { (strings.account().decline_button) }
                }
            }
        }
    };
    Ok(Page::new(ctx, strings.account().invitation_title).render(content))
}
