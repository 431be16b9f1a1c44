//! `/admin…`: the operator's console. Users (search, a user's page and its actions),
//! organizations, webhook deliveries with a retry, and the audit log every action writes. Only
//! for a verified address in `admin_emails` signed in with two factors (`service::admin::gate`);
//! everyone else finds nothing here. Forms are CSRF-checked posts, as on every page.

use maud::{Markup, html};

use super::Ctx;
use super::mail::{self, Email};
use super::parts::{Notice, role_text, section_card, tabs};
use super::render::{Page, PageResult, see_other};
use crate::domain::UserId;
use crate::error::PortalError;
use crate::service::admin::{self as rules, Gate};
use crate::service::organizations;
use crate::service::sessions::{self, Visitor};
use crate::service::users::{self as operator, OperatorError};
use crate::store::events;
use crate::store::users::UserFilter;
use crate::views::{self, Msg};

/// Longest search text.
const QUERY_LIMIT: usize = 100;
/// Rows a list shows.
const LIST_LIMIT: i64 = 50;

/// The visitor, when the console is open to them.
fn operator_visitor<'c>(ctx: &'c Ctx<'_>) -> Result<&'c Visitor, PortalError> {
    let visitor = ctx.visitor()?;
    match rules::gate(ctx.settings.admin_emails(), visitor) {
        Gate::Open => Ok(visitor),
        Gate::NotAnOperator => Err(PortalError::NotFound),
        Gate::Unverified => Err(PortalError::Forbidden(Msg::AdminNeedsVerified)),
        Gate::NeedsTwoStep => Err(PortalError::Forbidden(Msg::AdminNeedsTwoStep)),
    }
}

fn nav(ctx: &Ctx<'_>, current: &str) -> Markup {
    let admin = ctx.strings().admin();
    let links = [
        ("/admin", admin.nav_users),
        ("/admin/organizations", admin.nav_organizations),
        ("/admin/invitations", admin.nav_invitations),
        ("/admin/waitlist", admin.nav_waitlist),
        ("/admin/webhooks", admin.nav_webhooks),
        ("/admin/audit", admin.nav_audit),
    ];
    tabs(admin.title, &links, current)
}

fn page(ctx: &Ctx<'_>, current: &str, heading: &str, content: Markup) -> PageResult {
    let admin = ctx.strings().admin();
    let body = html! {
        div.card {
            h1 { (admin.title) }
            (nav(ctx, current))
        }
        section.card aria-labelledby="admin-heading" {
            h2 id="admin-heading" { (heading) }
            (content)
        }
    };
    Ok(Page::new(ctx, admin.title)
        .wide()
        .notice(Notice::from_query(ctx))
        .render(body))
}

/// A list's search box (a GET form: searching changes nothing).
fn search_form(ctx: &Ctx<'_>, action: &str, id: &str, query: &str) -> Markup {
    let admin = ctx.strings().admin();
    html! {
        form method="get" action=(action) role="search" {
            div.field {
                label for=(id) { (admin.search_label) }
                input id=(id) name="q" type="search" value=(query) maxlength="100";
            }
            button type="submit" { (admin.search_button) }
        }
    }
}

fn query_text(ctx: &Ctx<'_>) -> String {
    ctx.query.text("q").trim().chars().take(QUERY_LIMIT).collect()
}

/// `GET /admin?q=…`: users, newest first, found by address, username or name.
pub fn users(ctx: &Ctx<'_>) -> PageResult {
    operator_visitor(ctx)?;
    let admin = ctx.strings().admin();
    let query = query_text(ctx);
    let filter = UserFilter {
        query: (!query.is_empty()).then(|| query.clone()),
        ..Default::default()
    };
    let (found, _) = operator::list(ctx.db()?, &filter, LIST_LIMIT, 0)?;
    let content = html! {
        (search_form(ctx, "/admin", "admin-q", &query))
        @if found.is_empty() {
            p { (admin.no_results) }
        } @else {
            table.stack {
                thead { tr {
                    th scope="col" { (admin.col_email) }
                    th scope="col" { (admin.col_name) }
                    th scope="col" { (admin.col_status) }
                    th scope="col" { (admin.col_created) }
                } }
                tbody {
                    @for record in &found {
                        @let user = &record.user;
                        tr {
                            td data-label=(admin.col_email) {
                                a href=(format!("/admin/user?id={}", user.id)) { (user.email.as_str()) }
                            }
                            td data-label=(admin.col_name) { (display_name(user)) }
                            td data-label=(admin.col_status) { (status_text(ctx, user)) }
                            td data-label=(admin.col_created) { (views::relative_time(ctx.strings(), ctx.now(), user.created_at)) }
                        }
                    }
                }
            }
        }
    };
    page(ctx, "/admin", admin.nav_users, content)
}

fn display_name(user: &crate::store::users::User) -> String {
    let parts: Vec<&str> = [
        user.first_name.as_deref(),
        user.last_name.as_deref(),
        user.username.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    parts.join(" ")
}

fn status_text(ctx: &Ctx<'_>, user: &crate::store::users::User) -> &'static str {
    let admin = ctx.strings().admin();
    if user.banned_at.is_some() {
        admin.status_banned
    } else if user.email_verified_at.is_none() {
        admin.status_unverified
    } else {
        admin.status_active
    }
}

fn user_id_from(text: &str) -> Result<UserId, PortalError> {
    UserId::parse(text).ok_or(PortalError::NotFound)
}

fn not_found(error: OperatorError) -> PortalError {
    match error {
        OperatorError::NotFound => PortalError::NotFound,
        OperatorError::Db(error) => error.into(),
        other => PortalError::Internal(other.to_string()),
    }
}

/// `GET /admin/user?id=…`: one user: addresses, sign-in methods, sessions, organizations,
/// metadata, and the actions.
pub fn user(ctx: &Ctx<'_>) -> PageResult {
    operator_visitor(ctx)?;
    let admin = ctx.strings().admin();
    let id = user_id_from(ctx.query.text("id"))?;
    let db = ctx.db()?;
    let record = operator::get(db, &id).map_err(not_found)?;
    let user = &record.user;
    let live = sessions::list_sessions(db, &id, ctx.now())?;
    let memberships = organizations::list_memberships(db, &id)?;
    let yes_no = |on: bool| if on { admin.yes } else { admin.no };
    let metadata = serde_json::json!({
        "public_metadata": record.public_metadata,
        "private_metadata": record.private_metadata,
    });
    let action = |name: &str, label: &str, secondary: bool| -> Result<Markup, PortalError> {
        Ok(html! {
            form.inline method="post" action="/admin/user/action" {
                (ctx.csrf_field()?)
                input type="hidden" name="id" value=(user.id.as_str());
                input type="hidden" name="action" value=(name);
                @if secondary { button.secondary type="submit" { (label) } } @else { button type="submit" { (label) } }
            }
        })
    };
    let content = html! {
        dl {
            dt { (admin.col_email) } dd { (user.email.as_str()) " — " (status_text(ctx, user)) }
            dt { (admin.col_name) } dd { (display_name(user)) }
            dt { (admin.col_created) } dd { (views::relative_time(ctx.strings(), ctx.now(), user.created_at)) }
        }
        (section_card("admin-factors", admin.factors, html! {}, html! {}, html! {
            dl {
                dt { (admin.password) } dd { (yes_no(user.has_password())) }
                dt { (admin.authenticator) } dd { (yes_no(user.totp_enabled_at.is_some())) }
                dt { (admin.passkeys) } dd { (user.passkeys) }
            }
        }))
        (section_card("admin-sessions", admin.sessions, html! {}, html! {}, html! {
            @if live.is_empty() { p { (admin.no_sessions) } } @else {
                ul {
                    @for session in &live {
                        li {
                            (session.user_agent.as_deref().and_then(views::device).unwrap_or_default())
                            " · " span.mono { (session.client_addr.as_deref().map(views::address_without_port).unwrap_or_default()) }
                            " · " (views::relative_time(ctx.strings(), ctx.now(), session.last_active_at))
                        }
                    }
                }
            }
        }))
        (section_card("admin-organizations", admin.organizations, html! {}, html! {}, html! {
            ul {
                @for membership in &memberships {
                    li { (membership.organization.name) " (" (membership.organization.slug) ") — " (role_text(ctx.strings(), membership.role)) }
                }
            }
        }))
        (section_card("admin-metadata", admin.metadata, html! {}, html! {}, html! {
            pre.mono { (serde_json::to_string_pretty(&metadata).unwrap_or_default()) }
        }))
        (section_card("admin-actions", admin.actions, html! {}, html! {}, html! {
            div.actions {
                @if user.banned_at.is_some() {
                    (action("unban", admin.unban_button, false)?)
                } @else {
                    (action("ban", admin.ban_button, false)?)
                }
                (action("sign_out", admin.sign_out_button, true)?)
                @if user.email_verified_at.is_none() && ctx.settings.email().can_send() {
                    (action("resend_verification", admin.verify_button, true)?)
                }
            }
            @if user.totp_enabled_at.is_some() {
                p.hint { (admin.reset_two_step_hint) }
                (action("reset_two_step", admin.reset_two_step_button, true)?)
            }
            form method="post" action="/admin/user/action" {
                (ctx.csrf_field()?)
                input type="hidden" name="id" value=(user.id.as_str());
                input type="hidden" name="action" value="delete";
                div.field {
                    label for="admin-confirmation" { (admin.delete_label) }
                    input id="admin-confirmation" name="confirmation" type="text" autocomplete="off" required;
                }
                button.danger type="submit" { (admin.delete_button) }
            }
        }))
    };
    page(ctx, "/admin", user.email.as_str(), content)
}

/// `POST /admin/user/action`: ban, unban, sign out everywhere, reset two-step verification, or
/// delete (the address typed to confirm); then written to the audit log.
pub fn user_action(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let visitor = operator_visitor(ctx)?;
    let id = user_id_from(form.text("id"))?;
    let db = ctx.db()?;
    let now = ctx.now();
    let target = operator::get(db, &id).map_err(not_found)?;
    let label = format!("{} {}", id, target.user.email.as_str());
    let action = form.text("action");
    match action {
        "ban" => drop(operator::ban(db, &id, now).map_err(not_found)?),
        "unban" => drop(operator::unban(db, &id, now).map_err(not_found)?),
        "sign_out" => sessions::end_all_sessions(db, &id, now)?,
        "reset_two_step" => {
            if !rules::reset_two_step(db, &id, now)? {
                return Err(PortalError::NotFound);
            }
            if ctx.settings.email().can_send()
                && let Err(error) = mail::send(ctx, target.user.email.as_str(), Email::TwoStepChanged { on: false })
            {
                eprintln!("admin: the email about a reset two-step verification was not sent: {error:?}");
            }
        }
        "resend_verification" => {
            if target.user.email_verified_at.is_some() {
                return Err(PortalError::BadRequest(Msg::FixErrors));
            }
            mail::admit(ctx, target.user.email.as_str())?;
            mail::send(ctx, target.user.email.as_str(), Email::VerifyReminder)?;
        }
        "delete" => {
            if !form
                .text("confirmation")
                .trim()
                .eq_ignore_ascii_case(target.user.email.as_str())
            {
                return Err(PortalError::BadRequest(Msg::FixErrors));
            }
            match operator::delete(db, &id, now) {
                Ok(()) => {}
                Err(OperatorError::LastAdmin(_)) => return Err(PortalError::Forbidden(Msg::LastAdmin)),
                Err(error) => return Err(not_found(error)),
            }
        }
        _ => return Err(PortalError::BadRequest(Msg::FixErrors)),
    }
    rules::record(db, visitor, action, &label, ctx.client_addr(), now)?;
    let back = if action == "delete" {
        format!("/admin?notice={}", Notice::AdminActionDone.key())
    } else {
        format!("/admin/user?id={id}&notice={}", Notice::AdminActionDone.key())
    };
    Ok(see_other(&back))
}

/// `GET /admin/organizations?q=…`
pub fn organizations_list(ctx: &Ctx<'_>) -> PageResult {
    operator_visitor(ctx)?;
    let admin = ctx.strings().admin();
    let query = query_text(ctx);
    let (found, _) =
        organizations::list_details(ctx.db()?, (!query.is_empty()).then_some(query.as_str()), LIST_LIMIT, 0)?;
    let content = html! {
        (search_form(ctx, "/admin/organizations", "admin-org-q", &query))
        @if found.is_empty() { p { (admin.no_results) } } @else {
            table.stack {
                thead { tr {
                    th scope="col" { (admin.col_name) }
                    th scope="col" { (admin.col_slug) }
                    th scope="col" { (admin.col_members) }
                    th scope="col" { (admin.col_created) }
                } }
                tbody {
                    @for details in &found {
                        tr {
                            td data-label=(admin.col_name) { (details.organization.name) }
                            td.mono data-label=(admin.col_slug) { (details.organization.slug) }
                            td data-label=(admin.col_members) { (details.members) }
                            td data-label=(admin.col_created) { (views::relative_time(ctx.strings(), ctx.now(), details.organization.created_at)) }
                        }
                    }
                }
            }
        }
    };
    page(ctx, "/admin/organizations", admin.nav_organizations, content)
}

/// `GET /admin/webhooks`: the newest events and how their delivery went.
pub fn webhooks(ctx: &Ctx<'_>) -> PageResult {
    operator_visitor(ctx)?;
    let admin = ctx.strings().admin();
    let recent = events::recent(ctx.db()?, LIST_LIMIT)?;
    let content = html! {
        @if ctx.settings.webhooks().is_none() { p { (admin.webhooks_off) } }
        @if recent.is_empty() { p { (admin.no_results) } } @else {
            table.stack {
                thead { tr {
                    th scope="col" { (admin.col_type) }
                    th scope="col" { (admin.col_status) }
                    th scope="col" { (admin.col_attempts) }
                    th scope="col" { (admin.col_last_error) }
                    th scope="col" { (admin.col_created) }
                    th scope="col" { span.visually-hidden { (admin.retry_button) } }
                } }
                tbody {
                    @for event in &recent {
                        tr {
                            td.mono data-label=(admin.col_type) { (event.event_type) }
                            td data-label=(admin.col_status) { (event.status()) }
                            td data-label=(admin.col_attempts) { (event.attempts) }
                            td data-label=(admin.col_last_error) { (event.last_error.as_deref().unwrap_or_default()) }
                            td data-label=(admin.col_created) { (views::relative_time(ctx.strings(), ctx.now(), event.created_at)) }
                            td {
                                @if event.delivered_at.is_none() {
                                    form.inline method="post" action="/admin/webhooks/retry" {
                                        (ctx.csrf_field()?)
                                        input type="hidden" name="id" value=(event.id);
                                        button.secondary type="submit" aria-label=(format!("{} {}", admin.retry_button, event.id)) { (admin.retry_button) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(ctx, "/admin/webhooks", admin.nav_webhooks, content)
}

/// `POST /admin/webhooks/retry`: an undelivered event goes out at the next delivery.
pub fn retry_webhook(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let visitor = operator_visitor(ctx)?;
    let id = form.text("id");
    let db = ctx.db()?;
    if !events::retry(db, id, ctx.now())? {
        return Err(PortalError::NotFound);
    }
    rules::record(db, visitor, "retry_webhook", id, ctx.client_addr(), ctx.now())?;
    if let Some(settings) = ctx.settings.webhooks()
        && let Some(later) = ctx.later
    {
        later.deliver_webhooks(settings.clone());
    }
    Ok(see_other(&format!(
        "/admin/webhooks?notice={}",
        Notice::AdminActionDone.key()
    )))
}

/// `GET /admin/invitations`: pending invitations to the instance, each with a revoke button.
pub fn invitations(ctx: &Ctx<'_>) -> PageResult {
    operator_visitor(ctx)?;
    let admin = ctx.strings().admin();
    let pending = crate::service::invitations::pending(ctx.db()?)?;
    let content = html! {
        p.hint { (admin.invitations_lead) }
        @if pending.is_empty() { p { (admin.no_results) } } @else {
            table.stack {
                thead { tr {
                    th scope="col" { (admin.col_email) }
                    th scope="col" { (admin.col_created) }
                    th scope="col" { (admin.col_expires) }
                    th scope="col" { span.visually-hidden { (admin.revoke_button) } }
                } }
                tbody {
                    @for invitation in &pending {
                        tr {
                            td data-label=(admin.col_email) { (invitation.email.as_str()) }
                            td data-label=(admin.col_created) { (views::relative_time(ctx.strings(), ctx.now(), invitation.created_at)) }
                            td data-label=(admin.col_expires) { (views::relative_time(ctx.strings(), ctx.now(), invitation.expires_at)) }
                            td {
                                form.inline method="post" action="/admin/invitations/revoke" {
                                    (ctx.csrf_field()?)
                                    input type="hidden" name="id" value=(invitation.id);
                                    button.secondary type="submit" aria-label=(format!("{} {}", admin.revoke_button, invitation.email.as_str())) { (admin.revoke_button) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(ctx, "/admin/invitations", admin.nav_invitations, content)
}

/// `POST /admin/invitations/revoke`
pub fn revoke_invitation(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let visitor = operator_visitor(ctx)?;
    let id = form.text("id");
    let db = ctx.db()?;
    if !crate::service::invitations::revoke(db, id, ctx.now())? {
        return Err(PortalError::NotFound);
    }
    rules::record(db, visitor, "revoke_invitation", id, ctx.client_addr(), ctx.now())?;
    Ok(see_other(&format!(
        "/admin/invitations?notice={}",
        Notice::AdminActionDone.key()
    )))
}

/// `GET /admin/waitlist`: who is waiting, first come first, each with "Approve and invite".
pub fn waitlist(ctx: &Ctx<'_>) -> PageResult {
    operator_visitor(ctx)?;
    let admin = ctx.strings().admin();
    let waiting = crate::service::waitlist::waiting(ctx.db()?, LIST_LIMIT)?;
    let content = html! {
        @if waiting.is_empty() { p { (admin.no_results) } } @else {
            table.stack {
                thead { tr {
                    th scope="col" { (admin.col_email) }
                    th scope="col" { (admin.col_created) }
                    th scope="col" { span.visually-hidden { (admin.approve_button) } }
                } }
                tbody {
                    @for entry in &waiting {
                        tr {
                            td data-label=(admin.col_email) { (entry.email.as_str()) }
                            td data-label=(admin.col_created) { (views::relative_time(ctx.strings(), ctx.now(), entry.created_at)) }
                            td {
                                form.inline method="post" action="/admin/waitlist/approve" {
                                    (ctx.csrf_field()?)
                                    input type="hidden" name="id" value=(entry.id);
                                    button type="submit" aria-label=(format!("{} {}", admin.approve_button, entry.email.as_str())) { (admin.approve_button) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(ctx, "/admin/waitlist", admin.nav_waitlist, content)
}

/// `POST /admin/waitlist/approve`: an instance invitation, emailed; an email that cannot be sent
/// takes the approval back.
pub fn approve_waitlist(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let visitor = operator_visitor(ctx)?;
    let id = form.text("id");
    let invitation = super::sign_up::approve_waitlist_entry(ctx, id)?.ok_or(PortalError::NotFound)?;
    let db = ctx.db()?;
    rules::record(
        db,
        visitor,
        "approve_waitlist",
        invitation.email.as_str(),
        ctx.client_addr(),
        ctx.now(),
    )?;
    Ok(see_other(&format!(
        "/admin/waitlist?notice={}",
        Notice::AdminActionDone.key()
    )))
}

/// `GET /admin/audit`: what operators did, newest first.
pub fn audit(ctx: &Ctx<'_>) -> PageResult {
    operator_visitor(ctx)?;
    let admin = ctx.strings().admin();
    let entries = rules::audit_log(ctx.db()?, 100)?;
    let content = html! {
        @if entries.is_empty() { p { (admin.no_results) } } @else {
            table.stack {
                thead { tr {
                    th scope="col" { (admin.col_when) }
                    th scope="col" { (admin.col_who) }
                    th scope="col" { (admin.col_action) }
                    th scope="col" { (admin.col_target) }
                    th scope="col" { (admin.col_from) }
                } }
                tbody {
                    @for entry in &entries {
                        tr {
                            td data-label=(admin.col_when) { (views::relative_time(ctx.strings(), ctx.now(), entry.created_at)) }
                            td data-label=(admin.col_who) { (entry.actor_email) }
                            td.mono data-label=(admin.col_action) { (entry.action) }
                            td.mono data-label=(admin.col_target) { (entry.target) }
                            td.mono data-label=(admin.col_from) { (entry.client_addr.as_deref().map(views::address_without_port).unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    };
    page(ctx, "/admin/audit", admin.nav_audit, content)
}
