//! [`PgDb`]: the store on a real PostgreSQL server for native tests, through the same statement
//! translation and error classification the component uses on Spin.

use std::cell::RefCell;

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls};

use super::postgres_server;
use crate::store::{Db, DbError, Dialect, Row, Value, dialect, migrate};

/// One connection to a database of the shared test server.
pub struct PgDb {
    client: RefCell<Client>,
    pub url: String,
    /// The schema of its own that [`PgDb::fresh_schema`] gave it.
    schema: Option<String>,
}

impl PgDb {
    /// A fresh, migrated database.
    pub fn new() -> Self {
        let db = Self::connect(&postgres_server::server().create_database());
        migrate(&db, 0).expect("migrate");
        db
    }

    /// A fresh schema of its own in the shared unit-test database, migrated by its user: fast
    /// enough to give every native test one.
    pub fn fresh_schema() -> Self {
        use std::sync::OnceLock;
        use std::sync::atomic::{AtomicUsize, Ordering};
        static DATABASE: OnceLock<String> = OnceLock::new();
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let server = postgres_server::server();
        let url = DATABASE.get_or_init(|| server.url(&server.create_database()));
        let schema = format!("unit_{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let mut db = Self::connect_url(url);
        db.schema = Some(schema.clone());
        db.client
            .borrow_mut()
            .batch_execute(&format!("CREATE SCHEMA {schema}; SET search_path TO {schema}"))
            .expect("a schema of its own");
        db
    }

    /// Another connection to the database behind `url` (concurrent requests).
    pub fn connect_url(url: &str) -> Self {
        Self {
            client: RefCell::new(Client::connect(url, NoTls).expect("connect to the test PostgreSQL")),
            url: url.to_owned(),
            schema: None,
        }
    }

    /// The schema of its own, when it has one (another connection must `SET search_path` to it).
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    fn connect(name: &str) -> Self {
        Self::connect_url(&postgres_server::server().url(name))
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.execute(sql, &[]).expect("query")[0].integer(0).expect("integer")
    }
}

/// NULL of whatever type the statement wants (Spin's host does the same).
#[derive(Debug)]
struct AnyNull;

impl ToSql for AnyNull {
    fn to_sql(&self, _: &Type, _: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull::Yes)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl Db for PgDb {
    /// Sent as the component sends it on Spin ([`dialect::postgres_call`]): statements without a
    /// result through `execute`, reads with their sentinel row through `query`.
    fn execute(&self, statement: &str, parameters: &[Value]) -> Result<Vec<Row>, DbError> {
        let Some(call) = dialect::postgres_call(statement) else {
            return Ok(Vec::new());
        };
        let boxed: Vec<Box<dyn ToSql + Sync>> = parameters
            .iter()
            .map(|value| -> Box<dyn ToSql + Sync> {
                match value {
                    Value::Integer(n) => Box::new(*n),
                    Value::Real(f) => Box::new(*f),
                    Value::Text(text) => Box::new(text.clone()),
                    Value::Blob(bytes) => Box::new(bytes.clone()),
                    Value::Null => Box::new(AnyNull),
                }
            })
            .collect();
        let references: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
        let classify = |error: postgres::Error| dialect::classify_postgres_error(&format!("{error:?}"));
        let mut client = self.client.borrow_mut();
        match call {
            dialect::PgCall::Execute(sql) => {
                client.execute(sql.as_ref(), &references).map_err(classify)?;
                Ok(Vec::new())
            }
            dialect::PgCall::Query(sql) => {
                let rows = client.query(sql.as_str(), &references).map_err(classify)?;
                assert!(
                    !rows.is_empty(),
                    "{statement:?} yielded zero rows through query: it would hang on Spin 4.0.x (spinframework/spin#3671)"
                );
                Ok(dialect::strip_sentinel(
                    rows.iter().map(row_values).collect::<Result<_, _>>()?,
                ))
            }
        }
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
}

fn row_values(row: &postgres::Row) -> Result<Row, DbError> {
    let bad = |error: postgres::Error| DbError::Other(error.to_string());
    let mut values = Vec::new();
    for (i, column) in row.columns().iter().enumerate() {
        let value = match *column.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(bad)?.map(Value::Integer),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)
                .map_err(bad)?
                .map(|n| Value::Integer(n.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)
                .map_err(bad)?
                .map(|n| Value::Integer(n.into())),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)
                .map_err(bad)?
                .map(|b| Value::Integer(b.into())),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(i).map_err(bad)?.map(Value::Real),
            Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i).map_err(bad)?.map(Value::Blob),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                row.try_get::<_, Option<String>>(i).map_err(bad)?.map(Value::Text)
            }
            _ => None,
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}
