//! The causal mask: a token may look at itself and at earlier tokens, never later ones.

use crate::error::{Error, Result};
use crate::Float;
use ndarray::Array2;

// ANCHOR: causal_mask
/// Additive causal mask, `[q_len, kv_len]`: `0` where query `i` may attend to key `j`,
/// `-inf` where it may not.
///
/// The queries are the **last** `q_len` of the `kv_len` positions: query `i` sits at absolute
/// position `offset + i` with `offset = kv_len - q_len` (the number of tokens already in the
/// KV cache), and may see keys `j <= offset + i`. Without a cache, `offset = 0` and this is the
/// usual lower triangle. Slicing a square mask as `[:q_len, :q_len]` instead is the classic bug
/// a chunk of several new tokens meets when a cache already holds tokens.
pub fn causal_mask<F: Float>(q_len: usize, kv_len: usize) -> Result<Array2<F>> {
    if q_len > kv_len {
        return Err(Error::Shape {
            op: "causal_mask",
            expected: format!("q_len <= kv_len ({kv_len})"),
            found: format!("q_len = {q_len}"),
        });
    }
    let offset = kv_len - q_len;
    Ok(Array2::from_shape_fn((q_len, kv_len), |(i, j)| {
        if j <= offset + i {
            F::zero()
        } else {
            F::neg_infinity()
        }
    }))
}
// ANCHOR_END: causal_mask

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(m: &Array2<f32>) -> Vec<String> {
        m.rows()
            .into_iter()
            .map(|r| r.iter().map(|&v| if v == 0.0 { '1' } else { '0' }).collect())
            .collect()
    }

    #[test]
    fn square_mask_is_lower_triangle() {
        let m = causal_mask::<f32>(3, 3).unwrap();
        assert_eq!(pattern(&m), ["100", "110", "111"]);
    }

    #[test]
    fn offset_mask_for_a_chunk_meeting_a_cache() {
        // 2 tokens cached, 3 new: the new ones are positions 2, 3, 4.
        let m = causal_mask::<f32>(3, 5).unwrap();
        assert_eq!(pattern(&m), ["11100", "11110", "11111"]);
        // one new token sees everything
        let m = causal_mask::<f32>(1, 5).unwrap();
        assert_eq!(pattern(&m), ["11111"]);
    }

    #[test]
    fn more_queries_than_keys_is_an_error() {
        assert!(causal_mask::<f32>(4, 3).is_err());
    }
}
