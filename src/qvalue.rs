//! The weights of `Accept-Language` and `Accept-Encoding` (RFC 9110 §12.4.2), read as whole
//! thousandths: the grammar allows at most three decimals, so no floating point is needed (and
//! none of core's float parser is linked into the `.wasm`).

/// The value of `parameter` (one `;`-separated parameter of a list entry) when it is the
/// weight: its name `q` in any case (RFC 9110 §5.6.6), spaces around `=` allowed.
pub fn q_parameter(parameter: &str) -> Option<&str> {
    let (name, value) = parameter.split_once('=')?;
    name.trim().eq_ignore_ascii_case("q").then_some(value.trim())
}

/// `q=` value `text` in thousandths (`"0.8"` is 800), or `None` when it is not a qvalue:
/// `0`, `0.` and up to three digits, or `1`, `1.` and up to three zeros.
pub fn thousandths(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|digit| digit.is_ascii_digit()) {
        return None;
    }
    let scaled = fraction.bytes().chain(std::iter::repeat(b'0')).take(3);
    let fraction = scaled.fold(0u16, |value, digit| value * 10 + u16::from(digit - b'0'));
    match whole {
        "0" => Some(fraction),
        "1" if fraction == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{q_parameter, thousandths};

    #[test]
    fn qvalues_are_read_as_thousandths() {
        for (text, value) in [
            ("0", 0),
            ("0.", 0),
            ("0.000", 0),
            ("0.8", 800),
            ("0.25", 250),
            ("0.001", 1),
            ("1", 1000),
            ("1.", 1000),
            ("1.000", 1000),
        ] {
            assert_eq!(thousandths(text), Some(value), "{text}");
        }
    }

    #[test]
    fn the_weight_parameter_is_found_in_any_case() {
        assert_eq!(q_parameter("q=0.5"), Some("0.5"));
        assert_eq!(q_parameter(" Q = 0 "), Some("0"));
        assert_eq!(q_parameter("level=1"), None);
        assert_eq!(q_parameter("q"), None);
    }

    #[test]
    fn what_the_grammar_does_not_allow_is_no_weight() {
        for text in [
            "", ".5", "0.5000", "1.5", "1.001", "2", "-0", "+1", "0.5x", "0,5", "00.5", "1e0", "NaN", "inf", " 0.5",
        ] {
            assert_eq!(thousandths(text), None, "{text:?}");
        }
    }
}
