//! Customer Search: the query language subset we need and the lagging index
//! (Stripe's search is not read-after-write consistent).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::resources::customer::Customer;

/// Versions of each customer as the search index has seen them.
#[derive(Default)]
pub(crate) struct SearchIndex {
    versions: HashMap<String, Vec<(Instant, Option<Customer>)>>,
}

impl SearchIndex {
    /// Records a write (`None` = deleted); keeps only what `lag` can still show.
    pub(crate) fn record(&mut self, id: &str, snapshot: Option<Customer>, lag: Duration) {
        let versions = self.versions.entry(id.to_string()).or_default();
        versions.push((Instant::now(), snapshot));
        if let Some(settled) = versions.iter().rposition(|(at, _)| at.elapsed() >= lag) {
            versions.drain(..settled);
        }
    }

    /// Each customer as the index sees it now: its newest version older than `lag`.
    pub(crate) fn visible(&self, lag: Duration) -> Vec<&Customer> {
        self.versions
            .values()
            .filter_map(|versions| versions.iter().rev().find(|(at, _)| at.elapsed() >= lag))
            .filter_map(|(_, snapshot)| snapshot.as_ref())
            .collect()
    }
}

/// One `field:'value'` clause of a search query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Clause {
    Email(String),
    Name(String),
    Phone(String),
    Metadata(String, String),
}

impl Clause {
    /// Whether `customer` satisfies the clause (email is case-insensitive).
    pub(crate) fn matches(&self, customer: &Customer) -> bool {
        match self {
            Clause::Email(v) => customer.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(v)),
            Clause::Name(v) => customer.name.as_deref() == Some(v.as_str()),
            Clause::Phone(v) => customer.phone.as_deref() == Some(v.as_str()),
            Clause::Metadata(k, v) => customer.metadata.get(k) == Some(v),
        }
    }
}

/// Parses `metadata['k']:'v' AND email:'x'` (single or double quotes).
pub(crate) fn parse_query(query: &str) -> Result<Vec<Clause>, String> {
    let query = query.trim();
    if query.is_empty() {
        return Err("the query is empty".to_string());
    }
    split_and(query).into_iter().map(parse_clause).collect()
}

fn split_and(query: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (pos, c) in query.char_indices() {
        if pos < start {
            continue;
        }
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if query[pos..].starts_with(" AND ") || query[pos..].starts_with(" and ") => {
                parts.push(query[start..pos].trim());
                start = pos + 5;
            }
            None => {}
        }
    }
    parts.push(query[start..].trim());
    parts
}

fn unquote(s: &str) -> Option<&str> {
    let s = s.trim();
    let q = s.chars().next()?;
    if (q == '\'' || q == '"') && s.len() >= 2 && s.ends_with(q) {
        Some(&s[1..s.len() - 1])
    } else {
        None
    }
}

fn parse_clause(clause: &str) -> Result<Clause, String> {
    let invalid = || format!("could not parse the clause at position of field '{}'", field_name(clause));
    let (field, value) = if let Some(rest) = clause.strip_prefix("metadata[") {
        let close = rest.find(']').ok_or_else(invalid)?;
        let key = unquote(&rest[..close]).ok_or_else(invalid)?;
        let value = rest[close + 1..].strip_prefix(':').ok_or_else(invalid)?;
        return Ok(Clause::Metadata(key.to_string(), unquote(value).ok_or_else(invalid)?.to_string()));
    } else {
        clause.split_once(':').ok_or_else(invalid)?
    };
    let value = unquote(value).ok_or_else(invalid)?.to_string();
    match field.trim() {
        "email" => Ok(Clause::Email(value)),
        "name" => Ok(Clause::Name(value)),
        "phone" => Ok(Clause::Phone(value)),
        other => Err(format!("the field '{other}' is not supported for customers")),
    }
}

fn field_name(clause: &str) -> &str {
    clause.split([':', '[']).next().unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_metadata_and_email_clauses() {
        let clauses = parse_query("metadata['identity_id']:'a b' AND email:\"x@y.z\"").unwrap();
        assert_eq!(clauses, vec![Clause::Metadata("identity_id".into(), "a b".into()), Clause::Email("x@y.z".into())]);
        assert!(parse_query("metadata['k']:unquoted").is_err());
        assert!(parse_query("created>5").is_err());
    }

    #[test]
    fn and_inside_quotes_is_part_of_the_value() {
        assert_eq!(parse_query("name:'Tom AND Jerry'").unwrap(), vec![Clause::Name("Tom AND Jerry".into())]);
    }
}
