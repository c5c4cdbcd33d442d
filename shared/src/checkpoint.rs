//! Reading tensors from a Hugging Face model folder, by name, into ndarray: one
//! `model.safetensors`, or shards listed by `model.safetensors.index.json`.
//!
//! Each file is memory-mapped; each tensor is converted to the model's float type on request
//! (f32, f64, f16 and bf16 are read) and checked against the shape the config implies. Names
//! are looked up as written and with the `transformer.` prefix that
//! `GPT2LMHeadModel.save_pretrained` adds. Tensors nobody asks for (the `h.N.attn.bias` mask
//! buffers of the published GPT-2 files, `lm_head.weight` when it is tied) are simply never read.
//!
//! Once a tensor is copied out, its pages of the map are handed back to the kernel, so that
//! loading holds the weights about once, not twice (the map plus the copies): a 500 MB GPT-2
//! loads with a peak of about its size plus its largest tensor.

mod shard_index;
#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use crate::half_matrix::{HalfFormat, HalfMatrix};
use crate::Float;
use ndarray::{Array, Array1, Array2, IxDyn};
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file name of a single-file checkpoint in a Hugging Face folder.
pub const SINGLE_FILE: &str = "model.safetensors";
/// The file name of a sharded checkpoint's index in a Hugging Face folder.
pub const INDEX_FILE: &str = "model.safetensors.index.json";

/// An open checkpoint: one safetensors file, or the shards of an index.
pub struct Checkpoint {
    /// The file that names the checkpoint: the single file, or the index.
    path: PathBuf,
    /// The index, when the checkpoint is sharded.
    index: Option<PathBuf>,
    shards: Vec<Shard>,
    /// Every tensor name -> the shard (into `shards`) that holds it.
    tensors: BTreeMap<String, usize>,
    /// Whether layers loading from this checkpoint keep bf16/f16 matrices in 16 bits
    /// ([`Checkpoint::keeping_16_bit`]) instead of widening them to the model's float type.
    keep_16_bit: bool,
}

/// One mapped safetensors file.
struct Shard {
    path: PathBuf,
    mmap: memmap2::Mmap,
}

impl Shard {
    /// Map the file (a missing file is a plain I/O error naming it).
    fn map(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: the map is read-only; like every mmap reader we assume nobody truncates
        // the file while the model loads.
        let mmap = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        Ok(Shard { path: path.to_path_buf(), mmap })
    }

    /// Parse the header (cheap: the JSON at the front of the file; no tensor data is read).
    fn header(&self) -> Result<SafeTensors<'_>> {
        SafeTensors::deserialize(&self.mmap).map_err(|e| Error::BadCheckpoint {
            path: self.path.clone(),
            reason: e.to_string(),
        })
    }
}

/// `config.json` of a Hugging Face model folder, with a clear error when the folder itself is
/// missing (before any file in it is read).
pub fn config_json_in(dir: &Path) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(Error::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not a folder (expected config.json, model.safetensors, tokenizer.json)",
            ),
        ));
    }
    Ok(dir.join("config.json"))
}

/// The `model_type` of a model folder's `config.json` (`None` when it names none, as old GPT-2
/// files do): which chapter's model a binary should build.
pub fn model_type(dir: &Path) -> Result<Option<String>> {
    let path = config_json_in(dir)?;
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
    let config: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::BadConfig { path, reason: e.to_string() })?;
    Ok(config.get("model_type").and_then(serde_json::Value::as_str).map(str::to_string))
}

/// Whether a folder holds GPT-2 (chapter 4's model): its `model_type` is `gpt2`, or absent.
pub fn is_gpt2(dir: &Path) -> Result<bool> {
    Ok(matches!(model_type(dir)?.as_deref(), None | Some("gpt2")))
}

/// Prefixes tried, in order, before a tensor name.
const PREFIXES: [&str; 2] = ["", "transformer."];

impl Checkpoint {
    /// Open a Hugging Face model folder: the shards of `model.safetensors.index.json` if that
    /// file exists, else `model.safetensors`. Every tensor the index lists must be in its shard.
    pub fn open_folder(dir: &Path) -> Result<Self> {
        let index = dir.join(INDEX_FILE);
        if index.is_file() {
            Self::open_sharded(&index)
        } else {
            Self::open(&dir.join(SINGLE_FILE))
        }
    }

    /// Map one safetensors file and check that its header parses.
    pub fn open(path: &Path) -> Result<Self> {
        let shard = Shard::map(path)?;
        let tensors = shard.header()?.names().into_iter().map(|n| (n.to_string(), 0)).collect();
        Ok(Checkpoint { path: path.to_path_buf(), index: None, shards: vec![shard], tensors, keep_16_bit: false })
    }

    /// Open the shards named by the index file at `index` (shards live beside it).
    pub fn open_sharded(index: &Path) -> Result<Self> {
        let weight_map = shard_index::read_weight_map(index)?;
        let dir = index.parent().unwrap_or(Path::new("."));
        let mut shards: Vec<Shard> = vec![];
        let mut shard_of_file: BTreeMap<&str, usize> = BTreeMap::new();
        let mut tensors = BTreeMap::new();
        for (name, file) in &weight_map {
            let i = match shard_of_file.get(file.as_str()) {
                Some(&i) => i,
                None => {
                    let path = dir.join(file);
                    if !path.is_file() {
                        return Err(Error::MissingShard { path, index: index.to_path_buf() });
                    }
                    shards.push(Shard::map(&path)?);
                    shard_of_file.insert(file, shards.len() - 1);
                    shards.len() - 1
                }
            };
            tensors.insert(name.clone(), i);
        }
        // Every listed tensor must be in its shard: say so now, naming the shard, rather
        // than in the middle of a load.
        for (i, shard) in shards.iter().enumerate() {
            let header = shard.header()?;
            let present: std::collections::HashSet<String> = header.names().into_iter().map(|s| s.to_string()).collect();
            if let Some(name) = tensors.iter().find(|(n, &s)| s == i && !present.contains(*n)).map(|(n, _)| n) {
                return Err(Error::TensorNotInShard {
                    path: shard.path.clone(),
                    index: index.to_path_buf(),
                    name: name.clone(),
                });
            }
        }
        Ok(Checkpoint { path: index.to_path_buf(), index: Some(index.to_path_buf()), shards, tensors, keep_16_bit: false })
    }

    /// With `true`, the weight matrices a layer loads ([`Linear`](crate::Linear),
    /// [`Embedding`](crate::Embedding)) stay in 16 bits when the file stores them in bf16 or
    /// f16 (see [`half_matrix`](crate::half_matrix)); f32 tensors, vectors and norms load as
    /// before. With `false` (the default), every tensor is widened to the model's float type.
    pub fn keeping_16_bit(mut self, keep: bool) -> Self {
        self.keep_16_bit = keep;
        self
    }

    /// Whether [`Checkpoint::keeping_16_bit`] is on.
    pub fn keeps_16_bit(&self) -> bool {
        self.keep_16_bit
    }

    /// The 16-bit format tensor `name` is stored in, or `None` for any other dtype (a missing
    /// tensor is [`Error::MissingTensor`]).
    pub fn half_format_of(&self, name: &str) -> Result<Option<HalfFormat>> {
        let shape = self.shape_of(name)?;
        let (_, view) = self.find(name, &shape)?;
        Ok(match view.dtype() {
            Dtype::BF16 => Some(HalfFormat::Bf16),
            Dtype::F16 => Some(HalfFormat::F16),
            _ => None,
        })
    }

    /// The 16-bit format of the checkpoint's matrices: `Some` when every tensor with two
    /// dimensions is stored in that one format, else `None` (f32, f64, or a mix).
    pub fn matrices_half_format(&self) -> Result<Option<HalfFormat>> {
        let mut found = None;
        for (name, &i) in &self.tensors {
            let header = self.shards[i].header()?;
            let Ok(view) = header.tensor(name) else { continue };
            if view.shape().len() != 2 {
                continue;
            }
            let format = match view.dtype() {
                Dtype::BF16 => HalfFormat::Bf16,
                Dtype::F16 => HalfFormat::F16,
                _ => return Ok(None),
            };
            if found.is_some_and(|f| f != format) {
                return Ok(None);
            }
            found = Some(format);
        }
        Ok(found)
    }

    /// The stored shape of tensor `name` (with or without the prefix).
    fn shape_of(&self, name: &str) -> Result<Vec<usize>> {
        let found = PREFIXES.iter().find_map(|p| self.tensors.get_key_value(&format!("{p}{name}")));
        let Some((full, &i)) = found else {
            return self.find(name, &[]).map(|_| vec![]); // the error `find` gives for a missing tensor
        };
        let header = self.shards[i].header()?;
        let view = header.tensor(full).map_err(|e| Error::BadCheckpoint { path: self.shards[i].path.clone(), reason: e.to_string() })?;
        Ok(view.shape().to_vec())
    }

    /// The single file, or the index of a sharded checkpoint.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The shard files, in the order first named (one for a single-file checkpoint).
    pub fn files(&self) -> Vec<&Path> {
        self.shards.iter().map(|s| s.path.as_path()).collect()
    }

    /// Every tensor name, across all shards, sorted.
    pub fn names(&self) -> Vec<String> {
        self.tensors.keys().cloned().collect()
    }

    /// Whether a tensor exists (with or without the prefix).
    pub fn contains(&self, name: &str) -> bool {
        PREFIXES.iter().any(|p| self.tensors.contains_key(&format!("{p}{name}")))
    }

    /// Tensor `name` (found with or without the prefix) and the shard that holds it, checked
    /// to have exactly `shape`.
    fn find(&self, name: &str, shape: &[usize]) -> Result<(&Shard, safetensors::tensor::TensorView<'_>)> {
        let (full, &i) = PREFIXES
            .iter()
            .find_map(|p| self.tensors.get_key_value(&format!("{p}{name}")))
            .ok_or_else(|| Error::MissingTensor {
                path: self.path.clone(),
                name: name.to_string(),
                tried: PREFIXES
                    .iter()
                    .map(|p| format!("`{p}{name}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let shard = &self.shards[i];
        let st = shard.header()?;
        let view = st.tensor(full).map_err(|_| match &self.index {
            Some(index) => Error::TensorNotInShard {
                path: shard.path.clone(),
                index: index.clone(),
                name: full.clone(),
            },
            None => Error::MissingTensor { path: shard.path.clone(), name: name.to_string(), tried: format!("`{full}`") },
        })?;
        if view.shape() != shape {
            return Err(Error::TensorShape {
                path: shard.path.clone(),
                name: name.to_string(),
                expected: shape.to_vec(),
                found: view.shape().to_vec(),
            });
        }
        Ok((shard, view))
    }

    /// Read tensor `name`, which must have exactly `shape`, converted to `F`.
    pub fn tensor<F: Float>(&self, name: &str, shape: &[usize]) -> Result<Array<F, IxDyn>> {
        let (shard, view) = self.find(name, shape)?;
        let bytes = view.data();
        let values: Vec<F> = match view.dtype() {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|b| F::cast_f32(f32::from_le_bytes(b.try_into().unwrap())))
                .collect(),
            Dtype::F64 => bytes
                .chunks_exact(8)
                .map(|b| F::cast(f64::from_le_bytes(b.try_into().unwrap())))
                .collect(),
            Dtype::F16 => bytes
                .chunks_exact(2)
                .map(|b| F::cast_f32(half::f16::from_le_bytes([b[0], b[1]]).to_f32()))
                .collect(),
            Dtype::BF16 => bytes
                .chunks_exact(2)
                .map(|b| F::cast_f32(half::bf16::from_le_bytes([b[0], b[1]]).to_f32()))
                .collect(),
            other => {
                return Err(Error::TensorDtype {
                    path: shard.path.clone(),
                    name: name.to_string(),
                    dtype: format!("{other:?}"),
                })
            }
        };
        release(&shard.mmap, bytes);
        Ok(Array::from_shape_vec(IxDyn(shape), values).expect("length checked by safetensors"))
    }

    /// A `[rows, cols]` tensor.
    pub fn matrix<F: Float>(&self, name: &str, rows: usize, cols: usize) -> Result<Array2<F>> {
        Ok(self
            .tensor(name, &[rows, cols])?
            .into_dimensionality()
            .expect("shape checked"))
    }

    /// A `[rows, cols]` tensor of 16-bit floats (BF16 or F16) kept as they are stored: 2 bytes a
    /// number in memory, widened only inside [`gemv_half`](crate::gemv_half::gemv_half). Any
    /// other dtype is [`Error::TensorNotHalf`]: converting f32 down would be a silent rounding.
    pub fn half_matrix(&self, name: &str, rows: usize, cols: usize) -> Result<HalfMatrix> {
        let (shard, view) = self.find(name, &[rows, cols])?;
        let format = match view.dtype() {
            Dtype::BF16 => HalfFormat::Bf16,
            Dtype::F16 => HalfFormat::F16,
            other => {
                return Err(Error::TensorNotHalf {
                    path: shard.path.clone(),
                    name: name.to_string(),
                    dtype: format!("{other:?}"),
                })
            }
        };
        let bytes = view.data();
        let bits: Vec<u16> = bytes.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
        release(&shard.mmap, bytes);
        HalfMatrix::from_bits(format, rows, cols, bits).map_err(|e| Error::BadCheckpoint {
            path: shard.path.clone(),
            reason: format!("tensor `{name}`: {e}"),
        })
    }

    /// A `[len]` tensor.
    pub fn vector<F: Float>(&self, name: &str, len: usize) -> Result<Array1<F>> {
        Ok(self
            .tensor(name, &[len])?
            .into_dimensionality()
            .expect("shape checked"))
    }
}

/// Drop the mapped pages of `bytes` (a tensor of `mmap` already copied out) from this
/// process's resident memory. Reading them again would fetch the same bytes from the file.
fn release(mmap: &memmap2::Mmap, bytes: &[u8]) {
    #[cfg(unix)]
    {
        let offset = bytes.as_ptr() as usize - mmap.as_ptr() as usize;
        // SAFETY: the map is private and read-only, so MADV_DONTNEED only forgets pages
        // that a later read fetches again, unchanged, from the file.
        let advice = unsafe { mmap.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, bytes.len()) };
        let _ = advice; // only advice: if the kernel declines, loading just holds more memory
    }
    #[cfg(not(unix))]
    let _ = bytes;
}

/// Write tensors to a safetensors file atomically (temporary file, then rename).
/// Used by tests and tools that make small checkpoints; `F` values are stored as f32.
pub fn save_f32(path: &Path, tensors: &[(String, Vec<usize>, Vec<f32>)]) -> Result<()> {
    save_as(path, tensors, None)
}

/// Rewrite the safetensors file at `path` with every floating-point tensor rounded to `format`
/// (nearest, ties to even), as a Hugging Face bf16 or f16 checkpoint stores them: how tests and
/// tools make 16-bit checkpoints from a model saved in f32.
pub fn narrow_file(path: &Path, format: HalfFormat) -> Result<()> {
    let ckpt = Checkpoint::open(path)?;
    let mut tensors = vec![];
    for name in ckpt.names() {
        let shape = ckpt.shape_of(&name)?;
        let values: Array<f32, IxDyn> = ckpt.tensor(&name, &shape)?;
        tensors.push((name, shape, values.iter().copied().collect::<Vec<f32>>()));
    }
    drop(ckpt);
    save_as(path, &tensors, Some(format))
}

/// [`save_f32`], or each value rounded to `half` when given.
fn save_as(path: &Path, tensors: &[(String, Vec<usize>, Vec<f32>)], half: Option<HalfFormat>) -> Result<()> {
    let narrowed: Vec<Vec<u8>> = match half {
        None => vec![],
        Some(format) => tensors
            .iter()
            .map(|(_, _, data)| data.iter().flat_map(|&v| format.narrow(v).to_le_bytes()).collect())
            .collect(),
    };
    let dtype = match half {
        None => Dtype::F32,
        Some(HalfFormat::Bf16) => Dtype::BF16,
        Some(HalfFormat::F16) => Dtype::F16,
    };
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .enumerate()
        .map(|(k, (name, shape, data))| {
            let bytes: &[u8] = match half {
                Some(_) => &narrowed[k],
                // SAFETY: f32 has no padding; the slice covers exactly `data`'s bytes
                None => unsafe { std::slice::from_raw_parts(data.as_ptr() as *const u8, data.len() * 4) },
            };
            let view = safetensors::tensor::TensorView::new(dtype, shape.clone(), bytes)
                .map_err(|e| Error::BadCheckpoint {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                });
            view.map(|v| (name.clone(), v))
        })
        .collect::<Result<_>>()?;
    let bytes = safetensors::serialize(views, None).map_err(|e| Error::BadCheckpoint {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    crate::write_atomic(path, &bytes)
}
