//! Finding the math in a Markdown page: `$...$` inline, `$$...$$` display.
//!
//! Everything that Markdown shows literally is passed through untouched: fenced code blocks
//! (``` or ~~~), inline code spans (any number of backticks), and a backslash-escaped
//! character (so `\$` stays a dollar sign). An inline formula opens on a `$` followed by a
//! non-space and closes on the next unescaped `$` that follows a non-space and is not followed
//! by a digit (so "costs $5 and $10" is not math); it never crosses a blank line.

/// One piece of a page: text to keep as it is, or a formula (without its dollar signs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Math { tex: &'a str, display: bool },
}

/// Split `page` into text and formulas. Concatenating the text pieces and the formulas with
/// their delimiters gives back `page` exactly.
pub fn split(page: &str) -> Vec<Piece<'_>> {
    let bytes = page.as_bytes();
    let mut pieces = Vec::new();
    let mut text_start = 0; // start of the text piece not yet pushed
    let mut i = 0;
    let mut fence: Option<(u8, usize)> = None; // open code fence: its char and length

    while i < bytes.len() {
        let at_line_start = i == 0 || bytes[i - 1] == b'\n';
        if at_line_start {
            let line_end = page[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
            let line = page[i..line_end].trim_start();
            let run_char = line.bytes().next().filter(|c| *c == b'`' || *c == b'~');
            let run = run_char.map_or(0, |c| line.bytes().take_while(|b| *b == c).count());
            match (fence, run_char) {
                (None, Some(c)) if run >= 3 => {
                    fence = Some((c, run));
                    i = line_end;
                    continue;
                }
                (Some((c, n)), Some(rc))
                    if rc == c && run >= n && line[run..].trim().is_empty() =>
                {
                    fence = None;
                    i = line_end;
                    continue;
                }
                (Some(_), _) => {
                    i = line_end;
                    continue;
                }
                _ => {}
            }
        }
        match bytes[i] {
            b'\\' => i += 2, // an escaped character is literal, `\$` included
            b'`' => {
                let run = bytes[i..].iter().take_while(|b| **b == b'`').count();
                i = match closing_backticks(page, i + run, run) {
                    Some(end) => end,
                    None => i + run, // no closing run: the backticks are literal
                };
            }
            b'$' if bytes.get(i + 1) == Some(&b'$') => match page[i + 2..].find("$$") {
                Some(n) => {
                    push_text(&mut pieces, &page[text_start..i]);
                    pieces.push(Piece::Math {
                        tex: &page[i + 2..i + 2 + n],
                        display: true,
                    });
                    i = i + 2 + n + 2;
                    text_start = i;
                }
                None => i += 2,
            },
            b'$' => match closing_dollar(page, i + 1) {
                Some(end) => {
                    push_text(&mut pieces, &page[text_start..i]);
                    pieces.push(Piece::Math {
                        tex: &page[i + 1..end],
                        display: false,
                    });
                    i = end + 1;
                    text_start = i;
                }
                None => i += 1,
            },
            _ => i += 1,
        }
    }
    push_text(&mut pieces, &page[text_start.min(bytes.len())..]);
    pieces
}

fn push_text<'a>(pieces: &mut Vec<Piece<'a>>, text: &'a str) {
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
}

/// The end (exclusive) of the run of exactly `run` backticks that closes a code span whose
/// content starts at `from`, or None. A code span does not cross a blank line.
fn closing_backticks(page: &str, from: usize, run: usize) -> Option<usize> {
    let bytes = page.as_bytes();
    let mut j = from;
    while j < bytes.len() {
        if bytes[j] == b'\n'
            && page[j + 1..]
                .trim_start_matches([' ', '\t'])
                .starts_with('\n')
        {
            return None;
        }
        if bytes[j] == b'`' {
            let n = bytes[j..].iter().take_while(|b| **b == b'`').count();
            if n == run {
                return Some(j + n);
            }
            j += n;
        } else {
            j += 1;
        }
    }
    None
}

/// The index of the `$` that closes an inline formula whose content starts at `from`, or None.
fn closing_dollar(page: &str, from: usize) -> Option<usize> {
    let bytes = page.as_bytes();
    if bytes.get(from).is_none_or(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let mut j = from;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            b'\n'
                if page[j + 1..]
                    .trim_start_matches([' ', '\t'])
                    .starts_with('\n') =>
            {
                return None
            }
            b'$' => {
                let after_space = bytes[j - 1].is_ascii_whitespace();
                let before_digit = bytes.get(j + 1).is_some_and(|b| b.is_ascii_digit());
                if j > from && !after_space && !before_digit {
                    return Some(j);
                }
                return None;
            }
            _ => j += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{split, Piece};
    use Piece::{Math, Text};

    fn inline(tex: &str) -> Piece<'_> {
        Math {
            tex,
            display: false,
        }
    }

    #[test]
    fn inline_and_display_math_are_found() {
        let page = "Token $n+1$ costs\n\n$$\nO(n)\n$$\nend";
        assert_eq!(
            split(page),
            [
                Text("Token "),
                inline("n+1"),
                Text(" costs\n\n"),
                Math {
                    tex: "\nO(n)\n",
                    display: true
                },
                Text("\nend"),
            ]
        );
    }

    #[test]
    fn display_math_on_one_line_is_display() {
        assert_eq!(
            split("$$a^2$$"),
            [Math {
                tex: "a^2",
                display: true
            }]
        );
    }

    #[test]
    fn fenced_code_is_untouched() {
        let page = "```rust\nlet s = \"$x$\"; // $$y$$\n```\n~~~~\n$z$\n~~~~\nafter $w$";
        assert_eq!(
            split(page),
            [
                Text("```rust\nlet s = \"$x$\"; // $$y$$\n```\n~~~~\n$z$\n~~~~\nafter "),
                inline("w")
            ]
        );
    }

    #[test]
    fn a_fence_closes_only_on_its_own_char_and_length() {
        let page = "````\n```\n$a$\n````\n$b$";
        assert_eq!(split(page), [Text("````\n```\n$a$\n````\n"), inline("b")]);
    }

    #[test]
    fn inline_code_is_untouched() {
        let page = "run `echo $HOME $PATH` and ``a ` $b$`` then $c$";
        assert_eq!(
            split(page),
            [
                Text("run `echo $HOME $PATH` and ``a ` $b$`` then "),
                inline("c")
            ]
        );
    }

    #[test]
    fn escaped_dollars_are_untouched() {
        let page = r"costs \$5 or \$6, while $a\$b$ is math";
        assert_eq!(
            split(page),
            [
                Text(r"costs \$5 or \$6, while "),
                inline(r"a\$b"),
                Text(" is math")
            ]
        );
    }

    #[test]
    fn prices_are_not_math() {
        let page = "costs $5 and $10 today";
        assert_eq!(split(page), [Text(page)]);
        assert_eq!(split("a $ b $ c"), [Text("a $ b $ c")]);
    }

    #[test]
    fn inline_math_does_not_cross_a_blank_line() {
        assert_eq!(split("a $b\n\nc$ d"), [Text("a $b\n\nc$ d")]);
        assert_eq!(
            split("a $b\nc$ d"),
            [Text("a "), inline("b\nc"), Text(" d")]
        );
    }

    #[test]
    fn unclosed_delimiters_are_text() {
        assert_eq!(split("$$ never closed"), [Text("$$ never closed")]);
        assert_eq!(
            split("one `tick and $x$"),
            [Text("one `tick and "), inline("x")]
        );
    }
}
