//! Exercise ch09-1: position ids from the attention mask.
//!
//! A left-padded row `[pad, pad, The, cat]` must give `The` position 0 and `cat` position 1,
//! exactly as if the prompt were alone: position ids count the real tokens, not the columns.
//!
//! With `--features ex-ch09-1` this file replaces `src/position_ids.rs`.
//! Check it: `cargo run -p exercises -- check ch09-1`. Stuck: `cargo run -p exercises -- hint ch09-1`.
#![allow(unused_variables, unused_imports)] // nothing is used yet: delete this line when done

use ndarray::{Array2, ArrayView2};

/// mask: `[batch, seq]` (true = a real token) -> positions `[batch, seq]`: a real token's
/// position is the number of real tokens before it in its row (`cumsum(mask) - 1`); a pad
/// token's position is 1 (what transformers gives it).
pub fn position_ids(mask: ArrayView2<bool>) -> Array2<usize> {
    // TODO: for every row, a running count of the real tokens; each real token gets the count
    // of those before it, each pad token gets 1.
    todo!("ch09-1: position ids from the mask, cumsum - 1")
}
