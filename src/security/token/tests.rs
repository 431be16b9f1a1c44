use super::*;

const ISSUER: &str = "https://accounts.myapp.com";

fn claims(now: i64) -> Claims {
    Claims {
        iss: ISSUER.into(),
        aud: "myapp.com".into(),
        sub: "user_1".into(),
        sid: "sess_1".into(),
        iat: now,
        nbf: now,
        exp: now + 600,
        jti: "jti_1".into(),
        org_id: None,
        org_slug: None,
        org_role: None,
        amr: vec!["pwd".into()],
        fva: [0, -1],
        public_metadata: None,
    }
}

fn signing_keys() -> SigningKeys {
    SigningKeys::new(&Scalar::generate(), &[])
}

fn mac_keys() -> MacKeys {
    MacKeys::new(random_bytes(), Vec::new())
}

fn tamper_part(token: &str, index: usize, replacement: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[index] = replacement.to_owned();
    parts.join(".")
}

#[test]
fn signs_and_verifies_with_kid_and_claims() {
    let keys = signing_keys();
    let token = keys.sign(&claims(1000));
    let verified = keys.verify(&token, ISSUER, 1001).unwrap();
    assert_eq!(verified, claims(1000));
    let header: serde_json::Value =
        serde_json::from_slice(&from_base64url(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], keys.kid());
}

#[test]
fn org_claims_are_present_only_when_set() {
    let keys = signing_keys();
    let plain = keys.sign(&claims(1000));
    let payload = String::from_utf8(from_base64url(plain.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert!(!payload.contains("org_id"));
    let mut with_org = claims(1000);
    with_org.org_id = Some("org_1".into());
    with_org.org_slug = Some("acme".into());
    with_org.org_role = Some("admin".into());
    let token = keys.sign(&with_org);
    assert_eq!(keys.verify(&token, ISSUER, 1000).unwrap(), with_org);
}

#[test]
fn rejects_tampered_payload() {
    let keys = signing_keys();
    let token = keys.sign(&claims(1000));
    let mut evil = claims(1000);
    evil.sub = "user_admin".into();
    let evil_payload = base64url(&serde_json::to_vec(&evil).unwrap());
    let tampered = tamper_part(&token, 1, &evil_payload);
    assert_eq!(keys.verify(&tampered, ISSUER, 1000), Err(TokenError::BadSignature));
}

#[test]
fn rejects_expired_and_not_yet_valid() {
    let keys = signing_keys();
    let token = keys.sign(&claims(1000));
    assert_eq!(keys.verify(&token, ISSUER, 1600), Err(TokenError::Expired));
    assert_eq!(keys.verify(&token, ISSUER, 999), Err(TokenError::NotYetValid));
}

#[test]
fn rejects_a_token_signed_by_another_key() {
    let keys = signing_keys();
    let other = signing_keys();
    let token = other.sign(&claims(1000));
    assert_eq!(keys.verify(&token, ISSUER, 1000), Err(TokenError::UnknownKey));
    // Same kid, other key: the signature check catches it.
    let forged = tamper_part(
        &token,
        0,
        &base64url(format!(r#"{{"alg":"ES256","kid":"{}"}}"#, keys.kid()).as_bytes()),
    );
    assert_eq!(keys.verify(&forged, ISSUER, 1000), Err(TokenError::BadSignature));
}

#[test]
fn rejects_alg_none_and_hmac_confusion() {
    let keys = signing_keys();
    let token = keys.sign(&claims(1000));
    let payload = token.split('.').nth(1).unwrap();
    for alg in ["none", "None", "HS256", "ES384", "RS256", "es256"] {
        let header = base64url(format!(r#"{{"alg":"{alg}","kid":"{}"}}"#, keys.kid()).as_bytes());
        assert_eq!(
            keys.verify(&format!("{header}.{payload}."), ISSUER, 1000),
            Err(TokenError::UnsupportedAlgorithm),
            "{alg}"
        );
        assert_eq!(
            keys.verify(&format!("{header}.{payload}.c2ln"), ISSUER, 1000),
            Err(TokenError::UnsupportedAlgorithm),
            "{alg}"
        );
    }
}

#[test]
fn rejects_wrong_issuer_and_malformed_tokens() {
    let keys = signing_keys();
    let token = keys.sign(&claims(1000));
    assert_eq!(
        keys.verify(&token, "https://evil.com", 1000),
        Err(TokenError::WrongIssuer)
    );
    for bad in ["", "a", "a.b", "a.b.c.d", "!!.!!.!!", &format!("{token}.x")] {
        assert!(keys.verify(bad, ISSUER, 1000).is_err(), "{bad}");
    }
}

#[test]
fn jwk_is_an_rfc7517_ec_key_with_the_kid_tokens_carry() {
    let keys = signing_keys();
    let jwks: serde_json::Value = serde_json::from_str(&keys.jwks()).unwrap();
    let jwk = &jwks["keys"][0];
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    assert_eq!(jwk["alg"], "ES256");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(from_base64url(jwk["x"].as_str().unwrap()).unwrap().len(), 32);
    assert_eq!(from_base64url(jwk["y"].as_str().unwrap()).unwrap().len(), 32);
    assert_eq!(jwk["kid"], keys.kid());
    assert!(jwk.get("d").is_none(), "the private key must not be published");
    let token = keys.sign(&claims(1000));
    let header: serde_json::Value =
        serde_json::from_slice(&from_base64url(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["kid"], jwk["kid"]);
}

#[test]
fn a_signer_signs_like_the_published_key_without_computing_it() {
    let scalar = Scalar::generate();
    let token = Signer::new(&scalar).sign(&claims(1000));
    let published = SigningKeys::new(&scalar, &[]);
    assert_eq!(published.verify(&token, ISSUER, 1000).unwrap(), claims(1000));
    let again = Signer::new(&scalar).sign(&claims(1000));
    assert_eq!(
        token, again,
        "RFC 6979: the same key and claims give the same signature"
    );
}

#[test]
fn keys_round_trip_through_their_stored_scalar() {
    let scalar = Scalar::generate();
    let keys = SigningKeys::new(&scalar, &[]);
    let again = SigningKeys::new(&Scalar::from_bytes(&scalar.to_bytes()).unwrap(), &[]);
    assert_eq!(keys.kid(), again.kid());
    let token = keys.sign(&claims(1000));
    assert!(again.verify(&token, ISSUER, 1000).is_ok());
    assert!(Scalar::from_bytes(&[0; 32]).is_err(), "zero is no private key");
    assert!(Scalar::from_bytes(&[0xff; 32]).is_err(), "above the group order");
}

#[test]
fn secret_key_is_read_from_pkcs8_pem_or_base64() {
    // A PKCS#8 P-256 key generated with openssl for this test only.
    let pem = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6KrTxEWm//6dJpOY\nn6QpfogooY4+kCUbRILILxjAvKKhRANCAAQtSehFsg89zo5nW9WlAh5MgiEFLEQX\nYYKg57XxN/BAzN4QG4UC73AEtlPIoiYBRfKZJijVHLnsrKBsym0cZ3+6\n-----END PRIVATE KEY-----\n";
    let from_pem = Scalar::from_pkcs8(pem).unwrap();
    let escaped = pem.replace('\n', "\\n");
    assert_eq!(Scalar::from_pkcs8(&escaped).unwrap(), from_pem);
    let one_line: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(Scalar::from_pkcs8(&one_line).unwrap(), from_pem);
    assert!(Scalar::from_pkcs8("not a key").is_err());
    assert!(Scalar::from_pkcs8("aGVsbG8=").is_err());
}

#[test]
fn debug_never_prints_a_private_key() {
    let scalar = Scalar::generate();
    let printed = format!("{:?} {scalar:?} {:?}", SigningKeys::new(&scalar, &[]), mac_keys());
    assert!(printed.contains("***"));
    assert!(!printed.contains(&base64url(&scalar.to_bytes())));
}

#[test]
fn sealed_values_open_only_for_their_purpose_and_unaltered() {
    let keys = mac_keys();
    let sealed = keys.seal("redirect", "https://myapp.com/x");
    assert_eq!(keys.unseal("redirect", &sealed).as_deref(), Some("https://myapp.com/x"));
    assert_eq!(keys.unseal("csrf", &sealed), None);
    let (payload, tag) = sealed.split_once('.').unwrap();
    let other_payload = base64url(b"https://evil.com");
    assert_eq!(keys.unseal("redirect", &format!("{other_payload}.{tag}")), None);
    assert_eq!(keys.unseal("redirect", payload), None);
    assert_eq!(mac_keys().unseal("redirect", &sealed), None);
}

#[test]
fn a_rotation_keeps_old_tokens_and_seals_verifying() {
    let old = Scalar::generate();
    let before = SigningKeys::new(&old, &[]);
    let token = before.sign(&claims(1000));
    let after = SigningKeys::new(&Scalar::generate(), std::slice::from_ref(&old));
    let jwks: serde_json::Value = serde_json::from_str(&after.jwks()).unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids,
        [after.kid(), before.kid()],
        "the new key signs, the old one stays published"
    );
    assert!(after.verify(&after.sign(&claims(1000)), ISSUER, 1000).is_ok());
    assert_ne!(token.split('.').next(), after.sign(&claims(1000)).split('.').next());

    let old_mac: [u8; 32] = random_bytes();
    let sealed = MacKeys::new(old_mac, Vec::new()).seal("redirect", "/x");
    let rotated = MacKeys::new(random_bytes(), vec![old_mac]);
    assert_eq!(rotated.unseal("redirect", &sealed).as_deref(), Some("/x"));
    assert!(rotated.seal("redirect", "/x") != sealed, "new seals use the new key");
}

#[test]
fn a_secret_always_derives_the_same_signing_key() {
    let secret = Secret::parse("q3Vn1a1m2Z7xkq0aY9Yq8lqkq0p2wq9oVv3t8QGxv2M=").unwrap();
    assert_eq!(Scalar::derive(&secret), Scalar::derive(&secret));
    assert_ne!(Scalar::derive(&secret).to_bytes(), secret.derive("hmac"));
}

#[test]
fn the_table_signature_is_the_one_ecdsa_computes_bit_for_bit() {
    use ecdsa::hazmat::SignPrimitive;
    // Attack surface: a home-made ECDSA that drifts from RFC 6979 (a nonce computed otherwise
    // could repeat across messages and give the key away); it must equal the library's output.
    for round in 0..64u8 {
        let scalar = Scalar::generate();
        let key: p256::NonZeroScalar = Option::from(p256::NonZeroScalar::from_repr(scalar.0.into())).unwrap();
        let digest = sha256(&[round; 40]);
        let z = ecdsa::hazmat::bits2field::<p256::NistP256>(&digest).unwrap();
        let (expected, _) =
            SignPrimitive::<p256::NistP256>::try_sign_prehashed_rfc6979::<Sha256>(&*key, &z, &[]).unwrap();
        assert_eq!(sign_digest(&scalar, &digest), expected.to_bytes().as_slice());
        let published = p256::ecdsa::SigningKey::from_slice(&scalar.0).unwrap();
        let point = published.verifying_key().to_encoded_point(false);
        let keys = SigningKeys::new(&scalar, &[]);
        let (x, y) = keys.published[0].1.to_affine_bytes();
        assert_eq!(
            (&x[..], &y[..]),
            (&point.x().unwrap()[..], &point.y().unwrap()[..]),
            "the JWKS key is d·G"
        );
        // And p256 verifies what the portal signed.
        let signature = p256::ecdsa::Signature::from_slice(&sign_digest(&scalar, &digest)).unwrap();
        assert!(
            p256::ecdsa::signature::hazmat::PrehashVerifier::verify_prehash(
                published.verifying_key(),
                &digest,
                &signature
            )
            .is_ok()
        );
    }
}
