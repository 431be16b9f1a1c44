//! Portal sessions and what a session token says: finding the visitor behind a session cookie,
//! starting a session at sign-in, the session's active organization, and the claims of a fresh
//! `__session`. The web layer only moves the resulting values into cookies.
//!
//! The active organization is read from the database every time claims are made, never from an
//! older token, so a member who was removed loses the organization claims at once.

use crate::domain::{OrgId, SessionId, UserId};
use crate::security::token::Claims;
use crate::security::{base64url, new_token, random_bytes, token_hash};
use crate::store::organizations::{self as orgs, Membership};
use crate::store::sessions::{self, PortalSession, SessionOrigin};
use crate::store::users::User;
use crate::store::{Db, DbError, transaction};

use super::organizations::{self, OrgError};
use super::webhooks;

/// Seconds `nbf` lies before `iat`: an app whose clock runs a little behind the portal's still
/// accepts a token issued a moment ago.
pub const NOT_BEFORE_LEEWAY: i64 = 30;

/// Longest user agent kept with a session.
const USER_AGENT_LIMIT: usize = 300;

/// A visitor with a live portal session.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub session: PortalSession,
    pub user: User,
    /// The session's active organization as this request found it.
    pub active_membership: Option<Membership>,
}

impl Visitor {
    /// Whether this visitor counts as using two-step verification: the account has an
    /// authenticator app, or this session was signed in with two factors (a passkey that
    /// verified the person).
    pub fn two_step_on(&self) -> bool {
        self.user.totp_enabled_at.is_some() || self.session.second_factor_at.is_some()
    }
}

/// The visitor behind a portal session token, if the session is live and its user exists: one
/// statement, with the active organization (an organization the user left stops being active).
pub fn find_visitor(db: &dyn Db, token: &str, now: i64) -> Result<Option<Visitor>, DbError> {
    let Some(live) = sessions::find_live_session_with_user(db, &token_hash(token), now)? else {
        return Ok(None);
    };
    visitor(db, live).map(Some)
}

/// [`find_visitor`] for a request that has not checked the schema: the version rides in the
/// session's statement. `None` when that cannot tell (see
/// [`sessions::find_live_session_if_schema_is`]).
pub fn find_visitor_if_schema_is(db: &dyn Db, token: &str, now: i64, version: i64) -> Result<Option<Visitor>, DbError> {
    match sessions::find_live_session_if_schema_is(db, &token_hash(token), now, version)? {
        Some(live) => visitor(db, live).map(Some),
        None => Ok(None),
    }
}

fn visitor(db: &dyn Db, live: sessions::LiveSession) -> Result<Visitor, DbError> {
    if live.active_org_id.is_some() && live.active_membership.is_none() {
        sessions::set_active_organization(db, &live.session.id, None)?;
    }
    Ok(Visitor {
        session: live.session,
        user: live.user,
        active_membership: live.active_membership,
    })
}

/// A new portal session and the secret for its cookie (the database keeps only its hash).
pub struct StartedSession {
    pub token: String,
    pub session: PortalSession,
}

impl std::fmt::Debug for StartedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartedSession")
            .field("token", &"***")
            .field("session", &self.session)
            .finish()
    }
}

/// Where a sign-in comes from, kept with the session for the sessions list.
pub struct SignInContext<'a> {
    pub client_addr: &'a str,
    pub user_agent: Option<&'a str>,
    pub now: i64,
    /// Seconds the portal session lasts.
    pub lifetime: i64,
    /// The session's `amr` (RFC 8176 values, comma separated) and when its factors were verified.
    pub amr: &'a str,
    pub first_factor_at: i64,
    pub second_factor_at: Option<i64>,
}

/// Starts a portal session for `user_id`. The visitor's previous session (`replacing`) ends in
/// the same transaction, so a session token is never carried across sign-ins (no fixation).
/// `None` when the account is suspended (or was deleted) by the time the session would start:
/// a ban that lands during someone's sign-in still wins.
pub fn start_session(
    db: &dyn Db,
    user_id: &UserId,
    replacing: Option<&SessionId>,
    context: &SignInContext<'_>,
) -> Result<Option<StartedSession>, DbError> {
    let (token, hash) = new_token();
    let user_agent: Option<String> = context
        .user_agent
        .map(|agent| agent.chars().take(USER_AGENT_LIMIT).collect());
    let origin = SessionOrigin {
        client_addr: Some(context.client_addr),
        user_agent: user_agent.as_deref(),
        amr: context.amr,
        first_factor_at: context.first_factor_at,
        second_factor_at: context.second_factor_at,
    };
    let session = transaction(db, || {
        if let Some(previous) = replacing
            && let Some(previous_user) = sessions::delete_session(db, previous)?
        {
            webhooks::sessions_ended(
                db,
                previous_user.as_str(),
                &[previous.as_str().to_owned()],
                "replaced",
                context.now,
            )?;
        }
        // Sessions that expired are deleted here, on a sign-in, never on the hot pages.
        sessions::delete_expired(db, context.now)?;
        let session = sessions::create_session(
            db,
            &SessionId::generate(),
            &hash,
            user_id,
            &origin,
            context.now,
            context.lifetime,
        )?;
        if let Some(session) = &session {
            webhooks::session_created(db, session, context.now)?;
        }
        Ok::<_, DbError>(session)
    })?;
    Ok(session.map(|session| StartedSession { token, session }))
}

/// Ends a portal session (sign-out): its token stops working everywhere at once.
pub fn end_session(db: &dyn Db, session_id: &SessionId, now: i64) -> Result<(), DbError> {
    webhooks::atomically(db, || {
        if let Some(user_id) = sessions::delete_session(db, session_id)? {
            webhooks::sessions_ended(db, user_id.as_str(), &[session_id.as_str().to_owned()], "sign_out", now)?;
        }
        Ok(())
    })
}

/// The user's live sessions, newest first, for the sessions list.
pub fn list_sessions(db: &dyn Db, user_id: &UserId, now: i64) -> Result<Vec<PortalSession>, DbError> {
    sessions::list_user_sessions(db, user_id, now)
}

/// Signs out one of the user's sessions (never another user's).
/// `false` when the user has no such session.
pub fn revoke_session(db: &dyn Db, user_id: &UserId, session_id: &SessionId, now: i64) -> Result<bool, DbError> {
    webhooks::atomically(db, || {
        let revoked = sessions::delete_user_session(db, user_id, session_id)?;
        if revoked {
            webhooks::sessions_ended(db, user_id.as_str(), &[session_id.as_str().to_owned()], "revoked", now)?;
        }
        Ok(revoked)
    })
}

/// Signs the user out everywhere (the operator's "sign out everywhere").
pub fn end_all_sessions(db: &dyn Db, user_id: &UserId, now: i64) -> Result<(), DbError> {
    webhooks::atomically(db, || {
        let ended = sessions::delete_user_sessions(db, user_id)?;
        webhooks::sessions_ended(db, user_id.as_str(), &ended, "revoked", now)
    })
}

/// Signs out every session of the user but `keep`.
pub fn revoke_other_sessions(db: &dyn Db, user_id: &UserId, keep: &SessionId, now: i64) -> Result<(), DbError> {
    webhooks::atomically(db, || {
        let ended = sessions::delete_other_sessions(db, user_id, keep)?;
        webhooks::sessions_ended(db, user_id.as_str(), &ended, "revoked", now)
    })
}

/// The session's active organization with the user's role there, if they still belong to it.
/// An organization they no longer belong to stops being active.
pub fn active_membership(db: &dyn Db, session: &PortalSession) -> Result<Option<Membership>, DbError> {
    let (org_id, _) = sessions::find_token_facts(db, &session.id)?;
    membership_in(db, session, org_id)
}

/// The user's membership in the organization the session names, if they still belong to it.
fn membership_in(db: &dyn Db, session: &PortalSession, org_id: Option<OrgId>) -> Result<Option<Membership>, DbError> {
    let Some(org_id) = org_id else {
        return Ok(None);
    };
    let membership = orgs::find_membership(db, &org_id, &session.user_id)?;
    if membership.is_none() {
        sessions::set_active_organization(db, &session.id, None)?;
    }
    Ok(membership)
}

/// Makes one of the user's organizations the session's active one.
pub fn activate_organization(db: &dyn Db, session: &PortalSession, org_id: &OrgId) -> Result<(), DbError> {
    sessions::set_active_organization(db, &session.id, Some(org_id))
}

/// Makes the organization with this slug active, if the user belongs to it.
pub fn switch_organization(db: &dyn Db, session: &PortalSession, slug: &str) -> Result<Membership, OrgError> {
    let membership = organizations::membership_by_slug(db, &session.user_id, slug)?;
    activate_organization(db, session, &membership.organization.id)?;
    Ok(membership)
}

/// What a fresh `__session` token says about this session.
pub struct TokenTerms<'a> {
    /// The portal's origin (`iss`).
    pub issuer: &'a str,
    /// Who the token is for (`aud`).
    pub audience: &'a str,
    pub now: i64,
    /// Seconds the token lasts.
    pub lifetime: i64,
    /// Whether the operator lets tokens carry `public_metadata`: asked only for a user who has
    /// some, so the tokens of everyone else cost no setting more.
    pub public_metadata: &'a dyn Fn() -> bool,
}

/// Largest `public_metadata` a token carries, as compact JSON (Clerk's advice: a session token
/// travels in a cookie on every request, and browsers cap a cookie at about 4 KB).
pub const TOKEN_METADATA_MAX_BYTES: usize = 1_200;

/// The claims of a fresh `__session` for this session, with the active organization as stored
/// now (after a change in this request). `second_factor_on`: whether the user has two-step
/// verification; an organization that requires it is left out of the claims without it, and
/// the answer says so (`true`).
pub fn session_claims(
    db: &dyn Db,
    session: &PortalSession,
    second_factor_on: bool,
    terms: &TokenTerms<'_>,
) -> Result<(Claims, bool), DbError> {
    let (org_id, public_metadata) = sessions::find_token_facts(db, &session.id)?;
    let membership = membership_in(db, session, org_id)?;
    let allowed = allowed_membership(membership.as_ref(), second_factor_on);
    let withheld = membership.is_some() && allowed.is_none();
    Ok((claims(session, allowed, &public_metadata, terms), withheld))
}

/// The claims of a fresh `__session` for a visitor whose session this request has just read,
/// active organization included: no further statement.
pub fn visitor_claims(visitor: &Visitor, terms: &TokenTerms<'_>) -> Claims {
    let second_factor_on = visitor.two_step_on();
    let membership = allowed_membership(visitor.active_membership.as_ref(), second_factor_on);
    claims(&visitor.session, membership, &visitor.user.public_metadata, terms)
}

/// Whether the visitor's active organization requires two-step verification they do not have:
/// its claims are withheld until they turn it on.
pub fn organization_withheld(visitor: &Visitor) -> bool {
    !visitor.two_step_on()
        && visitor
            .active_membership
            .as_ref()
            .is_some_and(|membership| membership.organization.require_two_step)
}

/// The membership a token may name: not one whose organization requires a second factor the
/// user does not have.
fn allowed_membership(membership: Option<&Membership>, second_factor_on: bool) -> Option<&Membership> {
    membership.filter(|membership| second_factor_on || !membership.organization.require_two_step)
}

/// The `public_metadata` claim: the user's object when it has something, is small enough and the
/// operator allows it.
fn token_metadata(
    session: &PortalSession,
    text: &str,
    terms: &TokenTerms<'_>,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed == "{}" || !(terms.public_metadata)() {
        return None;
    }
    if trimmed.len() > TOKEN_METADATA_MAX_BYTES {
        eprintln!(
            "session token: the public_metadata of {} is over {TOKEN_METADATA_MAX_BYTES} bytes and is left out",
            session.user_id
        );
        return None;
    }
    crate::json_object::object_value(trimmed.as_bytes())
}

fn claims(
    session: &PortalSession,
    membership: Option<&Membership>,
    public_metadata: &str,
    terms: &TokenTerms<'_>,
) -> Claims {
    Claims {
        public_metadata: token_metadata(session, public_metadata, terms),
        iss: terms.issuer.to_owned(),
        aud: terms.audience.to_owned(),
        sub: session.user_id.to_string(),
        sid: session.id.to_string(),
        iat: terms.now,
        nbf: terms.now - NOT_BEFORE_LEEWAY,
        exp: terms.now + terms.lifetime,
        jti: base64url(&random_bytes::<16>()),
        org_id: membership.map(|m| m.organization.id.to_string()),
        org_slug: membership.map(|m| m.organization.slug.clone()),
        org_role: membership.map(|m| m.role.as_str().to_owned()),
        amr: session
            .amr
            .as_deref()
            .unwrap_or("pwd")
            .split(',')
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
            .collect(),
        fva: [
            minutes_since(session.first_factor_at.or(Some(session.created_at)), terms.now),
            minutes_since(session.second_factor_at, terms.now),
        ],
    }
}

/// Whole minutes from `at` to `now`, or -1 when the factor was never verified (Clerk's `fva`).
fn minutes_since(at: Option<i64>, now: i64) -> i64 {
    at.map_or(-1, |at| (now - at).max(0) / 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::sign_up_policy::SignUpPolicy;
    use crate::service::accounts::{SignUpInput, SignedUp, sign_up};
    use crate::service::organizations::create_organization;
    use crate::testing::{ALL_OPTIONAL, MemoryDb, attempt_from};

    fn context(now: i64) -> SignInContext<'static> {
        SignInContext {
            client_addr: "10.0.0.1:1",
            user_agent: Some("test"),
            now,
            lifetime: 100,
            amr: "pwd",
            first_factor_at: now,
            second_factor_at: None,
        }
    }

    fn user(db: &MemoryDb, email: &str) -> User {
        let input = SignUpInput {
            email_address: email.into(),
            password: "long enough".into(),
            ..Default::default()
        };
        match sign_up(
            db,
            &input,
            ALL_OPTIONAL,
            &SignUpPolicy::default(),
            &attempt_from("10.0.0.1:1", 0),
        ) {
            Ok(SignedUp::Created(user)) => user,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_new_session_replaces_the_visitors_old_one_against_fixation() {
        let db = MemoryDb::new();
        let ada = user(&db, "a@example.com");
        let first = start_session(&db, &ada.id, None, &context(1)).unwrap().unwrap();
        let second = start_session(&db, &ada.id, Some(&first.session.id), &context(2))
            .unwrap()
            .unwrap();
        assert_ne!(first.token, second.token);
        assert!(
            find_visitor(&db, &first.token, 3).unwrap().is_none(),
            "old token is dead"
        );
        let visitor = find_visitor(&db, &second.token, 3).unwrap().unwrap();
        assert_eq!(visitor.user.id, ada.id);
        assert!(find_visitor(&db, &second.token, 102).unwrap().is_none(), "expired");
        assert!(!format!("{second:?}").contains(&second.token), "the token never prints");
    }

    #[test]
    fn expired_sessions_of_anyone_are_deleted_when_a_session_starts() {
        let db = MemoryDb::new();
        let ada = user(&db, "a@example.com");
        let bea = user(&db, "b@example.com");
        start_session(&db, &ada.id, None, &context(1)).unwrap().unwrap();
        let live = start_session(&db, &ada.id, None, &context(50)).unwrap().unwrap();
        // At 120 the first (until 101) has expired; the second (until 150) has not.
        start_session(&db, &bea.id, None, &context(120)).unwrap().unwrap();
        let count = |db: &MemoryDb| {
            db.execute("SELECT COUNT(*) FROM portal_sessions", &[]).unwrap()[0]
                .integer(0)
                .unwrap()
        };
        assert_eq!(count(&db), 2);
        assert!(find_visitor(&db, &live.token, 121).unwrap().is_some());
    }

    #[test]
    fn public_metadata_is_carried_only_when_allowed_and_small() {
        let db = MemoryDb::new();
        let ada = user(&db, "a@example.com");
        let started = start_session(&db, &ada.id, None, &context(1)).unwrap().unwrap();
        let terms = |allowed: &'static dyn Fn() -> bool| TokenTerms {
            issuer: "https://accounts.example.com",
            audience: "example.com",
            now: 10,
            lifetime: 60,
            public_metadata: allowed,
        };
        crate::store::users::set_metadata(&db, &ada.id, r#"{"plan":"pro"}"#, r#"{"secret":1}"#, 2).unwrap();
        let (on, _) = session_claims(&db, &started.session, false, &terms(&|| true)).unwrap();
        assert_eq!(on.public_metadata.unwrap()["plan"], "pro");
        let (off, _) = session_claims(&db, &started.session, false, &terms(&|| false)).unwrap();
        assert!(off.public_metadata.is_none());
        let big = format!(r#"{{"notes":"{}"}}"#, "x".repeat(TOKEN_METADATA_MAX_BYTES));
        crate::store::users::set_metadata(&db, &ada.id, &big, "{}", 3).unwrap();
        let (large, _) = session_claims(&db, &started.session, false, &terms(&|| true)).unwrap();
        assert!(large.public_metadata.is_none(), "too large for a cookie: left out");
    }

    #[test]
    fn claims_carry_the_active_organization_only_while_the_user_belongs_to_it() {
        let db = MemoryDb::new();
        let ada = user(&db, "a@example.com");
        let started = start_session(&db, &ada.id, None, &context(1)).unwrap().unwrap();
        let terms = TokenTerms {
            issuer: "https://accounts.example.com",
            audience: "example.com",
            now: 10,
            lifetime: 60,
            public_metadata: &|| panic!("asked only for a user who has public metadata"),
        };
        let (claims, _) = session_claims(&db, &started.session, false, &terms).unwrap();
        assert_eq!((claims.org_id, claims.exp), (None, 70));
        assert_eq!(
            (claims.iat, claims.nbf),
            (10, 10 - NOT_BEFORE_LEEWAY),
            "a slow app clock still accepts it"
        );
        let org = create_organization(&db, &ada, "Acme", "acme", 2).unwrap();
        switch_organization(&db, &started.session, "acme").unwrap();
        let (claims, _) = session_claims(&db, &started.session, false, &terms).unwrap();
        assert_eq!(claims.org_slug.as_deref(), Some("acme"));
        assert_eq!(claims.org_role.as_deref(), Some("admin"));
        assert_eq!(
            switch_organization(&db, &started.session, "nope").unwrap_err(),
            OrgError::NotAMember
        );
        orgs::delete_membership(&db, &org.id, &ada.id).unwrap();
        let (claims, _) = session_claims(&db, &started.session, false, &terms).unwrap();
        assert_eq!(
            claims.org_id, None,
            "an organization the user left is no longer claimed"
        );
        assert_eq!(sessions::find_token_facts(&db, &started.session.id).unwrap().0, None);
    }
}
