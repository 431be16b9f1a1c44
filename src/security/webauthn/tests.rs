//! Each verification step of registration and sign-in, with a software authenticator holding
//! real keys (`testing::authenticator`); tests are named after the attack they stop.

use super::*;
use crate::testing::authenticator::{SoftAuthenticator, b64, cbor_out};

const RP_ID: &str = "accounts.myapp.com";
const ORIGIN: &str = "https://accounts.myapp.com";
const CHALLENGE: &[u8] = b"0123456789abcdef0123456789abcdef";

fn origins() -> Vec<String> {
    vec![ORIGIN.to_owned()]
}

fn register(authenticator: &mut SoftAuthenticator) -> Result<NewCredential, Rejected> {
    let origins = origins();
    let rp = RelyingParty {
        id: RP_ID,
        origins: &origins,
    };
    let (client_data, object) = authenticator.register(RP_ID, ORIGIN, CHALLENGE);
    verify_registration(&rp, CHALLENGE, &client_data, &object, false)
}

fn sign_in(
    authenticator: &mut SoftAuthenticator,
    stored: &NewCredential,
    stored_count: u32,
) -> Result<AssertionOutcome, Rejected> {
    let (client_data, auth_data, signature) = authenticator.assert(RP_ID, ORIGIN, CHALLENGE);
    check(&client_data, &auth_data, &signature, stored, stored_count, false)
}

fn check(
    client_data: &[u8],
    auth_data: &[u8],
    signature: &[u8],
    stored: &NewCredential,
    stored_count: u32,
    require_uv: bool,
) -> Result<AssertionOutcome, Rejected> {
    let origins = origins();
    let rp = RelyingParty {
        id: RP_ID,
        origins: &origins,
    };
    let assertion = Assertion {
        client_data_json: client_data,
        authenticator_data: auth_data,
        signature,
    };
    let stored = StoredCredential {
        public_key: &stored.public_key,
        sign_count: stored_count,
        backup_eligible: stored.backup_eligible,
    };
    verify_assertion(&rp, CHALLENGE, &assertion, &stored, require_uv)
}

#[test]
fn a_p256_passkey_registers_and_signs_in() {
    let mut authenticator = SoftAuthenticator::p256(7);
    let credential = register(&mut authenticator).unwrap();
    assert_eq!(credential.id, authenticator.credential_id);
    assert_eq!(credential.algorithm, ES256);
    assert!(credential.user_verified && !credential.backup_eligible && !credential.backed_up);
    let outcome = sign_in(&mut authenticator, &credential, credential.sign_count).unwrap();
    assert!(outcome.user_verified);
    assert_eq!(outcome.sign_count, 2);
}

#[test]
fn a_sign_in_costs_one_signature_check_and_a_registration_none() {
    let mut authenticator = SoftAuthenticator::p256(30);
    crate::security::cost::take();
    let credential = register(&mut authenticator).unwrap();
    assert_eq!(crate::security::cost::take().get("signature_check"), None);
    sign_in(&mut authenticator, &credential, 1).unwrap();
    assert_eq!(crate::security::cost::take().get("signature_check"), Some(&1));
}

#[test]
fn an_rsa_passkey_registers_and_signs_in() {
    let mut authenticator = SoftAuthenticator::rsa(8);
    let credential = register(&mut authenticator).unwrap();
    assert_eq!(credential.algorithm, RS256);
    assert_eq!(sign_in(&mut authenticator, &credential, 1).unwrap().sign_count, 2);
}

#[test]
fn a_synced_passkey_keeps_its_zero_counter_and_says_it_is_backed_up() {
    let mut authenticator = SoftAuthenticator::p256(9);
    authenticator.synced = true;
    let credential = register(&mut authenticator).unwrap();
    assert!(credential.backup_eligible && credential.backed_up);
    assert_eq!(credential.sign_count, 0);
    let outcome = sign_in(&mut authenticator, &credential, 0).unwrap();
    assert_eq!(outcome.sign_count, 0);
    assert!(outcome.backed_up);
}

#[test]
fn attack_replayed_or_foreign_challenge_is_refused() {
    let mut authenticator = SoftAuthenticator::p256(1);
    let credential = register(&mut authenticator).unwrap();
    let (client_data, auth_data, signature) = authenticator.assert(RP_ID, ORIGIN, b"another challenge, another flow");
    assert_eq!(
        check(&client_data, &auth_data, &signature, &credential, 1, false),
        Err(Rejected::WrongChallenge)
    );
    let origins = origins();
    let rp = RelyingParty {
        id: RP_ID,
        origins: &origins,
    };
    let (client_data, object) = authenticator.register(RP_ID, ORIGIN, b"old");
    assert_eq!(
        verify_registration(&rp, CHALLENGE, &client_data, &object, false),
        Err(Rejected::WrongChallenge)
    );
    // An empty stored challenge never matches an empty one sent.
    let (client_data, object) = authenticator.register(RP_ID, ORIGIN, b"");
    assert_eq!(
        verify_registration(&rp, b"", &client_data, &object, false),
        Err(Rejected::WrongChallenge)
    );
}

#[test]
fn attack_phishing_origin_is_refused() {
    let mut authenticator = SoftAuthenticator::p256(2);
    let credential = register(&mut authenticator).unwrap();
    for origin in [
        "https://accounts.myapp.com.evil.net",
        "http://accounts.myapp.com",
        "https://accounts.myapp.com:8443",
        "https://evil.net",
        "null",
    ] {
        let (client_data, auth_data, signature) = authenticator.assert(RP_ID, origin, CHALLENGE);
        assert_eq!(
            check(&client_data, &auth_data, &signature, &credential, 0, false),
            Err(Rejected::WrongOrigin),
            "{origin}"
        );
    }
}

#[test]
fn attack_cross_origin_iframe_is_refused() {
    let mut authenticator = SoftAuthenticator::p256(2);
    let credential = register(&mut authenticator).unwrap();
    let (_, auth_data, _) = authenticator.assert(RP_ID, ORIGIN, CHALLENGE);
    let client_data = format!(
        r#"{{"type":"webauthn.get","challenge":"{}","origin":"{ORIGIN}","crossOrigin":true}}"#,
        b64(CHALLENGE)
    );
    let signature = authenticator.sign(&auth_data, client_data.as_bytes());
    assert_eq!(
        check(client_data.as_bytes(), &auth_data, &signature, &credential, 0, false),
        Err(Rejected::CrossOrigin)
    );
}

#[test]
fn attack_client_data_naming_a_member_twice_is_refused() {
    // Signed by the authenticator, but one reader would take the first origin, another the last.
    let mut authenticator = SoftAuthenticator::p256(2);
    let credential = register(&mut authenticator).unwrap();
    let (_, auth_data, _) = authenticator.assert(RP_ID, ORIGIN, CHALLENGE);
    let challenge = b64(CHALLENGE);
    let signed = |client_data: String| {
        let signature = authenticator.sign(&auth_data, client_data.as_bytes());
        check(client_data.as_bytes(), &auth_data, &signature, &credential, 0, false)
    };
    let once = format!(r#"{{"type":"webauthn.get","challenge":"{challenge}","origin":"{ORIGIN}"}}"#);
    assert!(signed(once).is_ok(), "the control passes");
    let twice = format!(
        r#"{{"type":"webauthn.get","challenge":"{challenge}","origin":"https://evil.example","origin":"{ORIGIN}"}}"#
    );
    assert_eq!(signed(twice), Err(Rejected::Malformed));
}

#[test]
fn attack_key_scoped_to_another_rp_id_is_refused() {
    let mut authenticator = SoftAuthenticator::p256(3);
    let credential = register(&mut authenticator).unwrap();
    let (client_data, auth_data, signature) = authenticator.assert("evil.net", ORIGIN, CHALLENGE);
    assert_eq!(
        check(&client_data, &auth_data, &signature, &credential, 0, false),
        Err(Rejected::WrongRpId)
    );
    let origins = origins();
    let rp = RelyingParty {
        id: RP_ID,
        origins: &origins,
    };
    let (client_data, object) = authenticator.register("myapp.com", ORIGIN, CHALLENGE);
    assert_eq!(
        verify_registration(&rp, CHALLENGE, &client_data, &object, false),
        Err(Rejected::WrongRpId)
    );
}

#[test]
fn attack_create_response_replayed_as_get_is_refused() {
    let mut authenticator = SoftAuthenticator::p256(4);
    let credential = register(&mut authenticator).unwrap();
    let (_, auth_data, _) = authenticator.assert(RP_ID, ORIGIN, CHALLENGE);
    let client_data = SoftAuthenticator::client_data("webauthn.create", CHALLENGE, ORIGIN);
    let signature = authenticator.sign(&auth_data, &client_data);
    assert_eq!(
        check(&client_data, &auth_data, &signature, &credential, 0, false),
        Err(Rejected::WrongType)
    );
}

#[test]
fn attack_without_user_presence_or_required_verification_is_refused() {
    let mut authenticator = SoftAuthenticator::p256(5);
    let credential = register(&mut authenticator).unwrap();
    authenticator.user_present = false;
    assert_eq!(
        sign_in(&mut authenticator, &credential, 1),
        Err(Rejected::NoUserPresence)
    );
    authenticator.user_present = true;
    authenticator.user_verified = false;
    let (client_data, auth_data, signature) = authenticator.assert(RP_ID, ORIGIN, CHALLENGE);
    assert_eq!(
        check(&client_data, &auth_data, &signature, &credential, 2, true),
        Err(Rejected::NoUserVerification)
    );
    // Without UV required it is a first factor, and says so.
    let outcome = check(&client_data, &auth_data, &signature, &credential, 2, false).unwrap();
    assert!(!outcome.user_verified);
    let origins = origins();
    let rp = RelyingParty {
        id: RP_ID,
        origins: &origins,
    };
    let (client_data, object) = authenticator.register(RP_ID, ORIGIN, CHALLENGE);
    assert_eq!(
        verify_registration(&rp, CHALLENGE, &client_data, &object, true),
        Err(Rejected::NoUserVerification)
    );
}

#[test]
fn attack_signature_over_other_data_is_refused() {
    let mut authenticator = SoftAuthenticator::p256(6);
    let credential = register(&mut authenticator).unwrap();
    let (client_data, auth_data, _) = authenticator.assert(RP_ID, ORIGIN, CHALLENGE);
    let other = SoftAuthenticator::client_data("webauthn.get", b"something else", ORIGIN);
    let signature = authenticator.sign(&auth_data, &other);
    assert_eq!(
        check(&client_data, &auth_data, &signature, &credential, 0, false),
        Err(Rejected::BadSignature)
    );
    // Flipping a flag after signing (UV added by a relay) breaks the signature.
    let (client_data, mut auth_data, signature) = {
        authenticator.user_verified = false;
        authenticator.assert(RP_ID, ORIGIN, CHALLENGE)
    };
    auth_data[32] |= 0x04;
    assert_eq!(
        check(&client_data, &auth_data, &signature, &credential, 0, true),
        Err(Rejected::BadSignature)
    );
    // The same for RSA.
    let mut rsa = SoftAuthenticator::rsa(6);
    let credential = register(&mut rsa).unwrap();
    let (client_data, auth_data, mut signature) = rsa.assert(RP_ID, ORIGIN, CHALLENGE);
    signature[100] ^= 1;
    assert_eq!(
        check(&client_data, &auth_data, &signature, &credential, 0, false),
        Err(Rejected::BadSignature)
    );
}

#[test]
fn attack_credential_of_another_key_is_refused() {
    let mut mine = SoftAuthenticator::p256(10);
    let credential = register(&mut mine).unwrap();
    let mut theirs = SoftAuthenticator::p256(11);
    let (client_data, auth_data, signature) = theirs.assert(RP_ID, ORIGIN, CHALLENGE);
    assert_eq!(
        check(&client_data, &auth_data, &signature, &credential, 0, false),
        Err(Rejected::BadSignature)
    );
}

#[test]
fn attack_cloned_authenticator_counter_rollback_is_refused() {
    let mut authenticator = SoftAuthenticator::p256(12);
    let credential = register(&mut authenticator).unwrap();
    assert_eq!(
        sign_in(&mut authenticator, &credential, 5),
        Err(Rejected::CounterRollback)
    );
    authenticator.sign_count = 4;
    assert_eq!(
        sign_in(&mut authenticator, &credential, 5),
        Err(Rejected::CounterRollback)
    );
    assert!(sign_in(&mut authenticator, &credential, 5).is_ok());
    // A counter that stops at zero after moving is a clone too.
    authenticator.synced = true;
    let mut clone = authenticator.clone();
    clone.synced = false;
    clone.sign_count = 0;
    let (client_data, auth_data, signature) = {
        let (c, mut a, _) = clone.assert(RP_ID, ORIGIN, CHALLENGE);
        a[33..37].copy_from_slice(&[0, 0, 0, 0]);
        let s = clone.sign(&a, &c);
        (c, a, s)
    };
    assert_eq!(
        check(&client_data, &auth_data, &signature, &credential, 7, false),
        Err(Rejected::CounterRollback)
    );
}

#[test]
fn attack_backup_eligibility_flip_is_refused() {
    let mut authenticator = SoftAuthenticator::p256(13);
    let credential = register(&mut authenticator).unwrap();
    authenticator.synced = true;
    assert_eq!(
        sign_in(&mut authenticator, &credential, 1),
        Err(Rejected::BackupEligibilityChanged)
    );
}

#[test]
fn attack_algorithm_confusion_keys_are_refused_at_registration() {
    // An EC2 key claiming RS256, an RSA key claiming ES256, alg "none"-style values, HS256 (5).
    for (mut authenticator, alg) in [
        (SoftAuthenticator::p256(14), -257),
        (SoftAuthenticator::rsa(14), -7),
        (SoftAuthenticator::p256(14), 0),
        (SoftAuthenticator::p256(14), 5),
        (SoftAuthenticator::rsa(14), -37),
    ] {
        authenticator.cose_alg = Some(alg);
        assert_eq!(register(&mut authenticator), Err(Rejected::UnsupportedKey), "alg {alg}");
    }
    // An OKP (Ed25519) key and a small RSA modulus.
    let mut okp = Vec::new();
    cbor_out::map(4, &mut okp);
    for (key, value) in [(1, 1), (3, -8), (-1, 6)] {
        cbor_out::int(key, &mut okp);
        cbor_out::int(value, &mut okp);
    }
    cbor_out::int(-2, &mut okp);
    cbor_out::bytes(&[9; 32], &mut okp);
    assert!(parse_cose_key(&okp).is_err());
    let mut small = Vec::new();
    cbor_out::map(4, &mut small);
    for (key, value) in [(1, 3), (3, -257)] {
        cbor_out::int(key, &mut small);
        cbor_out::int(value, &mut small);
    }
    cbor_out::int(-1, &mut small);
    cbor_out::bytes(&[0xc5; 128], &mut small);
    cbor_out::int(-2, &mut small);
    cbor_out::bytes(&[1, 0, 1], &mut small);
    assert!(parse_cose_key(&small).is_err());
}

#[test]
fn attack_a_point_off_the_curve_is_refused() {
    let authenticator = SoftAuthenticator::p256(15);
    let mut key = authenticator.cose_key();
    let last = key.len() - 1;
    key[last] ^= 1;
    assert!(parse_cose_key(&key).is_err());
}

#[test]
fn attack_malformed_authenticator_data_of_every_length_is_an_error() {
    let mut authenticator = SoftAuthenticator::p256(16);
    let credential = register(&mut authenticator).unwrap();
    let origins = origins();
    let rp = RelyingParty {
        id: RP_ID,
        origins: &origins,
    };
    let (client_data, object) = authenticator.register(RP_ID, ORIGIN, CHALLENGE);
    for cut in 0..object.len() {
        assert!(verify_registration(&rp, CHALLENGE, &client_data, &object[..cut], false).is_err());
    }
    let (client_data, auth_data, signature) = authenticator.assert(RP_ID, ORIGIN, CHALLENGE);
    for cut in 0..auth_data.len() {
        assert!(check(&client_data, &auth_data[..cut], &signature, &credential, 0, false).is_err());
    }
    for cut in 0..client_data.len() {
        assert!(check(&client_data[..cut], &auth_data, &signature, &credential, 0, false).is_err());
    }
    for cut in 0..signature.len() {
        assert!(check(&client_data, &auth_data, &signature[..cut], &credential, 0, false).is_err());
    }
    // Trailing bytes without the extension flag.
    let mut longer = auth_data.clone();
    longer.push(0);
    assert_eq!(
        check(&client_data, &longer, &signature, &credential, 0, false),
        Err(Rejected::Malformed)
    );
}

#[test]
fn rsa_rejects_signatures_of_the_wrong_length_or_too_large() {
    let mut authenticator = SoftAuthenticator::rsa(17);
    let credential = register(&mut authenticator).unwrap();
    let (client_data, auth_data, signature) = authenticator.assert(RP_ID, ORIGIN, CHALLENGE);
    let mut longer = vec![0];
    longer.extend(&signature);
    assert!(check(&client_data, &auth_data, &longer, &credential, 0, false).is_err());
    let too_large = vec![0xff; signature.len()];
    assert!(check(&client_data, &auth_data, &too_large, &credential, 0, false).is_err());
}

#[test]
fn the_rp_id_is_the_host_or_a_registrable_parent() {
    assert_eq!(rp_id("accounts.myapp.com", None).unwrap(), "accounts.myapp.com");
    assert_eq!(rp_id("accounts.myapp.com", Some("")).unwrap(), "accounts.myapp.com");
    assert_eq!(rp_id("accounts.myapp.com", Some("myapp.com")).unwrap(), "myapp.com");
    assert_eq!(rp_id("Accounts.MyApp.com", Some("MYAPP.com")).unwrap(), "myapp.com");
    assert_eq!(rp_id("localhost", Some("localhost")).unwrap(), "localhost");
    for wrong in [
        "com",
        "evil.net",
        "pp.com",
        "app.com",
        "accounts.myapp.com.evil.net",
        ".myapp.com",
        "my app.com",
    ] {
        assert!(rp_id("accounts.myapp.com", Some(wrong)).is_err(), "{wrong}");
    }
}
