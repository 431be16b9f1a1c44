//! The `password_checks` table behind the lockout and the password-check rate limit
//! (`security::lockout`). One row per password check and scope, written *before* the check runs,
//! so a check in flight already counts; a successful check removes its rows from the lockout
//! scopes. Rows older than any policy looks at are pruned.

use super::{Db, DbError};

/// Times of a scope's checks after `since`, ascending.
pub fn check_times(db: &dyn Db, scope: &str, since: i64) -> Result<Vec<i64>, DbError> {
    db.execute(
        "SELECT checked_at FROM password_checks WHERE scope = ? AND checked_at > ? ORDER BY checked_at",
        &[scope.into(), since.into()],
    )?
    .iter()
    .map(|row| row.integer(0))
    .collect()
}

pub fn insert_check(db: &dyn Db, id: &str, scope: &str, now: i64) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO password_checks (id, scope, checked_at) VALUES (?, ?, ?)",
        &[id.into(), scope.into(), now.into()],
    )?;
    Ok(())
}

/// Removes one check's row from one scope.
pub fn delete_check(db: &dyn Db, id: &str, scope: &str) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM password_checks WHERE id = ? AND scope = ?",
        &[id.into(), scope.into()],
    )?;
    Ok(())
}

/// Forgets every check of a scope (an account's failures after its owner signs in).
pub fn clear_scope(db: &dyn Db, scope: &str) -> Result<(), DbError> {
    db.execute("DELETE FROM password_checks WHERE scope = ?", &[scope.into()])?;
    Ok(())
}

/// Forgets every check at or before `before`, in every scope.
pub fn prune(db: &dyn Db, before: i64) -> Result<(), DbError> {
    db.execute("DELETE FROM password_checks WHERE checked_at <= ?", &[before.into()])?;
    Ok(())
}

/// Admits one more event in `scope` if fewer than `limit` happened in the last `window`
/// seconds, recording it; otherwise `Err(until)`, when the oldest one leaves the window. Runs
/// inside the caller's transaction.
pub fn admit_within(db: &dyn Db, scope: &str, limit: usize, window: i64, now: i64) -> Result<Result<(), i64>, DbError> {
    let recent = check_times(db, scope, now - window)?;
    if recent.len() >= limit {
        let oldest = recent.iter().copied().min().unwrap_or(now);
        return Ok(Err(oldest + window));
    }
    insert_check(db, &crate::security::random_id("event"), scope, now)?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryDb;

    #[test]
    fn records_prunes_and_clears() {
        let db = MemoryDb::new();
        insert_check(&db, "c1", "a", 10).unwrap();
        insert_check(&db, "c2", "a", 20).unwrap();
        insert_check(&db, "c2", "b", 20).unwrap();
        assert_eq!(check_times(&db, "a", 0).unwrap(), [10, 20]);
        assert_eq!(check_times(&db, "a", 10).unwrap(), [20]);
        delete_check(&db, "c2", "a").unwrap();
        assert_eq!(check_times(&db, "a", 0).unwrap(), [10]);
        assert_eq!(check_times(&db, "b", 0).unwrap(), [20], "one check, two scopes");
        prune(&db, 10).unwrap();
        assert!(check_times(&db, "a", 0).unwrap().is_empty());
        clear_scope(&db, "b").unwrap();
        assert_eq!(db.count("SELECT COUNT(*) FROM password_checks"), 0);
    }
}
