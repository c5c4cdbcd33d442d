//! `write_atomic`: whole files only, also when threads of one process write the same path, and
//! a clear "cannot write" error (naming the path) when the target cannot be written.

use shared::{write_atomic, Error};
use std::path::PathBuf;

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("write-atomic-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn threads_writing_one_path_leave_one_whole_file_and_no_temporaries() {
    let dir = scratch_dir("threads");
    let path = dir.join("out.bin");
    // each thread writes a payload of its own byte, 64 KiB long, many times
    std::thread::scope(|s| {
        for t in 0..4u8 {
            let path = &path;
            s.spawn(move || {
                for _ in 0..25 {
                    write_atomic(path, &vec![b'a' + t; 1 << 16]).unwrap();
                }
            });
        }
    });
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 1 << 16);
    assert!(bytes.iter().all(|&b| b == bytes[0]), "the file mixes two writers' bytes");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("out.bin")], "temporary files left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_target_that_cannot_be_written_is_a_write_error_naming_it() {
    let dir = scratch_dir("blocked");
    // a directory where the file should go: rename cannot replace it
    let path = dir.join("taken");
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("inside"), b"x").unwrap();
    let err = write_atomic(&path, b"new").unwrap_err();
    assert!(matches!(err, Error::Write { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.starts_with("cannot write ") && message.contains("taken"), "{message}");
    // the directory is untouched and no temporary is left beside it
    assert_eq!(std::fs::read(path.join("inside")).unwrap(), b"x");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
