//! `cargo run -p ch06-llama-qwen --bin rope-frequencies`: how fast each pair of a head turns
//! under RoPE, for Llama 2, Llama 3 and Llama 3.1's scaled frequencies, printed and drawn.

use ch06_llama_qwen::{Llama3Scaling, Rope, RopeConfig};
use clap::Parser;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use shared::cli::OutArgs;
use std::f64::consts::PI;
use std::process::ExitCode;

/// The rotation frequencies of RoPE, pair by pair.
///
/// A head of 128 dimensions has 64 pairs; pair i turns by position x inv_freq[i] radians, with
/// inv_freq[i] = theta^(-2i/128). Its wavelength, 2 pi / inv_freq[i], is the number of tokens
/// after which the pair has turned once all the way round.
///
/// Prints both for three settings, and draws them (log scale) into --out as
/// rope_frequencies.svg:
///
///   - Llama 2: theta 10,000;
///
///   - Llama 3: theta 500,000;
///
///   - Llama 3.1: theta 500,000 with the "llama3" scaling (factor 8, low_freq_factor 1,
///     high_freq_factor 4, original context 8192): wavelengths above 8192 tokens are
///     stretched 8 times, those below 2048 are kept, those between are blended.
#[derive(Parser)]
#[command(name = "rope-frequencies", version, verbatim_doc_comment)]
struct Args {
    #[command(flatten)]
    out: OutArgs,
}

const HEAD_DIM: usize = 128;
const LLAMA3_1: Llama3Scaling = Llama3Scaling {
    factor: 8.0,
    low_freq_factor: 1.0,
    high_freq_factor: 4.0,
    original_max_position_embeddings: 8192,
};

/// One RoPE setting: its name, colour and inverse frequencies `[HEAD_DIM / 2]`.
struct Setting {
    name: &'static str,
    color: RGBColor,
    inv_freq: Vec<f64>,
}

fn main() -> ExitCode {
    // usage errors: one `error:` line, exit 2; a failed run: one `error:` line, exit 1
    shared::exit_code(run(&shared::cli::parse_or_exit::<Args>()))
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let dir = args.out.dir_or("target/ch06-plots")?;
    let rope = |theta: f64, llama3: Option<Llama3Scaling>| -> shared::Result<Vec<f64>> {
        let config = RopeConfig { llama3, ..RopeConfig::new(HEAD_DIM, theta) };
        Ok(Rope::new(&config)?.inv_freq().to_vec())
    };
    let settings = [
        Setting { name: "Llama 2: theta 10,000", color: RGBColor(0, 90, 200), inv_freq: rope(10_000.0, None)? },
        Setting { name: "Llama 3: theta 500,000", color: RGBColor(230, 120, 0), inv_freq: rope(500_000.0, None)? },
        Setting {
            name: "Llama 3.1: theta 500,000, llama3 scaling x8",
            color: RGBColor(0, 140, 0),
            inv_freq: rope(500_000.0, Some(LLAMA3_1))?,
        },
    ];

    println!("RoPE frequencies of a head of {HEAD_DIM} dimensions ({} pairs).", HEAD_DIM / 2);
    println!("Pair i turns by position x inv_freq[i] radians; its wavelength 2 pi / inv_freq[i] is the");
    println!("number of tokens after which it has turned once all the way round.\n");
    print!("{:>4}", "pair");
    for s in &settings {
        print!("  {:>30}", s.name.split(':').next().unwrap_or(s.name));
    }
    println!();
    print!("{:>4}", "");
    for _ in &settings {
        print!("  {:>14} {:>15}", "inv_freq", "wavelength");
    }
    println!();
    for i in [0, 8, 16, 24, 32, 40, 48, 56, 63] {
        print!("{i:>4}");
        for s in &settings {
            let f = s.inv_freq[i];
            print!("  {f:>14.3e} {:>15}", tokens(2.0 * PI / f));
        }
        println!();
    }

    // Llama 3.1's three regimes, by the unscaled wavelength of each pair
    let old_context = LLAMA3_1.original_max_position_embeddings as f64;
    let (high_edge, low_edge) = (old_context / LLAMA3_1.high_freq_factor, old_context / LLAMA3_1.low_freq_factor);
    let wavelengths: Vec<f64> = settings[1].inv_freq.iter().map(|f| 2.0 * PI / f).collect();
    let kept = wavelengths.iter().filter(|&&w| w < high_edge).count();
    let stretched = wavelengths.iter().filter(|&&w| w > low_edge).count();
    println!(
        "\nLlama 3.1's scaling: {kept} pairs with a wavelength under {high_edge} tokens are kept, {stretched} \
         above {low_edge} tokens turn {} times slower, {} in between are blended.",
        LLAMA3_1.factor,
        wavelengths.len() - kept - stretched
    );

    let path = dir.join("rope_frequencies.svg");
    shared::write_atomic(&path, draw(&settings, [high_edge, low_edge])?.as_bytes())?;
    println!("\nPlot written: {}", path.display());
    Ok(())
}

/// `12.6`, `1,234`, `5.1e7`: wavelengths as a reader reads them.
fn tokens(w: f64) -> String {
    if w < 100.0 {
        format!("{w:.1}")
    } else if w < 1e6 {
        let digits = format!("{w:.0}");
        let mut out = String::new();
        for (k, c) in digits.chars().enumerate() {
            if k > 0 && (digits.len() - k) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else {
        format!("{w:.2e}")
    }
}

/// Two charts side by side: inv_freq and wavelength against the pair index, both on log scales.
fn draw(settings: &[Setting], edges: [f64; 2]) -> Result<String, Box<dyn std::error::Error>> {
    let err = |e: DrawingAreaErrorKind<_>| format!("drawing rope_frequencies.svg: {e:?}");
    let n = (HEAD_DIM / 2) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1160, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (left, right) = root.split_horizontally(580);

        let inv_freq = |s: &Setting| -> Vec<(f64, f64)> { s.inv_freq.iter().enumerate().map(|(i, &f)| (i as f64, f)).collect() };
        let f_min = settings.iter().flat_map(|s| s.inv_freq.iter().copied()).fold(f64::MAX, f64::min);
        let chart = ChartBuilder::on(&left)
            .caption("inv_freq[i] = theta^(-2i/128), radians per token", ("sans-serif", 18))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..n, (f_min / 2.0..2.0).log_scale())
            .map_err(err)?;
        lines(chart, settings, inv_freq, "radians per token (log)", &[], SeriesLabelPosition::LowerLeft)?;

        let wavelength = |s: &Setting| -> Vec<(f64, f64)> {
            s.inv_freq.iter().enumerate().map(|(i, &f)| (i as f64, 2.0 * PI / f)).collect()
        };
        let w_max = 2.0 * PI / f_min;
        let chart = ChartBuilder::on(&right)
            .caption("wavelength 2 pi / inv_freq[i], in tokens", ("sans-serif", 18))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..n, (2.0..w_max * 2.0).log_scale())
            .map_err(err)?;
        lines(chart, settings, wavelength, "tokens per full turn (log)", &edges, SeriesLabelPosition::UpperLeft)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// The mesh, one line per setting, dashed grey lines at `marks` (y values), and the legend
/// where the lines leave room.
fn lines<'a, Y>(
    mut chart: ChartContext<'a, SVGBackend<'a>, Cartesian2d<RangedCoordf64, Y>>,
    settings: &[Setting],
    points: impl Fn(&Setting) -> Vec<(f64, f64)>,
    y_desc: &str,
    marks: &[f64],
    legend: SeriesLabelPosition,
) -> Result<(), String>
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let err = |e: DrawingAreaErrorKind<_>| format!("drawing rope_frequencies.svg: {e:?}");
    chart
        .configure_mesh()
        .x_desc("pair i")
        .y_desc(y_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0e}"))
        .draw()
        .map_err(err)?;
    for &m in marks {
        let grey = RGBColor(150, 150, 150);
        chart
            .draw_series(DashedLineSeries::new([(0.0, m), ((HEAD_DIM / 2) as f64, m)], 6, 4, grey.stroke_width(1)))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!("{m} tokens"),
                (1.0, m * 1.25),
                ("sans-serif", 13).into_font().color(&grey),
            )))
            .map_err(err)?;
    }
    for s in settings {
        let color = s.color;
        chart
            .draw_series(LineSeries::new(points(s), color.stroke_width(2)))
            .map_err(err)?
            .label(s.name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(legend)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    Ok(())
}
