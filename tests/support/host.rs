//! A small Spin stand-in for tests: it runs the release `.wasm` that `spin build` produces, turned
//! into a component the way Spin does at load time, inside wasmtime with the interfaces Spin gives
//! an HTTP component: `wasi:http` (incoming handler; outgoing requests only to the hosts
//! `allowed_outbound_hosts` grants), WASI preview 1 through
//! the reactor adapter, `fermyon:spin/variables@2.0.0` resolved from `spin.toml` like Spin does,
//! and `fermyon:spin/sqlite@2.0.0` on rusqlite.
//!
//! Faithful where it matters for the portal:
//! - one fresh store and instance per request; nothing survives in the guest between requests;
//! - every `open` is its own SQLite connection on one shared database file, so concurrent
//!   requests race as they do under Spin; one statement per `execute`;
//! - the `host` header is stripped; the host name reaches the guest only through the request
//!   URI authority and `spin-full-url`, with the other `spin-*` headers Spin adds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime::component::{Component, HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

wasmtime::component::bindgen!({
    path: "tests/support/wit",
    world: "test-host",
    with: {
        "fermyon:spin/sqlite.connection": SqliteConnection,
        "fermyon:spin/postgres.connection": PgConnection,
    },
});

use fermyon::spin::{postgres, rdbms_types, sqlite, variables};

/// One application: its variables (as `spin.toml` plus `SPIN_VARIABLE_*`-style overrides) and its
/// SQLite file.
pub struct AppConfig {
    pub variables: HashMap<String, String>,
    pub component_variables: HashMap<String, String>,
    /// `allowed_outbound_hosts`, templates resolved against the application variables.
    pub allowed_outbound_hosts: Vec<AllowedHost>,
    pub database: PathBuf,
}

impl AppConfig {
    /// Resolves `spin.toml`'s component variables with `overrides` applied to application
    /// variables, as `spin up --variable` would.
    pub fn new(database: PathBuf, overrides: &[(&str, &str)]) -> Self {
        let manifest = manifest();
        let mut variables: HashMap<String, String> = HashMap::new();
        for (name, declaration) in &manifest.variables {
            if let Some(default) = &declaration.default {
                variables.insert(name.clone(), default.clone());
            }
        }
        for (name, value) in overrides {
            assert!(
                manifest.variables.contains_key(*name),
                "test sets variable {name:?} that spin.toml does not declare"
            );
            variables.insert((*name).to_owned(), (*value).to_owned());
        }
        for (name, declaration) in &manifest.variables {
            assert!(
                !declaration.required || variables.contains_key(name),
                "spin.toml requires variable {name:?}"
            );
        }
        let component = manifest
            .component
            .get("account-portal")
            .expect("spin.toml has component account-portal");
        let allowed_outbound_hosts = component
            .allowed_outbound_hosts
            .iter()
            .map(|entry| {
                let resolved = expand_template(entry, &variables)
                    .unwrap_or_else(|missing| panic!("allowed_outbound_hosts names unknown variable {missing:?}"));
                assert!(
                    !resolved.trim().is_empty(),
                    "Spin refuses the allowed_outbound_hosts entry {entry:?}: it resolves to an empty string"
                );
                AllowedHost::parse(&resolved)
                    .unwrap_or_else(|error| panic!("Spin refuses allowed_outbound_hosts: {error}"))
            })
            .collect();
        Self {
            variables,
            component_variables: component.variables.clone(),
            allowed_outbound_hosts,
            database,
        }
    }

    /// The value the component gets for variable `name` (empty when it has none).
    pub fn variable(&self, name: &str) -> String {
        self.resolve(name).unwrap_or_default()
    }

    fn resolve(&self, name: &str) -> Result<String, variables::Error> {
        let valid_name = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid_name {
            return Err(variables::Error::InvalidName(name.to_owned()));
        }
        let template = self
            .component_variables
            .get(name)
            .ok_or_else(|| variables::Error::Undefined(format!("no variable for {name:?}")))?;
        expand_template(template, &self.variables)
            .map_err(|missing| variables::Error::Provider(format!("no value for variable {missing:?}")))
    }
}

fn expand_template(template: &str, values: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").ok_or_else(|| template.to_owned())? + start;
        let name = rest[start + 2..end].trim();
        out.push_str(values.get(name).ok_or_else(|| name.to_owned())?);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[derive(serde::Deserialize)]
struct Manifest {
    #[serde(default)]
    variables: HashMap<String, VariableDeclaration>,
    #[serde(default)]
    component: HashMap<String, ComponentDeclaration>,
}

#[derive(serde::Deserialize)]
struct VariableDeclaration {
    default: Option<String>,
    #[serde(default)]
    required: bool,
}

#[derive(serde::Deserialize, Default)]
struct ComponentDeclaration {
    #[serde(default)]
    variables: HashMap<String, String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
}

/// One `allowed_outbound_hosts` entry after its templates are resolved, matched as Spin 4.0.2's
/// `outbound-networking-config` does: scheme (or `*`), host (literal, `*.suffix` or `*`) and
/// port (the scheme's default when none is written, or `*`). Spin refuses an entry that does not
/// parse, and one whose template resolves to an empty string: so does this host.
#[derive(Debug, Clone)]
pub struct AllowedHost {
    scheme: Option<String>,
    host: HostRule,
    port: Option<u16>,
}

#[derive(Debug, Clone)]
enum HostRule {
    Any,
    Subdomains(String),
    Literal(String),
}

fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "postgres" => Some(5432),
        _ => None,
    }
}

impl AllowedHost {
    pub fn parse(entry: &str) -> Result<Self, String> {
        let entry = entry.trim();
        let (scheme, rest) = entry
            .split_once("://")
            .ok_or_else(|| format!("{entry:?} does not contain a scheme"))?;
        if scheme != "*" && (scheme.is_empty() || !scheme.chars().all(char::is_alphabetic)) {
            return Err(format!("invalid scheme in {entry:?}"));
        }
        let (host, port) = rest.rsplit_once(':').unwrap_or((rest, ""));
        let port = match port.split_once('/') {
            Some((_, path)) if !path.is_empty() => return Err(format!("{entry:?} has a path")),
            Some((port, _)) => port,
            None => port,
        };
        let host = host.trim_end_matches('/');
        if host.is_empty() || host.contains('/') {
            return Err(format!("invalid host in {entry:?}"));
        }
        let port = match port {
            "*" => None,
            "" => Some(well_known_port(scheme).ok_or_else(|| format!("no port for scheme {scheme:?}"))?),
            digits => Some(digits.parse().map_err(|_| format!("port {digits:?} is not a number"))?),
        };
        let host = if host == "*" {
            HostRule::Any
        } else if let Some(suffix) = host.strip_prefix("*.") {
            HostRule::Subdomains(format!(".{}", suffix.to_ascii_lowercase()))
        } else if host.contains('*') {
            return Err(format!("wildcards are allowed only as subdomains: {entry:?}"));
        } else {
            HostRule::Literal(host.to_ascii_lowercase())
        };
        Ok(Self {
            scheme: (scheme != "*").then(|| scheme.to_owned()),
            host,
            port,
        })
    }

    pub fn allows(&self, uri: &http::Uri) -> bool {
        let Some(scheme) = uri.scheme_str() else { return false };
        let Some(host) = uri.host().map(str::to_ascii_lowercase) else {
            return false;
        };
        let port = uri.port_u16().or_else(|| well_known_port(scheme));
        self.scheme.as_deref().is_none_or(|allowed| allowed == scheme)
            && match &self.host {
                HostRule::Any => true,
                HostRule::Subdomains(suffix) => host.ends_with(suffix.as_str()),
                HostRule::Literal(literal) => host == *literal,
            }
            && self.port.is_none_or(|allowed| Some(allowed) == port)
    }
}

fn manifest() -> &'static Manifest {
    static MANIFEST: OnceLock<Manifest> = OnceLock::new();
    MANIFEST.get_or_init(|| {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("spin.toml")).expect("read spin.toml");
        toml::from_str(&text).expect("parse spin.toml")
    })
}

pub struct SqliteConnection(rusqlite::Connection);

/// What one request asked of the host, in order: the budgets of the hot pages are counts of these
/// (the host cannot price them: on a real Spin a variable lookup or a statement is a trip through
/// providers or SQLite).
#[derive(Debug, Clone, Default)]
pub struct HostCalls {
    /// Names passed to `fermyon:spin/variables.get`.
    pub variables: Vec<String>,
    /// Statements passed to `fermyon:spin/sqlite.execute`.
    pub statements: Vec<String>,
    /// URIs of outgoing HTTP requests.
    pub outbound: Vec<String>,
    /// The largest linear memory the instance had, in bytes. Spin resets an instance's memory
    /// after every request (up to 2 MiB by memset and copy, the rest given back and faulted in
    /// again by the next request), so memory is a cost of every request too.
    pub memory_bytes: usize,
}

/// Records the largest linear memory an instance asks for (its initial size included: wasmtime
/// asks the limiter when it creates a memory too).
impl wasmtime::ResourceLimiter for HostCalls {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.memory_bytes = self.memory_bytes.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, _desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// Per-request store data.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutboundHosts,
    app: Arc<AppConfig>,
    calls: HostCalls,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Outgoing HTTP as Spin gives it: a destination `allowed_outbound_hosts` does not grant is
/// refused with `HttpRequestDenied` before any connection; a granted one is sent for real (plain
/// `http` only: the tests' servers run on loopback).
struct OutboundHosts {
    allowed: Vec<AllowedHost>,
    attempted: Vec<String>,
}

impl WasiHttpHooks for OutboundHosts {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<wasmtime_wasi_http::WasiBody>,
                        Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
        self.attempted.push(request.uri().to_string());
        if !self.allowed.iter().any(|allowed| allowed.allows(request.uri())) {
            return Box::new(async { Err(ErrorCode::HttpRequestDenied.into()) });
        }
        Box::new(async move {
            let timeout = options
                .and_then(|options| options.first_byte_timeout)
                .unwrap_or(std::time::Duration::from_secs(30));
            let sent = tokio::time::timeout(timeout, forward(request)).await;
            let response = match sent {
                Ok(Ok(response)) => response,
                Ok(Err(code)) => return Err(code.into()),
                Err(_) => return Err(ErrorCode::ConnectionReadTimeout.into()),
            };
            let done: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send> =
                Box::new(async { Ok(()) });
            Ok((response, done))
        })
    }
}

/// Sends a guest's request over plain HTTP/1.1 and reads the whole answer.
async fn forward(
    request: http::Request<wasmtime_wasi_http::WasiBody>,
) -> Result<http::Response<wasmtime_wasi_http::WasiBody>, wasmtime_wasi_http::p2::bindings::http::types::ErrorCode> {
    use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
    let (mut parts, body) = request.into_parts();
    if parts.uri.scheme_str() != Some("http") {
        return Err(ErrorCode::InternalError(Some(
            "the test host sends plain http only".into(),
        )));
    }
    let authority = parts.uri.authority().ok_or(ErrorCode::HttpRequestUriInvalid)?.clone();
    let address = format!("{}:{}", authority.host(), authority.port_u16().unwrap_or(80));
    let body = body
        .collect()
        .await
        .map_err(|_| ErrorCode::HttpRequestBodySize(None))?
        .to_bytes();
    parts.headers.insert(
        http::header::HOST,
        authority
            .as_str()
            .parse()
            .map_err(|_| ErrorCode::HttpRequestUriInvalid)?,
    );
    parts.uri = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .map_err(|_| ErrorCode::HttpRequestUriInvalid)?;
    let stream = tokio::net::TcpStream::connect(&address)
        .await
        .map_err(|_| ErrorCode::ConnectionRefused)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|_| ErrorCode::ConnectionTerminated)?;
    tokio::spawn(connection);
    let response = sender
        .send_request(http::Request::from_parts(parts, Full::new(body)))
        .await
        .map_err(|_| ErrorCode::ConnectionTerminated)?;
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|_| ErrorCode::ConnectionTerminated)?
        .to_bytes();
    let body = Full::new(bytes)
        .map_err(|never: std::convert::Infallible| -> wasmtime_wasi_http::Error { match never {} })
        .boxed_unsync();
    Ok(http::Response::from_parts(parts, body))
}

impl variables::Host for HostState {
    fn get(&mut self, name: String) -> Result<String, variables::Error> {
        self.calls.variables.push(name.clone());
        self.app.resolve(&name)
    }
}

impl sqlite::Host for HostState {}

impl sqlite::HostConnection for HostState {
    fn open(&mut self, database: String) -> Result<Resource<SqliteConnection>, sqlite::Error> {
        if database != "default" {
            return Err(sqlite::Error::NoSuchDatabase);
        }
        let connection =
            rusqlite::Connection::open(&self.app.database).map_err(|e| sqlite::Error::Io(e.to_string()))?;
        self.table
            .push(SqliteConnection(connection))
            .map_err(|e| sqlite::Error::Io(e.to_string()))
    }

    fn execute(
        &mut self,
        connection: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<sqlite::Value>,
    ) -> Result<sqlite::QueryResult, sqlite::Error> {
        self.calls.statements.push(statement.clone());
        let connection = self
            .table
            .get(&connection)
            .map_err(|_| sqlite::Error::InvalidConnection)?;
        execute(&connection.0, &statement, parameters).map_err(|e| sqlite::Error::Io(e.to_string()))
    }

    fn drop(&mut self, connection: Resource<SqliteConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

/// A pooled PostgreSQL connection handed to the guest (Spin keeps a pool per address and gives a
/// pooled client to every `open`; it goes back to the pool when the guest drops the resource).
pub struct PgConnection {
    address: String,
    client: Option<tokio_postgres::Client>,
}

/// Idle clients per connection string, shared by every request of the test process, as Spin's
/// pool is shared by every request of a Spin process.
fn pg_pool() -> &'static std::sync::Mutex<HashMap<String, Vec<tokio_postgres::Client>>> {
    static POOL: OnceLock<std::sync::Mutex<HashMap<String, Vec<tokio_postgres::Client>>>> = OnceLock::new();
    POOL.get_or_init(Default::default)
}

/// The runtime PostgreSQL connections live on: its own, so a synchronous host function can wait
/// for a call from any thread (a guest that also has outbound HTTP in flight on the test host's
/// runtime included) without borrowing that runtime's workers.
fn pg_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("the PostgreSQL runtime")
    })
}

/// Runs an async PostgreSQL call from a synchronous host function, on [`pg_runtime`], from a
/// scoped thread that is in no runtime's context.
fn pg_block<T: Send>(future: impl Future<Output = T> + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| pg_runtime().block_on(future))
            .join()
            .expect("a PostgreSQL call panicked")
    })
}

/// NULL of whatever type the statement wants, as Spin's `PgNull`.
#[derive(Debug)]
struct AnyNull;

impl tokio_postgres::types::ToSql for AnyNull {
    fn to_sql(
        &self,
        _: &tokio_postgres::types::Type,
        _: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(tokio_postgres::types::IsNull::Yes)
    }

    fn accepts(_: &tokio_postgres::types::Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

fn pg_parameters(params: Vec<rdbms_types::ParameterValue>) -> Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> {
    use rdbms_types::ParameterValue as P;
    params
        .into_iter()
        .map(|value| -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
            match value {
                P::Boolean(b) => Box::new(b),
                P::Int8(n) => Box::new(n),
                P::Int16(n) => Box::new(n),
                P::Int32(n) => Box::new(n),
                P::Int64(n) => Box::new(n),
                P::Uint8(n) => Box::new(i16::from(n)),
                P::Uint16(n) => Box::new(i32::from(n)),
                P::Uint32(n) => Box::new(i64::from(n)),
                P::Uint64(n) => Box::new(n as i64),
                P::Floating32(f) => Box::new(f),
                P::Floating64(f) => Box::new(f),
                P::Str(text) => Box::new(text),
                P::Binary(bytes) => Box::new(bytes),
                P::DbNull => Box::new(AnyNull),
            }
        })
        .collect()
}

fn pg_row_set(rows: Vec<tokio_postgres::Row>, columns: &[tokio_postgres::Column]) -> rdbms_types::RowSet {
    use rdbms_types::{DbDataType as T, DbValue as V};
    use tokio_postgres::types::Type;
    let data_type = |ty: &Type| match *ty {
        Type::BOOL => T::Boolean,
        Type::INT2 => T::Int16,
        Type::INT4 => T::Int32,
        Type::INT8 => T::Int64,
        Type::FLOAT4 => T::Floating32,
        Type::FLOAT8 => T::Floating64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => T::Str,
        Type::BYTEA => T::Binary,
        _ => T::Other,
    };
    let value = |row: &tokio_postgres::Row, i: usize, ty: &Type| -> V {
        macro_rules! get {
            ($t:ty, $variant:expr) => {
                match row.try_get::<_, Option<$t>>(i) {
                    Ok(Some(v)) => $variant(v),
                    Ok(None) => V::DbNull,
                    Err(_) => V::Unsupported,
                }
            };
        }
        match *ty {
            Type::BOOL => get!(bool, V::Boolean),
            Type::INT2 => get!(i16, V::Int16),
            Type::INT4 => get!(i32, V::Int32),
            Type::INT8 => get!(i64, V::Int64),
            Type::FLOAT4 => get!(f32, V::Floating32),
            Type::FLOAT8 => get!(f64, V::Floating64),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => get!(String, V::Str),
            Type::BYTEA => get!(Vec<u8>, V::Binary),
            _ => V::Unsupported,
        }
    };
    rdbms_types::RowSet {
        columns: columns
            .iter()
            .map(|column| rdbms_types::Column {
                name: column.name().to_owned(),
                data_type: data_type(column.type_()),
            })
            .collect(),
        rows: rows
            .iter()
            .map(|row| {
                row.columns()
                    .iter()
                    .enumerate()
                    .map(|(i, column)| value(row, i, column.type_()))
                    .collect()
            })
            .collect(),
    }
}

impl rdbms_types::Host for HostState {}

/// What a PostgreSQL call asks for: the rows (`query`) or the count of rows changed (`execute`).
enum PgAnswer {
    Rows(rdbms_types::RowSet),
    Changed(u64),
}

impl HostState {
    /// Runs one statement on a guest's pooled connection, recording it; errors come back as
    /// Spin reports them (the driver's `Debug` text).
    fn pg_call(
        &mut self,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<rdbms_types::ParameterValue>,
        want_rows: bool,
    ) -> Result<PgAnswer, rdbms_types::Error> {
        self.calls.statements.push(statement.clone());
        let client = self
            .table
            .get(&connection)
            .ok()
            .and_then(|connection| connection.client.as_ref())
            .ok_or_else(|| rdbms_types::Error::ConnectionFailed("no connection found".into()))?;
        let params = pg_parameters(params);
        let references: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        pg_block(async {
            let prepared = client.prepare(&statement).await?;
            if want_rows {
                let rows = client.query(&prepared, &references).await?;
                Ok(PgAnswer::Rows(pg_row_set(rows, prepared.columns())))
            } else {
                Ok(PgAnswer::Changed(client.execute(&prepared, &references).await?))
            }
        })
        .map_err(|error: tokio_postgres::Error| rdbms_types::Error::QueryFailed(format!("{error:?}")))
    }
}

impl postgres::Host for HostState {}

impl postgres::HostConnection for HostState {
    fn open(&mut self, address: String) -> Result<Resource<PgConnection>, rdbms_types::Error> {
        use rdbms_types::Error;
        let config: tokio_postgres::Config = address.parse().map_err(|e| Error::ConnectionFailed(format!("{e:?}")))?;
        // Spin checks every host and port of the address against allowed_outbound_hosts.
        let hosts = config.get_hosts().iter().filter_map(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => Some(name.clone()),
            #[allow(unreachable_patterns)]
            _ => None,
        });
        let port = config.get_ports().first().copied().unwrap_or(5432);
        for host in hosts {
            let uri: http::Uri = format!("postgres://{host}:{port}")
                .parse()
                .map_err(|_| Error::ConnectionFailed("bad address".into()))?;
            if !self
                .app
                .allowed_outbound_hosts
                .iter()
                .any(|allowed| allowed.allows(&uri))
            {
                self.calls.outbound.push(uri.to_string());
                return Err(Error::ConnectionFailed(format!(
                    "address postgres://{host}:{port} is not permitted by allowed_outbound_hosts"
                )));
            }
        }
        let pooled = pg_pool().lock().unwrap().get_mut(&address).and_then(Vec::pop);
        let client = match pooled {
            Some(client) if !client.is_closed() => client,
            _ => {
                let (client, connection) = pg_block(config.connect(tokio_postgres::NoTls))
                    .map_err(|e| Error::ConnectionFailed(format!("{e:?}")))?;
                pg_runtime().spawn(connection);
                client
            }
        };
        self.table
            .push(PgConnection {
                address,
                client: Some(client),
            })
            .map_err(|e| Error::Other(e.to_string()))
    }

    fn query(
        &mut self,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<rdbms_types::ParameterValue>,
    ) -> Result<rdbms_types::RowSet, rdbms_types::Error> {
        match self.pg_call(connection, statement.clone(), params, true)? {
            // Spin 4.0.0–4.0.2 never return from a `query` that yields no row: the request would
            // hang there forever, so here it fails the test instead of answering.
            PgAnswer::Rows(set) if set.rows.is_empty() => panic!(
                "PostgreSQL query yielded zero rows: it would hang on Spin 4.0.x (spinframework/spin#3671); \
                 send it through execute, or give it a sentinel row: {statement}"
            ),
            PgAnswer::Rows(set) => Ok(set),
            PgAnswer::Changed(_) => Err(rdbms_types::Error::Other("expected rows".into())),
        }
    }

    fn execute(
        &mut self,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<rdbms_types::ParameterValue>,
    ) -> Result<u64, rdbms_types::Error> {
        match self.pg_call(connection, statement, params, false)? {
            PgAnswer::Changed(count) => Ok(count),
            PgAnswer::Rows(_) => Err(rdbms_types::Error::Other("expected a count".into())),
        }
    }

    /// Back to the pool, as Spin's pool takes it back. A connection still inside a transaction
    /// would poison the next request that gets it: that is a bug in the guest, so it fails the
    /// test here instead of being handed on.
    fn drop(&mut self, connection: Resource<PgConnection>) -> wasmtime::Result<()> {
        let mut connection = self.table.delete(connection)?;
        if let Some(client) = connection.client.take() {
            // Outside a transaction this simple query is the first command of its own, so the
            // transaction's time is the statement's; inside one left open, it is earlier.
            let in_transaction = pg_block(client.simple_query("SELECT now() <> statement_timestamp()"))
                .ok()
                .and_then(|messages| {
                    messages.into_iter().find_map(|message| match message {
                        tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(|v| v == "t"),
                        _ => None,
                    })
                })
                .unwrap_or(false);
            assert!(
                !in_transaction,
                "the guest returned a PostgreSQL connection to the pool inside an open transaction"
            );
            pg_pool()
                .lock()
                .unwrap()
                .entry(connection.address)
                .or_default()
                .push(client);
        }
        Ok(())
    }
}

/// Runs one statement, as Spin does: prepare, bind, collect every row.
fn execute(
    connection: &rusqlite::Connection,
    statement: &str,
    parameters: Vec<sqlite::Value>,
) -> rusqlite::Result<sqlite::QueryResult> {
    use rusqlite::types::{Value as SqlValue, ValueRef};
    let mut prepared = connection.prepare_cached(statement)?;
    let columns: Vec<String> = prepared.column_names().iter().map(|c| c.to_string()).collect();
    let parameters = parameters.into_iter().map(|value| match value {
        sqlite::Value::Integer(i) => SqlValue::Integer(i),
        sqlite::Value::Real(f) => SqlValue::Real(f),
        sqlite::Value::Text(t) => SqlValue::Text(t),
        sqlite::Value::Blob(b) => SqlValue::Blob(b),
        sqlite::Value::Null => SqlValue::Null,
    });
    let mut rows = prepared.query(rusqlite::params_from_iter(parameters))?;
    let mut results = Vec::new();
    while let Some(row) = rows.next()? {
        let values = (0..columns.len())
            .map(|i| {
                Ok(match row.get_ref(i)? {
                    ValueRef::Null => sqlite::Value::Null,
                    ValueRef::Integer(i) => sqlite::Value::Integer(i),
                    ValueRef::Real(f) => sqlite::Value::Real(f),
                    ValueRef::Text(t) => sqlite::Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => sqlite::Value::Blob(b.to_vec()),
                })
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        results.push(sqlite::RowResult { values });
    }
    Ok(sqlite::QueryResult { columns, rows: results })
}

/// A compiled, pre-linked component, built once per test run.
pub struct Runtime {
    /// Names of every interface the component imports.
    pub imports: Vec<String>,
    pre: ProxyPre<HostState>,
}

/// The engine every component runs on, as Spin has one for its application, configured as Spin
/// 4.0.2 configures its own (`crates/core/src/lib.rs` at `v4.0.2`): epoch interruption on (every
/// loop and call checks the epoch), and instances from the pooling allocator, which after each
/// request resets the instance's memory, keeping the first 2 MiB resident (cleared by `memset`)
/// and giving the rest back to the kernel (faulted in again by the next request that grows
/// that far). Where the pool cannot be reserved (a small address-space limit), Spin falls back
/// to allocating on demand, and so does this.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.epoch_interruption(true);
        // `TEST_HOST_PERFMAP=1`: wasmtime writes /tmp/perf-<pid>.map, so `perf record` names the
        // component's functions (with an unstripped `.wasm` in `TEST_HOST_WASM`).
        if std::env::var_os("TEST_HOST_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let on_demand = config.clone();
        const MIB: usize = 1 << 20;
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.total_component_instances(1_000)
            .total_memories(1_000)
            .total_tables(2_000)
            .total_stacks(1_000)
            .total_core_instances(4_000)
            .table_elements(100_000)
            .max_component_instance_size(10 * MIB)
            .max_core_instance_size(10 * MIB)
            .max_core_instances_per_component(200)
            .max_tables_per_component(64)
            .max_memories_per_component(32)
            .max_tables_per_module(2)
            .max_memories_per_module(2)
            .max_memory_size(4 << 30)
            .linear_memory_keep_resident(2 * MIB)
            .table_keep_resident(MIB / 2);
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        Engine::new(&config).unwrap_or_else(|error| {
            eprintln!("test host: no pooling allocator here ({error}); allocating on demand, as Spin does then");
            Engine::new(&on_demand).expect("engine")
        })
    })
}

/// The async runtime the host serves requests on.
pub fn tokio() -> &'static tokio::runtime::Runtime {
    static TOKIO: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    TOKIO.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// The portal's release `.wasm`, built from this crate once per test run exactly as `spin build`
/// builds it (the test host and the real-Spin tier run the same file).
pub fn built_wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        // `TEST_HOST_WASM=path`: another build of the portal, such as an unstripped one to profile.
        if let Some(path) = std::env::var_os("TEST_HOST_WASM") {
            return PathBuf::from(path);
        }
        let target_tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        build_wasm(
            Path::new(env!("CARGO_MANIFEST_DIR")),
            &target_tmp.join("portal-wasm"),
            "account_portal",
            Flags::Project,
        )
    })
}

/// The portal on the test host.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let wasm = std::fs::read(built_wasm()).expect("read the built .wasm");
        link(&compile("portal", &wasm))
    })
}

/// Spin's hello-world component (`benches/hello`), built with the same spin-sdk: the ceiling the
/// page benchmark measures the portal against.
pub fn hello_world_runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let wasm = std::fs::read(hello_world_wasm()).expect("read the built .wasm");
        link(&compile("hello", &wasm))
    })
}

/// The probe component's release `.wasm` (`benches/probe`: what variables and the store cost),
/// built once per run.
pub fn probe_wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    // Built as the portal is (its stack size above all), since it prices what the portal pays.
    bench_component_wasm(&WASM, "probe", "probe_component", Flags::Project)
}

/// The probe built with Rust's defaults (a 1 MiB stack), to price the portal's smaller stack.
pub fn stock_probe_wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    bench_component_wasm(&WASM, "probe", "probe_component", Flags::Stock)
}

/// The hello-world component's release `.wasm`, built once per run as Spin's template builds it
/// (Rust's own settings, a 1 MiB stack): the ceiling is Spin's hello-world, not one tuned like
/// the portal.
pub fn hello_world_wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    bench_component_wasm(&WASM, "hello", "hello_component", Flags::Stock)
}

/// The release `.wasm` of the component in `benches/<name>`, built into `cell` once per run.
fn bench_component_wasm(cell: &'static OnceLock<PathBuf>, name: &str, artifact: &str, flags: Flags) -> &'static Path {
    cell.get_or_init(|| {
        let target_tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches").join(name);
        let target_dir = match flags {
            Flags::Project => target_tmp.join(format!("{name}-wasm")),
            Flags::Stock => target_tmp.join(format!("{name}-stock-wasm")),
        };
        build_wasm(&source, &target_dir, artifact, flags)
    })
}

/// Which compiler flags a component is built with.
#[derive(Clone, Copy)]
enum Flags {
    /// The project's `.cargo/config.toml` (found from any crate under the repository), as
    /// `spin build` applies it to the portal.
    Project,
    /// None: Rust's defaults, as a component outside this repository is built.
    Stock,
}

fn link(component: &Component) -> Runtime {
    let engine = engine();
    let imports = component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let mut linker = Linker::<HostState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("link wasi");
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).expect("link wasi:http");
    TestHost::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state).expect("link fermyon:spin");
    let instance_pre = linker
        .instantiate_pre(component)
        .expect("component imports are all provided");
    let pre = ProxyPre::new(instance_pre).expect("component exports wasi:http/incoming-handler");
    Runtime { imports, pre }
}

/// Turns a `wasm32-wasip1` module into a component with the preview 1 reactor adapter, as Spin
/// does at load time, and compiles it, reusing the compiled artifact from an earlier run when
/// the component bytes are unchanged.
fn compile(name: &str, wasm: &[u8]) -> Component {
    let engine = engine();
    let target_tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let component = wit_component::ComponentEncoder::default()
        .module(wasm)
        .expect("read core module")
        .adapter(
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )
        .expect("load adapter")
        .validate(true)
        .encode()
        .expect("componentize");
    let cache = target_tmp.join(format!("{name}-{:016x}.cwasm", fnv1a(&component)));
    if cache.exists() {
        // SAFETY: the file was written by `Engine::precompile_component` of this same wasmtime
        // version and configuration in an earlier run; its name is the hash of the component.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &cache) } {
            return component;
        }
    }
    let compiled = engine.precompile_component(&component).expect("compile component");
    let _ = std::fs::write(&cache, &compiled);
    // SAFETY: produced just above by this engine.
    unsafe { Component::deserialize(engine, &compiled) }.expect("load compiled component")
}

/// Makes sure the `wasm32-wasip1` standard library is installed. rustup installs the targets
/// `rust-toolchain.toml` lists only when it installs the toolchain itself; on a machine that
/// already has the toolchain, the target is added here (to the toolchain this test runs with).
fn ensure_wasm_target() {
    let sysroot = Command::new("rustc")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    if sysroot.is_some_and(|root| root.join("lib/rustlib/wasm32-wasip1").is_dir()) {
        return;
    }
    eprintln!("test host: installing the wasm32-wasip1 target listed in rust-toolchain.toml");
    let status = Command::new("rustup")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["target", "add", "wasm32-wasip1"])
        .status();
    assert!(
        status.is_ok_and(|status| status.success()),
        "the wasm32-wasip1 target is missing and `rustup target add wasm32-wasip1` failed"
    );
}

/// Builds the release `.wasm` of the crate in `source` with the command `spin build` runs, and
/// answers its path.
fn build_wasm(source: &Path, target_dir: &Path, artifact: &str, flags: Flags) -> PathBuf {
    ensure_wasm_target();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .current_dir(source)
        .args(["build", "--target", "wasm32-wasip1", "--release", "--quiet"])
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    match flags {
        Flags::Project => command.env_remove("RUSTFLAGS"),
        // A set RUSTFLAGS, even empty, replaces every `rustflags` of the config files.
        Flags::Stock => command.env("RUSTFLAGS", ""),
    };
    let status = command.status().expect("run cargo build for the component");
    assert!(status.success(), "cargo build --target wasm32-wasip1 --release failed");
    let path = target_dir.join(format!("wasm32-wasip1/release/{artifact}.wasm"));
    assert!(path.is_file(), "cargo build made no {}", path.display());
    path
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// What the component answered, with everything it wrote to stdout/stderr and asked of the host.
pub struct Answer {
    pub parts: http::response::Parts,
    pub body: Bytes,
    pub logs: String,
    pub calls: HostCalls,
}

/// Adds the headers Spin's HTTP trigger gives every request. Spin copies the client's headers
/// first and then *appends* its own, so a client that sends its own `spin-client-addr` or
/// `spin-full-url` is still there, before Spin's value: the guest sees both, as under Spin.
pub fn add_spin_headers(headers: &mut http::HeaderMap, uri: &http::Uri, client_addr: &str) -> wasmtime::Result<()> {
    let spin_headers = [
        ("spin-full-url", uri.to_string()),
        ("spin-path-info", uri.path().to_owned()),
        ("spin-matched-route", "/...".to_owned()),
        ("spin-raw-component-route", "/...".to_owned()),
        ("spin-component-route", String::new()),
        ("spin-base-path", "/".to_owned()),
        ("spin-client-addr", client_addr.to_owned()),
    ];
    for (name, value) in spin_headers {
        headers.append(name, value.parse()?);
    }
    Ok(())
}

/// Delivers one request to the portal the way Spin's HTTP trigger does.
pub async fn dispatch(
    app: Arc<AppConfig>,
    request: http::Request<Bytes>,
    client_addr: &str,
) -> wasmtime::Result<Answer> {
    dispatch_to(runtime(), app, request, client_addr).await
}

/// Delivers one request to `runtime`'s component the way Spin's HTTP trigger does.
pub async fn dispatch_to(
    runtime: &Runtime,
    app: Arc<AppConfig>,
    request: http::Request<Bytes>,
    client_addr: &str,
) -> wasmtime::Result<Answer> {
    let (mut parts, body) = request.into_parts();
    let authority = parts
        .uri
        .authority()
        .map(|a| a.to_string())
        .or_else(|| {
            parts
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_else(|| "/".to_owned());
    parts.uri = format!("http://{authority}{path_and_query}").parse()?;
    parts.headers.remove(http::header::HOST);
    add_spin_headers(&mut parts.headers, &parts.uri, client_addr)?;
    let body =
        Full::new(body).map_err(|never: std::convert::Infallible| -> wasmtime_wasi_http::Error { match never {} });
    let request = http::Request::from_parts(parts, body);

    let logs = MemoryOutputPipe::new(1 << 20);
    let wasi = WasiCtx::builder().stdout(logs.clone()).stderr(logs.clone()).build();
    let mut store = Store::new(
        engine(),
        HostState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHosts {
                allowed: app.allowed_outbound_hosts.clone(),
                attempted: Vec::new(),
            },
            app,
            calls: HostCalls::default(),
        },
    );
    store.limiter(|state| &mut state.calls);
    // Spin yields at each tick of its epoch thread; nothing ticks here, so the deadline is
    // never reached and the checks cost what they cost on Spin.
    store.set_epoch_deadline(1);
    let incoming = store
        .data_mut()
        .http()
        .new_incoming_request(wasmtime_wasi_http::p2::bindings::http::types::Scheme::Http, request)?;
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let outparam = store.data_mut().http().new_response_outparam(sender)?;
    let proxy = runtime.pre.instantiate_async(&mut store).await?;
    let call = proxy
        .wasi_http_incoming_handler()
        .call_handle(&mut store, incoming, outparam);
    // The guest writes the body after setting the response; drive both to completion.
    let (call_result, response) = tokio::join!(call, async {
        match receiver.await {
            Ok(Ok(response)) => {
                let (parts, body) = response.into_parts();
                let body = body.collect().await.map(|b| b.to_bytes());
                Ok((parts, body))
            }
            Ok(Err(code)) => Err(wasmtime::format_err!("guest answered with error code {code:?}")),
            Err(_) => Err(wasmtime::format_err!("guest never set a response")),
        }
    });
    let log_text = String::from_utf8_lossy(&logs.contents()).into_owned();
    if let Err(trap) = call_result {
        return Err(trap.context(format!("guest trapped; logs:\n{log_text}")));
    }
    let (parts, body) = response?;
    let body = body.map_err(|e| wasmtime::format_err!("reading the response body failed: {e:?}"))?;
    let state = store.data_mut();
    let mut calls = std::mem::take(&mut state.calls);
    calls.outbound = std::mem::take(&mut state.hooks.attempted);
    Ok(Answer {
        parts,
        body,
        logs: log_text,
        calls,
    })
}
