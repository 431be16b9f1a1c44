//! The Backend API (`/api/v1/…`): what an app's server calls to read and manage its users,
//! JSON in and out. The web layer of the operator's side, as `pages` is the person's: it turns
//! requests into calls of the same rules (`service::users`, `service::sessions`,
//! `service::organizations`) and their answers into JSON.
//!
//! - Off (404 for every path) until `api_secret_key` holds a key; authenticated only by
//!   `Authorization: Bearer <key>` (`security::api_key`), never by a cookie, so no browser can
//!   be made to call it and it needs no CSRF token. No CORS headers: a page cannot read it.
//! - Rate limited per key (`api_requests_per_minute`, fixed one-minute windows): 429 with
//!   `Retry-After`.
//! - Errors are `{"error": {"code": …, "message": …, "field": …}}` with a stable `code`.
//! - Bodies are JSON objects (`Content-Type: application/json`), unknown fields refused, at most
//!   `portal::MAX_BODY_BYTES`.
//! - `GET /api/v1/openapi.json` describes all of it (OpenAPI 3.1), without a key once the API
//!   is on; the tests validate it and call the API through a client generated from it.

mod body;
mod invitations;
mod organizations;
mod users;
mod waitlist;
mod webhooks;

use http::{HeaderValue, Method, Response, StatusCode, header};
use serde_json::{Value, json};

use crate::error::PortalError;
use crate::pages::Ctx;
use crate::security::api_key;
use crate::store::{DbError, api_requests};

/// A JSON answer: its status and body.
pub(crate) type ApiResult = Result<(StatusCode, Value), ApiError>;

/// An error the API answers, with a stable code an app can branch on.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<&'static str>,
    retry_after: Option<i64>,
    allow: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
            allow: None,
        }
    }

    pub(crate) fn on_field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    pub(crate) fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("there is no such {what}"))
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    fn method_not_allowed(allow: &'static str) -> Self {
        let mut error = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("this endpoint accepts {allow}"),
        );
        error.allow = Some(allow);
        error
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Busy => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database is busy: try again in a moment",
            ),
            DbError::Unavailable(detail) => {
                eprintln!("api: the database is unavailable: {detail}");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable",
                )
            }
            other => {
                eprintln!("api: database error: {other}");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "internal error")
            }
        }
    }
}

impl From<PortalError> for ApiError {
    fn from(error: PortalError) -> Self {
        match error {
            PortalError::DatabaseUnavailable(detail) | PortalError::Unavailable(detail) => {
                eprintln!("api: unavailable: {detail}");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the portal is unavailable",
                )
            }
            PortalError::DevelopmentHost(host) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "development_mode",
                format!("development mode serves only this machine, not {host:?}: set environment=production"),
            ),
            PortalError::Config(errors) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "configuration_error",
                errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
            ),
            other => {
                eprintln!("api: {other}");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "internal error")
            }
        }
    }
}

/// The OpenAPI 3.1 document of this API, gzip-compressed (`crate::gzip`; regenerate it with
/// `gzip -9 -n -c src/api/openapi.json > src/api/openapi.json.gz`; a test fails when it is stale).
pub(crate) const OPENAPI_GZIP: &[u8] = include_bytes!("openapi.json.gz");
const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// Answers one `/api/…` request; `configured` is the pipeline's configuration check.
pub fn handle(ctx: &Ctx<'_>, configured: Result<(), PortalError>) -> Response<Vec<u8>> {
    if configured.is_ok()
        && ctx.path == OPENAPI_PATH
        && *ctx.method == Method::GET
        && !ctx.settings.api_secret_keys().is_empty()
    {
        return openapi_document(ctx.header("accept-encoding"));
    }
    let result = configured.map_err(ApiError::from).and_then(|()| serve(ctx));
    match result {
        Ok((status, body)) => json_response(status, &body),
        Err(error) => error_response(&error),
    }
}

/// The document as the client asked: the embedded gzip member as it is, or inflated.
fn openapi_document(accept_encoding: Option<&str>) -> Response<Vec<u8>> {
    crate::gzip::serve(OPENAPI_GZIP, accept_encoding, "application/json; charset=utf-8").unwrap_or_else(|| {
        error_response(&PortalError::Internal("the embedded OpenAPI document does not inflate".into()).into())
    })
}

fn serve(ctx: &Ctx<'_>) -> ApiResult {
    let keys = ctx.settings.api_secret_keys();
    if keys.is_empty() {
        // Off: nothing here says an API exists.
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "there is nothing here",
        ));
    }
    let presented = ctx.header("authorization").and_then(api_key::bearer);
    let Some(key_id) = presented.and_then(|key| api_key::find(keys, key)) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send a secret key of the portal's api_secret_key as `Authorization: Bearer <key>`",
        ));
    };
    let db = ctx.db()?;
    let now = ctx.now();
    let window = now - now.rem_euclid(60);
    let count = api_requests::count_request(db, &key_id.0, window)?;
    if count > ctx.settings.api_requests_per_minute() {
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests with this key in this minute",
        );
        error.retry_after = Some(window + 60 - now);
        return Err(error);
    }
    if ctx.body.len() > crate::portal::MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {} bytes", crate::portal::MAX_BODY_BYTES),
        ));
    }
    let Some(rest) = ctx.path.strip_prefix("/api/v1/") else {
        return Err(ApiError::not_found("endpoint"));
    };
    let segments: Vec<&str> = rest.split('/').collect();
    route(ctx, &segments)
}

/// The endpoints, by path segments after `/api/v1/`.
fn route(ctx: &Ctx<'_>, segments: &[&str]) -> ApiResult {
    let method = ctx.method;
    match segments {
        ["users"] => match *method {
            Method::GET => users::list(ctx),
            Method::POST => users::create(ctx),
            _ => Err(ApiError::method_not_allowed("GET, POST")),
        },
        ["users", id] => match *method {
            Method::GET => users::get(ctx, id),
            Method::PATCH => users::update(ctx, id),
            Method::DELETE => users::delete(ctx, id),
            _ => Err(ApiError::method_not_allowed("GET, PATCH, DELETE")),
        },
        ["users", id, "ban"] => match *method {
            Method::POST => users::ban(ctx, id),
            _ => Err(ApiError::method_not_allowed("POST")),
        },
        ["users", id, "unban"] => match *method {
            Method::POST => users::unban(ctx, id),
            _ => Err(ApiError::method_not_allowed("POST")),
        },
        ["users", id, "sessions"] => match *method {
            Method::GET => users::sessions(ctx, id),
            Method::DELETE => users::revoke_all_sessions(ctx, id),
            _ => Err(ApiError::method_not_allowed("GET, DELETE")),
        },
        ["users", id, "sessions", session_id] => match *method {
            Method::DELETE => users::revoke_session(ctx, id, session_id),
            _ => Err(ApiError::method_not_allowed("DELETE")),
        },
        ["users", id, "organization_memberships"] => match *method {
            Method::GET => users::memberships(ctx, id),
            _ => Err(ApiError::method_not_allowed("GET")),
        },
        ["organizations"] => match *method {
            Method::GET => organizations::list(ctx),
            Method::POST => organizations::create(ctx),
            _ => Err(ApiError::method_not_allowed("GET, POST")),
        },
        ["organizations", id] => match *method {
            Method::GET => organizations::get(ctx, id),
            Method::PATCH => organizations::update(ctx, id),
            Method::DELETE => organizations::delete(ctx, id),
            _ => Err(ApiError::method_not_allowed("GET, PATCH, DELETE")),
        },
        ["organizations", id, "memberships"] => match *method {
            Method::GET => organizations::memberships(ctx, id),
            Method::POST => organizations::add_member(ctx, id),
            _ => Err(ApiError::method_not_allowed("GET, POST")),
        },
        ["organizations", id, "memberships", user_id] => match *method {
            Method::PATCH => organizations::change_role(ctx, id, user_id),
            Method::DELETE => organizations::remove_member(ctx, id, user_id),
            _ => Err(ApiError::method_not_allowed("PATCH, DELETE")),
        },
        ["organizations", id, "invitations"] => match *method {
            Method::GET => organizations::invitations(ctx, id),
            Method::POST => organizations::invite(ctx, id),
            _ => Err(ApiError::method_not_allowed("GET, POST")),
        },
        ["organizations", id, "invitations", invitation_id] => match *method {
            Method::DELETE => organizations::revoke_invitation(ctx, id, invitation_id),
            _ => Err(ApiError::method_not_allowed("DELETE")),
        },
        ["invitations"] => match *method {
            Method::GET => invitations::list(ctx),
            Method::POST => invitations::create(ctx),
            _ => Err(ApiError::method_not_allowed("GET, POST")),
        },
        ["invitations", id] => match *method {
            Method::DELETE => invitations::revoke(ctx, id),
            _ => Err(ApiError::method_not_allowed("DELETE")),
        },
        ["waitlist"] => match *method {
            Method::GET => waitlist::list(ctx),
            _ => Err(ApiError::method_not_allowed("GET")),
        },
        ["waitlist", id] => match *method {
            Method::DELETE => waitlist::remove(ctx, id),
            _ => Err(ApiError::method_not_allowed("DELETE")),
        },
        ["waitlist", id, "approve"] => match *method {
            Method::POST => waitlist::approve(ctx, id),
            _ => Err(ApiError::method_not_allowed("POST")),
        },
        ["webhooks", "deliver"] => match *method {
            Method::POST => webhooks::deliver(ctx),
            _ => Err(ApiError::method_not_allowed("POST")),
        },
        ["webhooks", "events"] => match *method {
            Method::GET => webhooks::list(ctx),
            _ => Err(ApiError::method_not_allowed("GET")),
        },
        ["webhooks", "events", id, "retry"] => match *method {
            Method::POST => webhooks::retry(ctx, id),
            _ => Err(ApiError::method_not_allowed("POST")),
        },
        _ => Err(ApiError::not_found("endpoint")),
    }
}

/// A list answer: `{"data": [...], "total_count": n}`, the count being everything the request
/// matched (`total`) or, for an unpaged list, its length.
pub(crate) fn listed(data: Vec<Value>, total: Option<i64>) -> ApiResult {
    let total = total.unwrap_or(data.len() as i64);
    Ok((StatusCode::OK, json!({ "data": data, "total_count": total })))
}

fn json_response(status: StatusCode, body: &Value) -> Response<Vec<u8>> {
    let mut response = Response::new(body.to_string().into_bytes());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn error_response(error: &ApiError) -> Response<Vec<u8>> {
    let mut body = json!({"code": error.code, "message": error.message});
    if let Some(field) = error.field {
        body["field"] = json!(field);
    }
    let mut response = json_response(error.status, &json!({ "error": body }));
    let headers = response.headers_mut();
    if error.status == StatusCode::UNAUTHORIZED {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if let Some(seconds) = error.retry_after
        && let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string())
    {
        headers.insert(header::RETRY_AFTER, value);
    }
    if let Some(allow) = error.allow {
        headers.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    response
}
