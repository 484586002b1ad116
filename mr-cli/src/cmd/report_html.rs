//! The HTML report: placeholder until the page lands.

/// Renders the report document as one self-contained page.
pub fn render(doc: &serde_json::Value) -> String {
    format!(
        "<!doctype html><meta charset=utf-8><pre>{}</pre>\n",
        html_escape(&serde_json::to_string_pretty(doc).unwrap_or_default())
    )
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
///
/// ```
/// assert_eq!(mr_cli::cmd::report_html::html_escape("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
/// ```
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
