//! The decode step without the gather: one query per row attends over its sequence's keys and
//! values where they are, block by block through the table, as vLLM's PagedAttention kernel does.

use crate::block_pool::BlockId;
use crate::paged_cache::PagedKvStore;
use ch03_attention::{merge_heads, MultiHeadAttention};
use ch06_llama_qwen::RotaryAttention;
use ndarray::parallel::prelude::*;
use ndarray::{s, Array3, Array4, ArrayView4, ArrayViewMut1, Axis};
use shared::gemv::dot_kernel;
use shared::parallel::ATTENTION_MIN_WORK;
use shared::softmax::softmax_inplace;
use shared::{Float, Result};

/// An attention whose core is chapter 3's (its heads and its output projection): GPT-2's, and
/// chapter 6's rotary attention (which rotates q and k before they get here).
pub trait Chapter3Core<F> {
    fn core(&self) -> &MultiHeadAttention<F>;
}

impl<F> Chapter3Core<F> for MultiHeadAttention<F> {
    fn core(&self) -> &MultiHeadAttention<F> {
        self
    }
}

impl<F> Chapter3Core<F> for RotaryAttention<F> {
    fn core(&self) -> &MultiHeadAttention<F> {
        &self.mha
    }
}

// ANCHOR: one_query_through_table
/// One query head `q` (`[head_dim]`) over the first `len` positions of kv head `kv_head`, read
/// block by block: `out = softmax(K q * scale) V`, the same sum as chapter 3's, in the same order.
fn one_query_through_table<F: Float>(q: &[F], store: &PagedKvStore<F>, kv_head: usize, blocks: &[BlockId], len: usize, scale: F, out: &mut [F]) {
    let (bs, head_dim, dot) = (store.block_size(), q.len(), dot_kernel::<F>());
    // the rows of each block that the sequence fills: [rows, head_dim] each, contiguous
    let runs = || blocks.iter().enumerate().take(len.div_ceil(bs)).map(move |(i, &b)| (b, bs.min(len - i * bs)));
    let mut scores: Vec<F> = Vec::with_capacity(len); // [len]
    for (block, rows) in runs() {
        let keys = store.rows(block, kv_head, rows, false);
        scores.extend(keys.chunks_exact(head_dim).map(|k_j| dot(k_j, q) * scale));
    }
    softmax_inplace(ArrayViewMut1::from(&mut scores[..]));
    out.fill(F::zero());
    let mut p = scores.iter();
    for (block, rows) in runs() {
        for (v_j, &p_j) in store.rows(block, kv_head, rows, true).chunks_exact(head_dim).zip(&mut p) {
            out.iter_mut().zip(v_j).for_each(|(o, &x)| *o += p_j * x); // out += p_j v_j
        }
    }
}
// ANCHOR_END: one_query_through_table

/// A decode step of `batch` rows: q `[batch, n_heads, 1, head_dim]`, row `b` over its own table
/// `tables[b]` -> `[batch, 1, d_model]` after chapter 3's merge of the heads and output projection.
pub fn decode_through_tables<F: Float>(core: &MultiHeadAttention<F>, q: ArrayView4<F>, store: &PagedKvStore<F>, tables: &[(Vec<BlockId>, usize)]) -> Result<Array3<F>> {
    let (batch, n_heads, _, head_dim) = q.dim();
    let group = n_heads / core.n_kv_heads; // query heads per kv head
    let scale = F::one() / F::cast(head_dim as f64).sqrt();
    let mut context = Array4::zeros((batch, n_heads, 1, head_dim)); // [batch, n_heads, 1, head_dim]
    let one_head = |i: usize, mut out: ndarray::ArrayViewMut3<F>| {
        let (b, h) = (i / n_heads, i % n_heads);
        let q_bh = q.slice(s![b, h, 0, ..]).to_vec();
        let (blocks, len) = &tables[b];
        let out = out.as_slice_mut().expect("a fresh array");
        one_query_through_table(&q_bh, store, h / group, blocks, *len, scale, out);
    };
    let mut heads = context.view_mut().into_shape_with_order((batch * n_heads, 1, head_dim)).expect("fresh array");
    let work: usize = tables.iter().map(|(_, len)| len).sum::<usize>() * n_heads * head_dim;
    if work >= ATTENTION_MIN_WORK {
        heads.axis_iter_mut(Axis(0)).into_par_iter().enumerate().for_each(|(i, o)| one_head(i, o.insert_axis(Axis(0))));
    } else {
        heads.axis_iter_mut(Axis(0)).enumerate().for_each(|(i, o)| one_head(i, o.insert_axis(Axis(0))));
    }
    let merged = merge_heads(context.view()); // [batch, 1, n_heads * head_dim]
    let flat = merged.into_shape_with_order((batch, n_heads * head_dim)).expect("contiguous");
    let out = core.c_proj.forward(flat.view())?; // [batch, d_model]
    let d_model = out.ncols();
    Ok(out.into_shape_with_order((batch, 1, d_model)).expect("contiguous"))
}
