//! Exercise ch02-1: token + position embeddings, positions starting at `start_pos`.
//!
//! Every id becomes the sum of two table rows: its token vector `wte[id]` and the vector of the
//! position it stands at, `wpe[p]`. The first id of `ids` stands at position `start_pos`
//! (0 without a cache; chapter 8 passes the number of tokens already cached).
//!
//! With `--features ex-ch02-1` this file replaces `src/forward.rs`.
//! Check it: `cargo run -p exercises -- check ch02-1`. Stuck: `cargo run -p exercises -- hint ch02-1`.
#![allow(unused_variables, unused_imports)] // nothing is used yet: delete this line when done

use crate::GptEmbeddings;
use ndarray::{Array3, ArrayView2};
use shared::{Error, Float, Result};

impl<F: Float> GptEmbeddings<F> {
    /// ids: `[batch, seq]`, the first at absolute position `start_pos`
    /// -> `[batch, seq, d_model]` = wte[ids] + wpe[start_pos .. start_pos + seq]
    pub fn forward(&self, ids: ArrayView2<u32>, start_pos: usize) -> Result<Array3<F>> {
        // TODO: return x with x[[b, s, ..]] = wte row ids[[b, s]] + wpe row (start_pos + s).
        // If start_pos + seq is more than self.context_length(), return
        // Err(Error::ContextOverflow { len: start_pos + seq, context_length }).
        // self.wte.forward(ids) and self.wpe.forward(positions) look rows up (and reject an
        // id that is out of range).
        todo!("ch02-1: wte[ids] + wpe[start_pos .. start_pos + seq], with the context checked")
    }
}
