//! The learning rate over a run: warm up, then decay (as nanoGPT and llm.c do).
//!
//! A fresh model's gradients are large and point in noisy directions; a few steps at a small,
//! growing rate let AdamW's running averages settle before full-size steps. Near the end,
//! smaller steps let the weights settle into the bottom of the valley instead of bouncing
//! across it. Optional: the binary's `--cosine`; without it the rate is constant.

// ANCHOR: cosine_lr
/// The rate of step `k` (0-based) of `steps`: linear from `lr / warmup` up to `lr` over the
/// first `warmup` steps, then half a cosine down to `lr * min_ratio` at the last step.
pub fn cosine_lr(lr: f64, k: usize, steps: usize, warmup: usize, min_ratio: f64) -> f64 {
    if k < warmup {
        return lr * (k + 1) as f64 / warmup as f64;
    }
    let decay_steps = steps.saturating_sub(warmup).saturating_sub(1).max(1);
    let progress = ((k - warmup) as f64 / decay_steps as f64).min(1.0); // 0 -> 1
    let min_lr = lr * min_ratio;
    min_lr + 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()) * (lr - min_lr)
}
// ANCHOR_END: cosine_lr

#[cfg(test)]
mod tests {
    use super::cosine_lr;

    #[test]
    fn warms_up_then_falls_to_the_floor() {
        let lr = |k| cosine_lr(1.0, k, 111, 10, 0.1); // 10 warmup steps, then 100 steps of decay
        assert!((lr(0) - 0.1).abs() < 1e-12 && (lr(9) - 1.0).abs() < 1e-12);
        assert!((lr(10) - 1.0).abs() < 1e-12); // the peak: cos(0) = 1
        assert!((lr(60) - 0.55).abs() < 1e-3); // half way down: 0.1 + 0.5 * 0.9 (cos(pi/2) = 0)
        assert!((lr(110) - 0.1).abs() < 1e-12); // the last step, the floor: cos(pi) = -1
        assert!((1..111).all(|k| k <= 10 || lr(k) <= lr(k - 1)));
    }
}
