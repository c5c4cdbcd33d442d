//! `cargo run -p ch02-embeddings`: embed a few ids at two starting positions, and compare how
//! alike position vectors are in a learned table and in the sinusoidal one (plot included).

use ch02_embeddings::{sinusoidal_positions, GptEmbeddings};
use clap::Parser;
use shared::cli::{ModelArgs, OutArgs};
use ndarray::{array, s, Array2, ArrayView1, Axis};
use plotters::prelude::*;
use shared::{init, Checkpoint, GptConfig};
use std::process::ExitCode;

/// Token + position embeddings, shown.
///
/// 1. embeds three ids from position 0, then only the last one from position 2, as a cache
///    does, and from position 0, as the classic cache bug does;
///
/// 2. prints how alike position 0 is to position k (cosine similarity), for the model's
///    learned table and for the sinusoidal table of the original Transformer, and plots it.
///
/// Without --model the tables are GPT-2 124M-shaped and RANDOM (seeded): an untrained learned
/// table has no notion of distance. With a Hugging Face `gpt2` folder it shows GPT-2's own
/// (only wte and wpe are read).
#[derive(Parser)]
#[command(verbatim_doc_comment)]
struct Args {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    out: OutArgs,
}

/// Distances printed in the table (those beyond the context are skipped).
const DISTANCES: [usize; 10] = [0, 1, 2, 4, 8, 16, 64, 256, 512, 1023];

fn main() -> ExitCode {
    // usage errors: one `error:` line, exit 2; a failed run: one `error:` line, exit 1
    shared::exit_code(run(&shared::cli::parse_or_exit::<Args>()))
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let (emb, config, source) = match &args.model.model {
        Some(dir) => {
            let config = GptConfig::from_hf_json(&dir.join("config.json"))?;
            let ckpt = Checkpoint::open_folder(dir)?; // model.safetensors, or shards through their index
            (GptEmbeddings::<f32>::load(&ckpt, &config)?, config, format!("loaded from {}", dir.display()))
        }
        None => {
            let config = GptConfig::gpt2_124m();
            let emb = GptEmbeddings::random(&config, &mut init::rng(args.model.seed));
            (emb, config, format!("GPT-2 124M shape, RANDOM weights (seed {})", args.model.seed))
        }
    };
    let (vocab, d_model, context) = (config.vocab_size, config.d_model, emb.context_length());
    println!("Embeddings: {source}");
    println!("wte [{vocab}, {d_model}] + wpe [{context}, {d_model}] = {} parameters\n", (vocab + context) * d_model);

    // 1. positions start at start_pos
    let ids = array![[464u32, 3797, 3332]].mapv(|id| id % vocab as u32); // [batch 1, seq 3]
    let last = ids.slice(s![.., 2..]).to_owned(); // [1, 1]
    let full = emb.forward(ids.view(), 0)?; // [1, 3, d_model]
    let max_diff = |x: &ndarray::Array3<f32>| -> f32 {
        let row = full.index_axis(Axis(1), 2);
        let diff = &row - &x.index_axis(Axis(1), 0);
        diff.iter().fold(0.0, |m, v| m.max(v.abs()))
    };
    println!("1. ids {ids} embedded from position 0: x is {:?}", full.shape());
    println!("   the last id alone from start_pos 2 (as a cache feeds it): max |diff| with x[2] = {}", max_diff(&emb.forward(last.view(), 2)?));
    println!("   the last id alone from start_pos 0 (the classic cache bug): max |diff| with x[2] = {}\n", max_diff(&emb.forward(last.view(), 0)?));

    // 2. how alike are positions 0 and k?
    let learned = emb.wpe.weight.view(); // [context, d_model]
    let sinusoidal: Array2<f32> = sinusoidal_positions(context, d_model); // [context, d_model]
    let similarity = |table: ndarray::ArrayView2<f32>| -> Vec<f64> {
        (0..context).map(|k| cosine(table.row(0), table.row(k))).collect()
    };
    let (sim_learned, sim_sin) = (similarity(learned), similarity(sinusoidal.view()));
    println!("2. cosine similarity of position 0 and position k");
    println!("{:>12} {:>12} {:>12}", "distance k", "learned", "sinusoidal");
    for k in DISTANCES.into_iter().filter(|&k| k < context) {
        println!("{k:>12} {:>12.3} {:>12.3}", sim_learned[k], sim_sin[k]);
    }
    let path = args.out.dir_or("target/ch02-plots")?.join("position_similarity.svg");
    let svg = plot(&sim_learned, &sim_sin, &source)?;
    shared::write_atomic(&path, svg.as_bytes())?;
    println!("\nPlot written: {}", path.display());
    Ok(())
}

/// a . b / (|a| |b|)
fn cosine(a: ArrayView1<f32>, b: ArrayView1<f32>) -> f64 {
    let dot = |x: ArrayView1<f32>, y: ArrayView1<f32>| x.iter().zip(y).map(|(&p, &q)| p as f64 * q as f64).sum::<f64>();
    dot(a, b) / (dot(a, a) * dot(b, b)).sqrt()
}

/// Similarity against distance, one line per table, as SVG text.
fn plot(learned: &[f64], sinusoidal: &[f64], source: &str) -> Result<String, Box<dyn std::error::Error>> {
    let err = |e: DrawingAreaErrorKind<_>| format!("drawing position_similarity.svg: {e:?}");
    let x_max = learned.len() as f64;
    let y_min = learned.iter().chain(sinusoidal).fold(0.0f64, |m, &v| m.min(v)) - 0.05;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("How alike are position 0 and position k?", ("sans-serif", 22))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..x_max, y_min..1.05f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.1}"))
            .x_desc("distance k (positions)")
            .y_desc("cosine similarity")
            .draw()
            .map_err(err)?;
        let series = [
            (format!("learned wpe ({source})"), learned, RED),
            ("sinusoidal (fixed)".to_string(), sinusoidal, BLUE),
        ];
        for (name, values, color) in series {
            let points = values.iter().enumerate().map(|(k, &v)| (k as f64, v));
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

