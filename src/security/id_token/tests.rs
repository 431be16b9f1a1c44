//! ID token verification, each refusal named after the attack it stops. Tokens are signed here
//! with real keys: P-256 (`p256`) and the tests' RSA-2048 key.

use super::*;
use crate::testing::authenticator::{b64, rsa_public, rsa_sign};
use p256::ecdsa::signature::Signer;
use serde_json::json;

const ISSUER: &str = "https://idp.example.com";
const CLIENT: &str = "portal-client";
const NONCE: &str = "n-0S6_WzA2Mj";
const NOW: i64 = 1_800_000_000;

fn ec_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap()
}

fn jwks() -> Jwks {
    let point = ec_key().verifying_key().to_encoded_point(false);
    let (n, e) = rsa_public();
    let document = json!({ "keys": [
        { "kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig", "n": b64(&n), "e": b64(&e) },
        { "kty": "EC", "kid": "ec-1", "crv": "P-256", "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()) },
    ]});
    Jwks::parse(document.to_string().as_bytes()).unwrap()
}

fn claims() -> Value {
    json!({ "iss": ISSUER, "aud": CLIENT, "sub": "248289761001", "nonce": NONCE,
            "iat": NOW - 5, "exp": NOW + 300, "email": "ada@example.com", "email_verified": true })
}

fn sign(alg: &str, kid: &str, claims: &Value) -> String {
    let header = json!({ "alg": alg, "kid": kid, "typ": "JWT" });
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = match alg {
        "RS256" => rsa_sign(input.as_bytes()),
        "ES256" => {
            let signature: p256::ecdsa::Signature = ec_key().sign(input.as_bytes());
            signature.to_bytes().to_vec()
        }
        _ => Vec::new(),
    };
    format!("{input}.{}", b64(&signature))
}

fn expected() -> Expected<'static> {
    Expected {
        issuer: ISSUER,
        client_id: CLIENT,
        nonce: NONCE,
        now: NOW,
        algorithms: &["RS256", "ES256"],
    }
}

#[test]
fn rs256_and_es256_tokens_verify() {
    for (alg, kid) in [("RS256", "rsa-1"), ("ES256", "ec-1")] {
        let claims = verify(&sign(alg, kid, &claims()), &jwks(), &expected()).unwrap();
        assert_eq!(claims["email"], "ada@example.com", "{alg}");
    }
}

#[test]
fn attack_alg_none_is_refused() {
    let token = format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(claims().to_string().as_bytes())
    );
    assert_eq!(verify(&token, &jwks(), &expected()), Err(Refused::Algorithm));
}

#[test]
fn attack_hs256_with_the_public_key_as_secret_is_refused() {
    use hmac::{Hmac, Mac};
    let header = json!({ "alg": "HS256", "kid": "rsa-1" });
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims().to_string().as_bytes())
    );
    let (n, _) = rsa_public();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&n).unwrap();
    mac.update(input.as_bytes());
    let token = format!("{input}.{}", b64(&mac.finalize().into_bytes()));
    assert_eq!(verify(&token, &jwks(), &expected()), Err(Refused::Algorithm));
}

#[test]
fn attack_algorithm_outside_the_providers_allowlist_is_refused() {
    let only_rsa = Expected {
        algorithms: &["RS256"],
        ..expected()
    };
    assert_eq!(
        verify(&sign("ES256", "ec-1", &claims()), &jwks(), &only_rsa),
        Err(Refused::Algorithm)
    );
}

#[test]
fn attack_key_of_the_wrong_type_is_not_used() {
    // An ES256 token naming the RSA key's kid finds no EC key by that id.
    assert_eq!(
        verify(&sign("ES256", "rsa-1", &claims()), &jwks(), &expected()),
        Err(Refused::UnknownKey)
    );
}

#[test]
fn an_unknown_kid_asks_for_the_keys_again() {
    let token = sign("RS256", "rotated-2", &claims());
    assert_eq!(verify(&token, &jwks(), &expected()), Err(Refused::UnknownKey));
    assert!(!has_key(&jwks(), &token));
    assert_eq!(key_id(&token).unwrap().as_deref(), Some("rotated-2"));
}

#[test]
fn attack_claims_changed_after_signing_are_refused() {
    for (alg, kid) in [("RS256", "rsa-1"), ("ES256", "ec-1")] {
        let token = sign(alg, kid, &claims());
        let mut forged_claims = claims();
        forged_claims["email"] = json!("admin@example.com");
        let pieces: Vec<&str> = token.split('.').collect();
        let forged = format!(
            "{}.{}.{}",
            pieces[0],
            b64(forged_claims.to_string().as_bytes()),
            pieces[2]
        );
        assert_eq!(verify(&forged, &jwks(), &expected()), Err(Refused::Signature), "{alg}");
    }
}

#[test]
fn attack_token_of_another_issuer_mix_up_is_refused() {
    let mut other = claims();
    other["iss"] = json!("https://evil.example.net");
    assert_eq!(
        verify(&sign("RS256", "rsa-1", &other), &jwks(), &expected()),
        Err(Refused::Issuer)
    );
}

#[test]
fn attack_token_for_another_client_is_refused() {
    let mut other = claims();
    other["aud"] = json!("another-client");
    assert_eq!(
        verify(&sign("RS256", "rsa-1", &other), &jwks(), &expected()),
        Err(Refused::Audience)
    );
    other["aud"] = json!(["another-client", CLIENT]);
    assert_eq!(
        verify(&sign("RS256", "rsa-1", &other), &jwks(), &expected()),
        Err(Refused::AuthorizedParty),
        "several audiences need azp"
    );
    other["azp"] = json!("another-client");
    assert_eq!(
        verify(&sign("RS256", "rsa-1", &other), &jwks(), &expected()),
        Err(Refused::AuthorizedParty)
    );
    other["azp"] = json!(CLIENT);
    assert!(verify(&sign("RS256", "rsa-1", &other), &jwks(), &expected()).is_ok());
}

#[test]
fn attack_expired_or_future_tokens_are_refused() {
    let mut expired = claims();
    expired["exp"] = json!(NOW - LEEWAY);
    assert_eq!(
        verify(&sign("ES256", "ec-1", &expired), &jwks(), &expected()),
        Err(Refused::Expired)
    );
    let mut future = claims();
    future["iat"] = json!(NOW + LEEWAY + 1);
    assert_eq!(
        verify(&sign("ES256", "ec-1", &future), &jwks(), &expected()),
        Err(Refused::NotYetValid)
    );
    let mut slightly_off = claims();
    slightly_off["iat"] = json!(NOW + 30);
    slightly_off["exp"] = json!(NOW - 30);
    assert!(verify(&sign("ES256", "ec-1", &slightly_off), &jwks(), &expected()).is_ok());
}

#[test]
fn attack_replayed_nonce_is_refused() {
    let token = sign("RS256", "rsa-1", &claims());
    let other_sign_in = Expected {
        nonce: "another-sign-ins-nonce",
        ..expected()
    };
    assert_eq!(verify(&token, &jwks(), &other_sign_in), Err(Refused::Nonce));
    let mut without = claims();
    without.as_object_mut().unwrap().remove("nonce");
    assert_eq!(
        verify(&sign("RS256", "rsa-1", &without), &jwks(), &expected()),
        Err(Refused::Nonce)
    );
}

#[test]
fn microsofts_multi_tenant_issuer_takes_the_tokens_tenant() {
    let tid = "9188040d-6c67-4c5b-b112-36a304b66dad";
    let mut token_claims = claims();
    token_claims["iss"] = json!(format!("https://login.microsoftonline.com/{tid}/v2.0"));
    token_claims["tid"] = json!(tid);
    let common = Expected {
        issuer: "https://login.microsoftonline.com/{tenantid}/v2.0",
        ..expected()
    };
    assert!(verify(&sign("RS256", "rsa-1", &token_claims), &jwks(), &common).is_ok());
    token_claims["tid"] = json!("../evil");
    assert_eq!(
        verify(&sign("RS256", "rsa-1", &token_claims), &jwks(), &common),
        Err(Refused::Issuer)
    );
}

#[test]
fn attack_malformed_tokens_of_every_length_are_errors() {
    let token = sign("ES256", "ec-1", &claims());
    for cut in 0..token.len() {
        assert!(verify(&token[..cut], &jwks(), &expected()).is_err());
    }
    for garbage in ["", ".", "..", "...", "a.b.c", "e30.e30.", "e30.e30.e30.e30"] {
        assert!(verify(garbage, &jwks(), &expected()).is_err());
    }
}

/// Signs `payload` exactly as written (the JSON text, not a value re-serialized).
fn sign_text(payload: &str) -> String {
    let header = json!({ "alg": "ES256", "kid": "ec-1", "typ": "JWT" });
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(payload.as_bytes()));
    let signature: p256::ecdsa::Signature = ec_key().sign(input.as_bytes());
    format!("{input}.{}", b64(&signature.to_bytes()))
}

#[test]
fn attack_a_claim_named_twice_is_refused() {
    // The provider signed what its parser read; another parser may read the other `aud`.
    let claims = claims().to_string();
    assert!(
        verify(&sign_text(&claims), &jwks(), &expected()).is_ok(),
        "the control verifies"
    );
    let twice = claims.replacen('{', r#"{"aud":"another-client","#, 1);
    assert_eq!(
        verify(&sign_text(&twice), &jwks(), &expected()),
        Err(Refused::Malformed)
    );
}

#[test]
fn a_jwks_of_the_wrong_shape_is_no_key_set() {
    assert!(Jwks::parse(br#"{"keys": []}"#).is_some_and(|set| set.keys.is_empty()));
    let extra_members = br#"{"keys": [{"kty": "EC", "x5c": ["MIIB"], "ext": true}], "other": 1}"#;
    assert_eq!(Jwks::parse(extra_members).map(|set| set.keys.len()), Some(1));
    for document in [
        &br#"{}"#[..],
        br#"{"keys": {}}"#,
        br#"{"keys": [1]}"#,
        br#"{"keys": [{"kid": "no kty"}]}"#,
        br#"{"keys": [{"kty": "EC", "use": 1}]}"#,
        br#"{"keys": [], "keys": [{"kty": "EC"}]}"#,
        b"[]",
    ] {
        assert!(Jwks::parse(document).is_none(), "{}", String::from_utf8_lossy(document));
    }
}
