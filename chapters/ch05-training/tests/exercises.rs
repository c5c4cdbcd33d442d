//! The chapter's exercises, checked against central finite differences of the forwards they
//! undo (`shared::LayerNorm::forward`, `shared::softmax_rows`), in f64.
//! `cargo test -p ch05-training --features exercises` runs them on your stubs; without the
//! feature they test the reference code. See `exercises/info.toml`.

use ch05_training::layer_norm::layer_norm_backward;
use ch05_training::softmax::softmax_backward_rows;
use ndarray::{array, Array1, Array2};
use shared::{softmax_rows, LayerNorm};

const H: f64 = 1e-6;

/// `(f(a + h e_i) - f(a - h e_i)) / 2h` for every entry i of `a`.
fn numeric<D: ndarray::Dimension>(a: &ndarray::Array<f64, D>, f: impl Fn(&ndarray::Array<f64, D>) -> f64) -> ndarray::Array<f64, D> {
    let mut out = a.clone();
    for i in 0..a.len() {
        let mut plus = a.clone();
        plus.as_slice_mut().unwrap()[i] += H;
        let mut minus = a.clone();
        minus.as_slice_mut().unwrap()[i] -= H;
        out.as_slice_mut().unwrap()[i] = (f(&plus) - f(&minus)) / (2.0 * H);
    }
    out
}

fn max_diff<D: ndarray::Dimension>(a: &ndarray::Array<f64, D>, b: &ndarray::Array<f64, D>) -> f64 {
    a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
}

/// A layer norm with weights and biases away from 1 and 0, an input of 3 rows of 5, and the
/// gradient `r` of the loss `L = sum(y * r)` with respect to the output y.
fn layer_norm_case() -> (LayerNorm<f64>, Array2<f64>, Array2<f64>) {
    let mut ln = LayerNorm::new(5, 1e-5);
    ln.weight = array![1.5, -0.5, 0.8, 2.0, 0.3];
    ln.bias = array![0.1, -0.2, 0.0, 0.4, 1.0];
    let x = array![[0.3, -1.2, 2.0, 0.7, -0.1], [5.0, 5.5, 4.0, 6.0, 5.2], [-0.4, 0.9, 0.1, -2.2, 1.3]];
    let r = array![[0.5, -1.0, 0.25, 2.0, -0.3], [1.0, 0.0, -0.7, 0.2, 0.9], [-1.5, 0.6, 0.3, 0.1, -0.2]];
    (ln, x, r)
}

fn run_layer_norm(ln: &LayerNorm<f64>, x: &Array2<f64>, dy: &Array2<f64>) -> (Array2<f64>, LayerNorm<f64>) {
    let mut grad = LayerNorm::new(5, 1e-5);
    grad.weight.fill(0.0);
    let dx = match layer_norm_backward(ln, x.view(), dy.view(), &mut grad) {
        Ok(dx) => dx,
        Err(e) => panic!("exercise ch05-1: shapes [3, 5] fit a layer norm of width 5; it returned the error: {e}"),
    };
    (dx, grad)
}

// ANCHOR: ch05_1_input_gradient_matches_finite_differences
#[test]
fn ch05_1_input_gradient_matches_finite_differences() {
    let (ln, x, r) = layer_norm_case();
    let (dx, _) = run_layer_norm(&ln, &x, &r);
    assert_eq!(dx.dim(), (3, 5), "exercise ch05-1: dx has the shape of x");
    let want = numeric(&x, |x| (ln.forward(x.view()) * &r).sum());
    let diff = max_diff(&dx, &want);
    assert!(
        diff < 1e-8,
        "exercise ch05-1: dx should be the slope of sum(layer_norm(x) * dy) in each x (finite differences):\n\
         want {want:.6}\ngot  {dx:.6}\n(max difference {diff:.2e}; every x moved its row's mean and variance too)"
    );
}
// ANCHOR_END: ch05_1_input_gradient_matches_finite_differences

#[test]
fn ch05_1_weight_and_bias_gradients_match_and_add_up() {
    let (ln, x, r) = layer_norm_case();
    let (_, grad) = run_layer_norm(&ln, &x, &r);
    let want_w = numeric(&ln.weight, |w| LayerNorm { weight: w.clone(), bias: ln.bias.clone(), eps: ln.eps }.forward(x.view()).iter().zip(&r).map(|(y, r)| y * r).sum());
    let want_b: Array1<f64> = r.sum_axis(ndarray::Axis(0)); // y = ... + bias: dbias = column sums of dy
    assert!(max_diff(&grad.weight, &want_w) < 1e-8, "exercise ch05-1: grad.weight should be sum over rows of dy * xhat: want {want_w:.6}, got {:.6}", grad.weight);
    assert!(max_diff(&grad.bias, &want_b) < 1e-12, "exercise ch05-1: grad.bias should be the column sums of dy: want {want_b}, got {}", grad.bias);
    // gradients add up: a second call with the same grad doubles them
    let mut twice = grad.clone();
    layer_norm_backward(&ln, x.view(), r.view(), &mut twice).unwrap();
    assert!(max_diff(&twice.bias, &(2.0 * &want_b)) < 1e-12, "exercise ch05-1: add (+=) to grad.weight and grad.bias, do not overwrite them");
    let bad = Array2::<f64>::zeros((3, 4));
    assert!(layer_norm_backward(&ln, bad.view(), bad.view(), &mut twice).is_err(), "exercise ch05-1: a [3, 4] input to a width-5 layer norm is an Error::Shape");
}

/// scores with masked (-inf) entries, and the gradient `r` of `L = sum(softmax(s) * r)`.
fn softmax_case() -> (Array2<f64>, Array2<f64>) {
    let ninf = f64::NEG_INFINITY;
    let s = array![[0.5, -1.0, 2.0, 0.1], [1.0, ninf, ninf, ninf], [0.3, 0.2, ninf, ninf], [3.0, -2.0, 0.0, 1.0]];
    let r = array![[1.0, -0.5, 0.3, 2.0], [0.7, 1.0, 1.0, 1.0], [-1.2, 0.4, 5.0, 5.0], [0.2, 0.1, -0.3, 0.9]];
    (s, r)
}

fn softmax_of(s: &Array2<f64>) -> Array2<f64> {
    let mut p = s.clone();
    softmax_rows(p.view_mut());
    p
}

/// The case's scores and upstream gradient, and the score gradient the code under test gives.
fn softmax_gradient() -> (Array2<f64>, Array2<f64>, Array2<f64>) {
    let (s, r) = softmax_case();
    let mut ds = r.clone();
    softmax_backward_rows(softmax_of(&s).view(), ds.view_mut());
    (s, r, ds)
}

#[test]
fn ch05_2_score_gradient_matches_finite_differences() {
    let (s, r, ds) = softmax_gradient();
    // finite differences on the visible scores only (a masked score is -inf and stays so)
    let want = numeric(&s, |s| (softmax_of(s) * &r).iter().filter(|v| v.is_finite()).sum());
    for ((i, j), &got) in ds.indexed_iter() {
        if s[[i, j]].is_finite() {
            assert!(
                (got - want[[i, j]]).abs() < 1e-8,
                "exercise ch05-2: row {i}, column {j}: the slope of sum(softmax(s) * dp) in s[{i},{j}] is {:.8}, got {got:.8}",
                want[[i, j]]
            );
        }
    }
}

// ANCHOR: ch05_2_masked_scores_get_no_gradient_and_rows_sum_to_zero
#[test]
fn ch05_2_masked_scores_get_no_gradient_and_rows_sum_to_zero() {
    let (s, _, ds) = softmax_gradient();
    for ((i, j), &g) in ds.indexed_iter() {
        if !s[[i, j]].is_finite() {
            assert_eq!(g, 0.0, "exercise ch05-2: row {i}, column {j} is masked (p = 0): its gradient must be exactly 0");
        }
    }
    // adding the same number to every score of a row changes nothing: each row of ds sums to 0
    for (i, row) in ds.rows().into_iter().enumerate() {
        assert!(row.sum().abs() < 1e-12, "exercise ch05-2: row {i} of the score gradient should sum to 0, it sums to {}", row.sum());
    }
}
// ANCHOR_END: ch05_2_masked_scores_get_no_gradient_and_rows_sum_to_zero
