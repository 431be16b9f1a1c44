//! A software WebAuthn authenticator for tests: real P-256 and RSA-2048 keys, real CBOR, real
//! `clientDataJSON`, and knobs to make it misbehave (no user presence or verification, another
//! RP ID, a counter that goes back, synced all-zero counters). Shared by the native tests and the
//! `.wasm` tier (`tests/support`), which includes this file by path.

#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crypto_bigint::modular::runtime_mod::{DynResidue, DynResidueParams};
use crypto_bigint::{Encoding, U4096};
use p256::ecdsa::signature::Signer;
use sha2::{Digest, Sha256};

/// A 2048-bit RSA key made once with `openssl genrsa` for these tests (public exponent 65537).
const RSA_MODULUS_HEX: &str = "e45882addf813fa8b834c9da44bea5e6ec16dbabdb9ed805b91435ab6eba1beb61f5178cf0a004e0675afc64fc8524e9e03021248c46741f004c4d48f448fd24d9bba718e510b713ed1ecd2025227065127ffd9b52f2ff9084dac94298485e80bae9bdb289a057428a0d31e5663ec9132463a409b030952702a250326b8b95c7a7c35d28bc37b4beb8df34f78cb570958e41e73ac0d5077b0cd93477ecc17a389548bd93a555b34e35d0b0d100077b5fafd9f8e2318f2441cc4c9aa63e6c5e07d605b00facc262211792e55a5d01c3b6ee3f403fd1ed52263d3f63a3ae7ebd226989c5939240ff9cd191e54fc8c82b6c7e573d095ecbd2185cd274d402fd8abd";
const RSA_PRIVATE_EXPONENT_HEX: &str = "180cc472b8ac1dbed0ebea689d3df12e41a664ab949d85c61088b2e063f0a11928ff8de3efc202d179c148fcffe5ac0e1fe921cc7e23bb7e3a634eee84a01d5d60bb556d974eabe1a2e3501a771ec9f4b33e9cc0dbbb313490f19429f9ed015b1094a6c0a3a32a1d9d79a74c307923676b393d6131d7e415b03ed530824838d594027b07b0d8cec9ab5c19b8aca070dd0ffdb3ffd8038bf24bcd2af65e3ad04d963967b0475a7b8ec376fc9656ccc429cf1c6feb5f040d6bc15265185145f790b84017a90da534fb17d0bef8db6736785bd53648ab57695fb387f0f13a83a508187140b1171b0b1a574ae75e4cc25272f999bea2cc39ba230be10f342a2b5817";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Minimal CBOR writing (definite lengths), enough for COSE keys and attestation objects.
pub mod cbor_out {
    fn header(major: u8, n: u64, out: &mut Vec<u8>) {
        let major = major << 5;
        match n {
            0..=23 => out.push(major | n as u8),
            24..=0xff => out.extend([major | 24, n as u8]),
            0x100..=0xffff => {
                out.push(major | 25);
                out.extend((n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(major | 26);
                out.extend((n as u32).to_be_bytes());
            }
            _ => {
                out.push(major | 27);
                out.extend(n.to_be_bytes());
            }
        }
    }
    pub fn int(n: i64, out: &mut Vec<u8>) {
        if n >= 0 {
            header(0, n as u64, out);
        } else {
            header(1, (-1 - n) as u64, out);
        }
    }
    pub fn bytes(bytes: &[u8], out: &mut Vec<u8>) {
        header(2, bytes.len() as u64, out);
        out.extend_from_slice(bytes);
    }
    pub fn text(text: &str, out: &mut Vec<u8>) {
        header(3, text.len() as u64, out);
        out.extend_from_slice(text.as_bytes());
    }
    pub fn map(entries: usize, out: &mut Vec<u8>) {
        header(5, entries as u64, out);
    }
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Clone)]
pub enum Key {
    P256(p256::ecdsa::SigningKey),
    Rsa2048,
}

/// One credential on a software authenticator.
#[derive(Clone)]
pub struct SoftAuthenticator {
    pub key: Key,
    pub credential_id: Vec<u8>,
    pub sign_count: u32,
    /// Sets the UP flag.
    pub user_present: bool,
    /// Sets the UV flag.
    pub user_verified: bool,
    /// A synced passkey: BE and BS set, the counter always zero.
    pub synced: bool,
    /// Overrides the `alg` written into the COSE key (algorithm confusion).
    pub cose_alg: Option<i64>,
    /// The user handle the authenticator was given at registration.
    pub user_handle: Vec<u8>,
}

impl SoftAuthenticator {
    /// A device-bound P-256 passkey with user verification; `seed` makes its key and id.
    pub fn p256(seed: u8) -> Self {
        let mut scalar = [seed.max(1); 32];
        scalar[0] = 0x01;
        Self::with_key(Key::P256(p256::ecdsa::SigningKey::from_slice(&scalar).unwrap()), seed)
    }

    pub fn rsa(seed: u8) -> Self {
        Self::with_key(Key::Rsa2048, seed)
    }

    fn with_key(key: Key, seed: u8) -> Self {
        Self {
            key,
            credential_id: Sha256::digest([seed, 0x42]).to_vec(),
            sign_count: 0,
            user_present: true,
            user_verified: true,
            synced: false,
            cose_alg: None,
            user_handle: Vec::new(),
        }
    }

    /// The public key as COSE.
    pub fn cose_key(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match &self.key {
            Key::P256(signing) => {
                let point = signing.verifying_key().to_encoded_point(false);
                cbor_out::map(5, &mut out);
                cbor_out::int(1, &mut out);
                cbor_out::int(2, &mut out);
                cbor_out::int(3, &mut out);
                cbor_out::int(self.cose_alg.unwrap_or(-7), &mut out);
                cbor_out::int(-1, &mut out);
                cbor_out::int(1, &mut out);
                cbor_out::int(-2, &mut out);
                cbor_out::bytes(point.x().unwrap(), &mut out);
                cbor_out::int(-3, &mut out);
                cbor_out::bytes(point.y().unwrap(), &mut out);
            }
            Key::Rsa2048 => {
                cbor_out::map(4, &mut out);
                cbor_out::int(1, &mut out);
                cbor_out::int(3, &mut out);
                cbor_out::int(3, &mut out);
                cbor_out::int(self.cose_alg.unwrap_or(-257), &mut out);
                cbor_out::int(-1, &mut out);
                cbor_out::bytes(&hex(RSA_MODULUS_HEX), &mut out);
                cbor_out::int(-2, &mut out);
                cbor_out::bytes(&[1, 0, 1], &mut out);
            }
        }
        out
    }

    fn flags(&self, attested: bool) -> u8 {
        let mut flags = 0;
        if self.user_present {
            flags |= 0x01;
        }
        if self.user_verified {
            flags |= 0x04;
        }
        if self.synced {
            flags |= 0x08 | 0x10;
        }
        if attested {
            flags |= 0x40;
        }
        flags
    }

    fn next_count(&mut self) -> u32 {
        if !self.synced {
            self.sign_count += 1;
        }
        if self.synced { 0 } else { self.sign_count }
    }

    pub fn client_data(kind: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
        format!(
            r#"{{"type":"{kind}","challenge":"{}","origin":"{origin}","crossOrigin":false}}"#,
            b64(challenge)
        )
        .into_bytes()
    }

    /// `navigator.credentials.create`: (clientDataJSON, attestationObject), format "none".
    pub fn register(&mut self, rp_id: &str, origin: &str, challenge: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let client_data = Self::client_data("webauthn.create", challenge, origin);
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags(true));
        auth_data.extend(self.next_count().to_be_bytes());
        auth_data.extend([0u8; 16]);
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(self.cose_key());
        let mut object = Vec::new();
        cbor_out::map(3, &mut object);
        cbor_out::text("fmt", &mut object);
        cbor_out::text("none", &mut object);
        cbor_out::text("attStmt", &mut object);
        cbor_out::map(0, &mut object);
        cbor_out::text("authData", &mut object);
        cbor_out::bytes(&auth_data, &mut object);
        (client_data, object)
    }

    /// `navigator.credentials.get`: (clientDataJSON, authenticatorData, signature).
    pub fn assert(&mut self, rp_id: &str, origin: &str, challenge: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let client_data = Self::client_data("webauthn.get", challenge, origin);
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags(false));
        auth_data.extend(self.next_count().to_be_bytes());
        let signature = self.sign(&auth_data, &client_data);
        (client_data, auth_data, signature)
    }

    /// The signature over `authenticatorData ‖ SHA-256(clientDataJSON)`.
    pub fn sign(&self, auth_data: &[u8], client_data: &[u8]) -> Vec<u8> {
        let mut message = auth_data.to_vec();
        message.extend(Sha256::digest(client_data));
        match &self.key {
            Key::P256(signing) => {
                let signature: p256::ecdsa::Signature = signing.sign(&message);
                signature.to_der().as_bytes().to_vec()
            }
            Key::Rsa2048 => rsa_sign(&message),
        }
    }
}

/// The test RSA key's public modulus and exponent (big-endian).
pub fn rsa_public() -> (Vec<u8>, Vec<u8>) {
    (hex(RSA_MODULUS_HEX), vec![1, 0, 1])
}

/// RSASSA-PKCS1-v1_5 with SHA-256, textbook (`m^d mod n`): fine for a test key.
pub fn rsa_sign(message: &[u8]) -> Vec<u8> {
    let modulus = hex(RSA_MODULUS_HEX);
    let k = modulus.len();
    let prefix = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
        0x20,
    ];
    let mut encoded = vec![0xffu8; k];
    encoded[0] = 0;
    encoded[1] = 1;
    encoded[k - 52] = 0;
    encoded[k - 51..k - 32].copy_from_slice(&prefix);
    encoded[k - 32..].copy_from_slice(&Sha256::digest(message));
    let pad = |bytes: &[u8]| {
        let mut buffer = [0u8; 512];
        buffer[512 - bytes.len()..].copy_from_slice(bytes);
        U4096::from_be_slice(&buffer)
    };
    let params = DynResidueParams::new(&pad(&modulus));
    let signature = DynResidue::new(&pad(&encoded), params)
        .pow(&pad(&hex(RSA_PRIVATE_EXPONENT_HEX)))
        .retrieve();
    signature.to_be_bytes()[512 - k..].to_vec()
}
