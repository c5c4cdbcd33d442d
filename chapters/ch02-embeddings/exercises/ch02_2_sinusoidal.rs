//! Exercise ch02-2: the sinusoidal position table of the original Transformer.
//!
//! Instead of learning a vector per position, "Attention Is All You Need" computes one: pairs of
//! columns hold the sine and cosine of the position at a frequency that falls from 1 (the first
//! pair) to about 1/10000 (the last). Near positions get similar vectors, far ones less so.
//!
//! With `--features ex-ch02-2` this file replaces `src/sinusoidal.rs`.
//! Check it: `cargo run -p exercises -- check ch02-2`. Stuck: `cargo run -p exercises -- hint ch02-2`.
#![allow(unused_variables, unused_imports)] // nothing is used yet: delete this line when done

use ndarray::Array2;
use shared::Float;

/// The sinusoidal position table, `[n_positions, d_model]`:
/// column `2i` is `sin(p * w_i)` and column `2i + 1` is `cos(p * w_i)`, with
/// `w_i = 10000^(-2i / d_model)` (the frequency falls from 1 to about 1/10000 across the columns).
pub fn sinusoidal_positions<F: Float>(n_positions: usize, d_model: usize) -> Array2<F> {
    // TODO: build the [n_positions, d_model] table entry by entry: for row p and column col,
    // i = col / 2, w_i = 10000^(-2i / d_model), then sin(p * w_i) in even columns and
    // cos(p * w_i) in odd ones. Compute in f64 and convert with F::cast.
    todo!("ch02-2: the table of sin(p * w_i) and cos(p * w_i), w_i = 10000^(-2i/d_model)")
}
