//! A GPT-2 folder split into shards (`model.safetensors.index.json`, as transformers writes
//! large checkpoints) loads to the very same model as its single `model.safetensors`.

use ch04_gpt::Gpt;
use ndarray::Array2;
use shared::{Checkpoint, GptConfig};
use std::path::{Path, PathBuf};

fn temp_folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ch04-sharded-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every tensor's shape, from the safetensors header (8-byte little-endian length, then JSON).
fn shapes(file: &Path) -> Vec<(String, Vec<usize>)> {
    let bytes = std::fs::read(file).unwrap();
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes[8..8 + len]).unwrap();
    header
        .into_iter()
        .filter(|(name, _)| name != "__metadata__")
        .map(|(name, info)| {
            let shape = info["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
            (name, shape)
        })
        .collect()
}

/// Copy the single-file folder `from` to `to` as `n` shards plus the index (round-robin by name).
fn reshard(from: &Path, to: &Path, n: usize) {
    std::fs::copy(from.join("config.json"), to.join("config.json")).unwrap();
    let single = Checkpoint::open(&from.join("model.safetensors")).unwrap();
    let shard = |k: usize| format!("model-{:05}-of-{:05}.safetensors", k + 1, n);
    let mut parts: Vec<Vec<(String, Vec<usize>, Vec<f32>)>> = vec![vec![]; n];
    let mut weight_map = serde_json::Map::new();
    for (i, (name, shape)) in shapes(&from.join("model.safetensors")).into_iter().enumerate() {
        let values = single.tensor::<f32>(&name, &shape).unwrap().iter().copied().collect();
        weight_map.insert(name.clone(), shard(i % n).into());
        parts[i % n].push((name, shape, values));
    }
    for (k, part) in parts.iter().enumerate() {
        assert!(!part.is_empty());
        shared::checkpoint::save_f32(&to.join(shard(k)), part).unwrap();
    }
    let index = serde_json::json!({ "metadata": {}, "weight_map": weight_map });
    std::fs::write(to.join("model.safetensors.index.json"), serde_json::to_vec_pretty(&index).unwrap()).unwrap();
}

#[test]
fn a_sharded_folder_gives_the_single_files_logits_exactly() {
    let config = GptConfig::gpt2_like(97, 16, 24, 2, 3);
    let single = temp_folder("single");
    let sharded = temp_folder("two-shards");
    Gpt::<f32>::random(&config, 7).unwrap().save_pretrained(&single).unwrap();
    reshard(&single, &sharded, 2);
    assert!(!sharded.join("model.safetensors").exists());
    let ids = Array2::from_shape_vec((2, 4), vec![1u32, 5, 9, 96, 0, 3, 4, 5]).unwrap();
    let mut a = Gpt::<f32>::from_pretrained(&single).unwrap();
    let mut b = Gpt::<f32>::from_pretrained(&sharded).unwrap();
    assert_eq!(a.forward(ids.view(), 0, false).unwrap(), b.forward(ids.view(), 0, false).unwrap());
    let mut a = Gpt::<f64>::from_pretrained(&single).unwrap();
    let mut b = Gpt::<f64>::from_pretrained(&sharded).unwrap();
    assert_eq!(a.forward(ids.view(), 0, false).unwrap(), b.forward(ids.view(), 0, false).unwrap());
    let _ = std::fs::remove_dir_all(&single);
    let _ = std::fs::remove_dir_all(&sharded);
}

#[test]
fn the_binary_names_a_missing_shard_in_one_error_line() {
    let config = GptConfig::gpt2_like(50257, 16, 16, 1, 2);
    let single = temp_folder("cli-single");
    let sharded = temp_folder("cli-sharded");
    Gpt::<f32>::random(&config, 1).unwrap().save_pretrained(&single).unwrap();
    reshard(&single, &sharded, 2);
    std::fs::write(sharded.join("tokenizer.json"), ch01_tokenizer::tokenizer::SHIPPED_JSON).unwrap();
    std::fs::remove_file(sharded.join("model-00002-of-00002.safetensors")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ch04-gpt"))
        .args(["--prompt", "Hello", "--model", sharded.to_str().unwrap(), "--max-new-tokens", "2"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("note:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("error: ") && lines[0].contains("model-00002-of-00002.safetensors"), "{err}");
    let _ = std::fs::remove_dir_all(&single);
    let _ = std::fs::remove_dir_all(&sharded);
}
