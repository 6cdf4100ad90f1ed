//! The Search API (`/v1/customers/search`, `/v1/subscriptions/search`): the
//! part of Stripe's search query language the emulator understands, and the
//! lagging index (Stripe's search is not read-after-write consistent).
//!
//! Queries: clauses `field:'value'` (or `"value"`, with `\` escaping a quote)
//! and `metadata['key']:'value'`, negated by a leading `-`, joined by `AND`,
//! `OR` (either case) or whitespace (an implicit `AND`); `AND` and `OR` cannot
//! be mixed, and at most 10 clauses are allowed, as on Stripe. Anything else
//! Stripe's language has (`~`, `>`, `<`, unquoted numbers, `null`, `created`)
//! is refused with a 400 rather than answered wrongly.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::errors::ApiError;
use super::params::Params;
use super::resources::customer::Customer;
use super::resources::subscription::Subscription;

/// Stripe's limit on clauses in one query.
const MAX_CLAUSES: usize = 10;

/// Versions of each object as the search index has seen them.
pub(crate) struct SearchIndex<T> {
    versions: HashMap<String, Vec<(Instant, Option<T>)>>,
}

impl<T> Default for SearchIndex<T> {
    fn default() -> Self {
        SearchIndex { versions: HashMap::new() }
    }
}

impl<T> SearchIndex<T> {
    /// Records a write (`None` = deleted); keeps only what `lag` can still show.
    pub(crate) fn record(&mut self, id: &str, snapshot: Option<T>, lag: Duration) {
        let versions = self.versions.entry(id.to_string()).or_default();
        versions.push((Instant::now(), snapshot));
        if let Some(settled) = versions.iter().rposition(|(at, _)| at.elapsed() >= lag) {
            versions.drain(..settled);
        }
    }

    /// Each object as the index sees it now: its newest version older than `lag`.
    pub(crate) fn visible(&self, lag: Duration) -> Vec<&T> {
        self.versions
            .values()
            .filter_map(|versions| versions.iter().rev().find(|(at, _)| at.elapsed() >= lag))
            .filter_map(|(_, snapshot)| snapshot.as_ref())
            .collect()
    }
}

/// An object type that can be searched: the fields its queries may name.
pub(crate) trait Searchable {
    /// The resource's plural name, for messages (`customers`).
    const RESOURCE: &'static str;
    /// The fields (besides `metadata`) a query may name.
    const FIELDS: &'static [&'static str];
    /// Whether the field named (one of [`Searchable::FIELDS`]) equals `value`.
    fn field_equals(&self, field: &str, value: &str) -> bool;
    fn metadata(&self) -> &BTreeMap<String, String>;
}

impl Searchable for Customer {
    const RESOURCE: &'static str = "customers";
    const FIELDS: &'static [&'static str] = &["email", "name", "phone"];

    /// Email matches case-insensitively, name and phone exactly.
    fn field_equals(&self, field: &str, value: &str) -> bool {
        match field {
            "email" => self.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(value)),
            "name" => self.name.as_deref() == Some(value),
            "phone" => self.phone.as_deref() == Some(value),
            _ => false,
        }
    }

    fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }
}

impl Searchable for Subscription {
    const RESOURCE: &'static str = "subscriptions";
    const FIELDS: &'static [&'static str] = &["status"];

    fn field_equals(&self, field: &str, value: &str) -> bool {
        field == "status" && self.status.as_str() == value
    }

    fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }
}

/// What a clause compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field {
    Named(String),
    Metadata(String),
}

/// One `[-]field:'value'` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Clause {
    pub negated: bool,
    pub field: Field,
    pub value: String,
}

impl Clause {
    fn matches<T: Searchable>(&self, item: &T) -> bool {
        let equal = match &self.field {
            Field::Named(name) => item.field_equals(name, &self.value),
            Field::Metadata(key) => item.metadata().get(key) == Some(&self.value),
        };
        equal != self.negated
    }
}

/// How the clauses of a query combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Combine {
    And,
    Or,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Query {
    pub combine: Combine,
    pub clauses: Vec<Clause>,
}

impl Query {
    /// Whether `item` satisfies the query.
    pub(crate) fn matches<T: Searchable>(&self, item: &T) -> bool {
        match self.combine {
            Combine::And => self.clauses.iter().all(|c| c.matches(item)),
            Combine::Or => self.clauses.iter().any(|c| c.matches(item)),
        }
    }
}

/// Parses a query for `T`; the error is the reason, for Stripe's message.
pub(crate) fn parse_query<T: Searchable>(query: &str) -> Result<Query, String> {
    let parsed = parse(query)?;
    for clause in &parsed.clauses {
        match &clause.field {
            Field::Named(name) if !T::FIELDS.contains(&name.as_str()) => {
                return Err(format!(
                    "the field '{name}' is not supported for {} (the emulator searches {} and metadata)",
                    T::RESOURCE,
                    T::FIELDS.join(", ")
                ));
            }
            Field::Metadata(key) if key.is_empty() => return Err("a metadata key cannot be empty".to_string()),
            _ => {}
        }
    }
    Ok(parsed)
}

/// The query's syntax, for any resource.
fn parse(query: &str) -> Result<Query, String> {
    let mut cursor = Cursor { text: query, pos: 0 };
    let mut clauses = Vec::new();
    let mut combine: Option<Combine> = None;
    // A keyword or the start of the query was just read: a clause must follow.
    let mut expecting_clause = true;
    loop {
        cursor.skip_whitespace();
        if cursor.at_end() {
            break;
        }
        let keyword = match cursor.word() {
            w if w.eq_ignore_ascii_case("and") => Some(Combine::And),
            w if w.eq_ignore_ascii_case("or") => Some(Combine::Or),
            _ => None,
        };
        let joined = match keyword {
            Some(_) if expecting_clause => {
                return Err(format!("`{}` must stand between two clauses", cursor.word().to_uppercase()));
            }
            Some(keyword) => {
                cursor.pos += cursor.word().len();
                expecting_clause = true;
                Some(keyword)
            }
            // Whitespace between two clauses is an implicit AND.
            None if !expecting_clause => {
                expecting_clause = true;
                Some(Combine::And)
            }
            None => {
                clauses.push(cursor.clause()?);
                if !cursor.at_end() && !cursor.rest().starts_with(char::is_whitespace) {
                    return Err(format!("unexpected `{}` after a clause", cursor.word()));
                }
                expecting_clause = false;
                None
            }
        };
        if let Some(joined) = joined {
            if combine.is_some_and(|c| c != joined) {
                return Err("You cannot combine AND and OR in the same query".to_string());
            }
            combine = Some(joined);
        }
    }
    if clauses.is_empty() {
        return Err("the query is empty".to_string());
    }
    if expecting_clause {
        return Err("the query cannot end with AND or OR".to_string());
    }
    if clauses.len() > MAX_CLAUSES {
        return Err(format!("a query can have at most {MAX_CLAUSES} clauses"));
    }
    Ok(Query { combine: combine.unwrap_or(Combine::And), clauses })
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn skip_whitespace(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// The run of non-whitespace characters at the cursor.
    fn word(&self) -> &'a str {
        let rest = self.rest();
        &rest[..rest.find(char::is_whitespace).unwrap_or(rest.len())]
    }

    fn eat(&mut self, c: char) -> bool {
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// `[-]field:'value'` or `[-]metadata['key']:'value'`.
    fn clause(&mut self) -> Result<Clause, String> {
        let negated = self.eat('-');
        let rest = self.rest();
        let name_len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).unwrap_or(rest.len());
        let name = &rest[..name_len];
        if name.is_empty() {
            return Err(format!("expected a field name at `{}`", self.word()));
        }
        self.pos += name_len;
        let field = if name == "metadata" {
            if !self.eat('[') {
                return Err("metadata must name a key, as in metadata['key']:'value'".to_string());
            }
            let key = self.quoted().ok_or("a metadata key must be quoted, as in metadata['key']:'value'")?;
            if !self.eat(']') {
                return Err("expected `]` after the metadata key".to_string());
            }
            Field::Metadata(key)
        } else {
            Field::Named(name.to_string())
        };
        if !self.eat(':') {
            let operator: String = self.rest().chars().take_while(|c| "~<>=!".contains(*c)).collect();
            return Err(if operator.is_empty() {
                format!("expected `:` after the field '{name}'")
            } else {
                format!("the emulator supports only exact matches (`field:'value'`), not `{operator}`")
            });
        }
        let value = self.quoted().ok_or_else(|| format!("the value for the field '{name}' must be quoted"))?;
        Ok(Clause { negated, field, value })
    }

    /// A `'...'` or `"..."` string; a backslash escapes the next character.
    fn quoted(&mut self) -> Option<String> {
        let quote = self.rest().chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let mut value = String::new();
        let mut chars = self.rest().char_indices().skip(1);
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => value.push(chars.next()?.1),
                c if c == quote => {
                    self.pos += at + c.len_utf8();
                    return Some(value);
                }
                c => value.push(c),
            }
        }
        None
    }
}

/// A search call's validated parameters.
pub(crate) struct SearchRequest {
    pub query: Query,
    pub limit: usize,
    pub offset: usize,
    /// `expand[]=total_count`: Stripe then includes the number of matches.
    pub total_count: bool,
}

impl SearchRequest {
    /// Reads `query` (parsed for `T`), `limit` and the `page` token.
    pub(crate) fn read<T: Searchable>(params: &Params) -> Result<SearchRequest, ApiError> {
        params.only(&["query", "limit", "page"])?;
        let query = params.required_str("query")?;
        let query = parse_query::<T>(query).map_err(|reason| {
            ApiError::invalid("query", "parameter_invalid_string", format!("Invalid search query: {reason}."))
        })?;
        let limit = params.limit()?;
        let offset = match params.str("page")? {
            None => 0,
            Some(page) => page.strip_prefix("page_").and_then(|n| n.parse::<usize>().ok()).ok_or_else(|| {
                ApiError::invalid("page", "parameter_invalid_string", "Invalid page token.".to_string())
            })?,
        };
        let total_count = params.expand().iter().any(|path| path == "total_count");
        Ok(SearchRequest { query, limit, offset, total_count })
    }

    /// The `search_result` page of `found` (every match, in order), each
    /// rendered by `render`.
    pub(crate) fn page<T>(&self, found: Vec<T>, url: &str, render: impl Fn(T) -> Value) -> Value {
        let total = found.len();
        let data: Vec<Value> = found.into_iter().skip(self.offset).take(self.limit).map(render).collect();
        let has_more = self.offset + self.limit < total;
        let mut result = json!({
            "object": "search_result",
            "data": data,
            "has_more": has_more,
            "next_page": if has_more { Some(format!("page_{}", self.offset + self.limit)) } else { None },
            "url": url
        });
        if self.total_count {
            result["total_count"] = json!(total);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(field: &str, value: &str) -> Clause {
        Clause { negated: false, field: Field::Named(field.into()), value: value.into() }
    }

    fn metadata(key: &str, value: &str) -> Clause {
        Clause { negated: false, field: Field::Metadata(key.into()), value: value.into() }
    }

    fn customers(query: &str) -> Result<Query, String> {
        parse_query::<Customer>(query)
    }

    #[test]
    fn parses_metadata_and_email_clauses() {
        let query = customers("metadata['identity_id']:'a b' AND email:\"x@y.z\"").unwrap();
        assert_eq!(query.combine, Combine::And);
        assert_eq!(query.clauses, vec![metadata("identity_id", "a b"), named("email", "x@y.z")]);
        assert!(customers("metadata['k']:unquoted").is_err());
        assert!(customers("created>5").is_err());
    }

    #[test]
    fn keywords_inside_quotes_are_part_of_the_value() {
        assert_eq!(customers("name:'Tom AND Jerry'").unwrap().clauses, vec![named("name", "Tom AND Jerry")]);
        assert_eq!(customers("name:'it\\'s OR not'").unwrap().clauses, vec![named("name", "it's OR not")]);
    }

    #[test]
    fn or_and_whitespace_join_clauses_but_do_not_mix() {
        let or = customers("email:'a@x.y' or email:'b@x.y' OR name:'C'").unwrap();
        assert_eq!(or.combine, Combine::Or);
        assert_eq!(or.clauses.len(), 3);
        let implicit = customers("email:'a@x.y'   metadata[\"k\"]:'v'").unwrap();
        assert_eq!(implicit.combine, Combine::And);
        assert_eq!(implicit.clauses, vec![named("email", "a@x.y"), metadata("k", "v")]);
        let lower = customers("email:'a@x.y' and name:'A'").unwrap();
        assert_eq!(lower.combine, Combine::And);

        for mixed in ["email:'a' AND name:'b' OR phone:'c'", "email:'a' name:'b' OR phone:'c'"] {
            assert!(customers(mixed).unwrap_err().contains("You cannot combine AND and OR"), "{mixed}");
        }
    }

    #[test]
    fn malformed_queries_are_errors() {
        for bad in [
            "",
            "   ",
            "AND email:'a'",
            "email:'a' OR",
            "email:'a' AND AND name:'b'",
            "email:'a'name:'b'",
            "email:'unterminated",
            "email~'abc'",
            "metadata:'v'",
            "metadata[k]:'v'",
            "metadata['k'':'v'",
            "metadata['']:'v'",
            "status:'active'",
            "email:null",
            "(email:'a')",
        ] {
            assert!(customers(bad).is_err(), "{bad:?} should be refused");
        }
        let eleven: Vec<String> = (0..11).map(|i| format!("metadata['k{i}']:'v'")).collect();
        assert!(customers(&eleven.join(" OR ")).is_err());
        assert!(customers(&eleven[..10].join(" OR ")).is_ok());
    }

    #[test]
    fn negation_and_subscription_fields() {
        let query = parse_query::<Subscription>("-status:'canceled' metadata['team']:'t'").unwrap();
        assert!(query.clauses[0].negated);
        assert_eq!(query.clauses[1], metadata("team", "t"));
        assert!(parse_query::<Subscription>("email:'a@b.c'").is_err());
    }
}
