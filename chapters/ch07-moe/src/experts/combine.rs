//! The weighted combine (exercise ch07-2 replaces this file).

use ndarray::{Array2, ArrayView2};
use shared::Float;

// ANCHOR: add_weighted
// ANCHOR: add_weighted_signature
/// Add one expert's outputs into the layer's output: row `i` of `expert_out` belongs to token
/// `rows[i]`, which gives this expert the weight `weights[i]`, so
/// `out[rows[i]] += weights[i] * expert_out[i]` for every `i`.
pub fn add_weighted<F: Float>(out: &mut Array2<F>, rows: &[usize], weights: &[F], expert_out: ArrayView2<F>) {
    // ANCHOR_END: add_weighted_signature
    for ((&row, &w), y) in rows.iter().zip(weights).zip(expert_out.rows()) {
        // (w * y) rounded, then added: transformers' `index_add_` of the weighted output
        out.row_mut(row).zip_mut_with(&y, |o, &v| *o = *o + v * w);
    }
}
// ANCHOR_END: add_weighted
