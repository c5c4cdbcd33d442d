//! Exercise ch08-4: cached decoding: feed the model only the tokens its cache has not seen.
//!
//! With `--features ex-ch08-4` this file replaces `src/kv_model/next_token.rs`.
//! Check it: `cargo run -p exercises -- check ch08-4`. Stuck: `cargo run -p exercises -- hint ch08-4`.
#![allow(unused_imports, unused_variables)] // nothing is used yet: delete this line when done

use super::{KvModel, WithCaches};
use ch04_gpt::NextToken;
use ndarray::{Array1, ArrayView2, Axis};
use shared::{Error, Result};

impl<M: WithCaches> NextToken<M::Float> for KvModel<M> {
    /// tokens: the prompt and everything generated so far -> logits of the next token `[vocab_size]`.
    fn next_logits(&mut self, tokens: &[u32]) -> Result<Array1<M::Float>> {
        // TODO: the caches already hold the first self.current_pos()? tokens. Feed only the
        // rest through self.forward_last with the cache, in pieces of
        // self.prefill_chunk tokens when it is Some (all at once when None), and return the
        // last piece's logits as `[vocab_size]`. If no token is new, return
        // Err(Error::InvalidArgument(..)) saying to call reset_kv_cache() for a new prompt.
        todo!("ch08-4: feed the tokens after the cached ones to forward_last with the cache; return the last logits")
    }

    // given: a new prompt starts from empty caches at position 0
    fn start(&mut self) -> Result<()> {
        self.reset_kv_cache();
        Ok(())
    }

    fn context_length(&self) -> usize {
        self.model.context_length()
    }
}
