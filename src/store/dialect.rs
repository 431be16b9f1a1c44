//! The SQL dialects the store runs on. Statements are written once, in the SQL both SQLite and
//! PostgreSQL understand (`ON CONFLICT DO NOTHING`, `RETURNING`, `COALESCE`), with `?`
//! placeholders and SQLite's type names; [`postgres`] turns one into PostgreSQL's form. Only
//! what differs is translated, and a statement PostgreSQL has no use for is skipped.

use std::borrow::Cow;

/// Which database a [`super::Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The advisory lock key every PostgreSQL write transaction takes: the equivalent of SQLite's
/// `BEGIN IMMEDIATE` (one writer at a time), so every invariant the store keeps on SQLite (one
/// account per email, the last admin, one generated key, lockout counts, single-use codes)
/// holds the same way under concurrent requests. ("portal" in ASCII.)
pub const WRITE_LOCK_KEY: i64 = 0x706f_7274_616c;

/// `statement` for PostgreSQL, or `None` when it has nothing to do there (`PRAGMA`).
///
/// - `?` placeholders (outside quoted text) become `$1`, `$2`, …;
/// - `BEGIN IMMEDIATE` becomes `BEGIN` (the caller then takes [`WRITE_LOCK_KEY`]);
/// - in `CREATE`/`ALTER` statements: `INTEGER PRIMARY KEY AUTOINCREMENT` becomes an identity
///   column, `INTEGER` becomes `BIGINT` (SQLite integers are 64-bit), `BLOB` becomes `BYTEA`,
///   and `ADD COLUMN` gets `IF NOT EXISTS`.
#[cfg_attr(
    not(any(target_arch = "wasm32", test)),
    allow(dead_code, reason = "used by the Spin host and tests")
)]
pub fn postgres(statement: &str) -> Option<Cow<'_, str>> {
    let trimmed = statement.trim_start();
    let upper: String = trimmed.chars().take(16).collect::<String>().to_ascii_uppercase();
    if upper.starts_with("PRAGMA") {
        return None;
    }
    if trimmed.eq_ignore_ascii_case("BEGIN IMMEDIATE") {
        return Some(Cow::Borrowed("BEGIN"));
    }
    let mut text = Cow::Borrowed(statement);
    if upper.starts_with("CREATE") || upper.starts_with("ALTER") {
        text = Cow::Owned(translate_types(&text));
    }
    if text.contains('?') {
        text = Cow::Owned(number_placeholders(&text));
    }
    Some(text)
}

/// How one translated statement is sent to PostgreSQL through Spin's `fermyon:spin/postgres`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgCall<'a> {
    /// A statement whose result the caller never reads (`BEGIN`, `COMMIT`, DDL, a write without
    /// `RETURNING`): sent through the host's `execute`, which answers a count of rows changed.
    Execute(Cow<'a, str>),
    /// A statement whose rows the caller reads, wrapped by [`with_sentinel`] so the host's `query`
    /// always has at least one row to return; [`strip_sentinel`] turns its rows back into the
    /// statement's own.
    Query(String),
}

/// How `statement` (in the portable SQL) is sent to PostgreSQL, or `None` when it has nothing to
/// do there.
///
/// Why this exists: Spin 4.0.0 to 4.0.2 never return from a PostgreSQL `query` that yields zero
/// rows (spinframework/spin#3671: the host awaits the column list, which it only learns from
/// the first row). `BEGIN`, `COMMIT`, a write sent through `query`, or a `SELECT` that finds
/// nothing would hang the request and pin a pooled connection, and a guest cannot time out a
/// host call. So statements without a result go through `execute` (not affected), and every
/// read carries a sentinel row in the same statement: one round trip, as before, on every Spin
/// (3.x has no such bug and is served the same way).
#[cfg_attr(
    not(any(target_arch = "wasm32", test)),
    allow(dead_code, reason = "used by the Spin host and tests")
)]
pub fn postgres_call(statement: &str) -> Option<PgCall<'_>> {
    let translated = postgres(statement)?;
    Some(if yields_rows(&translated) {
        PgCall::Query(with_sentinel(&translated))
    } else {
        PgCall::Execute(translated)
    })
}

/// Whether the caller can read rows from `statement`: a `SELECT`, `WITH` or `VALUES` query, or a
/// write with a `RETURNING` clause. Every other statement answers nothing.
#[cfg_attr(
    not(any(target_arch = "wasm32", test)),
    allow(dead_code, reason = "used by the Spin host and tests")
)]
fn yields_rows(statement: &str) -> bool {
    let first = statement
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default();
    ["SELECT", "WITH", "VALUES"]
        .iter()
        .any(|keyword| first.eq_ignore_ascii_case(keyword))
        || statement
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|word| word.eq_ignore_ascii_case("RETURNING"))
}

/// Name of the column the sentinel wrapper puts first: the row's position in the statement's
/// result, NULL on the sentinel row.
const SENTINEL_COLUMN: &str = "portal_row";

/// `statement` wrapped so that it yields its own rows, in their order, each behind a first column
/// numbering it from 1, or, when it yields none, exactly one row whose first column is NULL.
///
/// The statement becomes a materialized common table expression (data-modifying statements
/// with `RETURNING` may only appear there, and they run once, exactly as on their own); the
/// outer query joins one constant row to its numbered rows, so an empty result still leaves
/// that one row. `row_number() OVER ()` numbers rows in the order the statement produced them,
/// which the outer `ORDER BY` keeps.
#[cfg_attr(
    not(any(target_arch = "wasm32", test)),
    allow(dead_code, reason = "used by the Spin host and tests")
)]
pub fn with_sentinel(statement: &str) -> String {
    format!(
        "WITH portal_result AS MATERIALIZED ({statement}) \
         SELECT portal_rows.* FROM (SELECT 1) AS portal_sentinel LEFT JOIN \
         (SELECT row_number() OVER () AS {SENTINEL_COLUMN}, portal_result.* FROM portal_result) AS portal_rows \
         ON TRUE ORDER BY portal_rows.{SENTINEL_COLUMN}"
    )
}

/// The statement's own rows from the rows of its [`with_sentinel`] form: the sentinel row (a
/// NULL first column) dropped, the numbering column removed from the others.
#[cfg_attr(
    not(any(target_arch = "wasm32", test)),
    allow(dead_code, reason = "used by the Spin host and tests")
)]
pub fn strip_sentinel(rows: Vec<super::Row>) -> Vec<super::Row> {
    rows.into_iter()
        .filter_map(|super::Row(mut values)| match values.first() {
            Some(super::Value::Integer(_)) => {
                values.remove(0);
                Some(super::Row(values))
            }
            _ => None,
        })
        .collect()
}

/// SQLite type names in DDL to PostgreSQL's, whole words only.
#[cfg_attr(
    not(any(target_arch = "wasm32", test)),
    allow(dead_code, reason = "used by the Spin host and tests")
)]
fn translate_types(ddl: &str) -> String {
    let ddl = ddl
        .replace(
            "INTEGER PRIMARY KEY AUTOINCREMENT",
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        )
        .replace("ADD COLUMN ", "ADD COLUMN IF NOT EXISTS ");
    let mut out = String::with_capacity(ddl.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(match word.as_str() {
            "INTEGER" => "BIGINT",
            "BLOB" => "BYTEA",
            other => other,
        });
        word.clear();
    };
    for c in ddl.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// `?` → `$n`, leaving `?` inside single-quoted text alone.
#[cfg_attr(
    not(any(target_arch = "wasm32", test)),
    allow(dead_code, reason = "used by the Spin host and tests")
)]
fn number_placeholders(statement: &str) -> String {
    let mut out = String::with_capacity(statement.len() + 8);
    let mut quoted = false;
    let mut n = 0;
    for c in statement.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

/// Classifies a PostgreSQL error as Spin reports it (the `Debug` text of the driver's error,
/// which carries the SQLSTATE, the table and the detail): a unique violation names
/// `table.column` like SQLite does, so the rules map it the same way on both databases.
#[cfg_attr(
    not(any(target_arch = "wasm32", test)),
    allow(dead_code, reason = "used by the Spin host and tests")
)]
pub fn classify_postgres_error(text: &str) -> super::DbError {
    use super::DbError;
    let field = |name: &str| {
        let start = text.find(&format!("{name}: Some(\""))? + name.len() + 8;
        let end = text[start..].find('"')? + start;
        Some(&text[start..end])
    };
    if text.contains("E23505") || text.contains("duplicate key value violates unique constraint") {
        let column = field("detail")
            .and_then(|detail| detail.strip_prefix("Key ("))
            .and_then(|rest| rest.split(')').next());
        return match (field("table"), column) {
            (Some(table), Some(column)) => DbError::Unique(format!("{table}.{column}")),
            _ => DbError::Unique(field("constraint").unwrap_or("unknown").to_owned()),
        };
    }
    // Serialization failure and deadlock: nothing was done; the statement can be tried again.
    if text.contains("E40001") || text.contains("E40P01") || text.contains("E55P03") {
        return DbError::Busy;
    }
    // Connection trouble and server shutdown: the database is not there for this request.
    if text.contains("E57P0") || text.contains("E08") || text.contains("kind: Closed") {
        return DbError::Unavailable(text.chars().take(300).collect());
    }
    DbError::Other(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(statement: &str) -> Option<String> {
        postgres(statement).map(Cow::into_owned)
    }

    #[test]
    fn placeholders_are_numbered_outside_quotes() {
        assert_eq!(
            pg("SELECT a FROM t WHERE b = ? AND c = '?' AND d > ?").as_deref(),
            Some("SELECT a FROM t WHERE b = $1 AND c = '?' AND d > $2")
        );
        assert_eq!(pg("SELECT 1").as_deref(), Some("SELECT 1"));
    }

    #[test]
    fn ddl_types_become_postgres_types() {
        assert_eq!(
            pg(
                "CREATE TABLE IF NOT EXISTS k (slot INTEGER PRIMARY KEY CHECK (slot = 1), key BLOB NOT NULL, n INTEGER)"
            )
            .as_deref(),
            Some(
                "CREATE TABLE IF NOT EXISTS k (slot BIGINT PRIMARY KEY CHECK (slot = 1), key BYTEA NOT NULL, n BIGINT)"
            )
        );
        assert_eq!(
            pg("CREATE TABLE o (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT)").as_deref(),
            Some("CREATE TABLE o (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, body TEXT)")
        );
        assert_eq!(
            pg("ALTER TABLE users ADD COLUMN email_verified_at INTEGER").as_deref(),
            Some("ALTER TABLE users ADD COLUMN IF NOT EXISTS email_verified_at BIGINT")
        );
        // Names that merely contain a type name stay as they are.
        assert_eq!(
            pg("CREATE INDEX IF NOT EXISTS blobs_integer_idx ON t(blob_id)").as_deref(),
            Some("CREATE INDEX IF NOT EXISTS blobs_integer_idx ON t(blob_id)")
        );
    }

    #[test]
    fn data_statements_keep_their_words() {
        // `INTEGER` in a data statement is data, not a type.
        assert_eq!(
            pg("UPDATE t SET note = 'INTEGER BLOB' WHERE id = ?").as_deref(),
            Some("UPDATE t SET note = 'INTEGER BLOB' WHERE id = $1")
        );
    }

    #[test]
    fn sqlite_only_statements_are_skipped_or_replaced() {
        assert_eq!(pg("PRAGMA journal_mode = WAL"), None);
        assert_eq!(pg("BEGIN IMMEDIATE").as_deref(), Some("BEGIN"));
        assert_eq!(pg("COMMIT").as_deref(), Some("COMMIT"));
    }

    #[test]
    fn unique_violations_name_table_and_column_like_sqlite() {
        let spin_text = r#"Error { kind: Db, cause: Some(DbError { severity: "ERROR", parsed_severity: Some(Error), code: SqlState(E23505), message: "duplicate key value violates unique constraint \"users_email_key\"", detail: Some("Key (email)=(ada@example.com) already exists."), hint: None, position: None, where_: None, schema: Some("public"), table: Some("users"), column: None, datatype: None, constraint: Some("users_email_key"), file: Some("nbtinsert.c"), line: Some(664), routine: Some("_bt_check_unique") }) }"#;
        assert_eq!(
            classify_postgres_error(spin_text),
            super::super::DbError::Unique("users.email".into())
        );
        assert!(matches!(
            classify_postgres_error("Error { kind: Db, cause: Some(DbError { code: SqlState(E40P01) }) }"),
            super::super::DbError::Busy
        ));
        assert!(matches!(
            classify_postgres_error("Error { kind: Db, cause: Some(DbError { code: SqlState(E42601) }) }"),
            super::super::DbError::Other(_)
        ));
    }

    #[test]
    fn statements_without_results_go_through_execute() {
        for statement in [
            "BEGIN IMMEDIATE",
            "COMMIT",
            "ROLLBACK",
            "CREATE TABLE IF NOT EXISTS t (a INTEGER)",
            "INSERT INTO t (a) VALUES (?)",
            "UPDATE t SET a = ? WHERE a = ?",
            "DELETE FROM t WHERE a = ?",
            "INSERT INTO t (a) VALUES (1) ON CONFLICT DO NOTHING",
            "UPDATE t SET returning_soon = 1",
        ] {
            assert!(
                matches!(postgres_call(statement), Some(PgCall::Execute(_))),
                "{statement}"
            );
        }
        assert_eq!(postgres_call("PRAGMA journal_mode = WAL"), None);
    }

    #[test]
    fn reads_carry_their_sentinel_in_the_same_statement() {
        for statement in [
            "SELECT a FROM t WHERE b = ?",
            "  select COUNT(*) FROM t",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "DELETE FROM t WHERE a = ? RETURNING a",
            "UPDATE t SET a = 1\nRETURNING a",
        ] {
            let Some(PgCall::Query(sql)) = postgres_call(statement) else {
                panic!("{statement} must go through query");
            };
            assert!(sql.starts_with("WITH portal_result AS MATERIALIZED ("), "{sql}");
            assert!(!sql.contains('?'), "placeholders numbered: {sql}");
        }
    }

    #[test]
    fn the_sentinel_row_is_dropped_and_the_numbering_removed() {
        use super::super::{Row, Value};
        let sentinel_only = vec![Row(vec![Value::Null, Value::Null])];
        assert_eq!(strip_sentinel(sentinel_only), Vec::<Row>::new());
        let rows = vec![
            Row(vec![Value::Integer(1), Value::Text("a".into())]),
            Row(vec![Value::Integer(2), Value::Null]),
        ];
        assert_eq!(
            strip_sentinel(rows),
            vec![Row(vec![Value::Text("a".into())]), Row(vec![Value::Null])]
        );
    }

    #[test]
    fn every_migration_translates() {
        for statements in super::super::MIGRATIONS {
            for statement in *statements {
                let translated = pg(statement).unwrap();
                assert!(!translated.contains("AUTOINCREMENT"), "{translated}");
                assert!(!translated.contains(" BLOB"), "{translated}");
                assert!(!translated.contains(" INTEGER"), "{translated}");
            }
        }
    }
}
