//! The tests of chapter 6's exercises, one group per exercise (`ch06_K_...`).
//!
//! `cargo run -p exercises -- check ch06` runs each group against the learner's stub
//! (`--features ex-ch06-K`); a plain `cargo test` runs them against the reference code. Every
//! expected value comes from somewhere independent of the code under test: numbers worked out
//! by hand in the comments, the rotation formula written out here, the same rotation of a longer
//! sequence, or chapter 3's grouped-query attention.

use ch03_attention::scaled_dot_product_attention;
use ch06_llama_qwen::{repeat_kv, RmsNorm, Rope, RopeConfig};
use ndarray::{array, s, Array, Array4, Axis, Dimension};
use shared::{init, Error};

fn max_abs_diff<D: Dimension>(a: &Array<f64, D>, b: &Array<f64, D>) -> f64 {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

fn random4(shape: (usize, usize, usize, usize), seed: u64) -> Array4<f64> {
    init::normal(shape, 1.0, &mut init::rng(seed))
}

// ---------------------------------------------------------------- ch06-1: RMSNorm

// ANCHOR: ch06_1_divides_by_the_root_mean_square
#[test]
fn ch06_1_divides_by_the_root_mean_square() {
    let mut norm = RmsNorm::<f64>::new(4, 0.0);
    norm.weight = array![1.0, -1.0, 0.5, 2.0];
    let x = array![[1.0, 2.0, 2.0, 4.0], [0.0, 0.0, 3.0, 0.0]];
    // row 0: mean(x^2) = (1 + 4 + 4 + 16) / 4 = 6.25, rms = 2.5
    //        x / rms = [0.4, 0.8, 0.8, 1.6], times the weight = [0.4, -0.8, 0.4, 3.2]
    // row 1: mean(x^2) = 9 / 4, rms = 1.5 -> [0, 0, 2, 0] -> [0, 0, 1, 0]
    let want = array![[0.4, -0.8, 0.4, 3.2], [0.0, 0.0, 1.0, 0.0]];
    let got = norm.forward(x.view()).expect("a [2, 4] input fits a norm of width 4");
    let diff = max_abs_diff(&got, &want);
    assert!(
        diff < 1e-12,
        "exercise ch06-1: RMSNorm of {x} with weight {} should be {want}, got {got}",
        norm.weight
    );
}
// ANCHOR_END: ch06_1_divides_by_the_root_mean_square

#[test]
fn ch06_1_no_mean_is_subtracted_and_eps_is_under_the_root() {
    // A constant vector: LayerNorm would make it 0 (x - mean = 0); RMSNorm keeps its direction.
    // [1, 1, 1, 1] with eps 3: mean(x^2) = 1, sqrt(1 + 3) = 2 -> [0.5, 0.5, 0.5, 0.5]
    let norm = RmsNorm::<f64>::new(4, 3.0);
    let got = norm.forward(array![[1.0, 1.0, 1.0, 1.0]].view()).unwrap();
    assert!(
        max_abs_diff(&got, &array![[0.5, 0.5, 0.5, 0.5]]) < 1e-15,
        "exercise ch06-1: [1, 1, 1, 1] with eps 3 should give 1 / sqrt(1 + 3) = 0.5 everywhere \
         (eps is added to mean(x^2) under the square root, and no mean is subtracted); got {got}"
    );
}

#[test]
fn ch06_1_every_head_of_every_token_is_normalised_on_its_own() {
    // Qwen3's q/k norm: [batch, heads, seq, head_dim]. With weight 1 and eps 0 each head vector
    // y must be x / rms(x): the same direction as x, and mean(y^2) = 1.
    let norm = RmsNorm::<f64>::new(4, 0.0);
    let x = random4((2, 3, 2, 4), 11) * 5.0;
    let y = norm.forward(x.view()).expect("the last axis is 4");
    assert_eq!(y.shape(), x.shape(), "exercise ch06-1: the output keeps the input's shape");
    for (lane_x, lane_y) in x.lanes(Axis(3)).into_iter().zip(y.lanes(Axis(3))) {
        let rms = (lane_x.iter().map(|v| v * v).sum::<f64>() / 4.0).sqrt();
        for (a, b) in lane_x.iter().zip(&lane_y) {
            assert!(
                (a / rms - b).abs() < 1e-12,
                "exercise ch06-1: the head vector {lane_x} has rms {rms}, so it should become \
                 {}, got {lane_y}",
                &lane_x / rms
            );
        }
    }
}

#[test]
fn ch06_1_a_wrong_width_is_a_shape_error() {
    let norm = RmsNorm::<f32>::new(3, 1e-6);
    match norm.forward(array![[1.0f32, 2.0]].view()) {
        Err(Error::Shape { op: "rms_norm", .. }) => {}
        other => panic!(
            "exercise ch06-1: a [1, 2] input to a norm of width 3 should be \
             Err(Error::Shape {{ op: \"rms_norm\", .. }}), got {other:?}"
        ),
    }
}

// ---------------------------------------------------------------- ch06-2: RoPE at an offset

// ANCHOR: ch06_2_each_pair_turns_by_position_times_its_frequency
#[test]
fn ch06_2_each_pair_turns_by_position_times_its_frequency() {
    // head_dim 4, theta 10000: inv_freq = [10000^(-0/4), 10000^(-2/4)] = [1, 0.01].
    // Pairs (dims 0 and 2) and (dims 1 and 3). One token at position start_pos = 3:
    // pair 0 turns by 3 * 1 = 3 rad, pair 1 by 3 * 0.01 = 0.03 rad.
    let rope = Rope::new(&RopeConfig::new(4, 10000.0)).unwrap();
    let mut x = array![[[[1.0, 2.0, 3.0, 4.0]]]]; // [batch 1, heads 1, seq 1, head_dim 4]
    rope.apply_inplace(x.view_mut(), 3).expect("head_dim 4 fits");
    let turn = |(a, b): (f64, f64), angle: f64| (a * angle.cos() - b * angle.sin(), b * angle.cos() + a * angle.sin());
    let (y0, y2) = turn((1.0, 3.0), 3.0);
    let (y1, y3) = turn((2.0, 4.0), 0.03);
    let want = array![[[[y0, y1, y2, y3]]]];
    assert!(
        max_abs_diff(&x, &want) < 1e-12,
        "exercise ch06-2: [1, 2, 3, 4] at position 3 should turn the pair (dim 0, dim 2) = (1, 3) \
         by 3 rad and the pair (dim 1, dim 3) = (2, 4) by 0.03 rad, giving {want}; got {x}"
    );
}
// ANCHOR_END: ch06_2_each_pair_turns_by_position_times_its_frequency

// ANCHOR: ch06_2_a_chunk_at_offset_p_equals_rows_p_of_the_whole_sequence
#[test]
fn ch06_2_a_chunk_at_offset_p_equals_rows_p_of_the_whole_sequence() {
    // What the KV cache relies on: rotating tokens p..p + t, fed as a chunk that starts at
    // start_pos = p, must equal rows p..p + t of rotating the whole sequence from 0.
    let rope = Rope::new(&RopeConfig::new(8, 10000.0)).unwrap();
    let x = random4((2, 3, 9, 8), 21); // [batch, heads, seq 9, head_dim 8]
    let mut whole = x.clone();
    rope.apply_inplace(whole.view_mut(), 0).unwrap();
    for (p, t) in [(0, 9), (4, 1), (8, 1), (2, 5), (5, 4)] {
        let mut chunk = x.slice(s![.., .., p..p + t, ..]).to_owned();
        rope.apply_inplace(chunk.view_mut(), p).unwrap();
        let want = whole.slice(s![.., .., p..p + t, ..]).to_owned();
        let diff = max_abs_diff(&chunk, &want);
        assert!(
            diff < 1e-12,
            "exercise ch06-2: {t} token(s) fed at start_pos {p} should rotate exactly like rows \
             {p}..{} of the whole sequence rotated from 0 (max difference {diff}); is token t at \
             position start_pos + t?",
            p + t
        );
    }
}
// ANCHOR_END: ch06_2_a_chunk_at_offset_p_equals_rows_p_of_the_whole_sequence

#[test]
fn ch06_2_scores_depend_only_on_the_distance() {
    // q at position m, k at position n: q . k after rotation depends on m - n only.
    let rope = Rope::new(&RopeConfig::new(8, 10000.0)).unwrap();
    let (q, k) = (random4((1, 1, 1, 8), 22), random4((1, 1, 1, 8), 23));
    let score = |m: usize, n: usize| {
        let (mut qm, mut kn) = (q.clone(), k.clone());
        rope.apply_inplace(qm.view_mut(), m).unwrap();
        rope.apply_inplace(kn.view_mut(), n).unwrap();
        qm.iter().zip(&kn).map(|(a, b)| a * b).sum::<f64>()
    };
    for (m, n) in [(3, 1), (0, 6), (7, 7), (40, 2)] {
        let (near, far) = (score(m, n), score(m + 100, n + 100));
        assert!(
            (near - far).abs() < 1e-10,
            "exercise ch06-2: q at {m} and k at {n} should score the same as q at {} and k at {} \
             (same distance): {near} vs {far}",
            m + 100,
            n + 100
        );
    }
    let (d2, d3) = (score(3, 1), score(4, 1));
    assert!(
        (d2 - d3).abs() > 1e-6,
        "exercise ch06-2: distances 2 and 3 should give different scores, got {d2} and {d3}: is \
         start_pos used?"
    );
}

#[test]
fn ch06_2_partial_rotary_leaves_the_rest_of_the_head_alone() {
    // GPT-NeoX (Pythia): only the first 25% of each head rotates. head_dim 8 -> rotary_dim 2:
    // one pair, dims (0, 1), inv_freq = [1]; at position 2 it turns by 2 rad.
    let config = RopeConfig { partial_rotary_factor: 0.25, ..RopeConfig::new(8, 10000.0) };
    let rope = Rope::new(&config).unwrap();
    let x = array![[[[1.0, 0.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]]]];
    let mut y = x.clone();
    rope.apply_inplace(y.view_mut(), 2).unwrap();
    let want = array![[[[2.0f64.cos(), 2.0f64.sin(), 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]]]];
    assert!(
        max_abs_diff(&y, &want) < 1e-15,
        "exercise ch06-2: with rotary_dim 2 of head_dim 8, (1, 0) at position 2 turns to \
         (cos 2, sin 2) and dims 2..8 stay as they are: want {want}, got {y}"
    );
}

#[test]
fn ch06_2_a_wrong_head_dim_is_a_shape_error() {
    let rope = Rope::new(&RopeConfig::new(8, 10000.0)).unwrap();
    let mut x = Array4::<f32>::zeros((1, 1, 2, 6));
    match rope.apply_inplace(x.view_mut(), 0) {
        Err(Error::Shape { op: "rope", .. }) => {}
        other => panic!(
            "exercise ch06-2: a head_dim of 6 for a rotation of head_dim 8 should be \
             Err(Error::Shape {{ op: \"rope\", .. }}), got {other:?}"
        ),
    }
}

// ---------------------------------------------------------------- ch06-3: repeat_kv

#[test]
fn ch06_3_head_h_is_kv_head_h_over_n_rep() {
    // value = 1000 b + 100 kv_head + 10 position + dim: every entry says where it came from
    let k = Array4::from_shape_fn((2, 2, 3, 2), |(b, h, t, d)| (1000 * b + 100 * h + 10 * t + d) as f64);
    for n_rep in [1, 3] {
        let out = repeat_kv(k.view(), n_rep);
        assert_eq!(
            out.shape(),
            &[2, 2 * n_rep, 3, 2],
            "exercise ch06-3: [batch 2, kv heads 2, seq 3, head_dim 2] repeated {n_rep} times \
             should be [2, {}, 3, 2]",
            2 * n_rep
        );
        for ((b, h, t, d), &got) in out.indexed_iter() {
            let want = k[[b, h / n_rep, t, d]];
            assert!(
                got == want,
                "exercise ch06-3 (n_rep {n_rep}): head {h} should be a copy of key/value head \
                 {h} / {n_rep} = {}, so [{b}, {h}, {t}, {d}] should hold {want}; it holds {got}",
                h / n_rep
            );
        }
    }
}

// ANCHOR: ch06_3_grouped_query_attention_is_attention_over_repeated_heads
#[test]
fn ch06_3_grouped_query_attention_is_attention_over_repeated_heads() {
    // 6 query heads over 2 key/value heads (n_rep 3). Chapter 3's attention reads kv head
    // h / 3 for query head h; with the kv heads repeated it reads kv head h: the same thing.
    let q = random4((2, 6, 5, 4), 31); // [batch, n_heads, seq, head_dim]
    let k = random4((2, 2, 5, 4), 32); // [batch, n_kv_heads, seq, head_dim]
    let v = random4((2, 2, 5, 4), 33);
    let gqa = scaled_dot_product_attention(q.view(), k.view(), v.view()).unwrap();
    let (k6, v6) = (repeat_kv(k.view(), 3), repeat_kv(v.view(), 3));
    let mha = scaled_dot_product_attention(q.view(), k6.view(), v6.view())
        .expect("repeat_kv(k, 3) should have 6 heads, one per query head");
    let diff = max_abs_diff(&gqa, &mha);
    assert!(
        diff < 1e-12,
        "exercise ch06-3: attention over the repeated heads should equal grouped-query attention \
         (max difference {diff})"
    );
}
// ANCHOR_END: ch06_3_grouped_query_attention_is_attention_over_repeated_heads

#[test]
fn ch06_3_interleaved_copies_would_be_a_different_attention() {
    // The order matters: [k0, k1, k0, k1, ..] would pair query head 1 with kv head 1, not 0.
    // This shows the test above can tell the two orders apart.
    let q = random4((1, 4, 3, 2), 41);
    let k = random4((1, 2, 3, 2), 42);
    let v = random4((1, 2, 3, 2), 43);
    let gqa = scaled_dot_product_attention(q.view(), k.view(), v.view()).unwrap();
    let interleaved = |x: &Array4<f64>| Array4::from_shape_fn((1, 4, 3, 2), |(b, h, t, d)| x[[b, h % 2, t, d]]);
    let wrong = scaled_dot_product_attention(q.view(), interleaved(&k).view(), interleaved(&v).view()).unwrap();
    assert!(max_abs_diff(&gqa, &wrong) > 1e-3);
    let right = scaled_dot_product_attention(q.view(), repeat_kv(k.view(), 2).view(), repeat_kv(v.view(), 2).view()).unwrap();
    assert!(
        max_abs_diff(&gqa, &right) < 1e-12,
        "exercise ch06-3: the copies of one head go next to each other: [k0, k0, k1, k1]"
    );
}
