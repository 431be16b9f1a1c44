//! Base64 (RFC 4648 §4 and §5), the four forms the portal reads and writes: tokens, passkey
//! data and PKCE in base64url without padding, HTTP Basic credentials, webhook signatures and
//! PEM bodies in standard base64 with padding, operator secrets in whichever form they come, and
//! the salt and hash of imported bcrypt hashes in bcrypt's alphabet.
//!
//! # Threat
//! Decoding is strict, so one byte string has exactly one text in each form: a character outside
//! the alphabet, padding where the form has none (or missing, or too much, where it has some), a
//! length no encoding produces, or non-zero bits after the last byte (RFC 4648 §3.5) is refused.
//! A lenient decoder would let an attacker vary a token's text while it still decodes to the same
//! bytes, so anything keyed on the text (a cache, a log, a rate-limit) would see different tokens.
//! Malformed input ends in `None`, never a panic.

/// One form of base64: its alphabet and whether it pads to a multiple of four characters.
#[derive(Debug, Clone, Copy)]
pub struct Base64 {
    alphabet: &'static [u8; 64],
    /// Each byte's value in `alphabet`, [`NOT_IN_ALPHABET`] for the others.
    values: &'static [u8; 256],
    padded: bool,
}

const STANDARD_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BCRYPT_ALPHABET: &[u8; 64] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const NOT_IN_ALPHABET: u8 = 0xff;

const fn values(alphabet: &[u8; 64]) -> [u8; 256] {
    let mut values = [NOT_IN_ALPHABET; 256];
    let mut index = 0;
    while index < 64 {
        values[alphabet[index] as usize] = index as u8;
        index += 1;
    }
    values
}

/// `+` and `/`, padded with `=` (RFC 4648 §4).
pub const STANDARD: Base64 = Base64 {
    alphabet: STANDARD_ALPHABET,
    values: &values(STANDARD_ALPHABET),
    padded: true,
};
pub const STANDARD_NO_PAD: Base64 = Base64 {
    padded: false,
    ..STANDARD
};
/// `-` and `_` (RFC 4648 §5), padded.
pub const URL_SAFE: Base64 = Base64 {
    alphabet: URL_SAFE_ALPHABET,
    values: &values(URL_SAFE_ALPHABET),
    padded: true,
};
/// `-` and `_` without padding, as JWTs and WebAuthn write it.
pub const URL_SAFE_NO_PAD: Base64 = Base64 {
    padded: false,
    ..URL_SAFE
};
/// bcrypt's own alphabet (`./A–Za–z0–9`), unpadded: the salt and hash of a `$2b$` string.
pub const BCRYPT: Base64 = Base64 {
    alphabet: BCRYPT_ALPHABET,
    values: &values(BCRYPT_ALPHABET),
    padded: false,
};

impl Base64 {
    pub fn encode(&self, bytes: impl AsRef<[u8]>) -> String {
        self.encode_bytes(bytes.as_ref())
    }

    pub fn decode(&self, text: impl AsRef<[u8]>) -> Option<Vec<u8>> {
        self.decode_bytes(text.as_ref())
    }

    fn encode_bytes(&self, bytes: &[u8]) -> String {
        let alphabet = self.alphabet;
        let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let group = u32::from(chunk[0]) << 16
                | u32::from(chunk.get(1).copied().unwrap_or(0)) << 8
                | u32::from(chunk.get(2).copied().unwrap_or(0));
            let characters = chunk.len() + 1;
            for index in 0..characters {
                let sextet = (group >> (18 - 6 * index)) & 63;
                text.push(char::from(alphabet[sextet as usize]));
            }
            if self.padded {
                for _ in characters..4 {
                    text.push('=');
                }
            }
        }
        text
    }

    fn decode_bytes(&self, text: &[u8]) -> Option<Vec<u8>> {
        let mut data = text;
        if self.padded {
            if !text.len().is_multiple_of(4) {
                return None;
            }
            let padding = text.iter().rev().take(2).take_while(|&&c| c == b'=').count();
            data = &text[..text.len() - padding];
            // Exactly the padding this length needs: "xx==" or "xxx=", never "xxxx==".
            if (4 - data.len() % 4) % 4 != padding {
                return None;
            }
        }
        if data.len() % 4 == 1 {
            return None;
        }
        let mut bytes = Vec::with_capacity(data.len() / 4 * 3 + 2);
        for chunk in data.chunks(4) {
            let mut group = 0u32;
            for &character in chunk {
                group = group << 6 | u32::from(self.sextet(character)?);
            }
            match chunk.len() {
                4 => bytes.extend_from_slice(&group.to_be_bytes()[1..]),
                // Two characters carry one byte and four unused bits, three carry two and two.
                3 if group & 0b11 == 0 => bytes.extend_from_slice(&(group >> 2).to_be_bytes()[2..]),
                2 if group & 0b1111 == 0 => bytes.push((group >> 4) as u8),
                _ => return None,
            }
        }
        Some(bytes)
    }

    fn sextet(&self, character: u8) -> Option<u8> {
        Some(self.values[usize::from(character)]).filter(|&value| value != NOT_IN_ALPHABET)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose as reference;

    const FORMS: [(Base64, base64::engine::GeneralPurpose); 4] = [
        (STANDARD, reference::STANDARD),
        (STANDARD_NO_PAD, reference::STANDARD_NO_PAD),
        (URL_SAFE, reference::URL_SAFE),
        (URL_SAFE_NO_PAD, reference::URL_SAFE_NO_PAD),
    ];

    #[test]
    fn rfc_4648_test_vectors() {
        for (bytes, padded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(STANDARD.encode(bytes), padded);
            assert_eq!(STANDARD.decode(padded).as_deref(), Some(bytes.as_bytes()));
            let unpadded = padded.trim_end_matches('=');
            assert_eq!(URL_SAFE_NO_PAD.encode(bytes), unpadded);
            assert_eq!(URL_SAFE_NO_PAD.decode(unpadded).as_deref(), Some(bytes.as_bytes()));
        }
        assert_eq!(URL_SAFE_NO_PAD.encode([0xfb, 0xff]), "-_8");
        assert_eq!(STANDARD.encode([0xfb, 0xff]), "+/8=");
        // bcrypt's alphabet starts at '.': the zero bytes of an all-zero salt.
        assert_eq!(BCRYPT.encode([0u8; 16]), "......................");
        assert_eq!(BCRYPT.decode("......................"), Some(vec![0u8; 16]));
        assert_eq!(BCRYPT.encode([0xff]), "9u");
        assert_eq!(BCRYPT.decode("9u"), Some(vec![0xff]));
        assert_eq!(BCRYPT.decode("9v"), None, "non-zero bits after the last byte");
        assert_eq!(BCRYPT.decode("+/"), None);
    }

    #[test]
    fn encodes_and_decodes_as_the_base64_crate_does() {
        let mut seed = 0x9e37_79b9_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for length in 0..200 {
            let bytes: Vec<u8> = (0..length).map(|_| next() as u8).collect();
            for (ours, theirs) in FORMS {
                let text = ours.encode(&bytes);
                assert_eq!(text, theirs.encode(&bytes));
                assert_eq!(ours.decode(&text), Some(bytes.clone()));
            }
        }
        // Random texts over the characters that matter: both alphabets, padding, others.
        let characters = b"AQgw+/-_=.= \n";
        for _ in 0..100_000 {
            let length = next() as usize % 10;
            let text: Vec<u8> = (0..length)
                .map(|_| characters[next() as usize % characters.len()])
                .collect();
            for (ours, theirs) in FORMS {
                assert_eq!(
                    ours.decode(&text),
                    theirs.decode(&text).ok(),
                    "{:?}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
    }

    #[test]
    fn a_second_text_for_the_same_bytes_is_refused() {
        // Non-zero bits after the last byte: "Zh" would otherwise also read as "f".
        assert_eq!(URL_SAFE_NO_PAD.decode("Zg").as_deref(), Some(&b"f"[..]));
        assert_eq!(URL_SAFE_NO_PAD.decode("Zh"), None);
        assert_eq!(URL_SAFE_NO_PAD.decode("Zm9"), None);
        assert_eq!(STANDARD.decode("Zh=="), None);
        // Padding where the form has none, and missing or extra padding where it has.
        assert_eq!(URL_SAFE_NO_PAD.decode("Zg=="), None);
        assert_eq!(STANDARD.decode("Zg"), None);
        assert_eq!(STANDARD.decode("Zm9v===="), None);
        assert_eq!(STANDARD.decode("Zm9v=="), None);
        assert_eq!(STANDARD.decode("Zg=a"), None);
        // The other alphabet's characters, and a length no encoding has.
        assert_eq!(URL_SAFE_NO_PAD.decode("+/8"), None);
        assert_eq!(STANDARD.decode("-_8="), None);
        assert_eq!(URL_SAFE_NO_PAD.decode("Zm9vY"), None);
        assert_eq!(STANDARD.decode("Zm9v\n"), None);
    }
}
