//! Strict `application/x-www-form-urlencoded` parsing for query strings and form bodies.
//!
//! Lenient decoders turn `%zz` into literal text and invalid UTF-8 into U+FFFD, so the value a
//! check sees is not the value the browser sent. Here a malformed form body is an error (the page
//! answers 400) and a malformed query parameter is treated as absent.
//!
//! A NUL character is malformed too: no field of the portal can hold one, and PostgreSQL's text
//! cannot store one (a flow id or a slug with `%00` reached the database as a 500 error).

use std::fmt;

/// Decoded name/value pairs in their original order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    InvalidPercentEncoding,
    InvalidUtf8,
    NulCharacter,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidPercentEncoding => {
                write!(f, "the form data has an invalid percent-encoding")
            }
            Self::InvalidUtf8 => write!(f, "the form data is not valid UTF-8"),
            Self::NulCharacter => write!(f, "the form data holds a NUL character"),
        }
    }
}

impl Params {
    /// Parses a query string; pairs that fail to decode are dropped.
    pub fn from_query(query: &str) -> Self {
        let pairs = split_pairs(query.as_bytes())
            .filter_map(|(name, value)| Some((decode(name).ok()?, decode(value).ok()?)))
            .collect();
        Self { pairs }
    }

    /// Parses a form body; any malformed pair rejects the whole body.
    pub fn from_form_body(body: &[u8]) -> Result<Self, FormError> {
        let pairs = split_pairs(body)
            .map(|(name, value)| Ok((decode(name)?, decode(value)?)))
            .collect::<Result<_, FormError>>()?;
        Ok(Self { pairs })
    }

    /// The first value of `name`. Later duplicates are ignored so that every reader of a
    /// parameter sees the same value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Every pair, in the order sent.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// The first value of `name`, or `""`.
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default()
    }

    /// Re-encodes the named parameters that are present, for carrying them to another page.
    pub fn encode_subset(&self, names: &[&str]) -> String {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for name in names {
            if let Some(value) = self.get(name) {
                serializer.append_pair(name, value);
            }
        }
        serializer.finish()
    }
}

fn split_pairs(input: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    input
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        })
}

fn decode(input: &[u8]) -> Result<String, FormError> {
    let mut bytes = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = input.get(i + 1..i + 3).ok_or(FormError::InvalidPercentEncoding)?;
                let high = hex_value(hex[0]).ok_or(FormError::InvalidPercentEncoding)?;
                let low = hex_value(hex[1]).ok_or(FormError::InvalidPercentEncoding)?;
                bytes.push(high << 4 | low);
                i += 2;
            }
            other => bytes.push(other),
        }
        i += 1;
    }
    if bytes.contains(&0) {
        return Err(FormError::NulCharacter);
    }
    String::from_utf8(bytes).map_err(|_| FormError::InvalidUtf8)
}

fn hex_value(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent() {
        let params = Params::from_query("a=x+y%20z&b=%E2%9C%93&c&d=");
        assert_eq!(params.get("a"), Some("x y z"));
        assert_eq!(params.get("b"), Some("✓"));
        assert_eq!(params.get("c"), Some(""));
        assert_eq!(params.get("d"), Some(""));
        assert_eq!(params.get("e"), None);
    }

    #[test]
    fn first_duplicate_wins_against_parameter_pollution() {
        let params = Params::from_query("redirect_url=%2Fa&redirect_url=https://evil.com");
        assert_eq!(params.get("redirect_url"), Some("/a"));
    }

    #[test]
    fn malformed_query_pairs_are_dropped_not_mangled() {
        let params = Params::from_query("a=%zz&b=%FF&c=%E2%9C&d=ok&e=%4");
        assert_eq!(params.get("a"), None);
        assert_eq!(params.get("b"), None);
        assert_eq!(params.get("c"), None);
        assert_eq!(params.get("d"), Some("ok"));
        assert_eq!(params.get("e"), None);
    }

    #[test]
    fn malformed_form_bodies_are_errors() {
        assert_eq!(Params::from_form_body(b"a=%zz"), Err(FormError::InvalidPercentEncoding));
        assert_eq!(Params::from_form_body(b"a=%C3%28"), Err(FormError::InvalidUtf8));
        assert_eq!(Params::from_form_body(b"a=\xff"), Err(FormError::InvalidUtf8));
        assert_eq!(Params::from_form_body(b"a=1&b=2").unwrap().get("b"), Some("2"));
    }

    #[test]
    fn a_nul_character_is_bad_input_never_a_database_error() {
        assert_eq!(Params::from_form_body(b"flow=abc%00def"), Err(FormError::NulCharacter));
        assert_eq!(Params::from_form_body(b"slug%00=x"), Err(FormError::NulCharacter));
        assert_eq!(Params::from_form_body(b"flow=abc\0"), Err(FormError::NulCharacter));
        let query = Params::from_query("flow=abc%00&switch=acme%00&ok=1");
        assert_eq!(
            (query.get("flow"), query.get("switch"), query.get("ok")),
            (None, None, Some("1"))
        );
    }

    #[test]
    fn encode_subset_round_trips() {
        let params = Params::from_query("redirect_url=https%3A%2F%2Fa.io%2F%3Fx%3D1&other=2");
        let encoded = params.encode_subset(&["redirect_url", "missing"]);
        assert_eq!(encoded, "redirect_url=https%3A%2F%2Fa.io%2F%3Fx%3D1");
        assert_eq!(
            Params::from_query(&encoded).get("redirect_url"),
            Some("https://a.io/?x=1")
        );
    }
}
