//! Every gradient of the backward pass against central finite differences, in f64, on a tiny
//! model: for each element p of every parameter tensor, `(loss(p + h) - loss(p - h)) / (2h)`.
//!
//! - **step** h = 1e-5: the error of a central difference is about `h^2 / 6` times the third
//!   derivative (truncation) plus `eps_f64 * |loss| / h` (rounding, ~3e-11 here); h = 1e-5
//!   measured lower errors than h = 1e-4, where truncation dominates.
//! - **relative error** of a tensor: `max_i |analytic_i - numeric_i| / max_i |numeric_i|` (the
//!   error in the max norm, relative to the tensor's largest gradient). Required below 1e-6;
//!   measured at most 1.2e-9 (`wpe.weight`), most tensors 1e-10 to 4e-10. A wrong term in any
//!   backward moves gradients by far more than 1e-7 of their size.

use ch04_gpt::Gpt;
use ch05_training::{loss, loss_and_grads, parameters_mut};
use ndarray::{Array2, ArrayD};
use ndarray_rand::rand::Rng;
use shared::{init, GptConfig};

/// A tiny GPT-2 (vocab 13, context 8, width 8, 2 layers, 2 heads) whose every parameter,
/// layer norms and biases included, is away from its initial value, so no gradient is
/// trivially zero or one.
fn tiny_model() -> Gpt<f64> {
    let config = GptConfig::gpt2_like(13, 8, 8, 2, 2);
    let mut model = Gpt::<f64>::random(&config, 7).unwrap();
    let mut rng = init::rng(8);
    for (_, mut p) in parameters_mut(&mut model) {
        let noise: ArrayD<f64> = init::normal(p.raw_dim(), 0.3, &mut rng);
        p += &noise;
    }
    model
}

#[test]
fn every_gradient_matches_central_differences() {
    let mut model = tiny_model();
    let mut rng = init::rng(9);
    let ids: Vec<u32> = (0..2 * 7 + 1).map(|_| rng.random_range(0..13)).collect();
    let inputs = Array2::from_shape_vec((2, 7), ids[..14].to_vec()).unwrap();
    let targets = Array2::from_shape_vec((2, 7), ids[1..].to_vec()).unwrap();
    let (_, mut grads) = loss_and_grads(&model, inputs.view(), targets.view()).unwrap();
    let analytic: Vec<(String, ArrayD<f64>)> = parameters_mut(&mut grads).into_iter().map(|(n, g)| (n, g.to_owned())).collect();
    let h = 1e-5;
    let n_tensors = analytic.len();
    let mut worst = vec![];
    for (i, (name, grad)) in analytic.iter().enumerate() {
        let mut numeric = ArrayD::<f64>::zeros(grad.raw_dim());
        for (j, num) in numeric.iter_mut().enumerate() {
            let mut at = |delta: f64| {
                let mut params = parameters_mut(&mut model);
                let cell = params[i].1.iter_mut().nth(j).unwrap();
                let old = *cell;
                *cell = old + delta;
                drop(params);
                let l = loss(&model, inputs.view(), targets.view()).unwrap();
                let mut params = parameters_mut(&mut model);
                *params[i].1.iter_mut().nth(j).unwrap() = old;
                l
            };
            *num = (at(h) - at(-h)) / (2.0 * h);
        }
        let max_abs = numeric.iter().fold(0.0f64, |m, &x| m.max(x.abs()));
        let max_err = grad.iter().zip(&numeric).fold(0.0f64, |m, (a, n)| m.max((a - n).abs()));
        assert!(max_abs > 1e-3, "{name}: every tensor of this model has a real gradient");
        let rel = max_err / max_abs;
        println!("{name:24} max|gradient| {max_abs:9.3e}  max|error| {max_err:9.3e}  relative {rel:9.3e}");
        worst.push((name.clone(), rel));
    }
    assert_eq!(n_tensors, 28, "wte, wpe, 12 per block, ln_f");
    let bad: Vec<_> = worst.iter().filter(|(_, rel)| !(*rel < 1e-6)).collect();
    assert!(bad.is_empty(), "relative error >= 1e-6: {bad:?}");
}
