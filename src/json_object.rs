//! A JSON object read field by field: the Backend API's bodies, the portal's own state in code
//! flows, what identity providers answer (discovery, tokens, ID token headers and claims, key
//! sets) and what browsers post (passkey credentials and their client data). Serde's derives
//! cost about 2 to 5 KB of `.wasm` for each type; this one reader, shared, a fraction of that.
//! It keeps what the derives gave:
//! - a key sent twice is refused, since two parsers could otherwise read two different values
//!   (the derives refused a known field twice; this refuses any key twice);
//! - a wrong type is an error naming its field; a missing required field is one too;
//! - [`JsonObject::finish`] refuses fields that were not read, for bodies that must not carry
//!   anything unknown (`deny_unknown_fields`); documents from elsewhere may carry more.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

/// Why a JSON object was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonProblem {
    /// The text is not JSON at all (or not UTF-8), rather than JSON of the wrong shape.
    pub syntax: bool,
    /// The field at fault, when it is one.
    pub field: Option<&'static str>,
    pub message: String,
}

impl JsonProblem {
    fn field(field: &'static str, message: String) -> Self {
        Self {
            syntax: false,
            field: Some(field),
            message,
        }
    }
}

/// The members of a top-level object, in the order sent.
pub struct JsonObject {
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
                while let Some(Key(key)) = map.next_key::<Key>()? {
                    members.push((key, map.next_value::<Value>()?));
                }
                Ok(Members(members))
            }

            // Anything but an object, answered without serde's "invalid type" message, which
            // would link float formatting into the `.wasm` to print a number it never needs.
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<Members, A::Error> {
                Err(not_an_object())
            }

            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Members, E> {
                Err(not_an_object())
            }

            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Members, E> {
                Err(not_an_object())
            }

            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Members, E> {
                Err(not_an_object())
            }

            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Members, E> {
                Err(not_an_object())
            }

            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Members, E> {
                Err(not_an_object())
            }

            fn visit_unit<E: serde::de::Error>(self) -> Result<Members, E> {
                Err(not_an_object())
            }
        }
        fn not_an_object<E: serde::de::Error>() -> E {
            E::custom("expected a JSON object")
        }
        deserializer.deserialize_any(MembersVisitor)
    }
}

/// A member's name. JSON's names are always strings, so only strings are visited: a `String`
/// key would also link serde's handling of every other type, with float formatting for its
/// error messages (about 12 KB of `.wasm`).
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a member name")
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Key, E> {
                Ok(Key(name.to_owned()))
            }

            fn visit_string<E: serde::de::Error>(self, name: String) -> Result<Key, E> {
                Ok(Key(name))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// `bytes` as one JSON object, duplicates kept once, the last (as `serde_json::Value` reads
/// them), for JSON the portal wrote itself. Read through `Value`: reading a `Map` directly links
/// serde's type-error messages (and float formatting) into the `.wasm` for a case never met.
pub fn object_value(bytes: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    }
}

/// The texts of `value`, if it is an array of strings only.
pub fn strings(value: Value) -> Option<Vec<String>> {
    let Value::Array(items) = value else {
        return None;
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::String(text) => Some(text),
            _ => None,
        })
        .collect()
}

impl JsonObject {
    /// `bytes` as one JSON object with no key twice.
    pub fn parse(bytes: &[u8]) -> Result<Self, JsonProblem> {
        let Members(fields) = serde_json::from_slice(bytes).map_err(|error| JsonProblem {
            syntax: error.is_syntax() || error.is_eof(),
            field: None,
            message: error.to_string(),
        })?;
        for (index, (name, _)) in fields.iter().enumerate() {
            if fields[..index].iter().any(|(earlier, _)| earlier == name) {
                return Err(JsonProblem {
                    syntax: false,
                    field: None,
                    message: format!("duplicate field `{name}`"),
                });
            }
        }
        Ok(Self { fields })
    }

    /// The members of an object already parsed (inside an array, say), where a key sent twice has
    /// already been kept once.
    pub fn from_map(map: Map<String, Value>) -> Self {
        Self {
            fields: map.into_iter().collect(),
        }
    }

    /// The members not taken yet, as a map.
    pub fn into_map(self) -> Map<String, Value> {
        self.fields.into_iter().collect()
    }

    /// Takes `field` out as it was sent: absent is `None`, present (even `null`) is `Some`.
    pub fn take_value(&mut self, field: &str) -> Option<Value> {
        let index = self.fields.iter().position(|(name, _)| name == field)?;
        Some(self.fields.remove(index).1)
    }

    /// A string that must be sent.
    pub fn string(&mut self, field: &'static str) -> Result<String, JsonProblem> {
        self.optional_string(field)?
            .ok_or_else(|| JsonProblem::field(field, format!("missing field `{field}`")))
    }

    /// A string that may be absent or `null` (both `None`).
    pub fn optional_string(&mut self, field: &'static str) -> Result<Option<String>, JsonProblem> {
        Ok(self.nullable_string(field)?.flatten())
    }

    /// A string that may be absent (`None`: leave it), `null` (`Some(None)`: clear it) or sent.
    pub fn nullable_string(&mut self, field: &'static str) -> Result<Option<Option<String>>, JsonProblem> {
        match self.take_value(field) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(text)) => Ok(Some(Some(text))),
            Some(_) => Err(JsonProblem::field(field, format!("`{field}` must be a string"))),
        }
    }

    /// A boolean that may be absent or `null` (both `None`).
    pub fn optional_bool(&mut self, field: &'static str) -> Result<Option<bool>, JsonProblem> {
        match self.take_value(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(value)) => Ok(Some(value)),
            Some(_) => Err(JsonProblem::field(field, format!("`{field}` must be true or false"))),
        }
    }

    /// A boolean that may be absent (`default`), never `null`.
    pub fn bool_or(&mut self, field: &'static str, default: bool) -> Result<bool, JsonProblem> {
        match self.take_value(field) {
            None => Ok(default),
            Some(Value::Bool(value)) => Ok(value),
            Some(_) => Err(JsonProblem::field(field, format!("`{field}` must be true or false"))),
        }
    }

    /// A whole number (within 64 bits) that may be absent or `null`.
    pub fn optional_integer(&mut self, field: &'static str) -> Result<Option<i64>, JsonProblem> {
        match self.take_value(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(number)) if number.as_i64().is_some() => Ok(number.as_i64()),
            Some(_) => Err(JsonProblem::field(field, format!("`{field}` must be a whole number"))),
        }
    }

    /// A whole number (within 64 bits) that must be sent.
    pub fn integer(&mut self, field: &'static str) -> Result<i64, JsonProblem> {
        self.optional_integer(field)?
            .ok_or_else(|| JsonProblem::field(field, format!("missing field `{field}`")))
    }

    /// Any JSON value that may be absent or `null` (both `None`).
    pub fn optional_value(&mut self, field: &'static str) -> Result<Option<Value>, JsonProblem> {
        Ok(self.take_value(field).filter(|value| !value.is_null()))
    }

    /// A JSON object that may be absent or `null` (both `None`).
    pub fn optional_object(&mut self, field: &'static str) -> Result<Option<Map<String, Value>>, JsonProblem> {
        match self.take_value(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(object)) => Ok(Some(object)),
            Some(_) => Err(JsonProblem::field(field, format!("`{field}` must be an object"))),
        }
    }

    /// Refuses the object if it has a field that was not read.
    pub fn finish(self) -> Result<(), JsonProblem> {
        match self.fields.first() {
            None => Ok(()),
            Some((name, _)) => Err(JsonProblem {
                syntax: false,
                field: None,
                message: format!("unknown field `{name}`"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Result<JsonObject, JsonProblem> {
        JsonObject::parse(text.as_bytes())
    }

    #[test]
    fn fields_are_read_by_kind() {
        let mut object =
            parse(r#"{"name": "Ada", "gone": null, "flag": false, "days": 7, "at": -3, "meta": {"a": 1}, "any": [1]}"#)
                .unwrap();
        assert_eq!(object.string("name").unwrap(), "Ada");
        assert_eq!(object.nullable_string("gone").unwrap(), Some(None));
        assert_eq!(object.nullable_string("absent").unwrap(), None);
        assert_eq!(object.optional_bool("flag").unwrap(), Some(false));
        assert!(object.bool_or("missing_flag", true).unwrap());
        assert_eq!(object.optional_integer("days").unwrap(), Some(7));
        assert_eq!(object.integer("at").unwrap(), -3);
        assert_eq!(
            object.optional_object("meta").unwrap(),
            json!({"a": 1}).as_object().cloned()
        );
        assert_eq!(object.optional_value("any").unwrap(), Some(json!([1])));
        object.finish().unwrap();
    }

    #[test]
    fn null_means_absent_where_a_field_cannot_be_cleared() {
        let mut object = parse(r#"{"a": null, "b": null, "c": null, "d": null}"#).unwrap();
        assert_eq!(object.optional_string("a").unwrap(), None);
        assert_eq!(object.optional_value("b").unwrap(), None);
        assert_eq!(object.optional_object("c").unwrap(), None);
        assert_eq!(object.optional_integer("d").unwrap(), None);
        object.finish().unwrap();
        assert!(parse(r#"{"flag": null}"#).unwrap().bool_or("flag", true).is_err());
        assert!(parse(r#"{"name": null}"#).unwrap().string("name").is_err());
        assert!(parse(r#"{}"#).unwrap().integer("at").is_err());
    }

    #[test]
    fn attack_a_misspelt_or_smuggled_field_is_refused_not_ignored() {
        let mut object = parse(r#"{"name": "Ada", "is_admin": true}"#).unwrap();
        object.string("name").unwrap();
        let problem = object.finish().unwrap_err();
        assert!(problem.message.contains("is_admin"), "{}", problem.message);
    }

    #[test]
    fn attack_a_key_sent_twice_is_refused() {
        // One parser keeps the first value, another the last: the object is refused outright.
        let problem = parse(r#"{"role": "basic_member", "role": "admin"}"#).err().unwrap();
        assert!(!problem.syntax);
        assert!(
            problem.message.contains("duplicate field `role`"),
            "{}",
            problem.message
        );
    }

    #[test]
    fn wrong_types_name_their_field() {
        type Read = fn(&mut JsonObject) -> Result<(), JsonProblem>;
        let cases: [(&str, Read); 8] = [
            (r#"{"f": 5}"#, |o| o.optional_string("f").map(drop)),
            (r#"{"f": "yes"}"#, |o| o.optional_bool("f").map(drop)),
            (r#"{"f": 1.5}"#, |o| o.optional_integer("f").map(drop)),
            (r#"{"f": 18446744073709551615}"#, |o| o.optional_integer("f").map(drop)),
            (r#"{"f": "7"}"#, |o| o.integer("f").map(drop)),
            (r#"{"f": [1]}"#, |o| o.optional_object("f").map(drop)),
            (r#"{"f": {}}"#, |o| o.nullable_string("f").map(drop)),
            (r#"{"f": 0}"#, |o| o.bool_or("f", false).map(drop)),
        ];
        for (text, read) in cases {
            let problem = read(&mut parse(text).unwrap()).expect_err(text);
            assert_eq!((problem.syntax, problem.field), (false, Some("f")), "{text}");
        }
    }

    #[test]
    fn objects_and_string_arrays_are_read_through_values() {
        assert_eq!(object_value(br#"{"a": 1}"#), json!({"a": 1}).as_object().cloned());
        assert_eq!(object_value(b"[1]"), None);
        assert_eq!(object_value(b"{"), None);
        assert_eq!(strings(json!(["a", "b"])), Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(strings(json!([])), Some(Vec::new()));
        assert_eq!(strings(json!(["a", 1])), None);
        assert_eq!(strings(json!("a")), None);
    }

    #[test]
    fn text_that_is_not_one_json_object_is_refused() {
        for (text, syntax) in [
            ("", true),
            ("{", true),
            (r#"{"a": 1} trailing"#, true),
            ("\u{feff}{}", true),
            ("[1, 2]", false),
            (r#""text""#, false),
            ("null", false),
        ] {
            assert_eq!(
                parse(text).err().map(|problem| problem.syntax),
                Some(syntax),
                "{text:?}"
            );
        }
        assert!(
            JsonObject::parse(b"{\"a\": \"\xff\"}").err().unwrap().syntax,
            "invalid UTF-8"
        );
    }
}
