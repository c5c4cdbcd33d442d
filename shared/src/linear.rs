//! A fully connected layer, `y = x W^T + b`, with `W` stored `[out, in]` like PyTorch's
//! `nn.Linear` (GPT-2's `Conv1D` stores `[in, out]`; [`Linear::load_conv1d`] transposes it once,
//! at load time).

use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::gemv::gemv;
use crate::gemv_half::{gemv_half, gemv_half_rows};
use crate::gemv_rows::{gemv_rows, gemv_rows_filled, GEMV_ROWS_MAX, GEMV_ROWS_MIN_WEIGHTS};
use crate::half_matrix::HalfMatrix;
use crate::huge_pages::onto_huge_pages;
use crate::matmul::{matmul_t, matmul_t_filled};
use crate::init;
use crate::Float;
use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, Axis, CowArray, Ix2};
use ndarray_rand::rand::Rng;

#[derive(Debug, Clone)]
pub struct Linear<F> {
    /// `[out, in]`; empty (`[0, 0]`) when the weights are kept in 16 bits ([`Linear::half`]).
    pub weight: Array2<F>,
    pub bias: Option<Array1<F>>, // [out]
    /// The weights as a bf16/f16 checkpoint stored them, `[out, in]`, when loaded from a
    /// [`Checkpoint::keeping_16_bit`]: then [`Linear::forward`] widens them inside its kernels.
    half: Option<HalfMatrix>,
}

impl<F: Float> Linear<F> {
    /// A layer from its f32/f64 weight (`[out, in]`) and bias (`[out]`).
    pub fn new(weight: Array2<F>, bias: Option<Array1<F>>) -> Self {
        let weight = onto_huge_pages(weight); // decode streams it once a token
        Linear { weight, bias, half: None }
    }

    /// A layer whose weight (`[out, in]`) stays in 16 bits.
    pub fn from_half(weight: HalfMatrix, bias: Option<Array1<F>>) -> Self {
        Linear { weight: Array2::zeros((0, 0)), bias, half: Some(weight) }
    }

    /// Weights drawn from N(0, std^2) with the given rng, bias zero (GPT-2's initialisation).
    pub fn random<R: Rng>(n_in: usize, n_out: usize, bias: bool, std: f64, rng: &mut R) -> Self {
        Linear::new(init::normal((n_out, n_in), std, rng), bias.then(|| Array1::zeros(n_out)))
    }

    /// Load a Hugging Face GPT-2 `Conv1D`: `{name}.weight` is `[in, out]`, `{name}.bias` `[out]`.
    pub fn load_conv1d(ckpt: &Checkpoint, name: &str, n_in: usize, n_out: usize) -> Result<Self> {
        let (w, b) = (format!("{name}.weight"), Some(ckpt.vector(&format!("{name}.bias"), n_out)?));
        if let Some(half) = read_half(ckpt, &w, n_in, n_out)? {
            return Ok(Linear::from_half(half.transposed(), b)); // [out, in]
        }
        let w: Array2<F> = ckpt.matrix(&w, n_in, n_out)?;
        Ok(Linear::new(w.t().as_standard_layout().into_owned(), b)) // [out, in]
    }

    /// Load a PyTorch `nn.Linear`: `{name}.weight` is `[out, in]`, and `{name}.bias` `[out]`
    /// when `bias` is true.
    pub fn load(ckpt: &Checkpoint, name: &str, n_in: usize, n_out: usize, bias: bool) -> Result<Self> {
        let (w, b) = (format!("{name}.weight"), if bias { Some(ckpt.vector(&format!("{name}.bias"), n_out)?) } else { None });
        Ok(match read_half(ckpt, &w, n_out, n_in)? {
            Some(half) => Linear::from_half(half, b),
            None => Linear::new(ckpt.matrix(&w, n_out, n_in)?, b),
        })
    }

    pub fn n_in(&self) -> usize {
        self.half.as_ref().map_or(self.weight.ncols(), HalfMatrix::ncols)
    }
    pub fn n_out(&self) -> usize {
        self.half.as_ref().map_or(self.weight.nrows(), HalfMatrix::nrows)
    }

    /// The 16-bit weights, when the layer keeps them (else the weights are [`Linear::weight`]).
    pub fn half(&self) -> Option<&HalfMatrix> {
        self.half.as_ref()
    }

    /// The weights as `F`, `[out, in]`: [`Linear::weight`] itself, or the 16-bit weights
    /// widened (exactly) into a new matrix. For code that reads every weight once (saving a
    /// model); the forward passes never widen the whole matrix.
    pub fn weight_widened(&self) -> CowArray<'_, F, Ix2> {
        match &self.half {
            Some(h) => CowArray::from(widen_rows(h, 0..h.nrows())),
            None => CowArray::from(self.weight.view()),
        }
    }

    /// The f32/f64 weights, or [`Error::NeedsF32Weights`] naming `op` when the layer keeps them
    /// in 16 bits (training, for one, changes weights in place).
    pub fn weight_f32(&self, op: &'static str) -> Result<ArrayView2<'_, F>> {
        match &self.half {
            Some(h) => Err(Error::NeedsF32Weights { op, format: h.format().name() }),
            None => Ok(self.weight.view()),
        }
    }

    /// The layers' rows one after another (`[sum of out, in]`), as one layer: how q, k and v
    /// (or SwiGLU's gate and up) become one product. The weights stay 16-bit when every part's
    /// are, in one format; otherwise every part is widened. Biases: on every part or none.
    pub fn stack(parts: &[Linear<F>]) -> Result<Self> {
        let n_in = parts.first().map_or(0, Linear::n_in);
        let bias_count = parts.iter().filter(|p| p.bias.is_some()).count();
        if parts.iter().any(|p| p.n_in() != n_in) || (bias_count != 0 && bias_count != parts.len()) {
            return Err(Error::Shape {
                op: "Linear::stack",
                expected: format!("every part [_, {n_in}], biases on every part or none"),
                found: format!("{:?}", parts.iter().map(|p| [p.n_out(), p.n_in()]).collect::<Vec<_>>()),
            });
        }
        let bias = (bias_count > 0).then(|| {
            let views: Vec<_> = parts.iter().filter_map(|p| p.bias.as_ref().map(|b| b.view())).collect();
            ndarray::concatenate(Axis(0), &views).expect("vectors")
        });
        let format = parts.first().and_then(|p| p.half.as_ref().map(HalfMatrix::format));
        let halves: Option<Vec<&HalfMatrix>> = parts.iter().map(|p| p.half.as_ref().filter(|h| Some(h.format()) == format)).collect();
        if let (Some(format), Some(halves)) = (format, halves) {
            let bits = halves.iter().flat_map(|h| h.bits().iter().copied()).collect();
            let rows = halves.iter().map(|h| h.nrows()).sum();
            return Ok(Linear::from_half(HalfMatrix::from_bits(format, rows, n_in, bits)?, bias));
        }
        let widened: Vec<_> = parts.iter().map(Linear::weight_widened).collect();
        let views: Vec<_> = widened.iter().map(|w| w.view()).collect();
        let weight = if views.is_empty() { Array2::zeros((0, 0)) } else { ndarray::concatenate(Axis(0), &views).expect("same widths") };
        Ok(Linear::new(weight, bias))
    }

    /// Rows `rows` of the layer (`[rows.len(), in]`), in the same store: the inverse of
    /// [`Linear::stack`].
    pub fn rows(&self, rows: std::ops::Range<usize>) -> Linear<F> {
        let bias = self.bias.as_ref().map(|b| b.slice(s![rows.clone()]).to_owned());
        match &self.half {
            Some(h) => {
                let bits = h.bits()[rows.start * h.ncols()..rows.end * h.ncols()].to_vec();
                Linear::from_half(HalfMatrix::from_bits(h.format(), rows.len(), h.ncols(), bits).expect("whole rows"), bias)
            }
            None => Linear::new(self.weight.slice(s![rows, ..]).to_owned(), bias),
        }
    }

    // ANCHOR: forward
    /// x: `[n, in]` -> `[n, out]`
    pub fn forward(&self, x: ArrayView2<F>) -> Result<Array2<F>> {
        let bias = self.bias.as_ref().map(|b| b.view());
        match &self.half {
            Some(h) => linear_half(x, h, bias), // 16-bit weights, widened inside the kernels
            None => linear(x, self.weight.view(), bias),
        }
    }
    // ANCHOR_END: forward

    /// One row: `y = W x + b`, x `[in]` -> y `[out]`, written into `y` (decode's step, which
    /// allocates nothing); the same arithmetic as [`Linear::forward`] of one row.
    pub fn forward_into(&self, x: &[F], y: &mut [F]) -> Result<()> {
        if x.len() != self.n_in() || y.len() != self.n_out() {
            return Err(Error::Shape {
                op: "Linear::forward_into",
                expected: format!("x [{}], y [{}]", self.n_in(), self.n_out()),
                found: format!("x [{}], y [{}]", x.len(), y.len()),
            });
        }
        match &self.half {
            Some(h) => gemv_half_into(h, x, y),
            None => gemv(self.weight.view(), ArrayView1::from(x), ArrayViewMut1::from(&mut *y)),
        }
        if let Some(b) = &self.bias {
            y.iter_mut().zip(b).for_each(|(y, &b)| *y += b);
        }
        Ok(())
    }
}

// ANCHOR: read_half
/// Tensor `name` (`[rows, cols]`) as a [`HalfMatrix`], when the checkpoint keeps 16-bit
/// weights and the file stores this one in bf16 or f16; else `None` (read it as `F`).
pub(crate) fn read_half(ckpt: &Checkpoint, name: &str, rows: usize, cols: usize) -> Result<Option<HalfMatrix>> {
    if !ckpt.keeps_16_bit() || ckpt.half_format_of(name)?.is_none() {
        return Ok(None);
    }
    ckpt.half_matrix(name, rows, cols).map(Some)
}
// ANCHOR_END: read_half

/// Rows `rows` of `w`, widened to `F`: `[rows.len(), cols]`.
pub(crate) fn widen_rows<F: Float>(w: &HalfMatrix, rows: std::ops::Range<usize>) -> Array2<F> {
    let mut out = Array2::zeros((rows.len(), w.ncols()));
    widen_rows_into(w, rows, out.as_slice_mut().expect("new array"));
    out
}

/// Rows `rows` of `w` widened to `F` into `out` (`[rows.len(), cols]`, row major), on the
/// calling thread: SIMD code for f32 ([`HalfMatrix::widen_rows_into`]), one number at a time
/// for f64 (the proofs).
fn widen_rows_into<F: Float>(w: &HalfMatrix, rows: std::ops::Range<usize>, out: &mut [F]) {
    if let Some(out32) = F::as_f32_slice_mut(out) {
        return w.widen_rows_into(rows, out32);
    }
    let format = w.format();
    let bits = rows.flat_map(|r| w.row(r).iter());
    out.iter_mut().zip(bits).for_each(|(o, &b)| *o = F::cast_f32(format.widen(b)));
}

/// `y = W x` for one row, `W` in 16 bits: [`gemv_half`] for f32; for f64 (the exact proofs)
/// each row widened and summed by [`dot`](crate::gemv::dot).
pub(crate) fn gemv_half_into<F: Float>(w: &HalfMatrix, x: &[F], y: &mut [F]) {
    if let (Some(x32), Some(y32)) = (F::as_f32_slice(x), F::as_f32_slice_mut(y)) {
        return gemv_half(w, ArrayView1::from(x32), ArrayViewMut1::from(y32));
    }
    for (r, yr) in y.iter_mut().enumerate() {
        let row = widen_rows::<F>(w, r..r + 1);
        *yr = crate::gemv::dot(row.as_slice().expect("standard layout"), x);
    }
}

/// Rows of `W` each thread widens at a time in [`linear_half`]'s prefill path (2 MiB of f32,
/// 682 rows at a width of 768): small enough to stay in the core's cache between widening and
/// multiplying, large enough that the product's repacking of `x` for every block costs little.
const WIDEN_BLOCK_WEIGHTS: usize = 1 << 19;

/// From this many rows of `x` up to [`GEMV_ROWS_MAX`], [`linear_half`] widens each task's rows
/// of `W` once and runs the f32 kernels of [`gemv_rows_filled`]; below it, [`gemv_half_rows`]'s
/// dot products widen every weight once per row of `x` but stream 2 bytes a weight alongside the
/// arithmetic. GPT-2 124M's four block shapes, bf16, 12 times each (median of 21, AMD EPYC, 2
/// threads): at 2-6 rows the dot products took 10.6-26.5 ms against 21.0-35.2 ms widened; at 8,
/// 36-42 ms against 33-39; at 12 and 16 rows 57 and 70 ms against 46 and 51.
const WIDEN_ROWS_FROM: usize = 8;

/// [`linear`] with `W` in 16 bits: one row through [`gemv_half`], a few through
/// [`gemv_half_rows`] (f32) or [`gemv_rows_filled`] (from [`WIDEN_ROWS_FROM`] rows), and
/// prefill through [`matmul_t_filled`], each thread widening blocks of its rows of `W` into a
/// buffer it reuses, so the widened matrix never exists whole.
pub fn linear_half<F: Float>(x: ArrayView2<F>, w: &HalfMatrix, bias: Option<ArrayView1<F>>) -> Result<Array2<F>> {
    if x.ncols() != w.ncols() {
        return Err(Error::Shape { op: "linear", expected: format!("x = [n, {}]", w.ncols()), found: format!("{:?}", x.shape()) });
    }
    let (n, n_out) = (x.nrows(), w.nrows());
    let x_std = x.as_standard_layout();
    let x_slice = x_std.as_slice().expect("standard layout");
    let mut y = if n == 1 {
        let mut y = Array2::zeros((n, n_out));
        gemv_half_into(w, x_slice, y.as_slice_mut().expect("new array"));
        y
    } else if let (true, Some(x32)) = (n < WIDEN_ROWS_FROM, F::as_f32_slice(x_slice)) {
        let y32 = gemv_half_rows(ArrayView2::from_shape((n, w.ncols()), x32).expect("[n, in]"), w);
        y32.mapv(F::cast_f32)
    } else if n <= GEMV_ROWS_MAX {
        gemv_rows_filled(x, n_out, |rows, buf| widen_rows_into(w, rows, buf))
    } else {
        let rows_per_fill = (WIDEN_BLOCK_WEIGHTS / w.ncols().max(1)).max(1);
        matmul_t_filled(x, n_out, rows_per_fill, |rows, buf| widen_rows_into(w, rows, buf))
    };
    if let Some(b) = bias {
        y += &b.insert_axis(Axis(0));
    }
    Ok(y)
}

// ANCHOR: linear
/// `y = x W^T + b`. x: `[n, in]`, weight: `[out, in]`, bias: `[out]` -> `[n, out]`.
///
/// Used by [`Linear::forward`] and by the tied LM head (whose weight is the token embedding).
pub fn linear<F: Float>(
    x: ArrayView2<F>,
    weight: ArrayView2<F>,
    bias: Option<ArrayView1<F>>,
) -> Result<Array2<F>> {
    if x.ncols() != weight.ncols() {
        return Err(Error::Shape {
            op: "linear",
            expected: format!("x = [n, {}]", weight.ncols()),
            found: format!("{:?}", x.shape()),
        });
    }
    let mut y = if x.nrows() == 1 {
        // decode: one vector, a parallel matrix x vector that streams W once (see `gemv`)
        let mut y = Array2::zeros((1, weight.nrows()));
        gemv(weight, x.row(0), y.row_mut(0));
        y
    } else if x.nrows() <= GEMV_ROWS_MAX && weight.len() >= GEMV_ROWS_MIN_WEIGHTS {
        // a batch's decode step (or a short chunk) on a weight that streams from memory:
        // each weight row read once for all rows
        gemv_rows(x, weight) // [n, in] x [in, out]
    } else {
        // prefill: matrix x matrix, row blocks on every core (see `matmul_t`)
        matmul_t(x, weight) // [n, in] x [in, out]
    };
    if let Some(b) = bias {
        y += &b.insert_axis(Axis(0));
    }
    Ok(y)
}
// ANCHOR_END: linear

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn hand_values_for_one_row_and_many() {
        let lin = Linear::new(
            array![[1.0f64, 2.0], [0.0, -1.0], [3.0, 0.5]], // [out=3, in=2]
            Some(array![0.5, 0.0, -1.0]),
        );
        // [1, 2] -> [1+4+0.5, -2, 3+1-1] = [5.5, -2, 3]
        assert_eq!(lin.forward(array![[1.0, 2.0]].view()).unwrap(), array![[5.5, -2.0, 3.0]]);
        assert_eq!(
            lin.forward(array![[1.0, 2.0], [0.0, 0.0]].view()).unwrap(),
            array![[5.5, -2.0, 3.0], [0.5, 0.0, -1.0]]
        );
        assert!(lin.forward(array![[1.0, 2.0, 3.0]].view()).is_err());
    }

    /// A layer with random weights rounded to `format`, as a 16-bit layer and as the f32
    /// layer holding the same numbers widened.
    fn half_and_widened(format: crate::half_matrix::HalfFormat, n_in: usize, n_out: usize) -> (Linear<f32>, Linear<f32>) {
        let mut rng = crate::init::rng(7);
        let w: Array2<f32> = crate::init::normal((n_out, n_in), 0.5, &mut rng);
        let b: Array1<f32> = crate::init::normal(n_out, 0.5, &mut rng);
        let half = HalfMatrix::from_f32(format, w.view());
        let widened = Linear::new(half.to_f32(), Some(b.clone()));
        (Linear::from_half(half, Some(b)), widened)
    }

    #[test]
    fn a_16_bit_layer_equals_the_f32_layer_on_the_widened_numbers() {
        use crate::half_matrix::HalfFormat;
        for format in [HalfFormat::Bf16, HalfFormat::F16] {
            let (half, widened) = half_and_widened(format, 70, 45);
            assert_eq!((half.n_in(), half.n_out()), (70, 45));
            let mut rng = crate::init::rng(8);
            for n in [1, 5, 10, 40] {
                // one row (gemv_half), a few (gemv_half_rows), more (gemv_rows_filled), a
                // prefill (matmul_t_filled)
                let x: Array2<f32> = crate::init::normal((n, 70), 1.0, &mut rng);
                let (a, b) = (half.forward(x.view()).unwrap(), widened.forward(x.view()).unwrap());
                let d = (&a - &b).iter().fold(0f64, |m, v| m.max(v.abs() as f64));
                assert!(d <= crate::tolerance::F32_REORDERED, "{format:?}, {n} rows: {d:e}");
                // f64 through the same 16-bit layer: the widened numbers, summed in f64
                let x64 = x.mapv(|v| v as f64);
                let half64 = Linear::<f64>::from_half(half.half().unwrap().clone(), half.bias.as_ref().map(|b| b.mapv(|v| v as f64)));
                let want = x64.dot(&widened.weight.mapv(|v| v as f64).t()) + &widened.bias.as_ref().unwrap().mapv(|v| v as f64);
                let d = (&half64.forward(x64.view()).unwrap() - &want).iter().fold(0f64, |m, v| m.max(v.abs()));
                assert!(d <= crate::tolerance::F64_REORDERED, "{format:?} f64, {n} rows: {d:e}");
            }
            let mut y = vec![0f32; 45];
            half.forward_into(x_row().as_slice(), &mut y).unwrap();
            assert!(half.forward_into(&[0.0; 3], &mut y).is_err());
            // stacked and split again, the rows stay 16-bit and equal
            let stacked = Linear::stack(&[half.clone(), half.rows(0..10)]).unwrap();
            assert_eq!(stacked.half().unwrap().nrows(), 55);
            assert_eq!(stacked.rows(45..55).half(), half.rows(0..10).half());
            // code that needs f32 weights gets a typed error, not an empty matrix
            assert!(matches!(half.weight_f32("training"), Err(Error::NeedsF32Weights { op: "training", .. })));
            assert_eq!(half.weight_widened(), widened.weight.view());
        }
    }

    fn x_row() -> Vec<f32> {
        (0..70).map(|i| i as f32 * 0.01).collect()
    }

    #[test]
    fn a_16_bit_tensor_of_the_wrong_shape_is_a_typed_error() {
        use crate::half_matrix::HalfFormat;
        let dir = std::env::temp_dir().join(format!("shared-half-shape-{}", std::process::id()));
        let file = dir.join("model.safetensors");
        let values: Vec<f32> = (0..12).map(|i| i as f32).collect();
        crate::checkpoint::save_f32(&file, &[("w.weight".into(), vec![3, 4], values), ("w.bias".into(), vec![4], vec![0.0; 4])]).unwrap();
        crate::checkpoint::narrow_file(&file, HalfFormat::Bf16).unwrap();
        let ckpt = Checkpoint::open(&file).unwrap().keeping_16_bit(true);
        // stored [3, 4]: as nn.Linear that is 4 inputs, 3 outputs; asked the other way round
        let err = Linear::<f32>::load(&ckpt, "w", 3, 4, false).unwrap_err();
        assert!(matches!(&err, Error::TensorShape { expected, found, .. } if expected == &[4, 3] && found == &[3, 4]), "{err}");
        let err = Linear::<f32>::load_conv1d(&ckpt, "w", 4, 3).unwrap_err();
        assert!(matches!(err, Error::TensorShape { .. }), "{err}");
        // the right shape loads, kept in 16 bits, with the stored numbers
        let ok = Linear::<f32>::load(&ckpt, "w", 4, 3, false).unwrap();
        assert_eq!(ok.half().map(|h| h.format()), Some(HalfFormat::Bf16));
        assert_eq!(ok.weight_widened(), Array2::from_shape_fn((3, 4), |(r, c)| (r * 4 + c) as f32));
        let conv = Linear::<f32>::load_conv1d(&ckpt, "w", 3, 4).unwrap(); // [in 3, out 4] -> [4, 3]
        assert_eq!(conv.weight_widened(), Array2::from_shape_fn((4, 3), |(r, c)| (c * 4 + r) as f32));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
