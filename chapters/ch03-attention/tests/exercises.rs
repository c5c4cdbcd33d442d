//! The chapter's exercises, checked against independent truths (index formulas written out by
//! hand). `cargo test -p ch03-attention --features exercises` runs them on your stubs;
//! without the feature they test the reference code. See `exercises/info.toml`.

use ch03_attention::{merge_heads, split_heads};
use ndarray::{s, Array2, Array4};

/// x[[row, col]] = 100 * row + col, so every value says where it came from.
fn numbered(rows: usize, cols: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |(r, c)| (100 * r + c) as f64)
}

/// Check `heads` against the definition of splitting, entry by entry:
/// heads[[b, h, s, d]] == x[[b * seq + s, h * head_dim + d]].
fn check_split(x: &Array2<f64>, batch: usize, n_heads: usize, heads: &Array4<f64>) {
    let (rows, width) = x.dim();
    let (seq, head_dim) = (rows / batch, width / n_heads);
    assert_eq!(
        heads.shape(),
        &[batch, n_heads, seq, head_dim],
        "exercise ch03-1: splitting a [{rows}, {width}] matrix with batch {batch} into {n_heads} heads \
         should give shape [batch {batch}, heads {n_heads}, seq {seq}, head_dim {head_dim}]"
    );
    for ((b, h, t, d), &got) in heads.indexed_iter() {
        let (row, col) = (b * seq + t, h * head_dim + d);
        let want = x[[row, col]];
        assert!(
            got == want,
            "exercise ch03-1: batch {b}, head {h}, position {t}, dim {d} should be row {row} \
             (batch {b} position {t}) and column {col} (head {h} starts at column {}) of the input, \
             which holds {want}; it holds {got}",
            h * head_dim
        );
    }
}

// ANCHOR: ch03_1_heads_are_column_blocks_of_each_token_row
#[test]
fn ch03_1_heads_are_column_blocks_of_each_token_row() {
    // batch 2, seq 3, 2 heads of width 2
    let x = numbered(6, 4);
    check_split(&x, 2, 2, &split_heads(x.view(), 2, 2));
    // batch 1, seq 2, 3 heads of width 1 (head_dim 1: each head is one column)
    let x = numbered(2, 3);
    check_split(&x, 1, 3, &split_heads(x.view(), 1, 3));
}
// ANCHOR_END: ch03_1_heads_are_column_blocks_of_each_token_row

#[test]
fn ch03_1_a_column_slice_of_the_fused_qkv_splits_too() {
    // project_qkv hands split_heads the keys as columns 4..8 of a wider matrix: not contiguous
    let qkv = numbered(4, 12);
    let k = qkv.slice(s![.., 4..8]);
    let heads = split_heads(k, 2, 2);
    check_split(&k.to_owned(), 2, 2, &heads);
    assert!(
        heads.is_standard_layout(),
        "exercise ch03-1: the result should be in standard (row-major) layout, so the attention \
         that reads it row by row is fast; call .as_standard_layout() or build a fresh array"
    );
}

// ANCHOR: ch03_2_merge_puts_each_tokens_heads_side_by_side
#[test]
fn ch03_2_merge_puts_each_tokens_heads_side_by_side() {
    // batch 2, 3 heads, seq 2, head_dim 2: value = 1000 b + 100 h + 10 s + d
    let (batch, n_heads, seq, head_dim) = (2, 3, 2, 2);
    let x = Array4::from_shape_fn((batch, n_heads, seq, head_dim), |(b, h, t, d)| {
        (1000 * b + 100 * h + 10 * t + d) as f64
    });
    let merged = merge_heads(x.view());
    assert_eq!(
        merged.shape(),
        &[batch, seq, n_heads * head_dim],
        "exercise ch03-2: merging [batch 2, heads 3, seq 2, head_dim 2] should give \
         [batch 2, seq 2, width 3 * 2 = 6]"
    );
    for ((b, t, col), &got) in merged.indexed_iter() {
        let (h, d) = (col / head_dim, col % head_dim);
        let want = x[[b, h, t, d]];
        assert!(
            got == want,
            "exercise ch03-2: batch {b}, position {t}, column {col} should hold head {h}'s dim {d} \
             (value {want}); it holds {got}"
        );
    }
}
// ANCHOR_END: ch03_2_merge_puts_each_tokens_heads_side_by_side

#[test]
fn ch03_2_merge_undoes_split() {
    let x = numbered(6, 8); // batch 2, seq 3, 4 heads of width 2
    let heads = Array4::from_shape_fn((2, 4, 3, 2), |(b, h, t, d)| x[[b * 3 + t, h * 2 + d]]);
    let merged = merge_heads(heads.view());
    assert_eq!(merged.shape(), &[2, 3, 8], "exercise ch03-2: merging [2, 4, 3, 2] should give [2, 3, 8]");
    let back = merged.into_shape_with_order((6, 8)).expect("[2, 3, 8] has 48 entries");
    assert!(
        back == x,
        "exercise ch03-2: merging the heads of a matrix split into heads should give the matrix back \
         (row = batch * seq + position, column = head * head_dim + dim)"
    );
}
