//! k·G on P-256 from a table computed ahead of time, for the signature on every `__session`
//! token and the JWKS's public key: 64 mixed additions instead of p256's 256 doublings and 64
//! additions. A component instance lives for one request, so a table built at run time would be
//! built on every request; this one ships in the binary (`p256_base_table.bin`, 60 KiB), and a
//! test rebuilds it with p256's own arithmetic and compares.
//!
//! # Threat
//! The scalar is secret (an ECDSA nonce, whose leak gives away the signing key, or the key
//! itself): no branch and no memory address may depend on it. Each of the 64 windows reads all
//! 15 entries of its row and keeps one by constant-time selection (`subtle`), decodes it (a
//! digit of zero decodes the all-zero entry, whose failure `CtOption` turns into the identity
//! without a branch), and adds it with p256's complete mixed addition, which has no special case
//! for the identity. The entries are public points; only which one is kept is secret.

use p256::elliptic_curve::sec1::{EncodedPoint, FromEncodedPoint};
use p256::{AffinePoint, FieldBytes, NistP256, ProjectivePoint, Scalar};
use subtle::{ConditionallySelectable, ConstantTimeEq};

/// Windows of four bits over a 256-bit scalar.
const WINDOWS: usize = 64;
/// Entries per window: the digits 1 to 15 (0 is the identity, not stored).
const ENTRIES: usize = 15;
/// An affine point as its two 32-byte big-endian coordinates.
const POINT: usize = 64;

/// Entry `(w, j)` is j·16^w·G, at `(w · 15 + j − 1) · 64`.
static TABLE: &[u8; WINDOWS * ENTRIES * POINT] = include_bytes!("p256_base_table.bin");

/// k·G, in constant time.
pub fn mul_generator(k: &Scalar) -> ProjectivePoint {
    let bytes = k.to_bytes();
    let mut sum = ProjectivePoint::IDENTITY;
    for window in 0..WINDOWS {
        let byte = bytes[31 - window / 2];
        let digit = if window % 2 == 0 { byte & 0x0f } else { byte >> 4 };
        let mut chosen = [0u8; POINT];
        for entry in 0..ENTRIES {
            let take = digit.ct_eq(&(entry as u8 + 1));
            let start = (window * ENTRIES + entry) * POINT;
            for (kept, offered) in chosen.iter_mut().zip(&TABLE[start..start + POINT]) {
                kept.conditional_assign(offered, take);
            }
        }
        sum += decode(&chosen);
    }
    sum
}

/// An entry as a point; the all-zero entry (digit 0) is the identity.
fn decode(entry: &[u8; POINT]) -> AffinePoint {
    let (x, y) = entry.split_at(32);
    let encoded =
        EncodedPoint::<NistP256>::from_affine_coordinates(FieldBytes::from_slice(x), FieldBytes::from_slice(y), false);
    AffinePoint::from_encoded_point(&encoded).unwrap_or(AffinePoint::IDENTITY)
}

#[cfg(test)]
mod tests {
    use p256::elliptic_curve::Field;
    use p256::elliptic_curve::sec1::ToEncodedPoint;

    use super::*;

    /// The table, computed with p256's own arithmetic.
    fn computed_table() -> Vec<u8> {
        let mut table = Vec::with_capacity(WINDOWS * ENTRIES * POINT);
        let mut base = ProjectivePoint::GENERATOR;
        for _ in 0..WINDOWS {
            let mut multiple = base;
            for _ in 0..ENTRIES {
                let encoded = multiple.to_affine().to_encoded_point(false);
                table.extend_from_slice(&encoded.as_bytes()[1..]);
                multiple += base;
            }
            // 16·base: the next window's unit.
            base = multiple;
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
            assert_eq!(
                mul_generator(&k).to_affine(),
                (ProjectivePoint::GENERATOR * k).to_affine()
            );
        }
    }
}
