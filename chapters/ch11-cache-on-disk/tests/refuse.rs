//! Every kind of bad file is refused with its own typed error that names the file: never a
//! panic, never a wrong answer.

mod common;
use ch04_gpt::Gpt;
use ch08_kv_cache::KvModel;
use ch11_cache_on_disk::format::{Header, HEADER_BYTES};
use ch11_cache_on_disk::{load_cache, CacheFileError, Fingerprint};
use common::*;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn gpt2_dir() -> PathBuf {
    fixture_dir("gpt2-tiny-a")
}

fn fresh_model() -> KvModel<KvGptOf<f32>> {
    KvModel::preallocated(Gpt::from_pretrained(&gpt2_dir()).unwrap())
}

fn try_load(path: &Path) -> Result<Vec<u32>, CacheFileError> {
    load_cache(path, &mut fresh_model(), Fingerprint::of_folder(&gpt2_dir()).unwrap())
}

/// A valid file's bytes, changed by `edit`, written to a fresh file.
fn edited(name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(saved_gpt2_cache(name)).unwrap();
    edit(&mut bytes);
    let path = temp_file(&format!("{name}-edited"));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The error, and that its message names the file.
fn refused(path: &Path) -> CacheFileError {
    let e = try_load(path).expect_err("a bad file must be refused");
    let message = e.to_string();
    assert!(message.contains(&path.display().to_string()), "the message names the file: {message}");
    e
}

fn rewrite_header(bytes: &mut [u8], change: impl FnOnce(&mut Header)) {
    let mut header = Header::decode(Path::new("valid"), bytes[..HEADER_BYTES].try_into().unwrap()).unwrap();
    change(&mut header);
    bytes[..HEADER_BYTES].copy_from_slice(&header.encode());
}

#[test]
fn a_valid_file_loads() {
    assert_eq!(try_load(&saved_gpt2_cache("valid")).unwrap(), GPT2_CONTEXT);
}

#[test]
fn the_file_size_is_the_memory_formula_plus_the_header() {
    // gpt2-tiny-a: 2 layers, 2 heads of width 16, f32; 12 tokens
    let len = std::fs::metadata(saved_gpt2_cache("size")).unwrap().len();
    let kv = 2 * 2 * 2 * 12 * 16 * 4; // K and V x layers x heads x tokens x head_dim x bytes
    assert_eq!(len, 64 + 4 * 12 + kv);
}

#[test]
fn an_empty_file_is_refused() {
    let path = edited("empty", |b| b.clear());
    assert!(matches!(refused(&path), CacheFileError::Empty { .. }));
}

#[test]
fn a_missing_file_is_refused() {
    let path = temp_file("missing");
    assert!(matches!(refused(&path), CacheFileError::Io { .. }));
}

#[test]
fn truncated_files_are_refused() {
    let path = edited("short-header", |b| b.truncate(30));
    assert!(matches!(refused(&path), CacheFileError::Truncated { found: 30, needed: 64, .. }));
    let path = edited("short-payload", |b| {
        b.pop();
    });
    assert!(matches!(refused(&path), CacheFileError::Truncated { .. }));
    let path = edited("trailing", |b| b.push(0));
    assert!(matches!(refused(&path), CacheFileError::TrailingBytes { extra: 1, .. }));
}

#[test]
fn flipped_bytes_are_refused() {
    let path = edited("flip-magic", |b| b[0] ^= 0x20);
    assert!(matches!(refused(&path), CacheFileError::NotACacheFile { .. }));
    let path = edited("flip-header", |b| b[44] ^= 1); // n_tokens
    assert!(matches!(refused(&path), CacheFileError::DamagedHeader { .. }));
    let path = edited("flip-id", |b| b[HEADER_BYTES] ^= 1); // the first token id
    assert!(matches!(refused(&path), CacheFileError::DamagedPayload { .. }));
    let path = edited("flip-kv", |b| {
        let last = b.len() - 1;
        b[last] ^= 0x80; // the sign of the last value
    });
    assert!(matches!(refused(&path), CacheFileError::DamagedPayload { .. }));
}

#[test]
fn another_version_is_refused() {
    let path = edited("version", |b| b[8..12].copy_from_slice(&2u32.to_le_bytes()));
    assert!(matches!(refused(&path), CacheFileError::Version { found: 2, supported: 1, .. }));
}

#[test]
fn shapes_that_do_not_fit_the_model_are_refused() {
    let path = edited("layers", |b| rewrite_header(b, |h| h.n_layers = 3));
    assert!(matches!(refused(&path), CacheFileError::Shape { what: "n_layers", file: 3, model: 2, .. }));
    let path = edited("heads", |b| rewrite_header(b, |h| h.n_kv_heads = 1));
    assert!(matches!(refused(&path), CacheFileError::Shape { what: "n_kv_heads", .. }));
    let path = edited("tokens", |b| rewrite_header(b, |h| h.n_tokens = 65)); // context 64
    assert!(matches!(refused(&path), CacheFileError::TokenCount { n_tokens: 65, context_length: 64, .. }));
    let path = edited("huge", |b| rewrite_header(b, |h| h.n_tokens = u32::MAX)); // refused before allocating
    assert!(matches!(refused(&path), CacheFileError::TokenCount { .. }));
}

#[test]
fn another_dtype_is_refused() {
    let path = saved_gpt2_cache("dtype");
    let mut model = KvModel::<KvGptOf<f64>>::preallocated(Gpt::from_pretrained(&gpt2_dir()).unwrap());
    let e = load_cache(&path, &mut model, Fingerprint::of_folder(&gpt2_dir()).unwrap()).unwrap_err();
    assert!(matches!(e, CacheFileError::Dtype { file: "f32", model: "f64", .. }), "{e}");
}

/// The same config and shapes, one weight byte different: the fingerprint differs, the cache
/// is refused.
#[test]
fn a_model_with_the_same_shapes_but_other_weights_is_refused() {
    let other = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ch11").join("gpt2-tiny-a-other-weights");
    let _ = std::fs::remove_dir_all(&other);
    std::fs::create_dir_all(&other).unwrap();
    for name in ["config.json", "tokenizer.json", "model.safetensors"] {
        std::fs::copy(gpt2_dir().join(name), other.join(name)).unwrap();
    }
    let weights = other.join("model.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01; // the lowest mantissa bit of the last weight
    std::fs::write(&weights, bytes).unwrap();
    let path = saved_gpt2_cache("other-model");
    let mut model = KvModel::<KvGptOf<f32>>::preallocated(Gpt::from_pretrained(&other).unwrap());
    let e = load_cache(&path, &mut model, Fingerprint::of_folder(&other).unwrap()).unwrap_err();
    assert!(matches!(e, CacheFileError::OtherModel { .. }), "{e}");
    assert!(e.to_string().contains(&path.display().to_string()));
    assert_eq!(model.current_pos().unwrap(), 0, "nothing was loaded");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any flipped byte or cut: a typed error, or (were it ever to load) exactly the saved ids
    /// and caches. Never a panic.
    #[test]
    fn mutated_files_are_refused_or_identical(at in 0usize..4096, mask in 1u8..=255, cut in proptest::bool::ANY) {
        let valid = saved_gpt2_cache("proptest-valid");
        let bytes = std::fs::read(&valid).unwrap();
        let mut mutated = bytes.clone();
        let i = at % bytes.len();
        if cut { mutated.truncate(i) } else { mutated[i] ^= mask }
        let path = temp_file("proptest-mutated");
        std::fs::write(&path, &mutated).unwrap();
        let mut model = fresh_model();
        match load_cache(&path, &mut model, Fingerprint::of_folder(&gpt2_dir()).unwrap()) {
            Err(e) => prop_assert!(e.to_string().contains(&path.display().to_string()), "{}", e),
            Ok(ids) => {
                prop_assert_eq!(ids, GPT2_CONTEXT.to_vec());
                let mut reference = fresh_model();
                load_cache(&valid, &mut reference, Fingerprint::of_folder(&gpt2_dir()).unwrap()).unwrap();
                for (a, b) in model.caches().zip(reference.caches()) {
                    prop_assert_eq!(a.keys(), b.keys());
                    prop_assert_eq!(a.values(), b.values());
                }
            }
        }
    }
}
