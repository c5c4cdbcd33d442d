//! Position ids from the attention mask (the reference solution of exercise ch09-1).

use ndarray::{Array2, ArrayView2};

// ANCHOR: position_ids
// ANCHOR: position_ids_signature
/// mask: `[batch, seq]` (true = a real token) -> positions `[batch, seq]`: each real token's
/// position is the number of real tokens before it in its row (`cumsum(mask) - 1`), so a row's
/// first real token is at position 0 however much padding precedes it. Padding gets position 1,
/// as transformers' `generate` gives it (any value would do: no query sees a pad).
///
/// ```text
/// mask      [0, 0, 1, 1, 1]      [1, 1, 1, 1, 1]
/// cumsum    [0, 0, 1, 2, 3]      [1, 2, 3, 4, 5]
/// positions [1, 1, 0, 1, 2]      [0, 1, 2, 3, 4]
/// ```
pub fn position_ids(mask: ArrayView2<bool>) -> Array2<usize> {
    // ANCHOR_END: position_ids_signature
    let mut positions = Array2::zeros(mask.dim());
    for (mask_row, mut pos_row) in mask.outer_iter().zip(positions.outer_iter_mut()) {
        let mut seen = 0; // real tokens so far in this row: the running cumsum
        for (&real, pos) in mask_row.iter().zip(pos_row.iter_mut()) {
            if real {
                seen += 1;
                *pos = seen - 1;
            } else {
                *pos = 1;
            }
        }
    }
    positions
}
// ANCHOR_END: position_ids
