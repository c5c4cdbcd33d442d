//! `bench --batch 1,2,4,8,16`: total decode tokens/s of chapter 9's batched generation against
//! the batch size, beside the two rooflines of [`measure`]: memory (every step reads every
//! weight once, whatever the batch) and arithmetic (every row does `2 x P_read` FLOPs per token).
//!
//! A step of a batch of `B` reads the weights once and does `B` times the arithmetic, so the
//! total rate is at most `min(B x bandwidth / weight bytes, sgemm peak / (2 x P_read))`. The
//! two meet at the ridge `B* = sgemm peak x weight bytes / (2 x P_read x bandwidth)`: below it
//! decode is memory-bound and a bigger batch is nearly free; above it, compute-bound.

use ch04_gpt::{GenerateOptions, Gpt, Sampling};
use ch09_batching::{generate_batch, BatchedGpt};
use measure::bandwidth::Probe;
use measure::flops::{self, ModelShape};
use measure::output::say;
use measure::{sgemm, stats, BenchArgs, MeasureError, MeasureResult};
use plotters::prelude::*;
use serde_json::json;
use std::path::Path;

/// One batch size's figures.
struct Row {
    batch: usize,
    tokens_per_s: f64,
    runs: Vec<f64>,
}

/// Measure every batch size in `sizes` (GPT-2: a `--config` preset with random weights, or a
/// `--model` folder), print the table (or JSON) and draw `plot` if given.
pub fn run(args: &BenchArgs, sizes: &[usize], plot: Option<&Path>) -> MeasureResult<()> {
    args.choose_kernels(); // --gemm, before anything is timed
    let config = match &args.model.model {
        Some(dir) => ch04_gpt::model::read_config(dir)?,
        None => args.config.gpt2_config().ok_or_else(|| MeasureError::Usage(format!("--batch measures GPT-2 shapes; --config {} is not one", args.config.name())))?,
    };
    let shape = ModelShape::gpt2(&config);
    let prompt_len = args.prompt_len.0[0];
    if args.runs == 0 || args.new_tokens < 2 || args.bandwidth_mib == 0 || sizes.contains(&0) {
        return Err(MeasureError::Usage("--batch needs batch sizes >= 1, --runs >= 1, --new-tokens >= 2 and --bandwidth-mib >= 1".into()));
    }
    if prompt_len + args.new_tokens > shape.context_length {
        return Err(MeasureError::Usage(format!("--prompt-len {prompt_len} + --new-tokens {} does not fit the context of {} tokens", args.new_tokens, shape.context_length)));
    }
    let (model, name) = match &args.model.model {
        Some(dir) => (Gpt::<f32>::from_pretrained(dir)?, dir.display().to_string()),
        None => (Gpt::<f32>::random(&config, args.model.seed)?, format!("{}, random weights", args.config.name())),
    };
    let load_before = load_average();
    let mut batched = BatchedGpt::<f32>::preallocated(model);
    let mut probe = Probe::new(args.bandwidth_mib * 1024 * 1024);
    probe.read(2);
    let gemms: Vec<_> = sgemm::SHAPES.iter().map(|&s| sgemm::measure(s, 4)).collect();
    let sgemm_peak_gflops = stats::max(&gemms.iter().map(|g| g.best_gflops).collect::<Vec<_>>());
    let options = GenerateOptions { max_new_tokens: args.new_tokens, sampling: Sampling::GREEDY, seed: 0, eos_token_id: None };
    let mut rows: Vec<Row> = sizes.iter().map(|&batch| Row { batch, tokens_per_s: 0.0, runs: vec![] }).collect();
    // side by side: every run goes through all batch sizes, so a change of load hits them all
    for _ in 0..args.runs {
        for row in rows.iter_mut() {
            probe.read(1);
            let prompts: Vec<Vec<u32>> = (0..row.batch).map(|b| (0..prompt_len).map(|t| ((b * 7919 + t * 104_729 + 13) % config.vocab_size) as u32).collect()).collect();
            let g = generate_batch(&mut batched, &prompts, &options)?;
            let one = measure::DecodeRun { new_tokens: g[0].new_ids.len(), total: g[0].total_time, first_token: g[0].time_to_first_token };
            row.runs.push(row.batch as f64 * measure::bench::decode_tokens_per_s(&one)); // every row's tokens
        }
    }
    for row in rows.iter_mut() {
        row.tokens_per_s = stats::median(&row.runs);
    }
    let bw = probe.summary();
    let weight_bytes = flops::weight_bytes_per_token(&shape);
    let memory_roofline = bw.median_gbps * 1e9 / weight_bytes; // tokens/s at batch 1; times B
    let flops_per_token = 2.0 * shape.params_read_per_token as f64;
    let compute_roofline = sgemm_peak_gflops * 1e9 / flops_per_token; // tokens/s, any batch
    let ridge = compute_roofline / memory_roofline;
    let base = rows[0].tokens_per_s / rows[0].batch as f64;
    let cpu = measure::machine::cpu_model();
    let load_after = load_average();
    if args.json {
        let out = json!({
            "config": args.model_label(), "cpu": cpu, "threads": rayon::current_num_threads(),
            "load_average_before": load_before, "load_average_after": load_after,
            "prompt_len": prompt_len, "new_tokens": args.new_tokens, "runs": args.runs,
            "bandwidth_gbps": bw.median_gbps, "sgemm_peak_gflops": sgemm_peak_gflops,
            "weight_bytes_per_token": weight_bytes, "memory_roofline_tokens_per_s_at_batch_1": memory_roofline,
            "compute_roofline_tokens_per_s": compute_roofline, "ridge_batch": ridge,
            "rows": rows.iter().map(|r| json!({"batch": r.batch, "tokens_per_s": r.tokens_per_s, "runs": r.runs,
                "vs_batch_1": r.tokens_per_s / base, "roofline_tokens_per_s": (r.batch as f64 * memory_roofline).min(compute_roofline),
                "gflops": r.tokens_per_s * flops_per_token / 1e9})).collect::<Vec<_>>(),
        });
        say(serde_json::to_string_pretty(&out).map_err(|e| MeasureError::Usage(e.to_string()))?)?;
    } else {
        let mut t = format!("Batched decode of {name} ({} layers, d_model {}), prompts of {prompt_len} tokens, {} new tokens each, median of {} runs side by side\n", shape.n_layers, shape.d_model, args.new_tokens, args.runs);
        t += &format!("CPU {cpu}, {} threads; load average {load_before} before, {load_after} after\n", rayon::current_num_threads());
        t += &format!("bandwidth {:.1} GB/s (median), sgemm peak {sgemm_peak_gflops:.1} GFLOP/s, {:.0} MB of weights per step\n", bw.median_gbps, weight_bytes / 1e6);
        t += &format!("rooflines: memory {memory_roofline:.1} x B tokens/s, compute {compute_roofline:.1} tokens/s; ridge at batch {ridge:.1}\n\n");
        t += " batch   tokens/s (total)   per row   x batch 1   roofline   GFLOP/s\n";
        for r in &rows {
            let roof = (r.batch as f64 * memory_roofline).min(compute_roofline);
            t += &format!("{:>6}   {:>16.1}   {:>7.1}   {:>9.2}   {:>8.1}   {:>7.1}\n", r.batch, r.tokens_per_s, r.tokens_per_s / r.batch as f64, r.tokens_per_s / base, roof, r.tokens_per_s * flops_per_token / 1e9);
        }
        say(t)?;
    }
    if let Some(path) = plot {
        let svg = draw(&rows, memory_roofline, compute_roofline, &cpu).map_err(|e| MeasureError::Usage(format!("cannot draw the plot: {e}")))?;
        shared::write_atomic(path, svg.as_bytes())?;
    }
    Ok(())
}

/// `/proc/loadavg`'s three numbers (the machine may be shared: the figures travel with it).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_else(|_| "unknown".into())
}

/// Total tokens/s against the batch size (log-log), with the memory and compute rooflines.
fn draw(rows: &[Row], memory: f64, compute: f64, cpu: &str) -> Result<String, String> {
    let max_batch = rows.iter().map(|r| r.batch).max().unwrap_or(1) as f64 * 1.3;
    let top = compute.max(rows.iter().map(|r| r.tokens_per_s).fold(0.0, f64::max)) * 2.0;
    let bottom = rows.iter().map(|r| r.tokens_per_s).fold(memory, f64::min) / 2.0;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, 540)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| format!("{e:?}"))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("Batched decode, GPT-2 124M shape ({cpu})"), ("sans-serif", 20))
            .margin(20).x_label_area_size(50).y_label_area_size(70)
            .build_cartesian_2d((0.8..max_batch).log_scale(), (bottom..top).log_scale())
            .map_err(|e| format!("{e:?}"))?;
        chart.configure_mesh().x_desc("batch size").y_desc("tokens/s, all rows").x_label_formatter(&|x| format!("{x:.0}")).y_label_formatter(&|y| format!("{y:.0}")).draw().map_err(|e| format!("{e:?}"))?;
        let xs: Vec<f64> = (0..=60).map(|i| 0.8 * (max_batch / 0.8).powf(i as f64 / 60.0)).collect();
        let roof = |b: f64| (b * memory).min(compute);
        chart.draw_series(LineSeries::new(xs.iter().map(|&b| (b, roof(b))), RED.stroke_width(2))).map_err(|e| format!("{e:?}"))?
            .label("roofline: min(B x bandwidth / weights, sgemm peak / FLOPs per token)").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
        let measured: Vec<(f64, f64)> = rows.iter().map(|r| (r.batch as f64, r.tokens_per_s)).collect();
        chart.draw_series(LineSeries::new(measured.iter().copied(), BLUE.stroke_width(2))).map_err(|e| format!("{e:?}"))?
            .label("measured (median)").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        chart.draw_series(measured.iter().map(|&p| Circle::new(p, 4, BLUE.filled()))).map_err(|e| format!("{e:?}"))?;
        chart.configure_series_labels().position(SeriesLabelPosition::UpperLeft).background_style(WHITE.mix(0.9)).border_style(BLACK).draw().map_err(|e| format!("{e:?}"))?;
        root.present().map_err(|e| format!("{e:?}"))?;
    }
    Ok(svg)
}
