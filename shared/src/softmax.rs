//! Numerically stable softmax over the last axis.

use crate::Float;
use ndarray::{ArrayViewMut1, ArrayViewMut2, Axis};

// ANCHOR: softmax
/// Softmax of one row, in place: subtract the max first so `exp` never overflows.
/// Entries equal to `-inf` (masked) become exactly 0.
pub fn softmax_inplace<F: Float>(mut row: ArrayViewMut1<F>) {
    let max = row.fold(F::neg_infinity(), |m, &v| m.max(v));
    let mut sum = F::zero();
    row.mapv_inplace(|v| {
        // masked entries are exactly 0: skip their exp (half of a causal prefill's scores)
        let e = if v == F::neg_infinity() { F::zero() } else { (v - max).exp() };
        sum = sum + e;
        e
    });
    row.mapv_inplace(|e| e / sum);
}

/// Softmax of every row of a `[rows, cols]` matrix.
pub fn softmax_rows<F: Float>(mut x: ArrayViewMut2<F>) {
    for row in x.axis_iter_mut(Axis(0)) {
        softmax_inplace(row);
    }
}
// ANCHOR_END: softmax

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array1};
    use proptest::prelude::*;

    #[test]
    fn hand_values() {
        // softmax([0, ln 3]) = [1/4, 3/4]
        let mut x = array![[0.0f64, 3f64.ln()]];
        softmax_rows(x.view_mut());
        assert!((x[[0, 0]] - 0.25).abs() < 1e-15);
        assert!((x[[0, 1]] - 0.75).abs() < 1e-15);
    }

    #[test]
    fn large_values_do_not_overflow_and_masked_are_zero() {
        let mut x = array![[1000.0f32, 1000.0, f32::NEG_INFINITY]];
        softmax_rows(x.view_mut());
        assert_eq!(x, array![[0.5f32, 0.5, 0.0]]);
    }

    proptest! {
        #[test]
        fn sums_to_one_and_is_shift_invariant(v in prop::collection::vec(-50.0f64..50.0, 1..20), shift in -100.0f64..100.0) {
            let mut a = Array1::from(v.clone());
            softmax_inplace(a.view_mut());
            prop_assert!((a.sum() - 1.0).abs() < 1e-12);
            prop_assert!(a.iter().all(|&p| p >= 0.0));
            let mut b = Array1::from(v).mapv(|x| x + shift);
            softmax_inplace(b.view_mut());
            for (x, y) in a.iter().zip(b.iter()) { prop_assert!((x - y).abs() < 1e-12); }
        }
    }
}
