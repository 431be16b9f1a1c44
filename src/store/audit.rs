//! The `admin_audit` table: every action an operator took in the admin console.

use super::{Db, DbError, Row};

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub actor_id: String,
    pub actor_email: String,
    /// What was done (`ban`, `unban`, `delete_user`, `sign_out_everywhere`, `reset_two_step`,
    /// `retry_webhook`).
    pub action: String,
    /// What it was done to (a user's id and address, an event's id).
    pub target: String,
    pub client_addr: Option<String>,
    pub created_at: i64,
}

pub fn insert(db: &dyn Db, entry: &AuditEntry) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO admin_audit (actor_id, actor_email, action, target, client_addr, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        &[
            entry.actor_id.as_str().into(),
            entry.actor_email.as_str().into(),
            entry.action.as_str().into(),
            entry.target.as_str().into(),
            entry.client_addr.as_deref().into(),
            entry.created_at.into(),
        ],
    )?;
    Ok(())
}

fn from_row(row: &Row) -> Result<AuditEntry, DbError> {
    Ok(AuditEntry {
        actor_id: row.text(0)?,
        actor_email: row.text(1)?,
        action: row.text(2)?,
        target: row.text(3)?,
        client_addr: row.optional_text(4)?,
        created_at: row.integer(5)?,
    })
}

/// The newest entries first.
pub fn recent(db: &dyn Db, limit: i64) -> Result<Vec<AuditEntry>, DbError> {
    db.execute(
        "SELECT actor_id, actor_email, action, target, client_addr, created_at FROM admin_audit ORDER BY seq DESC LIMIT ?",
        &[limit.into()],
    )?
    .iter()
    .map(from_row)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryDb;

    #[test]
    fn entries_come_back_newest_first() {
        let db = MemoryDb::new();
        for (action, at) in [("ban", 1), ("unban", 2)] {
            insert(
                &db,
                &AuditEntry {
                    actor_id: "user_1".into(),
                    actor_email: "root@example.com".into(),
                    action: action.into(),
                    target: "user_2".into(),
                    client_addr: Some("127.0.0.1".into()),
                    created_at: at,
                },
            )
            .unwrap();
        }
        let actions: Vec<String> = recent(&db, 10).unwrap().into_iter().map(|entry| entry.action).collect();
        assert_eq!(actions, ["unban", "ban"]);
    }
}
