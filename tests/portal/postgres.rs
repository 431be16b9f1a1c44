//! PostgreSQL as the store (`database_url`): what an operator sees when it is down, refuses the
//! credentials or is not granted in `allowed_outbound_hosts`. (The flows themselves run on
//! PostgreSQL in `on_postgres`, and the store's races in the unit tests.)

use crate::support::postgres_server::{self, PASSWORD, USER};
use crate::support::{Browser, PASSWORD as ACCOUNT_PASSWORD, Portal};

fn portal_with_url(url: &str, host: &str) -> Portal {
    Portal::with_vars(&[("database_url", url), ("database_host", host)])
}

#[test]
fn a_database_that_is_down_gives_a_503_and_a_log_line_naming_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{port}/portal?sslmode=disable");
    let portal = portal_with_url(&url, &format!("127.0.0.1:{port}"));
    let page = portal.get("/sign-in");
    page.assert_status(503);
    assert!(page.header("retry-after").is_some());
    assert!(
        page.body.contains("cannot reach its database"),
        "a clear page: {}",
        page.body
    );
    assert!(
        page.logs.contains(&format!(
            "cannot connect to PostgreSQL at 127.0.0.1:{port}/portal as {USER}"
        )),
        "{}",
        page.logs
    );
    assert!(!page.logs.contains(PASSWORD), "the password is never logged");
    assert!(!page.body.contains(PASSWORD));
}

#[test]
fn refused_credentials_give_a_503_without_the_password() {
    let server = postgres_server::server();
    let name = server.create_database();
    let url = format!(
        "postgres://{USER}:not-the-password@127.0.0.1:{}/{name}?sslmode=disable",
        server.port
    );
    let portal = portal_with_url(&url, &server.host());
    let page = portal.get("/sign-in");
    page.assert_status(503);
    assert!(page.logs.contains("password authentication failed"), "{}", page.logs);
    assert!(!page.logs.contains("not-the-password"), "{}", page.logs);
}

#[test]
fn a_server_not_granted_by_allowed_outbound_hosts_is_refused() {
    let server = postgres_server::server();
    let url = server.url(&server.create_database());
    // database_host left at its default (localhost:5432): Spin refuses 127.0.0.1:<port>.
    let portal = Portal::with_vars(&[("database_url", url.as_str())]);
    let page = portal.get("/sign-in");
    page.assert_status(503);
    assert!(page.logs.contains("not permitted"), "{}", page.logs);
}

#[test]
fn a_fresh_database_is_migrated_on_first_use_and_works() {
    let server = postgres_server::server();
    let name = server.create_database();
    let portal = portal_with_url(&server.url(&name), &server.host());
    let mut browser = Browser::new(&portal);
    browser.sign_up("ada@example.com", ACCOUNT_PASSWORD).assert_status(302);
    assert!(portal.is_on_postgres());
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"),
        1
    );
}
