//! Stripe's request encoding: `application/x-www-form-urlencoded` pairs whose
//! keys nest with brackets (`metadata[k]=v`, `line_items[0][price]=p`,
//! `expand[]=x`), parsed into a JSON tree so handlers can read it like JSON.
//!
//! Leaves are always strings. `[]` appends to an array; `[N]` indexes one.
//! A node indexed by exactly `0..n` becomes a JSON array; indices with gaps
//! stay an object keyed by the digits (so `metadata[7]=x` keeps its key).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// Why a body or query string could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// A key whose brackets do not pair up, e.g. `metadata[a`.
    MalformedKey(String),
    /// One key used both as a value and as a container, e.g. `a=1&a[b]=2`.
    Conflict(String),
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormError::MalformedKey(k) => write!(f, "Invalid parameter name: {k}"),
            FormError::Conflict(k) => write!(f, "Invalid hash or array for parameter: {k}"),
        }
    }
}

impl std::error::Error for FormError {}

enum Segment {
    Key(String),
    Index(usize),
    Append,
}

enum Node {
    Leaf(String),
    Map(BTreeMap<String, Node>),
    List(BTreeMap<usize, Node>),
}

/// Parses a query string or form body into a JSON object.
pub fn parse(input: &str) -> Result<Value, FormError> {
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for pair in input.split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(raw_key);
        let value = decode(raw_value);
        let (name, segments) = split_key(&key)?;
        let slot = root.entry(name).or_insert_with(|| empty_for(segments.first()));
        insert(slot, &segments, value, &key)?;
    }
    Ok(Value::Object(root.into_iter().map(|(k, v)| (k, to_value(v))).collect()))
}

/// Percent-decoding with `+` as a space; invalid escapes are kept literally.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn split_key(key: &str) -> Result<(String, Vec<Segment>), FormError> {
    let malformed = || FormError::MalformedKey(key.to_string());
    let (name, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if name.is_empty() || name.contains(']') {
        return Err(malformed());
    }
    let mut segments = Vec::new();
    while !rest.is_empty() {
        if !rest.starts_with('[') {
            return Err(malformed());
        }
        let close = rest.find(']').ok_or_else(malformed)?;
        let inner = &rest[1..close];
        if inner.contains('[') {
            return Err(malformed());
        }
        segments.push(if inner.is_empty() {
            Segment::Append
        } else if inner.bytes().all(|b| b.is_ascii_digit()) && inner.len() < 10 {
            inner.parse().map(Segment::Index).map_err(|_| malformed())?
        } else {
            Segment::Key(inner.to_string())
        });
        rest = &rest[close + 1..];
    }
    Ok((name.to_string(), segments))
}

fn empty_for(segment: Option<&Segment>) -> Node {
    match segment {
        None => Node::Leaf(String::new()),
        Some(Segment::Key(_)) => Node::Map(BTreeMap::new()),
        Some(Segment::Index(_)) | Some(Segment::Append) => Node::List(BTreeMap::new()),
    }
}

fn insert(node: &mut Node, segments: &[Segment], value: String, key: &str) -> Result<(), FormError> {
    let conflict = || FormError::Conflict(key.to_string());
    let Some((first, rest)) = segments.split_first() else {
        return match node {
            Node::Leaf(v) => {
                *v = value;
                Ok(())
            }
            _ => Err(conflict()),
        };
    };
    let child = match (node, first) {
        (Node::Map(map), Segment::Key(k)) => map.entry(k.clone()).or_insert_with(|| empty_for(rest.first())),
        (Node::Map(map), Segment::Index(i)) => map.entry(i.to_string()).or_insert_with(|| empty_for(rest.first())),
        (Node::List(list), Segment::Index(i)) => list.entry(*i).or_insert_with(|| empty_for(rest.first())),
        (Node::List(list), Segment::Append) => {
            let next = list.keys().next_back().map_or(0, |k| k + 1);
            list.entry(next).or_insert_with(|| empty_for(rest.first()))
        }
        _ => return Err(conflict()),
    };
    insert(child, rest, value, key)
}

fn to_value(node: Node) -> Value {
    match node {
        Node::Leaf(s) => Value::String(s),
        Node::Map(map) => Value::Object(map.into_iter().map(|(k, v)| (k, to_value(v))).collect()),
        Node::List(list) => {
            let contiguous = list.keys().enumerate().all(|(pos, idx)| pos == *idx);
            if contiguous {
                Value::Array(list.into_values().map(to_value).collect())
            } else {
                Value::Object(list.into_iter().map(|(k, v)| (k.to_string(), to_value(v))).collect::<Map<_, _>>())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_percent_and_plus() {
        assert_eq!(decode("a+b%40c.d%2"), "a b@c.d%2");
        assert_eq!(decode("%e2%9c%93"), "\u{2713}");
    }

    #[test]
    fn nests_brackets() {
        let v = parse("items[0][price]=p&items[0][quantity]=2&expand[]=a&expand[]=b&metadata[k]=v").unwrap();
        assert_eq!(
            v,
            json!({"items": [{"price": "p", "quantity": "2"}], "expand": ["a", "b"], "metadata": {"k": "v"}})
        );
    }
}
