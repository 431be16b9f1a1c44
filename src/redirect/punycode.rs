//! Punycode (RFC 3492) for the `xn--` labels of redirect hosts.
//!
//! # Threat
//! The portal parses URLs with the ASCII-only IDNA back end (redirect targets must be ASCII), so
//! an `xn--` label passes through undecoded. A browser decodes it (UTS #46, as the WHATWG URL
//! Standard runs it) and refuses the URL when the label is not valid punycode: the portal would
//! then answer with a redirect the browser cannot follow, or, worse, accept a host that a
//! browser reads differently. A label is accepted only when it decodes, decodes to something
//! that is not plain ASCII, encodes back to exactly itself, and holds no character UTS #46 maps
//! or disallows among those recognizable without Unicode tables (upper case, dots and their
//! look-alikes, controls, spaces, invisible and format characters, private use, noncharacters).
//! UTS #46 also wants the decoded label in NFC: a decomposed `é` (`e` + U+0301, `xn--e-xbb`)
//! decodes cleanly and browsers still refuse it. Without composition tables the common case is
//! refused: a combining diacritical mark (U+0300–U+036F) right after a Latin, Greek or Cyrillic
//! letter, where NFC would have composed most pairs. The rare valid label of that shape (a
//! letter with no precomposed form) is refused too: the redirect then falls back, never breaks.

const BASE: u32 = 36;
const T_MIN: u32 = 1;
const T_MAX: u32 = 26;
const SKEW: u32 = 38;
const DAMP: u32 = 700;
const INITIAL_BIAS: u32 = 72;
const INITIAL_N: u32 = 128;

/// Whether a lower-case `xn--` label is one a browser accepts.
pub fn is_valid_ace_label(label: &str) -> bool {
    let Some(encoded) = label.strip_prefix("xn--") else {
        return true;
    };
    let Some(decoded) = decode(encoded) else {
        return false;
    };
    !decoded.is_empty()
        && !decoded.is_ascii()
        && encode(&decoded).as_deref() == Some(encoded)
        && decoded.chars().all(is_acceptable_in_label)
        && !decoded.starts_with(is_common_combining_mark)
        && !has_decomposed_letter(&decoded)
}

/// Whether a combining diacritical mark follows a letter of the scripts whose accented letters
/// have precomposed forms (so the text is most likely not in NFC).
fn has_decomposed_letter(decoded: &str) -> bool {
    let chars: Vec<char> = decoded.chars().collect();
    chars.windows(2).any(|pair| {
        let base = u32::from(pair[0]);
        let is_diacritic = matches!(u32::from(pair[1]), 0x0300..=0x036F);
        let composes =
            pair[0].is_ascii_alphabetic() || matches!(base, 0x00C0..=0x024F | 0x0370..=0x03FF | 0x0400..=0x04FF);
        is_diacritic && composes
    })
}

/// A label may not begin with a combining mark (UTS #46 validity criteria); these are the
/// combining blocks, which is as far as a check without Unicode tables goes.
fn is_common_combining_mark(c: char) -> bool {
    matches!(
        u32::from(c),
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F
    )
}

fn is_acceptable_in_label(c: char) -> bool {
    let code = u32::from(c);
    let dot_like = matches!(c, '.' | '\u{3002}' | '\u{FF0E}' | '\u{FF61}');
    let invisible = crate::domain::is_invisible_or_format(c);
    let private_or_nonchar =
        matches!(code, 0xE000..=0xF8FF | 0xF0000..=0x10FFFF | 0xFDD0..=0xFDEF) || code & 0xFFFE == 0xFFFE;
    !dot_like
        && !invisible
        && !private_or_nonchar
        && !c.is_control()
        && !c.is_whitespace()
        && !c.is_uppercase()
        && c.to_lowercase().eq(std::iter::once(c))
}

fn adapt(mut delta: u32, points: u32, first: bool) -> u32 {
    delta /= if first { DAMP } else { 2 };
    delta += delta / points;
    let mut k = 0;
    while delta > ((BASE - T_MIN) * T_MAX) / 2 {
        delta /= BASE - T_MIN;
        k += BASE;
    }
    k + (BASE - T_MIN + 1) * delta / (delta + SKEW)
}

fn threshold(k: u32, bias: u32) -> u32 {
    if k <= bias {
        T_MIN
    } else if k >= bias + T_MAX {
        T_MAX
    } else {
        k - bias
    }
}

fn digit_value(byte: u8) -> Option<u32> {
    match byte {
        b'a'..=b'z' => Some(u32::from(byte - b'a')),
        b'0'..=b'9' => Some(u32::from(byte - b'0') + 26),
        _ => None,
    }
}

fn digit_char(digit: u32) -> char {
    let byte = if digit < 26 {
        b'a' + digit as u8
    } else {
        b'0' + (digit - 26) as u8
    };
    char::from(byte)
}

/// Decodes the part of a label after `xn--`; `None` when it is not valid punycode (lower-case
/// digits only, as hosts are lower-cased before this runs).
pub fn decode(input: &str) -> Option<String> {
    if !input.is_ascii() {
        return None;
    }
    let (basic, extended) = match input.rfind('-') {
        Some(position) => (&input[..position], &input[position + 1..]),
        None => ("", input),
    };
    let mut output: Vec<char> = basic.chars().collect();
    let (mut n, mut i, mut bias) = (INITIAL_N, 0u32, INITIAL_BIAS);
    let mut digits = extended.bytes().peekable();
    while digits.peek().is_some() {
        let old_i = i;
        let mut weight = 1u32;
        let mut k = BASE;
        loop {
            let digit = digit_value(digits.next()?)?;
            i = i.checked_add(digit.checked_mul(weight)?)?;
            let t = threshold(k, bias);
            if digit < t {
                break;
            }
            weight = weight.checked_mul(BASE - t)?;
            k += BASE;
        }
        let points = u32::try_from(output.len() + 1).ok()?;
        bias = adapt(i - old_i, points, old_i == 0);
        n = n.checked_add(i / points)?;
        i %= points;
        output.insert(usize::try_from(i).ok()?, char::from_u32(n)?);
        i += 1;
    }
    Some(output.into_iter().collect())
}

/// Encodes a label to the punycode that follows `xn--`.
pub fn encode(input: &str) -> Option<String> {
    let chars: Vec<u32> = input.chars().map(u32::from).collect();
    let mut output: String = input.chars().filter(char::is_ascii).collect();
    let basic = u32::try_from(output.len()).ok()?;
    if basic > 0 {
        output.push('-');
    }
    let (mut n, mut delta, mut bias, mut handled) = (INITIAL_N, 0u32, INITIAL_BIAS, basic);
    let total = u32::try_from(chars.len()).ok()?;
    while handled < total {
        let m = chars.iter().copied().filter(|&c| c >= n).min()?;
        delta = delta.checked_add((m - n).checked_mul(handled + 1)?)?;
        n = m;
        for &c in &chars {
            if c < n {
                delta = delta.checked_add(1)?;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = threshold(k, bias);
                    if q < t {
                        break;
                    }
                    output.push(digit_char(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                output.push(digit_char(q));
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta += 1;
        n += 1;
    }
    Some(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_encodes_rfc_3492_samples() {
        for (unicode, ace) in [
            ("bücher", "bcher-kva"),
            ("münchen", "mnchen-3ya"),
            ("他们为什么不说中文", "ihqwcrb4cv8a8dqg056pqjye"),
            ("ليهمابتكلموشعربي؟", "egbpdaj6bu4bxfgehfvwxn"),
            ("☃", "n3h"),
        ] {
            assert_eq!(decode(ace).as_deref(), Some(unicode), "{ace}");
            assert_eq!(encode(unicode).as_deref(), Some(ace), "{unicode}");
        }
    }

    #[test]
    fn refuses_ace_labels_browsers_refuse() {
        let encoded = |label: &str| format!("xn--{}", encode(label).unwrap());
        for bad in [
            "xn--".to_owned(),                     // nothing after the prefix
            "xn--abc-".to_owned(),                 // decodes to plain ASCII
            "xn--abc".to_owned(),                  // decodes to C1 control characters
            "xn--99999999999999999999".to_owned(), // overflows
            "xn--bcher-KVA".to_owned(),            // not lower-case punycode
            "xn--bcher-kva9".to_owned(),           // runs past the end of its digits
            "xn--ug".to_owned(),                   // ends inside a number
            encoded("pay\u{200B}pal"),             // a zero-width space
            encoded("\u{202E}lapyap"),             // a right-to-left override
            encoded("Bücher"),                     // upper case, which UTS #46 maps
            encoded("a\u{3002}b"),                 // an ideographic full stop, a dot in disguise
        ] {
            assert!(!is_valid_ace_label(&bad), "{bad}");
        }
        for good in ["xn--bcher-kva", "xn--mnchen-3ya", "xn--n3h", "example", "a-b"] {
            assert!(is_valid_ace_label(good), "{good}");
        }
    }
}
