//! Reading tensors from a Hugging Face `model.safetensors` file, by name, into ndarray.
//!
//! The file is memory-mapped; each tensor is converted to the model's float type on request
//! and checked against the shape the config implies. Names are looked up as written and with
//! the `transformer.` prefix that `GPT2LMHeadModel.save_pretrained` adds. Tensors nobody asks
//! for (the `h.N.attn.bias` mask buffers of the published GPT-2 files, `lm_head.weight` when
//! it is tied) are simply never read.
//!
//! Once a tensor is copied out, its pages of the map are handed back to the kernel, so that
//! loading holds the weights about once, not twice (the map plus the copies): a 500 MB GPT-2
//! loads with a peak of about its size plus its largest tensor.

use crate::error::{Error, Result};
use crate::Float;
use ndarray::{Array, Array1, Array2, IxDyn};
use safetensors::{Dtype, SafeTensors};
use std::path::{Path, PathBuf};

/// An open `model.safetensors`.
pub struct Checkpoint {
    path: PathBuf,
    mmap: memmap2::Mmap,
}

/// Prefixes tried, in order, before a tensor name.
const PREFIXES: [&str; 2] = ["", "transformer."];

impl Checkpoint {
    /// Map the file and check that its header parses.
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: the map is read-only; like every mmap reader we assume nobody truncates
        // the file while the model loads.
        let mmap = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        SafeTensors::deserialize(&mmap).map_err(|e| Error::BadCheckpoint {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(Checkpoint {
            path: path.to_path_buf(),
            mmap,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every tensor name in the file.
    pub fn names(&self) -> Vec<String> {
        let st = SafeTensors::deserialize(&self.mmap).expect("checked in open");
        st.names().into_iter().map(|s| s.to_string()).collect()
    }

    /// Whether a tensor exists (with or without the prefix).
    pub fn contains(&self, name: &str) -> bool {
        let st = SafeTensors::deserialize(&self.mmap).expect("checked in open");
        PREFIXES.iter().any(|p| st.tensor(&format!("{p}{name}")).is_ok())
    }

    /// Read tensor `name`, which must have exactly `shape`, converted to `F`.
    pub fn tensor<F: Float>(&self, name: &str, shape: &[usize]) -> Result<Array<F, IxDyn>> {
        let st = SafeTensors::deserialize(&self.mmap).expect("checked in open");
        let view = PREFIXES
            .iter()
            .find_map(|p| st.tensor(&format!("{p}{name}")).ok())
            .ok_or_else(|| Error::MissingTensor {
                path: self.path.clone(),
                name: name.to_string(),
                tried: PREFIXES
                    .iter()
                    .map(|p| format!("`{p}{name}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        if view.shape() != shape {
            return Err(Error::TensorShape {
                path: self.path.clone(),
                name: name.to_string(),
                expected: shape.to_vec(),
                found: view.shape().to_vec(),
            });
        }
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
                    path: self.path.clone(),
                    name: name.to_string(),
                    dtype: format!("{other:?}"),
                })
            }
        };
        self.release(bytes);
        Ok(Array::from_shape_vec(IxDyn(shape), values).expect("length checked by safetensors"))
    }

    /// Drop the mapped pages of `bytes` (a tensor already copied out) from this process's
    /// resident memory. Reading them again would fetch the same bytes from the file.
    fn release(&self, bytes: &[u8]) {
        #[cfg(unix)]
        {
            let offset = bytes.as_ptr() as usize - self.mmap.as_ptr() as usize;
            // SAFETY: the map is private and read-only, so MADV_DONTNEED only forgets pages
            // that a later read fetches again, unchanged, from the file.
            let advice = unsafe { self.mmap.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, bytes.len()) };
            let _ = advice; // only advice: if the kernel declines, loading just holds more memory
        }
        #[cfg(not(unix))]
        let _ = bytes;
    }

    /// A `[rows, cols]` tensor.
    pub fn matrix<F: Float>(&self, name: &str, rows: usize, cols: usize) -> Result<Array2<F>> {
        Ok(self
            .tensor(name, &[rows, cols])?
            .into_dimensionality()
            .expect("shape checked"))
    }

    /// A `[len]` tensor.
    pub fn vector<F: Float>(&self, name: &str, len: usize) -> Result<Array1<F>> {
        Ok(self
            .tensor(name, &[len])?
            .into_dimensionality()
            .expect("shape checked"))
    }
}

/// Write tensors to a safetensors file atomically (temporary file, then rename).
/// Used by tests and tools that make small checkpoints; `F` values are stored as f32.
pub fn save_f32(path: &Path, tensors: &[(String, Vec<usize>, Vec<f32>)]) -> Result<()> {
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(name, shape, data)| {
            let bytes: &[u8] = unsafe {
                std::slice::from_raw_parts(data.as_ptr() as *const u8, data.len() * 4)
            };
            let view = safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), bytes)
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
