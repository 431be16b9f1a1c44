//! The `sign_in_failures` table behind the lockout policy (`security::lockout`).

use super::{Db, DbError};

pub fn record_failure(db: &dyn Db, scope: &str, now: i64, horizon: i64) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM sign_in_failures WHERE scope = ? AND failed_at <= ?",
        &[scope.into(), (now - horizon).into()],
    )?;
    db.execute(
        "INSERT INTO sign_in_failures (scope, failed_at) VALUES (?, ?)",
        &[scope.into(), now.into()],
    )?;
    Ok(())
}

/// Failure times of a scope since `since`, ascending.
pub fn recent_failures(db: &dyn Db, scope: &str, since: i64) -> Result<Vec<i64>, DbError> {
    db.execute(
        "SELECT failed_at FROM sign_in_failures WHERE scope = ? AND failed_at > ? ORDER BY failed_at",
        &[scope.into(), since.into()],
    )?
    .iter()
    .map(|row| row.integer(0))
    .collect()
}

pub fn clear_failures(db: &dyn Db, scope: &str) -> Result<(), DbError> {
    db.execute("DELETE FROM sign_in_failures WHERE scope = ?", &[scope.into()])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryDb;

    #[test]
    fn records_prunes_and_clears() {
        let db = MemoryDb::new();
        record_failure(&db, "a", 10, 100).unwrap();
        record_failure(&db, "a", 20, 100).unwrap();
        record_failure(&db, "b", 20, 100).unwrap();
        assert_eq!(recent_failures(&db, "a", 0).unwrap(), [10, 20]);
        record_failure(&db, "a", 115, 100).unwrap();
        assert_eq!(
            recent_failures(&db, "a", 0).unwrap(),
            [20, 115],
            "10 fell out of the horizon"
        );
        clear_failures(&db, "a").unwrap();
        assert!(recent_failures(&db, "a", 0).unwrap().is_empty());
        assert_eq!(recent_failures(&db, "b", 0).unwrap(), [20]);
    }
}
