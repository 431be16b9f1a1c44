//! The one error type page handlers return, and how every domain error becomes it. Handlers use
//! `?`; `pages::error_page::render` turns what reaches the pipeline into a status and a page in
//! the visitor's language. A [`FormProblem`] is the one error a page usually catches itself, to
//! show the form again with the problems next to their fields.

use http::StatusCode;

use crate::config::ConfigError;
use crate::domain::{FieldError, FieldErrors};
use crate::security::csrf::CsrfRejection;
use crate::service::accounts::{AccountError, SignInError};
use crate::service::organizations::OrgError;
use crate::store::DbError;
use crate::views::Msg;

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("there is no page at this address")]
    NotFound,
    #[error("this page does not accept that method")]
    MethodNotAllowed { allow: &'static str },
    /// The page needs a signed-in visitor: off to sign-in, then back to `back_to`.
    #[error("sign in first")]
    SignInFirst { back_to: String },
    #[error("bad request: {0:?}")]
    BadRequest(Msg),
    #[error("the request body is larger than the portal accepts")]
    PayloadTooLarge,
    #[error("forms must be sent as application/x-www-form-urlencoded")]
    UnsupportedMediaType,
    #[error("forbidden: {0:?}")]
    Forbidden(Msg),
    #[error("gone: {0:?}")]
    Gone(Msg),
    /// A form to show again with its problems.
    #[error("the form has problems: {0:?}")]
    Invalid(FormProblem),
    #[error("the portal's configuration has errors")]
    Config(Vec<ConfigError>),
    /// Development mode on a host that is not this machine: a deployment that forgot
    /// `environment=production`.
    #[error("development mode refuses to serve host {0:?}")]
    DevelopmentHost(String),
    #[error("the portal is busy, please try again in a moment: {0}")]
    Unavailable(String),
    /// The database cannot be reached (down, refused the credentials): the detail is logged.
    #[error("the database is unavailable: {0}")]
    DatabaseUnavailable(String),
    /// The email provider refused or did not answer; nothing was changed (the reason is logged).
    #[error("the email could not be sent")]
    EmailNotSent,
    #[error("internal error: {0}")]
    Internal(String),
}

impl PortalError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            // A page that needs a session is a redirect; a post that needs one answers 303.
            Self::SignInFirst { .. } => StatusCode::FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Gone(_) => StatusCode::GONE,
            Self::Invalid(problem) => problem.status,
            Self::Config(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable(_) | Self::DatabaseUnavailable(_) | Self::DevelopmentHost(_) | Self::EmailNotSent => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }
}

/// What is wrong with a submitted form: the status, the message above the form, the problem
/// next to each field, and for a lock, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormProblem {
    pub status: StatusCode,
    pub message: Msg,
    pub fields: FieldErrors,
    /// Password checks are locked until this Unix time (`Retry-After`).
    pub locked_until: Option<i64>,
    /// After a wrong code: the tries its flow has left.
    pub tries_left: Option<i64>,
}

impl FormProblem {
    pub fn new(status: StatusCode, message: Msg) -> Self {
        Self {
            status,
            message,
            fields: FieldErrors::new(),
            locked_until: None,
            tries_left: None,
        }
    }

    /// Field problems: 422 with "correct the highlighted fields".
    pub fn fields(fields: FieldErrors) -> Self {
        Self {
            fields,
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, Msg::FixErrors)
        }
    }

    /// The problem with field `name`, if any.
    pub fn field(&self, name: &str) -> Option<FieldError> {
        self.fields
            .iter()
            .find(|(field, _)| *field == name)
            .map(|(_, error)| *error)
    }
}

impl From<FormProblem> for PortalError {
    fn from(problem: FormProblem) -> Self {
        Self::Invalid(problem)
    }
}

impl From<DbError> for PortalError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Busy => Self::Unavailable(error.to_string()),
            DbError::Unavailable(_) => Self::DatabaseUnavailable(error.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<SignInError> for PortalError {
    /// The same status and message whether or not the account exists: 401, or 429 when locked.
    fn from(error: SignInError) -> Self {
        match error {
            SignInError::BadCredentials => FormProblem::new(StatusCode::UNAUTHORIZED, Msg::BadCredentials).into(),
            SignInError::Locked { until } => FormProblem {
                locked_until: Some(until),
                ..FormProblem::new(StatusCode::TOO_MANY_REQUESTS, Msg::LockedOut)
            }
            .into(),
            SignInError::RateLimited { until } => FormProblem {
                locked_until: Some(until),
                ..FormProblem::new(StatusCode::TOO_MANY_REQUESTS, Msg::TooManyPasswordChecks)
            }
            .into(),
            SignInError::Db(error) => error.into(),
            SignInError::Internal(detail) => Self::Internal(detail),
        }
    }
}

impl From<AccountError> for PortalError {
    fn from(error: AccountError) -> Self {
        match error {
            // A wrong current password is an authentication failure (401), said at its field.
            AccountError::Fields(fields) if fields.iter().any(|(_, error)| *error == FieldError::WrongPassword) => {
                FormProblem {
                    status: StatusCode::UNAUTHORIZED,
                    ..FormProblem::fields(fields)
                }
                .into()
            }
            AccountError::Fields(fields) => FormProblem::fields(fields).into(),
            AccountError::Credentials(error) => error.into(),
            AccountError::Db(error) => error.into(),
            AccountError::Internal(detail) => Self::Internal(detail),
            AccountError::Suspended => Self::Forbidden(Msg::AccountSuspended),
        }
    }
}

impl From<OrgError> for PortalError {
    fn from(error: OrgError) -> Self {
        match error {
            OrgError::Fields(fields) => FormProblem::fields(fields).into(),
            OrgError::LastAdmin => FormProblem::new(StatusCode::CONFLICT, Msg::LastAdmin).into(),
            OrgError::Forbidden => Self::Forbidden(Msg::ForbiddenOrg),
            OrgError::NotAMember => Self::Forbidden(Msg::NotAMember),
            OrgError::InvitationUnavailable => Self::Gone(Msg::InvitationUnavailable),
            OrgError::InvitationForAnotherEmail => Self::Forbidden(Msg::InvitationWrongEmail),
            OrgError::NoSuchOrganization | OrgError::NoSuchMember => Self::NotFound,
            OrgError::Invalid { .. } => Self::BadRequest(Msg::FixErrors),
            OrgError::Db(error) => error.into(),
        }
    }
}

impl From<CsrfRejection> for PortalError {
    fn from(rejection: CsrfRejection) -> Self {
        Self::Forbidden(match rejection {
            CsrfRejection::CrossSiteOrigin | CsrfRejection::CrossSiteFetch => Msg::CsrfCrossSite,
            CsrfRejection::MissingToken => Msg::CsrfTokenMissing,
            CsrfRejection::BadToken => Msg::CsrfTokenInvalid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_sign_ins_look_the_same_whether_or_not_the_account_exists() {
        let error = PortalError::from(SignInError::BadCredentials);
        assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
        let locked = PortalError::from(AccountError::Credentials(SignInError::Locked { until: 9 }));
        let PortalError::Invalid(problem) = locked else {
            panic!("a lock is shown on the form")
        };
        assert_eq!(
            (problem.status, problem.locked_until),
            (StatusCode::TOO_MANY_REQUESTS, Some(9))
        );
    }

    #[test]
    fn a_busy_database_is_a_503_and_other_database_errors_are_internal() {
        assert_eq!(
            PortalError::from(DbError::Busy).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let other = PortalError::from(OrgError::Db(DbError::Other("x".into())));
        assert_eq!(other.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn organization_refusals_keep_their_statuses() {
        assert_eq!(PortalError::from(OrgError::Forbidden).status(), StatusCode::FORBIDDEN);
        assert_eq!(PortalError::from(OrgError::LastAdmin).status(), StatusCode::CONFLICT);
        assert_eq!(
            PortalError::from(OrgError::InvitationUnavailable).status(),
            StatusCode::GONE
        );
    }
}
