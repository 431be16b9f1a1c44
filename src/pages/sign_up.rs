//! `/sign-up`: email address, password and the optional attributes the operator enabled.

use maud::html;

use super::{Ctx, PageResult, link_keeping_redirect, prefill};
use crate::config::FieldMode;
use crate::error::PortalError;
use crate::redirect::Flow;
use crate::views::Field;

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    let choice = ctx.choose_redirect(Flow::SignUp);
    let strings = ctx.strings;
    let fields = ctx.settings.sign_up_fields;
    let value = |name: &str, max: usize| prefill(ctx, name, max).unwrap_or_default();
    let is_required = |mode: FieldMode| mode == FieldMode::Required;
    let content = html! {
        div.card {
            h1 { (strings.sign_up_title) }
            p.lead { (strings.sign_up_lead) }
            form method="post" action="/sign-up" novalidate {
                @if fields.first_name.is_shown() || fields.last_name.is_shown() {
                    div.row {
                        @if fields.first_name.is_shown() {
                            (Field::new("first_name", strings.first_name_label, "text", "given-name")
                                .value(value("first_name", 100)).required(is_required(fields.first_name))
                                .max_length(100).render(strings))
                        }
                        @if fields.last_name.is_shown() {
                            (Field::new("last_name", strings.last_name_label, "text", "family-name")
                                .value(value("last_name", 100)).required(is_required(fields.last_name))
                                .max_length(100).render(strings))
                        }
                    }
                }
                @if fields.username.is_shown() {
                    (Field::new("username", strings.username_label, "text", "username")
                        .value(value("username", 64)).required(is_required(fields.username))
                        .max_length(64).hint(strings.username_hint).render(strings))
                }
                (Field::new("email_address", strings.email_label, "email", "email")
                    .value(value("email_address", 254)).required(true).max_length(254).render(strings))
                @if fields.phone_number.is_shown() {
                    (Field::new("phone_number", strings.phone_label, "tel", "tel")
                        .value(value("phone_number", 16)).required(is_required(fields.phone_number))
                        .max_length(16).hint(strings.phone_hint).render(strings))
                }
                (Field::new("password", strings.password_label, "password", "new-password")
                    .required(true).max_length(256).hint(strings.password_hint).render(strings))
                button type="submit" { (strings.sign_up_button) }
            }
            p.alternate {
                (strings.have_account) " "
                a href=(link_keeping_redirect(ctx, "/sign-in")) { (strings.sign_in_link) }
            }
        }
    };
    Ok(ctx.render(strings.sign_up_title, false, Some(&choice), content))
}

pub fn submit(_ctx: &Ctx<'_>) -> PageResult {
    Err(PortalError::NotImplemented(
        "Signing up is not available yet: accounts arrive in the next release.",
    ))
}
