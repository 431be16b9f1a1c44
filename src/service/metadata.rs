//! Metadata an app keeps on a user or an organization: a JSON object, `public_metadata` (what the
//! app may show) and `private_metadata` (what only its backend reads), each at most
//! [`METADATA_MAX_BYTES`] as compact JSON: what an app keeps about a user, not a document store.

use serde_json::{Map, Value};

/// Largest metadata object, as compact JSON (Clerk's limit too).
pub const METADATA_MAX_BYTES: usize = 8 * 1024;

/// Why a metadata value was refused: the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataProblem {
    pub field: &'static str,
    pub message: String,
}

/// A metadata object as the text to store (`None` when none was sent), or why it is refused.
pub fn to_text(field: &'static str, value: Option<&Value>) -> Result<Option<String>, MetadataProblem> {
    let Some(value) = value else {
        return Ok(None);
    };
    if !value.is_object() {
        return Err(MetadataProblem {
            field,
            message: "must be a JSON object".into(),
        });
    }
    let text = value.to_string();
    if text.len() > METADATA_MAX_BYTES {
        return Err(MetadataProblem {
            field,
            message: format!("is larger than {METADATA_MAX_BYTES} bytes as JSON"),
        });
    }
    Ok(Some(text))
}

/// Stored metadata back as an object (an unreadable one reads as empty).
pub fn from_text(text: &str) -> Map<String, Value> {
    crate::json_object::object_value(text.as_bytes()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_small_objects_are_metadata() {
        assert_eq!(to_text("m", None), Ok(None));
        assert_eq!(to_text("m", Some(&json!({"a": 1}))), Ok(Some("{\"a\":1}".into())));
        assert!(to_text("m", Some(&json!([1]))).is_err());
        assert!(to_text("m", Some(&json!("text"))).is_err());
        let big = json!({"x": "y".repeat(METADATA_MAX_BYTES)});
        assert_eq!(to_text("m", Some(&big)).unwrap_err().field, "m");
        assert!(from_text("not json").is_empty());
    }
}
