//! A progress bar on stderr while the slow measurements run.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A bar of `total` steps with `unit` after the count (`tokens`, `runs`), drawn on stderr.
/// Hidden when `hidden` is set (JSON output) or stderr is not a terminal, so logs and tests
/// see nothing of it.
pub fn bar(total: u64, unit: &str, hidden: bool) -> ProgressBar {
    if hidden || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    // `wide_msg` takes what is left of the line and is cut to fit: the bar never wraps
    let template = format!("[{{elapsed_precise}}] {{bar:24}} {{pos}}/{{len}} {unit} {{wide_msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        pb.set_style(style);
    }
    pb
}
