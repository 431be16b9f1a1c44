//! Helpers for the native test tier: an in-memory database behind the [`Db`] trait, a map of
//! variables, fixtures the rule tests share, and [`NativePortal`], which drives
//! [`portal::handle`] the way the component does (no wasm, no wasmtime), so routing, headers and
//! whole flows are tested in milliseconds.

pub mod authenticator;
pub mod email_text;
pub mod html;
pub mod postgres;
pub mod postgres_server;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

use crate::config::{FieldMode, SignUpFields, Variables};
use crate::outbound::{Http, HttpError};
use crate::portal::{self, Env};
use crate::security::lockout::{LockPolicy, RatePolicy};
use crate::service::accounts::Attempt;
use crate::store::{Db, DbError, Row, Value, migrate};

/// The store of the native tests: an in-memory rusqlite database behind the same trait as
/// Spin's SQLite, shadowed by a PostgreSQL schema of its own on the test server. Every statement
/// runs on both and the answers must agree (the same rows, or the same kind of error), so every
/// store and rule test is also a PostgreSQL test; SQLite's answer is the one returned.
pub struct MemoryDb {
    sqlite: rusqlite::Connection,
    shadow: postgres::PgDb,
}

impl Default for MemoryDb {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryDb {
    /// A fresh, migrated in-memory database (and its PostgreSQL shadow).
    pub fn new() -> Self {
        let db = Self {
            sqlite: rusqlite::Connection::open_in_memory().expect("in-memory sqlite"),
            shadow: postgres::PgDb::fresh_schema(),
        };
        migrate(&db, 0).expect("migrate");
        db
    }

    /// An in-memory database with no tables at all (a store the portal has never opened).
    pub fn unmigrated() -> Self {
        Self {
            sqlite: rusqlite::Connection::open_in_memory().expect("in-memory sqlite"),
            shadow: postgres::PgDb::fresh_schema(),
        }
    }

    /// The first column of the first row of `sql`, as an integer (`SELECT COUNT(*) …`).
    pub fn count(&self, sql: &str) -> i64 {
        self.execute(sql, &[]).expect("query")[0].integer(0).expect("integer")
    }

    fn execute_sqlite(&self, statement: &str, parameters: &[Value]) -> Result<Vec<Row>, DbError> {
        use rusqlite::types::{Value as SqlValue, ValueRef};
        let map_error = |e: rusqlite::Error| DbError::from_message(&e.to_string());
        let mut prepared = self.sqlite.prepare(statement).map_err(map_error)?;
        let columns = prepared.column_count();
        let parameters = parameters.iter().map(|value| match value {
            Value::Integer(n) => SqlValue::Integer(*n),
            Value::Real(f) => SqlValue::Real(*f),
            Value::Text(t) => SqlValue::Text(t.clone()),
            Value::Blob(b) => SqlValue::Blob(b.clone()),
            Value::Null => SqlValue::Null,
        });
        let mut rows = prepared
            .query(rusqlite::params_from_iter(parameters))
            .map_err(map_error)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(map_error)? {
            let values = (0..columns)
                .map(|i| match row.get_ref(i) {
                    Ok(ValueRef::Integer(n)) => Value::Integer(n),
                    Ok(ValueRef::Real(f)) => Value::Real(f),
                    Ok(ValueRef::Text(t)) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    Ok(ValueRef::Blob(b)) => Value::Blob(b.to_vec()),
                    Ok(ValueRef::Null) | Err(_) => Value::Null,
                })
                .collect();
            out.push(Row(values));
        }
        Ok(out)
    }
}

/// Whether two stores' answers to one statement agree: the same rows (in any order: ties in an
/// `ORDER BY` may fall either way), or errors of the same kind.
fn answers_agree(sqlite: &Result<Vec<Row>, DbError>, postgres: &Result<Vec<Row>, DbError>) -> bool {
    match (sqlite, postgres) {
        (Ok(a), Ok(b)) => {
            let sorted = |rows: &[Row]| {
                let mut text: Vec<String> = rows.iter().map(|row| format!("{row:?}")).collect();
                text.sort();
                text
            };
            a == b || sorted(a) == sorted(b)
        }
        (Err(DbError::Unique(a)), Err(DbError::Unique(b))) => a == b,
        (Err(a), Err(b)) => std::mem::discriminant(a) == std::mem::discriminant(b),
        _ => false,
    }
}

impl Db for MemoryDb {
    fn execute(&self, statement: &str, parameters: &[Value]) -> Result<Vec<Row>, DbError> {
        let sqlite = self.execute_sqlite(statement, parameters);
        // Statements PostgreSQL skips (PRAGMA) have nothing to compare.
        if crate::store::dialect::postgres(statement).is_some() {
            let shadow = self.shadow.execute(statement, parameters);
            assert!(
                answers_agree(&sqlite, &shadow),
                "SQLite and PostgreSQL disagree on {statement:?} with {parameters:?}:\n  sqlite:   {sqlite:?}\n  postgres: {shadow:?}"
            );
        }
        sqlite
    }
}

/// A valid `secret_key` for production settings in tests (never use it anywhere else).
pub const SECRET_KEY: &str = "q3Vn1a1m2Z7xkq0aY9Yq8lqkq0p2wq9oVv3t8QGxv2M=";

/// Stores a user with only an address (and a placeholder password hash) under `id`.
pub fn stored_user(db: &dyn Db, id: &str, email: &str) -> crate::store::users::User {
    let new = crate::store::users::NewUser {
        email: crate::domain::EmailAddress::parse(email).expect("a valid test address"),
        username: None,
        first_name: None,
        last_name: None,
        phone_number: None,
        password_hash: "h".into(),
        email_verified_at: None,
    };
    crate::store::users::create_user(db, &crate::domain::UserId::from_stored(id.into()), &new, 0).expect("create user")
}

/// Every optional sign-up field offered and optional: the default configuration.
pub const ALL_OPTIONAL: SignUpFields = SignUpFields {
    first_name: FieldMode::Optional,
    last_name: FieldMode::Optional,
    username: FieldMode::Optional,
    phone_number: FieldMode::Optional,
};

/// A password check from `client_addr` at `now`, locking after three failures in a minute for
/// five minutes.
pub fn attempt_from(client_addr: &'static str, now: i64) -> Attempt<'static> {
    Attempt {
        client_addr,
        policy: LockPolicy {
            max_failures: 3,
            window: 60,
            lockout: 300,
            address_max_failures: 50,
        },
        rate: RatePolicy { per_minute: 100 },
        now,
    }
}

/// Spin variables as a map: the defaults `spin.toml` declares, with overrides.
pub struct MapVariables(HashMap<String, String>);

impl MapVariables {
    /// `spin.toml`'s declared defaults, read from the manifest itself so the two never drift.
    pub fn from_manifest(overrides: &[(&str, &str)]) -> Self {
        let manifest = include_str!("../../spin.toml");
        let mut values = HashMap::new();
        let mut in_variables = false;
        for line in manifest.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_variables = line == "[variables]";
                continue;
            }
            if !in_variables {
                continue;
            }
            // `name = { default = "value", … }`
            let Some((name, declaration)) = line.split_once('=') else {
                continue;
            };
            let default = declaration
                .split_once("default = \"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(value, _)| value.to_owned());
            if let Some(default) = default {
                values.insert(name.trim().to_owned(), default);
            }
        }
        for (name, value) in overrides {
            assert!(values.contains_key(*name), "spin.toml declares no variable {name:?}");
            values.insert((*name).to_owned(), (*value).to_owned());
        }
        Self(values)
    }
}

impl Variables for MapVariables {
    fn get(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self.0.get(name).cloned())
    }
}

/// The portal's request pipeline over an in-memory database, with a clock the test sets.
pub struct NativePortal {
    pub db: MemoryDb,
    pub variables: MapVariables,
    pub http: RecordingHttp,
    pub now: Cell<i64>,
}

/// Outbound HTTP for the native tier: records every request and answers with `status` (a
/// provider that accepts, or one that refuses). The integration tier sends to a real server.
pub struct RecordingHttp {
    pub sent: RefCell<Vec<http::Request<Vec<u8>>>>,
    pub status: Cell<u16>,
}

impl Default for RecordingHttp {
    fn default() -> Self {
        Self {
            sent: RefCell::new(Vec::new()),
            status: Cell::new(200),
        }
    }
}

impl Http for RecordingHttp {
    fn send(&self, request: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, HttpError> {
        self.sent.borrow_mut().push(request);
        http::Response::builder()
            .status(self.status.get())
            .body(br#"{"message":"recorded"}"#.to_vec())
            .map_err(|error| HttpError::Failed(error.to_string()))
    }
}

/// What the portal answered, with helpers for the assertions tests make.
#[derive(Debug)]
pub struct NativeResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl NativeResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect()
    }

    /// The value of `<input name="…" value="…">`, unescaped.
    pub fn input_value(&self, name: &str) -> Option<String> {
        html::input_value(&self.body, name)
    }
}

impl NativePortal {
    pub fn new(overrides: &[(&str, &str)]) -> Self {
        Self {
            db: MemoryDb::new(),
            variables: MapVariables::from_manifest(overrides),
            http: RecordingHttp::default(),
            now: Cell::new(1_800_000_000),
        }
    }

    /// Sends a request as Spin hands it to the component: the host in the URI authority and
    /// `spin-full-url`, then Spin's `spin-client-addr`.
    pub fn send(&self, method: &str, path_and_query: &str, headers: &[(&str, &str)], body: &[u8]) -> NativeResponse {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(format!("http://127.0.0.1:3000{path_and_query}"));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder = builder
            .header("spin-full-url", format!("http://127.0.0.1:3000{path_and_query}"))
            .header("spin-client-addr", "127.0.0.1:50000");
        let request = builder.body(body.to_vec()).expect("request");
        let later = crate::service::email::AfterResponse::default();
        let env = Env {
            variables: &self.variables,
            db: &self.db,
            http: &self.http,
            now: self.now.get(),
            later: &later,
        };
        let response = portal::handle(request, &env);
        portal::after_response(&env);
        NativeResponse {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: String::from_utf8(response.body().clone()).expect("UTF-8 body"),
        }
    }

    pub fn get(&self, path_and_query: &str) -> NativeResponse {
        self.send("GET", path_and_query, &[], b"")
    }
}

/// The code in the newest email of the development outbox.
pub fn newest_emailed_code(db: &MemoryDb) -> Option<String> {
    let rows = db
        .execute("SELECT text_body FROM dev_outbox ORDER BY id DESC LIMIT 1", &[])
        .ok()?;
    email_text::code_in(&rows.first()?.text(0).ok()?)
}

/// A browser on the native portal: keeps cookies and posts forms the way a same-origin page does.
pub struct NativeBrowser<'p> {
    pub portal: &'p NativePortal,
    pub cookies: RefCell<BTreeMap<String, String>>,
    /// The origin the browser reports on form posts: the portal's, as a page on it would.
    pub origin: String,
}

impl<'p> NativeBrowser<'p> {
    pub fn new(portal: &'p NativePortal) -> Self {
        Self::at(portal, "http://127.0.0.1:3000")
    }

    /// A browser on a portal whose origin is `origin` (production's `public_origin`).
    pub fn at(portal: &'p NativePortal, origin: &str) -> Self {
        Self {
            portal,
            cookies: RefCell::new(BTreeMap::new()),
            origin: origin.to_owned(),
        }
    }

    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> NativeResponse {
        let cookie_header = self
            .cookies
            .borrow()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut all = headers.to_vec();
        if !cookie_header.is_empty() {
            all.push(("cookie", &cookie_header));
        }
        let response = self.portal.send(method, path, &all, body);
        for set_cookie in response.set_cookies() {
            let pair = set_cookie.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if value.is_empty() || set_cookie.contains("Max-Age=0") {
                self.cookies.borrow_mut().remove(name);
            } else {
                self.cookies.borrow_mut().insert(name.to_owned(), value.to_owned());
            }
        }
        response
    }

    pub fn get(&self, path_and_query: &str) -> NativeResponse {
        self.send("GET", path_and_query, &[], b"")
    }

    /// A GET with more request headers (`accept-language`, say).
    pub fn get_with(&self, path_and_query: &str, headers: &[(&str, &str)]) -> NativeResponse {
        self.send("GET", path_and_query, headers, b"")
    }

    /// Opens `page` and submits its form to `action` with its hidden fields plus `fields`.
    pub fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> NativeResponse {
        let form_page = self.get(page);
        assert_eq!(form_page.status, 200, "{}", form_page.body);
        let hidden: Vec<(&str, String)> = ["csrf_token", "redirect_target"]
            .into_iter()
            .filter_map(|name| form_page.input_value(name).map(|value| (name, value)))
            .collect();
        let mut all: Vec<(&str, &str)> = hidden.iter().map(|(name, value)| (*name, value.as_str())).collect();
        all.extend_from_slice(fields);
        self.post(action, &all)
    }

    /// When `response` sends the browser to a code page, enters the newest code the development
    /// outbox holds there (what a person reading the email does) and returns that answer.
    pub fn enter_emailed_code(&self, response: NativeResponse) -> NativeResponse {
        let Some(location) = response
            .header("location")
            .filter(|l| l.starts_with("/verify?"))
            .map(str::to_owned)
        else {
            return response;
        };
        let flow = url::form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
            .find(|(name, _)| name == "flow")
            .map(|(_, value)| value.into_owned())
            .expect("flow in the code page's address");
        let code = newest_emailed_code(&self.portal.db).expect("an emailed code");
        self.submit(&location, "/verify", &[("flow", &flow), ("code", &code)])
    }

    /// A same-origin form post.
    pub fn post(&self, action: &str, fields: &[(&str, &str)]) -> NativeResponse {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(
            "POST",
            action,
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("origin", &self.origin),
                ("sec-fetch-site", "same-origin"),
            ],
            body.as_bytes(),
        )
    }
}
