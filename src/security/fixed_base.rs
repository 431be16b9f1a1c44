//! k·G on P-256 for the signature on every `__session` token and the JWKS's public key: 65
//! mixed additions from the table `p256_limbs` ships, instead of p256's 256 doublings and 64
//! additions.
//!
//! # Threat
//! The scalar is secret (an ECDSA nonce, whose leak gives away the signing key, or the key
//! itself): no branch and no memory address may depend on it. Its signed digits are made with
//! arithmetic; each of the 65 windows reads all eight entries of its row and keeps one by
//! masking (a digit of zero keeps none), negates y by masking, and adds the kept entry with the
//! complete mixed addition of `p256_limbs`, which keeps the sum unchanged for a zero digit by
//! masking too. The entries are public points; only which one is kept, and its sign, is secret.
//! `p256_limbs`' tests hold the table equal to p256's multiples of G.

use p256_limbs::Projective;

/// k·G for a big-endian scalar, in constant time (see [`p256_limbs::mul_generator`]).
pub fn mul_generator(k: &[u8; 32]) -> Projective {
    p256_limbs::mul_generator(k)
}

#[cfg(test)]
mod tests {
    use p256::elliptic_curve::Field;
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use p256::{ProjectivePoint, Scalar};

    use super::*;

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
            let (x, y) = mul_generator(&k.to_bytes().into()).to_affine_bytes();
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
