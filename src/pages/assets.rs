//! The embedded stylesheets, served under fingerprinted URLs so browsers may cache them forever.

use super::Ctx;
use super::render::{PageResult, content_response};
use crate::error::PortalError;
use crate::views;

/// Reads no setting and touches no storage: every asset follows from its path alone.
pub fn serve(ctx: &Ctx<'_>) -> PageResult {
    let path = ctx.path;
    let (content_type, body) = if path == views::portal_css_path() {
        ("text/css; charset=utf-8", views::PORTAL_CSS.to_owned())
    } else if path == views::portal_js_path() {
        ("text/javascript; charset=utf-8", views::PORTAL_JS.to_owned())
    } else if path == views::favicon_path() {
        ("image/svg+xml", views::FAVICON_SVG.to_owned())
    } else {
        let css = views::theme_css_for_path(path).ok_or(PortalError::NotFound)?;
        ("text/css; charset=utf-8", css)
    };
    Ok(content_response(
        content_type,
        "public, max-age=31536000, immutable",
        body.into_bytes(),
    ))
}
