//! Every `{{#include ...}}` in the book must resolve: the file exists and, when an anchor is
//! named, the file has both `ANCHOR: name` and `ANCHOR_END: name`. mdBook itself builds
//! happily with a missing file or anchor (it includes nothing), so this test is what keeps the
//! book honest.

use std::path::{Path, PathBuf};

#[derive(Debug)]
struct Include {
    page: PathBuf,
    line: usize,
    target: PathBuf,
    selector: Option<String>,
}

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src")
}

fn pages(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("book/src exists") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            pages(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

/// Find `{{#include path[:selector]}}` and `{{#rustdoc_include ...}}` directives.
fn includes(page: &Path) -> Vec<Include> {
    let text = std::fs::read_to_string(page).unwrap();
    let mut found = vec![];
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("{{#") {
            let after = &rest[start + 3..];
            let Some(end) = after.find("}}") else { break };
            let directive = after[..end].trim();
            rest = &after[end + 2..];
            let arg = directive
                .strip_prefix("include ")
                .or_else(|| directive.strip_prefix("rustdoc_include "));
            let Some(arg) = arg else { continue };
            let arg = arg.trim();
            let (file, selector) = match arg.split_once(':') {
                Some((f, s)) => (f, Some(s.to_string())),
                None => (arg, None),
            };
            found.push(Include {
                page: page.to_path_buf(),
                line: i + 1,
                target: page.parent().unwrap().join(file),
                selector,
            });
        }
    }
    found
}

fn check(inc: &Include) -> Result<(), String> {
    let here = format!("{}:{}", inc.page.display(), inc.line);
    let text = std::fs::read_to_string(&inc.target)
        .map_err(|e| format!("{here}: cannot read {}: {e}", inc.target.display()))?;
    let Some(sel) = &inc.selector else { return Ok(()) };
    let first = sel.split(':').next().unwrap();
    if first.is_empty() || first.chars().all(|c| c.is_ascii_digit()) {
        // a line range such as `:10:20` or `::5`: the lines must exist
        let n_lines = text.lines().count();
        for part in sel.split(':').filter(|p| !p.is_empty()) {
            let n: usize = part.parse().map_err(|_| format!("{here}: bad line range `{sel}`"))?;
            if n > n_lines {
                return Err(format!("{here}: line {n} is past the end of {} ({n_lines} lines)", inc.target.display()));
            }
        }
        return Ok(());
    }
    let has = |marker: &str| text.lines().any(|l| {
        l.trim_start()
            .trim_start_matches("//")
            .trim_start_matches('#')
            .trim_start_matches("<!--")
            .trim()
            .strip_prefix(marker)
            .is_some_and(|rest| rest.trim().trim_end_matches("-->").trim() == sel)
    });
    if !has("ANCHOR:") || !has("ANCHOR_END:") {
        return Err(format!("{here}: anchor `{sel}` not found (ANCHOR: and ANCHOR_END:) in {}", inc.target.display()));
    }
    Ok(())
}

#[test]
fn every_book_include_and_anchor_resolves() {
    let mut all = vec![];
    pages(&book_src(), &mut all);
    assert!(!all.is_empty(), "no pages under book/src");
    let incs: Vec<Include> = all.iter().flat_map(|p| includes(p)).collect();
    assert!(incs.len() >= 10, "the book should include code from the crates; found {} includes", incs.len());
    let errors: Vec<String> = incs.iter().filter_map(|i| check(i).err()).collect();
    assert!(errors.is_empty(), "{} broken include(s):\n{}", errors.len(), errors.join("\n"));
}

#[test]
fn the_checker_catches_a_missing_anchor_and_file() {
    let dir = std::env::temp_dir().join(format!("book-include-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("code.rs"), "// ANCHOR: here\nfn f() {}\n// ANCHOR_END: here\n").unwrap();
    std::fs::write(
        dir.join("page.md"),
        "{{#include code.rs:here}}\n{{#include code.rs:gone}}\n{{#include missing.rs}}\n{{#include code.rs:2:9}}\n",
    )
    .unwrap();
    let incs = includes(&dir.join("page.md"));
    let results: Vec<bool> = incs.iter().map(|i| check(i).is_ok()).collect();
    assert_eq!(results, [true, false, false, false]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn pages_paste_no_rust_code() {
    // The book shows code by including it. A fenced ```rust block must contain only include
    // directives (or be marked `ignore` for a deliberately wrong snippet, such as a bug).
    let mut all = vec![];
    pages(&book_src(), &mut all);
    let mut offenders = vec![];
    for page in all {
        let text = std::fs::read_to_string(&page).unwrap();
        let mut in_rust = false;
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.starts_with("```") {
                in_rust = !in_rust && t.starts_with("```rust") && !t.contains("ignore");
                continue;
            }
            if in_rust && !t.is_empty() && !t.starts_with("{{#") {
                offenders.push(format!("{}:{}: {t}", page.display(), i + 1));
            }
        }
    }
    assert!(offenders.is_empty(), "pasted code in the book:\n{}", offenders.join("\n"));
}
