//! The chapter 6 binary on good and bad input: one clear `error:` line, non-zero exit, no panic.

use ch06_llama_qwen::{Decoder, DecoderConfig, Family};
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ch06-llama-qwen")).args(args).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// A tiny model folder of `family` in the Hugging Face layout with the shipped tokenizer.
fn model_dir(family: Family, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ch06-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let kv = if family == Family::GptNeoX { 2 } else { 1 };
    let config = DecoderConfig { tie_word_embeddings: true, context_length: 32, ..DecoderConfig::tiny(family, 50257, 16, 1, 2, kv) };
    Decoder::<f32>::random(&config, 1).unwrap().save_pretrained(&dir).unwrap();
    std::fs::write(dir.join("tokenizer.json"), ch01_tokenizer::tokenizer::SHIPPED_JSON).unwrap();
    dir
}

/// A failed run: exit 1, one `error:` line containing `needle`, no panic.
fn assert_one_error_line(res: (Option<i32>, String, String), needle: &str) {
    let (code, _, err) = res;
    assert_eq!(code, Some(1), "{err}");
    shared::cli::conformance::one_error_line(&err, needle).unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn every_family_loads_and_generates_json() {
    for family in [Family::Llama, Family::Qwen2, Family::Qwen3, Family::GptNeoX] {
        let dir = model_dir(family, &format!("ok-{family:?}"));
        let (code, out, err) = bin(&["--prompt", "Hello", "--model", s(&dir), "--max-new-tokens", "4", "--json"]);
        assert_eq!(code, Some(0), "{family:?}: {err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["generated_ids"].as_array().unwrap().len(), 4);
        assert_eq!(v["random_weights"], false);
        let hello = ch01_tokenizer::Tokenizer::shipped().encode("Hello").unwrap();
        assert_eq!(v["prompt_ids"], serde_json::json!(hello));
    }
}

#[test]
fn streaming_prints_the_prompt_and_its_continuation() {
    let dir = model_dir(Family::Llama, "stream");
    let (code, out, err) = bin(&["--prompt", "Hello", "--model", s(&dir), "--max-new-tokens", "3", "--temperature", "0.8", "--top-k", "5"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("Hello"), "{out}");
    assert!(err.contains("3 new tokens") && err.contains("uncached"), "{err}");
}

#[test]
fn unsupported_configs_name_what_is_supported() {
    let dir = model_dir(Family::Llama, "gpt2");
    edit(&dir.join("config.json"), "\"model_type\": \"llama\"", "\"model_type\": \"gpt2\"");
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "model_type \"gpt2\" is not supported (supported: llama, qwen2, qwen3, gpt_neox)");
    let dir = model_dir(Family::Qwen2, "window");
    edit(&dir.join("config.json"), "\"model_type\"", "\"use_sliding_window\": true, \"model_type\"");
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "sliding-window attention) is not supported");
    let dir = model_dir(Family::Llama, "yarn");
    edit(&dir.join("config.json"), "\"rope_type\": \"default\"", "\"rope_type\": \"yarn\"");
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "rope_type \"yarn\" is not supported (supported: default, llama3)");
}

#[test]
fn missing_and_broken_files() {
    let dir = model_dir(Family::Llama, "nocfg");
    std::fs::remove_file(dir.join("config.json")).unwrap();
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "config.json");
    let dir = model_dir(Family::Llama, "noweights");
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "model.safetensors");
    let dir = model_dir(Family::Llama, "corrupt");
    std::fs::write(dir.join("model.safetensors"), b"garbage").unwrap();
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "not a valid safetensors file");
    let dir = model_dir(Family::Llama, "badtok");
    std::fs::write(dir.join("tokenizer.json"), b"{}").unwrap();
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "cannot load tokenizer");
}

#[test]
fn weights_that_disagree_with_config_json() {
    // config asks for two layers, the file holds one
    let dir = model_dir(Family::Llama, "missing");
    edit(&dir.join("config.json"), "\"num_hidden_layers\": 1", "\"num_hidden_layers\": 2");
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "tensor `model.layers.1.input_layernorm.weight` is missing");
    // config says 4 heads of 4, the file holds 2 heads of 8: q_proj is [16, 16] either way,
    // k_proj [8, 16] (1 kv head of 8) is not the [4, 16] of 1 kv head of 4
    let dir = model_dir(Family::Llama, "shape");
    edit(&dir.join("config.json"), "\"num_attention_heads\": 2", "\"num_attention_heads\": 4");
    edit(&dir.join("config.json"), "\"head_dim\": 8", "\"head_dim\": 4");
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "`model.layers.0.self_attn.k_proj.weight` has shape [8, 16], config.json implies [4, 16]");
    // an untied model needs its lm_head
    let dir = model_dir(Family::GptNeoX, "untied");
    edit(&dir.join("config.json"), "\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false");
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "tensor `embed_out.weight` is missing");
}

#[test]
fn unsupported_dtype() {
    // same byte width, another type: the header says I32
    let dir = model_dir(Family::Qwen3, "dtype");
    let path = dir.join("model.safetensors");
    let mut bytes = std::fs::read(&path).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(bytes[8..8 + header_len].to_vec()).unwrap().replace("\"F32\"", "\"I32\"");
    bytes[8..8 + header_len].copy_from_slice(header.as_bytes());
    std::fs::write(&path, bytes).unwrap();
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "has dtype I32, expected F32, F64, F16 or BF16");
}

/// Write `model.safetensors.index.json` mapping every tensor of the single file to `shard`, plus
/// `extra` (name, shard).
fn shard(dir: &Path, shard: &str, extra: (&str, &str)) {
    let names = shared::Checkpoint::open(&dir.join("model.safetensors")).unwrap().names();
    std::fs::rename(dir.join("model.safetensors"), dir.join(shard)).unwrap();
    let mut map: serde_json::Map<String, serde_json::Value> = names.into_iter().map(|n| (n, shard.into())).collect();
    map.insert(extra.0.into(), extra.1.into());
    let index = serde_json::json!({ "metadata": {}, "weight_map": map });
    std::fs::write(dir.join("model.safetensors.index.json"), index.to_string()).unwrap();
}

#[test]
fn sharded_folders_with_a_missing_shard_or_tensor() {
    let dir = model_dir(Family::Llama, "shards-ok");
    shard(&dir, "model-00001-of-00001.safetensors", ("model.norm.weight", "model-00001-of-00001.safetensors"));
    let (code, _, err) = bin(&["--prompt", "x", "--model", s(&dir), "--max-new-tokens", "2", "--json"]);
    assert_eq!(code, Some(0), "{err}");

    let dir = model_dir(Family::Llama, "shards-missing");
    shard(&dir, "model-00001-of-00002.safetensors", ("lm_head.weight", "model-00002-of-00002.safetensors"));
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "model-00002-of-00002.safetensors: shard named in");

    let dir = model_dir(Family::Llama, "shards-absent");
    shard(&dir, "model-00001-of-00001.safetensors", ("model.layers.0.mlp.extra.weight", "model-00001-of-00001.safetensors"));
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "tensor `model.layers.0.mlp.extra.weight` is listed in");
}

#[test]
fn prompts_that_do_not_fit() {
    let dir = model_dir(Family::Qwen2, "args");
    let long = "word ".repeat(40);
    assert_one_error_line(bin(&["--prompt", &long, "--model", s(&dir), "--max-new-tokens", "1"]), "does not fit the context of 32");
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir), "--max-new-tokens", "40"]), "does not fit the context of 32");
}

#[test]
fn the_shared_bad_inputs_get_the_shared_answers() {
    use shared::cli::conformance::{check, Group};
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_ch06-llama-qwen"));
    let problems = check(exe, &[], &[Group::Any, Group::Model, Group::Prompt, Group::Sampling]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
