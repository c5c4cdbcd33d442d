//! Single-file and sharded checkpoints read the same tensors; 16-bit weights convert as IEEE
//! says; every malformed folder is a typed error naming the file, never a panic.

use super::*;
use crate::half_matrix::HalfFormat;
use proptest::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

type Tensors = Vec<(String, Vec<usize>, Vec<f32>)>;

/// A fresh, empty folder under the system's temp dir.
fn temp_folder(name: &str) -> PathBuf {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("shared-checkpoint-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A tiny GPT-2-like set of tensors, one of them under the `transformer.` prefix.
fn tiny_tensors() -> Tensors {
    let shapes: [(&str, Vec<usize>); 6] = [
        ("wte.weight", vec![5, 4]),
        ("transformer.wpe.weight", vec![3, 4]),
        ("h.0.ln_1.weight", vec![4]),
        ("h.0.attn.c_attn.weight", vec![4, 12]),
        ("h.1.mlp.c_fc.bias", vec![16]),
        ("ln_f.bias", vec![4]),
    ];
    shapes
        .into_iter()
        .enumerate()
        .map(|(k, (name, shape))| {
            let len = shape.iter().product();
            let data = (0..len).map(|i| ((i * 7 + k * 13) as f32 * 0.37).sin() * (k + 1) as f32).collect();
            (name.to_string(), shape, data)
        })
        .collect()
}

fn shard_name(k: usize, n: usize) -> String {
    format!("model-{:05}-of-{:05}.safetensors", k + 1, n)
}

/// Save `tensors` round-robin over `n` shards with `save_f32`, and write the index.
fn save_sharded(dir: &Path, tensors: &Tensors, n: usize) {
    let mut weight_map = serde_json::Map::new();
    for k in 0..n {
        let part: Tensors = tensors.iter().skip(k).step_by(n).cloned().collect();
        save_f32(&dir.join(shard_name(k, n)), &part).unwrap();
        for (name, _, _) in &part {
            weight_map.insert(name.clone(), shard_name(k, n).into());
        }
    }
    let index = serde_json::json!({ "metadata": { "total_size": 0 }, "weight_map": weight_map });
    std::fs::write(dir.join(INDEX_FILE), serde_json::to_vec_pretty(&index).unwrap()).unwrap();
}

fn write_index(dir: &Path, weight_map: &[(&str, &str)]) {
    let map: serde_json::Map<String, serde_json::Value> =
        weight_map.iter().map(|(n, f)| (n.to_string(), (*f).into())).collect();
    std::fs::write(dir.join(INDEX_FILE), serde_json::to_vec(&serde_json::json!({ "weight_map": map })).unwrap()).unwrap();
}

/// A safetensors file holding one tensor of `dtype` with the given raw little-endian bytes.
fn save_raw(path: &Path, name: &str, dtype: Dtype, shape: Vec<usize>, bytes: &[u8]) {
    let view = safetensors::tensor::TensorView::new(dtype, shape, bytes).unwrap();
    std::fs::write(path, safetensors::serialize(vec![(name.to_string(), view)], None).unwrap()).unwrap();
}

#[test]
fn sharded_folder_reads_back_every_tensor_as_written_and_as_the_single_file() {
    let tensors = tiny_tensors();
    let single_dir = temp_folder("single");
    save_f32(&single_dir.join(SINGLE_FILE), &tensors).unwrap();
    let single = Checkpoint::open_folder(&single_dir).unwrap();
    for n in [2, 3] {
        let dir = temp_folder("sharded");
        save_sharded(&dir, &tensors, n);
        let sharded = Checkpoint::open_folder(&dir).unwrap();
        assert_eq!(sharded.files().len(), n);
        assert_eq!(sharded.path(), dir.join(INDEX_FILE));
        let mut expected_names: Vec<String> = tensors.iter().map(|t| t.0.clone()).collect();
        expected_names.sort();
        assert_eq!(sharded.names(), expected_names);
        assert_eq!(single.names(), expected_names);
        for (name, shape, data) in &tensors {
            // asked for without the prefix, as the model code does
            let asked = name.strip_prefix("transformer.").unwrap_or(name);
            assert!(sharded.contains(asked));
            let got = sharded.tensor::<f32>(asked, shape).unwrap();
            assert_eq!(got.as_slice().unwrap(), &data[..], "{name}: the values written");
            assert_eq!(got, single.tensor::<f32>(asked, shape).unwrap(), "{name}: the single file");
            let wide = sharded.tensor::<f64>(asked, shape).unwrap();
            assert!(wide.iter().zip(data).all(|(a, b)| *a == *b as f64));
        }
        assert!(!sharded.contains("h.0.ln_2.weight"));
        assert_eq!(sharded.matrix::<f32>("wte.weight", 5, 4).unwrap().row(1).to_vec(), tensors[0].2[4..8].to_vec());
        assert_eq!(sharded.vector::<f32>("ln_f.bias", 4).unwrap().to_vec(), tensors[5].2);
        let _ = std::fs::remove_dir_all(&dir);
    }
    let _ = std::fs::remove_dir_all(&single_dir);
}

#[test]
fn f16_and_bf16_weights_convert_to_their_ieee_values() {
    // bit patterns, and the values IEEE 754 gives them: 1, -2.5, the largest finite value,
    // the smallest subnormal, negative zero
    let f16_bits: [u16; 5] = [0x3C00, 0xC100, 0x7BFF, 0x0001, 0x8000];
    let f16_values = [1.0, -2.5, 65504.0, 2f64.powi(-24), -0.0];
    let bf16_bits: [u16; 5] = [0x3F80, 0xC020, 0x7F7F, 0x0001, 0x8000];
    let bf16_values = [1.0, -2.5, 255.0 * 2f64.powi(120), 2f64.powi(-133), -0.0];
    let le = |bits: &[u16]| bits.iter().flat_map(|b| b.to_le_bytes()).collect::<Vec<u8>>();
    let dir = temp_folder("half");
    save_raw(&dir.join("a.safetensors"), "half", Dtype::F16, vec![5], &le(&f16_bits));
    save_raw(&dir.join("b.safetensors"), "brain", Dtype::BF16, vec![5], &le(&bf16_bits));
    write_index(&dir, &[("half", "a.safetensors"), ("brain", "b.safetensors")]);
    let ckpt = Checkpoint::open_folder(&dir).unwrap();
    let half64 = ckpt.vector::<f64>("half", 5).unwrap();
    let half32 = ckpt.vector::<f32>("half", 5).unwrap();
    let brain64 = ckpt.vector::<f64>("brain", 5).unwrap();
    for i in 0..5 {
        assert_eq!(half64[i].to_bits(), f16_values[i].to_bits(), "f16 {:#06x}", f16_bits[i]);
        assert_eq!(half64[i], half::f16::from_bits(f16_bits[i]).to_f64());
        assert_eq!(half32[i].to_bits(), (f16_values[i] as f32).to_bits());
        assert_eq!(brain64[i].to_bits(), bf16_values[i].to_bits(), "bf16 {:#06x}", bf16_bits[i]);
        assert_eq!(brain64[i], half::bf16::from_bits(bf16_bits[i]).to_f64());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The error's message, which must name `file`.
fn message_naming(err: Error, file: &str) -> String {
    let msg = err.to_string();
    assert!(msg.contains(file), "`{msg}` should name {file}");
    msg
}

#[test]
fn an_unsupported_dtype_is_an_error_naming_the_shard() {
    let dir = temp_folder("dtype");
    save_raw(&dir.join("ints.safetensors"), "w", Dtype::I32, vec![2], &[1, 0, 0, 0, 2, 0, 0, 0]);
    write_index(&dir, &[("w", "ints.safetensors")]);
    let err = Checkpoint::open_folder(&dir).unwrap().vector::<f32>("w", 2).unwrap_err();
    assert!(matches!(err, Error::TensorDtype { .. }), "{err}");
    assert!(message_naming(err, "ints.safetensors").contains("I32"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_broken_index_is_an_error_naming_it() {
    for text in ["{not json", r#"{"metadata": {}}"#, r#"{"weight_map": {"w": 3}}"#, ""] {
        let dir = temp_folder("index");
        std::fs::write(dir.join(INDEX_FILE), text).unwrap();
        let err = Checkpoint::open_folder(&dir).err().expect(text);
        assert!(matches!(err, Error::BadIndex { .. }), "{text}: {err}");
        message_naming(err, INDEX_FILE);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_missing_shard_is_an_error_naming_it() {
    let dir = temp_folder("missing-shard");
    save_sharded(&dir, &tiny_tensors(), 3);
    std::fs::remove_file(dir.join(shard_name(1, 3))).unwrap();
    let err = Checkpoint::open_folder(&dir).err().unwrap();
    assert!(matches!(err, Error::MissingShard { .. }), "{err}");
    message_naming(err, &shard_name(1, 3));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_tensor_listed_but_absent_from_its_shard_is_an_error_naming_the_shard() {
    let dir = temp_folder("absent");
    save_f32(&dir.join("one.safetensors"), &tiny_tensors()[..2]).unwrap();
    write_index(&dir, &[("wte.weight", "one.safetensors"), ("lm_head.weight", "one.safetensors")]);
    let err = Checkpoint::open_folder(&dir).err().unwrap();
    assert!(matches!(err, Error::TensorNotInShard { .. }), "{err}");
    assert!(message_naming(err, "one.safetensors").contains("lm_head.weight"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_shard_name_that_leaves_the_folder_is_refused() {
    for bad in ["../model.safetensors", "/etc/passwd", "sub/model.safetensors", "..", ".", ""] {
        let dir = temp_folder("escape");
        write_index(&dir, &[("w", bad)]);
        let err = Checkpoint::open_folder(&dir).err().expect(bad);
        assert!(matches!(err, Error::UnsafeShardName { .. }), "{bad:?}: {err}");
        message_naming(err, INDEX_FILE);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_tensor_nobody_listed_is_missing_naming_the_index() {
    let dir = temp_folder("unlisted");
    save_sharded(&dir, &tiny_tensors(), 2);
    let err = Checkpoint::open_folder(&dir).unwrap().vector::<f32>("h.9.ln_1.weight", 4).unwrap_err();
    assert!(matches!(err, Error::MissingTensor { .. }), "{err}");
    message_naming(err, INDEX_FILE);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_folder_without_weights_is_an_error_naming_model_safetensors() {
    let dir = temp_folder("empty");
    let err = Checkpoint::open_folder(&dir).err().unwrap();
    message_naming(err, SINGLE_FILE);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Open the folder and read every tensor it names with the shape it was written with:
/// the answer may be Ok or Err, but must come (no panic).
fn open_and_read_all(dir: &Path, tensors: &Tensors) {
    if let Ok(ckpt) = Checkpoint::open_folder(dir) {
        for name in ckpt.names() {
            let _ = ckpt.contains(&name);
        }
        for (name, shape, _) in tensors {
            let _ = ckpt.tensor::<f32>(name, shape);
            let _ = ckpt.tensor::<f64>(name, &[shape.iter().product()]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Random byte changes in the index or in a shard's header (and its length prefix).
    #[test]
    fn mutated_index_or_shard_headers_never_panic(
        target in 0usize..3,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        truncate in proptest::option::of(any::<usize>()),
    ) {
        let tensors = tiny_tensors();
        let dir = temp_folder("mutated");
        save_sharded(&dir, &tensors, 2);
        let file = match target {
            0 => dir.join(INDEX_FILE),
            k => dir.join(shard_name(k - 1, 2)),
        };
        let mut bytes = std::fs::read(&file).unwrap();
        // a shard's header: the 8-byte length, then the JSON; the data after it is only numbers
        let span = if target == 0 {
            bytes.len()
        } else {
            (8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize + 8).min(bytes.len())
        };
        for (at, byte) in edits {
            bytes[at % span] = byte;
        }
        if let Some(len) = truncate {
            bytes.truncate(len % (bytes.len() + 1));
        }
        std::fs::write(&file, &bytes).unwrap();
        open_and_read_all(&dir, &tensors);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A folder whose `model.safetensors` holds a `[2, 3]` bf16, a `[3, 2]` f16 and a `[2, 3]` f32
/// matrix; the bf16 and f16 bit patterns written.
fn half_folder() -> (PathBuf, Vec<u16>, Vec<u16>) {
    let dir = temp_folder("half-matrix");
    // bf16: 1, -2.5, -0, the smallest subnormal, +inf, the largest finite
    let bf16_bits = vec![0x3F80u16, 0xC020, 0x8000, 0x0001, 0x7F80, 0x7F7F];
    // f16: 1, -2.5, -0, the smallest subnormal, -inf, 65504
    let f16_bits = vec![0x3C00u16, 0xC100, 0x8000, 0x0001, 0xFC00, 0x7BFF];
    let le = |bits: &[u16]| bits.iter().flat_map(|b| b.to_le_bytes()).collect::<Vec<u8>>();
    let f32_bytes: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let (b, h) = (le(&bf16_bits), le(&f16_bits));
    let views = vec![
        ("brain".to_string(), safetensors::tensor::TensorView::new(Dtype::BF16, vec![2, 3], &b).unwrap()),
        ("transformer.half".to_string(), safetensors::tensor::TensorView::new(Dtype::F16, vec![3, 2], &h).unwrap()),
        ("single".to_string(), safetensors::tensor::TensorView::new(Dtype::F32, vec![2, 3], &f32_bytes).unwrap()),
    ];
    std::fs::write(dir.join(SINGLE_FILE), safetensors::serialize(views, None).unwrap()).unwrap();
    (dir, bf16_bits, f16_bits)
}

#[test]
fn half_matrix_keeps_the_stored_bits_and_widens_to_what_matrix_reads() {
    let (dir, bf16_bits, f16_bits) = half_folder();
    let ckpt = Checkpoint::open_folder(&dir).unwrap();
    let brain = ckpt.half_matrix("brain", 2, 3).unwrap();
    assert_eq!((brain.format(), brain.nrows(), brain.ncols()), (HalfFormat::Bf16, 2, 3));
    assert_eq!(brain.bits(), &bf16_bits[..]);
    let half = ckpt.half_matrix("half", 3, 2).unwrap(); // found under the prefix
    assert_eq!((half.format(), half.nrows(), half.ncols()), (HalfFormat::F16, 3, 2));
    assert_eq!(half.bits(), &f16_bits[..]);
    // the same numbers `matrix` converts to f32 (which the IEEE test above checks)
    for (m, name) in [(&brain, "brain"), (&half, "half")] {
        let wide = ckpt.matrix::<f32>(name, m.nrows(), m.ncols()).unwrap();
        assert!(m.to_f32().iter().zip(&wide).all(|(a, b)| a.to_bits() == b.to_bits()), "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn half_matrix_refuses_other_dtypes_wrong_shapes_and_missing_names() {
    let (dir, _, _) = half_folder();
    let ckpt = Checkpoint::open_folder(&dir).unwrap();
    let err = ckpt.half_matrix("single", 2, 3).unwrap_err();
    assert!(matches!(err, Error::TensorNotHalf { .. }), "{err}");
    assert!(message_naming(err, SINGLE_FILE).contains("F32"));
    let err = ckpt.half_matrix("brain", 3, 2).unwrap_err();
    assert!(matches!(err, Error::TensorShape { .. }), "{err}");
    let err = ckpt.half_matrix("absent", 2, 3).unwrap_err();
    assert!(matches!(err, Error::MissingTensor { .. }), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
    let dir = temp_folder("half-f64");
    save_raw(&dir.join(SINGLE_FILE), "w", Dtype::F64, vec![1, 1], &1f64.to_le_bytes());
    let err = Checkpoint::open_folder(&dir).unwrap().half_matrix("w", 1, 1).unwrap_err();
    assert!(matches!(err, Error::TensorNotHalf { .. }), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Random byte changes anywhere in a 16-bit checkpoint, and truncation: `half_matrix`
    /// answers Ok or a typed error, never a panic; a header left intact gives the bits back.
    #[test]
    fn mutated_or_truncated_half_checkpoints_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        truncate in proptest::option::of(any::<usize>()),
    ) {
        let (dir, bf16_bits, _) = half_folder();
        let file = dir.join(SINGLE_FILE);
        let mut bytes = std::fs::read(&file).unwrap();
        let header_end = (8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize).min(bytes.len());
        let header_kept = edits.iter().all(|(at, _)| at % bytes.len() >= header_end);
        let len = bytes.len();
        for (at, byte) in &edits {
            bytes[at % len] = *byte;
        }
        if let Some(cut) = truncate {
            bytes.truncate(cut % (len + 1));
        }
        std::fs::write(&file, &bytes).unwrap();
        if let Ok(ckpt) = Checkpoint::open_folder(&dir) {
            let brain = ckpt.half_matrix("brain", 2, 3);
            let _ = ckpt.half_matrix("half", 3, 2);
            let _ = ckpt.half_matrix("single", 2, 3);
            let _ = ckpt.half_matrix("brain", 6, 1);
            if header_kept && truncate.is_none() {
                // only numbers changed: still a matrix; with no change at all, the bits written
                let brain = brain.unwrap();
                if edits.is_empty() {
                    prop_assert_eq!(brain.bits(), &bf16_bits[..]);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
