//! The `organizations`, `memberships` and `invitations` tables. Invitation tokens are stored
//! only as their SHA-256. Rules (who may do what, the last-admin invariant) live in
//! `crate::organizations`; this module only reads and writes rows.

use super::{Db, DbError, Row, query_row};
use crate::domain::{EmailAddress, InvitationId, InvitationStatus, OrgId, OrganizationName, Role, Slug, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub slug: String,
    pub created_at: i64,
    /// Members must use two-step verification: without it, they get no organization claims.
    pub require_two_step: bool,
}

/// An organization as one of its members sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub organization: Organization,
    pub role: Role,
}

/// A member as the organization's pages list them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub email: EmailAddress,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: Role,
    pub joined_at: i64,
    /// Whether the member has two-step verification on (admins see who has not).
    pub has_two_step: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub email: EmailAddress,
    pub role: Role,
    pub status: InvitationStatus,
    /// The admin who sent it; `None` when the operator did, or for rows from before this was
    /// recorded.
    pub invited_by: Option<UserId>,
    /// Made by the operator (the Backend API), not by an admin of the organization.
    pub by_operator: bool,
    pub created_at: i64,
    pub expires_at: i64,
}

pub(super) fn role(text: &str) -> Result<Role, DbError> {
    Role::parse(text).map_err(|_| DbError::Other(format!("unknown role {text:?}")))
}

fn status(text: &str) -> Result<InvitationStatus, DbError> {
    InvitationStatus::parse(text).ok_or_else(|| DbError::Other(format!("unknown invitation status {text:?}")))
}

pub(super) fn organization(row: &Row, offset: usize) -> Result<Organization, DbError> {
    Ok(Organization {
        id: OrgId::from_stored(row.text(offset)?),
        name: row.text(offset + 1)?,
        slug: row.text(offset + 2)?,
        created_at: row.integer(offset + 3)?,
        require_two_step: row.integer(offset + 4)? != 0,
    })
}

fn invitation(row: &Row) -> Result<Invitation, DbError> {
    Ok(Invitation {
        id: InvitationId::from_stored(row.text(0)?),
        org_id: OrgId::from_stored(row.text(1)?),
        email: EmailAddress::from_stored(row.text(2)?),
        role: role(&row.text(3)?)?,
        status: status(&row.text(4)?)?,
        invited_by: row.optional_text(5)?.map(UserId::from_stored),
        created_at: row.integer(6)?,
        expires_at: row.integer(7)?,
        by_operator: row.integer(8)? != 0,
    })
}

const ORG_COLUMNS: &str = "o.id, o.name, o.slug, o.created_at, o.require_two_step";
/// Columns of [`ORG_COLUMNS`].
pub(super) const ORG_COLUMN_COUNT: usize = 5;
const INVITATION_COLUMNS: &str = "id, org_id, email, role, status, invited_by, created_at, expires_at, by_operator";

pub fn create_organization(
    db: &dyn Db,
    id: &OrgId,
    name: &OrganizationName,
    slug: &Slug,
    created_by: &UserId,
    now: i64,
) -> Result<Organization, DbError> {
    db.execute(
        "INSERT INTO organizations (id, name, slug, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        &[
            id.into(),
            name.as_str().into(),
            slug.as_str().into(),
            created_by.into(),
            now.into(),
            now.into(),
        ],
    )?;
    Ok(Organization {
        id: id.clone(),
        name: name.as_str().to_owned(),
        slug: slug.as_str().to_owned(),
        created_at: now,
        require_two_step: false,
    })
}

pub fn find_organization(db: &dyn Db, id: &OrgId) -> Result<Option<Organization>, DbError> {
    let statement = format!("SELECT {ORG_COLUMNS} FROM organizations o WHERE o.id = ?");
    query_row(db, &statement, &[id.into()])?
        .map(|row| organization(&row, 0))
        .transpose()
}

pub fn find_organization_by_slug(db: &dyn Db, slug: &str) -> Result<Option<Organization>, DbError> {
    let statement = format!("SELECT {ORG_COLUMNS} FROM organizations o WHERE o.slug = ?");
    query_row(db, &statement, &[slug.into()])?
        .map(|row| organization(&row, 0))
        .transpose()
}

/// Sets whether the organization's members must use two-step verification.
pub fn set_require_two_step(db: &dyn Db, id: &OrgId, required: bool, now: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE organizations SET require_two_step = ?, updated_at = ? WHERE id = ?",
        &[i64::from(required).into(), now.into(), id.into()],
    )?;
    Ok(())
}

pub fn update_organization(
    db: &dyn Db,
    id: &OrgId,
    name: &OrganizationName,
    slug: &Slug,
    now: i64,
) -> Result<(), DbError> {
    db.execute(
        "UPDATE organizations SET name = ?, slug = ?, updated_at = ? WHERE id = ?",
        &[name.as_str().into(), slug.as_str().into(), now.into(), id.into()],
    )?;
    Ok(())
}

/// Deletes an organization with its memberships and invitations. Runs inside the caller's
/// transaction, which also clears it as anyone's active organization.
pub fn delete_organization(db: &dyn Db, id: &OrgId) -> Result<(), DbError> {
    db.execute("DELETE FROM invitations WHERE org_id = ?", &[id.into()])?;
    db.execute("DELETE FROM memberships WHERE org_id = ?", &[id.into()])?;
    db.execute("DELETE FROM organizations WHERE id = ?", &[id.into()])?;
    Ok(())
}

pub fn add_membership(db: &dyn Db, org_id: &OrgId, user_id: &UserId, role: Role, now: i64) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)",
        &[org_id.into(), user_id.into(), role.as_str().into(), now.into()],
    )?;
    Ok(())
}

/// The user's membership in an organization, if any.
pub fn find_membership(db: &dyn Db, org_id: &OrgId, user_id: &UserId) -> Result<Option<Membership>, DbError> {
    let statement = format!(
        "SELECT {ORG_COLUMNS}, m.role FROM memberships m JOIN organizations o ON o.id = m.org_id
         WHERE m.org_id = ? AND m.user_id = ?"
    );
    query_row(db, &statement, &[org_id.into(), user_id.into()])?
        .map(|row| {
            Ok(Membership {
                organization: organization(&row, 0)?,
                role: role(&row.text(ORG_COLUMN_COUNT)?)?,
            })
        })
        .transpose()
}

/// Every organization the user belongs to, by name.
pub fn list_user_memberships(db: &dyn Db, user_id: &UserId) -> Result<Vec<Membership>, DbError> {
    let statement = format!(
        "SELECT {ORG_COLUMNS}, m.role FROM memberships m JOIN organizations o ON o.id = m.org_id
         WHERE m.user_id = ? ORDER BY o.name, o.slug"
    );
    db.execute(&statement, &[user_id.into()])?
        .iter()
        .map(|row| {
            Ok(Membership {
                organization: organization(row, 0)?,
                role: role(&row.text(ORG_COLUMN_COUNT)?)?,
            })
        })
        .collect()
}

pub fn list_members(db: &dyn Db, org_id: &OrgId) -> Result<Vec<Member>, DbError> {
    db.execute(
        "SELECT u.id, u.email, u.first_name, u.last_name, m.role, m.created_at,
                (SELECT COUNT(*) FROM totp_factors t WHERE t.user_id = u.id AND t.enabled_at IS NOT NULL)
         FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.org_id = ? ORDER BY m.created_at, u.email",
        &[org_id.into()],
    )?
    .iter()
    .map(|row| {
        Ok(Member {
            user_id: UserId::from_stored(row.text(0)?),
            email: EmailAddress::from_stored(row.text(1)?),
            first_name: row.optional_text(2)?,
            last_name: row.optional_text(3)?,
            role: role(&row.text(4)?)?,
            joined_at: row.integer(5)?,
            has_two_step: row.integer(6)? > 0,
        })
    })
    .collect()
}

pub fn count_admins(db: &dyn Db, org_id: &OrgId) -> Result<i64, DbError> {
    query_row(
        db,
        "SELECT COUNT(*) FROM memberships WHERE org_id = ? AND role = 'admin'",
        &[org_id.into()],
    )?
    .map_or(Ok(0), |row| row.integer(0))
}

pub fn count_members(db: &dyn Db, org_id: &OrgId) -> Result<i64, DbError> {
    query_row(
        db,
        "SELECT COUNT(*) FROM memberships WHERE org_id = ?",
        &[org_id.into()],
    )?
    .map_or(Ok(0), |row| row.integer(0))
}

pub fn update_role(db: &dyn Db, org_id: &OrgId, user_id: &UserId, role: Role) -> Result<(), DbError> {
    db.execute(
        "UPDATE memberships SET role = ? WHERE org_id = ? AND user_id = ?",
        &[role.as_str().into(), org_id.into(), user_id.into()],
    )?;
    Ok(())
}

/// Removes a membership. Runs inside the caller's transaction, which also stops the
/// organization being active in that user's sessions.
pub fn delete_membership(db: &dyn Db, org_id: &OrgId, user_id: &UserId) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM memberships WHERE org_id = ? AND user_id = ?",
        &[org_id.into(), user_id.into()],
    )?;
    Ok(())
}

pub struct NewInvitation<'a> {
    pub id: &'a InvitationId,
    pub org_id: &'a OrgId,
    pub email: &'a EmailAddress,
    pub role: Role,
    pub token_hash: &'a [u8],
    /// The admin who invites; `None`: the operator.
    pub invited_by: Option<&'a UserId>,
    pub now: i64,
    pub expires_at: i64,
}

/// Creates a pending invitation, revoking any earlier pending one for the same email.
/// Runs inside the caller's transaction.
pub fn create_invitation(db: &dyn Db, new: &NewInvitation<'_>) -> Result<(), DbError> {
    db.execute(
        "UPDATE invitations SET status = 'revoked', responded_at = ? WHERE org_id = ? AND email = ? AND status = 'pending'",
        &[new.now.into(), new.org_id.into(), new.email.into()],
    )?;
    db.execute(
        "INSERT INTO invitations (id, org_id, email, role, status, token_hash, invited_by, created_at, expires_at,
            by_operator)
         VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
        &[
            new.id.into(),
            new.org_id.into(),
            new.email.into(),
            new.role.as_str().into(),
            new.token_hash.into(),
            new.invited_by.into(),
            new.now.into(),
            new.expires_at.into(),
            i64::from(new.invited_by.is_none()).into(),
        ],
    )?;
    Ok(())
}

pub fn find_invitation_by_token_hash(db: &dyn Db, token_hash: &[u8]) -> Result<Option<Invitation>, DbError> {
    let statement = format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE token_hash = ?");
    query_row(db, &statement, &[token_hash.into()])?
        .map(|row| invitation(&row))
        .transpose()
}

/// Pending invitations of an organization, newest first (expired ones included, for display).
pub fn list_pending_invitations(db: &dyn Db, org_id: &OrgId) -> Result<Vec<Invitation>, DbError> {
    let statement = format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations WHERE org_id = ? AND status = 'pending' ORDER BY created_at DESC, id"
    );
    db.execute(&statement, &[org_id.into()])?
        .iter()
        .map(invitation)
        .collect()
}

/// Marks a pending invitation answered; returns whether it was still pending (so two answers
/// racing cannot both succeed).
pub fn close_invitation(db: &dyn Db, id: &InvitationId, status: InvitationStatus, now: i64) -> Result<bool, DbError> {
    let rows = db.execute(
        "UPDATE invitations SET status = ?, responded_at = ? WHERE id = ? AND status = 'pending' RETURNING id",
        &[status.as_str().into(), now.into(), id.into()],
    )?;
    Ok(!rows.is_empty())
}

/// Revokes a pending invitation of `org_id` (never another organization's).
pub fn revoke_invitation(db: &dyn Db, org_id: &OrgId, id: &InvitationId, now: i64) -> Result<bool, DbError> {
    let rows = db.execute(
        "UPDATE invitations SET status = 'revoked', responded_at = ? WHERE id = ? AND org_id = ? AND status = 'pending' RETURNING id",
        &[now.into(), id.into(), org_id.into()],
    )?;
    Ok(!rows.is_empty())
}

/// Removes an invitation that never reached anyone (its email could not be sent).
pub fn delete_invitation_by_token_hash(db: &dyn Db, token_hash: &[u8]) -> Result<(), DbError> {
    db.execute("DELETE FROM invitations WHERE token_hash = ?", &[token_hash.into()])?;
    Ok(())
}
/// An organization as the operator lists it: with its member count and metadata texts
/// `(public, private)`.
pub type OrganizationRecord = (Organization, i64, String, String);

const RECORD_COLUMNS: &str = "o.id, o.name, o.slug, o.created_at, o.require_two_step,
    (SELECT COUNT(*) FROM memberships m WHERE m.org_id = o.id), o.public_metadata, o.private_metadata";

fn record(row: &Row) -> Result<OrganizationRecord, DbError> {
    Ok((
        organization(row, 0)?,
        row.integer(ORG_COLUMN_COUNT)?,
        row.text(ORG_COLUMN_COUNT + 1)?,
        row.text(ORG_COLUMN_COUNT + 2)?,
    ))
}

/// One organization with its member count and metadata.
pub fn find_organization_record(db: &dyn Db, id: &OrgId) -> Result<Option<OrganizationRecord>, DbError> {
    let statement = format!("SELECT {RECORD_COLUMNS} FROM organizations o WHERE o.id = ?");
    query_row(db, &statement, &[id.into()])?
        .map(|row| record(&row))
        .transpose()
}

/// One page of organizations, newest first, whose name or slug contains `query` (any case),
/// and how many there are in all.
pub fn list_organizations(
    db: &dyn Db,
    query: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<OrganizationRecord>, i64), DbError> {
    let (condition, mut parameters): (&str, Vec<super::Value>) = match query {
        Some(query) => {
            let pattern = format!("%{}%", super::users::escape_like(&query.to_lowercase()));
            (
                "WHERE LOWER(o.name) LIKE ? ESCAPE '!' OR LOWER(o.slug) LIKE ? ESCAPE '!'",
                vec![pattern.as_str().into(), pattern.as_str().into()],
            )
        }
        None => ("", Vec::new()),
    };
    let total = query_row(
        db,
        &format!("SELECT COUNT(*) FROM organizations o {condition}"),
        &parameters,
    )?
    .map_or(Ok(0), |row| row.integer(0))?;
    parameters.push(limit.into());
    parameters.push(offset.into());
    let page = db
        .execute(
            &format!("SELECT {RECORD_COLUMNS} FROM organizations o {condition} ORDER BY o.created_at DESC, o.id LIMIT ? OFFSET ?"),
            &parameters,
        )?
        .iter()
        .map(record)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((page, total))
}

/// Replaces an organization's metadata (JSON object texts the caller checked).
pub fn set_metadata(db: &dyn Db, id: &OrgId, public: &str, private: &str, now: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE organizations SET public_metadata = ?, private_metadata = ?, updated_at = ? WHERE id = ?",
        &[public.into(), private.into(), now.into(), id.into()],
    )?;
    Ok(())
}
