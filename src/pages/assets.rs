//! The embedded stylesheets, served under fingerprinted URLs so browsers may cache them forever.

use super::Ctx;
use super::render::{PageResult, content_response};
use crate::error::PortalError;
use crate::views;

pub fn serve(ctx: &Ctx<'_>) -> PageResult {
    let css = if ctx.path == views::portal_css_path() {
        views::PORTAL_CSS.to_owned()
    } else if ctx.path == views::theme_css_path(&ctx.settings.branding) {
        views::theme_css(&ctx.settings.branding)
    } else {
        return Err(PortalError::NotFound);
    };
    Ok(content_response(
        "text/css; charset=utf-8",
        "public, max-age=31536000, immutable",
        css.into_bytes(),
    ))
}
