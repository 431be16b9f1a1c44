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
