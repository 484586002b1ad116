//! Writing JSON by hand: the generators build lines in a reused buffer, without `serde_json::Value`.

/// One second, in µs.
const SECOND_US: u64 = 1_000_000;

/// Appends a decimal `u64`.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends `us` microseconds as seconds, like JavaScript prints them: `257.066689`, `12.5`, `30`.
pub(crate) fn push_seconds(out: &mut Vec<u8>, us: u64) {
    push_u64(out, us / SECOND_US);
    let mut frac = us % SECOND_US;
    if frac == 0 {
        return;
    }
    out.push(b'.');
    let mut digits = 6;
    while frac.is_multiple_of(10) {
        frac /= 10;
        digits -= 1;
    }
    let mut buf = [b'0'; 6];
    for slot in buf[..digits].iter_mut().rev() {
        *slot = b'0' + (frac % 10) as u8;
        frac /= 10;
    }
    out.extend_from_slice(&buf[..digits]);
}

/// Appends `s` as a JSON string, quotes included.
pub(crate) fn push_json_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        if escape.is_empty() {
            push_unicode_escape(out, u16::from(b));
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

/// Appends the contents of a JSON string for `s` (no quotes); with `ascii_only`, non-ASCII characters
/// become `\uXXXX` escapes (surrogate pairs beyond the BMP), as Python's `json.dumps` writes them.
pub(crate) fn push_escaped(out: &mut Vec<u8>, s: &str, ascii_only: bool) {
    if !ascii_only {
        let len = out.len();
        push_json_str(out, s.as_bytes());
        // Drop the quotes push_json_str added.
        out.remove(len);
        out.pop();
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            ' '..='~' => out.push(c as u8),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    push_unicode_escape(out, *unit);
                }
            }
        }
    }
}

/// Appends `\uXXXX` (lower-case hex).
fn push_unicode_escape(out: &mut Vec<u8>, unit: u16) {
    let hex = b"0123456789abcdef";
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(hex[usize::from((unit >> shift) & 0xf)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_write_valid_json() {
        let mut out = Vec::new();
        push_json_str(&mut out, "a\"b\\c\n\t\u{1}é".as_bytes());
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "\"a\\\"b\\\\c\\n\\t\\u0001é\""
        );
        let mut out = Vec::from(&b"\""[..]);
        push_escaped(&mut out, "é👍\"x", true);
        out.push(b'"');
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "\"\\u00e9\\ud83d\\udc4d\\\"x\""
        );
        let parsed: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed, "é👍\"x");
        for (us, text) in [
            (257_066_689, "257.066689"),
            (12_500_000, "12.5"),
            (30_000_000, "30"),
            (5, "0.000005"),
        ] {
            let mut out = Vec::new();
            push_seconds(&mut out, us);
            assert_eq!(std::str::from_utf8(&out).unwrap(), text);
        }
        let mut out = Vec::new();
        push_u64(&mut out, 0);
        push_u64(&mut out, u64::MAX);
        assert_eq!(std::str::from_utf8(&out).unwrap(), "018446744073709551615");
    }
}
