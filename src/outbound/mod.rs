//! Outbound HTTP: the one seam ([`Http`]) through which the portal talks to other services, and
//! the pure request builders that use it (email providers). the host's bindings stay in `spin_host.rs`;
//! natively, tests implement [`Http`] themselves, so every rule runs without a network.

pub mod email;
pub mod oidc;
pub mod sigv4;

/// Sends one HTTP request and returns the whole response. Spin's host enforces
/// `allowed_outbound_hosts`; a refused host, a connection failure or a timeout is an [`HttpError`].
pub trait Http {
    fn send(&self, request: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, HttpError>;
}

/// How long a request may wait for its answer, when it must be shorter than the host's default
/// (a request extension; the host reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(pub std::time::Duration);

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The host refused the destination (not in `allowed_outbound_hosts`).
    #[error("the destination is not allowed by allowed_outbound_hosts: {0}")]
    Denied(String),
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("{0}")]
    Failed(String),
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}
