//! Generation that continues from a loaded cache: chapter 4's loop, unchanged, over a model
//! whose caches already hold the context.

use ch04_gpt::NextToken;
use ch08_kv_cache::{KvModel, WithCaches};
use ndarray::Array1;
use shared::{Error, Result};

// ANCHOR: resumed
/// A model whose caches hold `cached` (the ids loaded from a file). Chapter 4's `generate` on
/// `cached ++ question` then feeds only the question and the new tokens; a prompt that does
/// not start with `cached` is an error, never an answer about another context.
pub struct Resumed<'a, M: WithCaches> {
    pub model: &'a mut KvModel<M>,
    pub cached: Vec<u32>,
}

impl<M: WithCaches> NextToken<M::Float> for Resumed<'_, M> {
    fn next_logits(&mut self, tokens: &[u32]) -> Result<Array1<M::Float>> {
        if !tokens.starts_with(&self.cached) {
            return Err(Error::InvalidArgument(format!(
                "the prompt does not start with the {} cached tokens",
                self.cached.len()
            )));
        }
        self.model.next_logits(tokens) // chapter 8: feeds tokens[current_pos()..] only
    }

    /// No reset: the loaded caches are the point (chapter 8's `start` would empty them).
    fn start(&mut self) -> Result<()> {
        Ok(())
    }

    fn context_length(&self) -> usize {
        NextToken::context_length(&*self.model)
    }
}
// ANCHOR_END: resumed
