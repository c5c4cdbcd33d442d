//! A lookup table: row `i` of the weight is the vector of id `i`.

use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::Float;
use ndarray::{Array2, ArrayView2};

#[derive(Debug, Clone)]
pub struct Embedding<F> {
    pub weight: Array2<F>, // [num_embeddings, dim]
}

impl<F: Float> Embedding<F> {
    pub fn load(ckpt: &Checkpoint, name: &str, num: usize, dim: usize) -> Result<Self> {
        Ok(Embedding {
            weight: ckpt.matrix(name, num, dim)?,
        })
    }

    pub fn num_embeddings(&self) -> usize {
        self.weight.nrows()
    }

    // ANCHOR: lookup
    /// ids: `n` indices -> `[n, dim]`, one row per id.
    pub fn forward(&self, ids: impl IntoIterator<Item = usize>) -> Result<Array2<F>> {
        let rows: Vec<usize> = ids.into_iter().collect();
        let mut out = Array2::zeros((rows.len(), self.weight.ncols()));
        for (mut dst, &id) in out.rows_mut().into_iter().zip(&rows) {
            if id >= self.weight.nrows() {
                return Err(Error::TokenOutOfRange {
                    id: id as u32,
                    vocab_size: self.weight.nrows(),
                });
            }
            dst.assign(&self.weight.row(id));
        }
        Ok(out)
    }
    // ANCHOR_END: lookup

    /// The table as a view, e.g. to reuse it as the tied LM head.
    pub fn view(&self) -> ArrayView2<'_, F> {
        self.weight.view()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn looks_up_rows_and_rejects_out_of_range() {
        let e = Embedding {
            weight: array![[0.0f32, 1.0], [2.0, 3.0], [4.0, 5.0]],
        };
        assert_eq!(e.forward([2, 0, 2]).unwrap(), array![[4.0, 5.0], [0.0, 1.0], [4.0, 5.0]]);
        assert!(matches!(e.forward([3]), Err(Error::TokenOutOfRange { id: 3, vocab_size: 3 })));
    }
}
