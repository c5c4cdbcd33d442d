//! A crash mid-save leaves the old file intact: writers are killed (SIGKILL, no clean-up) at
//! varying moments while they overwrite a valid cache file; afterwards the file always loads,
//! as the old cache or the new one, never half of each.

mod common;
use ch04_gpt::Gpt;
use ch08_kv_cache::KvModel;
use ch11_cache_on_disk::{load_cache, Fingerprint};
use common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn a_killed_writer_leaves_the_old_file_or_the_new_one() {
    let dir = fixture_dir("gpt2-tiny-a");
    let exe = env!("CARGO_BIN_EXE_ch11-cache-on-disk");
    let file = temp_file("crash");
    let save = |context: &str| {
        Command::new(exe)
            .args(["save", "--model", dir.to_str().unwrap(), "--context", context, "--out", file.to_str().unwrap()])
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let tokenizer = ch01_tokenizer::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    let (old, new) = ("an old context", "a much longer new context, saved over the old one");
    assert!(save(old).wait().unwrap().success());
    let (old_ids, new_ids) = (tokenizer.encode_prompt(old).unwrap(), tokenizer.encode_prompt(new).unwrap());
    let fingerprint = Fingerprint::of_folder(&dir).unwrap();
    let mut outcomes = [0usize; 2];
    for i in 0..12u64 {
        let mut writer = save(new);
        std::thread::sleep(Duration::from_millis(i * 3)); // from before the model loads to after the rename
        let _ = writer.kill();
        let _ = writer.wait();
        let mut model = KvModel::<KvGptOf<f32>>::preallocated(Gpt::from_pretrained(&dir).unwrap());
        let ids = load_cache(&file, &mut model, fingerprint).expect("the file is always a whole cache");
        assert!(ids == old_ids || ids == new_ids, "{ids:?}");
        outcomes[usize::from(ids == new_ids)] += 1;
        if ids == new_ids {
            assert!(save(old).wait().unwrap().success()); // back to the old file for the next kill
        }
    }
    eprintln!("killed writers: {} left the old file, {} the new one", outcomes[0], outcomes[1]);
}
