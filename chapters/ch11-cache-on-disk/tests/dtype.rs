//! Storage dtypes: f16 and bf16 halve an f32 file. The loaded values are the f32 values rounded
//! by the `half` crate; the logits stay within a measured bound of plain f32 generation, and the
//! greedy answers are equal on the tiny fixtures. Files of the first format still load.

mod common;
use ch04_gpt::Gpt;
use ch06_llama_qwen::Decoder;
use ch08_kv_cache::{CacheStorage, KvModel};
use ch11_cache_on_disk::{load_cache, save_cache, CacheFileError, Dtype, Fingerprint};
use common::*;

/// Bounds on |logits(f16 or bf16 cache) - logits(plain f32)| on the tiny fixtures (gpt2-tiny-a
/// and llama-tiny-gqa, the questions of `common`). Measured: f16 5.8e-3 (GPT-2) and 3.9e-3
/// (Llama), bf16 2.7e-2 and 4.9e-2; the bounds leave about 2x. f16 keeps 11 significant bits
/// (rounding error up to 2^-12 relative), bf16 8 (2^-9): bf16's error is about 8 times f16's.
const F16_LOGITS: f64 = 1e-2;
const BF16_LOGITS: f64 = 1e-1;

#[test]
fn half_width_caches_answer_within_the_measured_bound() {
    let gpt2 = fixture_dir("gpt2-tiny-a");
    let llama = fixture_dir("llama-tiny-gqa");
    for (dtype, tol) in [(Dtype::F16, F16_LOGITS), (Dtype::Bf16, BF16_LOGITS)] {
        let name = dtype.name();
        let g = save_load_answer::<KvGptOf<f32>>(&format!("gpt2-{name}"), &gpt2, || Gpt::<f32>::from_pretrained(&gpt2).unwrap(), dtype, tol);
        let l = save_load_answer::<KvDecoderOf<f32>>(&format!("llama-{name}"), &llama, || Decoder::<f32>::from_pretrained(&llama).unwrap(), dtype, tol);
        // a lossy cache must actually differ from the exact one (else this test proves nothing)
        assert!(g > 0.0 && l > 0.0, "{name}: gpt2 {g:e}, llama {l:e}");
    }
}

/// Every loaded value is the saved f32 value rounded to the storage dtype (by `half`, which the
/// project also uses to read f16 and bf16 weights), then widened: into an f32 and an f64 model.
#[test]
fn loaded_values_are_the_rounded_values() {
    let dir = fixture_dir("gpt2-tiny-a");
    let fingerprint = Fingerprint::of_folder(&dir).unwrap();
    let mut writer = KvModel::<KvGptOf<f32>>::new(Gpt::from_pretrained(&dir).unwrap(), CacheStorage::Concat);
    writer.forward(row(&GPT2_CONTEXT), true).unwrap();
    for dtype in [Dtype::F16, Dtype::Bf16] {
        let file = temp_file(&format!("rounded-{}", dtype.name()));
        save_cache(&file, &writer, &GPT2_CONTEXT, fingerprint, dtype).unwrap();
        let round = |x: f32| match dtype {
            Dtype::F16 => half::f16::from_f32(x).to_f32(),
            _ => half::bf16::from_f32(x).to_f32(),
        };
        let mut in_f32 = KvModel::<KvGptOf<f32>>::preallocated(Gpt::from_pretrained(&dir).unwrap());
        let mut in_f64 = KvModel::<KvGptOf<f64>>::preallocated(Gpt::from_pretrained(&dir).unwrap());
        assert_eq!(load_cache(&file, &mut in_f32, fingerprint).unwrap(), GPT2_CONTEXT);
        assert_eq!(load_cache(&file, &mut in_f64, fingerprint).unwrap(), GPT2_CONTEXT);
        let mut changed = 0;
        for ((saved, a), b) in writer.caches().zip(in_f32.caches()).zip(in_f64.caches()) {
            fn all<F: shared::Float>(c: &ch08_kv_cache::KvCache<F>) -> Vec<F> { c.keys().iter().chain(c.values().iter()).copied().collect() }
            for ((x, y), z) in all(saved).into_iter().zip(all(a)).zip(all(b)) {
                assert_eq!(y.to_bits(), round(x).to_bits(), "{}: {x} -> {y}", dtype.name());
                assert_eq!(z, f64::from(round(x)));
                changed += usize::from(x != y);
            }
        }
        assert!(changed > 0, "{}: rounding changed some values", dtype.name());
    }
}

/// The file size, for each dtype, from the layout written out by hand: gpt2-tiny-a has 2 layers
/// and 2 heads of width 16; 12 tokens.
#[test]
fn the_file_size_is_the_memory_formula_at_each_dtype() {
    let dir = fixture_dir("gpt2-tiny-a");
    let fingerprint = Fingerprint::of_folder(&dir).unwrap();
    let mut f32_model = KvModel::<KvGptOf<f32>>::new(Gpt::from_pretrained(&dir).unwrap(), CacheStorage::Concat);
    f32_model.forward(row(&GPT2_CONTEXT), true).unwrap();
    let mut f64_model = KvModel::<KvGptOf<f64>>::new(Gpt::from_pretrained(&dir).unwrap(), CacheStorage::Concat);
    f64_model.forward(row(&GPT2_CONTEXT), true).unwrap();
    let values = 2 * 2 * 2 * 12 * 16; // K and V x layers x heads x tokens x head_dim = 1536
    for (dtype, bytes_per_value) in [(Dtype::F32, 4), (Dtype::F16, 2), (Dtype::Bf16, 2), (Dtype::F64, 8)] {
        let file = temp_file(&format!("size-{}", dtype.name()));
        if dtype == Dtype::F64 {
            save_cache(&file, &f64_model, &GPT2_CONTEXT, fingerprint, dtype).unwrap();
        } else {
            save_cache(&file, &f32_model, &GPT2_CONTEXT, fingerprint, dtype).unwrap();
        }
        let len = std::fs::metadata(&file).unwrap().len();
        assert_eq!(len, 64 + 4 * 12 + values * bytes_per_value, "{}", dtype.name());
    }
}

/// A model stores its own float or a 16-bit format, never another wide float; a value beyond
/// f16's range is refused rather than stored as an infinity.
#[test]
fn impossible_storage_is_refused() {
    let dir = fixture_dir("gpt2-tiny-a");
    let fingerprint = Fingerprint::of_folder(&dir).unwrap();
    let mut model = KvModel::<KvGptOf<f32>>::new(Gpt::from_pretrained(&dir).unwrap(), CacheStorage::Concat);
    model.forward(row(&GPT2_CONTEXT), true).unwrap();
    let file = temp_file("f32-as-f64");
    let e = save_cache(&file, &model, &GPT2_CONTEXT, fingerprint, Dtype::F64).unwrap_err();
    assert!(matches!(e, CacheFileError::Save { .. }), "{e}");
    assert!(!file.exists());
    // f16's largest finite value is 65504; bf16 reaches about 3.4e38
    let mut out = vec![];
    assert!(Dtype::F16.write(65504.0, &mut out));
    assert!(!Dtype::F16.write(70000.0, &mut out));
    assert!(Dtype::Bf16.write(70000.0, &mut out));
    assert!(Dtype::F16.write(f64::INFINITY, &mut out), "an infinity is stored as one, not refused");
}

/// A file written by the first version of this program (f32, before f16 and bf16 existed; kept
/// in tests/data) still loads, and today's f32 save writes the same header fields (bytes 0..48:
/// magic, version, sizes, dtype, fingerprint) and the same layout: the header format did not
/// change, only new dtype codes were added, so the version stays 1. The cached numbers
/// themselves are f32 results of the prefill, which faster kernels compute in another order
/// since that file was written: they agree within f32's reordering tolerance, and the two
/// checksums (bytes 48..64) follow them.
#[test]
fn a_file_of_the_first_format_still_loads() {
    let old = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/v1-gpt2-tiny-a-f32.kvc");
    let dir = fixture_dir("gpt2-tiny-a");
    let mut model = KvModel::<KvGptOf<f32>>::preallocated(Gpt::from_pretrained(&dir).unwrap());
    assert_eq!(load_cache(&old, &mut model, Fingerprint::of_folder(&dir).unwrap()).unwrap(), GPT2_CONTEXT);
    let (old, today) = (std::fs::read(&old).unwrap(), std::fs::read(saved_gpt2_cache("today-f32")).unwrap());
    assert_eq!(old.len(), today.len(), "the same layout, so the same size");
    assert_eq!(old[..48], today[..48], "the header's fields");
    let f32s = |b: &[u8]| b[64..].chunks(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64).collect::<Vec<_>>();
    let (a, b) = (f32s(&old), f32s(&today));
    let scale = a.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    assert!(worst <= shared::tolerance::F32_REORDERED * scale, "cached numbers differ by {worst} (scale {scale})");
}
