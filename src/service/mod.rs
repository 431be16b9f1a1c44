//! The rules, as plain functions over the store: who may sign in, what a profile change does,
//! what organizations allow, and what a session and its token say. Nothing here knows about
//! HTTP; pages call these and turn their errors into pages (`crate::error`).

pub mod accounts;
pub mod admin;
pub mod auth;
pub mod email;
pub mod invitations;
pub mod metadata;
pub mod oauth;
pub mod organizations;
pub mod profile;
pub mod sessions;
pub mod users;
pub mod waitlist;
pub mod webhooks;
