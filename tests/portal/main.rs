//! Integration tests: every test drives the real release `.wasm` through the wasmtime test host
//! in `tests/support`. One test binary, so wasmtime is compiled and linked once.

#[path = "../support/mod.rs"]
mod support;

mod accounts;
mod browser;
mod budgets;
mod email;
mod email_flows;
mod hardening;
mod host;
mod languages;
mod organizations;
mod pages;
mod polish;
mod profile;
mod redirects;
