//! The `bench` tool run as a user would: the JSON has every figure (no timing is checked), and
//! bad input is one `error:` line.

use serde_json::Value;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bench")).args(args).output().expect("the binary runs")
}

#[test]
fn the_json_has_every_figure_and_the_machine() {
    let out = run(&[
        "--config", "tiny", "--json", "--prompt-len", "4,20", "--new-tokens", "4", "--uncached-new-tokens", "3",
        "--prefill-len", "32", "--runs", "2", "--bandwidth-mib", "8",
    ]);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    for key in [
        "cached_tokens_per_s", "uncached_tokens_per_s", "roofline_tokens_per_s", "prefill_gflops",
        "sgemm_peak_gflops", "bandwidth_gbps", "weight_bytes_per_token", "cached_vs_roofline",
        "prefill_vs_sgemm_peak",
    ] {
        assert!(v[key].is_number(), "{key} missing");
    }
    assert_eq!(v["config"], "tiny");
    assert_eq!(v["decode"].as_array().unwrap().len(), 2);
    // the CPU model is the one the kernel reports (an independent reading of /proc/cpuinfo)
    if let Ok(cpuinfo) = std::fs::read_to_string("/proc/cpuinfo") {
        if let Some(line) = cpuinfo.lines().find(|l| l.starts_with("model name")) {
            let name = line.split_once(':').unwrap().1.trim();
            assert_eq!(v["cpu"], name);
        }
    }
    assert!(v["kernels"]["gemv_dot_f32"].is_string() && v["kernels"]["sgemm"].is_string(), "{}", v["kernels"]);
    assert_eq!(v["weights"], "f32");
    // the probe of decode's matrix x vector streamed whole matrices of the tiny model's width
    let g = &v["gemv_probe"];
    let d = g["d_model"].as_u64().expect("gemv_probe.d_model");
    assert_eq!(g["bytes"].as_u64().unwrap() % (16 * d * d), 0, "{g}");
    for key in ["read_all_gbps", "read_one_gbps", "gemv_all_gbps", "gemv_one_gbps"] {
        assert!(g[key].as_f64().is_some_and(|x| x > 0.0), "{key} missing: {g}");
    }
}

#[test]
fn a_llama_preset_runs_through_chapter_6s_decoder() {
    let out = run(&[&["--config", "llama-tiny"][..], &TINY_RUN].concat());
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(v["config"], "llama-tiny");
    // by hand: tied embedding 256 x 32 = 8,192; a layer: q, o 32 x 32, k, v 32 x 16, SwiGLU
    // 3 x 32 x 96, two RMSNorms 2 x 32 = 12,352; final norm 32
    assert_eq!(v["n_params"], 8_192 + 2 * 12_352 + 32);
    assert_eq!(v["weight_bytes_per_token"], 4.0 * (2.0 * 12_352.0 + 32.0 + 8_192.0 + 32.0));
    // grouped-query attention: the cache holds 2 kv heads of 8, not 4 heads
    assert_eq!(v["memory"]["kv_cache_bytes"], 2 * 2 * 256 * 2 * 8 * 4);
}

#[test]
fn bad_input_is_one_error_line() {
    for (args, expected) in [
        (&["--runs", "0"][..], "--runs"),
        (&["--prompt-len", "8,2000"][..], "context"),
        (&["--model", "/definitely/not/a/folder"][..], "not/a/folder"),
        (&["--config", "smollm2-135m", "--prompt-len", "8,9000"][..], "context of 8192"),
        (&["--no-such-option"][..], "--no-such-option"),
    ] {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {stderr:?}");
        assert!(lines[0].starts_with("error: ") && lines[0].contains(expected), "{args:?}: {stderr:?}");
    }
}

#[test]
fn the_shared_bad_inputs_get_the_shared_answers() {
    use shared::cli::conformance::{check, Group};
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_bench"));
    let problems = check(exe, &[], &[Group::Any, Group::Model]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A fresh folder under the system's temporary directory.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("bench-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The tiny run every JSON test makes (fits a 64-token context).
const TINY_RUN: [&str; 13] = [
    "--json", "--prompt-len", "4,20", "--new-tokens", "4", "--uncached-new-tokens", "3", "--prefill-len", "32", "--runs",
    "1", "--bandwidth-mib", "8",
];

#[test]
fn a_folder_runs_the_adapter_of_its_model_type() {
    // a Qwen3 (q/k norms, GQA) saved as a Hugging Face folder: config.json says "qwen3"
    use ch06_llama_qwen::{Decoder, DecoderConfig, Family};
    let config = DecoderConfig::tiny(Family::Qwen3, 50, 16, 2, 4, 2);
    let dir = temp_dir("qwen3");
    Decoder::<f32>::random(&config, 1).unwrap().save_pretrained(&dir).unwrap();
    let out = run(&[&["--model", dir.to_str().unwrap()][..], &TINY_RUN].concat());
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    // by hand: embedding 50 x 16 = 800, untied head 800; a layer: q, o 16 x 16, k, v 16 x 8,
    // MLP 3 x 16 x 48, two norms 2 x 16, q/k norms 2 x 4 = 3,112; final norm 16
    assert_eq!(v["n_params"], 800 + 800 + 2 * 3_112 + 16);
    // read per token: the blocks, the final norm, the head, one embedding row
    assert_eq!(v["weight_bytes_per_token"], 4.0 * (2.0 * 3_112.0 + 16.0 + 800.0 + 16.0));
    assert_eq!(v["memory"]["kv_cache_bytes"], 2 * 2 * 64 * 2 * 4 * 4); // K and V, 2 layers, 64 positions, 2 kv heads of 4, f32
}

#[test]
fn a_model_type_it_cannot_run_is_one_error_line() {
    let cases = [
        ("mistral", r#"{"model_type": "mistral"}"#, "model_type \"mistral\" is not supported"),
        ("none", r#"{"hidden_size": 8}"#, "no model_type"),
    ];
    for (name, json, expected) in cases {
        let dir = temp_dir(name);
        std::fs::write(dir.join("config.json"), json).unwrap();
        let out = run(&["--model", dir.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{name}: {stderr:?}");
        assert!(lines[0].starts_with("error: ") && lines[0].contains(expected), "{name}: {stderr:?}");
        assert!(lines[0].contains("gpt2, llama, qwen2, qwen3, gpt_neox"), "the supported types are named: {stderr:?}");
    }
    // a folder without config.json
    let dir = temp_dir("empty");
    let out = run(&["--model", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.starts_with("error: ") && stderr.contains("config.json"), "{stderr:?}");
}

#[test]
fn the_batch_sweep_reports_every_size_beside_its_roofline() {
    let plot = std::env::temp_dir().join(format!("bench-batch-{}.svg", std::process::id()));
    let out = run(&[
        "--config", "tiny", "--json", "--batch", "1,3", "--prompt-len", "4", "--new-tokens", "3", "--runs", "1",
        "--bandwidth-mib", "8", "--batch-plot", plot.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.iter().map(|r| r["batch"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 3]);
    for key in ["bandwidth_gbps", "sgemm_peak_gflops", "ridge_batch", "compute_roofline_tokens_per_s"] {
        assert!(v[key].is_number(), "{key} missing");
    }
    // the roofline of batch 3 is min(3 x the memory roofline, the compute roofline): the formula, recomputed
    let (memory, compute) = (v["memory_roofline_tokens_per_s_at_batch_1"].as_f64().unwrap(), v["compute_roofline_tokens_per_s"].as_f64().unwrap());
    assert!((rows[1]["roofline_tokens_per_s"].as_f64().unwrap() - (3.0 * memory).min(compute)).abs() < 1e-6 * compute);
    assert!(std::fs::read_to_string(&plot).unwrap().starts_with("<svg"));
    let _ = std::fs::remove_file(&plot);
}
