//! Exercise ch05-2: the softmax, backwards.
//!
//! Attention turns each row of scores into weights with a softmax. Raising one score raises its
//! own weight and lowers all the others of its row (they still sum to 1), so the gradient of a
//! score depends on the gradients of every weight in the row.
//!
//! With `--features ex-ch05-2` this file replaces `src/softmax.rs`.
//! Check it: `cargo run -p exercises -- check ch05-2`. Stuck: `cargo run -p exercises -- hint ch05-2`.
#![allow(unused_variables, unused_imports, unused_mut)] // nothing is used yet: delete this line when done

use ndarray::{ArrayView2, ArrayViewMut2, Zip};
use shared::Float;

/// p: `[rows, cols]`, the softmax of each row of the scores (what the forward returned);
/// dp: `[rows, cols]`, the gradient of the loss with respect to p. Overwrite dp, in place, with
/// the gradient of the loss with respect to the scores.
pub fn softmax_backward_rows<F: Float>(p: ArrayView2<F>, mut dp: ArrayViewMut2<F>) {
    // TODO: for each row, the dot product of p and dp, then every entry becomes p_j (dp_j - dot).
    todo!("ch05-2: the gradient of the scores from the gradient of the softmax")
}
