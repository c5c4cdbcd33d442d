//! The backward of a residual connection, `y = x + f(x)` (chapter 4's block does it twice).
//!
//! A sum passes its gradient to both terms unchanged: dy reaches x directly, "the gradient
//! highway" that lets deep stacks train, and it also enters the branch f. Where the two paths
//! meet again at x, their gradients add.

use ndarray::{Array2, ArrayView2};
use shared::Float;

// ANCHOR: residual_backward
/// dy: `[n, d]`, dLoss/dy; d_through_branch: `[n, d]`, dy carried back through f to x.
/// Returns dLoss/dx = dy + d_through_branch.
pub fn residual_backward<F: Float>(dy: ArrayView2<F>, d_through_branch: ArrayView2<F>) -> Array2<F> {
    &dy + &d_through_branch
}
// ANCHOR_END: residual_backward
