//! Rotating queries and keys, from a given position on (the reference solution of exercise
//! ch06-2).

use super::Rope;
use ndarray::{s, ArrayViewMut4, Axis};
use shared::{Error, Float, Result};

impl Rope {
    // ANCHOR: rope_apply
    // ANCHOR: rope_apply_signature
    /// In place. x: `[batch, heads, seq, head_dim]`; token `t` is at position `start_pos + t` (a
    /// decode step passes the cache's length). Pair `(i, i + r/2)`, `r = rotary_dim`, turns by
    /// `angle = position * inv_freq[i]`:
    /// `(x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin)`; dimensions `r..head_dim` are untouched.
    ///
    /// The angle is computed in the model's float type `F`, as transformers computes it (in
    /// float32 for a float32 model): for f32 it loses digits at long positions (at position 4000
    /// an f32 angle is known to about 2e-4 rad), and matching that keeps f32 logits closest to
    /// transformers'.
    pub fn apply_inplace<F: Float>(&self, mut x: ArrayViewMut4<F>, start_pos: usize) -> Result<()> {
        // ANCHOR_END: rope_apply_signature
        if x.shape()[3] != self.head_dim {
            return Err(Error::Shape {
                op: "rope",
                expected: format!("x = [batch, heads, seq, {}]", self.head_dim),
                found: format!("{:?}", x.shape()),
            });
        }
        let half = self.inv_freq.len();
        for t in 0..x.shape()[2] {
            let position = F::cast((start_pos + t) as f64);
            let (sin, cos): (Vec<F>, Vec<F>) = self
                .inv_freq
                .iter()
                .map(|&f| {
                    let angle = position * F::cast(f); // in F, like the model's other numbers
                    let (s, c) = angle.as_f64().sin_cos();
                    (F::cast(s), F::cast(c))
                })
                .unzip(); // [half] each
            let mut token = x.slice_mut(s![.., .., t, ..]); // [batch, heads, head_dim]
            for mut head in token.lanes_mut(Axis(2)) {
                for i in 0..half {
                    let (x1, x2) = (head[i], head[i + half]);
                    head[i] = x1 * cos[i] - x2 * sin[i];
                    head[i + half] = x2 * cos[i] + x1 * sin[i];
                }
            }
        }
        Ok(())
    }
    // ANCHOR_END: rope_apply
}
