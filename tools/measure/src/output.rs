//! Writing to stdout without panicking when the reader goes away (`... | head`), and checking
//! an output folder before any slow work starts.
//!
//! `println!` panics if stdout is a closed pipe; these return [`MeasureError::StdoutClosed`]
//! instead, which a binary's `main` turns into a quiet exit.

use crate::error::{MeasureError, MeasureResult};
use std::io::Write;
use std::path::Path;

/// Print `text` followed by a newline.
pub fn say(text: impl std::fmt::Display) -> MeasureResult<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(|_| MeasureError::StdoutClosed)
}

/// Print `text` as it is and flush at once (streamed tokens appear one by one).
pub fn say_now(text: &str) -> MeasureResult<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(|_| MeasureError::StdoutClosed)
}

/// Make sure files can be written into `dir` (created if missing), so that a bad `--out`
/// fails in milliseconds, not after minutes of measuring. The error says what is wrong:
/// `cannot write /etc/passwd: it is a file, not a folder`.
pub fn check_out_dir(dir: &Path) -> Result<(), String> {
    let cannot = |reason: String| format!("cannot write {}: {reason}", dir.display());
    if dir.exists() && !dir.is_dir() {
        return Err(cannot("it is a file, not a folder".into()));
    }
    std::fs::create_dir_all(dir).map_err(|e| cannot(e.to_string()))?;
    // the folder may exist and still refuse files (permissions, a read-only mount)
    let probe = dir.join(format!(".write-check-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| cannot(e.to_string()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_not_an_output_folder() {
        let file = std::env::temp_dir().join(format!("measure-out-file-{}", std::process::id()));
        std::fs::write(&file, b"x").unwrap();
        let err = check_out_dir(&file).unwrap_err();
        assert!(err.starts_with("cannot write "), "{err}");
        assert!(err.contains("not a folder"), "{err}");
        let err = check_out_dir(&file.join("below")).unwrap_err();
        assert!(err.starts_with("cannot write "), "{err}");
        std::fs::remove_file(&file).unwrap();
    }

    #[test]
    fn a_missing_folder_is_created_and_left_empty() {
        let dir = std::env::temp_dir().join(format!("measure-out-dir-{}", std::process::id())).join("a/b");
        check_out_dir(&dir).unwrap();
        assert!(dir.is_dir());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "the write check leaves nothing behind");
        std::fs::remove_dir_all(dir.parent().unwrap().parent().unwrap()).unwrap();
    }
}
