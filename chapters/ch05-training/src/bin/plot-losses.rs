//! Draw the loss curve of a training run: the training loss of every step and the held-out
//! loss, from the report `ch05-training --log FILE` wrote.
//!
//! ```text
//! cargo run --release -p ch05-training --bin plot-losses -- LOG.json OUT.svg
//! ```

use plotters::prelude::*;
use std::path::PathBuf;
use std::process::ExitCode;

/// Plot the training and validation loss of a `ch05-training --log` report as an SVG.
#[derive(clap::Parser)]
#[command(about, long_about = None)]
struct Args {
    /// The JSON report of a run (`--log FILE` or `--json`).
    log: PathBuf,
    /// Where to write the SVG (atomically).
    svg: PathBuf,
}

#[derive(Debug, thiserror::Error)]
enum AppError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, String),
    #[error("cannot draw the chart: {0}")]
    Plot(String),
    #[error(transparent)]
    Write(#[from] shared::Error),
}

fn main() -> ExitCode {
    shared::exit_code(run(&shared::cli::parse_or_exit::<Args>()))
}

/// Steps as x, losses as y: every step's training loss and the (step, loss) validation pairs.
fn read_log(path: &PathBuf) -> Result<(Vec<(f64, f64)>, Vec<(f64, f64)>, String), AppError> {
    let bad = |why: String| AppError::Read(path.clone(), why);
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let losses = json["losses"].as_array().ok_or_else(|| bad("no \"losses\" array".into()))?;
    // a step's loss is taken before its update: step k's loss belongs to k steps done
    let train: Vec<(f64, f64)> = losses.iter().enumerate().filter_map(|(k, l)| Some((k as f64, l.as_f64()?))).collect();
    let val: Vec<(f64, f64)> = json["val_losses"]
        .as_array()
        .map(|pairs| pairs.iter().filter_map(|p| Some((p[0].as_f64()?, p[1].as_f64()?))).collect())
        .unwrap_or_default();
    if train.is_empty() {
        return Err(bad("the run has no losses".into()));
    }
    let title = format!(
        "{} steps of {} x {} tokens",
        train.len(),
        json["batch_size"].as_u64().unwrap_or(0),
        json["seq_len"].as_u64().unwrap_or(0)
    );
    Ok((train, val, title))
}

fn run(args: &Args) -> Result<(), AppError> {
    let (train, val, title) = read_log(&args.log)?;
    let err = |e: &dyn std::fmt::Debug| AppError::Plot(format!("{e:?}"));
    let x_max = train.len() as f64;
    let y_max = train.iter().chain(&val).map(|p| p.1).fold(0.0, f64::max) * 1.05;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("Training loss, {title}"), ("sans-serif", 22))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("steps")
            .y_desc("cross-entropy (nats per token)")
            .draw()
            .map_err(|e| err(&e))?;
        chart
            .draw_series(LineSeries::new(train.iter().copied(), BLUE.stroke_width(1)))
            .map_err(|e| err(&e))?
            .label("training (this step's batch)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE));
        if !val.is_empty() {
            let red = RED.stroke_width(2);
            chart.draw_series(LineSeries::new(val.iter().copied(), red)).map_err(|e| err(&e))?
                .label("validation (held-out stories)")
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], red));
            chart.draw_series(val.iter().map(|&p| Circle::new(p, 3, RED.filled()))).map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    shared::write_atomic(&args.svg, svg.as_bytes())?;
    eprintln!("wrote {}", args.svg.display());
    Ok(())
}
