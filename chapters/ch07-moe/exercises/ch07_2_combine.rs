//! Exercise ch07-2: the weighted combine.
//!
//! An expert has run on the tokens that chose it: row `i` of its output belongs to token
//! `rows[i]`. Each of those tokens adds the expert's output, times the weight the router gave
//! that expert for that token, to its own row of the layer's output. After every expert has
//! done so, each token's row holds the weighted sum of its chosen experts' outputs.
//!
//! With `--features ex-ch07-2` this file replaces `src/experts/combine.rs`.
//! Check it: `cargo run -p exercises -- check ch07-2`. Stuck: `cargo run -p exercises -- hint ch07-2`.
#![allow(unused_variables, unused_imports)] // nothing is used yet: delete this line when done

use ndarray::{Array2, ArrayView2};
use shared::Float;

/// Add one expert's outputs into the layer's output: row `i` of `expert_out` belongs to token
/// `rows[i]`, which gives this expert the weight `weights[i]`, so
/// `out[rows[i]] += weights[i] * expert_out[i]` for every `i`.
pub fn add_weighted<F: Float>(out: &mut Array2<F>, rows: &[usize], weights: &[F], expert_out: ArrayView2<F>) {
    // TODO: for every i, add weights[i] times row i of expert_out to row rows[i] of out.
    // The other rows of out stay as they are.
    todo!("ch07-2: add each weighted expert output into its token's row")
}
