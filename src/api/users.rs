//! `/api/v1/users…`: users, their sessions and their organization memberships.

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::body::read as read_body;
use super::{ApiError, ApiResult, listed};
use crate::domain::{EmailAddress, FieldError, FieldErrors, SessionId, UserId};
use crate::pages::Ctx;
use crate::service::users::{self as rules, NewAccount, NewPassword, OperatorError, UserChanges, UserRecord};
use crate::service::{organizations, sessions};
use crate::store::sessions::PortalSession;
use crate::store::users::UserFilter;
use crate::views;

/// Page sizes of the user list.
const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 100;
const MAX_OFFSET: i64 = 1_000_000;
/// Most addresses or usernames one list request may name.
const MAX_FILTER_VALUES: usize = 100;

impl From<OperatorError> for ApiError {
    fn from(error: OperatorError) -> Self {
        match error {
            OperatorError::NotFound => ApiError::not_found("user"),
            OperatorError::Fields(fields) => field_error(&fields),
            OperatorError::Invalid { field, message } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!("{field} {message}"),
            )
            .on_field(field),
            OperatorError::LastAdmin(names) => ApiError::new(
                StatusCode::CONFLICT,
                "last_admin",
                format!(
                    "the user is the last admin of {}: make another member admin first",
                    names.join(", ")
                ),
            ),
            OperatorError::Db(error) => error.into(),
            OperatorError::Internal(detail) => {
                eprintln!("api: {detail}");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "internal error")
            }
        }
    }
}

/// The first problem of a field list, as the API answers it (the pages' English text).
pub(super) fn field_error(fields: &FieldErrors) -> ApiError {
    let Some((field, problem)) = fields.first().copied() else {
        return ApiError::bad_request("the input has problems");
    };
    let (status, code) = match problem {
        FieldError::EmailTaken => (StatusCode::CONFLICT, "email_taken"),
        FieldError::UsernameTaken => (StatusCode::CONFLICT, "username_taken"),
        FieldError::SlugTaken => (StatusCode::CONFLICT, "slug_taken"),
        FieldError::AlreadyMember => (StatusCode::CONFLICT, "already_member"),
        _ => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
    };
    let message = crate::pages::parts::field_error_text(&views::i18n::ENGLISH, field, problem);
    ApiError::new(status, code, format!("{field}: {message}")).on_field(field)
}

/// A list's `limit` and `offset` from the query; every other parameter goes to `other`, which
/// answers whether it knew it. An unknown parameter is refused (a typo must not widen a list).
pub(super) fn page_params(
    ctx: &Ctx<'_>,
    mut other: impl FnMut(&str, &str) -> Result<bool, ApiError>,
) -> Result<(i64, i64), ApiError> {
    let (mut limit, mut offset) = (DEFAULT_LIMIT, 0);
    for (name, value) in ctx.query.pairs() {
        match name {
            "limit" => limit = number(value, "limit", 1, MAX_LIMIT)?,
            "offset" => offset = number(value, "offset", 0, MAX_OFFSET)?,
            _ if other(name, value)? => {}
            unknown => return Err(ApiError::bad_request(format!("unknown query parameter {unknown:?}"))),
        }
    }
    Ok((limit, offset))
}

fn user_id(text: &str) -> Result<UserId, ApiError> {
    UserId::parse(text).ok_or_else(|| ApiError::not_found("user"))
}

/// A user as the API shows it: the operator's view of the account and its metadata.
pub(crate) fn user_json(record: &UserRecord) -> Value {
    let mut json = rules::user_json(&record.user);
    json["public_metadata"] = Value::Object(record.public_metadata.clone());
    json["private_metadata"] = Value::Object(record.private_metadata.clone());
    json
}

fn session_json(session: &PortalSession) -> Value {
    json!({
        "object": "session",
        "id": session.id.as_str(),
        "user_id": session.user_id.as_str(),
        "created_at": session.created_at,
        "last_active_at": session.last_active_at,
        "expires_at": session.expires_at,
        "client_addr": session.client_addr,
        "user_agent": session.user_agent,
        "amr": session.amr.as_deref().map(|amr| amr.split(',').collect::<Vec<_>>()).unwrap_or_default(),
    })
}

/// `GET /users?email_address=…&username=…&query=…&limit=…&offset=…`
pub(super) fn list(ctx: &Ctx<'_>) -> ApiResult {
    let mut filter = UserFilter::default();
    let (limit, offset) = page_params(ctx, |name, value| {
        match name {
            // `name[]` is how several common clients (axios, PHP, Rails) repeat a parameter.
            "email_address" | "email_address[]" => {
                let email = EmailAddress::parse(value).map_err(|_| {
                    ApiError::bad_request(format!("email_address {value:?} is not an email address"))
                        .on_field("email_address")
                })?;
                filter.emails.push(email);
            }
            "username" | "username[]" => filter.usernames.push(value.to_lowercase()),
            "query" => {
                let trimmed = value.trim();
                filter.query = (!trimmed.is_empty()).then(|| trimmed.chars().take(100).collect());
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    if filter.emails.len() > MAX_FILTER_VALUES || filter.usernames.len() > MAX_FILTER_VALUES {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_FILTER_VALUES} addresses and {MAX_FILTER_VALUES} usernames per request"
        )));
    }
    let (records, total) = rules::list(ctx.db()?, &filter, limit, offset)?;
    listed(records.iter().map(user_json).collect(), Some(total))
}

fn number(text: &str, name: &'static str, min: i64, max: i64) -> Result<i64, ApiError> {
    match text.parse::<i64>() {
        Ok(value) if (min..=max).contains(&value) => Ok(value),
        _ => Err(ApiError::bad_request(format!("{name} must be a whole number from {min} to {max}")).on_field(name)),
    }
}

/// `GET /users/{id}`
pub(super) fn get(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    let record = rules::get(ctx.db()?, &user_id(id)?)?;
    Ok((StatusCode::OK, user_json(&record)))
}

/// `POST /users`: the body's fields.
struct CreateUser {
    email_address: String,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone_number: Option<String>,
    password: Option<String>,
    /// A hash from another system (an Argon2id PHC string or a bcrypt hash).
    password_digest: Option<String>,
    email_verified: bool,
    public_metadata: Option<Value>,
    private_metadata: Option<Value>,
}

impl CreateUser {
    fn read(ctx: &Ctx<'_>) -> Result<Self, ApiError> {
        let mut body = read_body(ctx)?;
        let fields = Self {
            email_address: body.string("email_address")?,
            username: body.optional_string("username")?,
            first_name: body.optional_string("first_name")?,
            last_name: body.optional_string("last_name")?,
            phone_number: body.optional_string("phone_number")?,
            password: body.optional_string("password")?,
            password_digest: body.optional_string("password_digest")?,
            email_verified: body.bool_or("email_verified", true)?,
            public_metadata: body.optional_value("public_metadata")?,
            private_metadata: body.optional_value("private_metadata")?,
        };
        body.finish()?;
        Ok(fields)
    }
}

/// `POST /users`
pub(super) fn create(ctx: &Ctx<'_>) -> ApiResult {
    let body = CreateUser::read(ctx)?;
    let password = match (&body.password, &body.password_digest) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                "send either password or password_digest, not both",
            )
            .on_field("password_digest"));
        }
        (Some(plain), None) => {
            let identities = [
                body.email_address.as_str(),
                body.username.as_deref().unwrap_or_default(),
            ];
            if crate::pages::passwords::refuses_if_valid(ctx, plain, &identities) {
                return Err(field_error(&vec![(
                    "password",
                    FieldError::Password(crate::security::password::PasswordProblem::Breached),
                )]));
            }
            NewPassword::Plain {
                password: plain,
                min_chars: ctx.settings.password_min_length(),
            }
        }
        (None, Some(digest)) => NewPassword::Imported(digest),
        (None, None) => NewPassword::None,
    };
    let account = NewAccount {
        email_address: &body.email_address,
        username: body.username.as_deref(),
        first_name: body.first_name.as_deref(),
        last_name: body.last_name.as_deref(),
        phone_number: body.phone_number.as_deref(),
        password,
        email_verified: body.email_verified,
        public_metadata: body.public_metadata,
        private_metadata: body.private_metadata,
    };
    let record = rules::create(ctx.db()?, &account, ctx.now())?;
    Ok((StatusCode::CREATED, user_json(&record)))
}

/// `PATCH /users/{id}`: the body's fields; a name or username may be `null` (cleared).
struct UpdateUser {
    first_name: Option<Option<String>>,
    last_name: Option<Option<String>>,
    username: Option<Option<String>>,
    public_metadata: Option<Map<String, Value>>,
    private_metadata: Option<Map<String, Value>>,
}

impl UpdateUser {
    fn read(ctx: &Ctx<'_>) -> Result<Self, ApiError> {
        let mut body = read_body(ctx)?;
        let fields = Self {
            first_name: body.nullable_string("first_name")?,
            last_name: body.nullable_string("last_name")?,
            username: body.nullable_string("username")?,
            public_metadata: body.optional_object("public_metadata")?,
            private_metadata: body.optional_object("private_metadata")?,
        };
        body.finish()?;
        Ok(fields)
    }
}

/// `PATCH /users/{id}`: names, username (`null` clears one) and metadata (replaced whole).
pub(super) fn update(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    let id = user_id(id)?;
    let body = UpdateUser::read(ctx)?;
    let changes = UserChanges {
        first_name: body.first_name.as_ref().map(Option::as_deref),
        last_name: body.last_name.as_ref().map(Option::as_deref),
        username: body.username.as_ref().map(Option::as_deref),
        public_metadata: body.public_metadata.map(Value::Object),
        private_metadata: body.private_metadata.map(Value::Object),
    };
    let record = rules::update(ctx.db()?, &id, &changes, ctx.now())?;
    Ok((StatusCode::OK, user_json(&record)))
}

/// `DELETE /users/{id}`
pub(super) fn delete(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    let id = user_id(id)?;
    rules::delete(ctx.db()?, &id, ctx.now())?;
    Ok((
        StatusCode::OK,
        json!({"object": "user", "id": id.as_str(), "deleted": true}),
    ))
}

/// `POST /users/{id}/ban`: every session ends now; no sign-in works until an unban.
pub(super) fn ban(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    let record = rules::ban(ctx.db()?, &user_id(id)?, ctx.now())?;
    Ok((StatusCode::OK, user_json(&record)))
}

/// `POST /users/{id}/unban`
pub(super) fn unban(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    let record = rules::unban(ctx.db()?, &user_id(id)?, ctx.now())?;
    Ok((StatusCode::OK, user_json(&record)))
}

/// The user, or 404: the endpoints below answer for existing users only.
fn existing_user(ctx: &Ctx<'_>, id: &str) -> Result<UserId, ApiError> {
    let id = user_id(id)?;
    rules::get(ctx.db()?, &id)?;
    Ok(id)
}

/// `GET /users/{id}/sessions`: live sessions, newest first.
pub(super) fn sessions(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    let id = existing_user(ctx, id)?;
    let list = sessions::list_sessions(ctx.db()?, &id, ctx.now())?;
    listed(list.iter().map(session_json).collect(), None)
}

/// `DELETE /users/{id}/sessions`: signs the user out everywhere.
pub(super) fn revoke_all_sessions(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    let id = existing_user(ctx, id)?;
    sessions::end_all_sessions(ctx.db()?, &id, ctx.now())?;
    Ok((
        StatusCode::OK,
        json!({"object": "user", "id": id.as_str(), "sessions_revoked": true}),
    ))
}

/// `DELETE /users/{id}/sessions/{session_id}`
pub(super) fn revoke_session(ctx: &Ctx<'_>, id: &str, session_id: &str) -> ApiResult {
    let id = existing_user(ctx, id)?;
    let session_id = SessionId::parse(session_id).ok_or_else(|| ApiError::not_found("session"))?;
    if !sessions::revoke_session(ctx.db()?, &id, &session_id, ctx.now())? {
        return Err(ApiError::not_found("session"));
    }
    Ok((
        StatusCode::OK,
        json!({"object": "session", "id": session_id.as_str(), "revoked": true}),
    ))
}

/// `GET /users/{id}/organization_memberships`
pub(super) fn memberships(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    let id = existing_user(ctx, id)?;
    let list = organizations::list_memberships(ctx.db()?, &id)?;
    listed(
        list.iter()
            .map(|membership| {
                let organization = &membership.organization;
                json!({
                    "object": "organization_membership",
                    "role": membership.role.as_str(),
                    "organization": {
                        "object": "organization",
                        "id": organization.id.as_str(),
                        "name": organization.name,
                        "slug": organization.slug,
                        "created_at": organization.created_at,
                    },
                })
            })
            .collect(),
        None,
    )
}
