//! The web layer. A page handler reads like a paragraph: read the request (`ctx.form()?`,
//! `ctx.visitor()?`), call the rules in `crate::service`, then render or redirect. Errors travel
//! by `?` to [`error_page::render`]; a form problem is caught by its page and shown on the form.
//!
//! Support modules: [`ctx`] (request facts and lazy resources), [`redirects`] (where the visitor
//! goes next), [`render`] (the page builder and plain responses), [`auth`] (session cookies),
//! [`parts`] (shared fragments). Page modules never import each other.

pub mod admin;
mod auth;
mod bot_check;
mod ctx;
pub mod error_page;
pub(crate) mod mail;
pub mod oauth;
pub(crate) mod parts;
pub mod passkeys;
pub(crate) mod passwords;
mod redirects;
pub mod render;

pub mod assets;
pub mod codes;
pub mod factor_two;
pub mod organization;
pub mod recovery;
pub mod sign_in;
pub mod sign_out;
pub mod sign_up;
pub mod status;
pub mod step_up;
pub mod user;
pub mod waitlist;

pub use ctx::Ctx;
pub use render::{FormActionOrigins, PageResult, ShowsBotCheck};
