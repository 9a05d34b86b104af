//! The structure's limits, checked on the source text so they hold for every change after
//! the restructuring (issue 22):
//! - the library's top-level modules form layers: following `crate::` paths outside
//!   `#[cfg(test)]`, no module reaches one that reaches back (no cycle);
//! - no source file holds more than 1,000 lines before its tests; `src/main.rs` at most 200;
//! - at most 25 functions return `Result<_, String>` (errors are typed, see each area's enum);
//! - only the authority service makes the token that issues a grant;
//! - README.md is a front door of at most 400 lines, with the manual in docs/.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn src_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&root)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(&p).expect("read source"))
        })
        .collect()
}

/// The code of a file with comments, string and char literals blanked out (kept as spaces, so
/// offsets and lines stay) and every item marked `#[cfg(test)]` removed.
fn code_outside_tests(text: &str) -> String {
    let blank = blank_literals(text);
    let mut out = String::with_capacity(blank.len());
    let bytes = blank.as_bytes();
    let mut i = 0;
    let marker = "#[cfg(test)]";
    while i < bytes.len() {
        if blank[i..].starts_with(marker) {
            // Skip to the item's body (or its end, for `mod tests;`) and past its closing brace.
            let mut j = i + marker.len();
            while j < bytes.len() && bytes[j] != b'{' && bytes[j] != b';' {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b'{' {
                let mut depth = 0usize;
                while j < bytes.len() {
                    match bytes[j] {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
            }
            i = j + 1;
            continue;
        }
        let ch = blank[i..].chars().next().expect("char");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Comments and literals replaced by spaces (newlines kept).
fn blank_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let keep = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(keep(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && {
            let mut k = i + 1;
            while chars.get(k) == Some(&'#') {
                k += 1;
            }
            chars.get(k) == Some(&'"') && (i == 0 || !chars[i - 1].is_alphanumeric())
        } {
            let mut hashes = 0;
            let mut k = i + 1;
            while chars[k] == '#' {
                hashes += 1;
                k += 1;
            }
            k += 1;
            out.push_str(&" ".repeat(k - i));
            i = k;
            loop {
                if i >= chars.len() {
                    break;
                }
                if chars[i] == '"' && (1..=hashes).all(|h| chars.get(i + h) == Some(&'#')) {
                    out.push_str(&" ".repeat(hashes + 1));
                    i += hashes + 1;
                    break;
                }
                out.push(keep(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(keep(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}'), not a lifetime ('a).
            let end = if next == Some('\\') {
                (i + 2..chars.len().min(i + 12)).find(|&k| chars[k] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(e) => {
                    out.push_str(&" ".repeat(e - i + 1));
                    i = e + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The top-level module a file belongs to.
fn top_module(rel: &str) -> String {
    let first = rel.split('/').next().expect("path");
    first.trim_end_matches(".rs").to_string()
}

/// `crate::a`, `crate::{a, b::c}`: the top-level modules a piece of code names.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `$crate::`, `my_crate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name = part.trim().split("::").next().unwrap_or("").trim();
                if !name.is_empty() {
                    out.insert(name.to_string());
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn top_level_modules_form_layers_without_a_cycle() {
    let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let files = src_files();
    let modules: BTreeSet<String> = files
        .iter()
        .map(|(rel, _)| top_module(rel))
        .filter(|m| m != "main" && m != "lib")
        .collect();
    for (rel, text) in &files {
        let from = top_module(rel);
        if from == "main" || from == "lib" {
            continue;
        }
        for to in crate_refs(&code_outside_tests(text)) {
            if to != from && modules.contains(&to) {
                edges
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .insert(rel.clone());
            }
        }
    }
    // Depth-first search for a back edge; report the cycle with the files that close it.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(m.to_string(), 1);
        path.push(m.to_string());
        for next in edges.get(m).map(|e| e.keys()).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let start = path.iter().position(|p| p == next).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(next, edges, state, path) {
                        return Some(c);
                    }
                }
            }
        }
        path.pop();
        state.insert(m.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in &modules {
        if !state.contains_key(m.as_str()) {
            if let Some(cycle) = visit(m, &edges, &mut state, &mut Vec::new()) {
                let steps: Vec<String> = cycle
                    .windows(2)
                    .map(|w| format!("{} -> {} (in {:?})", w[0], w[1], edges[&w[0]][&w[1]]))
                    .collect();
                panic!(
                    "top-level modules form a cycle (see docs/architecture.md for the layers):\n{}",
                    steps.join("\n")
                );
            }
        }
    }
}

#[test]
fn the_crate_ref_scanner_sees_grouped_and_plain_paths_but_not_tests_or_comments() {
    let code = "use crate::{a, b::c};\n// crate::commented\nfn f() { crate::d::e(); \"crate::quoted\"; }\n#[cfg(test)]\nmod tests { use crate::hidden; fn g() { let s = '{'; } }\nuse crate::after;";
    let refs = crate_refs(&code_outside_tests(code));
    let want: BTreeSet<String> = ["a", "b", "d", "after"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(refs, want);
}

/// Lines before a file's first `#[cfg(test)]` item (its tests), or all of it.
fn lines_before_tests(text: &str) -> usize {
    let blank = blank_literals(text);
    let end = blank.find("#[cfg(test)]").unwrap_or(blank.len());
    blank[..end].lines().count()
}

#[test]
fn no_source_file_holds_more_than_a_thousand_lines_before_its_tests() {
    let mut long = Vec::new();
    for (rel, text) in src_files() {
        let n = lines_before_tests(&text);
        if n > 1000 {
            long.push(format!("src/{rel}: {n} lines"));
        }
        if rel == "main.rs" {
            assert!(text.lines().count() <= 200, "src/main.rs is a thin binary");
        }
    }
    assert!(long.is_empty(), "split these along their jobs: {long:?}");
}

#[test]
fn errors_are_typed_except_where_a_message_is_the_whole_value() {
    let mut found = Vec::new();
    for (rel, text) in src_files() {
        let code = code_outside_tests(&text);
        for (n, line) in code.lines().enumerate() {
            let compact: String = line.split_whitespace().collect::<Vec<_>>().join(" ");
            if compact.contains("Result<") && compact.contains(", String>") {
                found.push(format!("src/{rel}:{}", n + 1));
            }
        }
    }
    assert!(
        found.len() <= 25,
        "{} Result<_, String> (at most 25): {found:#?}",
        found.len()
    );
}

#[test]
fn only_the_authority_service_makes_the_token_that_issues_grants() {
    for (rel, text) in src_files() {
        let code = code_outside_tests(&text);
        let makes = code.contains("IssueToken::for_authority_service")
            || (code.contains("IssueToken {") && rel != "policy/access.rs");
        assert!(
            !makes || rel == "authority/service.rs",
            "src/{rel} makes an IssueToken: only the authority service may issue grants"
        );
    }
}

#[test]
fn the_readme_is_a_front_door_and_the_manual_lives_in_docs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    assert!(
        readme.lines().count() <= 400,
        "README.md has {} lines (at most 400: move reference material to docs/)",
        readme.lines().count()
    );
    for page in [
        "configuration.md",
        "operating.md",
        "postgres.md",
        "authority.md",
        "architecture.md",
        "testing.md",
        "performance.md",
    ] {
        let path = root.join("docs").join(page);
        assert!(path.is_file(), "docs/{page} is missing");
        assert!(
            readme.contains(&format!("docs/{page}")),
            "README.md does not link docs/{page}"
        );
    }
}
