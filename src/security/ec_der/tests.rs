use p256::ecdsa::signature::Signer;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};

use super::*;

/// The same key as `token::tests`' PEM: generated with openssl for the tests only.
const OPENSSL_PKCS8: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6KrTxEWm//6dJpOYn6QpfogooY4+kCUbRILILxjAvKKhRANCAAQtSehFsg89zo5nW9WlAh5MgiEFLEQXYYKg57XxN/BAzN4QG4UC73AEtlPIoiYBRfKZJijVHLnsrKBsym0cZ3+6";

fn openssl_key() -> Vec<u8> {
    crate::security::base64::STANDARD.decode(OPENSSL_PKCS8).unwrap()
}

/// What `ecdsa` makes of `der`, and what this reader (then p256's range check) makes of it.
fn both_readings(der: &[u8]) -> (Option<p256::ecdsa::Signature>, Option<p256::ecdsa::Signature>) {
    let theirs = p256::ecdsa::Signature::from_der(der).ok();
    let ours = signature_from_der(der).and_then(|rs| p256::ecdsa::Signature::from_slice(&rs).ok());
    (theirs, ours)
}

/// Every single-byte change of `der` to a few telling values, each truncation, and one byte more.
fn mangled(der: &[u8]) -> Vec<Vec<u8>> {
    let mut variants = Vec::new();
    for position in 0..der.len() {
        for value in [0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0xff, der[position].wrapping_add(1)] {
            let mut changed = der.to_vec();
            changed[position] = value;
            variants.push(changed);
        }
        variants.push(der[..position].to_vec());
    }
    let mut longer = der.to_vec();
    longer.push(0);
    variants.push(longer);
    variants
}

#[test]
fn signatures_read_as_ecdsa_reads_them_valid_or_mangled() {
    let mut checked = 0;
    for seed in 1..=24u8 {
        let key = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
        let signature: p256::ecdsa::Signature = key.sign(&[seed; 3]);
        let der = signature.to_der();
        let (theirs, ours) = both_readings(der.as_bytes());
        assert_eq!(ours, Some(signature));
        assert_eq!(theirs, ours);
        for variant in mangled(der.as_bytes()) {
            let (theirs, ours) = both_readings(&variant);
            assert_eq!(theirs, ours, "{variant:02x?}");
            checked += 1;
        }
    }
    assert!(checked > 10_000, "{checked}");
}

#[test]
fn attack_a_second_encoding_of_the_same_signature_is_refused() {
    // Malleability through the encoding: r with a needless leading zero, a long-form length.
    let key = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
    let signature: p256::ecdsa::Signature = key.sign(b"challenge");
    let der = signature.to_der().as_bytes().to_vec();
    assert!(signature_from_der(&der).is_some());
    let r_length = usize::from(der[3]);
    let mut padded = vec![0x30, der[1] + 1, 0x02, der[3] + 1, 0x00];
    padded.extend_from_slice(&der[4..]);
    assert_eq!(padded.len(), der.len() + 1);
    assert!(
        signature_from_der(&padded).is_none(),
        "leading zero on r ({r_length} bytes)"
    );
    let mut long_form = vec![0x30, 0x81, der[1]];
    long_form.extend_from_slice(&der[2..]);
    assert!(signature_from_der(&long_form).is_none(), "length in long form");
}

#[test]
fn attack_negative_oversized_and_trailing_values_are_refused() {
    let integer_33 = |first: u8| {
        let mut bytes = vec![0x02, 33, first];
        bytes.extend([0x11; 32]);
        bytes
    };
    let sequence = |parts: &[&[u8]]| {
        let body: Vec<u8> = parts.concat();
        let mut der = vec![0x30, body.len() as u8];
        der.extend(body);
        der
    };
    let small: &[u8] = &[0x02, 0x01, 0x05];
    assert!(signature_from_der(&sequence(&[small, small])).is_some());
    assert!(
        signature_from_der(&sequence(&[&[0x02, 0x01, 0x85], small])).is_none(),
        "negative"
    );
    assert!(
        signature_from_der(&sequence(&[&integer_33(0x01), small])).is_none(),
        "above 2^256"
    );
    assert!(
        signature_from_der(&sequence(&[&[0x02, 0x00], small])).is_none(),
        "empty integer"
    );
    assert!(
        signature_from_der(&sequence(&[small, small, small])).is_none(),
        "a third integer"
    );
    let mut trailing = sequence(&[small, small]);
    trailing.push(0);
    assert!(signature_from_der(&trailing).is_none(), "bytes after the sequence");
    assert!(signature_from_der(&[]).is_none());
    assert!(signature_from_der(&[0x30]).is_none());
    assert!(signature_from_der(&[0x30, 0x7f]).is_none(), "length beyond the input");
}

#[test]
fn pkcs8_keys_read_as_p256_reads_them() {
    let openssl = openssl_key();
    let expected = p256::SecretKey::from_pkcs8_der(&openssl).unwrap().to_bytes();
    assert_eq!(pkcs8_p256_scalar(&openssl), Some(expected.into()));
    for seed in 1..=16u8 {
        let key = p256::SecretKey::from_slice(&[seed; 32]).unwrap();
        let der = key.to_pkcs8_der().unwrap();
        assert_eq!(pkcs8_p256_scalar(der.as_bytes()), Some([seed; 32]));
    }
}

#[test]
fn a_mangled_pkcs8_key_is_never_read_as_another_scalar() {
    // Whatever this reader accepts p256 accepts too, as the same scalar; except a change to the
    // scalar's own bytes or to the embedded public key, which p256 compares with the scalar
    // and this reader reads over, unused (a changed scalar is read as written, below).
    let openssl = openssl_key();
    let scalar_at = openssl.windows(2).position(|pair| pair == [0x04, 0x20]).unwrap() + 2;
    let public_key_at = openssl.windows(2).position(|pair| pair == [0xa1, 0x44]).unwrap();
    for variant in mangled(&openssl[..]) {
        let differs_at = variant.iter().zip(&openssl).position(|(a, b)| a != b);
        if let Some(position) = differs_at.filter(|at| (scalar_at..scalar_at + 32).contains(at)) {
            if variant.len() == openssl.len() {
                let read = pkcs8_p256_scalar(&variant).unwrap();
                assert_eq!(read[..], variant[scalar_at..scalar_at + 32], "changed at {position}");
            }
            continue;
        }
        if differs_at.is_some_and(|position| position > public_key_at) {
            continue;
        }
        if let Some(scalar) = pkcs8_p256_scalar(&variant) {
            let theirs = p256::SecretKey::from_pkcs8_der(&variant)
                .ok()
                .map(|key| <[u8; 32]>::from(key.to_bytes()));
            assert_eq!(theirs, Some(scalar), "{variant:02x?}");
        }
    }
}

#[test]
fn attack_a_key_of_another_curve_is_refused() {
    let openssl = openssl_key();
    // prime256v1's OID ends in 0x07; 1.2.840.10045.3.1.1 is P-192.
    let curve_at = openssl
        .windows(3)
        .position(|bytes| bytes == [0x03, 0x01, 0x07])
        .unwrap();
    let mut other_curve = openssl.clone();
    other_curve[curve_at + 2] = 0x01;
    assert!(pkcs8_p256_scalar(&other_curve).is_none());
    // An RSA key's algorithm identifier.
    let mut rsa = openssl.clone();
    rsa[8..17].copy_from_slice(&[0x06, 0x07, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01]);
    assert!(pkcs8_p256_scalar(&rsa).is_none());
    assert!(pkcs8_p256_scalar(b"").is_none());
    assert!(pkcs8_p256_scalar(&openssl[..openssl.len() - 1]).is_none(), "truncated");
}
