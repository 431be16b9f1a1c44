//! P-256 arithmetic on eight 32-bit limbs, for the account portal's one signature behind every
//! `__session` token and its JWKS's public point: field and scalar Montgomery arithmetic, the
//! complete mixed addition, and k·G from a table of precomputed multiples ([`mul_generator`]);
//! and the ECDSA verification of passkey and ID-token signatures ([`verify_prehashed`]), so
//! that the `.wasm` carries one P-256 implementation, not two.
//!
//! The table ships in the binary (`base_table.bin`, 32.5 KiB): a component instance lives for
//! one request, so a table built at run time would be built on every request. Signed digits
//! need only eight multiples per window, stored in Montgomery form. A test rebuilds it with
//! p256's own arithmetic and compares (`REGENERATE_P256_TABLE=1 cargo test -p p256-limbs`
//! writes it anew).
//!
//! Its own crate so that it is compiled with `opt-level = 3` while the rest of the `.wasm` is
//! built for size: at `opt-level = "z"` these loops are neither unrolled nor inlined and the
//! signature costs more than p256's.
//!
//! Why not p256's own field: its "32-bit" back end multiplies 64-bit words into 128-bit products,
//! and wasm has no 64×64→128 multiply, so every product is a call to the compiler's `__multi3`.
//! Profiling the signed-in bounce put about 70% of the component's time in that signature.
//! Montgomery multiplication on 32-bit limbs needs only wasm's native 64-bit multiply. The
//! points, the table and the signature format stay p256's; the tests hold every operation here
//! equal to p256's for random and edge inputs (and the portal's tests hold its signatures equal
//! to `ecdsa`'s, bit for bit).
//!
//! # Threat
//! The values are secret (an ECDSA nonce, its inverse, the signing key): a branch or a memory
//! address that depends on one leaks it through timing. Every operation here runs the same
//! instructions whatever the values: carries and borrows become masks, and the choice between
//! a value and the value minus the modulus is made by masking both. Only the exponent of
//! [`Modulus::invert`] (the public `m − 2`) steers branches. Verification handles only public
//! values (a public key, a signature, a digest), so [`verify_prehashed`]'s double-and-add may
//! branch on them; what it must never do is accept a forgery: a point off the curve, r or s
//! outside [1, n − 1], or a sum at infinity is refused before any comparison.

// Limb loops index several arrays in step, as the arithmetic is written on paper.
#![allow(clippy::needless_range_loop)]

/// A number below a modulus, least significant limb first; in Montgomery form (x·2²⁵⁶ mod m)
/// wherever arithmetic is done on it.
pub type Limbs = [u32; 8];

/// A modulus with the constants Montgomery multiplication needs.
pub struct Modulus {
    m: Limbs,
    /// Whether m is P-256's field prime, whose sparse limbs let the reduction add instead of
    /// multiply (a public property of the modulus, so branching on it leaks nothing).
    is_field_prime: bool,
    /// −m⁻¹ mod 2³².
    neg_inverse: u32,
    /// 2⁵¹² mod m, which takes a number into Montgomery form.
    r_squared: Limbs,
    /// m − 2: Fermat's exponent for inverses.
    inverse_exponent: Limbs,
}

/// m − 2. Both moduli's lowest limbs are above 2, so nothing borrows from the next limb (a
/// compile-time check).
const fn minus_two(m: Limbs) -> Limbs {
    assert!(m[0] >= 2);
    let mut exponent = m;
    exponent[0] -= 2;
    exponent
}

/// p = 2²⁵⁶ − 2²²⁴ + 2¹⁹² + 2⁹⁶ − 1, the prime of P-256's coordinates.
const P: Limbs = [0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0, 0, 0, 1, 0xffff_ffff];

/// n, the order of P-256's group.
const N: Limbs = [
    0xfc63_2551,
    0xf3b9_cac2,
    0xa717_9e84,
    0xbce6_faad,
    0xffff_ffff,
    0xffff_ffff,
    0,
    0xffff_ffff,
];

/// The field of P-256's coordinates.
pub const FIELD: Modulus = Modulus {
    m: P,
    is_field_prime: true,
    neg_inverse: 1,
    r_squared: [3, 0, 0xffff_ffff, 0xffff_fffb, 0xffff_fffe, 0xffff_ffff, 0xffff_fffd, 4],
    inverse_exponent: minus_two(P),
};

/// The order of P-256's group: ECDSA's scalars.
pub const ORDER: Modulus = Modulus {
    m: N,
    is_field_prime: false,
    neg_inverse: 0xee00_bc4f,
    r_squared: [
        0xbe79_eea2,
        0x8324_4c95,
        0x49bd_6fa6,
        0x4699_799c,
        0x2b6b_ec59,
        0x2845_b239,
        0xf3d9_5620,
        0x66e1_2d94,
    ],
    inverse_exponent: minus_two(N),
};

/// The curve's b, in Montgomery form.
const B: Limbs = [
    0x29c4_bddf,
    0xd89c_df62,
    0x7884_3090,
    0xacf0_05cd,
    0xf721_2ed6,
    0xe5a2_20ab,
    0x0487_4834,
    0xdc30_061d,
];

/// 1 in the field's Montgomery form (2²⁵⁶ mod p).
const FIELD_ONE: Limbs = [1, 0, 0, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_fffe, 0];

/// One row of Montgomery multiplication: (t, t8) += a·b_i, answering the limb above t8.
#[inline(always)]
fn add_product(t: &mut Limbs, t8: &mut u32, a: &Limbs, b_i: u32) -> u32 {
    let mut carry = 0u64;
    for j in 0..8 {
        let sum = u64::from(t[j]) + u64::from(a[j]) * u64::from(b_i) + carry;
        t[j] = sum as u32;
        carry = sum >> 32;
    }
    let sum = u64::from(*t8) + carry;
    *t8 = sum as u32;
    (sum >> 32) as u32
}

/// a·b·2⁻²⁵⁶ mod p: [`Modulus::mul`] for the field prime, whose reduction step needs no
/// multiplication by p's limbs. With −p⁻¹ ≡ 1 (mod 2³²) the multiple of p to add is q = t₀, and
/// t + q·p = t − q + q·2⁹⁶ + q·2¹⁹² − q·2²²⁴ + q·2²⁵⁶: the low limb cancels, so one limb down
/// that is t's upper limbs plus q at limbs 2 and 5 and q·(2³² − 1) at limbs 6–7. The same
/// value as the generic step, so the same bounds hold.
fn mul_mod_p(a: &Limbs, b: &Limbs) -> Limbs {
    let mut t = [0u32; 8];
    let mut t8 = 0u32;
    for &b_i in b {
        let t9 = add_product(&mut t, &mut t8, a, b_i);
        let q = u64::from(t[0]);
        let q_times_mask = q * 0xffff_ffff;
        let addends = [0, 0, q, 0, 0, q, q_times_mask & 0xffff_ffff, q_times_mask >> 32];
        let mut carry = 0u64;
        for j in 0..7 {
            let sum = u64::from(t[j + 1]) + addends[j] + carry;
            t[j] = sum as u32;
            carry = sum >> 32;
        }
        let sum = u64::from(t8) + addends[7] + carry;
        t[7] = sum as u32;
        t8 = t9 + (sum >> 32) as u32;
    }
    subtract_if_not_below(&t, t8, &P)
}

/// a − b over eight limbs, with the borrow out of the top (0 or 1).
/// a + b as 256 bits and the carry out of them (0 or 1).
fn add_with_carry(a: &Limbs, b: &Limbs) -> (Limbs, u32) {
    let mut sum = [0u32; 8];
    let mut carry = 0u64;
    for i in 0..8 {
        let s = u64::from(a[i]) + u64::from(b[i]) + carry;
        sum[i] = s as u32;
        carry = s >> 32;
    }
    (sum, carry as u32)
}

fn subtract(a: &Limbs, b: &Limbs) -> (Limbs, u64) {
    let mut difference = [0u32; 8];
    let mut borrow = 0u64;
    for i in 0..8 {
        let d = u64::from(a[i]).wrapping_sub(u64::from(b[i])).wrapping_sub(borrow);
        difference[i] = d as u32;
        borrow = d >> 63;
    }
    (difference, borrow)
}

/// `value − m` when that does not go below zero, else `value`; `high` is the value's ninth limb
/// (0 or 1). In constant time.
fn subtract_if_not_below(value: &Limbs, high: u32, m: &Limbs) -> Limbs {
    let (difference, borrow) = subtract(value, m);
    // The whole value went below zero when the borrow out of the ninth limb is set.
    let below = (u64::from(high).wrapping_sub(borrow) >> 63) as u32;
    let keep_value = below.wrapping_neg();
    let mut result = [0u32; 8];
    for i in 0..8 {
        result[i] = (value[i] & keep_value) | (difference[i] & !keep_value);
    }
    result
}

impl Modulus {
    /// a·b·2⁻²⁵⁶ mod m (coarsely integrated operand scanning), for a, b < m.
    pub fn mul(&self, a: &Limbs, b: &Limbs) -> Limbs {
        if self.is_field_prime {
            return mul_mod_p(a, b);
        }
        let mut t = [0u32; 8];
        let mut t8 = 0u32;
        for &b_i in b {
            let t9 = add_product(&mut t, &mut t8, a, b_i);
            // t = (t + q·m) / 2³², where q makes the low limb vanish.
            let q = t[0].wrapping_mul(self.neg_inverse);
            let mut carry = (u64::from(t[0]) + u64::from(q) * u64::from(self.m[0])) >> 32;
            for j in 1..8 {
                let sum = u64::from(t[j]) + u64::from(q) * u64::from(self.m[j]) + carry;
                t[j - 1] = sum as u32;
                carry = sum >> 32;
            }
            let sum = u64::from(t8) + carry;
            t[7] = sum as u32;
            t8 = t9 + (sum >> 32) as u32;
        }
        subtract_if_not_below(&t, t8, &self.m)
    }

    /// a + b mod m, for a, b < m.
    pub fn add(&self, a: &Limbs, b: &Limbs) -> Limbs {
        let (sum, carry) = add_with_carry(a, b);
        subtract_if_not_below(&sum, carry, &self.m)
    }

    /// a − b mod m, for a, b < m.
    pub fn sub(&self, a: &Limbs, b: &Limbs) -> Limbs {
        let (mut difference, borrow) = subtract(a, b);
        // Went below zero: add m back (masked, so the same work either way).
        let add_back = (borrow as u32).wrapping_neg();
        let mut carry = 0u64;
        for i in 0..8 {
            let s = u64::from(difference[i]) + u64::from(self.m[i] & add_back) + carry;
            difference[i] = s as u32;
            carry = s >> 32;
        }
        difference
    }

    /// Into Montgomery form; `a` below m.
    pub fn to_montgomery(&self, a: &Limbs) -> Limbs {
        self.mul(a, &self.r_squared)
    }

    /// Out of Montgomery form.
    pub fn from_montgomery(&self, a: &Limbs) -> Limbs {
        self.mul(a, &[1, 0, 0, 0, 0, 0, 0, 0])
    }

    /// a⁻¹ (Montgomery form in and out) by Fermat, a^(m−2), four exponent bits at a time; 0 for
    /// 0. The exponent is public, so its digits may pick the table entry and the branches.
    pub fn invert(&self, a: &Limbs) -> Limbs {
        let mut powers = [[0u32; 8]; 16];
        powers[1] = *a;
        for i in 2..16 {
            powers[i] = self.mul(&powers[i - 1], a);
        }
        let mut result: Option<Limbs> = None;
        for window in (0..64).rev() {
            let digit = (self.inverse_exponent[window / 8] >> (4 * (window % 8))) & 0xf;
            if let Some(value) = result.as_mut() {
                for _ in 0..4 {
                    *value = self.mul(value, value);
                }
            }
            if digit != 0 {
                let power = &powers[digit as usize];
                result = Some(match result {
                    Some(value) => self.mul(&value, power),
                    None => *power,
                });
            }
        }
        result.unwrap_or([0; 8])
    }

    /// Any 256-bit number mod m, for a modulus above 2²⁵⁵ (both here): one subtraction at most.
    pub fn reduce(&self, a: &Limbs) -> Limbs {
        subtract_if_not_below(a, 0, &self.m)
    }
}

/// Whether a < b (a borrow out of a − b), for any 256-bit numbers.
fn is_below(a: &Limbs, b: &Limbs) -> bool {
    subtract(a, b).1 != 0
}

/// Whether big-endian `bytes` are an ECDSA scalar of P-256: at least 1, below the group order.
/// In constant time, since the bytes are usually a private key: both tests are computed whole
/// (an `OR` of every limb, a full subtraction) and combined without a branch.
pub fn is_valid_scalar(bytes: &[u8; 32]) -> bool {
    let limbs = from_be_bytes(bytes);
    let bits = limbs.iter().fold(0u32, |bits, limb| bits | limb);
    // The top bit of x | −x is set exactly when x is not zero.
    let nonzero = (bits | bits.wrapping_neg()) >> 31;
    let below_order = subtract(&limbs, &N).1 as u32;
    nonzero & below_order == 1
}

/// n, the group order, big-endian (RFC 6979's nonce generation takes it as bytes).
pub fn order_be_bytes() -> [u8; 32] {
    to_be_bytes(&N)
}

/// Big-endian bytes to limbs.
pub fn from_be_bytes(bytes: &[u8; 32]) -> Limbs {
    let mut limbs = [0u32; 8];
    for (i, limb) in limbs.iter_mut().enumerate() {
        let start = 28 - 4 * i;
        *limb = u32::from_be_bytes([bytes[start], bytes[start + 1], bytes[start + 2], bytes[start + 3]]);
    }
    limbs
}

/// Limbs to big-endian bytes.
pub fn to_be_bytes(limbs: &Limbs) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (i, limb) in limbs.iter().enumerate() {
        let start = 28 - 4 * i;
        bytes[start..start + 4].copy_from_slice(&limb.to_be_bytes());
    }
    bytes
}

/// A point in projective coordinates (X:Y:Z), each in the field's Montgomery form.
#[derive(Clone, Copy)]
pub struct Projective {
    x: Limbs,
    y: Limbs,
    z: Limbs,
}

impl Projective {
    /// The point at infinity, (0:1:0).
    pub const IDENTITY: Self = Self {
        x: [0; 8],
        y: FIELD_ONE,
        z: [0; 8],
    };

    /// self + (x, y) for an affine point given in Montgomery form when `add` is all ones, self
    /// unchanged when it is zero, in constant time (a mask, not a `bool`, so that no compiler
    /// turns the choice into a branch). Renes–Costello–Batina 2015, algorithm 5 (complete
    /// mixed addition for a = −3): no exception for self at infinity or self = (x, y).
    pub fn add_affine_masked(&self, x: &Limbs, y: &Limbs, add: u32) -> Self {
        let f = &FIELD;
        let xx = f.mul(&self.x, x);
        let yy = f.mul(&self.y, y);
        let xy_pairs = f.sub(&f.mul(&f.add(&self.x, &self.y), &f.add(x, y)), &f.add(&xx, &yy));
        let yz_pairs = f.add(&f.mul(y, &self.z), &self.y);
        let xz_pairs = f.add(&f.mul(x, &self.z), &self.x);

        let bz_part = f.sub(&xz_pairs, &f.mul(&B, &self.z));
        let bz3_part = f.add(&f.add(&bz_part, &bz_part), &bz_part);
        let yy_m_bzz3 = f.sub(&yy, &bz3_part);
        let yy_p_bzz3 = f.add(&yy, &bz3_part);

        let z3 = f.add(&f.add(&self.z, &self.z), &self.z);
        let bxz_part = f.sub(&f.mul(&B, &xz_pairs), &f.add(&z3, &xx));
        let bxz3_part = f.add(&f.add(&bxz_part, &bxz_part), &bxz_part);
        let xx3_m_zz3 = f.sub(&f.add(&f.add(&xx, &xx), &xx), &z3);

        let sum = Self {
            x: f.sub(&f.mul(&yy_p_bzz3, &xy_pairs), &f.mul(&yz_pairs, &bxz3_part)),
            y: f.add(&f.mul(&yy_p_bzz3, &yy_m_bzz3), &f.mul(&xx3_m_zz3, &bxz3_part)),
            z: f.add(&f.mul(&yy_m_bzz3, &yz_pairs), &f.mul(&xy_pairs, &xx3_m_zz3)),
        };
        let keep_sum = add;
        let pick = |from_sum: &Limbs, from_self: &Limbs| {
            let mut limbs = [0u32; 8];
            for i in 0..8 {
                limbs[i] = (from_sum[i] & keep_sum) | (from_self[i] & !keep_sum);
            }
            limbs
        };
        Self {
            x: pick(&sum.x, &self.x),
            y: pick(&sum.y, &self.y),
            z: pick(&sum.z, &self.z),
        }
    }

    /// self + other, Renes–Costello–Batina 2015, algorithm 4 (complete projective addition for
    /// a = −3): no exception for either point at infinity or for self = other, so it doubles too.
    pub fn add(&self, other: &Self) -> Self {
        let f = &FIELD;
        let xx = f.mul(&self.x, &other.x);
        let yy = f.mul(&self.y, &other.y);
        let zz = f.mul(&self.z, &other.z);
        let pairs = |a1: &Limbs, b1: &Limbs, a2: &Limbs, b2: &Limbs, aa: &Limbs, bb: &Limbs| {
            f.sub(&f.mul(&f.add(a1, b1), &f.add(a2, b2)), &f.add(aa, bb))
        };
        let xy_pairs = pairs(&self.x, &self.y, &other.x, &other.y, &xx, &yy);
        let yz_pairs = pairs(&self.y, &self.z, &other.y, &other.z, &yy, &zz);
        let xz_pairs = pairs(&self.x, &self.z, &other.x, &other.z, &xx, &zz);

        let bzz_part = f.sub(&xz_pairs, &f.mul(&B, &zz));
        let bzz3_part = f.add(&f.add(&bzz_part, &bzz_part), &bzz_part);
        let yy_m_bzz3 = f.sub(&yy, &bzz3_part);
        let yy_p_bzz3 = f.add(&yy, &bzz3_part);

        let zz3 = f.add(&f.add(&zz, &zz), &zz);
        let bxz_part = f.sub(&f.mul(&B, &xz_pairs), &f.add(&zz3, &xx));
        let bxz3_part = f.add(&f.add(&bxz_part, &bxz_part), &bxz_part);
        let xx3_m_zz3 = f.sub(&f.add(&f.add(&xx, &xx), &xx), &zz3);

        Self {
            x: f.sub(&f.mul(&yy_p_bzz3, &xy_pairs), &f.mul(&yz_pairs, &bxz3_part)),
            y: f.add(&f.mul(&yy_p_bzz3, &yy_m_bzz3), &f.mul(&xx3_m_zz3, &bxz3_part)),
            z: f.add(&f.mul(&yy_m_bzz3, &yz_pairs), &f.mul(&xy_pairs, &xx3_m_zz3)),
        }
    }

    /// k·self for a public scalar `k` (least significant limb first, not Montgomery form), by
    /// double-and-add over its bits: variable time, for verification only.
    fn mul_public(&self, k: &Limbs) -> Self {
        let mut product = Self::IDENTITY;
        for bit in (0..256).rev() {
            product = product.add(&product);
            if (k[bit / 32] >> (bit % 32)) & 1 == 1 {
                product = product.add(self);
            }
        }
        product
    }

    /// Whether this is the point at infinity (Z = 0).
    pub fn is_identity(&self) -> bool {
        self.z == [0; 8]
    }

    /// The affine coordinates (x, y), big-endian, out of Montgomery form; (0, 0) for the point
    /// at infinity.
    pub fn to_affine_bytes(&self) -> ([u8; 32], [u8; 32]) {
        let f = &FIELD;
        let z_inverse = f.invert(&self.z);
        let x = f.from_montgomery(&f.mul(&self.x, &z_inverse));
        let y = f.from_montgomery(&f.mul(&self.y, &z_inverse));
        (to_be_bytes(&x), to_be_bytes(&y))
    }
}

/// A P-256 public key: an affine point checked to lie on the curve, in the field's Montgomery
/// form.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PublicKey {
    x: Limbs,
    y: Limbs,
}

impl PublicKey {
    /// The point (x, y), big-endian, if both coordinates are below p and y² = x³ − 3x + b. The
    /// point at infinity has no affine coordinates, so it is never a key.
    pub fn from_affine_bytes(x: &[u8; 32], y: &[u8; 32]) -> Option<Self> {
        let (x, y) = (from_be_bytes(x), from_be_bytes(y));
        if !is_below(&x, &P) || !is_below(&y, &P) {
            return None;
        }
        let f = &FIELD;
        let (x, y) = (f.to_montgomery(&x), f.to_montgomery(&y));
        let y_squared = f.mul(&y, &y);
        let x_cubed = f.mul(&f.mul(&x, &x), &x);
        let three_x = f.add(&f.add(&x, &x), &x);
        let right_side = f.add(&f.sub(&x_cubed, &three_x), &B);
        (y_squared == right_side).then_some(Self { x, y })
    }

    /// The key of the private scalar `d` (big-endian, a valid scalar): d·G.
    pub fn from_scalar(d: &[u8; 32]) -> Option<Self> {
        let (x, y) = mul_generator(d).to_affine_bytes();
        Self::from_affine_bytes(&x, &y)
    }

    /// The affine coordinates (x, y), big-endian.
    pub fn to_affine_bytes(&self) -> ([u8; 32], [u8; 32]) {
        (
            to_be_bytes(&FIELD.from_montgomery(&self.x)),
            to_be_bytes(&FIELD.from_montgomery(&self.y)),
        )
    }

    fn to_projective(self) -> Projective {
        Projective {
            x: self.x,
            y: self.y,
            z: FIELD_ONE,
        }
    }
}

/// Whether `signature` (r ‖ s, big-endian) is `key`'s ECDSA signature of a message whose
/// SHA-256 digest is `digest` (FIPS 186-5 §6.4.2): r and s in [1, n − 1], w = s⁻¹,
/// R = (z·w)·G + (r·w)·Q not at infinity, and x(R) mod n = r. Accepts both s and n − s, as
/// ECDSA does.
pub fn verify_prehashed(key: &PublicKey, digest: &[u8; 32], signature: &[u8; 64]) -> bool {
    let r_bytes: &[u8; 32] = signature[..32].try_into().expect("32 bytes");
    let s_bytes: &[u8; 32] = signature[32..].try_into().expect("32 bytes");
    if !is_valid_scalar(r_bytes) || !is_valid_scalar(s_bytes) {
        return false;
    }
    let n = &ORDER;
    let r = from_be_bytes(r_bytes);
    // A 256-bit digest is below 2n, so one subtraction reduces it.
    let z = n.reduce(&from_be_bytes(digest));
    let w = n.invert(&n.to_montgomery(&from_be_bytes(s_bytes)));
    let u1 = n.from_montgomery(&n.mul(&n.to_montgomery(&z), &w));
    let u2 = n.from_montgomery(&n.mul(&n.to_montgomery(&r), &w));
    let sum = mul_generator(&to_be_bytes(&u1)).add(&key.to_projective().mul_public(&u2));
    if sum.is_identity() {
        return false;
    }
    // x(R) is below p, which is below 2n: one subtraction reduces it too.
    let (x, _) = sum.to_affine_bytes();
    n.reduce(&from_be_bytes(&x)) == r
}

/// Windows of four bits over a 256-bit scalar, in a table of k·G: 64, and one more for the carry
/// out of the top window when the digits are made signed.
const WINDOWS: usize = 65;
/// Entries per window: the digit magnitudes 1 to 8 (digits run from −8 to 7; a negative one
/// uses its magnitude's entry with y negated, 0 is the point at infinity, not stored).
const ENTRIES: usize = 8;
/// An entry: an affine point as its two coordinates, each 32 big-endian bytes in the field's
/// Montgomery form, so that the table walk uses them as they are.
const POINT: usize = 64;
/// The table's size: entry `(w, j)`, which is j·16^w·G, starts at `(w · 8 + j − 1) · 64`.
const TABLE_BYTES: usize = WINDOWS * ENTRIES * POINT;

/// The table of multiples of G that [`mul_generator`] walks.
static BASE_TABLE: &[u8; TABLE_BYTES] = include_bytes!("base_table.bin");

/// k·G for a big-endian scalar `k`, from the shipped table, in constant time ([`mul_base`]).
pub fn mul_generator(k: &[u8; 32]) -> Projective {
    mul_base(BASE_TABLE, k)
}

/// All ones when `a == b`, else zero, without a branch.
fn mask_if_equal(a: u8, b: u8) -> u32 {
    let difference = u32::from(a ^ b);
    // difference − 1 borrows into the top bit only when difference is zero.
    (difference.wrapping_sub(1) >> 31).wrapping_neg()
}

/// k·G for a big-endian scalar `k` and a table of multiples of G laid out as [`TABLE_BYTES`]
/// says: 65 mixed additions. k is read as 65 signed digits from −8 to 7 (a nibble of 8 or more
/// becomes the nibble − 16 and carries one into the next window), so each window needs only
/// eight entries. In constant time: the digits are made with arithmetic, not branches; each
/// window reads all eight entries of its row and keeps one by masking, negates y by masking,
/// and a digit of zero masks the addition off.
fn mul_base(table: &[u8; TABLE_BYTES], k: &[u8; 32]) -> Projective {
    let mut sum = Projective::IDENTITY;
    let mut carry = 0u8;
    for window in 0..WINDOWS {
        let nibble = match window {
            64 => 0,
            _ => {
                let byte = k[31 - window / 2];
                if window % 2 == 0 { byte & 0x0f } else { byte >> 4 }
            }
        };
        // 0 to 16; 8 and above is the negative digit digit − 16, carrying one on.
        let digit = nibble + carry;
        carry = (digit + 8) >> 4;
        let negative = 0u8.wrapping_sub(carry);
        let magnitude = (16u8.wrapping_sub(digit) & negative) | (digit & !negative);
        // The kept entry as sixteen big-endian words: x's, most significant first, then y's.
        let mut chosen = [0u32; POINT / 4];
        for entry in 0..ENTRIES {
            let keep = mask_if_equal(magnitude, entry as u8 + 1);
            let start = (window * ENTRIES + entry) * POINT;
            for (kept, offered) in chosen.iter_mut().zip(table[start..start + POINT].chunks_exact(4)) {
                *kept |= u32::from_be_bytes([offered[0], offered[1], offered[2], offered[3]]) & keep;
            }
        }
        let limbs = |words: &[u32]| -> Limbs { core::array::from_fn(|i| words[7 - i]) };
        let x = limbs(&chosen[..8]);
        let y = limbs(&chosen[8..]);
        let negated_y = FIELD.sub(&[0; 8], &y);
        let negate = u32::from(carry).wrapping_neg();
        let y: Limbs = core::array::from_fn(|i| (negated_y[i] & negate) | (y[i] & !negate));
        sum = sum.add_affine_masked(&x, &y, !mask_if_equal(magnitude, 0));
    }
    sum
}

#[cfg(test)]
mod tests;
