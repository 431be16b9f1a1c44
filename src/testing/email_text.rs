//! Reading the portal's emails (their plain-text part) in tests, shared by the native tier
//! (`crate::testing`) and the wasm tier (`tests/support`, which includes this file by path).

/// The six-digit code in an email's text.
pub fn code_in(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|word| word.len() == 6)
        .map(str::to_owned)
}

/// The path and query of the first link in an email's text to a portal path starting with
/// `path`.
#[allow(dead_code, reason = "the wasm tier reads links; the native tier only codes")]
pub fn link_in(text: &str, path: &str) -> String {
    text.split_whitespace()
        .filter_map(|word| word.split_once("://").map(|(_, rest)| rest))
        .filter_map(|rest| rest.find('/').map(|i| &rest[i..]))
        .find(|link| link.starts_with(path))
        .unwrap_or_else(|| panic!("no {path} link in {text}"))
        .to_owned()
}
