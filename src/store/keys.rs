//! The generated signing key, used when the `session_signing_key` variable is not set. One row
//! (slot 1): the first request to need a key inserts one, every later request reads the same.

use super::{Db, DbError, query_row};

/// The stored private scalar, inserting `candidate` first if no key exists yet. When requests
/// race, `INSERT OR IGNORE` keeps the first key and every request returns that one.
pub fn get_or_insert_generated_key(db: &dyn Db, candidate: &[u8], now: i64) -> Result<Vec<u8>, DbError> {
    if let Some(row) = query_row(db, "SELECT private_key FROM signing_keys WHERE slot = 1", &[])? {
        return row.blob(0);
    }
    db.execute(
        "INSERT OR IGNORE INTO signing_keys (slot, private_key, created_at) VALUES (1, ?, ?)",
        &[candidate.into(), now.into()],
    )?;
    query_row(db, "SELECT private_key FROM signing_keys WHERE slot = 1", &[])?
        .ok_or_else(|| DbError::Other("the signing key vanished".into()))?
        .blob(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryDb;

    #[test]
    fn the_first_key_wins_and_is_reused() {
        let db = MemoryDb::new();
        assert_eq!(get_or_insert_generated_key(&db, &[1; 32], 0).unwrap(), vec![1; 32]);
        assert_eq!(get_or_insert_generated_key(&db, &[2; 32], 1).unwrap(), vec![1; 32]);
    }
}
