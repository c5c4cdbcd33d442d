//! One formula to MathML, written so that the Markdown renderer passes it through unchanged.

use pulldown_latex::{
    config::{DisplayMode, RenderConfig},
    mathml::push_mathml,
    Parser, Storage,
};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot parse the formula `{tex}`: {message}")]
    Parse { tex: String, message: String },
    #[error("cannot write the MathML of `{tex}`: {source}")]
    Write { tex: String, source: std::io::Error },
}

/// The MathML of `tex`. A display formula becomes an HTML block of its own
/// (`<div class="math-display">`), which Markdown leaves as it is. An inline one stays in its
/// line, where Markdown reads the text between tags: every ASCII punctuation character there
/// is escaped, so that none of it becomes emphasis, a link or a table cell.
pub fn to_mathml(tex: &str, display: bool) -> Result<String, RenderError> {
    let tex = tex.trim();
    let storage = Storage::new();
    // Parse first: the renderer would print a bad command in red instead of failing.
    let events: Vec<_> = Parser::new(tex, &storage)
        .collect::<Result<_, _>>()
        .map_err(|e| RenderError::Parse {
            tex: tex.to_string(),
            message: e.to_string(),
        })?;
    let config = RenderConfig {
        display_mode: if display {
            DisplayMode::Block
        } else {
            DisplayMode::Inline
        },
        annotation: Some(tex),
        ..RenderConfig::default()
    };
    let mut mathml = String::new();
    push_mathml(
        &mut mathml,
        events.into_iter().map(Ok::<_, std::convert::Infallible>),
        config,
    )
    .map_err(|source| RenderError::Write {
        tex: tex.to_string(),
        source,
    })?;
    let mathml = space_attributes(&mathml.replace('\n', " "));
    Ok(if display {
        // A line that starts with <div begins an HTML block, which Markdown passes through
        // untouched until the next blank line; the blank lines around it end any open paragraph.
        format!("\n\n<div class=\"math-display\">{mathml}</div>\n\n")
    } else {
        escape_markdown_in_text(&mathml)
    })
}

/// Put a space between attributes that the renderer wrote without one
/// (`stretchy="true"minsize="1.2em"`, from `\big(`). HTML forgives it; Markdown does not see
/// such a tag as HTML and prints it as text.
fn space_attributes(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 16);
    let (mut in_tag, mut in_quote, mut after_value) = (false, false, false);
    for c in html.chars() {
        if in_tag && !in_quote && after_value && !c.is_whitespace() && !matches!(c, '/' | '>') {
            out.push(' ');
        }
        after_value = false;
        match c {
            '<' if !in_quote => in_tag = true,
            '>' if !in_quote => in_tag = false,
            '"' if in_tag => {
                after_value = in_quote;
                in_quote = !in_quote;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// Backslash-escape the ASCII punctuation in the text between tags (not in the tags, and not
/// the `&`, `#` and `;` of character references). Markdown removes the backslashes.
fn escape_markdown_in_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + html.len() / 8);
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag && c.is_ascii_punctuation() && !matches!(c, '&' | '#' | ';') => {
                out.push('\\')
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{escape_markdown_in_text, space_attributes, to_mathml};

    #[test]
    fn inline_math_is_inline_mathml() {
        let html = to_mathml("n+1", false).unwrap();
        assert!(html.starts_with("<math"), "{html}");
        assert!(!html.contains("display=\"block\""), "{html}");
        assert!(html.contains("<mi>n</mi>"), "{html}");
        assert!(html.contains("<mn>1</mn>"), "{html}");
        assert!(html.contains(r"<mo>\+</mo>"), "{html}");
    }

    #[test]
    fn display_math_is_a_block_of_its_own() {
        let html = to_mathml(r"\frac{a}{b}", true).unwrap();
        assert!(
            html.starts_with("\n\n<div class=\"math-display\"><math"),
            "{html}"
        );
        assert!(html.contains("display=\"block\""), "{html}");
        assert!(html.contains("<mfrac>"), "{html}");
        // inside an HTML block Markdown removes no backslash: nothing is escaped
        assert!(html.contains(r"\frac{a}{b}</annotation>"), "{html}");
        assert!(to_mathml("a+b", true).unwrap().contains("<mo>+</mo>"));
        assert!(html.ends_with("</math></div>\n\n"), "{html}");
    }

    #[test]
    fn an_unknown_command_is_an_error() {
        let err = to_mathml(r"\nosuchcommand{x}", false).unwrap_err();
        assert!(err.to_string().contains(r"\nosuchcommand"), "{err}");
    }

    #[test]
    fn attributes_written_without_a_space_get_one() {
        assert_eq!(
            space_attributes(r#"<mo stretchy="true"minsize="1.2em">(</mo><mspace width="1em"/>"#),
            r#"<mo stretchy="true" minsize="1.2em">(</mo><mspace width="1em"/>"#
        );
        let big = to_mathml(r"\big(x\big)", false).unwrap();
        assert!(!big.contains(r#""m"#), "{big}");
    }

    #[test]
    fn markdown_punctuation_in_text_is_escaped_and_tags_are_not() {
        assert_eq!(
            escape_markdown_in_text(r#"<mo form="infix">*</mo><mi>a_b</mi><mo>&lt;</mo>"#),
            r#"<mo form="infix">\*</mo><mi>a\_b</mi><mo>&lt;</mo>"#
        );
    }
}
