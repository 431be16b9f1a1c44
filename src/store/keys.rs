//! The generated signing key of a development portal with no `secret_key`, so that `spin up`
//! needs no configuration. One row (slot 1): the first request to need a key inserts one, every
//! later request reads the same. Production never reads it: its keys derive from `secret_key`.

use super::{Db, DbError, query_row};

/// The stored private scalar, if one was generated.
pub fn find_generated_key(db: &dyn Db) -> Result<Option<Vec<u8>>, DbError> {
    query_row(db, "SELECT private_key FROM signing_keys WHERE slot = 1", &[])?
        .map(|row| row.blob(0))
        .transpose()
}

/// Stores `candidate` unless a key exists, and returns the stored key. When requests race,
/// `ON CONFLICT DO NOTHING` keeps the first key and every request returns that one.
pub fn insert_generated_key(db: &dyn Db, candidate: &[u8], now: i64) -> Result<Vec<u8>, DbError> {
    db.execute(
        "INSERT INTO signing_keys (slot, private_key, created_at) VALUES (1, ?, ?) ON CONFLICT DO NOTHING",
        &[candidate.into(), now.into()],
    )?;
    find_generated_key(db)?.ok_or_else(|| DbError::Other("the signing key vanished".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryDb;

    #[test]
    fn the_first_key_wins_and_is_reused() {
        let db = MemoryDb::new();
        assert_eq!(find_generated_key(&db).unwrap(), None);
        assert_eq!(insert_generated_key(&db, &[1; 32], 0).unwrap(), vec![1; 32]);
        assert_eq!(insert_generated_key(&db, &[2; 32], 1).unwrap(), vec![1; 32]);
        assert_eq!(find_generated_key(&db).unwrap(), Some(vec![1; 32]));
    }
}
