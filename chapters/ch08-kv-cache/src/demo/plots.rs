//! The chapter's charts, drawn with `plotters` into SVG text (no fonts or system libraries
//! needed) and written atomically, so a reader never sees half a file.

use crate::demo::copies::CopyCount;
use crate::demo::error::{DemoError, DemoResult};
use crate::demo::timing::TimingRow;
use ch08_kv_cache::memory::{Dtype, ModelShape, GPT, PYTHIA};
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

const SIZE: (u32, u32) = (860, 540);
const MIB: f64 = 1024.0 * 1024.0;
const DARK_GREEN: RGBColor = RGBColor(0, 140, 0);
/// Series with more points than this are drawn as a line only (dots would merge).
const MAX_DOTS: usize = 40;

/// An axis label without useless digits: `20`, `0.5`, `0.25`.
fn tidy(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_string() } else { s.to_string() }
}

/// Turn any plotters error into ours, naming the chart.
fn plot_err<E: std::fmt::Debug>(what: &'static str) -> impl Fn(E) -> DemoError {
    move |e| DemoError::Plot { what, reason: format!("{e:?}") }
}

/// One named series of points, drawn as a line with a dot at every point.
pub struct Series<'a> {
    pub name: String,
    pub points: &'a [(f64, f64)],
    pub color: RGBColor,
}

/// The vertical axis of a [`line_chart`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum YAxis {
    /// From 0 to a little above the largest value.
    Linear,
    /// Logarithmic, from half the smallest value to twice the largest: a flat line of small
    /// values stays visible beside a line that grows a hundredfold.
    Log,
}

/// A line chart: x linear from 0 to a little above the largest value, y as `y_axis` says.
fn line_chart(what: &'static str, title: &str, x_desc: &str, y_desc: &str, y_axis: YAxis, series: &[Series]) -> DemoResult<String> {
    let err = plot_err(what);
    let all = series.iter().flat_map(|s| s.points.iter());
    let x_max = all.clone().map(|p| p.0).fold(1.0, f64::max) * 1.05;
    let y_max = all.clone().map(|p| p.1).fold(f64::MIN_POSITIVE, f64::max);
    let y_min = all.map(|p| p.1).filter(|&y| y > 0.0).fold(y_max, f64::min);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let mut builder = ChartBuilder::on(&root);
        builder.caption(title, ("sans-serif", 22)).margin(20).x_label_area_size(50).y_label_area_size(70);
        match y_axis {
            YAxis::Linear => {
                let chart = builder.build_cartesian_2d(0f64..x_max, 0f64..y_max * 1.1).map_err(&err)?;
                draw_lines(chart, what, x_desc, y_desc, series)?;
            }
            YAxis::Log => {
                let chart = builder
                    .build_cartesian_2d(0f64..x_max, (y_min / 2.0..y_max * 2.0).log_scale())
                    .map_err(&err)?;
                draw_lines(chart, what, x_desc, y_desc, series)?;
            }
        }
        root.present().map_err(&err)?;
    }
    Ok(svg)
}

/// The mesh, the series (a line, and a dot at every point when there are few) and the legend.
fn draw_lines<'a, Y>(
    mut chart: ChartContext<'a, SVGBackend<'a>, Cartesian2d<RangedCoordf64, Y>>,
    what: &'static str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
) -> DemoResult<()>
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let err = plot_err(what);
    chart
        .configure_mesh()
        .x_label_formatter(&|x| tidy(*x))
        .y_label_formatter(&|y| tidy(*y))
        .x_desc(x_desc)
        .y_desc(y_desc)
        .draw()
        .map_err(&err)?;
    for s in series {
        let color = s.color;
        chart
            .draw_series(LineSeries::new(s.points.iter().copied(), color.stroke_width(2)))
            .map_err(&err)?
            .label(s.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        if s.points.len() <= MAX_DOTS {
            chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(&err)?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(&err)?;
    Ok(())
}

/// Seconds to generate N tokens, with and without the cache.
pub fn time_vs_length(rows: &[TimingRow]) -> DemoResult<String> {
    let uncached: Vec<(f64, f64)> = rows.iter().map(|r| (r.new_tokens as f64, r.uncached_secs)).collect();
    let cached: Vec<(f64, f64)> = rows.iter().map(|r| (r.new_tokens as f64, r.cached_secs)).collect();
    line_chart(
        "time_vs_length.svg",
        "Generation time: without the KV cache O(n^2), with it O(n)",
        "new tokens generated",
        "wall time (s)",
        YAxis::Linear,
        &[
            Series { name: "without cache".into(), points: &uncached, color: RED },
            Series { name: "with cache".into(), points: &cached, color: BLUE },
        ],
    )
}

/// How many times faster the cached generation is, per length.
pub fn speedup_vs_length(rows: &[TimingRow]) -> DemoResult<String> {
    let speedup: Vec<(f64, f64)> = rows.iter().map(|r| (r.new_tokens as f64, r.speedup)).collect();
    line_chart(
        "speedup_vs_length.svg",
        "Speedup of the KV cache grows with the generation length (medians)",
        "new tokens generated",
        "speedup (x, uncached time / cached time)",
        YAxis::Linear,
        &[Series { name: "speedup".into(), points: &speedup, color: BLUE }],
    )
}

/// Bytes written into the cache at every step, for both storages, on a log axis: the
/// concatenating cache's line grows a hundredfold while the preallocated one stays flat.
pub fn bytes_copied_per_token(counts: &[CopyCount; 2]) -> DemoResult<String> {
    let scaled = |c: &CopyCount| -> Vec<(f64, f64)> {
        // step 0 is the prompt: start at the first step that feeds a single token
        c.per_step_bytes.iter().enumerate().skip(1).map(|(i, &b)| ((i + 1) as f64, b as f64 / 1024.0)).collect()
    };
    let (concat, pre) = (scaled(&counts[0]), scaled(&counts[1]));
    line_chart(
        "bytes_copied_per_token.svg",
        "Bytes copied into the cache per token: concat O(n), preallocated O(1)",
        "generated token",
        "bytes copied at this step (KiB, log scale; all layers, K and V)",
        YAxis::Log,
        &[
            Series { name: "concat (torch.cat style)".into(), points: &concat, color: RED },
            Series { name: "preallocated (write pointer)".into(), points: &pre, color: BLUE },
        ],
    )
}

/// KV cache size against sequence length, fp32, batch 1, for GPT-2 small..xl and Pythia-70M.
/// Both axes are logarithmic: x in powers of 2 up to each model's context, y in MiB.
pub fn cache_size_vs_seq() -> DemoResult<String> {
    let what = "cache_size_vs_seq.svg";
    let err = plot_err(what);
    let models: Vec<&ModelShape> = GPT[..4].iter().chain(&PYTHIA[..1]).collect();
    let colors = [BLUE, DARK_GREEN, MAGENTA, RED, BLACK];
    let x_max = models.iter().map(|m| m.context_length).max().unwrap_or(1024) as f64;
    let mib = |m: &ModelShape, seq: usize| m.bytes(seq, Dtype::F32) as f64 / MIB;
    let y_min = models.iter().map(|m| mib(m, 1)).fold(f64::MAX, f64::min) / 2.0;
    let y_max = models.iter().map(|m| mib(m, m.context_length)).fold(0.0, f64::max) * 2.0;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("KV cache size (fp32, batch 1) against sequence length", ("sans-serif", 22))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d((1f64..x_max).log_scale().base(2.0), (y_min..y_max).log_scale())
            .map_err(&err)?;
        chart
            .configure_mesh()
            .x_labels(12)
            .x_label_formatter(&|x| format!("{}", x.round() as u64))
            .y_label_formatter(&|y| tidy(*y))
            .x_desc("sequence length (tokens, log2 scale)")
            .y_desc("KV cache (MiB, log scale)")
            .draw()
            .map_err(&err)?;
        for (m, &color) in models.iter().zip(&colors) {
            let points: Vec<(f64, f64)> = (0..)
                .map(|p| 1usize << p)
                .take_while(|&s| s <= m.context_length)
                .map(|s| (s as f64, mib(m, s)))
                .collect();
            chart
                .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))
                .map_err(&err)?
                .label(format!("{} ({:.0} MiB at {})", m.name, mib(m, m.context_length), m.context_length))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(&err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(&err)?;
        root.present().map_err(&err)?;
    }
    Ok(svg)
}

/// Draw every chart and write it into `out_dir`; returns the paths written.
pub fn write_all(out_dir: &Path, rows: &[TimingRow], counts: &[CopyCount; 2]) -> DemoResult<Vec<PathBuf>> {
    let charts = [
        ("time_vs_length.svg", time_vs_length(rows)?),
        ("speedup_vs_length.svg", speedup_vs_length(rows)?),
        ("cache_size_vs_seq.svg", cache_size_vs_seq()?),
        ("bytes_copied_per_token.svg", bytes_copied_per_token(counts)?),
    ];
    let mut written = Vec::new();
    for (name, svg) in charts {
        let path = out_dir.join(name);
        shared::write_atomic(&path, svg.as_bytes())
            .map_err(|e| DemoError::Write { path: path.clone(), reason: e.to_string() })?;
        written.push(path);
    }
    Ok(written)
}
