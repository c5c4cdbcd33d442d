//! The fixed position table of the original Transformer (exercise ch02-2 replaces this file).
//!
//! GPT-2 *learns* its position table. "Attention Is All You Need" filled it with sines and
//! cosines instead, at wavelengths from 2π up to 10000·2π. Nothing is learned, any position
//! has a vector, and the dot product of two positions depends only on their distance, which is
//! what the chapter's demo plots beside an (untrained) learned table.

use ndarray::Array2;
use shared::Float;

// ANCHOR: sinusoidal
// ANCHOR: sinusoidal_signature
/// The sinusoidal position table, `[n_positions, d_model]`:
/// column `2i` is `sin(p * w_i)` and column `2i + 1` is `cos(p * w_i)`, with
/// `w_i = 10000^(-2i / d_model)` (the frequency falls from 1 to about 1/10000 across the columns).
pub fn sinusoidal_positions<F: Float>(n_positions: usize, d_model: usize) -> Array2<F> {
    // ANCHOR_END: sinusoidal_signature
    Array2::from_shape_fn((n_positions, d_model), |(p, col)| {
        let i = col / 2; // the pair of columns (sin, cos) this column belongs to
        let frequency = 10000f64.powf(-2.0 * i as f64 / d_model as f64);
        let angle = p as f64 * frequency;
        F::cast(if col % 2 == 0 { angle.sin() } else { angle.cos() })
    })
}
// ANCHOR_END: sinusoidal
