//! The two DER structures of P-256 the portal reads: the ECDSA signature a passkey sends
//! (`ECDSA-Sig-Value`, RFC 3279 §2.2.3) and the PKCS#8 private key an operator sets
//! (`session_signing_key`, `apple_private_key`; RFC 5208 around RFC 5915's `ECPrivateKey`).
//!
//! Read by hand instead of with the `der` and `pkcs8` crates: those two calls were all the
//! portal used of them, and they linked about 50 KB of generic DER machinery (and `base64ct`)
//! into the `.wasm`. Both readers only walk fixed shapes; the range checks of what they return
//! are `p256_limbs`' (`verify_prehashed` refuses r or s outside [1, n − 1], `Scalar::from_bytes`
//! a key outside it).
//!
//! # Threat
//! A signature comes from whoever answers a passkey challenge, so its reader must not panic,
//! read out of bounds or accept two encodings of one value (signature malleability through the
//! encoding): it accepts exactly DER (definite short lengths, minimal positive integers, nothing
//! trailing), as `ecdsa`'s `Signature::from_der` does; a test holds them equal on valid and
//! mangled input. A key is the operator's own secret, read from configuration: its reader
//! insists on the P-256 algorithm and curve identifiers so that a key of another curve is
//! refused, not misread as a P-256 scalar. The public key a PKCS#8 document may carry is not
//! compared with the scalar: the portal never uses it (the JWKS derives the public key from the
//! scalar), and checking it would cost a scalar multiplication on every request that reads the
//! key.

/// A DER reader over a byte slice: each method takes one element off the front.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next element's tag, if any.
    fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The contents of the next element, which must have tag `tag`. Lengths in DER's definite
    /// form, minimal: short up to 127, then `0x81` with one byte of 128 or more, or `0x82` with
    /// two of 256 or more (nothing here is longer).
    fn element(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&found, rest) = self.rest.split_first()?;
        if found != tag {
            return None;
        }
        let (&first, rest) = rest.split_first()?;
        let (length, rest) = match first {
            0..=0x7f => (usize::from(first), rest),
            0x81 => {
                let (&byte, rest) = rest.split_first()?;
                (byte >= 0x80).then_some((usize::from(byte), rest))?
            }
            0x82 => {
                let (bytes, rest) = rest.split_at_checked(2)?;
                let length = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
                (length >= 0x100).then_some((length, rest))?
            }
            _ => return None,
        };
        let (contents, rest) = rest.split_at_checked(length)?;
        self.rest = rest;
        Some(contents)
    }

    /// The next element, which must be exactly `expected` (tag, length and contents).
    fn exactly(&mut self, expected: &[u8]) -> Option<()> {
        let rest = self.rest.strip_prefix(expected)?;
        self.rest = rest;
        Some(())
    }
}

/// A DER INTEGER's contents as a positive number of at most 32 bytes, left-padded to 32. DER
/// writes an integer in the fewest bytes: a leading zero only when the next byte's top bit is
/// set (else the number would read as negative), so each number has one encoding.
fn positive_integer(contents: &[u8]) -> Option<[u8; 32]> {
    let magnitude = match contents {
        [] => return None,
        [first, ..] if *first >= 0x80 => return None,
        [0, next, ..] if *next < 0x80 => return None,
        [0, rest @ ..] if !rest.is_empty() => rest,
        all => all,
    };
    if magnitude.len() > 32 {
        return None;
    }
    let mut padded = [0u8; 32];
    padded[32 - magnitude.len()..].copy_from_slice(magnitude);
    Some(padded)
}

/// `r ‖ s` (32 bytes each) of a DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`,
/// with nothing after it. Whether r and s are in range is the verifier's check.
pub fn signature_from_der(der: &[u8]) -> Option<[u8; 64]> {
    let mut outer = Reader::new(der);
    let mut sequence = Reader::new(outer.element(0x30)?);
    let r = positive_integer(sequence.element(0x02)?)?;
    let s = positive_integer(sequence.element(0x02)?)?;
    if !sequence.is_empty() || !outer.is_empty() {
        return None;
    }
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&r);
    signature[32..].copy_from_slice(&s);
    Some(signature)
}

/// `AlgorithmIdentifier { id-ecPublicKey, prime256v1 }`, as DER writes it.
const P256_ALGORITHM: &[u8] = &[
    0x30, 0x13, // SEQUENCE, 19 bytes
    0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, // 1.2.840.10045.2.1
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, // 1.2.840.10045.3.1.7
];

/// The curve parameter an `ECPrivateKey` may repeat: `[0] prime256v1`.
const P256_PARAMETERS: &[u8] = &[0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// The private scalar (32 bytes, big-endian) of a DER PKCS#8 document holding a P-256 key:
///
/// ```text
/// PrivateKeyInfo ::= SEQUENCE {
///   version             INTEGER (0, or 1 for RFC 5958's OneAsymmetricKey),
///   privateKeyAlgorithm AlgorithmIdentifier { id-ecPublicKey, prime256v1 },
///   privateKey          OCTET STRING containing
///     ECPrivateKey ::= SEQUENCE {
///       version    INTEGER 1,
///       privateKey OCTET STRING (32 bytes),
///       parameters [0] prime256v1 OPTIONAL,
///       publicKey  [1] BIT STRING OPTIONAL },
///   attributes [0] OPTIONAL,
///   publicKey  [1] BIT STRING, present exactly in version 1 }
/// ```
///
/// Whether the scalar is a valid key (non-zero, below the group order) is the caller's check.
pub fn pkcs8_p256_scalar(der: &[u8]) -> Option<[u8; 32]> {
    let mut outer = Reader::new(der);
    let mut info = Reader::new(outer.element(0x30)?);
    if !outer.is_empty() {
        return None;
    }
    // RFC 5958: version 1 exactly when the document ends with the public key.
    let has_public_key = match info.element(0x02)? {
        [0] => false,
        [1] => true,
        _ => return None,
    };
    info.exactly(P256_ALGORITHM)?;
    let mut wrapped = Reader::new(info.element(0x04)?);
    let mut key = Reader::new(wrapped.element(0x30)?);
    if !wrapped.is_empty() {
        return None;
    }
    if key.element(0x02)? != [1] {
        return None;
    }
    let scalar: [u8; 32] = key.element(0x04)?.try_into().ok()?;
    if key.peek_tag() == Some(0xa0) {
        key.exactly(P256_PARAMETERS)?;
    }
    if key.peek_tag() == Some(0xa1) {
        key.element(0xa1)?;
    }
    if !key.is_empty() {
        return None;
    }
    // What may follow the key: attributes, then (version 1) the public key; read over, unused.
    if info.peek_tag() == Some(0xa0) {
        info.element(0xa0)?;
    }
    if has_public_key {
        info.element(0x81)?;
    }
    info.is_empty().then_some(scalar)
}

#[cfg(test)]
mod tests;
