//! The path the origin receives, and every reading of it that a rule is
//! matched on. The request's path is normalised, so that
//! `/app/reports/../reports/x`, `//app/reports/x`, `/app/%72eports/x` and
//! `/app/reports/x/` all meet the rule for `/app/reports/*`; escapes that
//! would change the path's shape (an encoded `/`, `\` or control
//! character) are refused outright.
//!
//! Origins route more leniently than bytes compare: Express and ASP.NET
//! Core ignore case, Tomcat, Jetty and Spring drop `;` parameters
//! (`/app;jsessionid=1/reports`, `/app/..;/admin`). A path is therefore
//! read both as sent and with its parameters dropped ([`PathReadings`]), and
//! rules match each reading with and without case; the request must meet
//! what every reading asks.

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

/// The readings of one request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathReadings {
    /// The normalised path as sent (case and `;` parameters kept): what the
    /// origin receives.
    pub forwarded: String,
    /// The path as an origin that drops `;` parameters reads it (each
    /// segment cut at its first `;` or `%3B`, before `.` and `..` are
    /// resolved, as Tomcat does), when that differs from `forwarded`.
    pub without_parameters: Option<String>,
}

impl PathReadings {
    /// Every distinct reading, `forwarded` first.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.forwarded.as_str()).chain(self.without_parameters.as_deref())
    }
}

/// The segment up to its first `;` parameter (raw `;` or an escaped `%3B`).
fn without_parameter(segment: &str) -> &str {
    let bytes = segment.as_bytes();
    let cut = (0..bytes.len()).find(|&i| {
        bytes[i] == b';'
            || (bytes[i] == b'%' && bytes.get(i + 1) == Some(&b'3') && matches!(bytes.get(i + 2), Some(b'b' | b'B')))
    });
    cut.map_or(segment, |i| &segment[..i])
}

/// Reads a request's raw path every way a lenient origin may: see
/// [`PathReadings`]. Refused when any reading is (a parameter that hides
/// `..` above the root included).
pub fn readings(raw: &str) -> Result<PathReadings, PathRefusal> {
    let forwarded = normalize(raw)?;
    let has_parameter = raw.contains(';') || raw.contains("%3B") || raw.contains("%3b");
    let without_parameters = match has_parameter {
        false => None,
        true => {
            let cut: Vec<&str> = raw.split(['/', '\\']).map(without_parameter).collect();
            Some(normalize(&cut.join("/"))?).filter(|p| *p != forwarded)
        }
    };
    Ok(PathReadings { forwarded, without_parameters })
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
    fn parameters_are_read_both_ways_before_dots_are_resolved() {
        let r = |raw: &str| readings(raw).map(|r| (r.forwarded, r.without_parameters));
        assert_eq!(r("/app/reports/q3"), Ok(("/app/reports/q3".into(), None)), "no parameter: one reading");
        assert_eq!(r("/App/Reports/x"), Ok(("/App/Reports/x".into(), None)), "case is kept; rules ignore it");
        assert_eq!(r("/app/reports;v=1/q3"), Ok(("/app/reports;v=1/q3".into(), Some("/app/reports/q3".into()))));
        assert_eq!(
            r("/app;jsessionid=1/reports/q3"),
            Ok(("/app;jsessionid=1/reports/q3".into(), Some("/app/reports/q3".into())))
        );
        assert_eq!(r("/app/reports%3Bv=1/q3").unwrap().1.as_deref(), Some("/app/reports/q3"), "escaped too");
        assert_eq!(r("/app/reports%3bv=1/q3").unwrap().1.as_deref(), Some("/app/reports/q3"));
        assert_eq!(r("/public/..;/app/reports/q3").unwrap().1.as_deref(), Some("/app/reports/q3"), "Tomcat's ..;");
        assert_eq!(r("/public/..;/app").unwrap().0, "/public/..;/app", "as sent, `..;` is a name");
        assert_eq!(r("/app/;x/reports").unwrap().1.as_deref(), Some("/app/reports"), "an empty segment");
        assert_eq!(r("/x/reports;"), Ok(("/x/reports;".into(), Some("/x/reports".into()))));
        assert_eq!(r("/..;/etc"), Err(PathRefusal::AboveRoot), "a reading above the root is refused");
        assert_eq!(r("/app;%2F/x"), Err(PathRefusal::EncodedSeparator));
        let two = readings("/a;b/c").unwrap();
        assert_eq!(two.all().collect::<Vec<_>>(), ["/a;b/c", "/a/c"]);
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
