//! The chapter 5 binary: it trains like PyTorch on the committed fixture, saves a folder the
//! loaders read, and answers bad input with one clear `error:` line, a non-zero exit, no panic.

use ch01_tokenizer::Tokenizer;
use ch04_gpt::Gpt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ch05-training")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ch05-cli-{}-{name}", std::process::id()))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The fixture's 65 tokens as text that tokenizes back to exactly them.
fn fixture_text() -> (PathBuf, serde_json::Value) {
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("gpt2-tiny-a-training/reference.json")).unwrap()).unwrap();
    let tokens: Vec<u32> = r["tokens"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
    let tokenizer = Tokenizer::from_file(fixtures().join("gpt2-tiny-a/tokenizer.json")).unwrap();
    let text = tokenizer.decode(&tokens).unwrap();
    assert_eq!(tokenizer.encode(&text).unwrap(), tokens, "the text round-trips to the fixture's tokens");
    // one file per test thread: the tests run in parallel, and a file another test is
    // rewriting can be read empty
    let path = temp(&format!("fixture-{:?}.txt", std::thread::current().id()).replace(['(', ')'], ""));
    std::fs::write(&path, text).unwrap();
    (path, r)
}

fn assert_one_error_line((code, out, err): (i32, String, String), exit: i32, needle: &str) {
    assert_eq!(code, exit, "{err}");
    assert!(out.is_empty(), "nothing on stdout: {out}");
    assert!(!err.contains("panicked"), "{err}");
    // a run that fails mid-way has printed its progress lines (no terminal here) before the error
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("  step ")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("error: ") && lines[0].contains(needle), "expected `{needle}` in: {err}");
}

#[test]
fn trains_like_pytorch_and_saves_a_folder_the_loader_reads() {
    let (data, r) = fixture_text();
    let out_dir = temp("trained");
    let init = fixtures().join("gpt2-tiny-a");
    let opt = &r["optimizer"];
    let (code, out, err) = bin(&[
        "--init", s(&init), "--data", s(&data), "--batch-size", "2", "--seq-len", "16", "--steps", "5",
        "--lr", &opt["lr"].to_string(), "--weight-decay", &opt["weight_decay"].to_string(),
        "--out", s(&out_dir), "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let ours: Vec<f64> = v["losses"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    let torch: Vec<f64> = r["losses_f32"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert_eq!(ours.len(), 5);
    for (a, b) in ours.iter().zip(&torch) {
        assert!((a - b).abs() < 1e-5, "binary {ours:?} vs PyTorch {torch:?}");
    }
    assert!(v["tokens_per_s"].as_f64().unwrap() > 0.0 && v["step_seconds"].as_array().unwrap().len() == 5);
    // the saved folder: chapter 4's loader reads it, with the tokenizer it was trained with
    let saved = Gpt::<f32>::from_pretrained(&out_dir).unwrap();
    let original = Gpt::<f32>::from_pretrained(&init).unwrap();
    assert_eq!(saved.config, original.config);
    assert_ne!(saved.ln_f.bias, original.ln_f.bias, "the weights moved");
    assert_eq!(std::fs::read(out_dir.join("tokenizer.json")).unwrap(), std::fs::read(init.join("tokenizer.json")).unwrap());
}

#[test]
fn fresh_weights_from_a_preset() {
    let (data, _) = fixture_text();
    let (code, out, err) = bin(&["--config", "tiny", "--data", s(&data), "--batch-size", "1", "--seq-len", "8", "--steps", "2", "--lr", "1e-3"]);
    assert_eq!(code, 0, "{err}");
    let name = "trained tiny shape, 2 layers x 2 heads x 32 wide, context 256, vocabulary 50257 (random weights, seed 42)";
    assert!(out.contains(name) && out.contains("loss "), "{out}");
}

#[test]
fn a_shape_a_tokenizer_a_schedule_and_a_held_out_loss() {
    let (data, _) = fixture_text();
    let tokenizer = fixtures().join("gpt2-tiny-a/tokenizer.json"); // 300 ids
    let log = temp("shape-log.json");
    let (code, out, err) = bin(&[
        "--config", "tiny", "--tokenizer", s(&tokenizer), "--n-layer", "1", "--n-head", "2", "--n-embd", "16",
        "--n-positions", "16", "--data", s(&data), "--val-data", s(&data), "--eval-every", "2", "--val-batches", "1",
        "--batch-size", "2", "--seq-len", "8", "--steps", "5", "--lr", "1e-2", "--cosine", "--log", s(&log), "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(std::fs::read_to_string(&log).unwrap().trim(), out.trim(), "--log holds the --json report");
    // the model's vocabulary is the tokenizer's; the shape is the --n-* options'
    let expected = shared::GptConfig::gpt2_like(300, 16, 16, 1, 2);
    assert_eq!(v["n_params"], expected.n_params());
    // held-out losses before the first step, every 2 steps and after the last
    let val: Vec<(u64, f64)> = v["val_losses"].as_array().unwrap().iter().map(|p| (p[0].as_u64().unwrap(), p[1].as_f64().unwrap())).collect();
    assert_eq!(val.iter().map(|p| p.0).collect::<Vec<_>>(), [0, 2, 4, 5]);
    // the held-out text is the training text here: before any update, its first batch is
    // the first step's batch, so the two losses are the same forward pass
    let first = v["losses"][0].as_f64().unwrap();
    assert!((val[0].1 - first).abs() < 1e-6, "{val:?} vs {first}");
    assert_eq!(v["warmup_steps"], 1); // 5% of 5 steps, at least 1
}

#[test]
fn bad_input_is_one_error_line() {
    let (data, _) = fixture_text();
    let init = fixtures().join("gpt2-tiny-a");
    // the good arguments, with `extra`'s options replacing or adding to them
    let base = |extra: &[&str]| -> Vec<String> {
        let good = [("--init", s(&init)), ("--data", s(&data)), ("--batch-size", "2"), ("--seq-len", "16"), ("--steps", "1"), ("--lr", "1e-3")];
        let mut a: Vec<String> = vec![];
        for (k, v) in good.iter().filter(|(k, _)| !extra.contains(k)) {
            a.extend([k.to_string(), v.to_string()]);
        }
        a.extend(extra.iter().map(|x| x.to_string()));
        a
    };
    let run = |a: Vec<String>| bin(&a.iter().map(String::as_str).collect::<Vec<_>>());
    // usage errors: exit 2
    assert_one_error_line(bin(&["--data", s(&data), "--batch-size", "1", "--seq-len", "1", "--steps", "1", "--lr", "1"]), 2, "--init");
    assert_one_error_line(run(base(&["--config", "tiny"])), 2, "cannot be used with");
    assert_one_error_line(bin(&["--init", "no/such/folder", "--data", s(&data), "--batch-size", "1", "--seq-len", "1", "--steps", "1", "--lr", "1"]), 2, "no such folder");
    assert_one_error_line(bin(&["--init", s(&init), "--data", "no/such/file", "--batch-size", "1", "--seq-len", "1", "--steps", "1", "--lr", "1"]), 2, "no such file");
    assert_one_error_line(run(base(&["--lr", "0"])), 2, "the learning rate must be a number > 0, got 0");
    assert_one_error_line(run(base(&["--weight-decay", "-0.1"])), 2, "the weight decay must be a number >= 0");
    assert_one_error_line(run(base(&["--steps", "0"])), 2, "must be at least 1, got 0");
    assert_one_error_line(run(base(&["--config", "huge"])), 2, "invalid value 'huge'");
    // failed runs: exit 1
    assert_one_error_line(run(base(&["--seq-len", "65"])), 1, "--seq-len 65 is longer than the model's context of 64 positions");
    assert_one_error_line(run(base(&["--batch-size", "3", "--seq-len", "30"])), 1, "too little data: 65 tokens, but one batch of 3 x 30 needs 91");
    let empty = temp("empty.txt");
    std::fs::write(&empty, "").unwrap();
    assert_one_error_line(bin(&["--init", s(&init), "--data", s(&empty), "--batch-size", "1", "--seq-len", "1", "--steps", "1", "--lr", "1"]), 1, "too little data: 0 tokens");
    let not_utf8 = temp("latin1.txt");
    std::fs::write(&not_utf8, b"caf\xe9 ".repeat(20)).unwrap();
    assert_one_error_line(bin(&["--init", s(&init), "--data", s(&not_utf8), "--batch-size", "1", "--seq-len", "1", "--steps", "1", "--lr", "1"]), 1, "cannot read");
    let diverge = run(base(&["--lr", "1e30", "--steps", "3"]));
    assert_one_error_line(diverge, 1, "training diverged");
    // a folder whose tokenizer.json is broken
    let broken = temp("broken");
    std::fs::create_dir_all(&broken).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(init.join(f), broken.join(f)).unwrap();
    }
    std::fs::write(broken.join("tokenizer.json"), "{}").unwrap();
    assert_one_error_line(bin(&["--init", s(&broken), "--data", s(&data), "--batch-size", "1", "--seq-len", "1", "--steps", "1", "--lr", "1"]), 1, "cannot load tokenizer");
}

#[test]
fn the_shared_bad_inputs_get_the_shared_answers() {
    use shared::cli::conformance::{check, Group};
    let (data, _) = fixture_text();
    let init = fixtures().join("gpt2-tiny-a");
    let exe = Path::new(env!("CARGO_BIN_EXE_ch05-training"));
    let base = ["--init", s(&init), "--data", s(&data), "--batch-size", "1", "--seq-len", "4", "--steps", "1", "--lr", "1e-3"];
    let problems = check(exe, &base, &[Group::Any, Group::Out]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
