//! The model's parameters as one list, and the gradients as a model of the same shape.
//!
//! A gradient has exactly the shape of the parameter it belongs to, so the gradients of a
//! whole model are held in a second [`Gpt`] ([`Gradients`]), all zeros before a backward
//! pass. The optimiser walks both with [`parameters_mut`], in the same order.

use ch04_gpt::{Block, Gpt};
use ndarray::ArrayViewMutD;
use shared::{Float, LayerNorm, Linear};

/// dLoss/dparameter for every parameter of a model: a model-shaped struct (`grads.ln_f.bias`
/// is the gradient of `model.ln_f.bias`).
pub type Gradients<F> = Gpt<F>;

/// One parameter tensor: its Hugging Face GPT-2 name (without the `transformer.` prefix) and
/// its values.
pub type Parameter<'a, F> = (String, ArrayViewMutD<'a, F>);

// ANCHOR: parameters_mut
/// Every parameter tensor of the model, in a fixed order: `wte`, `wpe`, each block's `ln_1`,
/// `attn.c_attn`, `attn.c_proj`, `ln_2`, `mlp.c_fc`, `mlp.c_proj`, then `ln_f`. The tied LM
/// head is `wte` and is listed once.
///
/// Linear weights are `[out, in]` here; Hugging Face's `Conv1D` stores them `[in, out]`
/// ([`is_conv1d_weight`]).
pub fn parameters_mut<F: Float>(model: &mut Gpt<F>) -> Vec<Parameter<'_, F>> {
    let mut out: Vec<Parameter<'_, F>> = vec![
        ("wte.weight".into(), model.embeddings.wte.weight.view_mut().into_dyn()),
        ("wpe.weight".into(), model.embeddings.wpe.weight.view_mut().into_dyn()),
    ];
    for (i, block) in model.blocks.iter_mut().enumerate() {
        let Block { ln_1, attn, ln_2, mlp } = block;
        push_layer_norm(&mut out, format!("h.{i}.ln_1"), ln_1);
        push_linear(&mut out, format!("h.{i}.attn.c_attn"), &mut attn.c_attn);
        push_linear(&mut out, format!("h.{i}.attn.c_proj"), &mut attn.c_proj);
        push_layer_norm(&mut out, format!("h.{i}.ln_2"), ln_2);
        push_linear(&mut out, format!("h.{i}.mlp.c_fc"), &mut mlp.c_fc);
        push_linear(&mut out, format!("h.{i}.mlp.c_proj"), &mut mlp.c_proj);
    }
    push_layer_norm(&mut out, "ln_f".into(), &mut model.ln_f);
    out
}
// ANCHOR_END: parameters_mut

fn push_layer_norm<'a, F: Float>(out: &mut Vec<Parameter<'a, F>>, name: String, ln: &'a mut LayerNorm<F>) {
    out.push((format!("{name}.weight"), ln.weight.view_mut().into_dyn()));
    out.push((format!("{name}.bias"), ln.bias.view_mut().into_dyn()));
}

fn push_linear<'a, F: Float>(out: &mut Vec<Parameter<'a, F>>, name: String, linear: &'a mut Linear<F>) {
    out.push((format!("{name}.weight"), linear.weight.view_mut().into_dyn()));
    if let Some(bias) = &mut linear.bias {
        out.push((format!("{name}.bias"), bias.view_mut().into_dyn()));
    }
}

/// Whether Hugging Face stores this tensor transposed (`Conv1D`, `[in, out]`) relative to
/// this workspace (`[out, in]`).
pub fn is_conv1d_weight(name: &str) -> bool {
    name.ends_with(".weight") && [".c_attn.", ".c_proj.", ".c_fc."].iter().any(|l| name.contains(l))
}

/// A model of zeros with the shape of `model`: where a backward pass adds its gradients.
pub fn zeros_like<F: Float>(model: &Gpt<F>) -> Gradients<F> {
    let mut grads = model.clone();
    for (_, mut tensor) in parameters_mut(&mut grads) {
        tensor.fill(F::zero());
    }
    grads
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::GptConfig;

    #[test]
    fn the_list_covers_every_parameter_once() {
        let config = GptConfig::gpt2_like(11, 8, 8, 2, 2);
        let mut model = Gpt::<f64>::random(&config, 1).unwrap();
        let params = parameters_mut(&mut model);
        let count: usize = params.iter().map(|(_, t)| t.len()).sum();
        assert_eq!(count, config.n_params()); // chapter 4's independent count
        assert_eq!(params.len(), 2 + 12 * 2 + 2);
        let names: std::collections::BTreeSet<_> = params.iter().map(|(n, _)| n.clone()).collect();
        assert_eq!(names.len(), params.len(), "names are distinct");
        assert!(is_conv1d_weight("h.1.mlp.c_proj.weight") && !is_conv1d_weight("h.1.mlp.c_proj.bias"));
        assert!(!is_conv1d_weight("wte.weight"));
    }
}
