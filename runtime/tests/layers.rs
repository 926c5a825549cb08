//! The runtime's files import one another without a cycle: no file of `runtime/src` reaches,
//! through its `use` lines (or a `crate::` path written out), a file that reaches it back.
//! A facade file (`refs.rs`, say) may re-export its children, so its children import their
//! siblings directly, never through it, and no file imports through the crate root.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module path, `[]` for the crate root.
type Module = Vec<String>;

/// The source with comments, strings and character literals blanked, so that braces, `use`
/// and `crate::` are only code.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            out.push(' ');
        } else if c == 'r'
            && (next == Some('#') || next == Some('"'))
            && !ident_char_before(&chars, i)
        {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}'), or a lifetime ('a).
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_char_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// Expands `a::{b, c::{d}}` into `a::b` and `a::c::d`.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.len().saturating_sub(1)];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|part| !part.is_empty())
        .flat_map(expand)
        .map(|path| format!("{prefix}{path}"))
        .collect()
}

/// Every path a file names, with the inline module it is written in.
fn paths(code: &str) -> Vec<(Vec<String>, String)> {
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut found = Vec::new();
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let word_start = i == 0 || !is_ident(bytes[i - 1]);
        let rest = &code[i..];
        let inline_names = || {
            inline
                .iter()
                .map(|(name, _)| name.clone())
                .collect::<Vec<_>>()
        };
        if bytes[i] == b'{' {
            depth += 1;
        } else if bytes[i] == b'}' {
            depth = depth.saturating_sub(1);
            if inline.last().is_some_and(|(_, at)| *at == depth) {
                inline.pop();
            }
        } else if word_start && rest.starts_with("mod ") {
            let decl: String = rest[4..]
                .chars()
                .take_while(|&c| c != ';' && c != '{')
                .collect();
            if rest[4 + decl.len()..].starts_with('{') {
                inline.push((decl.trim().to_owned(), depth));
            }
        } else if word_start && rest.starts_with("use ") {
            let end = rest.find(';').unwrap_or(rest.len());
            for path in expand(&rest[4..end]) {
                let path = path.split(" as ").next().unwrap_or_default().to_owned();
                found.push((inline_names(), path));
            }
            i += end;
            continue;
        } else if word_start && rest.starts_with("crate::") {
            let path: String = rest
                .chars()
                .take_while(|&c| c.is_alphanumeric() || c == '_' || c == ':')
                .collect();
            found.push((inline_names(), path.clone()));
            i += path.len();
            continue;
        }
        i += 1;
    }
    found
}

/// The file a path leads to: the deepest module of it that is a file.
fn resolve(files: &BTreeSet<Module>, path: &[String]) -> Option<Module> {
    (0..=path.len())
        .rev()
        .map(|len| path[..len].to_vec())
        .find(|module| files.contains(module))
}

#[test]
fn no_file_of_the_runtime_imports_a_file_that_imports_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = BTreeMap::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path
                    .strip_prefix(&root)
                    .expect("under src")
                    .with_extension("");
                let module: Module = relative
                    .iter()
                    .map(|part| part.to_string_lossy().into_owned())
                    .filter(|part| part != "lib")
                    .collect();
                sources.insert(module, std::fs::read_to_string(&path).expect("readable"));
            }
        }
    }
    let files: BTreeSet<Module> = sources.keys().cloned().collect();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, source) in &sources {
        let targets = edges.entry(module.clone()).or_default();
        for (inline, path) in paths(&code_only(source)) {
            let mut segments: Vec<String> = path
                .split("::")
                .filter(|s| !s.is_empty() && *s != "*" && *s != "self")
                .map(str::to_owned)
                .collect();
            let mut base: Module = module.iter().cloned().chain(inline).collect();
            match path.split("::").next() {
                Some("crate") => {
                    segments.remove(0);
                    base.clear();
                }
                Some("super") => {
                    while segments.first().is_some_and(|s| s == "super") {
                        segments.remove(0);
                        base.pop();
                    }
                }
                Some("self") => {}
                Some(first) => {
                    // A child module declared by this file; anything else is another crate.
                    let mut child = module.clone();
                    child.push(first.to_owned());
                    if !files.contains(&child) {
                        continue;
                    }
                    base = module.clone();
                }
                None => continue,
            }
            base.extend(segments);
            if let Some(target) = resolve(&files, &base)
                && &target != module
            {
                targets.insert(target);
            }
        }
    }
    // Every file that reaches itself again is on a cycle.
    let name = |module: &Module| {
        if module.is_empty() {
            "lib.rs".to_owned()
        } else {
            format!("{}.rs", module.join("/"))
        }
    };
    let mut on_cycles = Vec::new();
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(Module, Vec<Module>)> = vec![(start.clone(), vec![start.clone()])];
        while let Some((at, trail)) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == start {
                    let cycle: Vec<String> = trail.iter().chain([start]).map(name).collect();
                    on_cycles.push(cycle.join(" -> "));
                    stack.clear();
                    break;
                }
                if seen.insert(next.clone()) {
                    let mut longer = trail.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    assert!(
        on_cycles.is_empty(),
        "files import each other in a circle:\n{}",
        on_cycles.join("\n")
    );
    assert!(
        edges.len() > 40,
        "the sources were found ({} files)",
        edges.len()
    );
}
