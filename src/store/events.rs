//! The `webhook_events` table (the outbox) and [`Recording`], the connection that writes events
//! only when the operator configured webhooks.
//!
//! An event is one row, written by the transaction of the change it describes (one statement
//! for every event of that change), so no change is ever committed without its event and no
//! event describes a change that was rolled back. Delivery reads rows in creation order (`seq`).

use std::cell::{Cell, OnceCell};

use super::{Db, DbError, Dialect, Row, Value, query_row};

/// A connection that knows whether to write webhook events: `on` is asked once, on the first
/// event, so a request that changes nothing never reads the webhook settings.
pub struct Recording<'a> {
    inner: &'a dyn Db,
    on: &'a dyn Fn() -> bool,
    decided: OnceCell<bool>,
    recorded: Cell<bool>,
}

impl<'a> Recording<'a> {
    pub fn new(inner: &'a dyn Db, on: &'a dyn Fn() -> bool) -> Self {
        Self {
            inner,
            on,
            decided: OnceCell::new(),
            recorded: Cell::new(false),
        }
    }

    /// Whether this request wrote an event (it then delivers after its response).
    pub fn recorded(&self) -> bool {
        self.recorded.get()
    }
}

impl Db for Recording<'_> {
    fn execute(&self, statement: &str, parameters: &[Value]) -> Result<Vec<Row>, DbError> {
        self.inner.execute(statement, parameters)
    }

    fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }

    fn records_events(&self) -> bool {
        *self.decided.get_or_init(|| (self.on)())
    }

    fn event_recorded(&self) {
        self.recorded.set(true);
    }
}

/// An event to write.
pub struct NewEvent {
    pub id: String,
    pub event_type: &'static str,
    pub body: String,
}

/// Writes `events` in one statement (inside the caller's transaction).
pub fn insert(db: &dyn Db, events: &[NewEvent], now: i64) -> Result<(), DbError> {
    if events.is_empty() {
        return Ok(());
    }
    let rows = vec!["(?, ?, ?, ?, ?)"; events.len()].join(", ");
    let mut parameters: Vec<Value> = Vec::with_capacity(events.len() * 5);
    for event in events {
        parameters.push(event.id.as_str().into());
        parameters.push(event.event_type.into());
        parameters.push(event.body.as_str().into());
        parameters.push(now.into());
        parameters.push(now.into());
    }
    db.execute(
        &format!("INSERT INTO webhook_events (id, event_type, body, created_at, next_attempt_at) VALUES {rows}"),
        &parameters,
    )?;
    Ok(())
}

/// An event as stored, with its delivery state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: String,
    pub event_type: String,
    pub body: String,
    pub created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
}

impl StoredEvent {
    /// `delivered`, `failed` (given up after three days; a retry sends it again) or `pending`
    /// (waiting for its next attempt): what the operator is told, in the API and the console.
    pub fn status(&self) -> &'static str {
        if self.delivered_at.is_some() {
            "delivered"
        } else if self.failed_at.is_some() {
            "failed"
        } else {
            "pending"
        }
    }
}

const COLUMNS: &str = "seq, id, event_type, body, created_at, attempts, next_attempt_at, delivered_at, failed_at,
    last_status, last_error";

fn from_row(row: &Row) -> Result<StoredEvent, DbError> {
    Ok(StoredEvent {
        seq: row.integer(0)?,
        id: row.text(1)?,
        event_type: row.text(2)?,
        body: row.text(3)?,
        created_at: row.integer(4)?,
        attempts: row.integer(5)?,
        next_attempt_at: row.integer(6)?,
        delivered_at: row.optional_integer(7)?,
        failed_at: row.optional_integer(8)?,
        last_status: row.optional_integer(9)?,
        last_error: row.optional_text(10)?,
    })
}

/// Events waiting for delivery whose time has come, oldest first.
pub fn due(db: &dyn Db, now: i64, limit: i64) -> Result<Vec<StoredEvent>, DbError> {
    db.execute(
        &format!(
            "SELECT {COLUMNS} FROM webhook_events
             WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? ORDER BY seq LIMIT ?"
        ),
        &[now.into(), limit.into()],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// The newest events, for the operator (delivered, waiting and given up).
pub fn recent(db: &dyn Db, limit: i64) -> Result<Vec<StoredEvent>, DbError> {
    db.execute(
        &format!("SELECT {COLUMNS} FROM webhook_events ORDER BY seq DESC LIMIT ?"),
        &[limit.into()],
    )?
    .iter()
    .map(from_row)
    .collect()
}

pub fn find(db: &dyn Db, id: &str) -> Result<Option<StoredEvent>, DbError> {
    query_row(
        db,
        &format!("SELECT {COLUMNS} FROM webhook_events WHERE id = ?"),
        &[id.into()],
    )?
    .map(|row| from_row(&row))
    .transpose()
}

pub fn mark_delivered(db: &dyn Db, seq: i64, status: u16, now: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE webhook_events SET delivered_at = ?, attempts = attempts + 1, last_status = ?, last_error = NULL
         WHERE seq = ?",
        &[now.into(), i64::from(status).into(), seq.into()],
    )?;
    Ok(())
}

/// Records a failed attempt: the next one at `next_attempt_at`, or none (`give_up`).
pub fn mark_failed(
    db: &dyn Db,
    seq: i64,
    status: Option<u16>,
    error: &str,
    next_attempt_at: i64,
    give_up_at: Option<i64>,
) -> Result<(), DbError> {
    db.execute(
        "UPDATE webhook_events SET attempts = attempts + 1, last_status = ?, last_error = ?, next_attempt_at = ?,
            failed_at = ?
         WHERE seq = ?",
        &[
            status.map(i64::from).into(),
            error.into(),
            next_attempt_at.into(),
            give_up_at.into(),
            seq.into(),
        ],
    )?;
    Ok(())
}

/// Holds every waiting event due before `until` back to `until`: while the receiver is down,
/// later events wait with the earlier one, so they are delivered in order when it is back.
pub fn hold_back(db: &dyn Db, until: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE webhook_events SET next_attempt_at = ?
         WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at < ?",
        &[until.into(), until.into()],
    )?;
    Ok(())
}

/// When the receiver was found down (the last attempt of a waiting event got no answer, a
/// timeout, 408, 429 or 5xx) and that event's next attempt is still to come: that time. Newer
/// events wait for it too, so a receiver that comes back gets them in order.
pub fn receiver_down_until(db: &dyn Db, now: i64) -> Result<Option<i64>, DbError> {
    let row = query_row(
        db,
        "SELECT MIN(next_attempt_at) FROM webhook_events
         WHERE delivered_at IS NULL AND failed_at IS NULL AND attempts > 0 AND next_attempt_at > ?
           AND (last_status IS NULL OR last_status >= 500 OR last_status IN (408, 429))",
        &[now.into()],
    )?;
    row.map_or(Ok(None), |row| row.optional_integer(0))
}

/// Sends a given-up (or waiting) event again at the next delivery; `false` if there is no
/// such event or it was delivered.
pub fn retry(db: &dyn Db, id: &str, now: i64) -> Result<bool, DbError> {
    let rows = db.execute(
        "UPDATE webhook_events SET failed_at = NULL, next_attempt_at = ?, created_at = ?
         WHERE id = ? AND delivered_at IS NULL RETURNING seq",
        &[now.into(), now.into(), id.into()],
    )?;
    Ok(!rows.is_empty())
}

/// Forgets delivered events older than `before`.
pub fn prune_delivered(db: &dyn Db, before: i64) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM webhook_events WHERE delivered_at IS NOT NULL AND delivered_at < ?",
        &[before.into()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryDb;

    fn event(id: &str) -> NewEvent {
        NewEvent {
            id: id.into(),
            event_type: "user.created",
            body: "{}".into(),
        }
    }

    #[test]
    fn events_wait_in_order_and_hold_back_together() {
        let db = MemoryDb::new();
        insert(&db, &[event("msg_1"), event("msg_2")], 10).unwrap();
        insert(&db, &[event("msg_3")], 11).unwrap();
        let due_now: Vec<String> = due(&db, 11, 10).unwrap().into_iter().map(|e| e.id).collect();
        assert_eq!(due_now, ["msg_1", "msg_2", "msg_3"]);
        let first = &due(&db, 11, 1).unwrap()[0];
        mark_failed(&db, first.seq, Some(503), "down", 100, None).unwrap();
        hold_back(&db, 100).unwrap();
        assert!(due(&db, 99, 10).unwrap().is_empty(), "all wait for the first");
        let order: Vec<String> = due(&db, 100, 10).unwrap().into_iter().map(|e| e.id).collect();
        assert_eq!(order, ["msg_1", "msg_2", "msg_3"], "and go in order");
        mark_delivered(&db, first.seq, 204, 101).unwrap();
        assert_eq!(find(&db, "msg_1").unwrap().unwrap().attempts, 2);
        prune_delivered(&db, 102).unwrap();
        assert!(find(&db, "msg_1").unwrap().is_none());
    }

    #[test]
    fn a_bare_connection_records_nothing_and_recording_asks_once() {
        let db = MemoryDb::new();
        assert!(!db.records_events());
        let asked = Cell::new(0);
        let on = || {
            asked.set(asked.get() + 1);
            true
        };
        let recording = Recording::new(&db, &on);
        assert!(recording.records_events());
        assert!(recording.records_events());
        assert_eq!(asked.get(), 1);
        assert!(!recording.recorded());
        recording.event_recorded();
        assert!(recording.recorded());
    }
}
