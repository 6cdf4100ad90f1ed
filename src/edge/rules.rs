//! `GATE_ROUTES`: which paths of the app need a session or a feature.
//! Parsed once per isolate with `PLANS` and validated as strictly; the first
//! rule whose path and methods match a request decides.

use serde::Deserialize;

use crate::entitlements::plans::{Plans, ALL_FEATURES};

/// What a rule asks of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// A signed-in user.
    Session,
    /// A signed-in user whose entitlement allows this feature.
    Feature(String),
}

/// Which paths a rule covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPattern {
    /// Exactly this normalised path.
    Exact(String),
    /// `/prefix/*`: the prefix itself and everything below it.
    Below(String),
}

impl PathPattern {
    /// Whether the normalised `path` is covered.
    pub fn covers(&self, path: &str) -> bool {
        match self {
            Self::Exact(p) => path == p,
            Self::Below(prefix) => {
                path == prefix
                    || (path.starts_with(prefix.as_str()) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
            }
        }
    }
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub path: PathPattern,
    /// Upper-case method names; `None` for every method.
    pub methods: Option<Vec<String>>,
    pub need: Need,
}

/// The parsed `GATE_ROUTES`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GateRoutes {
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    path: String,
    #[serde(default)]
    methods: Option<Vec<String>>,
    #[serde(default)]
    feature: Option<String>,
    #[serde(default)]
    session: Option<String>,
}

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

impl GateRoutes {
    /// Parses and validates `GATE_ROUTES` against the catalogue; the error
    /// names the rule (by its index) and what is wrong with it.
    pub fn parse(json: &str, plans: &Plans) -> Result<GateRoutes, String> {
        let raw: Vec<RawRule> = serde_json::from_str(json).map_err(|e| format!("not a list of rules: {e}"))?;
        let granted =
            |feature: &str| plans.iter().any(|(_, p)| p.features.iter().any(|f| f == feature || f == ALL_FEATURES));
        let mut rules = Vec::with_capacity(raw.len());
        for (i, r) in raw.into_iter().enumerate() {
            let at = |what: String| format!("rule {i} ({}): {what}", r.path);
            let path = match r.path.strip_suffix("/*") {
                Some(prefix) => PathPattern::Below(prefix.to_owned()),
                None => PathPattern::Exact(r.path.clone()),
            };
            let text = match &path {
                PathPattern::Exact(p) | PathPattern::Below(p) => p,
            };
            let normal = super::path::normalize(text).ok();
            let whole = matches!(path, PathPattern::Below(ref p) if p.is_empty());
            if r.path.is_empty() || !r.path.starts_with('/') || (!whole && normal.as_deref() != Some(text.as_str())) {
                return Err(at(
                    "`path` must be a normalised absolute path (\"/app/x\"), optionally ending in /*".into()
                ));
            }
            let need = match (r.feature, r.session.as_deref()) {
                (Some(f), None) if !f.is_empty() && granted(&f) => Need::Feature(f),
                (Some(f), None) => return Err(at(format!("no plan grants the feature \"{f}\""))),
                (None, Some("required")) => Need::Session,
                (None, Some(other)) => return Err(at(format!("`session` must be \"required\", not \"{other}\""))),
                _ => return Err(at("give exactly one of `feature` and `session`".into())),
            };
            let methods = match r.methods {
                None => None,
                Some(m) if m.is_empty() => return Err(at("`methods` is empty".into())),
                Some(m) => {
                    let upper: Vec<String> = m.iter().map(|x| x.to_ascii_uppercase()).collect();
                    if let Some(bad) = upper.iter().find(|x| !METHODS.contains(&x.as_str())) {
                        return Err(at(format!("unknown method \"{bad}\"")));
                    }
                    Some(upper)
                }
            };
            rules.push(Rule { path, methods, need });
        }
        Ok(GateRoutes { rules })
    }

    /// What the first rule that covers `method` and the normalised `path`
    /// needs; `None` when no rule does (forwarded as is).
    pub fn need(&self, method: &str, path: &str) -> Option<&Need> {
        self.rules
            .iter()
            .find(|r| r.path.covers(path) && r.methods.as_ref().is_none_or(|m| m.iter().any(|x| x == method)))
            .map(|r| &r.need)
    }

    /// Whether there is no rule at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlements::plans::tests::example as plans;

    const SPEC: &str = r#"[
      {"path": "/app/reports/*", "feature": "premium_feature"},
      {"path": "/api/export", "methods": ["POST"], "feature": "basic_feature"},
      {"path": "/app/*", "session": "required"}
    ]"#;

    #[test]
    fn the_first_matching_rule_decides() {
        let g = GateRoutes::parse(SPEC, &plans()).unwrap();
        let premium = Some(Need::Feature("premium_feature".into()));
        assert_eq!(g.need("GET", "/app/reports/q3").cloned(), premium);
        assert_eq!(g.need("GET", "/app/reports").cloned(), premium, "the prefix itself");
        assert_eq!(g.need("GET", "/app/reportsx").cloned(), Some(Need::Session), "not below /app/reports");
        assert_eq!(g.need("GET", "/app").cloned(), Some(Need::Session));
        assert_eq!(g.need("POST", "/api/export").cloned(), Some(Need::Feature("basic_feature".into())));
        assert_eq!(g.need("GET", "/api/export"), None, "another method: no rule");
        assert_eq!(g.need("GET", "/api/export/x"), None, "exact means exact");
        assert_eq!(g.need("GET", "/"), None);
        let all = GateRoutes::parse(r#"[{"path": "/*", "session": "required"}]"#, &plans()).unwrap();
        assert_eq!(all.need("GET", "/anything/at/all"), Some(&Need::Session));
    }

    #[test]
    fn a_bad_rule_is_named() {
        let p = plans();
        let err = |json: &str| GateRoutes::parse(json, &p).unwrap_err();
        assert!(err("{}").contains("not a list"));
        assert!(err(r#"[{"path": "/a", "feature": "x", "extra": 1}]"#).contains("unknown field"));
        assert!(err(r#"[{"path": "", "session": "required"}]"#).contains("rule 0"));
        assert!(err(r#"[{"path": "app", "session": "required"}]"#).contains("normalised absolute path"));
        assert!(err(r#"[{"path": "/a/../b", "session": "required"}]"#).contains("normalised"));
        assert!(err(r#"[{"path": "/a/", "session": "required"}]"#).contains("normalised"));
        let no_star =
            Plans::parse(r#"{"default_plan":"free","plans":{"free":{"rank":0,"features":["basic_feature"]}}}"#)
                .unwrap();
        let e = GateRoutes::parse(r#"[{"path": "/a", "feature": "teleport"}]"#, &no_star).unwrap_err();
        assert!(e.contains("no plan grants the feature \"teleport\""), "{e}");
        assert!(err(r#"[{"path": "/a", "session": "optional"}]"#).contains("\"required\""));
        assert!(err(r#"[{"path": "/a"}]"#).contains("exactly one"));
        assert!(err(r#"[{"path": "/a", "session": "required", "feature": "basic_feature"}]"#).contains("exactly one"));
        assert!(err(r#"[{"path": "/a", "session": "required", "methods": []}]"#).contains("empty"));
        assert!(err(r#"[{"path": "/a", "session": "required", "methods": ["FETCH"]}]"#).contains("FETCH"));
        // "*" in a plan covers any feature name.
        assert!(GateRoutes::parse(r#"[{"path": "/a", "feature": "anything"}]"#, &p).is_ok(), "enterprise has *");
        let g = GateRoutes::parse(r#"[{"path": "/a", "methods": ["post"], "session": "required"}]"#, &p).unwrap();
        assert_eq!(g.need("POST", "/a"), Some(&Need::Session), "methods are case-insensitive");
    }
}
