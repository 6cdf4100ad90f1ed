//! The path a rule is matched on, and the one the origin receives: the
//! request's path normalised, so that `/app/reports/../reports/x`,
//! `//app/reports/x`, `/app/%72eports/x` and `/app/reports/x/` all meet the
//! rule for `/app/reports/*`. Escapes that would change the path's shape
//! (an encoded `/`, `\` or control character) are refused outright.

/// Why a path is refused (400, nothing forwarded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRefusal {
    /// `%2F`, `%5C` or an encoded control character: a segment that an
    /// origin could read as two, or as something else.
    EncodedSeparator,
    /// A malformed escape (`%zz`, a `%` at the end) or a decoded byte
    /// sequence that is not UTF-8.
    BadEscape,
    /// `..` above the root.
    AboveRoot,
}

impl PathRefusal {
    /// The stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::EncodedSeparator => "path_encoded_separator",
            Self::BadEscape => "path_bad_escape",
            Self::AboveRoot => "path_above_root",
        }
    }

    /// What is wrong, in words.
    pub fn message(self) -> &'static str {
        match self {
            Self::EncodedSeparator => "the path encodes a separator or control character",
            Self::BadEscape => "the path has a malformed percent escape",
            Self::AboveRoot => "the path climbs above the root",
        }
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Decodes the escapes of unreserved characters (RFC 3986 normalisation:
/// `%72` is `r`), upper-cases the others, and refuses escapes of `/`, `\`
/// and control characters.
fn decode_unreserved(segment: &str) -> Result<String, PathRefusal> {
    let bytes = segment.as_bytes();
    let mut out = String::with_capacity(segment.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            // Copy up to the next escape as text: `%` is ASCII, so this never
            // splits a (raw, non-ASCII) UTF-8 character into bytes.
            let end = bytes[i..].iter().position(|&b| b == b'%').map_or(bytes.len(), |n| i + n);
            out.push_str(&segment[i..end]);
            i = end;
            continue;
        }
        let hex = bytes.get(i + 1..i + 3).ok_or(PathRefusal::BadEscape)?;
        let text = std::str::from_utf8(hex).map_err(|_| PathRefusal::BadEscape)?;
        let b = u8::from_str_radix(text, 16).map_err(|_| PathRefusal::BadEscape)?;
        if b == b'/' || b == b'\\' || b.is_ascii_control() {
            return Err(PathRefusal::EncodedSeparator);
        }
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push_str(&text.to_ascii_uppercase());
        }
        i += 3;
    }
    Ok(out)
}

/// The normalised path: escapes of unreserved characters decoded, empty and
/// `.` segments dropped, `..` resolved, no trailing slash (but `/` itself).
/// A raw byte that is not ASCII is kept as the runtime gave it (already
/// percent-encoded by the URL parser).
pub fn normalize(raw: &str) -> Result<String, PathRefusal> {
    let mut segments: Vec<String> = Vec::new();
    for segment in raw.split(['/', '\\']) {
        let decoded = decode_unreserved(segment)?;
        match decoded.as_str() {
            "" | "." => {}
            ".." => {
                segments.pop().ok_or(PathRefusal::AboveRoot)?;
            }
            _ => segments.push(decoded),
        }
    }
    Ok(format!("/{}", segments.join("/")))
}

/// The query of a serialized URL (as the runtime gives a request's URL),
/// with its `?` and without any fragment: what a forwarded request keeps
/// byte for byte. Empty when the URL has none.
pub fn query_of(url: &str) -> &str {
    let before_fragment = url.split('#').next().unwrap_or_default();
    before_fragment.find('?').map_or("", |i| &before_fragment[i..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_path_normalises_to_one() {
        for raw in [
            "/app/reports/x",
            "//app/reports/x",
            "/app//reports///x",
            "/app/reports/x/",
            "/app/./reports/x",
            "/app/other/../reports/x",
            "/app/%72eports/x",
            "/app/%72%65ports/x",
            "\\app\\reports\\x",
        ] {
            assert_eq!(normalize(raw).as_deref(), Ok("/app/reports/x"), "{raw}");
        }
        assert_eq!(normalize("/").as_deref(), Ok("/"));
        assert_eq!(normalize("").as_deref(), Ok("/"));
        assert_eq!(normalize("/a%20b/%c3%a9").as_deref(), Ok("/a%20b/%C3%A9"), "others stay encoded, upper-cased");
        assert_eq!(normalize("/a/%2e%2e/b").as_deref(), Ok("/b"), "an encoded dot segment is a dot segment");
    }

    #[test]
    fn raw_non_ascii_is_kept_and_normalising_twice_changes_nothing() {
        // Found by the `path` fuzz target: each byte of a raw non-ASCII
        // character became a char of its own ("ъ" came out as "Ñ\u{8a}"),
        // so the path changed again on every normalisation.
        assert_eq!(normalize("/.#\u{44a}/").as_deref(), Ok("/.#\u{44a}"));
        assert_eq!(normalize("/caf\u{e9}/%72%C3%A9/\u{1f600}").as_deref(), Ok("/caf\u{e9}/r%C3%A9/\u{1f600}"));
        for raw in ["/.#\u{44a}/", "/a/\u{e9}t\u{e9}/../b%2a", "//x/\u{1f600}%7e"] {
            let once = normalize(raw).unwrap();
            assert_eq!(normalize(&once).as_ref(), Ok(&once), "{raw}");
        }
    }

    #[test]
    fn shape_changing_escapes_are_refused() {
        assert_eq!(normalize("/app%2Freports/x"), Err(PathRefusal::EncodedSeparator));
        assert_eq!(normalize("/app%5creports"), Err(PathRefusal::EncodedSeparator));
        assert_eq!(normalize("/app/%00"), Err(PathRefusal::EncodedSeparator));
        assert_eq!(normalize("/app/%zz"), Err(PathRefusal::BadEscape));
        assert_eq!(normalize("/app/%4"), Err(PathRefusal::BadEscape));
        assert_eq!(normalize("/../etc"), Err(PathRefusal::AboveRoot));
        assert_eq!(PathRefusal::AboveRoot.code(), "path_above_root");
    }

    #[test]
    fn the_query_is_kept_byte_for_byte_without_the_fragment() {
        assert_eq!(query_of("https://app.example.com/a/b?x=1&y=%2F"), "?x=1&y=%2F");
        assert_eq!(query_of("https://app.example.com/a?x=1#frag?no"), "?x=1");
        assert_eq!(query_of("https://app.example.com/a#f?g"), "");
        assert_eq!(query_of("https://app.example.com/a"), "");
        assert_eq!(query_of("https://app.example.com/a?"), "?");
    }
}
