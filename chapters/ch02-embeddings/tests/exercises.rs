//! The chapter's exercises, checked against values computed by hand and against the math.
//! `cargo test -p ch02-embeddings --features exercises` runs them on your stubs; without the
//! feature they test the reference code. See `exercises/info.toml`.

use ch02_embeddings::{sinusoidal_positions, GptEmbeddings};
use ndarray::{array, Array2};
use shared::{Embedding, Error};

/// 3 tokens, 4 positions, d_model 2. Token vectors are small, position vectors are multiples of
/// 10 in the first column, so every sum says which token and which position it came from:
/// token t at position p = wte[t] + [10 p, 0].
fn tiny() -> GptEmbeddings<f64> {
    GptEmbeddings {
        wte: Embedding::new(array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
        wpe: Embedding::new(array![[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [30.0, 0.0]]),
    }
}

/// Check `forward(ids, start_pos)` entry by entry against wte[id] + [10 * position, 0].
fn check_forward(ids: Array2<u32>, start_pos: usize) {
    let e = tiny();
    let (batch, seq) = ids.dim();
    let x = match e.forward(ids.view(), start_pos) {
        Ok(x) => x,
        Err(err) => panic!(
            "exercise ch02-1: forward of {batch}x{seq} ids from position {start_pos} fits the \
             4-position table and should succeed, it returned the error: {err}"
        ),
    };
    assert_eq!(x.shape(), &[batch, seq, 2], "exercise ch02-1: the output shape should be [batch, seq, d_model]");
    for b in 0..batch {
        for s in 0..seq {
            let (id, pos) = (ids[[b, s]], start_pos + s);
            let token = e.wte.weight.row(id as usize);
            let want = [token[0] + 10.0 * pos as f64, token[1]];
            let got = [x[[b, s, 0]], x[[b, s, 1]]];
            assert!(
                got == want,
                "exercise ch02-1: sequence {b}, token {s} (id {id}) stands at position {start_pos} + {s} = {pos}, \
                 so it should be wte[{id}] + wpe[{pos}] = {want:?}; it is {got:?}"
            );
        }
    }
}

#[test]
fn ch02_1_each_token_gets_its_vector_plus_its_position() {
    check_forward(array![[2u32, 0, 1], [1, 1, 2]], 0);
}

// ANCHOR: ch02_1_positions_start_at_start_pos
#[test]
fn ch02_1_positions_start_at_start_pos() {
    check_forward(array![[1u32]], 2); // one new token after 2 cached ones: position 2
    check_forward(array![[0u32, 2], [2, 1]], 1);
    check_forward(array![[1u32]], 3); // the last position of the table
}
// ANCHOR_END: ch02_1_positions_start_at_start_pos

#[test]
fn ch02_1_beyond_the_context_is_an_error() {
    let e = tiny();
    let cases = [(5, 0), (1, 4), (3, 2)]; // (seq, start_pos) ending at 5, 5, 5 > 4 positions
    for (seq, start_pos) in cases {
        let ids = Array2::<u32>::zeros((1, seq));
        match e.forward(ids.view(), start_pos) {
            Err(Error::ContextOverflow { len: 5, context_length: 4 }) => {}
            other => panic!(
                "exercise ch02-1: {seq} tokens from position {start_pos} end at position {}, past the \
                 4-position table: expected Err(ContextOverflow {{ len: 5, context_length: 4 }}), got {:?}",
                start_pos + seq - 1,
                other.map(|x| x.shape().to_vec())
            ),
        }
    }
    match e.forward(array![[3u32]].view(), 0) {
        Err(Error::TokenOutOfRange { id: 3, .. }) => {}
        other => panic!(
            "exercise ch02-1: id 3 is not in the 3-token table: expected Err(TokenOutOfRange {{ id: 3, .. }}), got {:?}",
            other.map(|x| x.shape().to_vec())
        ),
    }
}

/// Fail with a readable message unless `got` is within 1e-12 of `want`.
fn close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() < 1e-12, "exercise ch02-2: {what} should be {want:.6}, it is {got:.6}");
}

// ANCHOR: ch02_2_hand_computed_entries
#[test]
fn ch02_2_hand_computed_entries() {
    // d_model 4: frequencies w_0 = 1 and w_1 = 10000^(-2/4) = 1/100
    let pe = sinusoidal_positions::<f64>(3, 4);
    assert_eq!(pe.shape(), &[3, 4], "exercise ch02-2: 3 positions of width 4 should be a [3, 4] table");
    for col in 0..4 {
        let want = if col % 2 == 0 { 0.0 } else { 1.0 };
        close(pe[[0, col]], want, &format!("position 0, column {col} (sin 0 = 0 in even columns, cos 0 = 1 in odd ones)"));
    }
    close(pe[[1, 0]], 1f64.sin(), "position 1, column 0 = sin(1 * 1)");
    close(pe[[1, 1]], 1f64.cos(), "position 1, column 1 = cos(1 * 1)");
    close(pe[[1, 2]], 0.01f64.sin(), "position 1, column 2 = sin(1 * 1/100)");
    close(pe[[2, 3]], 0.02f64.cos(), "position 2, column 3 = cos(2 * 1/100)");
}
// ANCHOR_END: ch02_2_hand_computed_entries

#[test]
fn ch02_2_dot_product_depends_only_on_the_distance() {
    // sin(a)sin(b) + cos(a)cos(b) = cos(a - b): pe[p] . pe[p + k] = sum_i cos(k * w_i)
    let d_model = 8;
    let pe = sinusoidal_positions::<f64>(40, d_model);
    let w = |i: usize| 10000f64.powf(-2.0 * i as f64 / d_model as f64);
    for k in [0, 1, 5, 17] {
        let want: f64 = (0..d_model / 2).map(|i| (k as f64 * w(i)).cos()).sum();
        for p in [0, 3, 20] {
            let got = pe.row(p).dot(&pe.row(p + k));
            close(got, want, &format!("the dot product of positions {p} and {} (distance {k})", p + k));
        }
    }
}
