//! A small CBOR (RFC 8949) reader for what WebAuthn sends: the attestation object and the COSE
//! public key inside the authenticator data. Definite lengths only (CTAP2's canonical CBOR has
//! no others), tags read through, floats and simple values kept as opaque.
//!
//! # Threat
//! Every byte here comes from the browser, so from whoever posts the form. A declared length
//! larger than what is left, nesting 10 000 deep, or a truncated header must end in an error,
//! never a panic, an allocation of the declared size, or a stack overflow: lengths are checked
//! against the bytes that remain before anything is allocated, and nesting stops at
//! [`MAX_DEPTH`].

/// Deepest nesting accepted (an attestation object needs 4).
pub const MAX_DEPTH: usize = 16;

/// One decoded item, borrowing byte and text strings from the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Unsigned(u64),
    /// A negative integer `-1 - n`, kept as `i128` so every CBOR negative fits.
    Negative(i128),
    Bytes(&'a [u8]),
    Text(&'a str),
    Array(Vec<Value<'a>>),
    Map(Vec<(Value<'a>, Value<'a>)>),
    Bool(bool),
    Null,
    /// A float or another simple value: read over, never interpreted.
    Other,
}

/// Why the input is not CBOR this reader accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CborError {
    Truncated,
    TooDeep,
    IndefiniteLength,
    InvalidUtf8,
    Reserved,
    TrailingBytes,
}

impl<'a> Value<'a> {
    /// The integer, if this is one that fits an `i64`.
    pub fn as_integer(&self) -> Option<i64> {
        match *self {
            Self::Unsigned(n) => i64::try_from(n).ok(),
            Self::Negative(n) => i64::try_from(n).ok(),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match *self {
            Self::Bytes(bytes) => Some(bytes),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&'a str> {
        match *self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The value under integer key `key` of a map (COSE keys).
    pub fn get_int(&self, key: i64) -> Option<&Value<'a>> {
        match self {
            Self::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_integer() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value under text key `key` of a map (the attestation object).
    pub fn get_text(&self, key: &str) -> Option<&Value<'a>> {
        match self {
            Self::Map(entries) => entries.iter().find(|(k, _)| k.as_text() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Decodes exactly one item that fills `input`.
pub fn decode(input: &[u8]) -> Result<Value<'_>, CborError> {
    let (value, rest) = decode_prefix(input)?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(CborError::TrailingBytes)
    }
}

/// Decodes one item at the start of `input`; answers it and the bytes after it.
pub fn decode_prefix(input: &[u8]) -> Result<(Value<'_>, &[u8]), CborError> {
    let mut reader = Reader { input, at: 0 };
    let value = reader.item(0)?;
    Ok((value, &input[reader.at..]))
}

struct Reader<'a> {
    input: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.input.len() - self.at
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CborError> {
        if n > self.left() {
            return Err(CborError::Truncated);
        }
        let bytes = &self.input[self.at..self.at + n];
        self.at += n;
        Ok(bytes)
    }

    /// The argument of a header whose low five bits are `info`.
    fn argument(&mut self, info: u8) -> Result<u64, CborError> {
        let width = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            31 => return Err(CborError::IndefiniteLength),
            _ => return Err(CborError::Reserved),
        };
        Ok(self
            .take(width)?
            .iter()
            .fold(0u64, |n, byte| (n << 8) | u64::from(*byte)))
    }

    /// A length that the remaining input can hold, each element taking at least `min_each` bytes.
    fn length(&mut self, info: u8, min_each: usize) -> Result<usize, CborError> {
        let declared = self.argument(info)?;
        let fits = usize::try_from(declared)
            .ok()
            .filter(|n| n.checked_mul(min_each).is_some_and(|bytes| bytes <= self.left()));
        fits.ok_or(CborError::Truncated)
    }

    fn item(&mut self, depth: usize) -> Result<Value<'a>, CborError> {
        if depth > MAX_DEPTH {
            return Err(CborError::TooDeep);
        }
        let header = self.take(1)?[0];
        let (major, info) = (header >> 5, header & 0x1f);
        match major {
            0 => Ok(Value::Unsigned(self.argument(info)?)),
            1 => Ok(Value::Negative(-1 - i128::from(self.argument(info)?))),
            2 => {
                let n = self.length(info, 1)?;
                Ok(Value::Bytes(self.take(n)?))
            }
            3 => {
                let n = self.length(info, 1)?;
                let text = std::str::from_utf8(self.take(n)?).map_err(|_| CborError::InvalidUtf8)?;
                Ok(Value::Text(text))
            }
            4 => {
                let n = self.length(info, 1)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            5 => {
                let n = self.length(info, 2)?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let key = self.item(depth + 1)?;
                    let value = self.item(depth + 1)?;
                    entries.push((key, value));
                }
                Ok(Value::Map(entries))
            }
            6 => {
                self.argument(info)?;
                self.item(depth + 1)
            }
            _ => match info {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 => Ok(Value::Null),
                0..=19 | 23 => Ok(Value::Other),
                24..=27 => {
                    self.argument(info)?;
                    Ok(Value::Other)
                }
                31 => Err(CborError::IndefiniteLength),
                _ => Err(CborError::Reserved),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_items_of_an_attestation_object() {
        // {"fmt": "none", "attStmt": {}, "authData": h'0102'}
        let bytes = [
            0xa3, 0x63, b'f', b'm', b't', 0x64, b'n', b'o', b'n', b'e', 0x67, b'a', b't', b't', b'S', b't', b'm', b't',
            0xa0, 0x68, b'a', b'u', b't', b'h', b'D', b'a', b't', b'a', 0x42, 1, 2,
        ];
        let value = decode(&bytes).unwrap();
        assert_eq!(value.get_text("fmt").and_then(Value::as_text), Some("none"));
        assert_eq!(
            value.get_text("authData").and_then(Value::as_bytes),
            Some(&[1u8, 2][..])
        );
        assert_eq!(value.get_text("attStmt"), Some(&Value::Map(Vec::new())));
    }

    #[test]
    fn reads_negative_keys_and_wide_arguments() {
        // {1: 2, 3: -7, -1: 1, 0x1_0000: -257}
        let bytes = [
            0xa4, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x1a, 0, 1, 0, 0, 0x39, 0x01, 0x00,
        ];
        let value = decode(&bytes).unwrap();
        assert_eq!(value.get_int(3).and_then(Value::as_integer), Some(-7));
        assert_eq!(value.get_int(-1).and_then(Value::as_integer), Some(1));
        assert_eq!(value.get_int(0x1_0000).and_then(Value::as_integer), Some(-257));
        assert_eq!(
            decode(&[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
                .unwrap()
                .as_integer(),
            None
        );
    }

    #[test]
    fn a_prefix_leaves_the_rest() {
        let (value, rest) = decode_prefix(&[0x01, 0xff, 0xee]).unwrap();
        assert_eq!(value, Value::Unsigned(1));
        assert_eq!(rest, &[0xff, 0xee]);
        assert_eq!(decode(&[0x01, 0x02]), Err(CborError::TrailingBytes));
    }

    #[test]
    fn attack_declared_length_larger_than_the_input_allocates_nothing() {
        // A byte string, an array and a map each claiming 2^64 - 1 items in nine bytes.
        for major in [0x5b, 0x9b, 0xbb] {
            let bytes = [major, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
            assert_eq!(decode(&bytes), Err(CborError::Truncated));
        }
        assert_eq!(decode(&[0x9a, 0x7f, 0xff, 0xff, 0xff]), Err(CborError::Truncated));
    }

    #[test]
    fn attack_deep_nesting_stops_before_the_stack_does() {
        let bytes = vec![0x81; 100_000];
        assert_eq!(decode(&bytes), Err(CborError::TooDeep));
        let tags = vec![0xc6; 100_000];
        assert_eq!(decode(&tags), Err(CborError::TooDeep));
    }

    #[test]
    fn attack_malformed_input_of_every_length_never_panics() {
        let valid = [
            0xa3, 0x63, b'f', b'm', b't', 0x64, b'n', b'o', b'n', b'e', 0x67, b'a', b't', b't', b'S', b't', b'm', b't',
            0xa0, 0x68, b'a', b'u', b't', b'h', b'D', b'a', b't', b'a', 0x42, 1, 2,
        ];
        for cut in 0..valid.len() {
            assert!(decode(&valid[..cut]).is_err(), "a prefix of {cut} bytes was accepted");
        }
        // Every one- and two-byte input, and a pseudo-random walk of longer ones.
        for first in 0..=255u8 {
            let _ = decode(&[first]);
            for second in 0..=255u8 {
                let _ = decode(&[first, second]);
            }
        }
        let mut state = 0x9e37_79b9_u32;
        for length in 0..400 {
            let bytes: Vec<u8> = (0..length)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state as u8
                })
                .collect();
            let _ = decode(&bytes);
        }
    }

    #[test]
    fn refuses_indefinite_lengths_and_invalid_text() {
        assert_eq!(decode(&[0x5f, 0x41, 0x00, 0xff]), Err(CborError::IndefiniteLength));
        assert_eq!(decode(&[0x62, 0xc3, 0x28]), Err(CborError::InvalidUtf8));
        assert_eq!(decode(&[0x1c]), Err(CborError::Reserved));
    }
}
