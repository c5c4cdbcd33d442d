//! Parity with Hugging Face transformers on two committed MoE checkpoint folders.
//!
//! `tools/make_fixtures.py` built a tiny random Mixtral (every layer 4 experts, top-2,
//! renormalised) and a tiny random Qwen3-MoE (q/k norm, bf16 weights, 4 experts, top-2 without
//! renormalisation, layer 1 dense through `mlp_only_layers`) with transformers 5.23, saved them
//! with `save_pretrained` (Mixtral's `block_sparse_moe.experts.N.w1/w2/w3`, Qwen3-MoE's
//! `mlp.experts.N.gate_proj/...`), and recorded what transformers computes. Here the folders
//! are loaded through the code users run and must agree: f32 logits within
//! `shared::tolerance::F32_VS_TRANSFORMERS`, f64 logits within `F64_VS_TRANSFORMERS` (against
//! `model.double()` with the rotation, RMSNorm and the router's softmax in f64: see `f64_patch`
//! in each `reference.json`), greedy tokens exactly, and the dense reference path equal to the
//! sparse one on every case.

use ch04_gpt::{generate, GenerateOptions};
use ch07_moe::{from_pretrained, MoeFamily, MoeFeedForward};
use shared::tolerance::{F32_VS_TRANSFORMERS, F64_VS_TRANSFORMERS};
use shared::parity::{self, fixture_dir as fixture, ids, reference};
use shared::Float;

const FIXTURES: [&str; 2] = ["mixtral-tiny", "qwen3-moe-tiny"];

/// Logits of every case, every position, every id, against transformers' `key` array.
/// Returns the largest difference.
fn check_logits<F: Float>(name: &str, key: &str, tol: f64) -> f64 {
    let mut model = from_pretrained::<F>(&fixture(name)).unwrap().1;
    parity::check_logits(name, key, tol, |ids| model.logits(ids).unwrap())
}

#[test]
fn f32_logits_match_transformers() {
    for name in FIXTURES {
        check_logits::<f32>(name, "logits_f32", F32_VS_TRANSFORMERS);
    }
}

#[test]
fn f64_logits_match_transformers_double_with_f64_rotation_norms_and_router() {
    for name in FIXTURES {
        check_logits::<f64>(name, "logits_f64", F64_VS_TRANSFORMERS);
    }
}

#[test]
fn greedy_continuations_match_transformers_generate() {
    for name in FIXTURES {
        let dir = fixture(name);
        let (_, mut m32) = from_pretrained::<f32>(&dir).unwrap();
        let (_, mut m64) = from_pretrained::<f64>(&dir).unwrap();
        for case in reference(name)["cases"].as_array().unwrap() {
            let prompt = ids(&case["input_ids"]);
            for key in ["greedy_new_ids", "greedy_new_ids_f64"] {
                let expected = ids(&case[key]);
                let opts = GenerateOptions { max_new_tokens: expected.len(), eos_token_id: None, ..Default::default() };
                let got = if key.ends_with("f64") {
                    generate(&mut m64, &prompt, &opts, |_| Ok(())).unwrap().new_ids
                } else {
                    generate(&mut m32, &prompt, &opts, |_| Ok(())).unwrap().new_ids
                };
                assert_eq!(got, expected, "{name} {} {key}", case["name"]);
            }
        }
    }
}

/// The folders hold what the fixture script says: which layers have experts, how many, top-k.
#[test]
fn the_config_is_read_as_transformers_built_it() {
    for name in FIXTURES {
        let c = &reference(name)["config"];
        let (config, model) = from_pretrained::<f32>(&fixture(name)).unwrap();
        assert_eq!(config.family, if name.starts_with("mixtral") { MoeFamily::Mixtral } else { MoeFamily::Qwen3Moe });
        assert_eq!(config.n_experts as u64, c["num_experts"].as_u64().unwrap(), "{name}");
        assert_eq!(config.top_k as u64, c["num_experts_per_tok"].as_u64().unwrap(), "{name}");
        assert_eq!(config.norm_topk_prob, c["norm_topk_prob"].as_bool().unwrap(), "{name}");
        assert_eq!(config.expert_d_ff as u64, c["expert_intermediate_size"].as_u64().unwrap(), "{name}");
        let moe_layers: Vec<u64> = c["moe_layers"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        let ours: Vec<u64> = model.blocks.iter().enumerate().filter(|(_, b)| matches!(b.mlp, MoeFeedForward::Experts(_))).map(|(i, _)| i as u64).collect();
        assert_eq!(ours, moe_layers, "{name}");
    }
}

/// The dense path (every expert, masked) and the sparse path (chosen experts only) give the
/// same outputs on vectors the fixtures' models make (each block's normalised input).
#[test]
fn dense_and_sparse_paths_agree_on_the_fixtures() {
    use ch06_llama_qwen::FeedForwardLayer;
    for name in FIXTURES {
        let (_, mut model) = from_pretrained::<f64>(&fixture(name)).unwrap();
        let d = model.config.d_model;
        let mut worst = 0.0f64;
        for case in reference(name)["cases"].as_array().unwrap() {
            let prompt = ids(&case["input_ids"]);
            let mut x = model.embed_tokens.forward(prompt.iter().map(|&i| i as usize)).unwrap().into_shape_with_order((1, prompt.len(), d)).unwrap();
            for block in &mut model.blocks {
                let h = block.input_norm.forward(x.view().into_shape_with_order((prompt.len(), d)).unwrap()).unwrap();
                if let MoeFeedForward::Experts(moe) = &mut block.mlp {
                    let dense = moe.forward_dense(h.view()).unwrap();
                    let sparse = moe.forward(h.view()).unwrap();
                    let diff = (&dense - &sparse).iter().fold(0.0f64, |a, b| a.max(b.abs()));
                    assert!(diff < 1e-13, "{name}: dense vs sparse {diff}");
                    worst = worst.max(diff);
                } else {
                    block.mlp.forward(h.view()).unwrap();
                }
                x = block.forward(x, false).unwrap();
            }
        }
        eprintln!("{name} (f64): max |dense path - sparse path| = {worst:e}");
    }
}
