//! `application/x-www-form-urlencoded` query strings, repeated keys kept
//! (Kratos takes `ids=a&ids=b`).

/// Decoded `(key, value)` pairs in order.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

/// The first value of `key`.
pub fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Every value of `key`.
pub fn all<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
}

/// Percent-decoding with `+` as space; malformed escapes are kept literally.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_emails_and_repeats() {
        let q = parse_query("credentials_identifier=ann%2Btest%40example.com&ids=a&ids=b&x=1+2&bad=%zz&end=%4");
        assert_eq!(first(&q, "credentials_identifier"), Some("ann+test@example.com"));
        assert_eq!(all(&q, "ids"), vec!["a", "b"]);
        assert_eq!(first(&q, "x"), Some("1 2"));
        assert_eq!(first(&q, "bad"), Some("%zz"));
        assert_eq!(first(&q, "end"), Some("%4"));
        assert_eq!(first(&q, "missing"), None);
    }
}
