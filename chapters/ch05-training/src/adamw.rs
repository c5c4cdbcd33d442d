//! AdamW (Loshchilov and Hutter, "Decoupled Weight Decay Regularization"), with the semantics
//! of PyTorch's `torch.optim.AdamW`.

use crate::parameters::{parameters_mut, Gradients};
use ch04_gpt::Gpt;
use ndarray::{ArrayD, Zip};
use shared::{Error, Float, Result};

/// The optimiser's settings and its running averages (one pair per parameter tensor).
///
/// Weight decay applies to the tensors of two or more dimensions (the embeddings and every
/// linear weight), not to biases and layer-norm weights, as in nanoGPT and llm.c's CUDA
/// trainer; PyTorch does the same given two parameter groups, which is how the parity fixture
/// calls it.
#[derive(Debug, Clone)]
pub struct AdamW<F> {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    step: u64,
    m: Vec<ArrayD<F>>, // first moment (mean of the gradients), one per parameter tensor
    v: Vec<ArrayD<F>>, // second moment (mean of the squared gradients)
}

impl<F: Float> AdamW<F> {
    /// PyTorch's defaults for the rest: betas (0.9, 0.999), eps 1e-8.
    pub fn new(lr: f64, weight_decay: f64) -> Self {
        AdamW { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay, step: 0, m: vec![], v: vec![] }
    }

    /// Number of updates done so far.
    pub fn steps_done(&self) -> u64 {
        self.step
    }

    // ANCHOR: adamw_step
    /// One update of every parameter of `model` from its gradient in `grads`, step t = 1, 2, ...:
    ///
    /// ```text
    /// p = p * (1 - lr * weight_decay)            decoupled decay (2-D tensors only)
    /// m = beta1 m + (1 - beta1) g                running mean of g
    /// v = beta2 v + (1 - beta2) g^2              running mean of g^2
    /// p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    /// ```
    ///
    /// The bias corrections `1 - beta^t` undo the start of m and v at zero; eps is added after
    /// the square root. The order of operations is PyTorch's (`_single_tensor_adam`).
    pub fn step(&mut self, model: &mut Gpt<F>, grads: &mut Gradients<F>) -> Result<()> {
        let params = parameters_mut(model);
        let grads = parameters_mut(grads);
        if params.len() != grads.len() || params.iter().zip(&grads).any(|((_, p), (_, g))| p.shape() != g.shape()) {
            return Err(Error::InvalidArgument("the gradients do not have the model's shape".into()));
        }
        if self.m.is_empty() {
            self.m = params.iter().map(|(_, p)| ArrayD::zeros(p.raw_dim())).collect();
            self.v = self.m.clone();
        }
        self.step += 1;
        let t = self.step as i32;
        let bias_correction1 = 1.0 - self.beta1.powi(t);
        let bias_correction2_sqrt = (1.0 - self.beta2.powi(t)).sqrt();
        let step_size = F::cast(self.lr / bias_correction1);
        let (one_minus_beta1, beta2, one_minus_beta2) = (F::cast(1.0 - self.beta1), F::cast(self.beta2), F::cast(1.0 - self.beta2));
        let (eps, bc2_sqrt) = (F::cast(self.eps), F::cast(bias_correction2_sqrt));
        let decay = F::cast(1.0 - self.lr * self.weight_decay);
        for (((_, mut p), (_, g)), (m, v)) in params.into_iter().zip(grads).zip(self.m.iter_mut().zip(&mut self.v)) {
            if p.ndim() >= 2 && self.weight_decay != 0.0 {
                p *= decay;
            }
            Zip::from(&mut p).and(&g).and(m).and(v).par_for_each(|p, &g, m, v| {
                *m += one_minus_beta1 * (g - *m); // PyTorch's lerp: m + (1 - beta1) (g - m)
                *v = *v * beta2 + one_minus_beta2 * g * g;
                let denom = v.sqrt() / bc2_sqrt + eps;
                *p -= step_size * (*m / denom);
            });
        }
        Ok(())
    }
    // ANCHOR_END: adamw_step
}
