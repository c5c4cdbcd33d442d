//! `cargo run --release -p shared --example gemv_rows_speed`: how fast `gemv_rows` multiplies a
//! few rows by GPT-2 124M's weight shapes, against the matrix's memory traffic and the FMA peak.

use ndarray::Array2;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let shapes = [(2304, 768, "qkv"), (768, 768, "proj"), (3072, 768, "fc"), (768, 3072, "fc proj"), (50257, 768, "lm head")];
    println!("threads {}; medians of 30, weights streamed from memory", rayon::current_num_threads());
    for (out, n_in, name) in shapes {
        // enough copies of the matrix to overflow every cache: each product streams from memory
        let copies = (128usize << 20).div_ceil(out * n_in * 4);
        let ws: Vec<Array2<f32>> = (0..copies).map(|c| Array2::from_shape_fn((out, n_in), |(i, j)| ((i * 31 + j * 17 + c) % 97) as f32 * 0.01 - 0.5)).collect();
        for n in [1usize, 4, 8, 16] {
            let x = Array2::from_shape_fn((n, n_in), |(i, j)| ((i * 13 + j * 7) % 23) as f32 * 0.1 - 1.0);
            let mut times = Vec::new();
            for r in 0..30 {
                let w = &ws[r % copies];
                let t = Instant::now();
                std::hint::black_box(shared::gemv_rows::gemv_rows(x.view(), w.view()));
                times.push(t.elapsed().as_secs_f64());
            }
            let t = median(times);
            let gflops = 2.0 * (n * n_in * out) as f64 / t / 1e9;
            let gbs = (out * n_in * 4) as f64 / t / 1e9;
            println!("{name:>8} [{n:2}, {n_in:4}] x [{out:5}, {n_in:4}]^T: {:7.3} ms  {gflops:6.1} GFLOP/s  {gbs:5.1} GB/s of weights", t * 1e3);
        }
    }
}
