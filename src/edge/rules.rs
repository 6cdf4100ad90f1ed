//! `GATE_ROUTES`: which paths of the app need a session or a feature.
//! Parsed once per isolate with `PLANS` and validated as strictly; the first
//! rule whose path and methods match a request decides.
//!
//! An origin may read one request several ways (a path with or without its
//! case and `;` parameters, a method or the one an override names), so a
//! request is judged under every reading of it ([`GateRoutes::requirement`]):
//! it must meet what each reading's first matching rule asks.

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

/// How a path's letters are compared with a rule's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Byte for byte, as a case-sensitive router reads it.
    Exact,
    /// ASCII letters in any case, as Express and ASP.NET Core route.
    Ignored,
}

impl PathPattern {
    /// Whether the normalised `path` is covered.
    pub fn covers(&self, path: &str, case: Case) -> bool {
        let same = |a: &str, b: &str| match case {
            Case::Exact => a == b,
            Case::Ignored => a.eq_ignore_ascii_case(b),
        };
        match self {
            Self::Exact(p) => same(path, p),
            Self::Below(prefix) => {
                let n = prefix.len();
                same(path, prefix)
                    || (path.len() > n
                        && path.is_char_boundary(n)
                        && same(&path[..n], prefix)
                        && path.as_bytes()[n] == b'/')
            }
        }
    }
}

/// What the rules ask of a request under every reading of it: a signed-in
/// user, whose plan allows each of `features` (none: a session is enough),
/// and who then consumes one unit of each of `consume`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Requirement {
    pub features: Vec<String>,
    pub consume: Vec<String>,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub path: PathPattern,
    /// Upper-case method names; `None` for every method.
    pub methods: Option<Vec<String>>,
    pub need: Need,
    /// `consume`: a meter of `PLANS` one unit of which each allowed request
    /// consumes before it passes.
    pub consume: Option<String>,
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
    #[serde(default)]
    consume: Option<String>,
}

/// The methods a rule may name.
pub const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

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
            if text.contains(';') || text.to_ascii_lowercase().contains("%3b") {
                return Err(at("`path` must not contain `;`: parameters are dropped before matching".into()));
            }
            let consume = match r.consume {
                Some(m) if plans.meter(&m).is_some() => Some(m),
                Some(m) => return Err(at(format!("`consume` names \"{m}\", which is not a meter of PLANS"))),
                None => None,
            };
            let need = match (r.feature, r.session.as_deref()) {
                (Some(f), None) if !f.is_empty() && granted(&f) => Need::Feature(f),
                (Some(f), None) => return Err(at(format!("no plan grants the feature \"{f}\""))),
                (None, Some("required")) => Need::Session,
                (None, None) if consume.is_some() => Need::Session,
                (None, Some(other)) => return Err(at(format!("`session` must be \"required\", not \"{other}\""))),
                _ => {
                    return Err(at("give one of `feature` and `session` (with `consume` or not), or `consume`".into()))
                }
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
            rules.push(Rule { path, methods, need, consume });
        }
        Ok(GateRoutes { rules })
    }

    /// What the first rule that covers `method` and the normalised `path`
    /// (read with `case`) needs; `None` when no rule does.
    pub fn need(&self, method: &str, path: &str, case: Case) -> Option<&Need> {
        self.rule(method, path, case).map(|r| &r.need)
    }

    /// The first rule that covers `method` and the normalised `path` (read
    /// with `case`).
    pub fn rule(&self, method: &str, path: &str, case: Case) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|r| r.path.covers(path, case) && r.methods.as_ref().is_none_or(|m| m.iter().any(|x| x == method)))
    }

    /// What a request needs under every reading of it: each of `methods`
    /// (upper case) with each of `paths` (normalised), each read with and
    /// without case. `None` when no rule covers any reading (forwarded as
    /// is); otherwise a session, and every feature some reading's rule asks.
    pub fn requirement<'a>(&self, methods: &[&str], paths: impl IntoIterator<Item = &'a str>) -> Option<Requirement> {
        if self.rules.is_empty() {
            return None;
        }
        let mut found: Option<Requirement> = None;
        for path in paths {
            for method in methods {
                for case in [Case::Exact, Case::Ignored] {
                    let Some(rule) = self.rule(method, path, case) else { continue };
                    let req = found.get_or_insert_with(Requirement::default);
                    if let Need::Feature(f) = &rule.need {
                        if !req.features.contains(f) {
                            req.features.push(f.clone());
                        }
                    }
                    if let Some(m) = &rule.consume {
                        if !req.consume.contains(m) {
                            req.consume.push(m.clone());
                        }
                    }
                }
            }
        }
        found
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
        let need = |m, p| g.need(m, p, Case::Exact).cloned();
        let premium = Some(Need::Feature("premium_feature".into()));
        assert_eq!(need("GET", "/app/reports/q3"), premium);
        assert_eq!(need("GET", "/app/reports"), premium, "the prefix itself");
        assert_eq!(need("GET", "/app/reportsx"), Some(Need::Session), "not below /app/reports");
        assert_eq!(need("GET", "/app"), Some(Need::Session));
        assert_eq!(need("POST", "/api/export"), Some(Need::Feature("basic_feature".into())));
        assert_eq!(need("GET", "/api/export"), None, "another method: no rule");
        assert_eq!(need("GET", "/api/export/x"), None, "exact means exact");
        assert_eq!(need("GET", "/"), None);
        let all = GateRoutes::parse(r#"[{"path": "/*", "session": "required"}]"#, &plans()).unwrap();
        assert_eq!(all.need("GET", "/anything/at/all", Case::Exact), Some(&Need::Session));
    }

    #[test]
    fn case_is_ignored_only_for_ascii_and_on_whole_segments() {
        let g = GateRoutes::parse(SPEC, &plans()).unwrap();
        let premium = Some(&Need::Feature("premium_feature".into()));
        assert_eq!(g.need("GET", "/APP/REPORTS/x", Case::Ignored), premium);
        assert_eq!(g.need("GET", "/App/Reports", Case::Ignored), premium);
        assert_eq!(g.need("GET", "/APP/REPORTS/x", Case::Exact), None);
        assert_eq!(g.need("GET", "/App/Reportsx", Case::Ignored), Some(&Need::Session));
        assert_eq!(g.need("GET", "/ap\u{e9}/x", Case::Ignored), None, "a prefix that ends inside a character");
        let upper = GateRoutes::parse(r#"[{"path": "/Admin/*", "session": "required"}]"#, &plans()).unwrap();
        assert_eq!(upper.need("GET", "/admin/x", Case::Ignored), Some(&Need::Session), "rules in any case");
    }

    #[test]
    fn every_reading_of_a_request_must_be_met() {
        let rules = r#"[
          {"path": "/app/reports/*", "feature": "premium_feature"},
          {"path": "/api/items/*", "methods": ["DELETE"], "feature": "admin"},
          {"path": "/api/items/*", "methods": ["GET"], "session": "required"},
          {"path": "/*", "feature": "basic_feature"}
        ]"#;
        let g = GateRoutes::parse(rules, &plans()).unwrap();
        let features = |methods: &[&str], paths: &[&str]| {
            g.requirement(methods, paths.iter().copied()).map(|r| {
                let mut f = r.features;
                f.sort();
                f
            })
        };
        assert_eq!(features(&["GET"], &["/app/reports/q3"]), Some(vec!["premium_feature".into()]));
        // Read without case it is the reports; byte for byte it is under /*.
        assert_eq!(
            features(&["GET"], &["/APP/REPORTS/q3"]),
            Some(vec!["basic_feature".to_string(), "premium_feature".into()])
        );
        // With and without its parameters.
        assert_eq!(
            features(&["GET"], &["/app/reports;v=1/q3", "/app/reports/q3"]),
            Some(vec!["basic_feature".to_string(), "premium_feature".into()])
        );
        // A method and the one its override names.
        assert_eq!(
            features(&["POST", "DELETE"], &["/api/items/1"]),
            Some(vec!["admin".to_string(), "basic_feature".into()])
        );
        assert_eq!(features(&["GET"], &["/api/items/1"]), Some(vec![]), "a session is enough");
        let none = GateRoutes::parse(r#"[{"path": "/app/*", "session": "required"}]"#, &plans()).unwrap();
        assert_eq!(none.requirement(&["GET"], ["/public"]), None, "no reading is covered: forwarded as is");
        assert_eq!(GateRoutes::default().requirement(&["GET"], ["/app"]), None);
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
        assert!(err(r#"[{"path": "/a;v=1/*", "session": "required"}]"#).contains("`;`"));
        assert!(err(r#"[{"path": "/a%3Bv", "session": "required"}]"#).contains("`;`"));
        let no_star =
            Plans::parse(r#"{"default_plan":"free","plans":{"free":{"rank":0,"features":["basic_feature"]}}}"#)
                .unwrap();
        let e = GateRoutes::parse(r#"[{"path": "/a", "feature": "teleport"}]"#, &no_star).unwrap_err();
        assert!(e.contains("no plan grants the feature \"teleport\""), "{e}");
        assert!(err(r#"[{"path": "/a", "session": "optional"}]"#).contains("\"required\""));
        assert!(err(r#"[{"path": "/a"}]"#).contains("give one of"));
        assert!(err(r#"[{"path": "/a", "session": "required", "feature": "basic_feature"}]"#).contains("give one of"));
        assert!(err(r#"[{"path": "/a", "session": "required", "methods": []}]"#).contains("empty"));
        assert!(err(r#"[{"path": "/a", "session": "required", "methods": ["FETCH"]}]"#).contains("FETCH"));
        // "*" in a plan covers any feature name.
        assert!(GateRoutes::parse(r#"[{"path": "/a", "feature": "anything"}]"#, &p).is_ok(), "enterprise has *");
        let g = GateRoutes::parse(r#"[{"path": "/a", "methods": ["post"], "session": "required"}]"#, &p).unwrap();
        assert_eq!(g.need("POST", "/a", Case::Exact), Some(&Need::Session), "methods are case-insensitive");
    }

    #[test]
    fn a_rule_may_consume_a_meter_and_every_reading_consumes_its_rules_meter() {
        let plans = Plans::parse(crate::entitlements::plans::tests::METERED).unwrap();
        let g = GateRoutes::parse(
            r#"[
              {"path": "/api/export", "methods": ["POST"], "feature": "premium_feature", "consume": "exports"},
              {"path": "/api/*", "consume": "api_calls"},
              {"path": "/app/*", "session": "required"}
            ]"#,
            &plans,
        )
        .unwrap();
        let need = |methods: &[&str], path: &str| g.requirement(methods, [path]);
        assert_eq!(
            need(&["POST"], "/api/export"),
            Some(Requirement { features: vec!["premium_feature".into()], consume: vec!["exports".into()] })
        );
        assert_eq!(
            need(&["GET"], "/api/export"),
            Some(Requirement { features: vec![], consume: vec!["api_calls".into()] })
        );
        assert_eq!(
            need(&["GET", "POST"], "/api/export"),
            Some(Requirement {
                features: vec!["premium_feature".into()],
                consume: vec!["api_calls".into(), "exports".into()]
            }),
            "a method override reads the request both ways"
        );
        assert_eq!(need(&["GET"], "/app/x"), Some(Requirement::default()));
        let err = GateRoutes::parse(r#"[{"path": "/x", "consume": "exprots"}]"#, &plans).unwrap_err();
        assert!(err.contains("\"exprots\", which is not a meter of PLANS"), "{err}");
        let err = GateRoutes::parse(r#"[{"path": "/x"}]"#, &plans).unwrap_err();
        assert!(err.contains("give one of `feature` and `session`"), "{err}");
    }
}
