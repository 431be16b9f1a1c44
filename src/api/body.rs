//! A request body's JSON object (`crate::json_object`), with the API's errors: a body that is
//! not JSON is `invalid_json`; one of the wrong shape (a field of the wrong type, a key sent
//! twice, a field this body does not have) is `invalid_request`, naming the field when it is one.

use http::StatusCode;

use super::ApiError;
use crate::json_object::{JsonObject, JsonProblem};
use crate::pages::Ctx;

impl From<JsonProblem> for ApiError {
    fn from(problem: JsonProblem) -> Self {
        let code = if problem.syntax {
            "invalid_json"
        } else {
            "invalid_request"
        };
        let error = ApiError::new(StatusCode::BAD_REQUEST, code, problem.message);
        match problem.field {
            Some(field) => error.on_field(field),
            None => error,
        }
    }
}

/// The body of `ctx`'s request: `application/json`, one object, no key twice.
pub(crate) fn read(ctx: &Ctx<'_>) -> Result<JsonObject, ApiError> {
    let content_type = ctx.header("content-type").unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ));
    }
    Ok(JsonObject::parse(ctx.body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_become_the_apis_error_codes() {
        let not_json: ApiError = JsonObject::parse(b"{").err().unwrap().into();
        assert_eq!((not_json.code, not_json.field), ("invalid_json", None));
        let mut object = JsonObject::parse(br#"{"role": 5}"#).unwrap();
        let wrong_type: ApiError = object.string("role").unwrap_err().into();
        assert_eq!((wrong_type.code, wrong_type.field), ("invalid_request", Some("role")));
        let twice: ApiError = JsonObject::parse(br#"{"a": 1, "a": 2}"#).err().unwrap().into();
        assert_eq!((twice.code, twice.status), ("invalid_request", StatusCode::BAD_REQUEST));
    }
}
