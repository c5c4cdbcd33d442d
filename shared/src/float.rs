//! The float types a model can run in.
//!
//! Every layer is generic over `F: Float`. `f32` is what you run; `f64` exists so that two
//! computations that should be equal (cached vs uncached, Rust vs PyTorch `.double()`) can be
//! compared almost exactly, with no rounding noise to hide a real bug.

use ndarray::{LinalgScalar, ScalarOperand};
use std::fmt::{Debug, Display};
use std::iter::Sum;

/// `f32` or `f64`, with everything the layers need.
pub trait Float:
    num_traits::Float
    + LinalgScalar
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + std::ops::DivAssign
    + ScalarOperand
    + Sum
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + 'static
{
    /// The name used in messages and tables (`"f32"`).
    const NAME: &'static str;

    /// From an `f64` constant: lossless for `f64`, rounding to nearest for `f32`.
    fn cast(x: f64) -> Self;
    /// From an `f32` (what checkpoints store): lossless for both.
    fn cast_f32(x: f32) -> Self;
    /// To `f64`, for sampling, printing and comparisons.
    fn as_f64(self) -> f64;
    /// The same numbers as `&[f32]` when `Self` is `f32` (the 16-bit weight kernels work in
    /// f32), else `None`.
    fn as_f32_slice(s: &[Self]) -> Option<&[f32]>;
    /// The same numbers as `&mut [f32]` when `Self` is `f32`, else `None`.
    fn as_f32_slice_mut(s: &mut [Self]) -> Option<&mut [f32]>;
}

impl Float for f32 {
    const NAME: &'static str = "f32";
    fn cast(x: f64) -> Self {
        x as f32
    }
    fn cast_f32(x: f32) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
    fn as_f32_slice(s: &[Self]) -> Option<&[f32]> {
        Some(s)
    }
    fn as_f32_slice_mut(s: &mut [Self]) -> Option<&mut [f32]> {
        Some(s)
    }
}

impl Float for f64 {
    const NAME: &'static str = "f64";
    fn cast(x: f64) -> Self {
        x
    }
    fn cast_f32(x: f32) -> Self {
        x as f64
    }
    fn as_f64(self) -> f64 {
        self
    }
    fn as_f32_slice(_: &[Self]) -> Option<&[f32]> {
        None
    }
    fn as_f32_slice_mut(_: &mut [Self]) -> Option<&mut [f32]> {
        None
    }
}
