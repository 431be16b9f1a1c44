//! # account-portal
//!
//! A self-hostable account portal (sign-in, sign-up, user profile, organizations) that runs as
//! one Fermyon Spin HTTP component. Layers, outermost first:
//!
//! - [`spin_host`]: the only module that uses spin-sdk (request/response, variables, SQLite);
//! - [`portal`]: the route table and the request pipeline;
//! - [`pages`]: one module per hosted page;
//! - [`views`]: HTML layout, components, stylesheet and user-facing strings;
//! - [`accounts`]: sign-up and sign-in as functions over the store;
//! - [`security`]: passwords, tokens, sessions, CSRF, lockout — one small module each;
//! - [`store`]: the schema, migrations and queries behind the `Db` trait;
//! - pure rules with no I/O: [`redirect`], [`config`], [`form`], [`domain`].
//!
//! Everything below `spin_host` takes plain `http` types, so the portal also runs natively in
//! tests; `spin_host` itself is compiled for `wasm32` only (Spin's export names do not link in
//! a native `cdylib`). Lint it with `cargo clippy --target wasm32-wasip1`.

pub mod accounts;
pub mod config;
pub mod domain;
pub mod error;
pub mod form;
pub mod organizations;
pub mod pages;
pub mod portal;
pub mod profile;
pub mod redirect;
pub mod security;
#[cfg(target_arch = "wasm32")]
mod spin_host;
pub mod store;
pub mod views;

// Spin's export names (`wasi:http/incoming-handler@0.2.0#handle`) only link for wasm targets,
// so the entry point and the spin-sdk glue exist only there.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
async fn handle_request(request: spin_sdk::http::IncomingRequest, response_out: spin_sdk::http::ResponseOutparam) {
    spin_host::serve(request, response_out).await;
}
