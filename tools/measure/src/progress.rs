//! Progress while the slow measurements run: a bar on stderr when stderr is a terminal, else
//! one line per stage, so a run piped into a log is never silent for minutes.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A bar of `total` steps, or plain lines on stderr when no bar can be drawn.
pub struct Progress {
    bar: ProgressBar,
    /// Print [`Progress::line`]s to stderr (no terminal, and not asked to be quiet).
    lines: bool,
}

impl Progress {
    /// `total` steps with `unit` after the count (`tokens`, `runs`). `quiet` (for example
    /// `--json`) hides the bar and the lines.
    pub fn new(total: u64, unit: &str, quiet: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        if quiet || !terminal {
            return Progress { bar: ProgressBar::hidden(), lines: !quiet };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        // `wide_msg` takes what is left of the line and is cut to fit: the bar never wraps
        let template = format!("[{{elapsed_precise}}] {{bar:24}} {{pos}}/{{len}} {unit} {{wide_msg}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style);
        }
        Progress { bar, lines: false }
    }

    /// What is being measured now: the bar's message.
    pub fn stage(&self, message: impl Into<String>) {
        self.bar.set_message(message.into());
    }

    /// A result worth a line of its own when there is no bar (one per measured length, ...).
    pub fn line(&self, message: impl std::fmt::Display) {
        if self.lines {
            eprintln!("  {message}");
        }
    }

    /// `n` more steps done.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Remove the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
