//! Splitting the model width into heads and merging it back.
//!
//! Each function is its own file so the chapter's exercises can swap in a stub
//! (`--features ex-ch03-1`, `ex-ch03-2`; see `exercises/info.toml`).

#[cfg_attr(feature = "ex-ch03-1", path = "../exercises/ch03_1_split_heads.rs")]
mod split;
#[cfg_attr(feature = "ex-ch03-2", path = "../exercises/ch03_2_merge_heads.rs")]
mod merge;

pub use merge::merge_heads;
pub use split::split_heads;

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn split_then_merge_is_identity_and_heads_are_column_blocks() {
        // batch 2, seq 3, 2 heads of width 2: entry = 100*row + col
        let x = Array2::from_shape_fn((6, 4), |(r, c)| (100 * r + c) as f64);
        let h = split_heads(x.view(), 2, 2);
        assert_eq!(h.dim(), (2, 2, 3, 2));
        // batch 1, head 1, seq 2 is row 1*3+2 = 5, columns 2..4
        assert_eq!(h[[1, 1, 2, 0]], 502.0);
        assert_eq!(h[[1, 1, 2, 1]], 503.0);
        let m = merge_heads(h.view());
        assert_eq!(m.into_shape_with_order((6, 4)).unwrap(), x);
    }
}
