//! A request body's JSON object, read field by field. Every API body is read through it rather
//! than through a `Deserialize` derive per body: the derives cost about 2 to 5 KB of `.wasm`
//! each, this one reader a fraction of that, and it keeps what the derives promised:
//! - unknown fields are refused (`finish`), as `deny_unknown_fields` did, so a misspelt field
//!   is an error rather than silently ignored;
//! - a key sent twice is refused: two parsers could otherwise read two different values;
//! - a wrong type is `invalid_request` on that field, a body that is not JSON `invalid_json`.

use http::StatusCode;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::ApiError;
use crate::pages::Ctx;

/// The members of a body's top-level object, in the order sent.
pub(crate) struct JsonObject {
    fields: Vec<(String, Value)>,
}

/// The members as sent, duplicates kept so that they can be refused.
struct Members(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Value>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

fn invalid(field: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message).on_field(field)
}

impl JsonObject {
    /// The body of `ctx`'s request: `application/json`, one object, no key twice.
    pub(crate) fn read(ctx: &Ctx<'_>) -> Result<Self, ApiError> {
        let content_type = ctx.header("content-type").unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        if !media_type.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        Self::parse(ctx.body)
    }

    fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let Members(fields) = serde_json::from_slice(body).map_err(|error| {
            let code = if error.is_syntax() || error.is_eof() {
                "invalid_json"
            } else {
                "invalid_request"
            };
            ApiError::new(StatusCode::BAD_REQUEST, code, error.to_string())
        })?;
        for (index, (name, _)) in fields.iter().enumerate() {
            if fields[..index].iter().any(|(earlier, _)| earlier == name) {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    format!("duplicate field `{name}`"),
                ));
            }
        }
        Ok(Self { fields })
    }

    /// Takes `field` out: absent is `None`, present (even `null`) is `Some`.
    fn take(&mut self, field: &str) -> Option<Value> {
        let index = self.fields.iter().position(|(name, _)| name == field)?;
        Some(self.fields.remove(index).1)
    }

    /// A string that must be sent.
    pub(crate) fn string(&mut self, field: &'static str) -> Result<String, ApiError> {
        self.optional_string(field)?
            .ok_or_else(|| invalid(field, format!("missing field `{field}`")))
    }

    /// A string that may be absent or `null` (both `None`).
    pub(crate) fn optional_string(&mut self, field: &'static str) -> Result<Option<String>, ApiError> {
        Ok(self.nullable_string(field)?.flatten())
    }

    /// A string that may be absent (`None`: leave it), `null` (`Some(None)`: clear it) or sent.
    pub(crate) fn nullable_string(&mut self, field: &'static str) -> Result<Option<Option<String>>, ApiError> {
        match self.take(field) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(text)) => Ok(Some(Some(text))),
            Some(_) => Err(invalid(field, format!("`{field}` must be a string"))),
        }
    }

    /// A boolean that may be absent or `null` (both `None`).
    pub(crate) fn optional_bool(&mut self, field: &'static str) -> Result<Option<bool>, ApiError> {
        match self.take(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(value)) => Ok(Some(value)),
            Some(_) => Err(invalid(field, format!("`{field}` must be true or false"))),
        }
    }

    /// A boolean that may be absent (`default`), never `null`.
    pub(crate) fn bool_or(&mut self, field: &'static str, default: bool) -> Result<bool, ApiError> {
        match self.take(field) {
            None => Ok(default),
            Some(Value::Bool(value)) => Ok(value),
            Some(_) => Err(invalid(field, format!("`{field}` must be true or false"))),
        }
    }

    /// A whole number (within 64 bits) that may be absent or `null`.
    pub(crate) fn optional_integer(&mut self, field: &'static str) -> Result<Option<i64>, ApiError> {
        match self.take(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(number)) if number.as_i64().is_some() => Ok(number.as_i64()),
            Some(_) => Err(invalid(field, format!("`{field}` must be a whole number"))),
        }
    }

    /// Any JSON value that may be absent or `null` (both `None`).
    pub(crate) fn optional_value(&mut self, field: &'static str) -> Result<Option<Value>, ApiError> {
        Ok(self.take(field).filter(|value| !value.is_null()))
    }

    /// A JSON object that may be absent or `null` (both `None`).
    pub(crate) fn optional_object(&mut self, field: &'static str) -> Result<Option<Map<String, Value>>, ApiError> {
        match self.take(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(object)) => Ok(Some(object)),
            Some(_) => Err(invalid(field, format!("`{field}` must be an object"))),
        }
    }

    /// Refuses the body if it sent a field that was not read.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        match self.fields.first() {
            None => Ok(()),
            Some((name, _)) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("unknown field `{name}`"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: &str) -> Result<JsonObject, ApiError> {
        JsonObject::parse(body.as_bytes())
    }

    fn code(result: Result<impl Sized, ApiError>) -> &'static str {
        result.err().expect("an error").code
    }

    #[test]
    fn fields_are_read_by_kind() {
        let mut body =
            parse(r#"{"name": "Ada", "gone": null, "flag": false, "days": 7, "meta": {"a": 1}, "any": [1]}"#).unwrap();
        assert_eq!(body.string("name").unwrap(), "Ada");
        assert_eq!(body.nullable_string("gone").unwrap(), Some(None));
        assert_eq!(body.nullable_string("absent").unwrap(), None);
        assert_eq!(body.optional_bool("flag").unwrap(), Some(false));
        assert!(body.bool_or("missing_flag", true).unwrap());
        assert_eq!(body.optional_integer("days").unwrap(), Some(7));
        assert_eq!(
            body.optional_object("meta").unwrap(),
            json!({"a": 1}).as_object().cloned()
        );
        assert_eq!(body.optional_value("any").unwrap(), Some(json!([1])));
        body.finish().unwrap();
    }

    #[test]
    fn null_means_absent_where_a_field_cannot_be_cleared() {
        let mut body = parse(r#"{"a": null, "b": null, "c": null, "d": null}"#).unwrap();
        assert_eq!(body.optional_string("a").unwrap(), None);
        assert_eq!(body.optional_value("b").unwrap(), None);
        assert_eq!(body.optional_object("c").unwrap(), None);
        assert_eq!(body.optional_integer("d").unwrap(), None);
        body.finish().unwrap();
        assert_eq!(
            code(parse(r#"{"flag": null}"#).unwrap().bool_or("flag", true)),
            "invalid_request"
        );
        assert_eq!(
            code(parse(r#"{"name": null}"#).unwrap().string("name")),
            "invalid_request"
        );
    }

    #[test]
    fn attack_a_misspelt_or_smuggled_field_is_refused_not_ignored() {
        let mut body = parse(r#"{"name": "Ada", "is_admin": true}"#).unwrap();
        body.string("name").unwrap();
        let error = body.finish().err().unwrap();
        assert_eq!(error.code, "invalid_request");
        assert!(error.message.contains("is_admin"), "{}", error.message);
    }

    #[test]
    fn attack_a_key_sent_twice_is_refused() {
        // One parser keeps the first value, another the last: the body is refused outright.
        let error = parse(r#"{"role": "basic_member", "role": "admin"}"#).err().unwrap();
        assert_eq!(error.code, "invalid_request");
        assert!(error.message.contains("duplicate field `role`"), "{}", error.message);
    }

    #[test]
    fn wrong_types_name_their_field() {
        for (body, read) in [
            (
                r#"{"f": 5}"#,
                (|b: &mut JsonObject| b.optional_string("f").map(drop)) as fn(&mut JsonObject) -> Result<(), ApiError>,
            ),
            (r#"{"f": "yes"}"#, |b| b.optional_bool("f").map(drop)),
            (r#"{"f": 1.5}"#, |b| b.optional_integer("f").map(drop)),
            (r#"{"f": 18446744073709551615}"#, |b| b.optional_integer("f").map(drop)),
            (r#"{"f": "7"}"#, |b| b.optional_integer("f").map(drop)),
            (r#"{"f": [1]}"#, |b| b.optional_object("f").map(drop)),
            (r#"{"f": {}}"#, |b| b.nullable_string("f").map(drop)),
        ] {
            let error = read(&mut parse(body).unwrap()).expect_err(body);
            assert_eq!((error.code, error.field), ("invalid_request", Some("f")), "{body}");
        }
    }

    #[test]
    fn a_body_that_is_not_one_json_object_is_refused() {
        for (body, expected) in [
            ("", "invalid_json"),
            ("{", "invalid_json"),
            (r#"{"a": 1} trailing"#, "invalid_json"),
            ("[1, 2]", "invalid_request"),
            (r#""text""#, "invalid_request"),
            ("null", "invalid_request"),
            ("\u{feff}{}", "invalid_json"),
        ] {
            assert_eq!(code(parse(body)), expected, "{body:?}");
        }
        assert_eq!(
            code(JsonObject::parse(b"{\"a\": \"\xff\"}")),
            "invalid_json",
            "invalid UTF-8"
        );
    }
}
