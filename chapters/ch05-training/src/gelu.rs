//! The backward of GELU in its tanh form (`gelu_new`, `shared::gelu`).

use ndarray::{Array2, ArrayView2, Zip};
use shared::Float;

// ANCHOR: gelu_backward
/// `gelu(x) = 0.5 x (1 + tanh(u))`, `u = sqrt(2/pi) (x + 0.044715 x^3)`, so
/// `gelu'(x) = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2)`.
///
/// x: `[n, d_ff]`, GELU's input (the forward keeps it); dy: `[n, d_ff]` -> dx = gelu'(x) dy
pub fn gelu_backward<F: Float>(x: ArrayView2<F>, dy: ArrayView2<F>) -> Array2<F> {
    let s = F::cast((2.0 / std::f64::consts::PI).sqrt());
    let c = F::cast(0.044715);
    let (half, one, three) = (F::cast(0.5), F::one(), F::cast(3.0));
    let mut dx = Array2::zeros(x.dim());
    Zip::from(&mut dx).and(x).and(dy).for_each(|dx, &x, &dy| {
        let t = (s * (x + c * x * x * x)).tanh();
        let d_gelu = half * (one + t) + half * x * (one - t * t) * s * (one + three * c * x * x);
        *dx = d_gelu * dy;
    });
    dx
}
// ANCHOR_END: gelu_backward
