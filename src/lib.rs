//! # account-portal
//!
//! A self-hostable account portal (sign-in, sign-up, user profile, organizations) that runs as
//! one Fermyon Spin HTTP component. Layers, outermost first:
//!
//! - `spin_host`: the only module that touches the host (request/response, variables, stores,
//!   outbound HTTP), through bindings generated from `wit/portal.wit`;
//! - `portal`: the route table and the request pipeline;
//! - `pages`: the web layer — request context, redirects, rendering, one module per page family;
//! - `error`: the one web error type and how every domain error becomes it;
//! - `views`: HTML layout, components, stylesheet and user-facing strings;
//! - `service`: the rules (accounts, profile, organizations, sessions) over the store;
//! - [`security`]: passwords, tokens, sessions, CSRF, lockout — one small module each;
//! - `store`: the schema, migrations and queries behind the `Db` trait (the only SQL);
//! - pure rules with no I/O: `redirect`, `config`, `form`, `domain`.
//!
//! Layers only point down: pages → service → store, security, domain. Everything below
//! `spin_host` takes plain `http` types, so the portal also runs natively in tests; `spin_host`
//! itself is compiled for `wasm32` only (Spin's export names do not link in a native `cdylib`).
//! Lint it with `cargo clippy --target wasm32-wasip1`.

// Tests may parse JSON from `&str`; the `.wasm` may not (clippy.toml).
#![cfg_attr(test, allow(clippy::disallowed_methods))]

mod api;
mod config;
mod domain;
mod error;
mod form;
mod gzip;
mod json_object;
mod outbound;
mod pages;
mod portal;
mod qvalue;
mod redirect;
pub mod security;
mod service;
#[cfg(target_arch = "wasm32")]
mod spin_host;
mod store;
#[cfg(test)]
mod testing;
mod views;

pub use config::Variables;
pub use portal::{Env, MAX_BODY_BYTES, handle};
pub use store::{Db, DbError, Row, Value};

// Spin's export names (`wasi:http/incoming-handler@0.2.0#handle`) only link for wasm targets,
// so the entry point (in `spin_host`) and the host glue exist only there.
