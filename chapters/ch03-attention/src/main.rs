//! `cargo run -p ch03-attention`: the weights of one attention head, over a whole sequence and
//! over a cache, printed and drawn as a heatmap.

use ch02_embeddings::sinusoidal_positions;
use ch03_attention::scaled_dot_product_attention;
use clap::Parser;
use shared::cli::OutArgs;
use ndarray::{s, Array4, ArrayView2};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::process::ExitCode;

/// One attention head, shown.
///
/// The queries and keys of 8 tokens are their sinusoidal position vectors (chapter 2), so a
/// query matches the keys of nearby positions best. The values are the identity matrix: the
/// output, weights x values, is then the weight matrix itself.
///
/// 1. prefill: 8 queries over 8 keys (the causal mask hides the future);
///
/// 2. with a cache: only the last 3 queries, over the same 8 keys (5 of them cached). Their
///    weights must be the last 3 rows of step 1: that is why chapter 8 can skip the others.
///
/// Writes the two weight matrices as an SVG heatmap into --out.
#[derive(Parser)]
#[command(verbatim_doc_comment)]
struct Args {
    #[command(flatten)]
    out: OutArgs,
}

/// Tokens in the sequence (also the head width, so the values can be the identity).
const SEQ: usize = 8;
/// Queries fed in step 2; the other `SEQ - NEW` tokens are in the cache.
const NEW: usize = 3;
/// Queries and keys are the position vectors times this, so the pattern is easy to see.
const SHARPNESS: f64 = 2.0;

fn main() -> ExitCode {
    // usage errors: one `error:` line, exit 2; a failed run: one `error:` line, exit 1
    shared::exit_code(run(&shared::cli::parse_or_exit::<Args>()))
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    // [batch 1, heads 1, SEQ, head_dim SEQ]
    let positions = sinusoidal_positions::<f64>(SEQ, SEQ) * SHARPNESS;
    let qk = positions.into_shape_with_order((1, 1, SEQ, SEQ))?;
    let identity = Array4::from_shape_fn((1, 1, SEQ, SEQ), |(_, _, i, j)| if i == j { 1.0 } else { 0.0 });

    let prefill = scaled_dot_product_attention(qk.view(), qk.view(), identity.view())?; // [1, 1, SEQ, SEQ]
    let prefill = prefill.slice(s![0, 0, .., ..]).to_owned(); // [SEQ, SEQ]: row i = weights of query i
    println!("One head, {SEQ} tokens: q = k = {SHARPNESS} x the sinusoidal position vectors, v = identity,");
    println!("so each output row is that query's attention weights (· = hidden by the causal mask).\n");
    println!("1. prefill: {SEQ} queries over {SEQ} keys");
    print_weights(prefill.view(), 0);

    let cached = SEQ - NEW;
    let q_new = qk.slice(s![.., .., cached.., ..]); // [1, 1, NEW, SEQ]: only the new tokens' queries
    let decode = scaled_dot_product_attention(q_new, qk.view(), identity.view())?; // [1, 1, NEW, SEQ]
    let decode = decode.slice(s![0, 0, .., ..]).to_owned(); // [NEW, SEQ]
    println!("\n2. with a cache: the last {NEW} queries over the same {SEQ} keys ({cached} cached), mask offset by {cached}");
    print_weights(decode.view(), cached);
    let diff = (&decode - &prefill.slice(s![cached.., ..])).fold(0.0f64, |m, v| m.max(v.abs()));
    println!("max |difference| with rows {cached}..{SEQ} of step 1: {diff}");

    let path = args.out.dir_or("target/ch03-plots")?.join("attention_weights.svg");
    shared::write_atomic(&path, heatmap(prefill.view(), decode.view())?.as_bytes())?;
    println!("\nPlot written: {}", path.display());
    Ok(())
}

/// One row per query (at absolute position `first + i`), one column per key.
fn print_weights(w: ArrayView2<f64>, first: usize) {
    print!("      ");
    (0..w.ncols()).for_each(|j| print!("{:>6}", format!("k{j}")));
    println!();
    for (i, row) in w.rows().into_iter().enumerate() {
        print!("{:>6}", format!("q{}", first + i));
        for (j, &p) in row.iter().enumerate() {
            // the mask hides key j from query first + i when j is later
            if j > first + i { print!("{:>6}", "·") } else { print!("{p:>6.2}") }
        }
        println!();
    }
}

/// The two weight matrices side by side as a heatmap, as SVG text.
fn heatmap(prefill: ArrayView2<f64>, decode: ArrayView2<f64>) -> Result<String, Box<dyn std::error::Error>> {
    const CELL: i32 = 44;
    let err = |e: DrawingAreaErrorKind<_>| format!("drawing attention_weights.svg: {e:?}");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let centered = Pos::new(HPos::Center, VPos::Center);
        let label = ("sans-serif", 15).into_font().color(&BLACK).pos(centered);
        let title = ("sans-serif", 18).into_font().color(&BLACK);
        let cached = prefill.nrows() - decode.nrows();
        let panels = [
            (prefill, 0, 60, format!("prefill: {SEQ} queries x {SEQ} keys")),
            (decode, cached, 500, format!("cached: {NEW} new queries x {SEQ} keys")),
        ];
        for (w, first, left, caption) in panels {
            let top = 70 + CELL * first as i32; // the cached panel lines up with the rows it repeats
            root.draw(&Text::new(caption, (left, 30), title.clone())).map_err(err)?;
            for (i, row) in w.rows().into_iter().enumerate() {
                let y = top + CELL * i as i32;
                root.draw(&Text::new(format!("q{}", first + i), (left - 22, y + CELL / 2), label.clone())).map_err(err)?;
                for (j, &p) in row.iter().enumerate() {
                    let x = left + CELL * j as i32;
                    let masked = j > first + i;
                    // white (weight 0) to dark blue (weight 1); grey where the mask hides the key
                    let shade = (255.0 * (1.0 - p)) as u8;
                    let fill = if masked { RGBColor(225, 225, 225) } else { RGBColor(shade, shade, 255) };
                    root.draw(&Rectangle::new([(x, y), (x + CELL, y + CELL)], fill.filled())).map_err(err)?;
                    root.draw(&Rectangle::new([(x, y), (x + CELL, y + CELL)], WHITE.stroke_width(1))).map_err(err)?;
                    let text = if masked { "·".to_string() } else { format!("{p:.2}") };
                    let color = if p > 0.55 { WHITE } else { BLACK };
                    root.draw(&Text::new(text, (x + CELL / 2, y + CELL / 2), label.clone().color(&color))).map_err(err)?;
                }
            }
            if first > 0 {
                // the empty rows of the cached panel: what the cache saves
                let note = [
                    format!("tokens 0..{} are in the cache:", first - 1),
                    "their keys and values are reused,".to_string(),
                    "their queries are never needed again.".to_string(),
                ];
                for (n, line) in note.into_iter().enumerate() {
                    let y = 70 + CELL + 26 * n as i32;
                    root.draw(&Text::new(line, (left + 10, y), title.clone())).map_err(err)?;
                }
            }
            for j in 0..w.ncols() {
                let x = left + CELL * j as i32 + CELL / 2;
                root.draw(&Text::new(format!("k{j}"), (x, 70 - 14), label.clone())).map_err(err)?;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}
