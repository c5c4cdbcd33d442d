//! Cached decoding through chapter 4's `NextToken` trait (the reference solution of exercise
//! ch08-4).

use super::{KvModel, WithCaches};
use ch04_gpt::NextToken;
use ndarray::{Array1, ArrayView2, Axis};
use shared::{Error, Result};

// ANCHOR: next_token
// ANCHOR: next_token_signature
/// Cached decoding: feed only the tokens the caches have not seen.
impl<M: WithCaches> NextToken<M::Float> for KvModel<M> {
    fn next_logits(&mut self, tokens: &[u32]) -> Result<Array1<M::Float>> {
        // ANCHOR_END: next_token_signature
        let cached = self.current_pos()?;
        if tokens.len() <= cached {
            return Err(Error::InvalidArgument(format!(
                "{} tokens given but {cached} are already cached: call reset_kv_cache() for a new prompt",
                tokens.len()
            )));
        }
        let new = &tokens[cached..]; // the whole prompt first, then one token a step
        let chunk = self.prefill_chunk.unwrap_or(new.len()).max(1);
        let mut last = None;
        for piece in new.chunks(chunk) {
            let ids = ArrayView2::from_shape((1, piece.len()), piece).expect("one row"); // [1, t]
            last = Some(self.forward_last(ids, true)?); // [1, vocab]
        }
        Ok(last.expect("at least one new token").index_axis_move(Axis(0), 0))
    }

    fn start(&mut self) -> Result<()> {
        self.reset_kv_cache(); // a new prompt never sees the last one's keys and values
        Ok(())
    }

    fn context_length(&self) -> usize {
        self.model.context_length()
    }
}
// ANCHOR_END: next_token
