//! The backward of a softmax over each row (attention's weights, `shared::softmax_rows`);
//! exercise ch05-2 replaces this file.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};
use shared::Float;

// ANCHOR: softmax_backward
// ANCHOR: softmax_backward_signature
/// `p = softmax(s)` row by row has the Jacobian `dp_i/ds_j = p_i (delta_ij - p_j)`, so
/// `ds_j = p_j (dp_j - sum_i p_i dp_i)`.
///
/// p: `[rows, cols]`, the softmax's output; dp: `[rows, cols]`, dLoss/dp, replaced in place by
/// dLoss/ds. Masked entries have p = 0, so their gradient is 0: the future gets none.
pub fn softmax_backward_rows<F: Float>(p: ArrayView2<F>, mut dp: ArrayViewMut2<F>) {
    // ANCHOR_END: softmax_backward_signature
    Zip::from(p.rows()).and(dp.rows_mut()).for_each(|p, mut dp| {
        let dot = p.iter().zip(dp.iter()).fold(F::zero(), |acc, (&p, &d)| acc + p * d); // sum_i p_i dp_i
        Zip::from(&mut dp).and(&p).for_each(|d, &p| *d = p * (*d - dot));
    });
}
// ANCHOR_END: softmax_backward
