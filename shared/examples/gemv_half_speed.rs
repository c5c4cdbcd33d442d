//! `cargo run --release -p shared --example gemv_half_speed`: decode's matrix x vector with
//! f32 weights (`gemv`) against the same weights kept in bf16 and f16 (`gemv_half`), on the
//! weight shapes of GPT-2 124M and SmolLM2-135M, the three timed in turn, round after round, so
//! that a busy minute slows them alike. Weights stream from memory (enough copies of each to
//! overflow the caches). Prints the CPU, the kernels, each shape's medians, the time of one
//! token's products (the layers' shapes times their counts), and the error of 16-bit weights:
//! `max |y16 - y32| / max |y32|`, the f32 weights against themselves rounded to 16 bits.

use ndarray::{Array1, Array2};
use shared::gemv::{f32_dot_kernel_name, gemv};
use shared::gemv_half::{gemv_half, half_dot_kernel_name};
use shared::half_matrix::{HalfFormat, HalfMatrix};
use std::time::Instant;

/// Rounds per shape; each round times every format once.
const ROUNDS: usize = 41;
/// Bytes of 16-bit copies of each shape (f32 copies take twice as many): well past the L3
/// caches of the machines measured (32 MiB).
const STREAM_BYTES: usize = 128 << 20;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The CPU's model name, from `/proc/cpuinfo` where there is one.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| text.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|s| s.trim().to_string()))
        .unwrap_or_else(|| "unknown".to_string())
}

/// One weight shape of a model: `[out, in]`, its name, and how many of it one token multiplies.
struct Shape {
    out: usize,
    n_in: usize,
    name: &'static str,
    per_token: usize,
}

/// Median seconds of f32, bf16, f16 for one shape, and the 16-bit formats' errors.
struct Timing {
    seconds: [f64; 3],
    error: [f64; 2],
}

const FORMATS: [HalfFormat; 2] = [HalfFormat::Bf16, HalfFormat::F16];

fn time_shape(s: &Shape) -> Timing {
    let mut rng = shared::init::rng(s.out as u64 * 7919 + s.n_in as u64);
    let copies = STREAM_BYTES.div_ceil(s.out * s.n_in * 2).max(2);
    // GPT-2's initialisation, N(0, 0.02^2); an input like a layer norm's output, N(0, 1)
    let w32: Vec<Array2<f32>> = (0..copies).map(|_| shared::init::normal((s.out, s.n_in), 0.02, &mut rng)).collect();
    let w16: Vec<Vec<HalfMatrix>> = FORMATS.iter().map(|&f| w32.iter().map(|w| HalfMatrix::from_f32(f, w.view())).collect()).collect();
    let x: Array1<f32> = shared::init::normal(s.n_in, 1.0, &mut rng);
    let mut y = [Array1::<f32>::zeros(s.out), Array1::zeros(s.out), Array1::zeros(s.out)];
    let mut times: [Vec<f64>; 3] = Default::default();
    // from a worker thread, as a decode step runs (`shared::on_worker_thread`): each product
    // is split in place instead of waking the pool from outside
    shared::on_worker_thread(|| for round in 0..ROUNDS {
        let c = round % copies;
        for k in 0..3 {
            let which = (k + round) % 3; // who goes first turns round by round
            let t = Instant::now();
            match which {
                0 => gemv(w32[c].view(), x.view(), y[0].view_mut()),
                f => gemv_half(&w16[f - 1][c], x.view(), y[f].view_mut()),
            }
            times[which].push(t.elapsed().as_secs_f64());
        }
        std::hint::black_box(&y);
    });
    // the error of the last copy's products: the same input, f32 weights against their rounding
    let scale = y[0].iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
    let error = [1, 2].map(|f| (&y[f] - &y[0]).iter().fold(0f32, |m, v| m.max(v.abs())) as f64 / scale);
    Timing { seconds: times.map(median), error }
}

fn main() {
    println!("CPU: {}", cpu_model());
    println!(
        "threads {}; kernels: f32 {}, bf16 {}, f16 {}; medians of {ROUNDS} rounds (f32, bf16, f16 in turn); weights streamed from memory",
        rayon::current_num_threads(),
        f32_dot_kernel_name(),
        half_dot_kernel_name(HalfFormat::Bf16),
        half_dot_kernel_name(HalfFormat::F16),
    );
    let gpt2 = [
        Shape { out: 2304, n_in: 768, name: "qkv", per_token: 12 },
        Shape { out: 768, n_in: 768, name: "attn proj", per_token: 12 },
        Shape { out: 3072, n_in: 768, name: "fc", per_token: 12 },
        Shape { out: 768, n_in: 3072, name: "fc proj", per_token: 12 },
        Shape { out: 50257, n_in: 768, name: "lm head", per_token: 1 },
    ];
    // SmolLM2-135M: 30 layers, 576 wide, 9 query heads and 3 key/value heads of 64, MLP 1536
    let smollm2 = [
        Shape { out: 576, n_in: 576, name: "q, o", per_token: 60 },
        Shape { out: 192, n_in: 576, name: "k, v", per_token: 60 },
        Shape { out: 1536, n_in: 576, name: "gate, up", per_token: 60 },
        Shape { out: 576, n_in: 1536, name: "down", per_token: 30 },
        Shape { out: 49152, n_in: 576, name: "lm head", per_token: 1 },
    ];
    for (model, shapes) in [("GPT-2 124M", &gpt2[..]), ("SmolLM2-135M", &smollm2[..])] {
        println!("\n{model}");
        println!(
            "{:>9} {:>13} | {:>8} {:>8} {:>8} ms | {:>6} {:>6} {:>6} GB/s | bf16/f32 f16/f32 | error bf16  f16",
            "", "[out, in]", "f32", "bf16", "f16", "f32", "bf16", "f16"
        );
        let mut token = [0f64; 3];
        let mut token_bytes = 0usize;
        let mut worst = [0f64; 2];
        for s in shapes {
            let t = time_shape(s);
            let weights = s.out * s.n_in;
            let gbs = [4, 2, 2].map(|b| b as f64 * weights as f64);
            println!(
                "{:>9} {:>13} | {:8.3} {:8.3} {:8.3}    | {:6.1} {:6.1} {:6.1}      | {:7.2}x {:6.2}x | {:9.1e} {:8.1e}",
                s.name,
                format!("[{}, {}]", s.out, s.n_in),
                t.seconds[0] * 1e3,
                t.seconds[1] * 1e3,
                t.seconds[2] * 1e3,
                gbs[0] / t.seconds[0] / 1e9,
                gbs[1] / t.seconds[1] / 1e9,
                gbs[2] / t.seconds[2] / 1e9,
                t.seconds[0] / t.seconds[1],
                t.seconds[0] / t.seconds[2],
                t.error[0],
                t.error[1],
            );
            for (total, seconds) in token.iter_mut().zip(t.seconds) {
                *total += s.per_token as f64 * seconds;
            }
            token_bytes += s.per_token * weights;
            worst = [worst[0].max(t.error[0]), worst[1].max(t.error[1])];
        }
        println!(
            "one token's products: f32 {:.2} ms ({:.1} GB/s), bf16 {:.2} ms ({:.1} GB/s, {:.2}x), f16 {:.2} ms ({:.1} GB/s, {:.2}x); largest error bf16 {:.1e}, f16 {:.1e}",
            token[0] * 1e3,
            4.0 * token_bytes as f64 / token[0] / 1e9,
            token[1] * 1e3,
            2.0 * token_bytes as f64 / token[1] / 1e9,
            token[0] / token[1],
            token[2] * 1e3,
            2.0 * token_bytes as f64 / token[2] / 1e9,
            token[0] / token[2],
            worst[0],
            worst[1],
        );
    }
}
