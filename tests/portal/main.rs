//! Integration tests: every test drives the real release `.wasm` through the wasmtime test host
//! in `tests/support`. One test binary, so wasmtime is compiled and linked once.

// The tests may parse JSON from `&str` (clippy.toml keeps it out of the `.wasm`).
#![allow(clippy::disallowed_methods)]

#[path = "../support/mod.rs"]
mod support;

mod accounts;
mod admin;
mod api;
mod api_organizations;
mod bot_check;
mod breach;
mod browser;
mod budgets;
mod email;
mod email_flows;
mod hardening;
mod hardening2;
mod host;
mod journeys;
mod languages;
mod oauth;
mod organizations;
mod pages;
mod passkeys;
mod polish;
mod postgres;
mod profile;
mod real_spin;
mod redirects;
mod sign_up_policy;
mod two_step;
mod webhooks;

/// The flows again, with the portal storing in a real PostgreSQL server (`database_url`): the
/// same tests, the same assertions (`support::on_postgres` tells `Portal` which store to use).
#[path = "."]
#[allow(clippy::duplicate_mod, reason = "the same suites, run a second time on PostgreSQL")]
mod on_postgres {
    mod accounts;
    mod admin;
    mod api;
    mod api_organizations;
    mod bot_check;
    mod breach;
    mod email_flows;
    mod oauth;
    mod organizations;
    mod passkeys;
    mod profile;
    mod sign_up_policy;
    mod two_step;
}
