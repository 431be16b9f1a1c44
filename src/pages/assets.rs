//! The embedded stylesheets, served under fingerprinted URLs so browsers may cache them forever.

use super::Ctx;
use super::render::{PageResult, content_response};
use crate::error::PortalError;
use crate::views;

/// Reads no setting and touches no storage: both stylesheets follow from the path alone.
pub fn serve(ctx: &Ctx<'_>) -> PageResult {
    let css = if ctx.path == views::portal_css_path() {
        views::PORTAL_CSS.to_owned()
    } else {
        views::theme_css_for_path(ctx.path).ok_or(PortalError::NotFound)?
    };
    Ok(content_response(
        "text/css; charset=utf-8",
        "public, max-age=31536000, immutable",
        css.into_bytes(),
    ))
}
