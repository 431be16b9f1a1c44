//! k·G on P-256 from a table computed ahead of time, for the signature on every `__session`
//! token and the JWKS's public key: 65 mixed additions instead of p256's 256 doublings and 64
//! additions. A component instance lives for one request, so a table built at run time would be
//! built on every request; this one ships in the binary (`p256_base_table.bin`, 32.5 KiB: signed
//! digits need only eight multiples per window, stored in Montgomery form), and a test rebuilds
//! it with p256's own arithmetic and compares.
//!
//! # Threat
//! The scalar is secret (an ECDSA nonce, whose leak gives away the signing key, or the key
//! itself): no branch and no memory address may depend on it. Its signed digits are made with
//! arithmetic; each of the 65 windows reads all eight entries of its row and keeps one by
//! masking (a digit of zero keeps none), negates y by masking, and adds the kept entry with the
//! complete mixed addition of `p256_limbs`, which keeps the sum unchanged for a zero digit by
//! masking too. The entries are public points; only which one is kept, and its sign, is secret.

use p256::Scalar;
use p256_limbs::{Projective, TABLE_BYTES, mul_base};

/// Entry `(w, j)` is j·16^w·G (j from 1 to 8), at `(w · 8 + j − 1) · 64`.
static TABLE: &[u8; TABLE_BYTES] = include_bytes!("p256_base_table.bin");

/// k·G, in constant time (see [`p256_limbs::mul_base`]).
pub fn mul_generator(k: &Scalar) -> Projective {
    mul_base(TABLE, &k.to_bytes().into())
}

#[cfg(test)]
mod tests {
    use p256::elliptic_curve::Field;
    use p256::elliptic_curve::point::Double;
    use p256::elliptic_curve::sec1::ToEncodedPoint;

    use p256::ProjectivePoint;

    use p256_limbs::{ENTRIES, WINDOWS, table_entry};

    use super::*;

    /// The table, computed with p256's own arithmetic.
    fn computed_table() -> Vec<u8> {
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
            // 16·base: the next window's unit.
            base = base.double().double().double().double();
        }
        table
    }

    #[test]
    fn the_shipped_table_is_the_one_p256_computes() {
        let computed = computed_table();
        if std::env::var_os("REGENERATE_P256_TABLE").is_some() {
            std::fs::write(
                concat!(env!("CARGO_MANIFEST_DIR"), "/src/security/p256_base_table.bin"),
                &computed,
            )
            .unwrap();
        }
        // Attack: a tampered table entry would make every signature a wrong (or leaky) one.
        assert!(
            computed.as_slice() == TABLE.as_slice(),
            "REGENERATE_P256_TABLE=1 cargo test fixed_base"
        );
    }

    #[test]
    fn matches_p256_for_random_and_edge_scalars() {
        let mut scalars = vec![
            Scalar::ZERO,
            Scalar::ONE,
            -Scalar::ONE,
            Scalar::from(16u64),
            -Scalar::from(2u64),
        ];
        scalars.extend((0..32).map(|_| Scalar::random(&mut p256::elliptic_curve::rand_core::OsRng)));
        for k in scalars {
            let expected = (ProjectivePoint::GENERATOR * k).to_affine().to_encoded_point(false);
            let (x, y) = mul_generator(&k).to_affine_bytes();
            if k == Scalar::ZERO {
                assert_eq!((x, y), ([0; 32], [0; 32]), "0·G is the point at infinity");
            } else {
                assert_eq!(
                    (&x[..], &y[..]),
                    (&expected.x().unwrap()[..], &expected.y().unwrap()[..])
                );
            }
        }
    }
}
