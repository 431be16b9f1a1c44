//! Storage: the schema, its migrations, and one module per table family. All SQL goes through
//! the small [`Db`] trait, implemented on Spin's SQLite in the component and on rusqlite in
//! native tests, so the same statements run in both.
//!
//! Rules that keep Spin's SQLite honest:
//! - one statement per `execute` (Spin runs only the first statement of a string);
//! - changes that touch several rows or tables run in [`transaction`] (`BEGIN IMMEDIATE` …
//!   `COMMIT`, rolled back on any error), so a failure never leaves half a change;
//! - a busy database is retried briefly, then reported as [`DbError::Busy`] (a 503 page).

pub mod api_requests;
pub mod attempts;
pub mod audit;
pub mod dialect;
pub mod email;
pub mod events;
pub mod factors;
pub mod identities;
pub mod instance_invitations;
pub mod keys;
pub mod organizations;
pub mod passkeys;
pub mod sessions;
pub mod users;
pub mod waitlist;

pub use dialect::Dialect;

use crate::domain::{EmailAddress, InvitationId, OrgId, SessionId, UserId};

/// A SQLite value, as Spin's `fermyon:spin/sqlite` carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Null,
}

impl Value {
    /// What kind of value it is, for an error message: never the value, which may be a hash or
    /// a secret (and printing a real would link float formatting into the `.wasm`).
    fn kind(value: Option<&Value>) -> &'static str {
        match value {
            Some(Value::Integer(_)) => "an integer",
            Some(Value::Real(_)) => "a real",
            Some(Value::Text(_)) => "text",
            Some(Value::Blob(_)) => "a blob",
            Some(Value::Null) => "null",
            None => "no such column",
        }
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Self::Integer(n)
    }
}

impl From<&[u8]> for Value {
    fn from(bytes: &[u8]) -> Self {
        Self::Blob(bytes.to_vec())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Null, Into::into)
    }
}

/// Typed ids and validated values are stored as their text.
macro_rules! stored_as_text {
    ($($type:ty),*) => {
        $(impl From<&$type> for Value {
            fn from(value: &$type) -> Self {
                Self::Text(value.as_str().to_owned())
            }
        })*
    };
}

stored_as_text!(UserId, SessionId, OrgId, InvitationId, EmailAddress);

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    pub fn text(&self, i: usize) -> Result<String, DbError> {
        match self.0.get(i) {
            Some(Value::Text(text)) => Ok(text.clone()),
            other => Err(DbError::Other(format!(
                "column {i}: expected text, found {}",
                Value::kind(other)
            ))),
        }
    }

    pub fn optional_text(&self, i: usize) -> Result<Option<String>, DbError> {
        match self.0.get(i) {
            Some(Value::Null) => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    pub fn integer(&self, i: usize) -> Result<i64, DbError> {
        match self.0.get(i) {
            Some(Value::Integer(n)) => Ok(*n),
            other => Err(DbError::Other(format!(
                "column {i}: expected integer, found {}",
                Value::kind(other)
            ))),
        }
    }

    pub fn optional_integer(&self, i: usize) -> Result<Option<i64>, DbError> {
        match self.0.get(i) {
            Some(Value::Null) => Ok(None),
            _ => self.integer(i).map(Some),
        }
    }

    pub fn blob(&self, i: usize) -> Result<Vec<u8>, DbError> {
        match self.0.get(i) {
            Some(Value::Blob(bytes)) => Ok(bytes.clone()),
            other => Err(DbError::Other(format!(
                "column {i}: expected blob, found {}",
                Value::kind(other)
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    /// The database is locked by another request.
    #[error("the database is busy")]
    Busy,
    /// A UNIQUE constraint failed; the text names the column (`users.email`).
    #[error("unique constraint failed: {0}")]
    Unique(String),
    /// The database cannot be reached (down, refused the credentials, misconfigured): a 503 page.
    /// The text names the cause and never the password.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Other(String),
}

impl DbError {
    /// Classifies a SQLite error message (Spin reports errors as text).
    pub fn from_message(message: &str) -> Self {
        let lower = message.to_ascii_lowercase();
        if lower.contains("database is locked") || lower.contains("database is busy") || lower.contains("sqlite_busy") {
            Self::Busy
        } else if let Some(index) = lower.find("unique constraint failed:") {
            Self::Unique(message[index + "unique constraint failed:".len()..].trim().to_owned())
        } else {
            Self::Other(message.to_owned())
        }
    }
}

/// One database connection (SQLite or PostgreSQL). Exactly one statement per call, written in
/// the portable SQL `dialect` describes; a PostgreSQL connection translates it.
pub trait Db {
    fn execute(&self, statement: &str, parameters: &[Value]) -> Result<Vec<Row>, DbError>;

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    /// Whether changes made through this connection write webhook events (`events::Recording`
    /// says so when the operator configured webhooks; a bare connection never does).
    fn records_events(&self) -> bool {
        false
    }

    /// Notes that an event was written, so the request delivers after its response.
    fn event_recorded(&self) {}
}

/// Runs a statement and returns its first row, if any.
pub fn query_row(db: &dyn Db, statement: &str, parameters: &[Value]) -> Result<Option<Row>, DbError> {
    Ok(db.execute(statement, parameters)?.into_iter().next())
}

/// Runs `execute` again while the database reports busy: at most seven more times, waiting 10 to
/// 640 ms (1.3 s in all), then gives up with `Busy` (a 503 page). A statement that failed with `SQLITE_BUSY` did
/// nothing, so repeating it is safe, `COMMIT` included.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code, reason = "used by the Spin host only"))]
pub fn retry_while_busy<T>(mut execute: impl FnMut() -> Result<T, DbError>) -> Result<T, DbError> {
    for attempt in 0..7 {
        match execute() {
            Err(DbError::Busy) => std::thread::sleep(std::time::Duration::from_millis(10 << attempt)),
            other => return other,
        }
    }
    execute()
}

/// Runs `work` inside `BEGIN IMMEDIATE` … `COMMIT`; any error rolls everything back. Every
/// path ends the transaction explicitly: PostgreSQL connections are pooled, and one left inside a
/// transaction would poison the next request. On PostgreSQL the transaction first takes the
/// store's write lock ([`dialect::WRITE_LOCK_KEY`]), so writers run one at a time as on SQLite.
pub fn transaction<T, E: From<DbError>>(db: &dyn Db, work: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    db.execute("BEGIN IMMEDIATE", &[])?;
    if db.dialect() == Dialect::Postgres
        && let Err(error) = db.execute(
            "SELECT 1 FROM (SELECT pg_advisory_xact_lock(?)) AS write_lock",
            &[dialect::WRITE_LOCK_KEY.into()],
        )
    {
        let _ = db.execute("ROLLBACK", &[]);
        return Err(error.into());
    }
    match work() {
        Ok(value) => match db.execute("COMMIT", &[]) {
            Ok(_) => Ok(value),
            Err(error) => {
                let _ = db.execute("ROLLBACK", &[]);
                Err(error.into())
            }
        },
        Err(error) => {
            let _ = db.execute("ROLLBACK", &[]);
            Err(error)
        }
    }
}

/// The schema, one migration per entry, each a list of single statements. Never edit a
/// released migration: add a new one. Statements are idempotent (`IF NOT EXISTS`; a duplicate
/// `ADD COLUMN` is skipped) so that a
/// migration interrupted on a host without transactions can simply run again.
const MIGRATIONS: &[&[&str]] = &[
    &[
        "CREATE TABLE IF NOT EXISTS users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        username TEXT UNIQUE,
        first_name TEXT,
        last_name TEXT,
        phone_number TEXT,
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )",
        "CREATE TABLE IF NOT EXISTS portal_sessions (
        id TEXT PRIMARY KEY,
        token_hash BLOB NOT NULL UNIQUE,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        last_active_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        client_addr TEXT,
        user_agent TEXT,
        active_org_id TEXT
    )",
        "CREATE INDEX IF NOT EXISTS portal_sessions_user ON portal_sessions(user_id)",
        "CREATE TABLE IF NOT EXISTS signing_keys (
        slot INTEGER PRIMARY KEY CHECK (slot = 1),
        private_key BLOB NOT NULL,
        created_at INTEGER NOT NULL
    )",
        "CREATE TABLE IF NOT EXISTS sign_in_failures (
        scope TEXT NOT NULL,
        failed_at INTEGER NOT NULL
    )",
        "CREATE INDEX IF NOT EXISTS sign_in_failures_scope ON sign_in_failures(scope, failed_at)",
    ],
    &[
        "CREATE TABLE IF NOT EXISTS organizations (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            slug TEXT NOT NULL UNIQUE,
            created_by TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        )",
        "CREATE TABLE IF NOT EXISTS memberships (
            org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
            created_at INTEGER NOT NULL,
            PRIMARY KEY (org_id, user_id)
        )",
        "CREATE INDEX IF NOT EXISTS memberships_user ON memberships(user_id)",
        "CREATE TABLE IF NOT EXISTS invitations (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
            email TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
            status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'revoked')),
            token_hash BLOB NOT NULL UNIQUE,
            invited_by TEXT,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            responded_at INTEGER
        )",
        "CREATE INDEX IF NOT EXISTS invitations_org ON invitations(org_id, status)",
    ],
    &[
        // Password checks are recorded before Argon2 runs (lockout and rate limit); the old
        // failure log only recorded them after, and kept the raw identifier typed.
        "CREATE TABLE IF NOT EXISTS password_checks (
            id TEXT NOT NULL,
            scope TEXT NOT NULL,
            checked_at INTEGER NOT NULL,
            PRIMARY KEY (id, scope)
        )",
        "CREATE INDEX IF NOT EXISTS password_checks_scope ON password_checks(scope, checked_at)",
        "CREATE INDEX IF NOT EXISTS password_checks_time ON password_checks(checked_at)",
        "DROP TABLE IF EXISTS sign_in_failures",
    ],
    &[
        // Email: verified addresses, one-time codes, send limits, the development outbox, the
        // browsers each account has used, and the "this wasn't me" links of new-device notices.
        "ALTER TABLE users ADD COLUMN email_verified_at INTEGER",
        "CREATE TABLE IF NOT EXISTS email_codes (
            id TEXT PRIMARY KEY,
            purpose TEXT NOT NULL CHECK (purpose IN ('sign_up', 'reset', 'sign_in', 'email_change', 'verify_email')),
            email TEXT NOT NULL,
            user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
            code_hash TEXT NOT NULL,
            payload TEXT,
            target TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            sent_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER
        )",
        "CREATE INDEX IF NOT EXISTS email_codes_expiry ON email_codes(expires_at)",
        "CREATE TABLE IF NOT EXISTS email_sends (
            scope TEXT NOT NULL,
            sent_at INTEGER NOT NULL
        )",
        "CREATE INDEX IF NOT EXISTS email_sends_scope ON email_sends(scope, sent_at)",
        "CREATE TABLE IF NOT EXISTS dev_outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            recipient TEXT NOT NULL,
            subject TEXT NOT NULL,
            text_body TEXT NOT NULL,
            html_body TEXT NOT NULL,
            created_at INTEGER NOT NULL
        )",
        "CREATE TABLE IF NOT EXISTS known_devices (
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            device_hash BLOB NOT NULL,
            first_seen_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, device_hash)
        )",
        "CREATE TABLE IF NOT EXISTS sign_in_notices (
            token_hash BLOB PRIMARY KEY,
            session_id TEXT NOT NULL,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            expires_at INTEGER NOT NULL
        )",
    ],
    &[
        // The browser that started a code flow (a hash of its CSRF cookie): a sign-in, sign-up
        // or reset link opened in another browser does not complete there.
        "ALTER TABLE email_codes ADD COLUMN browser_hash BLOB",
    ],
    &[
        // Pending flows of every kind (email codes, a sign-in waiting for its second factor, …)
        // in one table whose kinds the rules name: no CHECK, so a new kind needs no rebuild.
        "CREATE TABLE IF NOT EXISTS auth_flows (
            id TEXT PRIMARY KEY,
            purpose TEXT NOT NULL,
            email TEXT NOT NULL,
            user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
            code_hash TEXT NOT NULL,
            payload TEXT,
            target TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            sent_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER,
            browser_hash BLOB
        )",
        "INSERT INTO auth_flows (id, purpose, email, user_id, code_hash, payload, target, failures, created_at, sent_at, expires_at, used_at, browser_hash)
         SELECT id, purpose, email, user_id, code_hash, payload, target, failures, created_at, sent_at, expires_at, used_at, browser_hash FROM email_codes",
        "DROP TABLE email_codes",
        "CREATE INDEX IF NOT EXISTS auth_flows_expiry ON auth_flows(expires_at)",
        "CREATE INDEX IF NOT EXISTS auth_flows_user ON auth_flows(user_id)",
        // Second factors: the authenticator app's secret (encrypted; the one being set up until
        // its first code), the last step accepted, and single-use backup codes (keyed hashes).
        "CREATE TABLE IF NOT EXISTS totp_factors (
            user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            secret BLOB,
            last_step INTEGER,
            enabled_at INTEGER,
            pending_secret BLOB,
            pending_at INTEGER
        )",
        "CREATE TABLE IF NOT EXISTS backup_codes (
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            code_hash TEXT NOT NULL,
            used_at INTEGER,
            PRIMARY KEY (user_id, code_hash)
        )",
        // What a session was signed in with, and when each factor was last verified (the
        // token's amr and fva, and the window of sensitive changes).
        "ALTER TABLE portal_sessions ADD COLUMN amr TEXT",
        "ALTER TABLE portal_sessions ADD COLUMN first_factor_at INTEGER",
        "ALTER TABLE portal_sessions ADD COLUMN second_factor_at INTEGER",
    ],
    &[
        // An organization whose members must use two-step verification (1) or need not (0).
        "ALTER TABLE organizations ADD COLUMN require_two_step INTEGER NOT NULL DEFAULT 0",
    ],
    &[
        // Passkeys (WebAuthn credentials): the COSE public key, the signature counter, the
        // flags read at registration, and the name the person sees.
        "CREATE TABLE IF NOT EXISTS passkeys (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            public_key BLOB NOT NULL,
            algorithm INTEGER NOT NULL,
            sign_count INTEGER NOT NULL,
            user_verified INTEGER NOT NULL,
            backup_eligible INTEGER NOT NULL,
            backed_up INTEGER NOT NULL,
            aaguid TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            last_used_at INTEGER
        )",
        "CREATE INDEX IF NOT EXISTS passkeys_user ON passkeys(user_id)",
    ],
    &[
        // Accounts at other identity providers linked to a user: the provider's name and its
        // subject (`sub`), unique together.
        "CREATE TABLE IF NOT EXISTS oauth_identities (
            provider TEXT NOT NULL,
            subject TEXT NOT NULL,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            email TEXT,
            created_at INTEGER NOT NULL,
            last_used_at INTEGER,
            PRIMARY KEY (provider, subject)
        )",
        "CREATE INDEX IF NOT EXISTS oauth_identities_user ON oauth_identities(user_id)",
        // Providers' discovery documents and key sets, fetched at most once an hour.
        "CREATE TABLE IF NOT EXISTS oauth_cache (
            url TEXT PRIMARY KEY,
            body TEXT NOT NULL,
            fetched_at INTEGER NOT NULL
        )",
    ],
    &[
        // Expired portal sessions are deleted as new ones start (`sessions::delete_expired`).
        "CREATE INDEX IF NOT EXISTS portal_sessions_expiry ON portal_sessions(expires_at)",
    ],
    &[
        // The operator's side: a suspended account (its sign-ins refused, its sessions ended),
        // metadata an app keeps on a user (JSON objects as text), and the Backend API's requests
        // counted per key and minute (its rate limit).
        "ALTER TABLE users ADD COLUMN banned_at INTEGER",
        "ALTER TABLE users ADD COLUMN public_metadata TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE users ADD COLUMN private_metadata TEXT NOT NULL DEFAULT '{}'",
        "CREATE TABLE IF NOT EXISTS api_requests (
            key_id TEXT NOT NULL,
            window_start INTEGER NOT NULL,
            requests INTEGER NOT NULL,
            PRIMARY KEY (key_id, window_start)
        )",
    ],
    &[
        // Metadata an app keeps on an organization (JSON objects as text), as on users.
        "ALTER TABLE organizations ADD COLUMN public_metadata TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE organizations ADD COLUMN private_metadata TEXT NOT NULL DEFAULT '{}'",
        // An invitation the operator made (no admin sent it): live while pending and unexpired.
        "ALTER TABLE invitations ADD COLUMN by_operator INTEGER NOT NULL DEFAULT 0",
    ],
    &[
        // The webhook outbox: each event written in the transaction of the change it describes,
        // then delivered (and retried) in creation order (`seq`).
        "CREATE TABLE IF NOT EXISTS webhook_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            event_type TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            delivered_at INTEGER,
            failed_at INTEGER,
            last_status INTEGER,
            last_error TEXT
        )",
        "CREATE INDEX IF NOT EXISTS webhook_events_pending ON webhook_events(delivered_at, failed_at, next_attempt_at)",
    ],
    &[
        // What operators did in the admin console: who, what, to what, when, from where.
        "CREATE TABLE IF NOT EXISTS admin_audit (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            actor_id TEXT NOT NULL,
            actor_email TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            client_addr TEXT,
            created_at INTEGER NOT NULL
        )",
    ],
    &[
        // Invitations to make an account on the instance (not into an organization): they open
        // sign-up for their address even when `sign_up_mode = restricted`. Tokens as SHA-256.
        "CREATE TABLE IF NOT EXISTS instance_invitations (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL,
            token_hash BLOB NOT NULL UNIQUE,
            status TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            responded_at INTEGER
        )",
        "CREATE INDEX IF NOT EXISTS instance_invitations_email ON instance_invitations(email)",
    ],
    &[
        // The waitlist (`sign_up_mode = waitlist`): one row per address, until the operator
        // approves it (an instance invitation is emailed) or removes it.
        "CREATE TABLE IF NOT EXISTS waitlist (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            invited_at INTEGER
        )",
    ],
];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the schema up to date. Cheap when it already is (one query); safe when requests race
/// (the check is repeated under the write lock, and each migration commits with its version).
pub fn migrate(db: &dyn Db, now: i64) -> Result<(), DbError> {
    if current_version(db).ok() == Some(SCHEMA_VERSION) {
        return Ok(());
    }
    // Write-ahead logging lets readers go on while a request writes, which matters because
    // every Spin request has its own connection. The mode is stored in the database file, so it
    // is set once, here. Hosts whose database cannot switch (a remote libSQL) keep theirs.
    if db.dialect() == Dialect::Sqlite
        && let Err(error) = db.execute("PRAGMA journal_mode = WAL", &[])
    {
        eprintln!("sqlite: keeping the current journal mode ({error})");
    }
    // Everything, the version table included, under the write lock: racing first requests
    // migrate one after the other, and the later ones find nothing left to do.
    transaction(db, || {
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
            &[],
        )?;
        let current = current_version(db)?;
        for (index, statements) in MIGRATIONS.iter().enumerate() {
            let version = index as i64 + 1;
            if version <= current {
                continue;
            }
            for statement in statements.iter() {
                match db.execute(statement, &[]) {
                    // SQLite's `ADD COLUMN` has no `IF NOT EXISTS`: a column already there is the
                    // state wanted.
                    Err(DbError::Other(message))
                        if statement.contains("ADD COLUMN") && message.contains("duplicate column name") => {}
                    other => {
                        other?;
                    }
                }
            }
            db.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                &[version.into(), now.into()],
            )?;
        }
        Ok(())
    })
}

fn current_version(db: &dyn Db) -> Result<i64, DbError> {
    let row = query_row(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?;
    row.map_or(Ok(0), |row| row.integer(0))
}

#[cfg(test)]
mod postgres_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryDb;

    #[test]
    fn migrations_are_idempotent() {
        let db = MemoryDb::new();
        migrate(&db, 1).unwrap();
        migrate(&db, 2).unwrap();
        assert_eq!(current_version(&db).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn failed_transactions_leave_nothing_behind() {
        let db = MemoryDb::new();
        let result: Result<(), DbError> = transaction(&db, || {
            db.execute(
                "INSERT INTO password_checks (id, scope, checked_at) VALUES ('c', 'x', 1)",
                &[],
            )?;
            Err(DbError::Other("boom".into()))
        });
        assert!(result.is_err());
        let rows = db.execute("SELECT COUNT(*) FROM password_checks", &[]).unwrap();
        assert_eq!(rows[0].integer(0).unwrap(), 0);
    }

    #[test]
    fn busy_statements_are_retried_then_reported() {
        let mut calls = 0;
        let result: Result<(), DbError> = retry_while_busy(|| {
            calls += 1;
            if calls < 3 { Err(DbError::Busy) } else { Ok(()) }
        });
        assert_eq!((result, calls), (Ok(()), 3));
        let mut calls = 0;
        let result: Result<(), DbError> = retry_while_busy(|| {
            calls += 1;
            Err(DbError::Busy)
        });
        assert_eq!((result, calls), (Err(DbError::Busy), 8));
    }

    #[test]
    fn error_messages_are_classified() {
        assert_eq!(DbError::from_message("database is locked"), DbError::Busy);
        assert_eq!(
            DbError::from_message("UNIQUE constraint failed: users.email"),
            DbError::Unique("users.email".into())
        );
        assert!(matches!(DbError::from_message("no such table: x"), DbError::Other(_)));
    }
}
