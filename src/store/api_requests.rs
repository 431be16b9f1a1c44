//! The `api_requests` table: the Backend API's requests counted per key and fixed one-minute
//! window (its rate limit). One row per key and minute; rows of past minutes are pruned when a
//! key starts a new one.

use super::{Db, DbError, query_row};

/// Counts one request of `key_id` in the window that starts at `window_start` and answers the
/// window's count, this request included: one statement (an upsert that returns the count).
pub fn count_request(db: &dyn Db, key_id: &str, window_start: i64) -> Result<i64, DbError> {
    let row = query_row(
        db,
        "INSERT INTO api_requests (key_id, window_start, requests) VALUES (?, ?, 1)
         ON CONFLICT (key_id, window_start) DO UPDATE SET requests = api_requests.requests + 1
         RETURNING requests",
        &[key_id.into(), window_start.into()],
    )?;
    let count = row
        .ok_or_else(|| DbError::Other("the request count returned no row".into()))?
        .integer(0)?;
    if count == 1 {
        // A new minute for this key: what came before no longer counts.
        db.execute(
            "DELETE FROM api_requests WHERE key_id = ? AND window_start < ?",
            &[key_id.into(), window_start.into()],
        )?;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryDb;

    #[test]
    fn counts_per_key_and_window_and_forgets_past_windows() {
        let db = MemoryDb::new();
        assert_eq!(count_request(&db, "k1", 60).unwrap(), 1);
        assert_eq!(count_request(&db, "k1", 60).unwrap(), 2);
        assert_eq!(count_request(&db, "k2", 60).unwrap(), 1, "keys count apart");
        assert_eq!(count_request(&db, "k1", 120).unwrap(), 1, "a new minute starts over");
        assert_eq!(db.count("SELECT COUNT(*) FROM api_requests WHERE key_id = 'k1'"), 1);
    }
}
