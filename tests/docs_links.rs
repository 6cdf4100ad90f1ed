//! Every relative link in the user-facing documentation points to a file of
//! the repository, and every `#anchor` to a heading of its target: a moved
//! or renamed file fails here instead of in a reader's browser.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The documents whose links are checked: the root's Markdown files and
/// `docs/*.md`.
fn documents() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["README.md", "CONTRIBUTING.md", "SECURITY.md", "CHANGELOG.md"]
        .iter()
        .map(|f| root().join(f))
        .filter(|p| p.exists())
        .collect();
    let docs = std::fs::read_dir(root().join("docs")).expect("docs/");
    let mut md: Vec<PathBuf> =
        docs.map(|e| e.expect("docs/ entry").path()).filter(|p| p.extension().is_some_and(|x| x == "md")).collect();
    md.sort();
    files.extend(md);
    files
}

/// The text outside fenced code blocks, one line at a time.
fn prose_lines(text: &str) -> Vec<&str> {
    let mut in_code = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            out.push(line);
        }
    }
    out
}

/// GitHub's anchor of a heading: lower case, spaces to `-`, punctuation
/// other than `-` and `_` dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    prose_lines(&text).iter().filter(|l| l.starts_with('#')).map(|l| slug(l.trim_start_matches('#'))).collect()
}

/// The targets of the inline links `[text](target)` on a line.
fn link_targets(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        if let Some(end) = rest.find(')') {
            let target = rest[..end].split_whitespace().next().unwrap_or("");
            out.push(target.to_string());
            rest = &rest[end..];
        }
    }
    out
}

fn is_external(target: &str) -> bool {
    let scheme = target.split(':').next().unwrap_or("");
    target.contains(':') && !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphabetic())
}

#[test]
fn every_relative_link_in_the_docs_points_to_a_file_and_heading_that_exist() {
    let mut dead = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).expect("readable document");
        let name = doc.strip_prefix(root()).unwrap_or(&doc).display().to_string();
        for line in prose_lines(&text) {
            for target in link_targets(line) {
                if target.is_empty() || is_external(&target) {
                    continue;
                }
                let (path, fragment) = match target.split_once('#') {
                    Some((p, f)) => (p, Some(f)),
                    None => (target.as_str(), None),
                };
                let file = if path.is_empty() { doc.clone() } else { doc.parent().unwrap().join(path) };
                if !file.exists() {
                    dead.push(format!("{name}: {target} (no such file)"));
                    continue;
                }
                if let Some(fragment) = fragment {
                    if file.extension().is_some_and(|x| x == "md") && !anchors(&file).contains(fragment) {
                        dead.push(format!("{name}: {target} (no such heading)"));
                    }
                }
            }
        }
    }
    assert!(dead.is_empty(), "dead links:\n{}", dead.join("\n"));
}

#[test]
fn the_checker_reads_links_and_anchors_as_github_does() {
    assert_eq!(
        link_targets("see [a](docs/a.md#x) and [b](https://b.example) ok"),
        ["docs/a.md#x", "https://b.example"]
    );
    assert_eq!(slug(" 11. Reaching Kratos' admin API from the edge"), "11-reaching-kratos-admin-api-from-the-edge");
    assert_eq!(slug(" Signed assertions: `X-Bridge-Assertion`"), "signed-assertions-x-bridge-assertion");
    assert_eq!(slug(" Kratos session JWTs (`tokenize_as`)"), "kratos-session-jwts-tokenize_as");
    assert!(is_external("https://example.com") && is_external("mailto:a@b.c"));
    assert!(!is_external("docs/deploying.md") && !is_external("#routes"));
    assert_eq!(prose_lines("a\n```\n[x](nope)\n```\nb"), ["a", "b"]);
}
