//! The book as mdBook hands it to a preprocessor: every chapter's Markdown gets its math rendered.
//!
//! The JSON is walked generically (any object with a string `content` and a `name` is a
//! chapter), so the preprocessor does not depend on the exact schema of one mdBook version.

use serde_json::Value;

use crate::render::{to_mathml, RenderError};
use crate::scan::{split, Piece};

/// A formula that failed, and the chapter it is in.
#[derive(Debug, thiserror::Error)]
#[error("{chapter}: {source}")]
pub struct ChapterError {
    chapter: String,
    source: RenderError,
}

/// Render the math of every chapter in `book` (mdBook's book JSON), in place.
/// Returns the number of formulas rendered.
pub fn render_book(book: &mut Value) -> Result<usize, ChapterError> {
    let mut count = 0;
    walk(book, &mut count)?;
    Ok(count)
}

fn walk(value: &mut Value, count: &mut usize) -> Result<(), ChapterError> {
    match value {
        Value::Object(map) => {
            let is_chapter = map.get("name").is_some_and(Value::is_string);
            if let (true, Some(Value::String(content))) = (is_chapter, map.get("content")) {
                let (page, n) = render_page(content).map_err(|source| ChapterError {
                    chapter: chapter_name(map),
                    source,
                })?;
                *count += n;
                map.insert("content".to_string(), Value::String(page));
            }
            for child in map.values_mut() {
                walk(child, count)?;
            }
        }
        Value::Array(items) => {
            for child in items {
                walk(child, count)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn chapter_name(chapter: &serde_json::Map<String, Value>) -> String {
    let field = |key: &str| chapter.get(key).and_then(Value::as_str).map(str::to_string);
    field("source_path")
        .or_else(|| field("path"))
        .or_else(|| field("name"))
        .unwrap_or_default()
}

/// One page with its math rendered, and the number of formulas in it.
pub fn render_page(page: &str) -> Result<(String, usize), RenderError> {
    let mut out = String::with_capacity(page.len() * 2);
    let mut count = 0;
    for piece in split(page) {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Math { tex, display } => {
                out.push_str(&to_mathml(tex, display)?);
                count += 1;
            }
        }
    }
    Ok((out, count))
}

#[cfg(test)]
mod tests {
    use super::render_book;
    use serde_json::json;

    #[test]
    fn every_chapter_and_sub_chapter_is_rendered_and_nothing_else() {
        let mut book = json!({ "items": [
            { "Chapter": { "name": "One", "content": "a $x$ b", "sub_items": [
                { "Chapter": { "name": "Two", "content": "$$y$$", "sub_items": [] } }
            ] } },
            "Separator",
            { "PartTitle": "$not a chapter$" },
            { "content": "$no name, not a chapter$" }
        ] });
        assert_eq!(render_book(&mut book).unwrap(), 2);
        let one = book["items"][0]["Chapter"]["content"].as_str().unwrap();
        assert!(
            one.starts_with("a <math") && one.ends_with("</math> b"),
            "{one}"
        );
        let two = book["items"][0]["Chapter"]["sub_items"][0]["Chapter"]["content"]
            .as_str()
            .unwrap();
        assert!(two.contains("display=\"block\""), "{two}");
        assert_eq!(book["items"][2]["PartTitle"], "$not a chapter$");
        assert_eq!(book["items"][3]["content"], "$no name, not a chapter$");
    }

    #[test]
    fn a_bad_formula_names_its_chapter() {
        let mut book =
            json!([{ "Chapter": { "name": "Bad", "path": "bad.md", "content": r"$\nosuch$" } }]);
        let err = render_book(&mut book).unwrap_err().to_string();
        assert!(err.starts_with("bad.md: "), "{err}");
    }
}
