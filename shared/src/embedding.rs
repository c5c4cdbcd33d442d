//! A lookup table: row `i` of the weight is the vector of id `i`.

use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::half_matrix::HalfMatrix;
use crate::huge_pages::onto_huge_pages;
use crate::linear::{gemv_half_into, linear, linear_half, read_half, widen_rows};
use crate::Float;
use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut1};

#[derive(Debug, Clone)]
pub struct Embedding<F> {
    /// `[num_embeddings, dim]`; empty (`[0, 0]`) when the table is kept in 16 bits.
    pub weight: Array2<F>,
    /// The table as a bf16/f16 checkpoint stored it, when loaded from a
    /// [`Checkpoint::keeping_16_bit`]: a lookup widens one row.
    half: Option<HalfMatrix>,
}

impl<F: Float> Embedding<F> {
    /// A table from its rows, `[num_embeddings, dim]`.
    pub fn new(weight: Array2<F>) -> Self {
        let weight = onto_huge_pages(weight); // a tied head streams it once a token
        Embedding { weight, half: None }
    }

    pub fn load(ckpt: &Checkpoint, name: &str, num: usize, dim: usize) -> Result<Self> {
        Ok(match read_half(ckpt, name, num, dim)? {
            Some(half) => Embedding { weight: Array2::zeros((0, 0)), half: Some(half) },
            None => Embedding::new(ckpt.matrix(name, num, dim)?),
        })
    }

    pub fn num_embeddings(&self) -> usize {
        self.half.as_ref().map_or(self.weight.nrows(), HalfMatrix::nrows)
    }

    /// The width of a row.
    pub fn dim(&self) -> usize {
        self.half.as_ref().map_or(self.weight.ncols(), HalfMatrix::ncols)
    }

    /// The 16-bit table, when it is kept so (else the table is [`Embedding::weight`]).
    pub fn half(&self) -> Option<&HalfMatrix> {
        self.half.as_ref()
    }

    /// Row `id`, written into `out` (`[dim]`), or [`Error::TokenOutOfRange`].
    pub fn row_into(&self, id: usize, out: &mut [F]) -> Result<()> {
        let vocab_size = self.num_embeddings();
        if id >= vocab_size {
            return Err(Error::TokenOutOfRange { id: id as u32, vocab_size });
        }
        match &self.half {
            Some(h) => out.iter_mut().zip(h.row(id)).for_each(|(o, &b)| *o = F::cast_f32(h.format().widen(b))),
            None => out.copy_from_slice(self.weight.row(id).as_slice().expect("a table in standard layout")),
        }
        Ok(())
    }

    /// Row `id` (in range): a view of the f32/f64 table, or the 16-bit row widened.
    fn row(&self, id: usize) -> ndarray::CowArray<'_, F, ndarray::Ix1> {
        match &self.half {
            Some(h) => ndarray::CowArray::from(h.row(id).iter().map(|&b| F::cast_f32(h.format().widen(b))).collect::<ndarray::Array1<F>>()),
            None => ndarray::CowArray::from(self.weight.row(id)),
        }
    }

    /// The table as the tied LM head: `h . table^T`, h `[n, dim]` -> `[n, num_embeddings]`.
    pub fn logits(&self, h: ArrayView2<F>) -> Result<Array2<F>> {
        match &self.half {
            Some(w) => linear_half(h, w, None),
            None => linear(h, self.weight.view(), None),
        }
    }

    /// [`Embedding::logits`] of one row, into `out` (`[num_embeddings]`).
    pub fn logits_into(&self, h: &[F], out: &mut [F]) {
        match &self.half {
            Some(w) => gemv_half_into(w, h, out),
            None => crate::gemv::gemv(self.weight.view(), ArrayView1::from(h), ArrayViewMut1::from(out)),
        }
    }

    // ANCHOR: lookup
    /// ids: `n` indices -> `[n, dim]`, one row per id.
    pub fn forward(&self, ids: impl IntoIterator<Item = usize>) -> Result<Array2<F>> {
        let rows: Vec<usize> = ids.into_iter().collect();
        let mut out = Array2::zeros((rows.len(), self.dim()));
        for (mut dst, &id) in out.rows_mut().into_iter().zip(&rows) {
            if id >= self.num_embeddings() {
                return Err(Error::TokenOutOfRange {
                    id: id as u32,
                    vocab_size: self.num_embeddings(),
                });
            }
            dst.assign(&self.row(id));
        }
        Ok(out)
    }
    // ANCHOR_END: lookup

    /// The f32/f64 table as a view (empty when it is kept in 16 bits: see
    /// [`Embedding::weight_f32`]).
    pub fn view(&self) -> ArrayView2<'_, F> {
        self.weight.view()
    }

    /// The f32/f64 table, or [`Error::NeedsF32Weights`] naming `op` when it is kept in 16 bits.
    pub fn weight_f32(&self, op: &'static str) -> Result<ArrayView2<'_, F>> {
        match &self.half {
            Some(h) => Err(Error::NeedsF32Weights { op, format: h.format().name() }),
            None => Ok(self.weight.view()),
        }
    }

    /// The table as `F` (the 16-bit table widened, exactly, into a new matrix), e.g. to save it.
    pub fn weight_widened(&self) -> ndarray::CowArray<'_, F, ndarray::Ix2> {
        match &self.half {
            Some(h) => ndarray::CowArray::from(widen_rows(h, 0..h.nrows())),
            None => ndarray::CowArray::from(self.weight.view()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn looks_up_rows_and_rejects_out_of_range() {
        let e = Embedding::new(array![[0.0f32, 1.0], [2.0, 3.0], [4.0, 5.0]]);
        assert_eq!(e.forward([2, 0, 2]).unwrap(), array![[4.0, 5.0], [0.0, 1.0], [4.0, 5.0]]);
        assert!(matches!(e.forward([3]), Err(Error::TokenOutOfRange { id: 3, vocab_size: 3 })));
    }
}
