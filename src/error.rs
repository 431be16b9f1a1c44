//! The one error type page handlers return; `pages::error_page` turns it into a status and a page.

use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("there is no page at this address")]
    NotFound,
    #[error("this page does not accept that method")]
    MethodNotAllowed { allow: &'static str },
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is larger than the portal accepts")]
    PayloadTooLarge,
    #[error("forms must be sent as application/x-www-form-urlencoded")]
    UnsupportedMediaType,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    #[error("the portal's configuration has errors")]
    Config(Vec<ConfigError>),
    #[error("the portal is busy, please try again in a moment")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl PortalError {
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            Self::NotFound => S::NOT_FOUND,
            Self::MethodNotAllowed { .. } => S::METHOD_NOT_ALLOWED,
            Self::BadRequest(_) => S::BAD_REQUEST,
            Self::PayloadTooLarge => S::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => S::UNSUPPORTED_MEDIA_TYPE,
            Self::Forbidden(_) => S::FORBIDDEN,
            Self::Conflict(_) => S::CONFLICT,
            Self::Gone(_) => S::GONE,
            Self::Config(_) | Self::Internal(_) => S::INTERNAL_SERVER_ERROR,
            Self::Unavailable(_) => S::SERVICE_UNAVAILABLE,
        }
    }
}
