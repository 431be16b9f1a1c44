//! The test host itself behaves like Spin.

use std::io::{Read, Write};

use crate::support::{Portal, host};

#[test]
fn serves_over_a_real_tcp_port() {
    let portal = Portal::new();
    let addr = portal.serve();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost:3000\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok\n"), "{answer}");
}

#[test]
fn spin_headers_are_appended_after_the_clients_own() {
    let mut headers = http::HeaderMap::new();
    headers.insert("spin-client-addr", "6.6.6.6:1".parse().unwrap());
    headers.insert("spin-full-url", "http://forged.example/".parse().unwrap());
    let uri: http::Uri = "http://127.0.0.1:3000/sign-in?x=1".parse().unwrap();
    host::add_spin_headers(&mut headers, &uri, "127.0.0.1:50000").unwrap();
    let values = |name: &str| -> Vec<&str> { headers.get_all(name).iter().map(|v| v.to_str().unwrap()).collect() };
    assert_eq!(values("spin-client-addr"), ["6.6.6.6:1", "127.0.0.1:50000"]);
    assert_eq!(
        values("spin-full-url"),
        ["http://forged.example/", "http://127.0.0.1:3000/sign-in?x=1"]
    );
    assert_eq!(values("spin-path-info"), ["/sign-in"]);
}

#[test]
fn each_test_portal_has_its_own_database_file() {
    let a = Portal::new();
    let b = Portal::new();
    assert_ne!(a.database_path(), b.database_path());
}

#[test]
fn component_imports_only_what_every_spin_3_and_4_host_provides() {
    let allowed_packages = [
        "wasi:http/",
        "wasi:io/",
        "wasi:cli/",
        "wasi:clocks/",
        "wasi:random/",
        "wasi:filesystem/",
    ];
    let imports = &host::runtime().imports;
    for import in imports {
        let allowed = allowed_packages.iter().any(|p| import.starts_with(p))
            || import == "fermyon:spin/variables@2.0.0"
            || import == "fermyon:spin/sqlite@2.0.0"
            || import == "fermyon:spin/postgres@2.0.0"
            || import == "fermyon:spin/rdbms-types@2.0.0";
        assert!(allowed, "unexpected import {import}; all imports: {imports:?}");
        assert!(!import.starts_with("wasi:sockets"), "{import}");
    }
    assert!(
        imports.iter().any(|i| i == "fermyon:spin/variables@2.0.0"),
        "{imports:?}"
    );
}
