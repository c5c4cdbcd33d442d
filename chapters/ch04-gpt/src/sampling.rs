//! From logits to the next token: greedy, temperature, top-k, top-p.

use ndarray::ArrayView1;
use ndarray_rand::rand::Rng;
use shared::{Error, Float, Result};

// Exercise ch04-2 (top-k and top-p): `--features ex-ch04-2` swaps in the learner's stub.
#[cfg_attr(feature = "ex-ch04-2", path = "../exercises/ch04_2_top_k_top_p.rs")]
mod filters;
pub use filters::{keep_top_k, keep_top_p};

/// How to pick the next token. `temperature = 0` means greedy (always the most likely token).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    pub temperature: f64,
    /// Keep only the `k` most likely tokens.
    pub top_k: Option<usize>,
    /// Keep the smallest set of most likely tokens whose probabilities add up to `p`.
    pub top_p: Option<f64>,
}

impl Sampling {
    pub const GREEDY: Sampling = Sampling {
        temperature: 0.0,
        top_k: None,
        top_p: None,
    };

    /// Reject values that have no meaning (negative temperature, top-k 0, top-p outside (0, 1]).
    pub fn validate(&self) -> Result<()> {
        let bad = |s: String| Err(Error::InvalidArgument(s));
        if !self.temperature.is_finite() || self.temperature < 0.0 {
            return bad(format!("temperature must be >= 0 (0 = greedy), got {}", self.temperature));
        }
        if self.top_k == Some(0) {
            return bad("top-k must be >= 1".into());
        }
        if let Some(p) = self.top_p {
            if !(p > 0.0 && p <= 1.0) {
                return bad(format!("top-p must be in (0, 1], got {p}"));
            }
        }
        Ok(())
    }
}

// ANCHOR: sample
/// Pick the next token id from `logits` (`[vocab_size]`).
pub fn sample<F: Float, R: Rng>(logits: ArrayView1<F>, sampling: &Sampling, rng: &mut R) -> Result<u32> {
    sampling.validate()?;
    if logits.iter().any(|x| x.is_nan()) {
        return Err(Error::InvalidArgument("logits contain NaN".into()));
    }
    if sampling.temperature == 0.0 {
        return Ok(argmax(logits.iter())); // greedy: the largest logit
    }
    let logits: Vec<f64> = logits.iter().map(|&x| x.as_f64()).collect();
    // temperature: < 1 sharpens the distribution, > 1 flattens it
    let mut scaled: Vec<f64> = logits.iter().map(|&x| x / sampling.temperature).collect();
    if let Some(k) = sampling.top_k {
        keep_top_k(&mut scaled, k); // the others become -inf: probability 0 after the softmax
    }
    let mut probs = softmax(&scaled);
    if let Some(p) = sampling.top_p {
        keep_top_p(&mut probs, p); // nucleus: the others become 0, the kept ones sum to 1
    }
    // draw u in [0, 1) and walk the cumulative distribution
    let u: f64 = rng.random();
    let mut cumulative = 0.0;
    let mut last_nonzero = 0;
    for (i, &pr) in probs.iter().enumerate() {
        if pr > 0.0 {
            cumulative += pr;
            last_nonzero = i;
            if u < cumulative {
                return Ok(i as u32);
            }
        }
    }
    Ok(last_nonzero as u32) // rounding left u just above the total
}
// ANCHOR_END: sample

/// Index of the largest value (the first one on ties, like `torch.argmax`).
pub fn argmax<T: PartialOrd>(values: impl IntoIterator<Item = T>) -> u32 {
    let mut best: Option<(usize, T)> = None; // (index, value) of the largest so far
    for (i, v) in values.into_iter().enumerate() {
        if best.as_ref().is_none_or(|(_, b)| v > *b) {
            best = Some((i, v));
        }
    }
    best.map_or(0, |(i, _)| i as u32)
}

fn softmax(x: &[f64]) -> Vec<f64> {
    let max = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|&v| (v - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|v| v / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use shared::init;

    fn counts(logits: &[f64], s: Sampling, n: usize) -> Vec<usize> {
        let mut rng = init::rng(1);
        let l = ndarray::Array1::from(logits.to_vec());
        let mut c = vec![0; logits.len()];
        for _ in 0..n {
            c[sample(l.view(), &s, &mut rng).unwrap() as usize] += 1;
        }
        c
    }

    #[test]
    fn greedy_picks_the_first_maximum() {
        let mut rng = init::rng(0);
        let l = array![1.0f32, 3.0, 3.0, -2.0];
        assert_eq!(sample(l.view(), &Sampling::GREEDY, &mut rng).unwrap(), 1);
    }

    #[test]
    fn temperature_one_follows_the_softmax() {
        // probabilities [1/4, 3/4]: 20,000 draws land within 2% of 5,000 / 15,000
        let c = counts(&[0.0, 3f64.ln()], Sampling { temperature: 1.0, top_k: None, top_p: None }, 20_000);
        assert!((c[0] as f64 / 20_000.0 - 0.25).abs() < 0.02, "{c:?}");
    }

    #[test]
    fn top_k_and_top_p_cut_the_tail() {
        let logits = [4.0, 3.0, 2.0, 1.0, 0.0];
        let c = counts(&logits, Sampling { temperature: 1.0, top_k: Some(2), top_p: None }, 2000);
        assert!(c[2..].iter().all(|&n| n == 0) && c[0] > 0 && c[1] > 0, "{c:?}");
        // softmax of [4,3,2,1,0] = [0.636, 0.234, 0.086, ...]: p = 0.8 keeps exactly 2 tokens
        let c = counts(&logits, Sampling { temperature: 1.0, top_k: None, top_p: Some(0.8) }, 2000);
        assert!(c[2..].iter().all(|&n| n == 0) && c[1] > 0, "{c:?}");
        // a tiny p keeps only the most likely one
        let c = counts(&logits, Sampling { temperature: 1.0, top_k: None, top_p: Some(0.01) }, 200);
        assert_eq!(c[0], 200);
    }

    #[test]
    fn same_seed_same_tokens() {
        let s = Sampling { temperature: 0.8, top_k: Some(3), top_p: Some(0.9) };
        assert_eq!(counts(&[1.0, 2.0, 0.5, 0.1], s, 50), counts(&[1.0, 2.0, 0.5, 0.1], s, 50));
    }

    #[test]
    fn invalid_parameters_are_errors() {
        let mut rng = init::rng(0);
        let l = array![0.0f32, 1.0];
        for s in [
            Sampling { temperature: -1.0, top_k: None, top_p: None },
            Sampling { temperature: f64::NAN, top_k: None, top_p: None },
            Sampling { temperature: 1.0, top_k: Some(0), top_p: None },
            Sampling { temperature: 1.0, top_k: None, top_p: Some(0.0) },
            Sampling { temperature: 1.0, top_k: None, top_p: Some(1.5) },
        ] {
            assert!(sample(l.view(), &s, &mut rng).is_err(), "{s:?}");
        }
    }
}
