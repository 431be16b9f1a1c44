//! The embedded stylesheets, served under fingerprinted URLs so browsers may cache them forever.

use http::{Response, StatusCode, header};

use super::{Ctx, PageResult};
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
    let mut response = Response::new(css.into_bytes());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(response)
}
