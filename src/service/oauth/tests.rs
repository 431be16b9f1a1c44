//! What a checked provider round trip does to accounts, on `MemoryDb` (so on PostgreSQL too):
//! sign-in of a linked identity, a new account, the linking rules (no silent takeover), the
//! fields a new account may still need, trusted MFA, connecting and disconnecting.

use super::*;
use crate::config::FieldMode;
use crate::outbound::oidc::ProviderKind;
use crate::security::sign_up_policy::SignUpPolicy;
use crate::store::migrate;
use crate::testing::{ALL_OPTIONAL, MemoryDb, stored_user};

const NOW: i64 = 1_800_000_000;

#[test]
fn round_trip_state_is_stored_and_read_back_whole() {
    for mode in Mode::ALL {
        let payload = FlowPayload {
            provider: "google".into(),
            verifier: "v".repeat(43),
            nonce: "n".into(),
            mode,
        };
        let read = FlowPayload::from_json(&payload.to_json()).expect("its own JSON");
        assert_eq!(
            (read.provider, read.verifier, read.nonce, read.mode),
            (payload.provider, payload.verifier, payload.nonce, mode)
        );
    }
    // What the previous release's derive wrote.
    let stored = r#"{"provider":"github","verifier":"v","nonce":"n","mode":"reauth"}"#;
    assert_eq!(
        FlowPayload::from_json(stored).map(|payload| payload.mode),
        Some(Mode::Reauth)
    );
    assert!(FlowPayload::from_json(r#"{"provider":"github","verifier":"v","nonce":"n","mode":"admin"}"#).is_none());
    let pending = PendingAccount {
        provider: "oidc".into(),
        subject: "248289761001".into(),
        email: "ada@example.com".into(),
        email_verified: true,
        first_name: Some("Ada".into()),
        last_name: None,
    };
    assert_eq!(PendingAccount::from_json(&pending.to_json()), Some(pending));
    let without_verified = r#"{"provider":"oidc","subject":"1","email":"a@b.c","first_name":null,"last_name":null}"#;
    assert_eq!(
        PendingAccount::from_json(without_verified),
        None,
        "email_verified is required"
    );
}

fn provider(kind: ProviderKind, trusted_for_email: bool) -> Provider {
    Provider {
        kind,
        name: kind.brand().to_owned(),
        issuer: "https://idp.example.com".to_owned(),
        client_id: "client".to_owned(),
        client_secret: "secret".to_owned(),
        api_origin: String::new(),
        apple: None,
        trusted_for_email,
        trusted_for_mfa: false,
    }
}

fn returned(provider: Provider, mode: Mode, user_id: Option<UserId>, email: &str, verified: bool) -> Returned {
    Returned {
        provider,
        mode,
        user_id,
        location: "/user".to_owned(),
        account: ProviderAccount {
            subject: "sub-1".to_owned(),
            email: Some(email.to_owned()),
            email_verified: verified,
            first_name: Some("Ada".to_owned()),
            last_name: Some("Lovelace".to_owned()),
            mfa: false,
        },
    }
}

fn db() -> MemoryDb {
    let db = MemoryDb::new();
    migrate(&db, 0).unwrap();
    db
}

fn resolve_with(db: &MemoryDb, returned: &Returned, fields: SignUpFields) -> Result<Outcome, OauthError> {
    resolve(db, returned, fields, &SignUpPolicy::default(), true, vec![1; 32], NOW)
}

#[test]
fn a_new_person_gets_an_account_without_a_password_and_signs_in_again_by_the_identity() {
    let db = db();
    let google = provider(ProviderKind::Google, true);
    let first = returned(google.clone(), Mode::SignIn, None, "ada@example.com", true);
    let Outcome::SignIn {
        user,
        first: factor,
        second,
    } = resolve_with(&db, &first, ALL_OPTIONAL).unwrap()
    else {
        panic!("a new account signs in");
    };
    assert_eq!(factor.factor, Factor::Federated);
    assert!(second.is_none());
    assert!(!user.has_password());
    assert_eq!(user.email_verified_at, Some(NOW), "the provider verified it");
    assert_eq!(user.first_name.as_deref(), Some("Ada"));
    let Outcome::SignIn { user: again, .. } = resolve_with(&db, &first, ALL_OPTIONAL).unwrap() else {
        panic!("the identity signs in");
    };
    assert_eq!(again.id, user.id);
    assert_eq!(identities(&db, &user.id).unwrap().len(), 1);
}

#[test]
fn attack_unverified_provider_email_matching_an_account_is_no_takeover() {
    let db = db();
    let victim = stored_user(&db, "user_victim", "victim@example.com");
    let idp = provider(ProviderKind::Oidc, true);
    let attempt = returned(idp, Mode::SignIn, None, "victim@example.com", false);
    assert_eq!(
        resolve_with(&db, &attempt, ALL_OPTIONAL).unwrap_err(),
        OauthError::AccountExists {
            email: "victim@example.com".into()
        }
    );
    assert!(identities(&db, &victim.id).unwrap().is_empty());
}

#[test]
fn attack_verified_email_from_an_untrusted_provider_is_no_takeover_either() {
    let db = db();
    let victim = stored_user(&db, "user_victim", "victim@example.com");
    let gitlab = provider(ProviderKind::Gitlab, false);
    let attempt = returned(gitlab, Mode::SignIn, None, "Victim@Example.com", true);
    assert!(matches!(
        resolve_with(&db, &attempt, ALL_OPTIONAL),
        Err(OauthError::AccountExists { .. })
    ));
    assert!(identities(&db, &victim.id).unwrap().is_empty());
}

#[test]
fn a_trusted_providers_verified_email_links_the_existing_account() {
    let db = db();
    let ada = stored_user(&db, "user_ada", "ada@example.com");
    let google = provider(ProviderKind::Google, true);
    let Outcome::SignIn { user, .. } = resolve_with(
        &db,
        &returned(google, Mode::SignIn, None, "ada@example.com", true),
        ALL_OPTIONAL,
    )
    .unwrap() else {
        panic!("linked and signed in");
    };
    assert_eq!(user.id, ada.id);
    assert!(user.has_password(), "the account keeps its password");
    assert_eq!(identities(&db, &ada.id).unwrap().len(), 1);
}

#[test]
fn attack_pre_hijacking_with_an_unverified_address_creates_no_account() {
    let db = db();
    let idp = provider(ProviderKind::Oidc, false);
    let attempt = returned(idp.clone(), Mode::SignIn, None, "future-victim@example.com", false);
    assert_eq!(
        resolve_with(&db, &attempt, ALL_OPTIONAL).unwrap_err(),
        OauthError::UnverifiedEmail
    );
    // Without required verification, the account exists with its address unverified.
    let Outcome::SignIn { user, .. } = resolve(
        &db,
        &attempt,
        ALL_OPTIONAL,
        &SignUpPolicy::default(),
        false,
        vec![1; 32],
        NOW,
    )
    .unwrap() else {
        panic!("an account");
    };
    assert_eq!(user.email_verified_at, None);
}

#[test]
fn a_required_field_the_provider_lacks_is_asked_for_then_the_account_is_made() {
    let db = db();
    let fields = SignUpFields {
        username: FieldMode::Required,
        ..ALL_OPTIONAL
    };
    let google = provider(ProviderKind::Google, true);
    let browser = "this-browsers-csrf-cookie";
    let round_trip = returned(google, Mode::SignIn, None, "ada@example.com", true);
    let hash = crate::service::email::browser_hash(browser);
    let Outcome::NeedsFields { flow } =
        resolve(&db, &round_trip, fields, &SignUpPolicy::default(), true, hash, NOW).unwrap()
    else {
        panic!("the username is asked for");
    };
    // The pending account is bound to the browser the round trip came back to.
    assert!(find_pending(&db, &flow, "another browser", NOW).unwrap().is_none());
    let (pending, location) = find_pending(&db, &flow, browser, NOW).unwrap().unwrap();
    assert_eq!(pending.email, "ada@example.com");
    assert_eq!(location, "/user");
    let empty = EnteredFields::default();
    let Some(Err(errors)) =
        complete_pending(&db, &flow, browser, &empty, fields, &SignUpPolicy::default(), NOW).unwrap()
    else {
        panic!("still missing");
    };
    assert_eq!(errors[0].0, "username");
    let entered = EnteredFields {
        username: "ada".into(),
        ..EnteredFields::default()
    };
    let Some(Ok((user, _))) =
        complete_pending(&db, &flow, browser, &entered, fields, &SignUpPolicy::default(), NOW).unwrap()
    else {
        panic!("the account is made");
    };
    assert_eq!(user.username.as_deref(), Some("ada"));
    assert_eq!(identities(&db, &user.id).unwrap().len(), 1);
    assert!(
        complete_pending(&db, &flow, browser, &entered, fields, &SignUpPolicy::default(), NOW)
            .unwrap()
            .is_none(),
        "used once"
    );
}

#[test]
fn a_linked_identity_cannot_connect_to_a_second_account() {
    let db = db();
    let ada = stored_user(&db, "user_ada", "ada@example.com");
    let bob = stored_user(&db, "user_bob", "bob@example.com");
    let idp = provider(ProviderKind::Oidc, false);
    assert!(matches!(
        resolve_with(
            &db,
            &returned(idp.clone(), Mode::Link, Some(ada.id.clone()), "x@example.com", false),
            ALL_OPTIONAL
        ),
        Ok(Outcome::Linked)
    ));
    assert_eq!(
        resolve_with(
            &db,
            &returned(idp.clone(), Mode::Link, Some(bob.id.clone()), "x@example.com", false),
            ALL_OPTIONAL
        )
        .unwrap_err(),
        OauthError::LinkedElsewhere
    );
    // Re-authentication with another account's identity is refused too.
    assert_eq!(
        resolve_with(
            &db,
            &returned(idp, Mode::Reauth, Some(bob.id), "x@example.com", false),
            ALL_OPTIONAL
        )
        .unwrap_err(),
        OauthError::LinkedElsewhere
    );
}

#[test]
fn a_trusted_providers_mfa_counts_as_the_second_factor() {
    let db = db();
    let mut idp = provider(ProviderKind::Oidc, false);
    idp.trusted_for_mfa = true;
    let mut with_mfa = returned(idp.clone(), Mode::SignIn, None, "ada@example.com", true);
    with_mfa.account.mfa = true;
    let Outcome::SignIn { second, .. } = resolve_with(&db, &with_mfa, ALL_OPTIONAL).unwrap() else {
        panic!();
    };
    assert_eq!(second.map(|second| second.factor), Some(Factor::ProviderMfa));
    idp.trusted_for_mfa = false;
    with_mfa.provider = idp;
    let Outcome::SignIn { second, .. } = resolve_with(&db, &with_mfa, ALL_OPTIONAL).unwrap() else {
        panic!();
    };
    assert!(
        second.is_none(),
        "an untrusted provider's mfa is not this portal's second factor"
    );
}

#[test]
fn the_last_way_in_is_never_disconnected() {
    let db = db();
    let google = provider(ProviderKind::Google, true);
    let Outcome::SignIn { user, .. } = resolve_with(
        &db,
        &returned(google, Mode::SignIn, None, "ada@example.com", true),
        ALL_OPTIONAL,
    )
    .unwrap() else {
        panic!();
    };
    assert_eq!(
        disconnect(&db, &user, "google", "sub-1").unwrap(),
        Err(DisconnectRefused::LastWayIn)
    );
    assert_eq!(
        disconnect(&db, &user, "google", "another").unwrap(),
        Err(DisconnectRefused::NotFound)
    );
    users::update_password_hash(&db, &user.id, "$argon2id$…", NOW).unwrap();
    assert_eq!(disconnect(&db, &user, "google", "sub-1").unwrap(), Ok(()));
}

#[test]
fn attack_a_blocked_address_makes_no_account_through_a_provider_either() {
    use crate::security::sign_up_policy::parse_rules;
    let db = db();
    let policy = SignUpPolicy {
        blocked: parse_rules("*@example.com").unwrap(),
        ..SignUpPolicy::default()
    };
    let google = provider(ProviderKind::Google, true);
    let attempt = returned(google, Mode::SignIn, None, "ada@example.com", true);
    assert_eq!(
        resolve(&db, &attempt, ALL_OPTIONAL, &policy, true, vec![1; 32], NOW).unwrap_err(),
        OauthError::SignUpRefused
    );
    assert_eq!(
        users::find_user_by_email(&db, &EmailAddress::parse("ada@example.com").unwrap()).unwrap(),
        None
    );
}
