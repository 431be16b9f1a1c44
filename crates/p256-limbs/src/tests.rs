use p256::elliptic_curve::ops::Reduce;
use p256::elliptic_curve::point::Double;
use p256::elliptic_curve::rand_core::{OsRng, RngCore};
use p256::elliptic_curve::{Field, PrimeField};
use p256::{FieldBytes, FieldElement, ProjectivePoint, Scalar, U256};

use super::*;

fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

fn field_bytes(value: &FieldElement) -> [u8; 32] {
    value.to_bytes().into()
}

fn field_element(bytes: &[u8; 32]) -> FieldElement {
    FieldElement::from_repr(*FieldBytes::from_slice(bytes)).unwrap()
}

/// Field elements at the edges (0, 1, p − 1, p − 2, values with limbs all ones or zero)
/// and at random.
fn field_samples() -> Vec<FieldElement> {
    let mut samples = vec![
        FieldElement::ZERO,
        FieldElement::ONE,
        -FieldElement::ONE,
        -FieldElement::from(2u64),
        FieldElement::from(u64::MAX),
        field_element(&to_be_bytes(&[0, 0, 0, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0, 0])),
    ];
    samples.extend((0..40).map(|_| FieldElement::random(&mut OsRng)));
    samples
}

fn scalar_samples() -> Vec<Scalar> {
    let mut samples = vec![Scalar::ONE, -Scalar::ONE, -Scalar::from(2u64), Scalar::from(u64::MAX)];
    samples.extend((0..40).map(|_| Scalar::random(&mut OsRng)));
    samples
}

fn into_field(value: &FieldElement) -> Limbs {
    FIELD.to_montgomery(&from_be_bytes(&field_bytes(value)))
}

fn out_of_field(limbs: &Limbs) -> FieldElement {
    field_element(&to_be_bytes(&FIELD.from_montgomery(limbs)))
}

fn into_order(value: &Scalar) -> Limbs {
    ORDER.to_montgomery(&from_be_bytes(&value.to_bytes().into()))
}

fn out_of_order(limbs: &Limbs) -> Scalar {
    Scalar::from_repr(*FieldBytes::from_slice(&to_be_bytes(&ORDER.from_montgomery(limbs)))).unwrap()
}

#[test]
fn the_field_primes_own_reduction_equals_the_generic_one() {
    // Attack: a carry lost in the sparse reduction (which adds where the generic step
    // multiplies) would show only for some limbs; many random products and every edge pair.
    let generic = Modulus {
        is_field_prime: false,
        ..FIELD
    };
    let mut values: Vec<Limbs> = field_samples().iter().map(into_field).collect();
    values.extend([
        [0; 8],
        FIELD_ONE,
        FIELD.reduce(&[u32::MAX; 8]),
        [u32::MAX, u32::MAX, u32::MAX, 0, 0, 0, 1, u32::MAX - 1],
    ]);
    for a in &values {
        for b in &values {
            assert_eq!(FIELD.mul(a, b), generic.mul(a, b));
        }
    }
    for _ in 0..5_000 {
        let (a, b) = (
            FIELD.reduce(&from_be_bytes(&random_bytes())),
            FIELD.reduce(&from_be_bytes(&random_bytes())),
        );
        assert_eq!(FIELD.mul(&a, &b), generic.mul(&a, &b));
    }
}

#[test]
fn field_arithmetic_matches_p256() {
    // Attack: a carry lost in a corner of the arithmetic signs with a wrong k·G, and a
    // signature over a wrong point can leak the key.
    let samples = field_samples();
    for a in &samples {
        assert_eq!(
            out_of_field(&into_field(a)),
            *a,
            "the round trip through Montgomery form"
        );
        for b in samples.iter().step_by(3) {
            let (la, lb) = (into_field(a), into_field(b));
            assert_eq!(out_of_field(&FIELD.mul(&la, &lb)), *a * b);
            assert_eq!(out_of_field(&FIELD.add(&la, &lb)), *a + b);
            assert_eq!(out_of_field(&FIELD.sub(&la, &lb)), *a - b);
        }
        let expected = Option::<FieldElement>::from(a.invert()).unwrap_or(FieldElement::ZERO);
        assert_eq!(out_of_field(&FIELD.invert(&into_field(a))), expected);
    }
    assert_eq!(out_of_field(&FIELD_ONE), FieldElement::ONE);
}

#[test]
fn the_generator_is_on_the_curve_this_module_defines() {
    // y² = x³ − 3x + b, with this module's b and arithmetic: a wrong constant fails here.
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let g = p256::AffinePoint::GENERATOR.to_encoded_point(false);
    let x = FIELD.to_montgomery(&from_be_bytes(g.x().unwrap().as_slice().try_into().unwrap()));
    let y = FIELD.to_montgomery(&from_be_bytes(g.y().unwrap().as_slice().try_into().unwrap()));
    let x3 = FIELD.mul(&FIELD.mul(&x, &x), &x);
    let three_x = FIELD.add(&FIELD.add(&x, &x), &x);
    let right = FIELD.add(&FIELD.sub(&x3, &three_x), &B);
    assert_eq!(FIELD.mul(&y, &y), right);
}

#[test]
fn scalar_arithmetic_matches_p256() {
    let samples = scalar_samples();
    for a in &samples {
        assert_eq!(out_of_order(&into_order(a)), *a);
        for b in samples.iter().step_by(3) {
            let (la, lb) = (into_order(a), into_order(b));
            assert_eq!(out_of_order(&ORDER.mul(&la, &lb)), *a * b);
            assert_eq!(out_of_order(&ORDER.add(&la, &lb)), *a + b);
            assert_eq!(out_of_order(&ORDER.sub(&la, &lb)), *a - b);
        }
        assert_eq!(out_of_order(&ORDER.invert(&into_order(a))), a.invert().unwrap());
    }
}

#[test]
fn reduction_of_any_256_bit_number_matches_p256() {
    let mut inputs = vec![[0xffu8; 32], [0u8; 32], to_be_bytes(&ORDER.m), to_be_bytes(&FIELD.m)];
    inputs.extend((0..40).map(|_| random_bytes()));
    for bytes in inputs {
        let expected = <Scalar as Reduce<U256>>::reduce_bytes(FieldBytes::from_slice(&bytes));
        let reduced = ORDER.reduce(&from_be_bytes(&bytes));
        assert_eq!(to_be_bytes(&reduced), <[u8; 32]>::from(expected.to_bytes()));
    }
}

#[test]
fn mixed_addition_matches_p256_at_infinity_doubling_and_at_random() {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let affine = |point: &ProjectivePoint| {
        let encoded = point.to_affine().to_encoded_point(false);
        let x: [u8; 32] = encoded.x().unwrap().as_slice().try_into().unwrap();
        let y: [u8; 32] = encoded.y().unwrap().as_slice().try_into().unwrap();
        (x, y)
    };
    let to_limbs = |point: &ProjectivePoint| {
        let (x, y) = affine(point);
        (
            FIELD.to_montgomery(&from_be_bytes(&x)),
            FIELD.to_montgomery(&from_be_bytes(&y)),
        )
    };
    let g = ProjectivePoint::GENERATOR;
    let points: Vec<ProjectivePoint> = (0..10).map(|_| g * Scalar::random(&mut OsRng)).collect();
    for p in &points {
        let (px, py) = to_limbs(p);
        let from_infinity = Projective::IDENTITY.add_affine_masked(&px, &py, u32::MAX);
        assert_eq!(from_infinity.to_affine_bytes(), affine(p));
        let doubled = from_infinity.add_affine_masked(&px, &py, u32::MAX);
        assert_eq!(doubled.to_affine_bytes(), affine(&p.double()));
        let kept = from_infinity.add_affine_masked(&px, &py, 0);
        assert_eq!(kept.to_affine_bytes(), affine(p));
        for q in &points {
            let (qx, qy) = to_limbs(q);
            let sum = from_infinity.add_affine_masked(&qx, &qy, u32::MAX);
            assert_eq!(sum.to_affine_bytes(), affine(&(p + q)));
        }
        // P + (−P) is the point at infinity.
        let (nx, ny) = to_limbs(&-p);
        let zero = from_infinity.add_affine_masked(&nx, &ny, u32::MAX);
        assert_eq!(zero.to_affine_bytes(), ([0; 32], [0; 32]));
    }
}

/// A table entry for the affine point (x, y) given as big-endian coordinates.
fn table_entry(x: &[u8; 32], y: &[u8; 32]) -> [u8; POINT] {
    let mut entry = [0u8; POINT];
    entry[..32].copy_from_slice(&to_be_bytes(&FIELD.to_montgomery(&FIELD.reduce(&from_be_bytes(x)))));
    entry[32..].copy_from_slice(&to_be_bytes(&FIELD.to_montgomery(&FIELD.reduce(&from_be_bytes(y)))));
    entry
}

/// The table as the portal ships it: entry (w, j) is j·16^w·G, by p256's own arithmetic.
fn p256_table() -> Vec<u8> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let mut table = Vec::with_capacity(TABLE_BYTES);
    let mut base = ProjectivePoint::GENERATOR;
    for _ in 0..WINDOWS {
        let mut multiple = base;
        for _ in 0..ENTRIES {
            let encoded = multiple.to_affine().to_encoded_point(false);
            let coordinate = |c: &[u8]| -> [u8; 32] { c.try_into().unwrap() };
            table.extend_from_slice(&table_entry(
                &coordinate(encoded.x().unwrap()),
                &coordinate(encoded.y().unwrap()),
            ));
            multiple += base;
        }
        base = base.double().double().double().double();
    }
    table
}

#[test]
fn the_shipped_table_is_the_one_p256_computes() {
    let computed = p256_table();
    if std::env::var_os("REGENERATE_P256_TABLE").is_some() {
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/src/base_table.bin"), &computed).unwrap();
    }
    // Attack: a tampered table entry would make every signature a wrong (or leaky) one.
    assert!(
        computed.as_slice() == BASE_TABLE.as_slice(),
        "REGENERATE_P256_TABLE=1 cargo test -p p256-limbs"
    );
}

#[test]
fn base_multiplication_from_the_table_matches_p256() {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    // Attack: a wrong signed digit (a lost carry, a negation kept or dropped) signs with a wrong
    // k·G. Scalars whose digits are all zero but one, each magnitude and sign, digits of 8 (the
    // most negative), long carry chains (…fff + 1), a carry out of the top window, and random.
    let from_hex = |hex: &str| {
        let bytes: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        Scalar::from_repr(*FieldBytes::from_slice(&bytes)).unwrap()
    };
    let mut scalars = vec![
        Scalar::ONE,
        -Scalar::ONE,
        -Scalar::from(2u64),
        Scalar::from(7u64),
        Scalar::from(8u64),
        Scalar::from(9u64),
        Scalar::from(15u64),
        Scalar::from(16u64),
        Scalar::from(0xf0u64),
        Scalar::from(0x8888_8888_8888_8888u64),
        Scalar::from(0x7777_7777_7777_7777u64),
        Scalar::from(u64::MAX),
        from_hex("8000000000000000000000000000000000000000000000000000000000000000"),
        from_hex("f888888888888888888888888888888888888888888888888888888888888888"),
        from_hex("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
    ];
    scalars.extend((0..32).map(|_| Scalar::random(&mut OsRng)));
    for k in scalars {
        let expected = (ProjectivePoint::GENERATOR * k).to_affine().to_encoded_point(false);
        let (x, y) = mul_generator(&k.to_bytes().into()).to_affine_bytes();
        assert_eq!(&x[..], &expected.x().unwrap()[..], "{k:?}");
        assert_eq!(&y[..], &expected.y().unwrap()[..], "{k:?}");
    }
    // Zero is the point at infinity.
    assert_eq!(mul_generator(&[0; 32]).to_affine_bytes(), ([0; 32], [0; 32]));
}

/// A random point of the group, as p256 and as a key here.
fn random_point() -> (ProjectivePoint, PublicKey) {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let point = ProjectivePoint::GENERATOR * Scalar::random(&mut OsRng);
    let encoded = point.to_affine().to_encoded_point(false);
    let key = PublicKey::from_affine_bytes(encoded.x().unwrap().as_ref(), encoded.y().unwrap().as_ref())
        .expect("a point of the group is a key");
    (point, key)
}

fn affine_of(point: &ProjectivePoint) -> ([u8; 32], [u8; 32]) {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let encoded = point.to_affine().to_encoded_point(false);
    match (encoded.x(), encoded.y()) {
        (Some(x), Some(y)) => ((*x).into(), (*y).into()),
        _ => ([0; 32], [0; 32]),
    }
}

#[test]
fn projective_addition_matches_p256_including_doubling_and_infinity() {
    for _ in 0..24 {
        let (p, p_key) = random_point();
        let (q, q_key) = random_point();
        let (p_here, q_here) = (p_key.to_projective(), q_key.to_projective());
        assert_eq!(p_here.add(&q_here).to_affine_bytes(), affine_of(&(p + q)), "P + Q");
        assert_eq!(p_here.add(&p_here).to_affine_bytes(), affine_of(&p.double()), "P + P");
        assert_eq!(
            p_here.add(&Projective::IDENTITY).to_affine_bytes(),
            affine_of(&p),
            "P + O"
        );
        assert_eq!(
            Projective::IDENTITY.add(&q_here).to_affine_bytes(),
            affine_of(&q),
            "O + Q"
        );
        let (x, y) = p_key.to_affine_bytes();
        let negated = PublicKey::from_affine_bytes(&x, &field_bytes(&-field_element(&y))).unwrap();
        assert!(p_here.add(&negated.to_projective()).is_identity(), "P + (−P)");
    }
}

#[test]
fn public_scalar_multiplication_matches_p256() {
    for scalar in scalar_samples().into_iter().chain([Scalar::ZERO]) {
        let (point, key) = random_point();
        let k = from_be_bytes(&scalar.to_bytes().into());
        assert_eq!(
            key.to_projective().mul_public(&k).to_affine_bytes(),
            affine_of(&(point * scalar))
        );
    }
}

#[test]
fn attack_points_off_the_curve_are_no_keys() {
    // Invalid-curve attacks feed a point of another curve; it must be refused as it is read.
    for _ in 0..16 {
        let (_, key) = random_point();
        let (x, y) = key.to_affine_bytes();
        assert_eq!(PublicKey::from_affine_bytes(&x, &y), Some(key));
        let y_plus_one = field_bytes(&(field_element(&y) + FieldElement::ONE));
        assert!(PublicKey::from_affine_bytes(&x, &y_plus_one).is_none(), "y + 1");
        let x_plus_one = field_bytes(&(field_element(&x) + FieldElement::ONE));
        assert!(PublicKey::from_affine_bytes(&x_plus_one, &y).is_none(), "x + 1");
    }
    assert!(PublicKey::from_affine_bytes(&[0; 32], &[0; 32]).is_none(), "(0, 0)");
    // Coordinates at or above p are another encoding of a smaller number: refused.
    let p = to_be_bytes(&P);
    let (_, key) = random_point();
    let (_, y) = key.to_affine_bytes();
    assert!(PublicKey::from_affine_bytes(&p, &y).is_none());
    assert!(PublicKey::from_affine_bytes(&[0xff; 32], &y).is_none());
    // The generator itself is a key, and d·G is the key of d.
    let (gx, gy) = affine_of(&ProjectivePoint::GENERATOR);
    assert!(PublicKey::from_affine_bytes(&gx, &gy).is_some());
    let mut one = [0u8; 32];
    one[31] = 1;
    assert_eq!(PublicKey::from_scalar(&one), PublicKey::from_affine_bytes(&gx, &gy));
}

#[test]
fn valid_scalars_are_one_to_n_minus_one() {
    let n = to_be_bytes(&N);
    let mut n_minus_one = N;
    n_minus_one[0] -= 1;
    assert!(is_valid_scalar(&to_be_bytes(&n_minus_one)));
    assert!(is_valid_scalar(&to_be_bytes(&[1, 0, 0, 0, 0, 0, 0, 0])));
    assert!(
        is_valid_scalar(&to_be_bytes(&[0, 0, 0, 0, 0, 0, 0, 0x8000_0000])),
        "only the top bit"
    );
    assert!(
        is_valid_scalar(&to_be_bytes(&[0, 0, 0, 0, 1, 0, 0, 0])),
        "only a middle limb"
    );
    assert!(!is_valid_scalar(&[0; 32]));
    assert!(!is_valid_scalar(&n));
    assert!(!is_valid_scalar(&[0xff; 32]));
    assert_eq!(order_be_bytes(), n);
}

/// A p256 key, a digest and its signature by that key.
fn signed_sample(digest: [u8; 32]) -> (PublicKey, p256::ecdsa::VerifyingKey, [u8; 64]) {
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    let signing = p256::ecdsa::SigningKey::random(&mut OsRng);
    let signature: p256::ecdsa::Signature = signing.sign_prehash(&digest).unwrap();
    let verifying = *signing.verifying_key();
    let (x, y) = affine_of(&verifying.as_affine().into());
    let key = PublicKey::from_affine_bytes(&x, &y).unwrap();
    (key, verifying, signature.to_bytes().into())
}

fn p256_accepts(key: &p256::ecdsa::VerifyingKey, digest: &[u8; 32], signature: &[u8; 64]) -> bool {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    p256::ecdsa::Signature::from_slice(signature).is_ok_and(|signature| key.verify_prehash(digest, &signature).is_ok())
}

#[test]
fn verification_agrees_with_p256_on_good_and_altered_signatures() {
    let mut digests = vec![[0u8; 32], [0xff; 32], to_be_bytes(&N)];
    digests.extend((0..20).map(|_| random_bytes()));
    for digest in digests {
        let (key, verifying, signature) = signed_sample(digest);
        assert!(verify_prehashed(&key, &digest, &signature), "a good signature");
        assert!(p256_accepts(&verifying, &digest, &signature));
        // s and n − s are both valid ECDSA signatures.
        let s = from_be_bytes(signature[32..].try_into().unwrap());
        let mut high = signature;
        high[32..].copy_from_slice(&to_be_bytes(&ORDER.sub(&[0; 8], &s)));
        assert_eq!(
            verify_prehashed(&key, &digest, &high),
            p256_accepts(&verifying, &digest, &high),
            "n − s"
        );
        for position in [0, 17, 31, 32, 50, 63] {
            let mut altered = signature;
            altered[position] ^= 0x01;
            assert!(
                !verify_prehashed(&key, &digest, &altered),
                "signature bit at {position}"
            );
            assert!(!p256_accepts(&verifying, &digest, &altered));
        }
        let mut other_digest = digest;
        other_digest[5] ^= 0x80;
        assert!(!verify_prehashed(&key, &other_digest, &signature), "another message");
        let (_, other_key) = random_point();
        assert!(!verify_prehashed(&other_key, &digest, &signature), "another key");
    }
}

#[test]
fn attack_r_or_s_out_of_range_is_refused() {
    let digest = random_bytes();
    let (key, _, signature) = signed_sample(digest);
    let n = to_be_bytes(&N);
    let r_plus_n = {
        // r + n, when it fits 256 bits, is the same value mod n: the classic range-check bypass.
        let (sum, carry) = add_with_carry(&from_be_bytes(signature[..32].try_into().unwrap()), &N);
        (carry == 0).then(|| to_be_bytes(&sum))
    };
    let mut cases: Vec<[u8; 64]> = Vec::new();
    for (r, s) in [
        ([0; 32], signature[32..].try_into().unwrap()),
        (signature[..32].try_into().unwrap(), [0; 32]),
        (n, signature[32..].try_into().unwrap()),
        (signature[..32].try_into().unwrap(), n),
        ([0xff; 32], signature[32..].try_into().unwrap()),
    ] {
        let mut case = [0u8; 64];
        case[..32].copy_from_slice(&r);
        case[32..].copy_from_slice(&s);
        cases.push(case);
    }
    if let Some(r_plus_n) = r_plus_n {
        let mut case = signature;
        case[..32].copy_from_slice(&r_plus_n);
        cases.push(case);
    }
    for case in cases {
        assert!(!verify_prehashed(&key, &digest, &case), "{case:02x?}");
    }
}

#[test]
fn attack_a_sum_at_infinity_is_refused() {
    // With Q = k·G, R = (z + r·k)·w·G is the point at infinity when z = −r·k mod n: whatever x
    // such an R would be compared by, it has none, and the signature must not pass.
    let k = Scalar::random(&mut OsRng);
    let k_bytes: [u8; 32] = k.to_bytes().into();
    let key = PublicKey::from_scalar(&k_bytes).unwrap();
    let r = Scalar::random(&mut OsRng);
    let z: [u8; 32] = (-(r * k)).to_bytes().into();
    for s in [Scalar::ONE, Scalar::random(&mut OsRng)] {
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&r.to_bytes());
        signature[32..].copy_from_slice(&s.to_bytes());
        assert!(!verify_prehashed(&key, &z, &signature));
    }
}
