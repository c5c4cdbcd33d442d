//! The fast path of batched decode: a few vectors times the same matrix, streaming it once.
//!
//! A decode step of a batch of `n` sequences multiplies `n` vectors, `x: [n, in]`, by every
//! weight `W: [out, in]`. Run as `n` calls of [`gemv`](crate::gemv::gemv) it would read
//! every weight `n` times; here each row of `W` is read from memory once and, while it sits in
//! the core's cache, dotted with all `n` vectors. The work grows with `n`, the memory traffic
//! does not: this is why a batch of 8 costs little more time per step than a batch of 1.
//!
//! For f32 on a CPU with AVX2 and FMA, a group of 5 to 8 input rows runs [`lanes_avx2`]: the
//! rows are transposed once per call so that an input position's 8 numbers fill one register's
//! lanes, and each weight, broadcast to all lanes, multiplies all 8 rows in one instruction.
//! Twelve weight rows at a time give twelve accumulators fed by thirteen loads, every weight is
//! read once, and each lane ends as one row's sum with no horizontal additions. (Measured side
//! by side at 8 rows on GPT-2 124M's MLP shape, this took 10-35% less time than the
//! dot-product blocks below, whose loads of the input rows compete with the weight stream.)
//! Groups of 1 to 4 rows run [`dot_blocks_avx2`] instead, which does not multiply the empty
//! lanes: three weight rows and four input rows at a time, twelve 8-lane dot products.
//! Elsewhere (f64, the exact proofs; CPUs without AVX2) each output is [`dot_kernel`] over a
//! weight row and an input row, the dot product `gemv` runs.

use crate::gemv::dot_kernel;
use crate::parallel::MATMUL_MIN_WORK;
use crate::Float;
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use std::ops::Range;

/// Up to this many rows, [`linear`](crate::linear) runs [`gemv_rows`]; beyond it,
/// [`matmul_t`](crate::matmul_t)'s blocked kernel, which reuses each loaded number more often.
pub const GEMV_ROWS_MAX: usize = 16;

/// ... and when the weight has at least this many numbers (256 KiB of f32, about a core's L2
/// cache): smaller matrices stay in cache between steps, where `matmul_t` is as fast.
pub const GEMV_ROWS_MIN_WEIGHTS: usize = 1 << 16;

/// Rows of `W` handed to one rayon task: a multiple of the kernels' blocks of 12 and 3 rows.
const ROWS_PER_TASK: usize = 36;

// ANCHOR: gemv_rows
/// `x W^T` for a few rows: x `[n, in]`, w `[out, in]` -> `[n, out]`, every row of `W` read once.
pub fn gemv_rows<F: Float>(x: ArrayView2<F>, w: ArrayView2<F>) -> Array2<F> {
    assert_eq!(w.ncols(), x.ncols(), "gemv_rows: x is [n, in], w must be [out, in]");
    let w = w.as_standard_layout();
    rows_product(x, w.nrows(), Weights::Stored(w.as_slice().expect("standard layout")))
}

/// [`gemv_rows`] for a `W` (`[out, in]`) that is made a task's rows at a time: `fill(rows,
/// buf)` writes rows `rows` of `W` into `buf` (`[rows.len(), in]`, row major). 16-bit weights
/// run this way: each task widens its 36 rows once, and the f32 kernels multiply them by all
/// `n` rows of `x` from the core's cache.
pub fn gemv_rows_filled<F: Float>(x: ArrayView2<F>, n_out: usize, fill: impl Fn(Range<usize>, &mut [F]) + Sync) -> Array2<F> {
    rows_product(x, n_out, Weights::Filled(&fill))
}

/// Where [`rows_product`]'s tasks find their rows of `W`.
enum Weights<'a, F> {
    /// All of `W`, `[out, in]`, row major.
    Stored(&'a [F]),
    /// Written by the function into a task's buffer (see [`gemv_rows_filled`]).
    Filled(&'a (dyn Fn(Range<usize>, &mut [F]) + Sync)),
}

fn rows_product<F: Float>(x: ArrayView2<F>, n_out: usize, weights: Weights<'_, F>) -> Array2<F> {
    let (n, n_in) = x.dim();
    let x = x.as_standard_layout();
    let x = x.as_slice().expect("standard layout");
    let mut y = Array2::<F>::zeros((n, n_out)); // [n, out]
    if n_in > 0 && n > 0 {
        let fast = F32Rows::new::<F>(x, n_in); // f32 with AVX2 and FMA: the register kernels
        let dot = dot_kernel::<F>(); // elsewhere, gemv's dot product
        let y_out = Columns(y.as_mut_ptr(), n_out);
        // `filled`: the buffer for `Weights::Filled`, one per rayon job, reused by its tasks
        let one_task = |filled: &mut Vec<F>, task: usize| {
            let first = task * ROWS_PER_TASK;
            let rows = (n_out - first).min(ROWS_PER_TASK);
            let w_block: &[F] = match weights {
                Weights::Stored(w) => &w[first * n_in..(first + rows) * n_in], // this task's rows of W
                Weights::Filled(fill) => {
                    filled.resize(rows * n_in, F::zero());
                    fill(first..first + rows, &mut filled[..]);
                    &filled[..]
                }
            };
            let mut ys = [F::zero(); ROWS_PER_TASK * GROUP]; // [rows, g] of this task
            for group in (0..n).step_by(GROUP) {
                let (x, g) = (&x[group * n_in..], (n - group).min(GROUP)); // up to 8 rows of x
                let (x, ys) = (&x[..g * n_in], &mut ys[..rows * g]);
                if let Some(fast) = &fast {
                    fast.run(w_block, group, ys);
                } else {
                    for (r, y_row) in ys.chunks_mut(g).enumerate() {
                        let w_row = &w_block[r * n_in..(r + 1) * n_in]; // read from memory once...
                        for (b, y) in y_row.iter_mut().enumerate() {
                            *y = dot(w_row, &x[b * n_in..(b + 1) * n_in]); // ...then used g times from cache
                        }
                    }
                }
                // SAFETY: this task alone writes columns first..first + rows, and group + g <= n
                unsafe { y_out.write(group, first, g, ys) };
            }
        };
        // the rows of W on every core, unless the product is too small to pay for waking them
        let tasks = n_out.div_ceil(ROWS_PER_TASK);
        if n * n_in * n_out >= MATMUL_MIN_WORK {
            (0..tasks).into_par_iter().for_each_init(Vec::new, one_task);
        } else {
            let mut filled = Vec::new();
            (0..tasks).for_each(|task| one_task(&mut filled, task));
        }
    }
    y
}
// ANCHOR_END: gemv_rows

/// The output `[n, out]` of [`gemv_rows`], shared by its tasks: each writes its own columns.
struct Columns<F>(*mut F, usize); // (first element, out)
// SAFETY: the tasks write disjoint columns (`write`'s contract), so sharing the pointer is sound
unsafe impl<F: Send> Sync for Columns<F> {}

impl<F: Copy> Columns<F> {
    /// Store `ys` (`[rows, g]`, one task's block) into `y[group + b, first + r]`.
    ///
    /// # Safety
    /// `group + g <= n`, `first + rows <= out`, and no other thread writes these columns.
    unsafe fn write(&self, group: usize, first: usize, g: usize, ys: &[F]) {
        let rows = ys.len() / g;
        for b in 0..g {
            for r in 0..rows {
                // SAFETY: row group + b < n and column first + r < out, per the contract
                unsafe { *self.0.add((group + b) * self.1 + first + r) = ys[r * g + b] };
            }
        }
    }
}

/// The f32 kernels' view of the input (when F is f32 and the CPU has AVX2 and FMA): the rows of
/// `x` as they are (for the dot-product blocks) and, per group of 8 rows, transposed into lanes
/// (for [`lanes_avx2`]): `xt[group][i][b] = x[group * 8 + b][i]`, zero past the last row.
struct F32Rows<'a> {
    x: &'a [f32],     // [n, in]
    xt: Vec<f32>,     // [groups, in, 8]
    n_in: usize,
    lanes: bool,      // whether groups of 5 to 8 rows run `lanes_avx2` (`rows_spread`)
}

impl<'a> F32Rows<'a> {
    /// `Some` when F is f32 and the CPU has AVX2 and FMA; `None` otherwise.
    fn new<F: Float>(x: &'a [F], n_in: usize) -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        if std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>()
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: F is f32 (checked just above), so x is an f32 slice
            let x = unsafe { std::slice::from_raw_parts(x.as_ptr() as *const f32, x.len()) };
            let n = x.len() / n_in;
            let mut xt = vec![0f32; n.div_ceil(GROUP) * n_in * GROUP];
            for (b, row) in x.chunks(n_in).enumerate() {
                let (group, lane) = (b / GROUP, b % GROUP);
                for (i, &v) in row.iter().enumerate() {
                    xt[(group * n_in + i) * GROUP + lane] = v;
                }
            }
            return Some(F32Rows { x, xt, n_in, lanes: rows_spread(n_in) });
        }
        None
    }

    /// `ys[r, b] = w[r] . x[group + b]` for this task's weight rows `w` (`[rows, in]`) and the
    /// group of input rows starting at `group`: groups of 5 to 8 rows in lanes, smaller ones as
    /// dot products (there the lanes would multiply zeros).
    fn run<F>(&self, w: &[F], group: usize, ys: &mut [F]) {
        let n_in = self.n_in;
        let g = ys.len() / (w.len() / n_in);
        // SAFETY: F is f32 (`new` checked it), so these are f32 slices
        let w = unsafe { std::slice::from_raw_parts(w.as_ptr() as *const f32, w.len()) };
        let ys = unsafe { std::slice::from_raw_parts_mut(ys.as_mut_ptr() as *mut f32, ys.len()) };
        let x = &self.x[group * n_in..(group + g) * n_in];
        let xt = &self.xt[group * n_in..(group + GROUP) * n_in];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `new` checked that the CPU has AVX2 and FMA
        unsafe {
            if g > GROUP / 2 && self.lanes {
                lanes_avx2(w, xt, n_in, g, ys)
            } else {
                dot_blocks_avx2(w, x, n_in, ys)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (w, x, xt, ys);
    }
}

/// Whether [`lanes_avx2`]'s twelve weight rows, read at the same column, spread over the L1
/// cache's sets. A set is chosen by the address modulo 4 KiB (a way of a 32 KiB 8-way or a
/// 48 KiB 12-way L1 data cache, AMD's and Intel's), so rows a multiple of 4 KiB long (1024,
/// 2048, 3072 inputs) all fall in one set, twelve lines for eight ways: they evict each other
/// at every step, and the kernel runs at half speed (measured: GPT-2's `[8, 3072] x [768,
/// 3072]^T` took twice as long in lanes as in dot-product blocks). Up to three rows a set, with
/// the prefetched rows beside them, fit.
fn rows_spread(n_in: usize) -> bool {
    let mut rows_per_set = [0usize; 64]; // 4 KiB / 64-byte lines
    for r in 0..LANE_ROWS {
        rows_per_set[(r * n_in * 4 / 64) % 64] += 1;
    }
    rows_per_set.iter().all(|&rows| rows <= 3)
}

/// Input rows taken together: one AVX2 register's 8 lanes of f32.
const GROUP: usize = 8;

/// Weight rows per block of [`lanes_avx2`]: 12 accumulators, the input's register and the
/// broadcast weight fill 14 of the 16 AVX2 registers.
const LANE_ROWS: usize = 12;

/// `y[o, b] = w[o] . x[b]` for this task's weight rows `w` (`[rows, n_in]`) and a group of up
/// to 8 input rows in lanes, `xt` (`[n_in, 8]`), into `y` (`[rows, g]`). For each input
/// position `i`, one load of `xt[i]` (8 rows' numbers) meets twelve weights, each broadcast to
/// all lanes: twelve multiply-adds per thirteen loads, every weight read once, and the sums
/// come out lane by lane, with no horizontal additions at the end.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn lanes_avx2(w: &[f32], xt: &[f32], n_in: usize, g: usize, y: &mut [f32]) {
    let rows = w.len() / n_in;
    let mut o = 0;
    while o < rows {
        let ro = (rows - o).min(LANE_ROWS);
        // SAFETY: AVX2 and FMA, as this function; o + ro <= rows
        unsafe {
            match ro {
                12 => lanes_block::<12>(w, xt, n_in, o, g, y),
                11 => lanes_block::<11>(w, xt, n_in, o, g, y),
                10 => lanes_block::<10>(w, xt, n_in, o, g, y),
                9 => lanes_block::<9>(w, xt, n_in, o, g, y),
                8 => lanes_block::<8>(w, xt, n_in, o, g, y),
                7 => lanes_block::<7>(w, xt, n_in, o, g, y),
                6 => lanes_block::<6>(w, xt, n_in, o, g, y),
                5 => lanes_block::<5>(w, xt, n_in, o, g, y),
                4 => lanes_block::<4>(w, xt, n_in, o, g, y),
                3 => lanes_block::<3>(w, xt, n_in, o, g, y),
                2 => lanes_block::<2>(w, xt, n_in, o, g, y),
                _ => lanes_block::<1>(w, xt, n_in, o, g, y),
            }
        }
        o += ro;
    }
}

/// One block of [`lanes_avx2`]: weight rows `o..o + R`, `R` accumulators of 8 lanes.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `o + R <= rows`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn lanes_block<const R: usize>(w: &[f32], xt: &[f32], n_in: usize, o: usize, g: usize, y: &mut [f32]) {
    use std::arch::x86_64::*;
    assert!((o + R) * n_in <= w.len() && n_in * GROUP <= xt.len() && (o + R) * g <= y.len());
    let (w0, xt) = (w.as_ptr().wrapping_add(o * n_in), xt.as_ptr());
    let mut acc = [_mm256_setzero_ps(); R];
    for i in 0..n_in {
        // SAFETY: i < n_in, so xt[i * 8..i * 8 + 8] is inside xt (asserted above)
        let xv = unsafe { _mm256_loadu_ps(xt.add(i * GROUP)) };
        if i % 16 == 0 {
            // one cache line (16 numbers) of each weight row two blocks on, per 16 positions:
            // they arrive from memory while this block computes. `wrapping_add`: past the last
            // row the address is not ours, and a prefetch of it does nothing.
            for r in 0..R {
                _mm_prefetch::<_MM_HINT_T0>(w0.wrapping_add((2 * LANE_ROWS + r) * n_in + i) as *const i8);
            }
        }
        for (r, acc_r) in acc.iter_mut().enumerate() {
            // SAFETY: row o + r < rows and i < n_in: inside w (asserted above)
            let wv = unsafe { _mm256_broadcast_ss(&*w0.add(r * n_in + i)) };
            *acc_r = _mm256_fmadd_ps(wv, xv, *acc_r);
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        let mut lanes = [0f32; GROUP];
        // SAFETY: `lanes` holds 8 f32
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), *acc_r) };
        y[(o + r) * g..(o + r + 1) * g].copy_from_slice(&lanes[..g]);
    }
}

/// `y[o, b] = w[o] . x[b]` for this task's weight rows `w` (`[rows, n_in]`) and a few input rows
/// `x` (`[n, n_in]`), into `y` (`[rows, n]`): three weight rows by four input rows at a time,
/// twelve 8-lane FMA accumulators held in registers; the remainders in smaller blocks.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_blocks_avx2(w: &[f32], x: &[f32], n_in: usize, y: &mut [f32]) {
    let (rows, n) = (w.len() / n_in, x.len() / n_in);
    let mut o = 0;
    while o < rows {
        let ro = (rows - o).min(3); // weight rows in this block
        let mut b = 0;
        while b < n {
            let rb = (n - b).min(4); // input rows in this block
            // SAFETY: AVX2 and FMA, as this function; o + ro <= rows and b + rb <= n
            unsafe {
                // the first pass over these weight rows also prefetches the rows two blocks on
                match (ro, rb, b == 0) {
                    (3, 4, true) => block::<3, 4, true>(w, x, n_in, o, b, y),
                    (3, 3, true) => block::<3, 3, true>(w, x, n_in, o, b, y),
                    (3, 2, true) => block::<3, 2, true>(w, x, n_in, o, b, y),
                    (3, _, true) => block::<3, 1, true>(w, x, n_in, o, b, y),
                    (3, 4, false) => block::<3, 4, false>(w, x, n_in, o, b, y),
                    (3, 3, false) => block::<3, 3, false>(w, x, n_in, o, b, y),
                    (3, 2, false) => block::<3, 2, false>(w, x, n_in, o, b, y),
                    (3, _, false) => block::<3, 1, false>(w, x, n_in, o, b, y),
                    (2, 4, _) => block::<2, 4, false>(w, x, n_in, o, b, y),
                    (2, 3, _) => block::<2, 3, false>(w, x, n_in, o, b, y),
                    (2, 2, _) => block::<2, 2, false>(w, x, n_in, o, b, y),
                    (2, _, _) => block::<2, 1, false>(w, x, n_in, o, b, y),
                    (_, 4, _) => block::<1, 4, false>(w, x, n_in, o, b, y),
                    (_, 3, _) => block::<1, 3, false>(w, x, n_in, o, b, y),
                    (_, 2, _) => block::<1, 2, false>(w, x, n_in, o, b, y),
                    (_, _, _) => block::<1, 1, false>(w, x, n_in, o, b, y),
                }
            }
            b += rb;
        }
        o += ro;
    }
}
/// One block: weight rows `o..o + RO` by input rows `b..b + RB`, `RO x RB` accumulators.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `o + RO <= rows` and `b + RB <= n`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn block<const RO: usize, const RB: usize, const PREFETCH: bool>(w: &[f32], x: &[f32], n_in: usize, o: usize, b: usize, y: &mut [f32]) {
    use std::arch::x86_64::*;
    let n = x.len() / n_in;
    let whole = n_in / 8 * 8;
    let mut acc = [[_mm256_setzero_ps(); RB]; RO];
    let mut i = 0;
    while i < whole {
        // RO weight loads and RB input loads feed RO x RB multiply-adds
        let mut wv = [_mm256_setzero_ps(); RO];
        for (r, wv_r) in wv.iter_mut().enumerate() {
            // SAFETY: row o + r < rows and i + 8 <= n_in: inside w (unaligned load)
            *wv_r = unsafe { _mm256_loadu_ps(w.as_ptr().add((o + r) * n_in + i)) };
        }
        if PREFETCH && i % 16 == 0 {
            // the weight rows two blocks on, one cache line (16 numbers) of each per two steps:
            // they arrive from memory while this block computes (the hardware prefetcher alone
            // runs out of requests while the loop is busy with arithmetic). `wrapping_add`:
            // past the last row the address is not ours, and a prefetch of it does nothing.
            for r in 0..RO {
                _mm_prefetch::<_MM_HINT_T0>(w.as_ptr().wrapping_add((o + 2 * RO + r) * n_in + i) as *const i8);
            }
        }
        for c in 0..RB {
            // SAFETY: input row b + c < n and i + 8 <= n_in: inside x
            let xv = unsafe { _mm256_loadu_ps(x.as_ptr().add((b + c) * n_in + i)) };
            for r in 0..RO {
                acc[r][c] = _mm256_fmadd_ps(wv[r], xv, acc[r][c]);
            }
        }
        i += 8;
    }
    for (r, acc_r) in acc.iter().enumerate() {
        for (c, &acc_rc) in acc_r.iter().enumerate() {
            let mut total = crate::gemv::sum_lanes_avx(acc_rc);
            let (wr, xr) = (&w[(o + r) * n_in..(o + r + 1) * n_in], &x[(b + c) * n_in..(b + c + 1) * n_in]);
            for j in whole..n_in {
                total += wr[j] * xr[j];
            }
            y[(o + r) * n + b + c] = total;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array1};

    /// The product equals ndarray's `dot` exactly on small integers (f64), and within f32 rounding
    /// in f32 (the AVX2 kernels where the CPU has them), as does gemv of each row; groups in
    /// lanes (5, 7 and 8 rows) and as dot products (1 to 3 rows), the remainders of both kernels'
    /// blocks (16 rows as two groups of 8, 35 as four and 3; 37 and 64 inputs; 2, 3, 13, 33, 38,
    /// 40 and 41 weight rows), 8 rows of 1024 inputs as dot products (`rows_spread`), on pools
    /// of 1 and 2 threads; [`gemv_rows_filled`] gives the same bits.
    #[test]
    fn equals_the_plain_product_exactly_in_f64_and_within_rounding_in_f32() -> Result<(), rayon::ThreadPoolBuildError> {
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
            for (n, n_in, n_out) in [(1, 3, 2), (3, 37, 70), (16, 64, 33), (5, 45, 3), (5, 0, 4), (7, 19, 38), (2, 9, 41), (35, 21, 40), (8, 1024, 13)] {
                let x = Array2::from_shape_fn((n, n_in), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
                let w = Array2::from_shape_fn((n_out, n_in), |(i, j)| ((i * 5 + j) % 13) as f64 * 0.5 - 3.0);
                let y = pool.install(|| gemv_rows(x.view(), w.view()));
                assert_eq!(y, x.dot(&w.t()), "{threads} threads, n={n} in={n_in} out={n_out}");
                let (x32, w32) = (x.mapv(|v| v as f32 * 0.37), w.mapv(|v| v as f32 * 1.3));
                let y32 = pool.install(|| gemv_rows(x32.view(), w32.view()));
                // the same kernels on rows written into each task's buffer: the same bits
                let filled = pool.install(|| gemv_rows_filled(x.view(), n_out, |r, buf| buf.copy_from_slice(w.slice(s![r, ..]).as_standard_layout().as_slice().expect("rows"))));
                assert_eq!(filled, y, "filled f64, {threads} threads, n={n} in={n_in} out={n_out}");
                let filled32 = pool.install(|| gemv_rows_filled(x32.view(), n_out, |r, buf| buf.copy_from_slice(w32.slice(s![r, ..]).as_standard_layout().as_slice().expect("rows"))));
                assert_eq!(filled32, y32, "filled f32, {threads} threads, n={n} in={n_in} out={n_out}");
                let want32 = x32.dot(&w32.t()); // ndarray's product, in another order: close, not equal
                for b in 0..n {
                    let mut one = Array1::zeros(n_out);
                    crate::gemv::gemv(w32.view(), x32.row(b), one.view_mut());
                    let scale = want32.row(b).iter().fold(1.0f32, |m, v| m.max(v.abs()));
                    for ((g, o), w) in y32.row(b).iter().zip(&one).zip(want32.row(b)) {
                        assert!((g - w).abs() <= 1e-5 * scale && (o - w).abs() <= 1e-5 * scale, "row {b}: {g} vs {w} (gemv {o})");
                    }
                }
            }
        }
        Ok(())
    }

    /// Rows of 768 f32 (3 KiB) spread over 4 KiB's 64 lines at 0, 48, 32, 16, 0, ...: three
    /// rows a set; 576 (2.25 KiB) put each of twelve rows in its own set; 1024, 2048 and 3072
    /// (whole multiples of 4 KiB) put all twelve in one; 1536 (6 KiB) six in each of two.
    #[test]
    fn rows_spread_counts_rows_per_cache_set() {
        for (n_in, spread) in [(768, true), (576, true), (896, true), (960, true), (1024, false), (1536, false), (2048, false), (3072, false)] {
            assert_eq!(rows_spread(n_in), spread, "{n_in} inputs");
        }
    }
}
