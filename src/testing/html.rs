//! Reading the portal's HTML in tests, shared by the native tier (`crate::testing`) and the
//! wasm tier (`tests/support`, which includes this file by path).

/// The value of `<input name="…" value="…">` in `body`, unescaped.
pub fn input_value(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let start = body.find(&marker)?;
    let tag_start = body[..start].rfind('<')?;
    let tag_end = start + body[start..].find('>')?;
    let tag = &body[tag_start..tag_end];
    let value_start = tag.find(" value=\"")? + " value=\"".len();
    let value_end = value_start + tag[value_start..].find('"')?;
    Some(unescape(&tag[value_start..value_end]))
}

/// The value of attribute `name` on the first element of `body` that has it, unescaped.
#[allow(dead_code, reason = "the .wasm tier's helpers use it; the native tier does not yet")]
pub fn attribute(body: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = body.find(&marker)? + marker.len();
    let end = start + body[start..].find('"')?;
    Some(unescape(&body[start..end]))
}

/// Undoes the portal's HTML escaping of a text or attribute value.
pub fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
