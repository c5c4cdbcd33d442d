//! Batches of training data in llm.c's order.
//!
//! The data is one long stream of token ids. Batch k takes the B·T + 1 tokens starting at
//! k·B·T: the first B·T are the inputs, the same shifted by one are the targets (each
//! position's next token), both read as `[B, T]`. The next batch starts where this one's
//! inputs ended. When the stream has no room for another batch it starts again from the
//! beginning (a new epoch). Nothing is shuffled.

use ndarray::{Array2, ArrayView2};
use shared::{Error, Result};

/// The batches of a token stream, `batch` sequences of `seq` tokens each.
#[derive(Debug, Clone)]
pub struct Batches<'a> {
    tokens: &'a [u32],
    batch: usize,
    seq: usize,
}

impl<'a> Batches<'a> {
    /// An error unless the stream holds at least one batch, `batch * seq + 1` tokens.
    pub fn new(tokens: &'a [u32], batch: usize, seq: usize) -> Result<Self> {
        let needed = batch * seq + 1;
        if batch == 0 || seq == 0 {
            return Err(Error::InvalidArgument("batch size and sequence length must be at least 1".into()));
        }
        if tokens.len() < needed {
            return Err(Error::InvalidArgument(format!(
                "too little data: {} tokens, but one batch of {batch} x {seq} needs {needed} (B·T inputs and one more for the last target)",
                tokens.len()
            )));
        }
        Ok(Batches { tokens, batch, seq })
    }

    /// Batches before the stream starts again.
    pub fn per_epoch(&self) -> usize {
        (self.tokens.len() - 1) / (self.batch * self.seq)
    }

    // ANCHOR: batch
    /// Batch `k` (counting on through every epoch): (inputs, targets), each `[batch, seq]`.
    pub fn get(&self, k: usize) -> (ArrayView2<'a, u32>, ArrayView2<'a, u32>) {
        let n = self.batch * self.seq;
        let start = (k % self.per_epoch()) * n;
        let tokens = &self.tokens[start..start + n + 1]; // B·T + 1 tokens
        let shape = (self.batch, self.seq);
        let inputs = ArrayView2::from_shape(shape, &tokens[..n]).expect("B·T tokens");
        let targets = ArrayView2::from_shape(shape, &tokens[1..]).expect("B·T tokens");
        (inputs, targets)
    }
    // ANCHOR_END: batch

    /// Batch `k` as owned arrays.
    pub fn get_owned(&self, k: usize) -> (Array2<u32>, Array2<u32>) {
        let (x, y) = self.get(k);
        (x.to_owned(), y.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn llm_c_order_shifted_targets_and_wrap() {
        let tokens: Vec<u32> = (0..14).collect(); // 14 tokens, B=2, T=3: 13 / 6 = 2 batches
        let b = Batches::new(&tokens, 2, 3).unwrap();
        assert_eq!(b.per_epoch(), 2);
        let (x, y) = b.get(1);
        assert_eq!(x, array![[6, 7, 8], [9, 10, 11]]);
        assert_eq!(y, array![[7, 8, 9], [10, 11, 12]]);
        assert_eq!(b.get(2), b.get(0));
        assert_eq!(b.get(0).0, array![[0, 1, 2], [3, 4, 5]]);
        let err = Batches::new(&tokens[..6], 2, 3).unwrap_err().to_string();
        assert!(err.contains("too little data: 6 tokens") && err.contains("needs 7"), "{err}");
        assert!(Batches::new(&tokens[..7], 2, 3).is_ok());
    }
}
