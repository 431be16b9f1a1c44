//! The embedded stylesheets, served under fingerprinted URLs so browsers may cache them forever.

use http::{HeaderValue, header};

use super::Ctx;
use super::render::{PageResult, content_response};
use crate::error::PortalError;
use crate::views;

/// Reads no setting and touches no storage: every asset follows from its path alone.
pub fn serve(ctx: &Ctx<'_>) -> PageResult {
    const FOREVER: &str = "public, max-age=31536000, immutable";
    let path = ctx.path;
    let compressed = if path == views::portal_css_path() {
        Some((views::PORTAL_CSS_GZIP, "text/css; charset=utf-8"))
    } else if path == views::portal_js_path() {
        Some((views::PORTAL_JS_GZIP, "text/javascript; charset=utf-8"))
    } else {
        None
    };
    if let Some((member, content_type)) = compressed {
        let mut response = crate::gzip::serve(member, ctx.header("accept-encoding"), content_type)
            .ok_or_else(|| PortalError::Internal("an embedded asset does not inflate".into()))?;
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(FOREVER));
        return Ok(response);
    }
    let (content_type, body) = if path == views::favicon_path() {
        ("image/svg+xml", views::FAVICON_SVG.to_owned())
    } else {
        let css = views::theme_css_for_path(path).ok_or(PortalError::NotFound)?;
        ("text/css; charset=utf-8", css)
    };
    Ok(content_response(content_type, FOREVER, body.into_bytes()))
}
